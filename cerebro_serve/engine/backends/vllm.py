"""Large embedding models on vLLM, for GPU nodes (the `gpu` extra): any local model directory vLLM can
run as a pooling model (sentence-transformers directories, Qwen3-Embedding, e5-mistral, bge...).

vLLM schedules the pieces of one call across the GPU itself; the server's dynamic batcher still forms the
calls, so indexing and scoring share one queue and one admission limit whatever the backend. Texts are
chunked by the model's own tokenizer and window and pooled like every other backend's.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from cerebro_serve.engine.chunking import WindowedEncoder
from cerebro_serve.engine.models import document_prompt

# Pieces longer than this are cut even when the model's window is larger: a resume section rarely needs
# more, and attention cost grows with the square of the length.
MAX_WINDOW_TOKENS = 2048


class VllmEncoder(WindowedEncoder):
    def __init__(self, name: str, model_dir: Path, dtype: str = "auto", gpu_memory_utilization: float = 0.5) -> None:
        """`gpu_memory_utilization`: the share of the card vLLM may take (the vector index and the fused
        top-k kernel need the rest)."""
        try:
            from vllm import LLM
        except ImportError as error:
            raise ValueError("the vLLM backend needs the gpu extra: pip install 'cerebro-serve[gpu]'") from error
        self.name = name
        self._llm = LLM(
            model=str(model_dir), runner="pooling", dtype=dtype, gpu_memory_utilization=gpu_memory_utilization
        )
        window = min(int(self._llm.llm_engine.model_config.max_model_len), MAX_WINDOW_TOKENS)
        self._init_window(model_dir, window)
        self.prompt = document_prompt(model_dir)
        self._model_lock = threading.Lock()
        self.dimension = int(self._embed(["dimension probe"]).shape[1])

    def encode_pieces(self, pieces: Sequence[str]) -> np.ndarray:
        if not pieces:
            return np.empty((0, self.dimension), dtype=np.float32)
        return self._embed(list(pieces))

    def _embed(self, pieces: list[str]) -> np.ndarray:
        with self._model_lock:
            outputs = self._llm.embed([self.prompt + piece for piece in pieces], use_tqdm=False)
        vectors = np.asarray([output.outputs.embedding for output in outputs], dtype=np.float32)
        # Most poolers normalise already; a model whose pooler does not must not skew the cosine.
        return vectors / np.maximum(np.linalg.norm(vectors, axis=1, keepdims=True), 1e-12)
