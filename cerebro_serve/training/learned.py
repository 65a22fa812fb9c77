"""What a training learned, as a recruiter reads it: which criteria now weigh more or less in the ranking,
which ones now count together (trees it added), whether the reading of job texts was adapted, and the
validation evidence.

A criterion's weight is its share of what separates candidates: over each validation job's pool, the
spread (standard deviation) of the criterion's part of the logit (scoring/attribution.py, exact), divided
by the criteria's spreads summed, averaged over the jobs. A constant shift moves no candidate past
another, so it weighs nothing; a rescaling of the whole fusion leaves every share as it was.

A change is a lesson only where the validation jobs show it: the new version ranks their pools again with
that change undone (a criterion's part of the logit as the previous version counted it; the previous
query adapter or preferred words; without the trees this training added), all else as learnt, and the
average precision it would lose is its effect (mean and standard error over the validation jobs). A
change is claimed where a one-sided t-test over those jobs puts its effect above zero at CONFIDENCE; the
others (weights drift where nothing pins them, and a few jobs can agree by chance) are named apart, as no
lesson.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from scipy import stats

from cerebro_serve.scoring.algorithms import FEATURES, Algorithm
from cerebro_serve.scoring.attribution import Attribution, attribute, logits_of
from cerebro_serve.scoring.explanation import CATEGORIES
from cerebro_serve.scoring.wording import LANGUAGES, Wording
from cerebro_serve.training.validation_pool import ValidationPool

NOTABLE_RATIO = 1.25  # a share that grew or shrank by at least a quarter
NOTABLE_SHARE = 0.02  # and by two points at least: 1% -> 2% is noise, not a lesson
# Average precision over a job's whole pool: every positive's rank counts, so a change shows in it where
# nDCG@10, which moves only when a positive enters or leaves the top 10, stays within noise on a few jobs.
EFFECT_METRIC = "map"
CONFIDENCE = 0.9  # that a change's effect on the validation jobs is above zero, before it is claimed
MAX_COMBINED = 2  # pairs of criteria named as combined by new trees


def what_was_learned(
    previous: Algorithm,
    previous_features: np.ndarray,
    new: Algorithm,
    new_features: np.ndarray,
    pool: ValidationPool,
    as_before: dict[str, np.ndarray],
    new_quality: dict[str, Any],
    previous_quality: dict[str, Any],
) -> dict[str, Any]:
    """`*_features`: the validation pool's pairs (`pool.pairs`) as each version reads them (their query
    spaces differ once an adapter is learnt); `as_before`: those pairs as the new version reads them with
    one part of its query space as the previous version had it ("adapter", "words"; where it changed); the
    qualities from ValidationPool.quality."""
    was_parts, now_parts = attribute(previous, previous_features), attribute(new, new_features)
    before, after = _shares(was_parts, len(pool.jobs)), _shares(now_parts, len(pool.jobs))
    learnt = pool.per_job(now_parts.logits)[EFFECT_METRIC]

    def effect(undone_logits: np.ndarray) -> dict[str, Any]:
        """What the validation jobs would lose with the logits of one change undone."""
        return _effect(learnt, pool.per_job(undone_logits)[EFFECT_METRIC])

    criteria: list[dict[str, Any]] = []
    for name in CATEGORIES:
        was, now = before[name], after[name]
        grew = now >= was * NOTABLE_RATIO and now - was >= NOTABLE_SHARE
        shrank = was >= now * NOTABLE_RATIO and was - now >= NOTABLE_SHARE
        columns = [FEATURES.index(feature) for feature in CATEGORIES[name]]
        counted_as_before = (
            now_parts.logits
            - now_parts.contributions[:, columns].sum(axis=1)
            + was_parts.contributions[:, columns].sum(axis=1)
        )
        criteria.append(
            {
                "criterion": name,
                "share_before": round(was, 4),
                "share_after": round(now, 4),
                "change": "gained" if grew else "lost" if shrank else "unchanged",
                "effect": effect(counted_as_before),
            }
        )
    criteria.sort(key=lambda c: -abs(c["share_after"] - c["share_before"]))
    effects = {part: effect(logits_of(new, features)) for part, features in as_before.items()}
    if new.trees is not None and new.tree_count > previous.tree_count:
        added = new.trees.leaves(new_features)[:, previous.tree_count :].sum(axis=1)
        effects["trees"] = effect(now_parts.logits - added)
    learned: dict[str, Any] = {
        "criteria": criteria,
        "query_adapted": not _same_adapter(previous.adapter, new.adapter),
        "preferred_words": list(new.preferred_words) if new.preferred_terms != previous.preferred_terms else [],
        "combined": _combined(previous, new),
        "effects": effects,  # of the adapter, the preferred words and the new trees, where they changed
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
    """The sentences of a training's `learned` metrics in one of wording.LANGUAGES. Logs stored before
    effects were measured hold none: every change they name reads as shown."""
    wording = Wording(lang)
    sentences: list[str] = []
    unshown: list[str] = []
    effects = learned.get("effects", {})

    def claim(claimed: list[str], effect: dict[str, Any] | None, part: str) -> None:
        if effect is not None and not effect["shown"]:
            unshown.append(part)
            return
        sentences.extend(claimed)
        if effect is not None:
            sentences.append(
                wording.say(
                    "learned.effect",
                    effect=wording.number(effect[EFFECT_METRIC], 3),
                    spread=wording.number(effect["standard_error"], 3),
                )
            )

    changed = [c for c in learned["criteria"] if c["change"] != "unchanged"]
    for criterion in changed:
        label = wording.category(criterion["criterion"])
        said = wording.say(
            f"learned.{criterion['change']}",
            criterion=label,
            after=wording.percent(criterion["share_after"]),
            before=wording.percent(criterion["share_before"]),
        )
        claim([said], criterion.get("effect"), label)
    if not changed:
        sentences.append(wording.say("learned.steady"))
    if learned.get("preferred_words"):
        names = wording.names(learned["preferred_words"])
        claim([wording.say("learned.words", names=names)], effects.get("words"), wording.say("learned.part.words"))
    if learned.get("combined"):
        combined = [
            wording.say(
                "learned.combined",
                names=wording.names([wording.category(name) for name in pair["criteria"]]),
                trees=pair["trees"],
            )
            for pair in learned["combined"]
        ]
        claim(combined, effects.get("trees"), wording.say("learned.part.trees"))
    if learned["query_adapted"]:
        claim([wording.say("learned.adapter")], effects.get("adapter"), wording.say("learned.part.adapter"))
    if unshown:
        sentences.append(wording.say("learned.unshown", names=wording.names(unshown)))
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
    each criterion's label, shares before and after, whether it gained or lost weight, and its effect
    (average precision lost with it undone, ± its standard error; None in logs stored before effects)."""
    wording = Wording(lang if lang in LANGUAGES else "en")
    return {
        "sentences": learning_sentences(learned, wording.lang),
        "criteria": [
            {
                "label": wording.category(c["criterion"]),
                "before": wording.percent(c["share_before"]),
                "after": wording.percent(c["share_after"]),
                "change": c["change"],
                "shown": c.get("effect", {}).get("shown", True),
                "effect": (
                    f"{wording.number(c['effect'][EFFECT_METRIC], 3)} ± "
                    f"{wording.number(c['effect']['standard_error'], 3)}"
                    if "effect" in c
                    else None
                ),
            }
            for c in learned["criteria"]
        ],
    }


def _effect(learnt: np.ndarray, undone: np.ndarray) -> dict[str, Any]:
    """Mean and standard error, over the validation jobs, of the EFFECT_METRIC lost with a change undone,
    and whether it is shown: above zero by a one-sided t-test at CONFIDENCE (one job shows nothing)."""
    lost = learnt - undone
    jobs = len(lost)
    mean = float(lost.mean()) if jobs else 0.0
    spread = float(lost.std(ddof=1) / np.sqrt(jobs)) if jobs > 1 else 0.0
    shown = jobs > 1 and mean > 0 and mean > float(stats.t.ppf(CONFIDENCE, jobs - 1)) * spread
    return {EFFECT_METRIC: round(mean, 4), "standard_error": round(spread, 4), "shown": bool(shown)}


def _shares(attribution: Attribution, jobs: int) -> dict[str, float]:
    parts = attribution.contributions.reshape(jobs, -1, len(FEATURES))
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
    if new.trees is None or new.tree_count <= previous.tree_count:
        return []
    category = {feature: name for name, members in CATEGORIES.items() for feature in members}
    order = list(CATEGORIES)
    pairs: dict[tuple[str, str], int] = {}
    for row in new.trees.tree_features[previous.tree_count :]:
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
