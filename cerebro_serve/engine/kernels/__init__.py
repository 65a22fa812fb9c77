"""Triton kernels for the GPU hot paths, each beside the PyTorch reference it must agree with.

On CUDA they are the default path; on CPU they run only under the Triton interpreter (TRITON_INTERPRET=1),
which is how the tests check them on machines without a GPU. Triton is optional: `available()` says
whether the kernels can run here.
"""

from __future__ import annotations

import importlib.util
import os


def available(device: str) -> bool:
    """Whether the kernels can run for tensors on `device` (CUDA, or any device under the interpreter)."""
    if importlib.util.find_spec("triton") is None:
        return False
    return device.startswith("cuda") or os.environ.get("TRITON_INTERPRET") == "1"
