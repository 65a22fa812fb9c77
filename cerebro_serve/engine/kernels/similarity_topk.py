"""Fused similarity + top-k: the k best rows of a matrix for each query, without ever writing the full
queries x rows score matrix.

Stage 1 (Triton): each program takes a block of BLOCK_Q queries and a block of BLOCK_N rows, computes
their inner products with one `tl.dot` over fp16 tiles (fp32 accumulation), masks rows the caller
excludes, and keeps the block's K best per query. Score and row travel together as one int64 key (the
score's bits made order-preserving in the high word, the inverted row in the low word, so ties go to the
lower row), which `tl.topk` sorts. Stage 2 (PyTorch) takes the top-k of the few keys per block.
Memory traffic is one pass over the matrix per BLOCK_Q queries: the bound the GPU benchmark compares to.
"""

from __future__ import annotations

import torch
import triton
import triton.language as tl

LOW_WORD = 0xFFFFFFFF


@triton.jit
def _block_topk(
    queries_ptr, matrix_ptr, mask_ptr, keys_ptr,
    n_queries, n_rows, dim,
    stride_q, stride_m,
    HAS_MASK: tl.constexpr, BLOCK_Q: tl.constexpr, BLOCK_N: tl.constexpr, BLOCK_D: tl.constexpr,
    K: tl.constexpr,
):
    block_q = tl.program_id(0)
    block_n = tl.program_id(1)
    q_offsets = block_q * BLOCK_Q + tl.arange(0, BLOCK_Q)
    n_offsets = block_n * BLOCK_N + tl.arange(0, BLOCK_N)
    scores = tl.zeros((BLOCK_Q, BLOCK_N), dtype=tl.float32)
    for d_start in range(0, dim, BLOCK_D):
        d_offsets = d_start + tl.arange(0, BLOCK_D)
        q_tile = tl.load(
            queries_ptr + q_offsets[:, None] * stride_q + d_offsets[None, :],
            mask=(q_offsets[:, None] < n_queries) & (d_offsets[None, :] < dim), other=0.0,
        )
        m_tile = tl.load(
            matrix_ptr + n_offsets[None, :] * stride_m + d_offsets[:, None],
            mask=(n_offsets[None, :] < n_rows) & (d_offsets[:, None] < dim), other=0.0,
        )
        scores += tl.dot(q_tile, m_tile)
    valid = n_offsets < n_rows
    if HAS_MASK:
        valid = valid & (tl.load(mask_ptr + n_offsets, mask=n_offsets < n_rows, other=0) != 0)
    scores = tl.where(valid[None, :], scores, float("-inf"))
    # Order-preserving integer of a float32: flip every bit but the sign of negative numbers.
    bits = scores.to(tl.int32, bitcast=True)
    ordered = bits ^ ((bits >> 31) & 0x7FFFFFFF)
    inverted_rows = tl.full((BLOCK_N,), 4294967295, tl.int64) - n_offsets.to(tl.int64)
    keys = (ordered.to(tl.int64) << 32) | inverted_rows[None, :]
    best = tl.topk(keys, K)
    k_offsets = tl.arange(0, K)
    n_blocks = tl.num_programs(1)
    out = keys_ptr + q_offsets[:, None] * (n_blocks * K) + block_n * K + k_offsets[None, :]
    tl.store(out, best, mask=q_offsets[:, None] < n_queries)


def _decode(keys: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    ordered = (keys >> 32).to(torch.int32)
    bits = ordered ^ ((ordered >> 31) & 0x7FFFFFFF)
    scores = bits.view(torch.float32)
    rows = LOW_WORD - (keys & LOW_WORD)
    return scores, rows


def similarity_topk(
    queries: torch.Tensor, matrix: torch.Tensor, k: int, mask: torch.Tensor | None = None,
    block_n: int = 256, block_q: int = 16,
) -> tuple[torch.Tensor, torch.Tensor]:
    """(scores, rows), each (queries, min(k, allowed rows)), best first; -inf rows (masked) never win
    over allowed ones and are dropped when fewer than k rows are allowed."""
    if queries.ndim != 2 or matrix.ndim != 2 or queries.shape[1] != matrix.shape[1]:
        raise ValueError("queries (q, d) and matrix (n, d) must share d")
    n_queries, dim = queries.shape
    n_rows = matrix.shape[0]
    k = min(k, n_rows)
    if n_queries == 0 or k <= 0:
        empty = torch.empty((n_queries, 0), device=queries.device)
        return empty, empty.to(torch.int64)
    per_block = min(triton.next_power_of_2(k), block_n)
    n_blocks = triton.cdiv(n_rows, block_n)
    keys = torch.empty((n_queries, n_blocks * per_block), dtype=torch.int64, device=queries.device)
    queries = queries.to(matrix.dtype).contiguous()
    matrix = matrix.contiguous()
    grid = (triton.cdiv(n_queries, block_q), n_blocks)
    _block_topk[grid](
        queries, matrix, mask if mask is not None else matrix, keys,
        n_queries, n_rows, dim, queries.stride(0), matrix.stride(0),
        HAS_MASK=mask is not None, BLOCK_Q=block_q, BLOCK_N=block_n, BLOCK_D=min(64, triton.next_power_of_2(dim)),
        K=per_block,
    )
    best = torch.topk(keys, k, dim=1).values
    scores, rows = _decode(best)
    if mask is not None:
        allowed = int(mask.count_nonzero())
        scores, rows = scores[:, : min(k, allowed)], rows[:, : min(k, allowed)]
    return scores, rows


def similarity_topk_reference(
    queries: torch.Tensor, matrix: torch.Tensor, k: int, mask: torch.Tensor | None = None
) -> tuple[torch.Tensor, torch.Tensor]:
    """The same answer the plain way (full score matrix, stable sort): what the kernel must match."""
    scores = queries.float() @ matrix.float().T
    if mask is not None:
        scores[:, ~mask.bool()] = float("-inf")
        k = min(k, int(mask.count_nonzero()))
    k = min(k, matrix.shape[0])
    order = torch.sort(scores, dim=1, descending=True, stable=True).indices[:, :k]
    return torch.gather(scores, 1, order), order
