"""The encoder contract: what every backend gives the dynamic batcher and the views.

Encoders turn texts into unit vectors. Backends (engine/backends/) differ only in how pieces become
vectors; `engine/loading.py` chooses one.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Sequence
from typing import Protocol

import numpy as np


class Encoder(Protocol):
    name: str
    dimension: int

    def embed_documents(self, texts: Sequence[str]) -> np.ndarray:
        """One L2-normalised float32 vector per text, whatever its length."""
        ...

    def head(self, text: str, tokens: int) -> str:
        """The beginning of a text, up to `tokens` of the model's tokens (at most one window), ending on a
        word; the whole text when it fits."""
        ...


class PooledEncoder(ABC):
    """What every backend shares: texts become pieces (`prepare`), pieces become vectors (`encode_pieces`),
    and each text's pieces fold back into one unit vector (`pool`), so the dynamic batcher can mix callers."""

    name: str
    dimension: int
    device: str
    precision: str

    @abstractmethod
    def prepare(self, texts: Sequence[str]) -> tuple[list[str], list[int], list[int]]:
        """(pieces, the text each piece belongs to, tokens per piece)."""

    @abstractmethod
    def encode_pieces(self, pieces: Sequence[str]) -> np.ndarray:
        """One unit vector per piece."""

    def pool(self, pieces: Sequence[str], owners: Sequence[int], vectors: np.ndarray, count: int) -> np.ndarray:
        """One unit vector per text from its pieces' vectors, each piece weighing by its length, so a short
        tail chunk does not dominate a long resume."""
        weights = np.array([max(len(piece), 1) for piece in pieces], dtype=np.float32)
        pooled = np.zeros((count, self.dimension), dtype=np.float32)
        np.add.at(pooled, np.asarray(owners, dtype=np.int64), vectors * weights[:, None])
        norms = np.linalg.norm(pooled, axis=1, keepdims=True)
        return pooled / np.maximum(norms, 1e-12)

    def head(self, text: str, tokens: int) -> str:
        """A model without a tokenizer window (USE) reads texts whole."""
        return text

    def embed_documents(self, texts: Sequence[str]) -> np.ndarray:
        if not texts:
            return np.empty((0, self.dimension), dtype=np.float32)
        pieces, owners, _ = self.prepare(texts)
        return self.pool(pieces, owners, self.encode_pieces(pieces), len(texts))
