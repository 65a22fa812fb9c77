"""What a training learned, as a recruiter reads it: which criteria now weigh more or less in the ranking,
which ones now count together (trees it added), whether the reading of job texts was adapted, and the
validation evidence.

A criterion's weight is its share of what separates candidates: over each validation job's pool, the
spread (standard deviation) of the criterion's part of the logit (scoring/attribution.py, exact), divided
by the criteria's spreads summed, averaged over the jobs. A constant shift moves no candidate past
another, so it weighs nothing; a rescaling of the whole fusion leaves every share as it was.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from cerebro_serve.scoring.algorithms import FEATURES, Algorithm
from cerebro_serve.scoring.attribution import attribute
from cerebro_serve.scoring.explanation import CATEGORIES
from cerebro_serve.scoring.wording import LANGUAGES, Wording

NOTABLE_RATIO = 1.25  # a share that grew or shrank by at least a quarter
NOTABLE_SHARE = 0.02  # and by two points at least: 1% -> 2% is noise, not a lesson
MAX_COMBINED = 2  # pairs of criteria named as combined by new trees


def what_was_learned(
    previous: Algorithm,
    previous_features: np.ndarray,
    new: Algorithm,
    new_features: np.ndarray,
    jobs: int,
    new_quality: dict[str, Any],
    previous_quality: dict[str, Any],
) -> dict[str, Any]:
    """`*_features`: the validation pool's pairs (`jobs` x its profiles, job by job) as each version reads
    them (their query spaces differ once an adapter is learnt); the qualities from ValidationPool.quality."""
    before, after = _shares(previous, previous_features, jobs), _shares(new, new_features, jobs)
    criteria: list[dict[str, Any]] = []
    for name in CATEGORIES:
        was, now = before[name], after[name]
        grew = now >= was * NOTABLE_RATIO and now - was >= NOTABLE_SHARE
        shrank = was >= now * NOTABLE_RATIO and was - now >= NOTABLE_SHARE
        change = "gained" if grew else "lost" if shrank else "unchanged"
        criteria.append(
            {"criterion": name, "share_before": round(was, 4), "share_after": round(now, 4), "change": change}
        )
    criteria.sort(key=lambda c: -abs(c["share_after"] - c["share_before"]))
    learned: dict[str, Any] = {
        "criteria": criteria,
        "query_adapted": not _same_adapter(previous.adapter, new.adapter),
        "preferred_words": list(new.preferred_words) if new.preferred_terms != previous.preferred_terms else [],
        "combined": _combined(previous, new),
        "evidence": {
            "jobs": new_quality.get("jobs"),
            "profiles": new_quality.get("profiles"),
            **{
                metric: {"before": previous_quality.get(metric), "after": new_quality.get(metric)}
                for metric in ("ndcg@10", "precision@10", "map")
            },
        },
    }
    learned["summary"] = learning_sentences(learned, "en")
    return learned


def learning_sentences(learned: dict[str, Any], lang: str) -> list[str]:
    """The sentences of a training's `learned` metrics in one of wording.LANGUAGES."""
    wording = Wording(lang)
    sentences = []
    changed = [c for c in learned["criteria"] if c["change"] != "unchanged"]
    for criterion in changed:
        sentences.append(
            wording.say(
                f"learned.{criterion['change']}",
                criterion=wording.category(criterion["criterion"]),
                after=wording.percent(criterion["share_after"]),
                before=wording.percent(criterion["share_before"]),
            )
        )
    if not changed:
        sentences.append(wording.say("learned.steady"))
    if learned.get("preferred_words"):
        sentences.append(wording.say("learned.words", names=wording.names(learned["preferred_words"])))
    for combined in learned.get("combined", []):
        names = wording.names([wording.category(name) for name in combined["criteria"]])
        sentences.append(wording.say("learned.combined", names=names, trees=combined["trees"]))
    if learned["query_adapted"]:
        sentences.append(wording.say("learned.adapter"))
    evidence = learned["evidence"]
    if evidence.get("jobs") and evidence.get("ndcg@10", {}).get("after") is not None:
        sentences.append(
            wording.say(
                "learned.evidence",
                jobs=evidence["jobs"],
                profiles=evidence["profiles"],
                ndcg_after=wording.number(evidence["ndcg@10"]["after"]),
                ndcg_before=wording.number(evidence["ndcg@10"]["before"] or 0.0),
                precision_after=wording.percent(evidence["precision@10"]["after"] or 0.0),
                precision_before=wording.percent(evidence["precision@10"]["before"] or 0.0),
            )
        )
    return sentences


def learning_view(learned: dict[str, Any], lang: str) -> dict[str, Any]:
    """What a page shows of it in `lang` (English where there are no sentences in it): the sentences, and
    each criterion's label, shares before and after, and whether it gained or lost weight."""
    wording = Wording(lang if lang in LANGUAGES else "en")
    return {
        "sentences": learning_sentences(learned, wording.lang),
        "criteria": [
            {
                "label": wording.category(c["criterion"]),
                "before": wording.percent(c["share_before"]),
                "after": wording.percent(c["share_after"]),
                "change": c["change"],
            }
            for c in learned["criteria"]
        ],
    }


def _shares(algorithm: Algorithm, features: np.ndarray, jobs: int) -> dict[str, float]:
    parts = attribute(algorithm, features).contributions.reshape(jobs, -1, len(FEATURES))
    column = {feature: index for index, feature in enumerate(FEATURES)}
    spreads = {
        name: np.std(parts[:, :, [column[f] for f in members]].sum(axis=2), axis=1)
        for name, members in CATEGORIES.items()
    }
    total = np.maximum(sum(spreads.values()), 1e-12)
    return {name: float(np.mean(spread / total)) for name, spread in spreads.items()}


def _combined(previous: Algorithm, new: Algorithm) -> list[dict[str, Any]]:
    """The pairs of criteria the trees this training added split on together (training/boosting.py appends
    them after the previous version's), most trees first: where one criterion counts depending on another."""
    before = len(previous.trees.roots) if previous.trees is not None else 0
    if new.trees is None or len(new.trees.roots) <= before:
        return []
    category = {feature: name for name, members in CATEGORIES.items() for feature in members}
    order = list(CATEGORIES)
    pairs: dict[tuple[str, str], int] = {}
    for row in new.trees.tree_features[before:]:
        names = sorted({category[FEATURES[f]] for f in row if f >= 0}, key=order.index)
        for position, first in enumerate(names):
            for second in names[position + 1 :]:
                pairs[first, second] = pairs.get((first, second), 0) + 1
    ranked = sorted(pairs.items(), key=lambda item: -item[1])[:MAX_COMBINED]
    return [{"criteria": list(names), "trees": trees} for names, trees in ranked]


def _same_adapter(previous: np.ndarray | None, new: np.ndarray | None) -> bool:
    if previous is None or new is None:
        return previous is None and new is None
    return previous.shape == new.shape and bool(np.array_equal(previous, new))
