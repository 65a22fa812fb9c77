"""What a training says it learned: a weight that moved is a lesson only where the validation jobs show it."""

from __future__ import annotations

import dataclasses

import numpy as np

from cerebro_serve.scoring.algorithms import FEATURES, base_algorithm
from cerebro_serve.training.boosting import boosted
from cerebro_serve.training.learned import learning_sentences, what_was_learned
from cerebro_serve.training.trainer import Labelled
from cerebro_serve.training.validation_pool import ValidationPool

JOBS, PROFILES = 8, 60


def _pool_and_features(seed: int) -> tuple[ValidationPool, np.ndarray]:
    """Every feature at random; a job's positives are the 6 profiles with the most experience."""
    rng = np.random.default_rng(seed)
    features = rng.uniform(size=(JOBS, PROFILES, len(FEATURES))).astype(np.float32)
    experience = features[:, :, FEATURES.index("experience_fit")]
    gains = np.zeros((JOBS, PROFILES))
    for job in range(JOBS):
        gains[job, np.argsort(-experience[job])[:6]] = 1.0
    return ValidationPool(list(range(JOBS)), list(range(PROFILES)), gains), features.reshape(-1, len(FEATURES))


def test_only_the_moves_the_validation_jobs_show_are_claimed_as_lessons() -> None:
    """The new version weighs experience (what the positives share) and location (noise) three times more:
    both shares grow, but only experience's effect is shown above zero over the validation jobs."""
    pool, features = _pool_and_features(seed=0)
    base = dataclasses.replace(base_algorithm(), trees=None)
    weights = base.weights.copy()
    for feature in ("experience_fit", "proximity"):
        weights[FEATURES.index(feature)] = 3.0 * max(abs(weights[FEATURES.index(feature)]), 1.0)
    new = dataclasses.replace(base, weights=weights)
    quality = {"jobs": JOBS, "profiles": PROFILES, "ndcg@10": 0.5, "precision@10": 0.5, "map": 0.5}

    learned = what_was_learned(base, features, new, features, pool, {}, quality, quality)

    by_name = {c["criterion"]: c for c in learned["criteria"]}
    experience, location = by_name["experience"], by_name["location"]
    assert experience["change"] == location["change"] == "gained"
    assert experience["effect"]["shown"] is True
    assert experience["effect"]["map"] > experience["effect"]["standard_error"] > 0
    assert not location["effect"]["shown"] and location["effect"]["map"] < 0
    summary = learned["summary"]
    assert any(s.startswith("Experience gained weight") for s in summary)
    assert not any(s.startswith("Location gained weight") for s in summary)
    assert summary[summary.index(next(s for s in summary if s.startswith("Experience"))) + 1].startswith(
        "Without this change, the validation jobs' average precision would be 0."
    )
    assert any(s.startswith("Also changed, with no effect beyond noise") and "Location" in s for s in summary)
    for lang, moved in (("fr", "Ont aussi changé"), ("es", "También cambiaron"), ("de", "Ebenfalls geändert")):
        sentences = learning_sentences(learned, lang)
        assert len(sentences) == len(summary) and any(moved in s for s in sentences), sentences


def test_new_trees_are_claimed_only_where_the_validation_jobs_show_them() -> None:
    """Trees boosted on what the positives share (experience) are claimed, with the criteria they combine;
    trees boosted on ratings at random are named as no lesson."""
    pool, features = _pool_and_features(seed=1)
    base = dataclasses.replace(base_algorithm(), trees=None)
    quality = {"jobs": JOBS, "profiles": PROFILES, "ndcg@10": 0.5, "precision@10": 0.5, "map": 0.5}
    fitting = (pool.gains.reshape(-1) > 0).astype(np.float64)
    at_random = np.random.default_rng(2).permutation(fitting)
    for labels, claimed in ((fitting, True), (at_random, False)):
        new = boosted(base, Labelled(features, labels, np.ones(len(labels))), 10)
        learned = what_was_learned(base, features, new, features, pool, {}, quality, quality)
        assert learned["effects"]["trees"]["shown"] is claimed, learned["effects"]
        summary = learned["summary"]
        assert any("now count together" in s for s in summary) is claimed, summary
        assert any(s.startswith("Also changed") and "the new decision trees" in s for s in summary) is not claimed


def test_a_log_stored_before_effects_were_measured_reads_as_it_did() -> None:
    """Versions trained before effects were measured stored criteria without them: every change is named."""
    learned = {
        "criteria": [{"criterion": "location", "share_before": 0.05, "share_after": 0.2, "change": "gained"}],
        "query_adapted": False,
        "evidence": {},
    }
    assert learning_sentences(learned, "en") == [
        "Location gained weight: 20% of what separates one candidate from another, against 5% before."
    ]
