"""Fused mean pooling + L2 normalisation of encoder outputs: one pass over the token embeddings, no
intermediate (batch, hidden) sums written back. Sentence-transformers does the same in three passes."""

from __future__ import annotations

import torch
import triton
import triton.language as tl


@triton.jit
def _mean_pool_normalize(
    tokens_ptr,
    mask_ptr,
    out_ptr,
    seq_len,
    hidden,
    stride_b,
    stride_t,
    stride_mb,
    BLOCK_T: tl.constexpr,
    BLOCK_H: tl.constexpr,
):
    row = tl.program_id(0)
    h_offsets = tl.arange(0, BLOCK_H)
    total = tl.zeros((BLOCK_H,), dtype=tl.float32)
    count = tl.zeros((BLOCK_T,), dtype=tl.float32)
    for t_start in range(0, seq_len, BLOCK_T):
        t_offsets = t_start + tl.arange(0, BLOCK_T)
        weights = tl.load(mask_ptr + row * stride_mb + t_offsets, mask=t_offsets < seq_len, other=0).to(tl.float32)
        tile = tl.load(
            tokens_ptr + row * stride_b + t_offsets[:, None] * stride_t + h_offsets[None, :],
            mask=(t_offsets[:, None] < seq_len) & (h_offsets[None, :] < hidden),
            other=0.0,
        ).to(tl.float32)
        total += tl.sum(tile * weights[:, None], axis=0)
        count += weights
    mean = total / tl.maximum(tl.sum(count, axis=0), 1e-9)
    norm = tl.sqrt(tl.sum(mean * mean, axis=0))
    tl.store(out_ptr + row * hidden + h_offsets, mean / tl.maximum(norm, 1e-12), mask=h_offsets < hidden)


def mean_pool_normalize(tokens: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
    """(batch, seq, hidden) token embeddings and a (batch, seq) mask -> (batch, hidden) unit vectors, fp32."""
    batch, seq_len, hidden = tokens.shape
    tokens = tokens.contiguous()
    attention_mask = attention_mask.contiguous()
    out = torch.empty((batch, hidden), dtype=torch.float32, device=tokens.device)
    if batch == 0:
        return out
    _mean_pool_normalize[(batch,)](
        tokens,
        attention_mask,
        out,
        seq_len,
        hidden,
        tokens.stride(0),
        tokens.stride(1),
        attention_mask.stride(0),
        BLOCK_T=16,
        BLOCK_H=triton.next_power_of_2(hidden),
    )
    return out


def mean_pool_normalize_reference(tokens: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
    weights = attention_mask.to(torch.float32).unsqueeze(-1)
    mean = (tokens.float() * weights).sum(1) / weights.sum(1).clamp(min=1e-9)
    return torch.nn.functional.normalize(mean, dim=1)
