"""What the machine offers an encoder: the device and the precision it runs fastest in."""

from __future__ import annotations

from pathlib import Path

PRECISIONS = ("auto", "float32", "bfloat16", "float16")


def cpu_flags() -> set[str]:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("flags"):
                return set(line.split(":", 1)[1].split())
    except OSError:
        pass
    return set()


def resolve_precision(precision: str, device: str) -> str:
    """`auto`: bfloat16 on CUDA cards that support it (else float16), and on CPUs with bf16 instructions
    (AMX or AVX512-BF16: 2.6x faster here at cosine > 0.9999 to fp32, bench/RESULTS.md); float32 on other
    CPUs, where bf16 is emulated and slower."""
    if precision not in PRECISIONS:
        raise ValueError(f"Unknown precision {precision!r}: use one of {', '.join(PRECISIONS)}")
    if precision != "auto":
        return precision
    if device.startswith("cuda"):
        import torch

        return "bfloat16" if torch.cuda.is_bf16_supported() else "float16"
    return "bfloat16" if cpu_flags() & {"amx_bf16", "avx512_bf16"} else "float32"


def resolve_device(device: str) -> str:
    if device != "auto":
        return device
    import torch

    return "cuda" if torch.cuda.is_available() else "cpu"
