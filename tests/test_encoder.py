"""The bundled encoder: unit vectors, and long texts chunked rather than truncated."""

from __future__ import annotations

import os
import random

import numpy as np


def test_vectors_are_unit_length_and_meaningful(encoder) -> None:
    vectors = encoder.embed_documents(["python backend developer", "django software engineer", "pastry chef"])
    assert vectors.shape == (3, encoder.dimension) and vectors.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(vectors, axis=1), 1.0, rtol=1e-5)
    assert vectors[0] @ vectors[1] > vectors[0] @ vectors[2]


def test_long_text_is_chunked_within_the_window_and_covers_everything(encoder) -> None:
    text = " ".join(f"sentence {i} about python and kubernetes." for i in range(400))
    chunks = encoder.chunk(text)
    assert len(chunks) > 1
    for chunk, tokens in chunks:
        counted = len(encoder.window.offsets(chunk))
        assert counted <= encoder.window_tokens and tokens == counted + 2
    assert chunks[0][0].startswith("sentence 0")
    assert chunks[-1][0].endswith("sentence 399 about python and kubernetes.")


def test_the_end_of_a_long_resume_still_counts(encoder) -> None:
    filler = "Worked as a retail cashier handling payments and stock. " * 60
    with_nursing = filler + "Later retrained and worked for years as an intensive care registered nurse."
    [plain, nursing] = encoder.embed_documents([filler, with_nursing])
    [query] = encoder.embed_documents(["intensive care registered nurse"])
    # A truncating encoder would never see the last sentence and give equal similarities.
    assert query @ nursing > query @ plain + 0.01


def test_empty_input(encoder) -> None:
    assert encoder.embed_documents([]).shape == (0, encoder.dimension)
    assert encoder.embed_documents([""]).shape == (1, encoder.dimension)


def test_precision_follows_the_hardware(monkeypatch) -> None:
    import pytest

    from cerebro_serve.engine import hardware as module

    monkeypatch.setattr(module, "cpu_flags", lambda: {"avx2", "fma"})
    assert module.resolve_precision("auto", "cpu") == "float32"  # bf16 would be emulated, slower
    for flags in ({"avx512f", "avx512_bf16"}, {"amx_tile", "amx_bf16"}):
        monkeypatch.setattr(module, "cpu_flags", lambda flags=flags: flags)
        assert module.resolve_precision("auto", "cpu") == "bfloat16"
    assert module.resolve_precision("float32", "cpu") == "float32"
    with pytest.raises(ValueError, match="Unknown precision"):
        module.resolve_precision("int3", "cpu")


def test_bfloat16_keeps_the_vectors(encoder) -> None:
    from cerebro_serve.engine.backends.pytorch import SentenceTransformerEncoder
    from cerebro_serve.engine.models import resolve_model_dir

    name, model_dir = resolve_model_dir("all-MiniLM-L6-v2")
    half = SentenceTransformerEncoder(name, model_dir, precision="bfloat16")
    texts = ["python backend developer with django", "intensive care nurse", "pastry chef " * 200]
    full, reduced = encoder.embed_documents(texts), half.embed_documents(texts)
    assert reduced.dtype == np.float32
    assert (np.sum(full * reduced, axis=1) > 0.99).all()


def test_sections_are_packed_whole_while_they_fit() -> None:
    from cerebro_serve.engine.chunking import pack_sections

    assert pack_sections([], 600, 254) == [(0, 600)]  # no headings: one range, windowed by the caller
    assert pack_sections([100, 200, 300, 500], 600, 254) == [(0, 200), (200, 300), (300, 500), (500, 600)]
    assert pack_sections([50, 100], 200, 254) == [(0, 200)]
    # A section longer than the window stays one range (the caller cuts it into overlapping windows).
    assert pack_sections([10, 400], 600, 254) == [(0, 10), (10, 400), (400, 600)]


def test_a_long_resume_is_cut_at_its_section_headings(encoder) -> None:
    sections = {
        "SUMMARY": "Backend engineer who likes reliable systems and clear documentation. " * 6,
        "EXPERIENCE": "Built payment services in python and go, ran kubernetes clusters for a bank. " * 8,
        "EDUCATION": "Master of computer science, university of Lyon, thesis on distributed consensus. " * 5,
        "SKILLS": "python, go, kubernetes, postgresql, kafka, terraform, prometheus, grafana. " * 5,
    }
    text = "Jane Doe\n" + "\n".join(f"{heading}\n{body}" for heading, body in sections.items())
    chunks = encoder.chunk(text)
    assert 1 < len(chunks) <= len(sections) + 1
    for piece, tokens in chunks:
        assert piece.startswith(("Jane Doe", *sections)) and tokens <= encoder.window_tokens + 2
    # Every section's text lies whole inside one piece: no piece ends in the middle of a section.
    for heading, body in sections.items():
        assert any(f"{heading}\n{body.strip()}" in piece for piece, _ in chunks)


def test_importing_the_engine_changes_nothing_until_a_model_loads() -> None:
    """The hub is forbidden when a model is resolved, not as a side effect of an import."""
    import subprocess
    import sys

    code = (
        "import os; before = dict(os.environ)\n"
        "import cerebro_serve.engine, cerebro_serve.engine.loading, cerebro_serve.engine.backends.pytorch\n"
        "import cerebro_serve.engine.backends.onnx, cerebro_serve.engine.backends.use\n"
        "assert dict(os.environ) == before, set(os.environ) ^ set(before)\n"
        "from cerebro_serve.engine.models import resolve_model_dir\n"
        "resolve_model_dir('all-MiniLM-L6-v2')\n"
        "assert os.environ['HF_HUB_OFFLINE'] == '1' and os.environ['TRANSFORMERS_OFFLINE'] == '1'\n"
    )
    environment = {name: value for name, value in os.environ.items() if not name.endswith("_OFFLINE")}
    subprocess.run([sys.executable, "-c", code], check=True, env=environment)


def test_the_head_of_a_text_is_its_first_tokens_ending_on_a_word(encoder) -> None:
    short = "Python developer, Django and PostgreSQL."
    assert encoder.head(short, 128) == short
    text = " ".join(f"Shipped release {i} of the billing service with zero downtime." for i in range(200))
    for tokens in (64, 128, encoder.window_tokens):
        head = encoder.head(text, tokens)
        assert text.startswith(head) and len(head) < len(text) and text[len(head)] == " "
        [(piece, count)] = encoder.chunk(head)
        assert piece == head and tokens - 16 <= count - 2 <= tokens
    # Never more than one window, however many tokens are asked for.
    assert encoder.head(text, 10_000) == encoder.head(text, encoder.window_tokens)
    # A text with no word boundary near the limit is cut at the limit itself.
    assert encoder.chunk(encoder.head("x" * 20_000, 128))[0][1] - 2 <= 128


def test_the_head_read_from_a_short_prefix_is_the_one_the_long_prefix_gives(encoder) -> None:
    """The first, short prefix settles a head only where its tokens cannot depend on where the prefix was
    cut; every text here gets the head that tokenizing HEAD_CHARS_PER_TOKEN characters per token gives."""
    from cerebro_serve.engine.chunking import HEAD_CHARS_PER_TOKEN, _word_cut

    def reference(text: str, tokens: int) -> str:
        tokens = min(tokens, encoder.window_tokens)
        prefix = text[: tokens * HEAD_CHARS_PER_TOKEN]
        offsets = encoder.window.offsets(prefix)
        return prefix if len(offsets) <= tokens else text[: offsets[_word_cut(offsets, tokens) - 1][1]]

    rng = random.Random(7)
    words = ["Python ", "developer, ", "\n", "ZZZZZZZZZZZZZZ", "é", "  ", "http://example.com/a/b/c", "日本語"]
    texts = ["x" * 3_000, ("a" * 700 + " ") * 5, "word " * 100 + "z" * 5_000, "Registered nurse, ICU."]
    texts += [
        "".join(rng.choice(words) + "y" * rng.randint(0, 40) for _ in range(rng.randint(5, 400))) for _ in range(200)
    ]
    for tokens in (16, 128, 254):
        assert [encoder.head(text, tokens) for text in texts] == [reference(text, tokens) for text in texts]


def test_cut_heads_are_the_heads_chunked_and_a_pickled_window_cuts_alike(encoder) -> None:
    """Heads cut in one tokenization (what a bulk import's workers send) are the pieces the head and the
    chunking give, with their token counts; a window pickled into a worker process cuts the same."""
    import pickle

    rng = random.Random(3)
    words = ["Python ", "developer, ", "\n", "ICU ", "é", "Kubernetes-based ", "x" * 30]
    texts = ["", "   ", "Registered nurse."]
    texts += ["".join(rng.choice(words) for _ in range(rng.randint(1, 300))) for _ in range(60)]
    budgets = [rng.choice((16, 128, 254)) for _ in texts]
    cutter = encoder.head_cutter()
    cut = cutter.cut_heads(texts, budgets)
    expected = encoder.prepare([encoder.head(text, tokens) for text, tokens in zip(texts, budgets)])
    assert cut == expected and cut.texts == len(texts)
    assert pickle.loads(pickle.dumps(cutter)).cut_heads(texts, budgets) == cut
    np.testing.assert_allclose(encoder.embed_cut(cut), encoder.embed_documents(expected.pieces), atol=1e-6)
