"""The native fused re-ranker against a plain Python reference, on random and edge-case features."""

from __future__ import annotations

import math

import numpy as np
import pytest

from cerebro_serve.index.columns import SIDE_VIEWS, TERM_BUCKETS, FeatureColumns
from cerebro_serve.objects import Profile
from cerebro_serve.record_features import UNKNOWN, RecordFeatures
from cerebro_serve.scoring.algorithms import FEATURES, Algorithm, Trees, base_algorithm
from cerebro_serve.scoring.features import MAX_CAREER_YEARS, FeatureExtractor
from cerebro_serve.scoring.rerank import QueryFeatures, features_of, rerank
from cerebro_serve.scoring.resemblance import Exemplars
from cerebro_serve.training.boosting import boosted
from cerebro_serve.training.trainer import Labelled

DIM = 24
NEUTRAL = 0.5


def _unit(vector: np.ndarray) -> np.ndarray:
    return (vector / np.linalg.norm(vector)).astype(np.float32)


def _haversine(lat1: float, lng1: float, lat2: float, lng2: float) -> float:
    p1, p2 = math.radians(lat1), math.radians(lat2)
    a = math.sin((p2 - p1) / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(math.radians(lng2 - lng1) / 2) ** 2
    return 2 * 6371.0088 * math.asin(min(1.0, math.sqrt(a)))


def _fit(have: float, required: float) -> float:
    if required < 0 or have < 0:
        return NEUTRAL
    return 1.0 if required == 0 else min(have / required, 1.0)


def _view_similarity(query_view: np.ndarray | None, row_view: np.ndarray, cosine: float) -> float:
    """A view either side lacks (no vector, or all zeros) reads as the full-text cosine."""
    return float(query_view @ row_view) if query_view is not None and np.any(row_view) else cosine


def reference_resemblance(query: QueryFeatures, record_id: int, experience: np.ndarray) -> float:
    """0.5 + mean similarity to the other candidates rated good - to the others rated poor, in [0, 1]."""
    rated = query.exemplars
    if rated is None or not np.any(experience):
        return NEUTRAL
    others = [
        (float(v @ experience), g)
        for i, v, g in zip(rated.ids, rated.vectors, rated.good)
        if i != record_id and np.any(v)  # one with no experience text does not count
    ]
    good = [similarity for similarity, is_good in others if is_good]
    poor = [similarity for similarity, is_good in others if not is_good]
    if not good or not poor:
        return NEUTRAL
    return min(1.0, max(0.0, NEUTRAL + sum(good) / len(good) - sum(poor) / len(poor)))


def reference_features(
    query: QueryFeatures,
    row: RecordFeatures,
    views: np.ndarray,
    record_id: int,
    cosine: float,
    df: np.ndarray,
    docs: int,
    mean_length: float,
) -> list[float]:
    """What the re-ranker must compute, written for clarity rather than speed; `views` are the row's
    title, skills and experience vectors."""
    title_sim = _view_similarity(query.title, views[0], cosine)
    skills_sim = _view_similarity(query.skills, views[1], cosine)
    experience_sim = _view_similarity(query.experience, views[2], cosine)
    query_skills = dict(zip(query.skill_ids.tolist(), query.skill_weights.tolist()))
    row_skills = dict(zip(row.skill_ids, row.skill_weights))
    required = query_skills if query.is_job else row_skills
    common = sum(
        weight for skill, weight in required.items() if skill in (row_skills if query.is_job else query_skills)
    )
    coverage = common / sum(required.values()) if sum(required.values()) > 0 else NEUTRAL
    if query.is_job:
        experience = _fit(row.years, query.years)
        education = NEUTRAL if not (query.education and row.education) else _fit(row.education, query.education)
        needed, spoken = query.languages, row.languages
    else:
        experience = _fit(query.years, row.years)
        education = NEUTRAL if not (query.education and row.education) else _fit(query.education, row.education)
        needed, spoken = row.languages, query.languages
    language = NEUTRAL if not (needed and spoken) else bin(needed & spoken).count("1") / bin(needed).count("1")
    if math.isnan(query.lat) or row.lat is None:
        proximity = NEUTRAL
    else:
        proximity = math.exp(-_haversine(query.lat, query.lng, row.lat, row.lng) / 100.0)
    query_terms = dict(zip(query.term_ids.tolist(), query.term_freqs.tolist()))
    row_terms = dict(zip(row.terms, row.term_freqs))
    job_terms, profile_terms = (query_terms, row_terms) if query.is_job else (row_terms, query_terms)
    profile_length = row.length if query.is_job else query.length
    average = mean_length if query.is_job else max(query.length, 1.0)
    weight = {t: (math.log((docs + 1) / (df[t % TERM_BUCKETS] + 1)) + 1) * tf for t, tf in job_terms.items()}
    best = 2.2 * sum(weight.values())
    matched = sum(
        w * profile_terms[t] * 2.2 / (profile_terms[t] + 1.2 * (0.25 + 0.75 * profile_length / average))
        for t, w in weight.items()
        if t in profile_terms
    )
    keywords = matched / best if best > 0 else NEUTRAL
    profile_years = row.years if query.is_job else query.years
    seniority = NEUTRAL if profile_years < 0 else profile_years / (profile_years + 10.0)
    preferred = query.preferred_term_ids.tolist()
    if preferred and query.is_job:
        rarity = {t: math.log((docs + 1) / (df[t % TERM_BUCKETS] + 1)) + 1 for t in preferred}
        preferred_share = sum(rarity[t] for t in preferred if t in row_terms) / sum(rarity.values())
    else:
        preferred_share = NEUTRAL
    return [
        cosine,
        title_sim,
        skills_sim,
        coverage,
        experience,
        education,
        language,
        proximity,
        keywords,
        experience_sim,
        seniority,
        preferred_share,
        reference_resemblance(query, record_id, views[2]),
    ]


def _random_features(rng: np.random.Generator, vocabulary: int = 30) -> RecordFeatures:
    ids = sorted(rng.choice(vocabulary, size=int(rng.integers(0, 8)), replace=False).tolist())
    terms = sorted(rng.choice(2 * vocabulary, size=int(rng.integers(0, 20)), replace=False).tolist())
    located = rng.random() < 0.7
    return RecordFeatures(
        skill_ids=ids,
        skill_weights=[float(w) for w in rng.uniform(1, 9, size=len(ids)).round(3)],
        terms=[t * 7919 + (1 << 21) for t in terms],  # several hash buckets apart
        term_freqs=[int(c) for c in rng.integers(1, 6, size=len(terms))],
        length=int(rng.integers(len(terms), 4 * len(terms) + 2)),
        years=float(rng.choice([UNKNOWN, 0.0, float(rng.uniform(0, 15))])),
        education=int(rng.integers(0, 6)),
        languages=int(rng.integers(0, 8)),
        lat=float(rng.uniform(40, 50)) if located else None,
        lng=float(rng.uniform(-5, 10)) if located else None,
        title="title",
        skills_text="skills",
    )


def _random_views(rng: np.random.Generator, count: int) -> np.ndarray:
    """`count` unit vectors, each empty (all zeros) one time in five."""
    return np.stack(
        [_unit(rng.normal(size=DIM)) if rng.random() < 0.8 else np.zeros(DIM, np.float32) for _ in range(count)]
    )


def _pool(rng: np.random.Generator, n: int):
    columns = FeatureColumns(DIM, capacity=4)
    rows = []
    for record_id in range(n):
        features = _random_features(rng)
        columns.upsert(record_id, 0, 0, features, _random_views(rng, len(SIDE_VIEWS)))
        # Compare against what the columns hold (int8), so the test checks the kernel, not quantisation.
        snapshot = columns.snapshot()
        dequantized = np.stack(
            [getattr(snapshot, view)[record_id] * getattr(snapshot, f"{view}_scale")[record_id] for view in SIDE_VIEWS]
        ).astype(np.float32)
        rows.append((features, dequantized, record_id))
    return columns.snapshot(), rows


def _query(rng: np.random.Generator, is_job: bool) -> QueryFeatures:
    features = _random_features(rng)
    embedding = np.concatenate([_unit(rng.normal(size=DIM))[None], _random_views(rng, len(SIDE_VIEWS))])
    # Preferred words from the rows' vocabulary (_random_features), some queries with none.
    preferred = [int(t) * 7919 + (1 << 21) for t in rng.choice(60, size=int(rng.integers(0, 5)), replace=False)]
    return QueryFeatures.of(features, embedding, is_job, preferred, _rated(rng))


def _rated(rng: np.random.Generator) -> Exemplars | None:
    """None, or a few rated candidates: some of them rows of the pool (left out of their own resemblance),
    some with no experience vector, of both kinds or of one only."""
    count = int(rng.integers(0, 12))
    if count == 0:
        return None
    good = rng.random(count) < (0.5 if rng.random() < 0.8 else 1.0)
    return Exemplars(rng.choice(1500, size=count, replace=False).astype(np.int64), _random_views(rng, count), good)


@pytest.mark.parametrize("is_job", [True, False])
def test_native_features_match_the_reference(is_job: bool) -> None:
    rng = np.random.default_rng(7 if is_job else 8)
    columns, rows = _pool(rng, 1500)  # more than one thread's share
    for _ in range(5):
        query = _query(rng, is_job)
        candidates = rng.permutation(len(rows))[:1200].astype(np.int64)
        cosine = rng.uniform(-0.2, 0.9, size=len(candidates)).astype(np.float32)
        native = features_of(columns, query, candidates, cosine)
        expected = np.array(
            [
                reference_features(query, *rows[r], float(c), columns.term_df, columns.term_docs, columns.mean_length)
                for r, c in zip(candidates, cosine)
            ]
        )
        np.testing.assert_allclose(native, expected, rtol=1e-4, atol=1e-4)


def test_rerank_fuses_thresholds_and_orders_like_the_reference() -> None:
    rng = np.random.default_rng(9)
    columns, rows = _pool(rng, 700)
    query = _query(rng, True)
    algorithm = Algorithm("test", 1, rng.normal(size=len(FEATURES)).astype(np.float32), -0.3)
    candidates = np.arange(700, dtype=np.int64)[::-1].copy()
    cosine = rng.uniform(0, 1, size=700).astype(np.float32)
    ranked = rerank(columns, query, algorithm, candidates, cosine, k=25, threshold=0.4)
    expected_features = np.array(
        [
            reference_features(query, *rows[r], float(c), columns.term_df, columns.term_docs, columns.mean_length)
            for r, c in zip(candidates, cosine)
        ]
    )
    expected_scores = algorithm.score(expected_features)
    passing = np.flatnonzero(expected_scores >= 0.4)
    order = passing[np.lexsort((passing, -expected_scores[passing]))][:25]
    assert ranked.passed == len(passing)
    np.testing.assert_allclose(ranked.scores, expected_scores[order], rtol=1e-4)
    # Positions agree except where two scores tie within float error.
    assert np.mean(ranked.positions == order) > 0.95
    np.testing.assert_allclose(ranked.features, expected_features[ranked.positions], rtol=1e-4, atol=1e-4)
    assert np.all(np.diff(ranked.scores) <= 0)


def _random_trees(rng: np.random.Generator, n_trees: int, depth: int) -> Trees:
    """Complete random trees of the given depth, laid out in pre-order (children after their parent)."""
    feature, threshold, left, right, value, roots = [], [], [], [], [], []

    def grow(level: int) -> int:
        node = len(feature)
        for column in (feature, threshold, left, right, value):
            column.append(0)
        if level == depth:
            feature[node], value[node] = -1, float(rng.normal(scale=0.5))
            return node
        feature[node], threshold[node] = int(rng.integers(0, len(FEATURES))), float(rng.uniform(0, 1))
        left[node] = grow(level + 1)
        right[node] = grow(level + 1)
        return node

    for _ in range(n_trees):
        roots.append(grow(0))
    return Trees.from_dict(dict(feature=feature, threshold=threshold, left=left, right=right, value=value, roots=roots))


def test_rerank_with_trees_scores_like_the_python_walk() -> None:
    rng = np.random.default_rng(11)
    columns, rows = _pool(rng, 400)
    query = _query(rng, True)
    trees = _random_trees(rng, n_trees=20, depth=3)
    algorithm = Algorithm("trees", 1, np.abs(rng.normal(size=len(FEATURES))).astype(np.float32), -1.0, trees)
    candidates = np.arange(400, dtype=np.int64)
    cosine = rng.uniform(0, 1, size=400).astype(np.float32)
    ranked = rerank(columns, query, algorithm, candidates, cosine, k=400)
    expected = algorithm.score(ranked.features)
    np.testing.assert_allclose(ranked.scores, expected, rtol=1e-5, atol=1e-6)
    linear = Algorithm("linear", 1, algorithm.weights, -1.0)
    assert not np.allclose(linear.score(ranked.features), expected)  # the trees do change the scores


def test_trees_a_fine_tune_boosts_are_served_as_the_python_walk_scores_them() -> None:
    """The forest a training appends (training/boosting.py) reaches the native re-ranker intact."""
    rng = np.random.default_rng(12)
    columns, _ = _pool(rng, 400)
    query = _query(rng, True)
    candidates = np.arange(400, dtype=np.int64)
    cosine = rng.uniform(0, 1, size=400).astype(np.float32)
    features = rerank(columns, query, base_algorithm(), candidates, cosine, k=400).features
    labels = ((features[:, 0] > np.median(features[:, 0])) & (rng.uniform(size=400) > 0.3)).astype(np.float64)
    tuned = boosted(base_algorithm(), Labelled(features, labels, np.ones(400)), rounds=20)
    ranked = rerank(columns, query, tuned, candidates, cosine, k=400)
    np.testing.assert_allclose(ranked.scores, tuned.score(ranked.features), rtol=1e-5, atol=1e-6)
    assert not np.allclose(ranked.scores, base_algorithm().score(ranked.features))


def test_malformed_trees_are_refused_when_loaded() -> None:
    loop = dict(feature=[0, -1], threshold=[0.5, 0], left=[0, 0], right=[1, 0], value=[0, 1], roots=[0])
    unknown = dict(
        feature=[len(FEATURES), -1, -1],
        threshold=[0.5, 0, 0],
        left=[1, 0, 0],
        right=[2, 0, 0],
        value=[0, 1, 2],
        roots=[0],
    )
    dangling = dict(feature=[0], threshold=[0.5], left=[7], right=[8], value=[0], roots=[0])
    for trees in (loop, unknown, dangling):
        with pytest.raises(ValueError, match="malformed tree"):
            Trees.from_dict(trees)


def test_rerank_edge_cases() -> None:
    rng = np.random.default_rng(10)
    columns, _ = _pool(rng, 10)
    query = _query(rng, True)
    algorithm = base_algorithm()
    empty = rerank(columns, query, algorithm, np.empty(0, np.int64), np.empty(0, np.float32), k=5)
    assert len(empty.positions) == 0 and empty.passed == 0 and empty.features.shape == (0, len(FEATURES))
    ranked = rerank(columns, query, algorithm, np.arange(10), np.full(10, 0.5, np.float32), k=100)
    assert len(ranked.positions) == 10 and ((ranked.scores >= 0) & (ranked.scores <= 1)).all()
    with pytest.raises(IndexError):
        rerank(columns, query, algorithm, np.array([10]), np.zeros(1, np.float32), k=1)
    with pytest.raises(ValueError):
        rerank(columns, query, algorithm, np.arange(3), np.zeros(2, np.float32), k=1)


def test_base_algorithm_prefers_covered_skills_and_experience() -> None:
    """The shipped weights reward what recruiters reward: more of the job's skills, enough experience."""
    algorithm = base_algorithm()
    weights = dict(zip(FEATURES, algorithm.weights.tolist()))
    assert weights["cosine"] > 0 and weights["skill_coverage"] > 0 and weights["experience_fit"] > 0
    better = algorithm.score(np.array([[0.6, 0.5, 0.5, 0.9, 1.0, 1.0, 1.0, 0.5, 0.6, 0.5, 0.5, 0.5, 0.5]]))
    worse = algorithm.score(np.array([[0.6, 0.5, 0.5, 0.4, 0.5, 1.0, 1.0, 0.5, 0.3, 0.5, 0.5, 0.5, 0.5]]))
    assert better[0] > worse[0]


def test_absurd_experience_is_capped_at_a_working_life() -> None:
    """A duration of 10^30 years (accepted JSON) would overflow the index's float32 column."""
    features = FeatureExtractor().of(Profile(text="Python developer", experiences_duration=1e30))
    assert features.years == MAX_CAREER_YEARS
