"""Triton kernels against their PyTorch references: compiled on a GPU when there is one (the device
machine runs this file with `--noconftest`), else run by the Triton interpreter on the CPU."""

from __future__ import annotations

import os

import pytest

torch = pytest.importorskip("torch")
DEVICE = "cuda" if torch.cuda.is_available() else "cpu"
if DEVICE == "cpu":
    os.environ["TRITON_INTERPRET"] = "1"  # before the kernels are defined: these tests run without a GPU
pytest.importorskip("triton")

from cerebro_serve.engine.kernels.pooling import mean_pool_normalize, mean_pool_normalize_reference  # noqa: E402 - after the interpreter switch
from cerebro_serve.engine.kernels.similarity_topk import (  # noqa: E402 - after the interpreter switch
    pack_mask,
    similarity_topk,
    similarity_topk_reference,
)


def _unit(rows: torch.Tensor) -> torch.Tensor:
    return torch.nn.functional.normalize(rows, dim=1)


@pytest.mark.parametrize(
    ("n_rows", "k", "n_queries", "row_tiles"),
    [(1000, 10, 5, False), (777, 64, 5, True), (40, 100, 5, False), (900, 30, 1, False)],
)
def test_similarity_topk_matches_the_reference(n_rows: int, k: int, n_queries: int, row_tiles: bool) -> None:
    generator = torch.Generator().manual_seed(n_rows)
    matrix = _unit(torch.randn(n_rows, 48, generator=generator)).to(DEVICE, torch.float16)
    queries = _unit(torch.randn(n_queries, 48, generator=generator)).to(DEVICE, torch.float16)
    scores, rows = similarity_topk(queries, matrix, k, block_n=128, row_tiles=row_tiles)
    expected_scores, expected_rows = similarity_topk_reference(queries, matrix, k)
    assert rows.shape == expected_rows.shape == (n_queries, min(k, n_rows))
    torch.testing.assert_close(scores, expected_scores, rtol=2e-3, atol=2e-3)
    # Same rows, except where two fp16 scores tie within rounding.
    assert (rows == expected_rows).float().mean() > 0.97


def test_similarity_topk_masks_rows_and_breaks_ties_by_row() -> None:
    matrix = torch.zeros(300, 32, dtype=torch.float16, device=DEVICE)
    matrix[:, 0] = 1.0  # every row ties
    query = torch.zeros(1, 32, dtype=torch.float16, device=DEVICE)
    query[0, 0] = 1.0
    _, rows = similarity_topk(query, matrix, 5, block_n=64)
    assert rows.tolist() == [[0, 1, 2, 3, 4]]
    mask = torch.zeros(300, dtype=torch.bool, device=DEVICE)
    mask[[7, 150, 299]] = True
    scores, rows = similarity_topk(query, matrix, 5, mask=pack_mask(mask), block_n=64)
    assert rows.tolist() == [[7, 150, 299]] and torch.isfinite(scores).all()


@pytest.mark.parametrize("clustered_block", [0, 5])
def test_similarity_topk_rescores_blocks_that_hold_more_of_the_answer(clustered_block: int) -> None:
    """The whole top 30 sits in one block of 64 rows, which keeps only 16 keys: the host re-scores it
    (and, for k = 100, most blocks)."""
    generator = torch.Generator().manual_seed(clustered_block)
    matrix = _unit(torch.randn(512, 32, generator=generator))
    query = _unit(torch.randn(1, 32, generator=generator))
    near = range(clustered_block * 64, clustered_block * 64 + 40)
    matrix[near.start : near.stop] = _unit(query + 0.05 * torch.randn(40, 32, generator=generator))
    matrix, query = matrix.to(DEVICE, torch.float16), query.to(DEVICE, torch.float16)
    mask = torch.ones(512, dtype=torch.bool, device=DEVICE)
    mask[near.start] = False
    for k in (30, 100):
        scores, rows = similarity_topk(query, matrix, k, mask=pack_mask(mask), block_n=64, per_block=16)
        expected_scores, expected_rows = similarity_topk_reference(query, matrix, k, mask=mask)
        torch.testing.assert_close(scores, expected_scores, rtol=2e-3, atol=2e-3)
        assert (rows == expected_rows).float().mean() > 0.97
        assert set(rows[0, :30].tolist()) <= set(near[1:])


@pytest.mark.parametrize("select", [False, True])
def test_similarity_topk_takes_a_mask_per_query(select: bool, monkeypatch: pytest.MonkeyPatch) -> None:
    """A batch of requests, each with its own filter (from all rows to 3 of 1,000), on both paths."""
    from cerebro_serve.engine.kernels import similarity_topk as kernel

    monkeypatch.setattr(kernel, "SAMPLE_ROWS", 128)
    generator = torch.Generator().manual_seed(11)
    matrix = _unit(torch.randn(1000, 32, generator=generator)).to(DEVICE, torch.float16)
    queries = _unit(torch.randn(4, 32, generator=generator)).to(DEVICE, torch.float16)
    shares = torch.tensor([1.0, 0.5, 0.05, 0.003])[:, None]
    masks = (torch.rand(4, 1000, generator=generator) < shares).to(DEVICE)
    scores, rows = similarity_topk(queries, matrix, 40, mask=pack_mask(masks), block_n=128, select=select)
    expected_scores, expected_rows = similarity_topk_reference(queries, matrix, 40, mask=masks)
    assert rows.shape == (4, 40)
    torch.testing.assert_close(scores, expected_scores, rtol=2e-3, atol=2e-3)
    answered = torch.isfinite(expected_scores)  # a query allowing fewer rows reads -inf past them
    assert answered.sum(dim=1).tolist() == [40, 40, min(40, int(masks[2].sum())), int(masks[3].sum())]
    assert (rows[answered] == expected_rows[answered]).float().mean() > 0.97
    assert all(bool(masks[q, rows[q][answered[q]]].all()) for q in range(4))


def test_selecting_path_is_exact_when_the_sample_misleads(monkeypatch: pytest.MonkeyPatch) -> None:
    """Every sampled row is among the best, so the threshold keeps fewer than k rows: the queries it
    failed are answered again by the sorting path, and the answer is still exact."""
    from cerebro_serve.engine.kernels import similarity_topk as kernel

    monkeypatch.setattr(kernel, "SAMPLE_ROWS", 64)
    generator = torch.Generator().manual_seed(12)
    queries = _unit(torch.randn(3, 32, generator=generator))
    matrix = _unit(torch.randn(640, 32, generator=generator))
    matrix[::10] = _unit(queries[0] + 0.01 * torch.randn(64, 32, generator=generator))  # the sampled rows
    matrix, queries = matrix.to(DEVICE, torch.float16), queries.to(DEVICE, torch.float16)
    sorted_again: list[int] = []
    sorting = kernel._sorted

    def counted(queries: torch.Tensor, *rest: object) -> torch.Tensor:
        sorted_again.append(len(queries))
        return sorting(queries, *rest)  # type: ignore[arg-type]  # passed through

    monkeypatch.setattr(kernel, "_sorted", counted)
    scores, rows = similarity_topk(queries, matrix, 100, block_n=128, select=True)
    expected_scores, expected_rows = similarity_topk_reference(queries, matrix, 100)
    torch.testing.assert_close(scores, expected_scores, rtol=2e-3, atol=2e-3)
    assert (rows == expected_rows).float().mean() > 0.97
    assert sorted_again and sorted_again[0] < 3  # only the misled queries went round again


def test_selecting_path_is_chosen_for_deep_batches() -> None:
    from cerebro_serve.engine.kernels.similarity_topk import selects

    assert selects(16, 1000, 10_000_000) and selects(2, 1000, 100_000)
    assert not selects(1, 1000, 10_000_000)  # one query: sorted on the CUDA cores
    assert not selects(16, 10, 10_000_000)  # too shallow for the sample to place a threshold


def test_similarity_topk_refuses_mismatched_shapes() -> None:
    with pytest.raises(ValueError):
        similarity_topk(torch.zeros(2, 8), torch.zeros(10, 16), 3)
    with pytest.raises(ValueError, match="packed bits"):  # a bool mask: a byte per row
        similarity_topk(torch.zeros(2, 8), torch.zeros(10, 8), 3, mask=torch.ones(10, dtype=torch.bool))


def test_a_packed_mask_allows_the_rows_its_bools_did() -> None:
    import numpy as np

    from cerebro_serve.engine.kernels.similarity_topk import allowed_counts, allows

    bools = torch.rand(3, 21, generator=torch.Generator().manual_seed(2)) < 0.5
    packed = pack_mask(bools)
    assert packed.shape == (3, 3) and packed.dtype == torch.uint8
    assert packed.tolist() == np.packbits(bools.numpy(), axis=1, bitorder="little").tolist()
    assert torch.equal(allows(packed, torch.arange(21)), bools)
    assert allowed_counts(packed).tolist() == bools.sum(dim=1).tolist()


def test_mean_pool_normalize_matches_the_reference() -> None:
    generator = torch.Generator().manual_seed(3)
    tokens = torch.randn(4, 37, 384, generator=generator).to(DEVICE, torch.float16)
    mask = torch.ones(4, 37, dtype=torch.int64, device=DEVICE)
    mask[1, 20:] = 0
    mask[3, 1:] = 0  # a one-token text
    out = mean_pool_normalize(tokens, mask)
    torch.testing.assert_close(out, mean_pool_normalize_reference(tokens, mask), rtol=1e-3, atol=1e-3)
    torch.testing.assert_close(out.norm(dim=1), torch.ones(4, device=DEVICE), rtol=1e-4, atol=1e-4)


def test_vector_index_searches_with_the_kernel_like_the_exact_path() -> None:
    import numpy as np

    from cerebro_serve.index.vector_index import VectorIndex

    rng = np.random.default_rng(4)
    vectors = rng.normal(size=(500, 32)).astype(np.float32)
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    plain, accelerated = VectorIndex(32), VectorIndex(32, accelerator=DEVICE)
    for index in (plain, accelerated):
        index.set(np.arange(500), vectors)
    mask = np.arange(500) % 3 != 0
    for query in vectors[:3]:
        expected, found = plain.search(query, 20, mask), accelerated.search(query, 20, mask)
        assert len(set(expected.rows.tolist()) & set(found.rows.tolist())) >= 19  # fp16 may swap a near tie
        np.testing.assert_allclose(found.similarities, vectors[found.rows] @ query, rtol=1e-5)


def test_encoder_with_fused_pooling_matches_sentence_transformers() -> None:
    import numpy as np

    from cerebro_serve.engine.backends.pytorch import SentenceTransformerEncoder
    from cerebro_serve.engine.models import resolve_model_dir

    name, model_dir = resolve_model_dir("all-MiniLM-L6-v2")
    fused = SentenceTransformerEncoder(name, model_dir, fused_pooling=True)
    plain = SentenceTransformerEncoder(name, model_dir, fused_pooling=False)
    assert fused.fused_pooling and not plain.fused_pooling
    texts = ["python backend developer", "intensive care nurse with ten years of triage experience", ""]
    np.testing.assert_allclose(fused.embed_documents(texts), plain.embed_documents(texts), atol=1e-4)


def test_concurrent_searches_share_one_launch() -> None:
    """Searches that queue while a launch is under way go out together, each with its own mask, k and
    row count, and each gets the answer it would have got alone."""
    import threading

    import numpy as np

    from cerebro_serve.index.accelerated_search import AcceleratedSearch

    rng = np.random.default_rng(5)
    vectors = rng.normal(size=(600, 32)).astype(np.float32)
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    search = AcceleratedSearch(32, DEVICE)
    search.set(np.arange(600), vectors)
    asks = [
        (vectors[0], 600, 20, None),
        (vectors[1], 600, 5, np.arange(600) % 2 == 0),
        (vectors[2], 450, 30, None),  # read before the last 150 rows were written
        (vectors[3], 600, 10, np.arange(600) < 4),  # fewer allowed rows than k
    ]
    answers: dict[int, np.ndarray] = {}
    with search._turn:
        search._launching = True  # a launch under way: the searches below queue behind it
    threads = [
        threading.Thread(target=lambda i=i, ask=ask: answers.__setitem__(i, search.search(*ask)))
        for i, ask in enumerate(asks)
    ]
    for thread in threads:
        thread.start()
    while len(search._queue) < len(asks):
        threading.Event().wait(0.01)
    with search._turn:
        search._launching = False
        search._turn.notify_all()
    for thread in threads:
        thread.join(timeout=120)
    assert search.launches == 1
    for i, (query, n, k, mask) in enumerate(asks):
        sims = vectors[:n] @ query
        if mask is not None:
            sims = np.where(mask[:n], sims, -np.inf)
        expected = np.argsort(-sims, kind="stable")[: min(k, int(np.isfinite(sims).sum()))]
        assert len(answers[i]) == len(expected)
        assert len(set(answers[i].tolist()) & set(expected.tolist())) >= len(expected) - 1  # fp16 near ties


def test_a_failed_launch_fails_every_search_in_it(monkeypatch: pytest.MonkeyPatch) -> None:
    import numpy as np

    from cerebro_serve.engine.kernels import similarity_topk as kernel
    from cerebro_serve.index.accelerated_search import AcceleratedSearch

    search = AcceleratedSearch(8, DEVICE)
    search.set(np.arange(10), np.eye(10, 8, dtype=np.float32))

    def out_of_memory(*args: object, **kwargs: object) -> None:
        raise RuntimeError("CUDA out of memory")

    monkeypatch.setattr(kernel, "similarity_topk", out_of_memory)
    with pytest.raises(RuntimeError, match="out of memory"):
        search.search(np.eye(8, dtype=np.float32)[0], 10, 3, None)
    monkeypatch.undo()
    assert search.search(np.eye(8, dtype=np.float32)[0], 10, 3, None).tolist()[0] == 0  # the next launch goes
