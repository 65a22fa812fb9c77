"""Fine-tuning on a customer's feedback: does a trained `cerebro-trainable` version rank held-back jobs
better than `cerebro-base`?

Feedback is built from development data as a customer would send it, as ratings on what their recruiters
were shown (the base's top results plus a few random profiles), then goes through the server's own
training pipeline (training/pipeline.py: consent, anonymisation, features and embeddings of the
anonymised records, split, balancing, adapter, fusion, metrics). The trained version is then evaluated,
like `cerebro-base`, on jobs whose feedback it never saw, over their whole candidate pool, with the
served (stored, non-anonymised) vectors and features.

1. rjdb evaluation half (500 jobs that bench/fit_base.py never saw): ratings for 250 of them, each
   rated on its matched resume (1.0), its weaker copy (0.4) and the 3 other resumes the base ranks
   highest (0.2); evaluated on the other 250 jobs against their 500 resumes: pairwise accuracy,
   recall@1 and MRR of the matched resume, nDCG@10 (matched 2, weaker 1), AUC of the matched resume.
2. ESCO occupations as jobs against livecareer resumes: ratings for the 24 first occupations (those
   bench/fit_base.py fitted on) on their base top 40 and 10 random among the fitting-half resumes, 0.9
   when the resume's category is the occupation's, else 0.1; evaluated on the 24 second occupations
   against the 618 evaluation-half resumes: nDCG@10 by category, as bench/bench_quality.py reports it,
   and the AUC of same-category resumes, both averaged over the occupations.

Usage: .venv/bin/python -m bench.bench_training [--model all-MiniLM-L6-v2]
"""

from __future__ import annotations

import argparse
import platform
import time
from collections.abc import Callable, Sequence

import numpy as np
from sklearn import metrics

from bench.bench_quality import ndcg_at, report
from bench.devdata import Side, load_esco_jobs, load_livecareer, load_rjdb
from cerebro_serve.engine import load_encoder
from cerebro_serve.engine.views import embed_views, head_tokens, view_texts
from cerebro_serve.index.columns import ColumnArrays
from cerebro_serve.parsing.jobs import parse_job
from cerebro_serve.parsing.resume import parse_resume
from cerebro_serve.parsing.taxonomy import default_lexicon
from cerebro_serve.scoring.algorithms import Algorithm, base_algorithm
from cerebro_serve.scoring.features import FeatureExtractor
from cerebro_serve.scoring.rerank import QueryFeatures, rerank
from cerebro_serve.scoring.resemblance import Exemplars
from cerebro_serve.store.learning import FeedbackRow
from cerebro_serve.training.dataset import WorkflowLog
from cerebro_serve.training.pipeline import fit_version, labelled_pairs, prepare, record_ids

JOB_IDS = 1_000_000  # job record ids start here; profile ids are resume indexes


_COLUMNS: dict[int, ColumnArrays] = {}


def _columns(pool: Side) -> ColumnArrays:
    if id(pool) not in _COLUMNS:
        _COLUMNS[id(pool)] = pool.columns()
    return _COLUMNS[id(pool)]


def served_scores(
    algorithm: Algorithm, jobs: Side, job: int, pool: Side, rows: np.ndarray, rated: Exemplars | None = None
) -> np.ndarray:
    """Scores of pool rows for one job, as the server computes them (adapted cosine, preferred words, the
    candidates rated for the job, native re-ranker)."""
    query = QueryFeatures.of(jobs.features[job], jobs.vectors[job], True, algorithm.preferred_terms, rated)
    cosine = (pool.vectors[rows, 0] @ algorithm.adapt(jobs.vectors[job, 0], is_job=True)).astype(np.float32)
    ranked = rerank(_columns(pool), query, algorithm, rows.astype(np.int64), cosine, k=len(rows))
    scores = np.empty(len(rows), dtype=np.float32)
    scores[ranked.positions] = ranked.scores
    return scores


class Records:
    """What the pipeline reads: parsed records by id (`placed` may set where each one is), and their
    features and views embedded afresh; a record's views are embedded once per run (its anonymised text
    is the same at every training)."""

    def __init__(self, encoder, resumes: Sequence[str], jobs: Sequence[str], placed=None) -> None:
        self.encoder, self.resumes, self.jobs = encoder, resumes, jobs
        self.placed = placed or (lambda record_id, record: record)
        self.lexicon = default_lexicon()
        self.extractor = FeatureExtractor()
        self.embedded: dict[int, np.ndarray] = {}

    def load(self, ids: list[int]) -> dict:
        return {
            i: self.placed(
                i,
                parse_job(self.jobs[i - JOB_IDS], self.lexicon)
                if i >= JOB_IDS
                else parse_resume(self.resumes[i], self.lexicon),
            )
            for i in ids
        }

    def describe(self, records: dict) -> dict:
        ids = sorted(records)
        features = {i: self.extractor.of(records[i]) for i in ids}
        fresh = [i for i in ids if i not in self.embedded]
        texts = [view_texts(records[i], features[i].title, features[i].skills_text) for i in fresh]
        heads = [head_tokens(records[i]) for i in fresh]
        self.embedded.update(zip(fresh, embed_views(self.encoder, texts, heads)))
        return {i: (self.embedded[i], features[i]) for i in ids}


def rating(profile: int, job: int, score: float) -> FeedbackRow:
    return event(profile, job, "rating", score, None, f"{profile}-{job}")


def event(
    profile: int, job: int, kind: str, score: float | None, action: str | None, key: str, at_us: int = 0
) -> FeedbackRow:
    """A recruiter's rating or tracking of a (profile index, job index) pair, as the store returns it."""
    return FeedbackRow(
        key=key,
        kind=kind,
        role="recruiter",
        score=score,
        action=action,
        source_key="s",
        profile_id=profile,
        board_key="b",
        job_id=JOB_IDS + job,
        author_email=None,
        comment=None,
        created_at_us=at_us,
        fingerprint=key,
    )


def train(records: Records, rows: list[FeedbackRow]) -> tuple[Algorithm, dict, float]:
    started = time.perf_counter()
    workflow = WorkflowLog()
    pairs = labelled_pairs(rows, "rating", None, workflow)
    prepared = prepare(pairs, records.load(record_ids(pairs)), workflow)
    result = fit_version(base_algorithm(), prepared, records.describe(prepared.records), workflow, lambda p: False)
    return result.algorithm, result.metrics, time.perf_counter() - started


def print_training(trained: dict, seconds: float) -> None:
    inner, previous = trained["validation"], trained["previous_validation"]
    steps = {step["step"]: step for step in trained["workflow"]}
    print(f"training: {seconds:.0f} s; pairs {steps['split by job and profile']}; adapter {trained['adapter']}")
    print(
        f"inner validation AUC {inner['auc']:.3f} (base {previous['auc']:.3f}), nDCG@10 {inner['ndcg@10']:.3f} "
        f"(base {previous['ndcg@10']:.3f}), {len(trained['loss_curve'])} iterations"
    )


def rjdb_scenario(encoder) -> None:
    data = load_rjdb(encoder)
    evaluation = data.split(1)
    feedback_jobs, held_back = evaluation[0::2], evaluation[1::2]
    base = base_algorithm()
    pool = np.sort(np.concatenate([2 * feedback_jobs, 2 * feedback_jobs + 1]))
    rows = []
    for job in feedback_jobs:
        rows += [rating(2 * job, job, 1.0), rating(2 * job + 1, job, 0.4)]
        others = pool[(pool // 2) != job]
        scores = served_scores(base, data.jobs, job, data.resumes, others)
        rows += [rating(int(p), job, 0.2) for p in others[np.argsort(-scores)[:3]]]
    records = Records(encoder, data.resumes.texts, data.jobs.texts)
    tuned, trained, seconds = train(records, rows)
    print(f"\nrjdb: {len(rows)} ratings on {len(feedback_jobs)} jobs")
    print_training(trained, seconds)
    candidates = np.sort(np.concatenate([2 * held_back, 2 * held_back + 1]))
    results = {}
    for name, algorithm in (("cerebro-base", base), ("fine-tuned", tuned)):
        pairwise, first, reciprocal, ndcg, auc = [], [], [], [], []
        for job in held_back:
            scores = served_scores(algorithm, data.jobs, job, data.resumes, candidates)
            good, bad = np.searchsorted(candidates, 2 * job), np.searchsorted(candidates, 2 * job + 1)
            rank = 1 + int(np.sum(scores > scores[good]))
            pairwise.append(scores[good] > scores[bad])
            first.append(rank == 1)
            reciprocal.append(1 / rank)
            relevance = np.zeros(len(candidates))
            relevance[good], relevance[bad] = 2, 1
            ndcg.append(metrics.ndcg_score([relevance], [scores], k=10))
            auc.append(metrics.roc_auc_score(relevance == 2, scores))
        results[name] = [float(np.mean(v)) for v in (pairwise, first, reciprocal, ndcg, auc)]
    report(
        f"rjdb held-back: {len(held_back)} jobs x {len(candidates)} resumes",
        ["pairwise accuracy", "recall@1", "MRR", "nDCG@10 (matched 2, weaker 1)", "AUC (matched)"],
        results,
    )


def esco_scenario(encoder) -> None:
    livecareer, esco = load_livecareer(encoder), load_esco_jobs(encoder)
    categories = np.array(livecareer.categories)
    fitting, evaluation = livecareer.split(0), livecareer.split(1)
    base = base_algorithm()
    rng = np.random.default_rng(0)
    rows = []
    feedback_jobs = np.flatnonzero(esco.variants == 0)
    for job in feedback_jobs:
        scores = served_scores(base, esco.jobs, job, livecareer.resumes, fitting)
        shown = set(fitting[np.argsort(-scores)[:40]].tolist()) | set(rng.choice(fitting, 10, replace=False).tolist())
        rows += [rating(p, job, 0.9 if categories[p] == esco.categories[job] else 0.1) for p in sorted(shown)]
    records = Records(encoder, livecareer.resumes.texts, esco.jobs.texts)
    tuned, trained, seconds = train(records, rows)
    print(f"\nESCO -> livecareer: {len(rows)} ratings on {len(feedback_jobs)} occupations")
    print_training(trained, seconds)
    held_back = np.flatnonzero(esco.variants == 1)
    results = {}
    for name, algorithm in (("cerebro-base", base), ("fine-tuned", tuned)):
        ndcg, auc = [], []
        for job in held_back:
            scores = served_scores(algorithm, esco.jobs, job, livecareer.resumes, evaluation)
            relevant = categories[evaluation] == esco.categories[job]
            ndcg.append(ndcg_at(scores, relevant))
            auc.append(metrics.roc_auc_score(relevant, scores))
        results[name] = [float(np.mean(ndcg)), float(np.mean(auc))]
    report(
        f"ESCO held-back: {len(held_back)} occupations x {len(evaluation)} resumes",
        ["nDCG@10", "AUC (same category)"],
        results,
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default="all-MiniLM-L6-v2")
    parser.add_argument("--only", choices=["rjdb", "esco"])
    args = parser.parse_args()
    encoder = load_encoder(args.model, "cpu", "float32", "torch")
    print(f"encoder {encoder.name}; {platform.machine()}, {platform.processor() or 'cpu'}")
    scenarios: dict[str, Callable] = {"rjdb": rjdb_scenario, "esco": esco_scenario}
    for name, scenario in scenarios.items():
        if args.only in (None, name):
            scenario(encoder)


if __name__ == "__main__":
    main()
