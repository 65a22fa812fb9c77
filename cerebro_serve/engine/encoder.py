"""The encoder contract: what every backend gives the dynamic batcher and the views.

Encoders turn texts into unit vectors. Backends (engine/backends/) differ only in how pieces become
vectors; `engine/loading.py` chooses one.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Sequence
from typing import NamedTuple, Protocol

import numpy as np


class Pieces(NamedTuple):
    """Texts cut into what a model reads: the pieces, the text each belongs to (texts in order, each with
    at least one piece), and each piece's tokens with the model's special ones (what batches budget)."""

    pieces: list[str]
    owners: list[int]
    tokens: list[int]

    @property
    def texts(self) -> int:
        return self.owners[-1] + 1 if self.owners else 0


class HeadCutter(Protocol):
    """Cuts texts' heads into pieces for one encoder; picklable, so worker processes cut them too."""

    def cut_heads(self, texts: Sequence[str], tokens: Sequence[int]) -> Pieces:
        """Each text's beginning, up to its `tokens` of the model's tokens (at most one window), ending on
        a word; the whole text when it fits."""
        ...


class Encoder(Protocol):
    name: str
    dimension: int

    def embed_documents(self, texts: Sequence[str]) -> np.ndarray:
        """One L2-normalised float32 vector per text, whatever its length."""
        ...

    def head_cutter(self) -> HeadCutter:
        """How this encoder's texts are cut to their heads (`embed_cut` then reads them)."""
        ...

    def embed_cut(self, pieces: Pieces) -> np.ndarray:
        """One L2-normalised float32 vector per text of these pieces, cut already (`head_cutter`)."""
        ...


class PooledEncoder(ABC):
    """What every backend shares: texts become pieces (`prepare`), pieces become vectors (`encode_pieces`),
    and each text's pieces fold back into one unit vector (`pool`), so the dynamic batcher can mix callers."""

    name: str
    dimension: int
    device: str
    precision: str

    @abstractmethod
    def prepare(self, texts: Sequence[str]) -> Pieces:
        """The texts cut into pieces the model reads whole."""

    @abstractmethod
    def head_cutter(self) -> HeadCutter: ...

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

    def embed_documents(self, texts: Sequence[str]) -> np.ndarray:
        return self.embed_cut(self.prepare(texts))

    def embed_cut(self, pieces: Pieces) -> np.ndarray:
        if not pieces.pieces:
            return np.empty((0, self.dimension), dtype=np.float32)
        return self.pool(pieces.pieces, pieces.owners, self.encode_pieces(pieces.pieces), pieces.texts)
