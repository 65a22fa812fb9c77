"""Ranking quality of `cerebro-base` against BM25 and the raw bi-encoder cosine, on held-out data.

rjdb evaluation half (500 jobs, 1,000 resumes never seen by bench/fit_base.py): for each job,
- pairwise accuracy: its matched resume scores above its weaker copy (skills removed, experience cut);
- recall@1 and MRR: rank all 1,000 held-out resumes; is the matched resume first?
BM25 is bm25s (Lucene variant, English stopwords) with the job text as the query; cosine is the full-text
view similarity; cerebro-base is the serving path (cosine top-1000, then the native fused re-ranker).
The data are synthetic (GPT-4 written), English only; see ../shared/data/pairs/rjdb/SOURCE.md. Usage:

    .venv/bin/python -m bench.bench_quality [--model all-MiniLM-L6-v2]
"""

from __future__ import annotations

import argparse
import platform

import bm25s
import numpy as np

from bench.devdata import load_rjdb
from cerebro_serve.engine import load_encoder
from cerebro_serve.scoring.algorithms import base_algorithm
from cerebro_serve.scoring.rerank import QueryFeatures, rerank


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default="all-MiniLM-L6-v2")
    args = parser.parse_args()
    encoder = load_encoder(args.model, "cpu")
    data = load_rjdb(encoder)
    task = data.ranking_task(data.split(1))
    jobs, resume_rows = task.jobs, task.rows

    retriever = bm25s.BM25()
    retriever.index(bm25s.tokenize([data.resumes.texts[r] for r in resume_rows], stopwords="en", show_progress=False),
                    show_progress=False)
    bm25 = [retriever.get_scores(bm25s.tokenize(data.jobs.texts[job], stopwords="en", show_progress=False,
                                                return_ids=False)[0]) for job in jobs]

    columns = data.resumes.columns()
    algorithm = base_algorithm()
    fused = []
    for job, sims in zip(jobs, task.cosines):
        query = QueryFeatures.of(data.jobs.features[job], data.jobs.vectors[job], is_job=True)
        ranked = rerank(columns, query, algorithm, resume_rows, sims, k=len(resume_rows))
        scores = np.empty(len(resume_rows), dtype=np.float32)
        scores[ranked.positions] = ranked.scores
        fused.append(scores)

    print(f"rjdb evaluation half: {len(jobs)} jobs x {len(resume_rows)} resumes; encoder {encoder.name}; "
          f"{platform.processor() or platform.machine()}")
    print(f"{'method':<14}{'pairwise acc':>14}{'recall@1':>10}{'MRR':>8}")
    for name, rows in (("BM25", bm25), ("cosine", task.cosines), ("cerebro-base", fused)):
        metrics = task.metrics(rows)
        print(f"{name:<14}{metrics['pairwise_accuracy']:>14.3f}{metrics['recall@1']:>10.3f}{metrics['mrr']:>8.3f}")


if __name__ == "__main__":
    main()
