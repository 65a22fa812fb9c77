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

Several queries at once (a batch of concurrent requests, each with its own row mask) take another path
when k is deep enough: sorting every block's keys is what kept 16 queries 3x off the bandwidth bound, so
a first pass over a strided sample of rows estimates, per query, a score that about MARGIN x k allowed
rows reach, and the kernel (`_block_select`) writes out only the keys at or above it, in no order, for
one small top-k at the end. Exact whenever at least k rows reached the threshold (every row of the
answer then did); the rare query with fewer, or with more than its buffer holds, is answered again by
the sorting path.
"""

from __future__ import annotations

import torch
import triton
import triton.language as tl

LOW_WORD = 0xFFFFFFFF
# Launch settings, from the GPU benchmark's sweep (bench/RESULTS.md); the benchmark overrides them.
TUNED: dict[str, object] = {"block_n": 256, "block_d": 64, "num_warps": 4, "num_stages": 3, "row_tiles": True}
# The selecting path: rows sampled for the thresholds, the survivors aimed for (MARGIN x k per query), the
# fewest sampled rows above a threshold that still estimate it well (fewer: the sorting path answers).
SAMPLE_ROWS = 65_536
MARGIN = 4
MIN_SAMPLE_RANK = 8


@triton.jit
def _row_tile_scores(
    queries_ptr,
    matrix_ptr,
    q_offsets,
    n_offsets,
    n_queries,
    n_rows,
    dim,
    stride_q,
    stride_m,
    BLOCK_Q: tl.constexpr,
    BLOCK_N: tl.constexpr,
    BLOCK_D: tl.constexpr,
):
    """(BLOCK_N, BLOCK_Q) inner products: rows as the dot's M side, loaded in their memory order."""
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
    return scores_t


@triton.jit
def _allowed_bits(mask_rows, n_offsets, valid):
    """Whether the packed row mask (a bit per row, little-endian within each byte) allows each row."""
    byte = tl.load(mask_rows + (n_offsets >> 3), mask=valid, other=0).to(tl.int32)
    return ((byte >> (n_offsets & 7).to(tl.int32)) & 1) != 0


@triton.jit
def _ordered_keys(scores, n_offsets):
    """Score and row as one int64 key: the score's bits made order-preserving (every bit but the sign of
    a negative number flipped) in the high word, the inverted row in the low word (ties go to the lower
    row). `scores` is (..., BLOCK_N) with the rows on its last axis."""
    bits = scores.to(tl.int32, bitcast=True)
    ordered = bits ^ ((bits >> 31) & 0x7FFFFFFF)
    inverted_rows = 4294967295 - n_offsets
    return (ordered.to(tl.int64) << 32) | inverted_rows


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
    stride_mask,
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
        scores_t = _row_tile_scores(
            queries_ptr,
            matrix_ptr,
            q_offsets,
            n_offsets,
            n_queries,
            n_rows,
            dim,
            stride_q,
            stride_m,
            BLOCK_Q,
            BLOCK_N,
            BLOCK_D,
        )
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
    valid = (n_offsets < n_rows)[None, :] & (q_offsets < n_queries)[:, None]
    if HAS_MASK:
        # One mask row per query (stride_mask 0: one mask shared by every query).
        mask_rows = mask_ptr + q_offsets[:, None].to(tl.int64) * stride_mask
        valid = valid & _allowed_bits(mask_rows, n_offsets[None, :], valid)
    scores = tl.where(valid, scores, float("-inf"))
    keys = _ordered_keys(scores, n_offsets[None, :])
    best = tl.topk(keys, K)
    k_offsets = tl.arange(0, K)
    n_blocks = tl.num_programs(0)
    out = keys_ptr + q_offsets[:, None].to(tl.int64) * (n_blocks * K) + block_n.to(tl.int64) * K + k_offsets[None, :]
    tl.store(out, best, mask=q_offsets[:, None] < n_queries)


@triton.jit
def _block_select(
    queries_ptr,
    matrix_ptr,
    mask_ptr,
    thresholds_ptr,
    counts_ptr,
    keys_ptr,
    n_queries,
    n_rows,
    dim,
    stride_q,
    stride_m,
    stride_mask,
    capacity,
    HAS_MASK: tl.constexpr,
    BLOCK_Q: tl.constexpr,
    BLOCK_N: tl.constexpr,
    BLOCK_D: tl.constexpr,
):
    """Append every allowed key at or above its query's threshold to that query's buffer: a block's
    survivors are counted per query, one atomic add reserves their slots, a prefix sum places them."""
    block_n = tl.program_id(0)
    block_q = tl.program_id(1)
    q_offsets = block_q * BLOCK_Q + tl.arange(0, BLOCK_Q)
    n_offsets = block_n.to(tl.int64) * BLOCK_N + tl.arange(0, BLOCK_N)
    scores_t = _row_tile_scores(
        queries_ptr,
        matrix_ptr,
        q_offsets,
        n_offsets,
        n_queries,
        n_rows,
        dim,
        stride_q,
        stride_m,
        BLOCK_Q,
        BLOCK_N,
        BLOCK_D,
    )
    queried = q_offsets < n_queries
    valid = (n_offsets < n_rows)[:, None] & queried[None, :]
    if HAS_MASK:
        mask_rows = mask_ptr + q_offsets[None, :].to(tl.int64) * stride_mask
        valid = valid & _allowed_bits(mask_rows, n_offsets[:, None], valid)
    thresholds = tl.load(thresholds_ptr + q_offsets, mask=queried, other=float("inf"))
    kept = (valid & (scores_t >= thresholds[None, :])).to(tl.int32)
    first = tl.atomic_add(counts_ptr + q_offsets, tl.sum(kept, axis=0), mask=queried)
    slots = first[None, :] + tl.cumsum(kept, axis=0) - kept
    keys = _ordered_keys(scores_t, n_offsets[:, None])
    out = keys_ptr + q_offsets[None, :].to(tl.int64) * capacity + slots
    tl.store(out, keys, mask=(kept != 0) & (slots < capacity))


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
    select: bool | None = None,
    **launch: object,
) -> tuple[torch.Tensor, torch.Tensor]:
    """(scores, rows), each (queries, min(k, allowed rows)), best first; -inf rows (masked) never win
    over allowed ones and are dropped when fewer than k rows are allowed. `mask`: the rows allowed, a bit
    per row (`pack_mask`: an eighth of the bytes to copy to the device), (bytes,) shared by every query or
    (queries, bytes), one per query; where queries allow different counts, the columns go to the largest
    and a query's missing answers read -inf. `select`: force (True) or refuse (False) the
    selecting path (default: chosen by `selects`). `per_block`: keys kept per block by the sorting path (a
    power of two; default `keys_per_block`). `launch` overrides `TUNED` (block_d, num_warps, num_stages,
    row_tiles), the knobs `python -m bench.gpu_bench` sweeps.

    Exact: a block whose last kept key still reaches the k-th best key may hold more of the answer than
    it kept; those blocks (rare: the answer is spread over many blocks) are re-scored in full."""
    if queries.ndim != 2 or matrix.ndim != 2 or queries.shape[1] != matrix.shape[1]:
        raise ValueError("queries (q, d) and matrix (n, d) must share d")
    n_queries, n_rows = queries.shape[0], matrix.shape[0]
    packed = (n_rows + 7) // 8
    if mask is not None and (mask.dtype != torch.uint8 or mask.shape not in ((packed,), (n_queries, packed))):
        raise ValueError(f"a mask is packed bits, (bytes,) or (queries, bytes): {mask.dtype} {tuple(mask.shape)}")
    k = min(k, n_rows)
    if n_queries == 0 or k <= 0:
        empty = torch.empty((n_queries, 0), device=queries.device)
        return empty, empty.to(torch.int64)
    queries = queries.to(matrix.dtype).contiguous()
    matrix = matrix.contiguous()
    settings = {**TUNED, **launch}
    block_n = block_n or int(settings["block_n"])  # type: ignore[call-overload]  # a sweep's int
    # Each query's allowed rows, counted once (the selecting path and the trimming below read them).
    allowed = allowed_counts(mask) if mask is not None else torch.tensor(n_rows, device=queries.device)
    allowed = allowed.expand(n_queries)
    if select is None:
        select = selects(n_queries, k, n_rows)
    if select:
        best = _selected(queries, matrix, k, mask, allowed, block_n, block_q or 16, settings)
    else:
        best = _sorted(queries, matrix, k, mask, block_n, block_q, per_block, settings)
    scores, rows = _decode(best)
    if mask is not None:
        most = min(k, int(allowed.max()))
        scores, rows = scores[:, :most], rows[:, :most]
    return scores, rows


def selects(n_queries: int, k: int, n_rows: int) -> bool:
    """Whether the selecting path answers: several queries (one is faster sorted on the CUDA cores) and
    a k deep enough that the sample holds MIN_SAMPLE_RANK rows above the threshold."""
    sampled = min(n_rows, SAMPLE_ROWS)
    return n_queries > 1 and MARGIN * k * sampled >= MIN_SAMPLE_RANK * n_rows


def _launch_knobs(settings: dict[str, object], dim: int) -> dict[str, object]:
    return {
        "BLOCK_D": min(int(settings["block_d"]), triton.next_power_of_2(dim)),  # type: ignore[call-overload]  # a sweep's int
        "num_warps": settings["num_warps"],
        "num_stages": settings["num_stages"],
    }


def _sorted(
    queries: torch.Tensor,
    matrix: torch.Tensor,
    k: int,
    mask: torch.Tensor | None,
    block_n: int,
    block_q: int | None,
    per_block: int | None,
    settings: dict[str, object],
) -> torch.Tensor:
    """The k best keys per query, each block sorting its own and keeping `per_block`."""
    (n_queries, dim), n_rows = queries.shape, matrix.shape[0]
    block_q = block_q or (1 if n_queries == 1 else 16)
    n_blocks = triton.cdiv(n_rows, block_n)
    per_block = per_block or keys_per_block(k, n_rows, block_n)
    if per_block * n_blocks < k:
        per_block = block_n
    keys = torch.empty((n_queries, n_blocks * per_block), dtype=torch.int64, device=queries.device)
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
        mask.stride(0) if mask is not None and mask.ndim == 2 else 0,
        HAS_MASK=mask is not None,
        BLOCK_Q=block_q,
        BLOCK_N=block_n,
        K=per_block,
        ROW_TILES=bool(settings["row_tiles"]),
        **_launch_knobs(settings, dim),
    )
    best = torch.topk(keys, k, dim=1).values
    if per_block < block_n:
        best = _rescore_saturated(queries, matrix, mask, keys.view(n_queries, n_blocks, per_block), best, block_n)
    return best


def _selected(
    queries: torch.Tensor,
    matrix: torch.Tensor,
    k: int,
    mask: torch.Tensor | None,
    allowed: torch.Tensor,
    block_n: int,
    block_q: int,
    settings: dict[str, object],
) -> torch.Tensor:
    """The k best keys per query from the keys at or above each query's sampled threshold; the queries
    whose threshold kept fewer than k keys, or more than their buffer holds, go to the sorting path.
    `allowed`: each query's allowed rows."""
    (n_queries, dim), n_rows = queries.shape, matrix.shape[0]
    thresholds = _thresholds(queries, matrix, k, mask, allowed)
    capacity = triton.next_power_of_2(4 * MARGIN * k)
    unfilled = _encode(torch.tensor([float("-inf")]), torch.tensor([0]))  # reads as a masked row
    keys = unfilled.to(queries.device).expand(n_queries, capacity).contiguous()
    counts = torch.zeros(n_queries, dtype=torch.int32, device=queries.device)
    _block_select[(triton.cdiv(n_rows, block_n), triton.cdiv(n_queries, block_q))](
        queries,
        matrix,
        mask if mask is not None else matrix,
        thresholds,
        counts,
        keys,
        n_queries,
        n_rows,
        dim,
        queries.stride(0),
        matrix.stride(0),
        mask.stride(0) if mask is not None and mask.ndim == 2 else 0,
        capacity,
        HAS_MASK=mask is not None,
        BLOCK_Q=block_q,
        BLOCK_N=block_n,
        **_launch_knobs(settings, dim),
    )
    best = torch.topk(keys, k, dim=1).values
    # A query with fewer allowed rows than k is exact once its threshold kept all of them.
    missed = ((counts < allowed.clamp(max=k)) | (counts > capacity)).nonzero().flatten()
    if missed.numel():
        again_mask = mask[missed] if mask is not None and mask.ndim == 2 else mask
        best[missed] = _sorted(queries[missed], matrix, k, again_mask, block_n, None, None, settings)
    return best


def _thresholds(
    queries: torch.Tensor, matrix: torch.Tensor, k: int, mask: torch.Tensor | None, allowed: torch.Tensor
) -> torch.Tensor:
    """Per query, a score about MARGIN x k of its `allowed` rows reach, read off a strided sample of rows
    (the sample's rank in proportion to the allowed rows it holds)."""
    n_rows = matrix.shape[0]
    step = max(1, n_rows // SAMPLE_ROWS)
    scores = queries.float() @ matrix[::step].float().T
    if mask is not None:
        sampled = allows(mask, torch.arange(0, n_rows, step, device=mask.device)).expand_as(scores)
        scores = scores.masked_fill(~sampled, float("-inf"))
    in_sample = (scores > float("-inf")).sum(dim=1)
    rank = torch.ceil(MARGIN * k * in_sample / allowed.clamp(min=1)).long().clamp(min=1)
    ordered = torch.sort(scores, dim=1, descending=True).values
    # Fewer sampled rows than the rank: no threshold (every allowed row is a survivor).
    reached = rank <= in_sample
    picked = ordered.gather(1, (rank - 1).clamp(max=scores.shape[1] - 1)[:, None])[:, 0]
    return torch.where(reached, picked, torch.full_like(picked, float("-inf"))).contiguous()


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
        scores = scores.masked_fill(~allows(mask, rows).expand_as(scores), float("-inf"))
    block_keys = block_keys.clone()
    block_keys[:, saturated] = torch.iinfo(torch.int64).min
    candidates = torch.cat([block_keys.flatten(1), _encode(scores, rows[None, :].expand_as(scores))], dim=1)
    return torch.topk(candidates, best.shape[1], dim=1).values


def pack_mask(mask: torch.Tensor) -> torch.Tensor:
    """A bool row mask, (rows,) or (queries, rows), as the kernels take it: a bit per row, little-endian
    within each byte (numpy's `packbits(..., bitorder="little")`)."""
    rows = mask.shape[-1]
    padded = torch.nn.functional.pad(mask.to(torch.uint8), (0, -rows % 8))
    weights = torch.tensor([1, 2, 4, 8, 16, 32, 64, 128], dtype=torch.uint8, device=mask.device)
    return (padded.view(*mask.shape[:-1], -1, 8) * weights).sum(dim=-1, dtype=torch.uint8)


def allows(mask: torch.Tensor, rows: torch.Tensor) -> torch.Tensor:
    """Whether a packed mask allows these rows: (..., len(rows)) bools."""
    return ((mask[..., rows >> 3].long() >> (rows & 7)) & 1).bool()


def allowed_counts(mask: torch.Tensor) -> torch.Tensor:
    """The rows a packed mask allows (per query, for one per query): each byte's bits counted in place
    (a byte-wide popcount), so the count needs no copy larger than the mask."""
    bits = mask - ((mask >> 1) & 0x55)
    bits = (bits & 0x33) + ((bits >> 2) & 0x33)
    return ((bits + (bits >> 4)) & 0x0F).sum(dim=-1, dtype=torch.int64)


def similarity_topk_reference(
    queries: torch.Tensor, matrix: torch.Tensor, k: int, mask: torch.Tensor | None = None
) -> tuple[torch.Tensor, torch.Tensor]:
    """The same answer the plain way (full score matrix, stable sort): what the kernel must match. `mask`:
    bools, (rows,) or (queries, rows)."""
    scores = queries.float() @ matrix.float().T
    if mask is not None:
        scores = scores.masked_fill(~mask.bool().expand_as(scores), float("-inf"))
        k = min(k, int(mask.count_nonzero(dim=-1).max()))
    k = min(k, matrix.shape[0])
    order = torch.sort(scores, dim=1, descending=True, stable=True).indices[:, :k]
    return torch.gather(scores, 1, order), order
