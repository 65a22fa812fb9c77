"""The factory: settings (model, device, precision, backend) into a loaded encoder."""

from __future__ import annotations

from pathlib import Path

from cerebro_serve.engine.encoder import PooledEncoder
from cerebro_serve.engine.hardware import resolve_device, resolve_precision
from cerebro_serve.engine.models import MULTILINGUAL_MODEL, resolve_model_dir

BACKENDS = ("torch", "onnx", "vllm")


def load_encoder(model: str, device: str, precision: str, backend: str, cache_dir: Path | None = None) -> PooledEncoder:
    """A bundled model by name (MiniLM, or the multilingual USE on numpy) or a local model directory, on
    PyTorch (CPU or CUDA), ONNX Runtime (CPU: int8 where it keeps fidelity with precision `auto`, fp32
    with `float32`; the export is cached in `cache_dir`) or vLLM (CUDA, the `gpu` extra)."""
    if backend not in BACKENDS:
        raise ValueError(f"Unknown backend {backend!r}: use one of {', '.join(BACKENDS)}")
    if model == MULTILINGUAL_MODEL:
        from cerebro_serve.engine.backends.use import UniversalSentenceEncoder

        return UniversalSentenceEncoder()
    name, model_dir = resolve_model_dir(model, cache_dir)
    if backend == "onnx":
        from cerebro_serve.engine.backends.onnx import OnnxEncoder

        if device not in ("auto", "cpu") or precision not in ("auto", "float32"):
            raise ValueError("the ONNX backend runs on the CPU, in precision auto (int8 where faithful) or float32")
        if cache_dir is None:
            raise ValueError("the ONNX backend needs a folder for its exports (cache_dir)")
        return OnnxEncoder(name, model_dir, cache_dir, quantize=precision == "auto")
    device = resolve_device(device)
    if backend == "vllm":
        from cerebro_serve.engine.backends.vllm import VllmEncoder

        if not device.startswith("cuda"):
            raise ValueError("the vLLM backend runs on CUDA GPUs; on the CPU use the torch or onnx backend")
        return VllmEncoder(name, model_dir, dtype="auto" if precision == "auto" else precision)
    from cerebro_serve.engine.backends.pytorch import SentenceTransformerEncoder

    return SentenceTransformerEncoder(name, model_dir, device=device, precision=resolve_precision(precision, device))
