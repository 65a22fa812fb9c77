"""Words a workspace's recruiters reward in a profile beyond what the job's text asks.

A job's words already reach the ranking (the keyword feature); a recruiter who also wants, say, Excel in
every hire's resume, though no job ad names it, leaves a trace in the feedback: among the candidates of
each job, those whose text holds the word are rated well more often than those whose text does not.
Each word the job's text does not hold is tested job by job (the Cochran-Mantel-Haenszel test over the
jobs' 2x2 tables, so a word that merely comes with an occupation, and so with the jobs where its people
were shown, does not pass for a preference), at a z that stays rare by chance over the thousands of words
tested. The words kept become the algorithm's preferred words, a feature the fine-tune may weigh (and the
validation pool judge) like any other.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence

import numpy as np

from cerebro_serve.record_features import RecordFeatures
from cerebro_serve.training.dataset import Pair

MAX_WORDS = 10
MIN_PROFILES = 5  # positive profiles that hold the word, at least
MIN_Z = 5.0  # one-sided; about 3 in 10 million by chance, so ~0.003 false words over 10,000 tested


def preferred_terms(pairs: Sequence[Pair], features: dict[int, RecordFeatures]) -> list[int]:
    """The term ids (scoring/features.py term_hash) the labels reward, most significant first; `features`
    by record id."""
    by_job: dict[int, list[Pair]] = defaultdict(list)
    for pair in pairs:
        by_job[pair.job_id].append(pair)
    observed: dict[int, float] = defaultdict(float)
    expected: dict[int, float] = defaultdict(float)
    variance: dict[int, float] = defaultdict(float)
    holders: dict[int, set[int]] = defaultdict(set)
    for job, candidates in by_job.items():
        total, positives = len(candidates), sum(p.label for p in candidates)
        if total < 2 or positives in (0, total):
            continue  # a job whose candidates all share one label says nothing about a word
        asked = set(features[job].terms)
        holding: dict[int, list[Pair]] = defaultdict(list)
        for pair in candidates:
            for term in set(features[pair.profile_id].terms) - asked:
                holding[term].append(pair)
        for term, held_by in holding.items():
            held = len(held_by)
            observed[term] += sum(p.label for p in held_by)
            expected[term] += positives * held / total
            variance[term] += positives * (total - positives) * held * (total - held) / (total**2 * (total - 1))
            holders[term].update(p.profile_id for p in held_by if p.label)
    scored = []
    for term, count in observed.items():
        if len(holders[term]) < MIN_PROFILES or variance[term] <= 0:
            continue
        z = (count - expected[term]) / np.sqrt(variance[term])
        if z >= MIN_Z:
            scored.append((z, term))
    return [term for _, term in sorted(scored, reverse=True)[:MAX_WORDS]]
