"""Fused similarity + top-k: the k best rows of a matrix for each query, without ever writing the full
queries x rows score matrix.

Stage 1 (Triton): each program takes a block of BLOCK_Q queries and a block of BLOCK_N rows, computes
their inner products with one `tl.dot` over fp16 tiles (fp32 accumulation), masks rows the caller
excludes, and keeps the block's K best per query. Score and row travel together as one int64 key (the
score's bits made order-preserving in the high word, the inverted row in the low word, so ties go to the
lower row), which `tl.topk` sorts; a block keeps only a few more keys than its expected share of the
answer. Stage 2 (PyTorch) takes the top-k of those keys and re-scores whole the rare blocks that may have
held more (so the answer is exact even for k = 1,000 over 10M rows, with 16 keys per block of 256).
Memory traffic is one pass over the matrix per BLOCK_Q queries: the bound the GPU benchmark compares to.
"""

from __future__ import annotations

import torch
import triton
import triton.language as tl

LOW_WORD = 0xFFFFFFFF
# Launch settings, from the GPU benchmark's sweep (bench/RESULTS.md); the benchmark overrides them.
TUNED: dict[str, object] = {"block_n": 256, "block_d": 64, "num_warps": 4, "num_stages": 3, "row_tiles": True}


@triton.jit
def _block_topk(
    queries_ptr,
    matrix_ptr,
    mask_ptr,
    keys_ptr,
    n_queries,
    n_rows,
    dim,
    stride_q,
    stride_m,
    HAS_MASK: tl.constexpr,
    BLOCK_Q: tl.constexpr,
    BLOCK_N: tl.constexpr,
    BLOCK_D: tl.constexpr,
    K: tl.constexpr,
    ROW_TILES: tl.constexpr,
):
    # Row blocks on the grid's first axis, which allows 2^31 - 1 blocks (the second allows 65,535).
    block_n = tl.program_id(0)
    block_q = tl.program_id(1)
    q_offsets = block_q * BLOCK_Q + tl.arange(0, BLOCK_Q)
    # 64-bit row offsets: 10M rows x 384 dims overflow 32-bit element offsets.
    n_offsets = block_n.to(tl.int64) * BLOCK_N + tl.arange(0, BLOCK_N)
    if BLOCK_Q == 1:
        # One query (a scoring call): a dot product per row on the CUDA cores, one row of keys to sort
        # instead of the 16 that the smallest tensor-core tile would make.
        total = tl.zeros((BLOCK_N,), dtype=tl.float32)
        for d_start in range(0, dim, BLOCK_D):
            d_offsets = d_start + tl.arange(0, BLOCK_D)
            query = tl.load(queries_ptr + block_q * stride_q + d_offsets, mask=d_offsets < dim, other=0.0)
            m_tile = tl.load(
                matrix_ptr + n_offsets[:, None] * stride_m + d_offsets[None, :],
                mask=(n_offsets[:, None] < n_rows) & (d_offsets[None, :] < dim),
                other=0.0,
            )
            total += tl.sum(m_tile.to(tl.float32) * query.to(tl.float32)[None, :], axis=1)
        scores = total[None, :]
    elif ROW_TILES:
        # Rows as the dot's M side, loaded in their memory order; one transpose at the end.
        scores_t = tl.zeros((BLOCK_N, BLOCK_Q), dtype=tl.float32)
        for d_start in range(0, dim, BLOCK_D):
            d_offsets = d_start + tl.arange(0, BLOCK_D)
            q_tile_t = tl.load(
                queries_ptr + q_offsets[None, :] * stride_q + d_offsets[:, None],
                mask=(q_offsets[None, :] < n_queries) & (d_offsets[:, None] < dim),
                other=0.0,
            )
            m_tile = tl.load(
                matrix_ptr + n_offsets[:, None] * stride_m + d_offsets[None, :],
                mask=(n_offsets[:, None] < n_rows) & (d_offsets[None, :] < dim),
                other=0.0,
            )
            scores_t += tl.dot(m_tile, q_tile_t)
        scores = tl.trans(scores_t)
    else:
        scores = tl.zeros((BLOCK_Q, BLOCK_N), dtype=tl.float32)
        for d_start in range(0, dim, BLOCK_D):
            d_offsets = d_start + tl.arange(0, BLOCK_D)
            q_tile = tl.load(
                queries_ptr + q_offsets[:, None] * stride_q + d_offsets[None, :],
                mask=(q_offsets[:, None] < n_queries) & (d_offsets[None, :] < dim),
                other=0.0,
            )
            m_tile = tl.load(
                matrix_ptr + n_offsets[None, :] * stride_m + d_offsets[:, None],
                mask=(n_offsets[None, :] < n_rows) & (d_offsets[:, None] < dim),
                other=0.0,
            )
            scores += tl.dot(q_tile, m_tile)
    valid = n_offsets < n_rows
    if HAS_MASK:
        valid = valid & (tl.load(mask_ptr + n_offsets, mask=n_offsets < n_rows, other=0) != 0)
    scores = tl.where(valid[None, :], scores, float("-inf"))
    # Order-preserving integer of a float32: flip every bit but the sign of negative numbers.
    bits = scores.to(tl.int32, bitcast=True)
    ordered = bits ^ ((bits >> 31) & 0x7FFFFFFF)
    inverted_rows = tl.full((BLOCK_N,), 4294967295, tl.int64) - n_offsets
    keys = (ordered.to(tl.int64) << 32) | inverted_rows[None, :]
    best = tl.topk(keys, K)
    k_offsets = tl.arange(0, K)
    n_blocks = tl.num_programs(0)
    out = keys_ptr + q_offsets[:, None].to(tl.int64) * (n_blocks * K) + block_n.to(tl.int64) * K + k_offsets[None, :]
    tl.store(out, best, mask=q_offsets[:, None] < n_queries)


def _decode(keys: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    ordered = (keys >> 32).to(torch.int32)
    bits = ordered ^ ((ordered >> 31) & 0x7FFFFFFF)
    scores = bits.view(torch.float32)
    rows = LOW_WORD - (keys & LOW_WORD)
    return scores, rows


def _encode(scores: torch.Tensor, rows: torch.Tensor) -> torch.Tensor:
    """The kernel's keys, built in PyTorch for the blocks re-scored on the host."""
    bits = scores.contiguous().view(torch.int32)
    ordered = bits ^ ((bits >> 31) & 0x7FFFFFFF)
    return (ordered.to(torch.int64) << 32) | (LOW_WORD - rows)


def keys_per_block(k: int, n_rows: int, block_n: int) -> int:
    """How many keys each block keeps: a few more than its expected share of the top k (the rows of one
    block are 1/n_blocks of the pool), so a block rarely holds more of the answer than it kept. Blocks
    that might (the saturated ones) are re-scored whole, so the answer stays exact whatever this picks."""
    expected = k * block_n / max(n_rows, 1)
    return min(triton.next_power_of_2(int(8 * expected) + 16), triton.next_power_of_2(k), block_n)


def similarity_topk(
    queries: torch.Tensor,
    matrix: torch.Tensor,
    k: int,
    mask: torch.Tensor | None = None,
    block_n: int | None = None,
    block_q: int | None = None,
    per_block: int | None = None,
    **launch: object,
) -> tuple[torch.Tensor, torch.Tensor]:
    """(scores, rows), each (queries, min(k, allowed rows)), best first; -inf rows (masked) never win
    over allowed ones and are dropped when fewer than k rows are allowed. `per_block`: keys kept per
    block (a power of two; default `keys_per_block`). `launch` overrides `TUNED` (block_d, num_warps,
    num_stages, row_tiles), the knobs `python -m bench.gpu_bench` sweeps.

    Exact: a block whose last kept key still reaches the k-th best key may hold more of the answer than
    it kept; those blocks (rare: the answer is spread over many blocks) are re-scored in full."""
    if queries.ndim != 2 or matrix.ndim != 2 or queries.shape[1] != matrix.shape[1]:
        raise ValueError("queries (q, d) and matrix (n, d) must share d")
    n_queries, dim = queries.shape
    n_rows = matrix.shape[0]
    k = min(k, n_rows)
    settings = {**TUNED, **launch}
    block_n = block_n or int(settings["block_n"])  # type: ignore[call-overload]  # a sweep's int
    block_q = block_q or (1 if n_queries == 1 else 16)
    if n_queries == 0 or k <= 0:
        empty = torch.empty((n_queries, 0), device=queries.device)
        return empty, empty.to(torch.int64)
    n_blocks = triton.cdiv(n_rows, block_n)
    per_block = per_block or keys_per_block(k, n_rows, block_n)
    if per_block * n_blocks < k:
        per_block = block_n
    keys = torch.empty((n_queries, n_blocks * per_block), dtype=torch.int64, device=queries.device)
    queries = queries.to(matrix.dtype).contiguous()
    matrix = matrix.contiguous()
    grid = (n_blocks, triton.cdiv(n_queries, block_q))
    _block_topk[grid](
        queries,
        matrix,
        mask if mask is not None else matrix,
        keys,
        n_queries,
        n_rows,
        dim,
        queries.stride(0),
        matrix.stride(0),
        HAS_MASK=mask is not None,
        BLOCK_Q=block_q,
        BLOCK_N=block_n,
        BLOCK_D=min(int(settings["block_d"]), triton.next_power_of_2(dim)),  # type: ignore[call-overload]  # a sweep's int
        K=per_block,
        ROW_TILES=bool(settings["row_tiles"]),
        num_warps=settings["num_warps"],
        num_stages=settings["num_stages"],
    )
    best = torch.topk(keys, k, dim=1).values
    if per_block < block_n:
        best = _rescore_saturated(queries, matrix, mask, keys.view(n_queries, n_blocks, per_block), best, block_n)
    scores, rows = _decode(best)
    if mask is not None:
        allowed = int(mask.count_nonzero())
        scores, rows = scores[:, : min(k, allowed)], rows[:, : min(k, allowed)]
    return scores, rows


def _rescore_saturated(
    queries: torch.Tensor,
    matrix: torch.Tensor,
    mask: torch.Tensor | None,
    block_keys: torch.Tensor,
    best: torch.Tensor,
    block_n: int,
) -> torch.Tensor:
    """The exact top k once the saturated blocks are scored whole (for every query, so their kept keys
    can be dropped everywhere without duplicates)."""
    last_kept = block_keys[:, :, -1]
    finite = torch.isfinite(_decode(last_kept)[0])
    saturated = ((last_kept >= best[:, -1:]) & finite).any(dim=0).nonzero().flatten()
    if saturated.numel() == 0:
        return best
    rows = (saturated[:, None] * block_n + torch.arange(block_n, device=matrix.device)).flatten()
    rows = rows[rows < matrix.shape[0]]
    scores = queries.float() @ matrix[rows].float().T
    if mask is not None:
        scores[:, mask[rows] == 0] = float("-inf")
    block_keys = block_keys.clone()
    block_keys[:, saturated] = torch.iinfo(torch.int64).min
    candidates = torch.cat([block_keys.flatten(1), _encode(scores, rows[None, :].expand_as(scores))], dim=1)
    return torch.topk(candidates, best.shape[1], dim=1).values


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
