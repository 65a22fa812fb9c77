"""The ONNX Runtime backend: the same vectors as PyTorch (int8 only where it keeps them), exported once."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest
from helpers import make_batcher

from cerebro_serve.engine.backends import onnx as onnx_encoder
from cerebro_serve.engine.backends.onnx import OnnxEncoder
from cerebro_serve.engine.loading import load_encoder
from cerebro_serve.engine.models import resolve_model_dir

TEXTS = ["python backend developer with django", "infirmière en soins intensifs", "pastry chef " * 300, ""]


@pytest.fixture(scope="module")
def cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("models")


@pytest.fixture(scope="module")
def int8(cache: Path) -> OnnxEncoder:
    encoder = load_encoder("all-MiniLM-L6-v2", "cpu", "auto", "onnx", cache)
    assert isinstance(encoder, OnnxEncoder)
    return encoder


def test_fp32_export_reproduces_pytorch(cache: Path, encoder) -> None:
    fp32 = load_encoder("all-MiniLM-L6-v2", "cpu", "float32", "onnx", cache)
    assert fp32.precision == "float32"
    texts = [*TEXTS, *onnx_encoder.REFERENCE_TEXTS]
    cosines = np.sum(fp32.embed_documents(texts) * encoder.embed_documents(texts), axis=1)
    np.testing.assert_allclose(cosines, 1.0, atol=1e-4)


def test_served_model_keeps_the_fidelity_rule(int8: OnnxEncoder, encoder) -> None:
    """Whatever this CPU's int8 kernels do, what serves keeps cosine >= MIN_FIDELITY to fp32 on every
    reference text (the test's long, repetitive text among them): int8 if it does, else fp32."""
    assert (int8.precision in ("int8", "int8-mixed")) == (int8.fidelity >= onnx_encoder.MIN_FIDELITY)
    assert "pastry chef " * 300 in onnx_encoder.REFERENCE_TEXTS
    expected = encoder.embed_documents(onnx_encoder.REFERENCE_TEXTS)
    got = int8.embed_documents(onnx_encoder.REFERENCE_TEXTS)
    np.testing.assert_allclose(np.linalg.norm(got, axis=1), 1.0, rtol=1e-5)
    # fp32 ONNX equals PyTorch to 1e-4, so the served vectors keep the rule against PyTorch too.
    assert np.min(np.sum(got * expected, axis=1)) >= onnx_encoder.MIN_FIDELITY - 1e-4
    assert np.min(np.sum(got * expected, axis=1)) == pytest.approx(int8.fidelity, abs=1e-4)


def test_int8_quantises_weight_matmuls_only(int8: OnnxEncoder, cache: Path) -> None:
    import onnx

    [folder] = [path for path in cache.iterdir() if not path.name.startswith(".")]
    graph = onnx.load(str(folder / "model.int8.onnx")).graph
    quantised = [node for node in graph.node if node.op_type in ("MatMulInteger", "DynamicQuantizeMatMul")]
    assert len(quantised) == 36  # 6 layers x (query, key, value, attention output, intermediate, output)
    assert not [node for node in graph.node if node.op_type == "DequantizeLinear"]  # embeddings stay fp32
    mixed = onnx.load(str(folder / "model.int8-mixed.onnx")).graph
    quantised = [node for node in mixed.node if node.op_type in ("MatMulInteger", "DynamicQuantizeMatMul")]
    assert len(quantised) == 30  # each layer's FFN output, after GELU, left in fp32
    fp32 = [node.name for node in mixed.node if node.op_type == "MatMul"]
    assert len([name for name in fp32 if name.endswith("/output/dense/MatMul") and "attention" not in name]) == 6


def test_the_mixed_int8_serves_where_the_full_one_drifts(cache: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A full int8 export that fails the fidelity bar gives way to the one with fp32 FFN outputs."""
    judged = []

    def fidelity(self, candidate, reference, texts) -> float:
        judged.append(candidate)
        return 0.9 if len(judged) == 1 else 0.99

    monkeypatch.setattr(OnnxEncoder, "_min_cosine", fidelity)
    served = load_encoder("all-MiniLM-L6-v2", "cpu", "auto", "onnx", cache)
    assert (served.precision, served.fidelity, len(judged)) == ("int8-mixed", 0.99, 2)


def test_export_is_made_once_and_reused(int8: OnnxEncoder, cache: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    [folder] = [path for path in cache.iterdir() if not path.name.startswith(".")]
    report = json.loads((folder / "export.json").read_text())
    assert report["fp32_min_cosine"] > 0.9999 and report["texts"] == len(onnx_encoder.REFERENCE_TEXTS)
    assert report["reduce_range"] is not onnx_encoder.saturation_free_int8()
    monkeypatch.setattr(onnx_encoder, "_export", lambda *args: pytest.fail("exported again"))
    assert load_encoder("all-MiniLM-L6-v2", "cpu", "auto", "onnx", cache).precision == int8.precision


def test_int8_is_judged_on_this_cpu_at_each_load(cache: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(onnx_encoder, "MIN_FIDELITY", 1.01)  # no int8 model can pass this
    assert load_encoder("all-MiniLM-L6-v2", "cpu", "auto", "onnx", cache).precision == "float32"
    monkeypatch.setattr(onnx_encoder, "MIN_FIDELITY", 0.5)  # the same cached export, now faithful enough
    assert load_encoder("all-MiniLM-L6-v2", "cpu", "auto", "onnx", cache).precision == "int8"


def test_batched_equals_direct(int8: OnnxEncoder) -> None:
    batcher = make_batcher(int8, batch_wait_ms=5)
    try:
        np.testing.assert_allclose(batcher.embed_documents(TEXTS), int8.embed_documents(TEXTS), atol=1e-5)
    finally:
        batcher.close()


def test_refuses_what_it_cannot_serve(tmp_path: Path) -> None:
    _, model_dir = resolve_model_dir("all-MiniLM-L6-v2")
    cls_pooled = tmp_path / "cls-model"
    shutil.copytree(model_dir, cls_pooled, ignore=shutil.ignore_patterns("*.safetensors"))
    config = json.loads((cls_pooled / "1_Pooling" / "config.json").read_text())
    config.update(pooling_mode_mean_tokens=False, pooling_mode_cls_token=True)
    (cls_pooled / "1_Pooling" / "config.json").write_text(json.dumps(config))
    with pytest.raises(ValueError, match="mean-pooled"):
        load_encoder(str(cls_pooled), "cpu", "auto", "onnx", tmp_path / "models")
    with pytest.raises(ValueError, match="runs on the CPU"):
        load_encoder("all-MiniLM-L6-v2", "cuda", "auto", "onnx", tmp_path / "models")
    with pytest.raises(ValueError, match="Unknown backend"):
        load_encoder("all-MiniLM-L6-v2", "cpu", "auto", "tensorrt")
