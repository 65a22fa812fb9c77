"""The vLLM backend (GPU nodes, `gpu` extra). Without vLLM or CUDA it must refuse clearly; where both are
installed it must give the same vectors as PyTorch for the same model directory."""

from __future__ import annotations

import importlib.util

import numpy as np
import pytest

from cerebro_serve.engine.loading import load_encoder

TEXTS = ["python backend developer with django", "intensive care nurse", "pastry chef " * 400]


def test_refuses_the_cpu() -> None:
    with pytest.raises(ValueError, match="CUDA"):
        load_encoder("all-MiniLM-L6-v2", "cpu", "auto", "vllm")


@pytest.mark.skipif(importlib.util.find_spec("vllm") is not None, reason="vLLM is installed here")
def test_without_vllm_the_error_names_the_extra(monkeypatch) -> None:
    import torch

    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)  # reach the import, not the device check
    with pytest.raises(ValueError, match=r"cerebro-serve\[gpu\]"):
        load_encoder("all-MiniLM-L6-v2", "auto", "auto", "vllm")


def test_agrees_with_pytorch_on_a_gpu() -> None:
    pytest.importorskip("vllm")
    import torch

    if not torch.cuda.is_available():
        pytest.skip("needs a CUDA GPU")
    served = load_encoder("all-MiniLM-L6-v2", "cuda", "float32", "vllm")
    reference = load_encoder("all-MiniLM-L6-v2", "cuda", "float32", "torch")
    assert served.dimension == reference.dimension
    agreement = np.sum(served.embed_documents(TEXTS) * reference.embed_documents(TEXTS), axis=1)
    assert agreement.min() > 0.999
