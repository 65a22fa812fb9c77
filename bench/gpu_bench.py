"""GPU benchmarks, one command that fits in 10 minutes on one H100/H200 (the device machine):

1. the fused similarity + top-k kernel over a 10M x 384 fp16 pool, against the HBM bound (bytes read /
   the card's measured copy bandwidth) and against PyTorch (matmul writing the full score matrix, then
   torch.topk), for 1 and 16 queries and k = 10 and 1,000 (the re-rank depth);
2. a 10M-pool scoring call: the kernel's 1,000 candidates, then the native fused re-ranker on the CPU;
3. encoder throughput (tokens/s) for the bundled MiniLM: sentence-transformers' own path against the
   transformer + fused pooling kernel path, fp16, batches of 256 texts of ~200 tokens.

Results go to $OUT/gpu_bench.json (or --out) and stdout. `--smoke` runs tiny sizes on the CPU under the
Triton interpreter, to check the script itself on machines without a GPU.

    python -m bench.gpu_bench [--rows 10000000] [--smoke]
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

import numpy as np


def timed(fn, repeats: int, synchronize) -> list[float]:  # type: ignore[no-untyped-def]
    fn()
    synchronize()
    samples = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        synchronize()
        samples.append((time.perf_counter() - start) * 1000)
    return samples


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=10_000_000)
    parser.add_argument("--dim", type=int, default=384)
    parser.add_argument("--repeats", type=int, default=20)
    parser.add_argument("--smoke", action="store_true")
    parser.add_argument("--out", type=Path, default=Path(os.environ.get("OUT", ".")) / "gpu_bench.json")
    args = parser.parse_args()
    if args.smoke:
        os.environ["TRITON_INTERPRET"] = "1"
        args.rows, args.repeats = 4096, 2
    import torch

    from cerebro_serve.engine.kernels.similarity_topk import similarity_topk

    device = "cpu" if args.smoke else "cuda"
    if device == "cuda" and not torch.cuda.is_available():
        sys.exit("no CUDA device: run with --smoke to check the script on a CPU")
    synchronize = torch.cuda.synchronize if device == "cuda" else (lambda: None)
    results: dict[str, object] = {"device": torch.cuda.get_device_name() if device == "cuda" else "cpu (interpreter)",
                                  "rows": args.rows, "dim": args.dim}
    generator = torch.Generator(device=device).manual_seed(0)
    matrix = torch.randn(args.rows, args.dim, device=device, generator=generator, dtype=torch.float16)
    matrix /= matrix.float().norm(dim=1, keepdim=True).half()
    pool_bytes = matrix.numel() * matrix.element_size()

    # The practical bound: this card's copy bandwidth (a copy reads and writes each byte once).
    scratch = torch.empty_like(matrix)
    copy_ms = float(np.median(timed(lambda: scratch.copy_(matrix), args.repeats, synchronize)))
    bandwidth = 2 * pool_bytes / (copy_ms / 1000)
    del scratch
    results["copy_bandwidth_gb_s"] = round(bandwidth / 1e9, 1)
    results["bound_ms_one_pass"] = round(pool_bytes / bandwidth * 1000, 3)

    kernel_rows = []
    for n_queries in (1, 16):
        queries = torch.randn(n_queries, args.dim, device=device, generator=generator, dtype=torch.float16)
        for k in (10, 1000):
            k = min(k, args.rows)
            ours = timed(lambda: similarity_topk(queries, matrix, k), args.repeats, synchronize)
            try:
                torch_ms = timed(lambda: torch.topk(queries @ matrix.T, k, dim=1), args.repeats, synchronize)
            except torch.OutOfMemoryError:
                torch_ms = [float("nan")]
            got, expected = similarity_topk(queries, matrix, k)[1], torch.topk((queries @ matrix.T).float(), k).indices
            agreement = float((got[:, :10] == expected[:, :10]).float().mean())
            kernel_rows.append({
                "queries": n_queries, "k": k,
                "kernel_ms_p50": round(float(np.median(ours)), 3),
                "torch_matmul_topk_ms_p50": round(float(np.median(torch_ms)), 3),
                "kernel_vs_bound": round(float(np.median(ours)) / (pool_bytes / bandwidth * 1000), 2),
                "top10_agreement_with_torch": round(agreement, 3),
            })
    results["similarity_topk"] = kernel_rows

    # A 10M-pool scoring call: GPU candidates, CPU fused re-ranking (its cost does not grow with the pool).
    rerank_ms = rerank_latency(args.dim, args.repeats)
    query = torch.randn(1, args.dim, device=device, generator=generator, dtype=torch.float16)
    candidates_ms = float(np.median(timed(lambda: similarity_topk(query, matrix, 1000), args.repeats, synchronize)))
    results["scoring_10m"] = {"candidates_ms_p50": round(candidates_ms, 3), "rerank_1000_ms_p50": rerank_ms}
    del matrix

    results["encoder"] = encoder_throughput(device, args.smoke)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(results, indent=2))
    print(json.dumps(results, indent=2))


def rerank_latency(dim: int, repeats: int) -> float:
    """The native fused re-ranker over 1,000 candidates of a random 100k-row feature table (p50 ms)."""
    from cerebro_serve.index.columns import FeatureColumns, quantize_rows
    from cerebro_serve.scoring.algorithms import base_algorithm
    from cerebro_serve.scoring.rerank import QueryFeatures, rerank

    rng = np.random.default_rng(0)
    n = 100_000
    views = rng.normal(size=(n, dim)).astype(np.float32)
    views /= np.linalg.norm(views, axis=1, keepdims=True)
    codes, scales = quantize_rows(views, np.ones(n, dtype=bool))
    skill_counts, term_counts = rng.integers(0, 20, n), rng.integers(50, 300, n)
    rows = {"record_ids": np.arange(n), "alive": np.ones(n, dtype=bool), "title": codes, "title_scale": scales,
            "skills": codes, "skills_scale": scales, "years": rng.uniform(0, 20, n).astype(np.float32),
            "education": rng.integers(0, 6, n).astype(np.int8), "languages": rng.integers(0, 8, n),
            "lat": rng.uniform(40, 50, n).astype(np.float32), "lng": rng.uniform(0, 10, n).astype(np.float32),
            "term_length": (term_counts * 2).astype(np.float32)}
    skills = (skill_counts, np.sort(rng.integers(0, 20_000, int(skill_counts.sum()))), np.ones(int(skill_counts.sum())))
    terms = (term_counts, rng.integers(0, 2**31, int(term_counts.sum())), np.ones(int(term_counts.sum())))
    columns = FeatureColumns.from_arrays(dim, rows, skills, terms).snapshot()
    query = QueryFeatures(views[0], views[1], np.arange(15, dtype=np.uint32), np.ones(15, dtype=np.float32), 5.0, 3,
                          1, 45.0, 5.0, np.sort(rng.integers(0, 2**31, 200)).astype(np.uint32),
                          np.ones(200, dtype=np.uint8), 400.0, True)
    candidates = rng.choice(n, 1000, replace=False).astype(np.int64)
    cosine = rng.uniform(0, 1, 1000).astype(np.float32)
    samples = timed(lambda: rerank(columns, query, base_algorithm(), candidates, cosine, 10), repeats, lambda: None)
    return round(float(np.median(samples)), 3)


def encoder_throughput(device: str, smoke: bool) -> dict[str, object]:
    import torch

    from cerebro_serve.engine.encoder import SentenceTransformerEncoder, resolve_model_dir

    name, model_dir = resolve_model_dir("all-MiniLM-L6-v2")
    sentence = "Senior backend engineer building Python services, PostgreSQL, Kubernetes and CI pipelines. "
    texts = [f"{i} " + sentence * 7 for i in range(16 if smoke else 4096)]
    out: dict[str, object] = {}
    for label, fused in (("sentence_transformers", False), ("fused_pooling_kernel", True)):
        encoder = SentenceTransformerEncoder(name, model_dir, device=device, batch_size=256, fused_pooling=fused)
        if device == "cuda":
            encoder._model.half()
        pieces, _, tokens = encoder.prepare(texts)
        encoder.encode_pieces(pieces[:256])
        if device == "cuda":
            torch.cuda.synchronize()
        start = time.perf_counter()
        encoder.encode_pieces(pieces)
        if device == "cuda":
            torch.cuda.synchronize()
        seconds = time.perf_counter() - start
        out[label] = {"texts_per_s": round(len(pieces) / seconds, 1), "tokens_per_s": round(sum(tokens) / seconds)}
    return out


if __name__ == "__main__":
    main()
