"""The bundled multilingual encoder (USE v3, numpy): one space for 16 languages, whole texts covered."""

from __future__ import annotations

import numpy as np
import pytest
from helpers import make_batcher

from cerebro_serve.engine.backends.use import ParagraphPieces, UniversalSentenceEncoder
from cerebro_serve.engine.loading import load_encoder
from cerebro_serve.engine.models import MULTILINGUAL_MODEL


@pytest.fixture(scope="module")
def use() -> UniversalSentenceEncoder:
    encoder = load_encoder(MULTILINGUAL_MODEL, "cpu", "float32", "torch")
    assert isinstance(encoder, UniversalSentenceEncoder)
    return encoder


def test_vectors_are_unit_length_and_cross_lingual(use: UniversalSentenceEncoder) -> None:
    english = use.embed_documents(["intensive care nurse", "backend software engineer", "pastry chef"])
    foreign = use.embed_documents(["enfermera de cuidados intensivos", "ingénieur logiciel backend", "Konditor"])
    assert english.shape == (3, 512) and english.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(foreign, axis=1), 1.0, rtol=1e-5)
    # Each foreign title is nearest to its English translation.
    assert (foreign @ english.T).argmax(axis=1).tolist() == [0, 1, 2]


def test_long_text_is_cut_into_pieces_that_cover_it() -> None:
    cutter = ParagraphPieces()
    text = "\n".join(f"Line {i}: maintained payroll and invoices for a retail chain." for i in range(200))
    pieces = cutter.chunk(text)
    assert len(pieces) > 1 and all(len(piece) <= cutter.PIECE_CHARS for piece in pieces)
    assert "".join(pieces).replace("\n", "") == text.replace("\n", "")
    unbroken = "word " * 3000  # no line breaks at all: cut at spaces
    assert all(len(piece) <= cutter.PIECE_CHARS for piece in cutter.chunk(unbroken))
    # USE reads whole texts: a head is the text, cut like any other.
    assert cutter.cut_heads([text, ""], [128, 128]) == cutter.cut([text, ""])


def test_the_end_of_a_long_resume_still_counts(use: UniversalSentenceEncoder) -> None:
    filler = "\n".join(["Worked as a retail cashier handling payments and stock."] * 80)
    nursing = filler + "\nLater retrained and worked for years as an intensive care registered nurse."
    [plain, with_nursing] = use.embed_documents([filler, nursing])
    [query] = use.embed_documents(["intensive care registered nurse"])
    assert query @ with_nursing > query @ plain + 0.01


def test_empty_input_and_batched_equals_direct(use: UniversalSentenceEncoder) -> None:
    assert use.embed_documents([]).shape == (0, 512)
    assert use.embed_documents([""]).shape == (1, 512)
    texts = ["data engineer, Spark and Airflow", "profesora de matemáticas", "\n".join(["chef"] * 900)]
    batcher = make_batcher(use, batch_wait_ms=5)
    try:
        np.testing.assert_allclose(batcher.embed_documents(texts), use.embed_documents(texts), atol=1e-5)
    finally:
        batcher.close()
