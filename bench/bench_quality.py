"""Ranking quality of our algorithms against BM25 and the raw bi-encoder cosine, on held-out data.

1. rjdb evaluation half (500 jobs, 1,000 resumes never seen by bench/fit_base.py), `cerebro-base`:
   pairwise accuracy (a job's matched resume above its weaker copy) and recall@1 / MRR of the matched
   resume among all 1,000 resumes. Synthetic (GPT-4 written), English.
2. livecareer-dev evaluation half (618 real resumes, 24 categories), `cerebro-match` (profiles/matching):
   category precision@10, each resume against the other 617.
3. ESCO occupations as jobs (our mapping of the 24 livecareer categories to two ESCO v1.1.1 occupations
   each: preferred label, description and essential skills as the job text), `cerebro-base` over the same
   618 resumes: nDCG@10 with relevance = the resume's category is the occupation's category, on the 24
   second occupations (bench/fit_base.py fits on the first ones against the other half's resumes).
BM25 is bm25s (Lucene variant, English stopwords); cosine is the full-text view similarity; our
algorithms run the serving path (cosine candidates, then the native fused re-ranker). No set here pairs
real resumes with real postings under human labels. Usage:

    .venv/bin/python -m bench.bench_quality [--model all-MiniLM-L6-v2]
"""

from __future__ import annotations

import argparse
import platform

import bm25s
import numpy as np

from bench.devdata import load_esco_jobs, load_livecareer, load_rjdb
from cerebro_serve.engine import load_encoder
from cerebro_serve.scoring.algorithms import base_algorithm, matching_algorithm
from cerebro_serve.scoring.rerank import QueryFeatures, rerank


def ndcg_at(scores: np.ndarray, relevant: np.ndarray, k: int = 10) -> float:
    order = np.argsort(-scores, kind="stable")[:k]
    discounts = 1.0 / np.log2(np.arange(2, k + 2))
    ideal = discounts[: min(k, int(relevant.sum()))].sum()
    return float((relevant[order] * discounts[: len(order)]).sum() / ideal) if ideal > 0 else 0.0


def bm25_scores(documents: list[str], queries: list[str]) -> list[np.ndarray]:
    retriever = bm25s.BM25()
    retriever.index(bm25s.tokenize(documents, stopwords="en", show_progress=False), show_progress=False)
    return [
        retriever.get_scores(bm25s.tokenize(q, stopwords="en", show_progress=False, return_ids=False)[0])
        for q in queries
    ]


def fused_scores(
    columns, anchors: list[QueryFeatures], rows: list[np.ndarray], cosines: list[np.ndarray], algorithm
) -> list[np.ndarray]:
    out = []
    for query, candidate_rows, cosine in zip(anchors, rows, cosines):
        ranked = rerank(columns, query, algorithm, candidate_rows, cosine.astype(np.float32), k=len(candidate_rows))
        scores = np.empty(len(candidate_rows), dtype=np.float32)
        scores[ranked.positions] = ranked.scores
        out.append(scores)
    return out


def report(title: str, header: list[str], rows: dict[str, list[float]]) -> None:
    print(f"\n{title}")
    print(f"| method | {' | '.join(header)} |")
    print("|---|" + "---|" * len(header))
    for name, values in rows.items():
        print(f"| {name} | {' | '.join(f'{v:.3f}' for v in values)} |")


def rjdb_quality(encoder) -> None:
    data = load_rjdb(encoder)
    task = data.ranking_task(data.split(1))
    bm25 = bm25_scores([data.resumes.texts[r] for r in task.rows], [data.jobs.texts[j] for j in task.jobs])
    anchors = [QueryFeatures.of(data.jobs.features[j], data.jobs.vectors[j], is_job=True) for j in task.jobs]
    fused = fused_scores(
        data.resumes.columns(), anchors, [task.rows] * len(anchors), task.cosines, base_algorithm(encoder.name)
    )
    metrics = {
        name: list(task.metrics(scores).values())
        for name, scores in (("BM25", bm25), ("cosine", task.cosines), ("cerebro-base", fused))
    }
    report(
        f"rjdb evaluation half: {len(task.jobs)} jobs x {len(task.rows)} resumes",
        ["pairwise accuracy", "recall@1", "MRR"],
        metrics,
    )


def livecareer_quality(encoder) -> None:
    data = load_livecareer(encoder)
    profiles = data.split(1)
    task = data.neighbour_task(profiles)
    texts = [data.resumes.texts[p] for p in profiles]
    bm25_all = bm25_scores(texts, texts)
    bm25 = [np.delete(scores, i) for i, scores in enumerate(bm25_all)]  # each resume against the others
    columns = data.resumes.columns()
    anchors = [QueryFeatures.of(data.resumes.features[a], data.anchors[a], is_job=True) for a in profiles]
    others = [profiles[profiles != a].astype(np.int64) for a in profiles]
    fused = fused_scores(columns, anchors, others, task.cosines, matching_algorithm(encoder.name))
    report(
        f"livecareer-dev evaluation half: {len(profiles)} resumes, each against the others",
        ["category precision@10"],
        {
            name: [task.precision(scores)]
            for name, scores in (("BM25", bm25), ("cosine", task.cosines), ("cerebro-match", fused))
        },
    )

    esco = load_esco_jobs(encoder)
    held_out = np.flatnonzero(esco.variants == 1)  # the fitting script saw only the first occupations
    categories = np.array(data.categories)[profiles]
    relevant = [categories == esco.categories[j] for j in held_out]
    rows = profiles.astype(np.int64)
    cosines = [data.resumes.vectors[rows, 0] @ esco.jobs.vectors[j, 0] for j in held_out]
    bm25 = bm25_scores(texts, [esco.jobs.texts[j] for j in held_out])
    anchors = [QueryFeatures.of(esco.jobs.features[j], esco.jobs.vectors[j], is_job=True) for j in held_out]
    fused = fused_scores(columns, anchors, [rows] * len(held_out), cosines, base_algorithm(encoder.name))
    report(
        f"ESCO occupations as jobs: {len(held_out)} held-out occupations x {len(profiles)} livecareer resumes",
        ["nDCG@10"],
        {
            name: [float(np.mean([ndcg_at(s, r) for s, r in zip(scores, relevant)]))]
            for name, scores in (("BM25", bm25), ("cosine", cosines), ("cerebro-base", fused))
        },
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default="all-MiniLM-L6-v2")
    args = parser.parse_args()
    encoder = load_encoder(args.model, "cpu", "float32", "torch")
    print(f"encoder {encoder.name}; {platform.machine()}")
    rjdb_quality(encoder)
    livecareer_quality(encoder)


if __name__ == "__main__":
    main()
