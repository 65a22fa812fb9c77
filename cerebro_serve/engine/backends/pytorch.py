"""sentence-transformers models on PyTorch (CPU or CUDA), pooled by the fused Triton kernel on CUDA."""

from __future__ import annotations

import threading
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from cerebro_serve.engine import kernels
from cerebro_serve.engine.chunking import WindowedEncoder
from cerebro_serve.engine.models import document_prompt, mean_pooled
from cerebro_serve.native_threads import all_cores


class SentenceTransformerEncoder(WindowedEncoder):
    """A sentence-transformers model on PyTorch (CPU or CUDA).

    Embedding is three steps, so the dynamic batcher can interleave callers: `prepare` chunks texts by the
    model's own tokenizer, `encode_pieces` runs the model over pieces (from many texts at once), `pool`
    folds each text's pieces back into one vector.
    """

    def __init__(
        self,
        name: str,
        model_dir: Path,
        device: str = "cpu",
        batch_size: int = 32,
        fused_pooling: bool | None = None,
        precision: str = "float32",
    ) -> None:
        """`fused_pooling`: pool and normalise with the Triton kernel (the default on CUDA for mean-pooled
        models); False: sentence-transformers' own modules. `precision`: the model's weights and
        activations (float32, bfloat16, float16); vectors always leave as float32."""
        from sentence_transformers import SentenceTransformer
        from transformers.utils import logging as transformers_logging

        transformers_logging.disable_progress_bar()
        if device == "cpu":
            import torch

            torch.set_num_threads(all_cores())  # large batches: every core, whatever requests are limited to
        self.name = name
        self.device = device
        self.batch_size = batch_size
        self._model = SentenceTransformer(str(model_dir), device=device, local_files_only=True)
        self.precision = precision
        if precision != "float32":
            import torch

            self._model.to(getattr(torch, precision))
        dimension, window = self._model.get_embedding_dimension(), self._model.max_seq_length
        if dimension is None or window is None:
            raise ValueError(f"{model_dir.name} has no fixed embedding dimension or token window")
        self.dimension = dimension
        self._init_window(model_dir, window)
        self.prompt = document_prompt(model_dir)
        # One forward pass at a time: PyTorch already uses every core for one batch.
        self._model_lock = threading.Lock()
        if fused_pooling is None:
            fused_pooling = device.startswith("cuda") and kernels.available(device)
        self.fused_pooling = fused_pooling and mean_pooled(model_dir)

    def encode_pieces(self, pieces: Sequence[str]) -> np.ndarray:
        if not pieces:
            return np.empty((0, self.dimension), dtype=np.float32)
        if self.fused_pooling:
            return self._encode_fused(list(pieces))
        with self._model_lock:
            return (
                self._model.encode(
                    list(pieces),
                    prompt=self.prompt,
                    batch_size=self.batch_size,
                    normalize_embeddings=True,
                    show_progress_bar=False,
                    convert_to_tensor=True,  # numpy has no bfloat16: leave as a tensor, then float32
                )
                .float()
                .cpu()
                .numpy()
            )

    def _encode_fused(self, pieces: list[str]) -> np.ndarray:
        """The transformer's token embeddings, pooled and normalised by the Triton kernel."""
        import torch

        from cerebro_serve.engine.kernels.pooling import mean_pool_normalize

        parts = []
        with self._model_lock, torch.inference_mode():
            for start in range(0, len(pieces), self.batch_size):
                batch = [self.prompt + piece for piece in pieces[start : start + self.batch_size]]
                features = self._model.tokenize(batch)
                features = {
                    name: value.to(self.device) if isinstance(value, torch.Tensor) else value
                    for name, value in features.items()
                }
                tokens = self._model[0](features)["token_embeddings"]
                parts.append(mean_pool_normalize(tokens, features["attention_mask"]).cpu().numpy())
        return np.concatenate(parts).astype(np.float32, copy=False)
