"""An explanation of one score: the logit taken apart feature by feature (scoring/attribution.py), grouped
into the criteria a person reads, each with its facts (scoring/facts.py) and a sentence (scoring/wording.py).

The numbers are the computation that produced the score, not a model of it: the reference logit plus the
categories' contributions is the logit, and `score` is what the re-ranker returned for the same features.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from msgspec import Struct

from cerebro_serve.objects import Skill
from cerebro_serve.scoring.algorithms import FEATURES, Algorithm
from cerebro_serve.scoring.attribution import Attribution
from cerebro_serve.scoring.facts import PairFacts, SkillFact
from cerebro_serve.scoring.resemblance import NEUTRAL
from cerebro_serve.scoring.wording import Wording

# The criteria, each with the features that measure it (every feature in exactly one).
CATEGORIES: dict[str, tuple[str, ...]] = {
    "skills": ("skill_coverage", "skills_similarity"),
    "job_titles": ("title_similarity",),
    "experience": ("experience_fit", "experience_similarity", "seniority"),
    "education": ("education_fit",),
    "languages": ("language_match",),
    "location": ("proximity",),
    "text": ("cosine", "keyword_match", "preferred_terms"),
    "rated": ("rated_resemblance",),  # likeness to the candidates rated for the job (scoring/resemblance.py)
}
assert sorted(f for features in CATEGORIES.values() for f in features) == sorted(FEATURES)
# Features no shipped fusion weighs, which only a workspace's fine-tune may learn: a criterion lists them
# only where the algorithm reads them (and a criterion made of them only is left out), so the others'
# explanations read as they always did.
LEARNED_ONLY = ("seniority", "preferred_terms", "rated_resemblance")
NOTABLE = 0.1  # logit: a category moving the score less than this is neither a strength nor a weakness


class FeaturePart(Struct, kw_only=True):
    feature: str
    value: float  # what the re-ranker computed, in [0, 1]; 0.5 where neither side could speak to it
    weight: float  # the fusion's linear weight
    linear: float  # weight * (value - 0.5)
    trees: float  # the boosted trees' part (exact Shapley value against the neutral pair)
    contribution: float  # linear + trees


class Category(Struct, kw_only=True):
    name: str
    label: str
    weight: float  # the linear weights of its features, summed
    score: float  # the mean of its features' values
    contribution: float  # to the logit, against a pair about which nothing is known
    has_data: bool  # False: one side says nothing about this criterion, so it weighs nothing
    features: list[FeaturePart]
    expected: Any = None  # the job's requirement (years, degree level, language codes, title, place)
    actual: Any = None  # what the profile shows
    found: list[SkillFact] | None = None
    missing: list[SkillFact] | None = None
    text: str = ""


class Point(Struct, kw_only=True):
    category: str
    contribution: float
    text: str


class Suggestion(Struct, kw_only=True):
    """A missing skill whose addition raises the score, measured by re-scoring the edited pair."""

    skill: Skill  # add it to the profile's `skills` as given
    gain: float  # logit
    score: float  # the score with it
    text: str


class Explanation(Struct, kw_only=True):
    score: float
    logit: float
    reference_logit: float  # a pair with every feature neutral; plus the contributions, the logit
    lang: str
    summary: str
    categories: list[Category]
    strengths: list[Point]
    weaknesses: list[Point]
    suggestions: list[Suggestion] | None = None


def explain(
    algorithm: Algorithm,
    attribution: Attribution,
    row: int,
    score: float,
    features: np.ndarray,
    facts: PairFacts,
    wording: Wording,
    job_is_query: bool = True,
) -> Explanation:
    """The explanation of row `row` of an attribution, whose features and native score are given;
    `job_is_query`: the pair was scored with the job as the query (profiles for a job), the direction in
    which the re-ranker reads the algorithm's preferred words."""
    contributions = attribution.contributions[row]
    read = algorithm.read_features
    categories = []
    for name, names in CATEGORIES.items():
        parts = []
        for feature in names:
            i = FEATURES.index(feature)
            if feature in LEARNED_ONLY and i not in read:
                continue
            parts.append(
                FeaturePart(
                    feature=feature,
                    value=float(features[i]),
                    weight=float(algorithm.weights[i]),
                    linear=float(attribution.linear[row, i]) + 0.0,  # + 0.0: no "-0.0" in the answer
                    trees=float(attribution.trees[row, i]) + 0.0,
                    contribution=float(contributions[i]) + 0.0,
                )
            )
        if not parts:
            continue
        category = _category(name, parts, facts, wording)
        if name == "text" and job_is_query:
            _preferred_words(category, algorithm, wording)
        categories.append(category)
    ranked = sorted(categories, key=lambda category: -category.contribution)
    strengths = [_point(c) for c in ranked if c.contribution >= NOTABLE]
    weaknesses = [_point(c) for c in reversed(ranked) if c.contribution <= -NOTABLE]
    summary = [wording.say("summary", score=wording.number(score))]
    if strengths:
        best = [category.label for category in ranked if category.contribution >= NOTABLE][:3]
        summary.append(wording.say("summary.strengths", names=wording.names(best)))
    if weaknesses:
        worst = [category.label for category in reversed(ranked) if category.contribution <= -NOTABLE][:3]
        summary.append(wording.say("summary.weaknesses", names=wording.names(worst)))
    return Explanation(
        score=float(score),
        logit=float(attribution.logits[row]),
        reference_logit=attribution.reference_logit,
        lang=wording.lang,
        summary=" ".join(summary),
        categories=categories,
        strengths=strengths,
        weaknesses=weaknesses,
    )


def _preferred_words(category: Category, algorithm: Algorithm, wording: Wording) -> None:
    """A version that learnt words the workspace's recruiters reward (training/terms.py) says which, and
    how much of them the profile holds: a criterion no job text states must still be explained."""
    held = next((part.value for part in category.features if part.feature == "preferred_terms"), None)
    if held is None or not algorithm.preferred_words:
        return
    names = wording.names(list(algorithm.preferred_words))
    category.text += " " + wording.say("text.preferred", share=wording.percent(held), names=names)


def _point(category: Category) -> Point:
    return Point(category=category.name, contribution=category.contribution, text=category.text)


def _category(name: str, parts: list[FeaturePart], facts: PairFacts, wording: Wording) -> Category:
    values = [part.value for part in parts]
    category = Category(
        name=name,
        label=wording.category(name),
        weight=float(sum(part.weight for part in parts)),
        score=float(np.mean(values)),
        contribution=float(sum(part.contribution for part in parts)),
        has_data=True,
        features=parts,
    )
    _describe[name](category, facts, wording)
    return category


def _skills(category: Category, facts: PairFacts, wording: Wording) -> None:
    category.found, category.missing = facts.found, facts.missing
    total = len(facts.found) + len(facts.missing)
    category.expected, category.actual = total, len(facts.found)
    if not total:
        category.has_data = False
        category.text = wording.say("skills.no_data")
        return
    if facts.found:
        share = sum(fact.share for fact in facts.found)
        text = wording.say(
            "skills.found",
            found=len(facts.found),
            total=total,
            share=wording.percent(share),
            names=wording.names([fact.name for fact in facts.found]),
        )
    else:
        text = wording.say("skills.none_found", total=total)
    if facts.missing:
        text += " " + wording.say("skills.missing", names=wording.names([fact.name for fact in facts.missing]))
    category.text = text


def _titles(category: Category, facts: PairFacts, wording: Wording) -> None:
    category.expected, category.actual = facts.title_expected or None, facts.title_actual or None
    if not (facts.title_expected and facts.title_actual):
        category.has_data = False  # the re-ranker reads the full texts' similarity in its place
        category.text = wording.say("titles.no_data", value=wording.number(category.score))
        return
    category.text = wording.say(
        "titles", actual=facts.title_actual, expected=facts.title_expected, value=wording.number(category.score)
    )


def _experience(category: Category, facts: PairFacts, wording: Wording) -> None:
    category.expected, category.actual = facts.years_expected, facts.years_actual
    if facts.years_actual is None:
        category.has_data = False
        category.text = wording.say("experience.no_data")
    elif facts.years_expected is None:
        category.has_data = False
        category.text = wording.say("experience.no_requirement", actual=wording.number(facts.years_actual, 1))
    else:
        category.text = wording.say(
            "experience",
            actual=wording.number(facts.years_actual, 1),
            expected=wording.number(facts.years_expected, 1),
        )


def _education(category: Category, facts: PairFacts, wording: Wording) -> None:
    _requirement(category, wording, facts.education_expected, facts.education_actual, wording.level)


def _languages(category: Category, facts: PairFacts, wording: Wording) -> None:
    def spoken(codes: list[str]) -> str:
        return wording.names([wording.language(code) for code in codes])

    _requirement(category, wording, facts.languages_expected, facts.languages_actual, spoken)


def _requirement(category: Category, wording: Wording, expected: Any, actual: Any, said: Any) -> None:
    """A requirement the job states against what the profile shows; unless both say something, the
    criterion has no data (the re-ranker read it as neutral)."""
    category.expected, category.actual = expected or None, actual or None
    if not (expected and actual):
        category.has_data = False
        category.text = wording.say(f"{category.name}.no_data")
        return
    category.text = wording.say(category.name, actual=said(actual), expected=said(expected))


def _location(category: Category, facts: PairFacts, wording: Wording) -> None:
    category.expected, category.actual = facts.location_expected, facts.location_actual
    if facts.distance_km is None:
        category.has_data = False
        category.text = wording.say("location.no_data")
        return
    category.text = wording.say("location", distance=wording.number(facts.distance_km, 1))


def _text(category: Category, facts: PairFacts, wording: Wording) -> None:
    value = {part.feature: part.value for part in category.features}
    cosine, keywords = value["cosine"], value["keyword_match"]
    category.text = wording.say("text", cosine=wording.number(cosine), keywords=wording.percent(keywords))


def _rated(category: Category, facts: PairFacts, wording: Wording) -> None:
    """Which of the job's rated candidates the profile's experience is closer to: the good or the poor."""
    [value] = [part.value for part in category.features]
    if value == NEUTRAL:
        category.has_data = False
        category.text = wording.say("rated.no_data")
        return
    said = "rated.good" if value > NEUTRAL else "rated.poor"
    category.text = wording.say(said, value=wording.number(value))


_describe = {
    "skills": _skills,
    "job_titles": _titles,
    "experience": _experience,
    "education": _education,
    "languages": _languages,
    "location": _location,
    "text": _text,
    "rated": _rated,
}
