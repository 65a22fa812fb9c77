"""Scoring algorithms: fusion weights over the re-ranker's features, turning them into a calibrated score.

An algorithm is a logistic model `sigmoid(bias + weights . features + trees(features))`: a linear part,
and optionally small gradient-boosted regression trees fitted on top of it (monotone in every feature, so
more of anything good never lowers a score). `cerebro-base` (a job against
profiles, or a profile against jobs) and `cerebro-match` (a profile against profiles, a job against jobs)
ship in `data/`, fitted by `bench/fit_base.py` on the development data (see bench/RESULTS.md).
"""

from __future__ import annotations

import base64
import functools
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from cerebro_serve import _native
from cerebro_serve.scoring.features import term_ids

# The re-ranker's features, in the order csrc/rerank.cpp computes them.
FEATURES = (
    "cosine",  # full-text views
    "title_similarity",
    "skills_similarity",
    "skill_coverage",  # weighted share of the job's skills the profile has
    "experience_fit",  # years against the job's requirement
    "education_fit",
    "language_match",
    "proximity",
    "keyword_match",  # BM25 of the job's words in the profile, over its maximum
    "experience_similarity",  # the experience views: what the person did against what the job asks
    "seniority",  # the profile's years, whatever the job asks (years / (years + 10)); shipped fusions give it 0
    # the share of the algorithm's preferred words the profile's text holds (learnt from a workspace's
    # feedback, training/terms.py); neutral for an algorithm without them
    "preferred_terms",
    # how much more the candidate resembles those rated good for the job than those rated poor
    # (scoring/resemblance.py); neutral for a job without both kinds of rating
    "rated_resemblance",
)
assert len(FEATURES) == _native.FEATURE_COUNT
RATED_RESEMBLANCE = FEATURES.index("rated_resemblance")  # the one feature read from the job's own feedback
BASE_ALGORITHM = "cerebro-base"
MATCHING_ALGORITHM = "cerebro-match"  # like against like: profiles/matching and jobs/matching
DATA_DIR = Path(__file__).with_name("data")


@dataclass(frozen=True, slots=True)
class Trees:
    """Regression trees as flat node arrays (the layout csrc/rerank.hpp walks): a leaf has feature -1; an
    inner node goes to `left` when features[feature] <= threshold, else to `right`."""

    feature: np.ndarray  # int32
    threshold: np.ndarray  # float32
    left: np.ndarray  # int32
    right: np.ndarray  # int32
    value: np.ndarray  # float32, a leaf's contribution to the logit
    roots: np.ndarray  # int32, one per tree
    # Derived: each tree's split features (trees x widest, -1 padding) and each inner node's slot in its
    # tree's row, which exact per-tree attribution (scoring/attribution.py) walks by.
    tree_features: np.ndarray = field(init=False, repr=False, compare=False)
    node_slot: np.ndarray = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        used_by_tree, slots = [], np.full(len(self.feature), -1, dtype=np.int64)
        seen = np.zeros(len(self.feature), dtype=bool)
        for root in self.roots.tolist():
            used: list[int] = []
            stack = [root]
            while stack:
                node = stack.pop()
                if not 0 <= node < len(self.feature) or seen[node]:
                    raise ValueError(f"malformed tree: node {node} is out of range or reached twice")
                seen[node] = True
                feature = int(self.feature[node])
                if feature >= len(FEATURES):
                    raise ValueError(f"malformed tree: node {node} splits on unknown feature {feature}")
                if feature < 0:
                    continue
                if feature not in used:
                    used.append(feature)
                slots[node] = used.index(feature)
                stack += [int(self.left[node]), int(self.right[node])]
            used_by_tree.append(used)
        table = np.full((len(used_by_tree), max(map(len, used_by_tree), default=0)), -1, dtype=np.int64)
        for tree, used in enumerate(used_by_tree):
            table[tree, : len(used)] = used
        object.__setattr__(self, "tree_features", table)
        object.__setattr__(self, "node_slot", slots)

    @classmethod
    def from_dict(cls, data: dict[str, list[float]]) -> Trees:
        ints, floats = ("feature", "left", "right", "roots"), ("threshold", "value")
        return cls(
            **{name: np.asarray(data[name], dtype=np.int32) for name in ints},
            **{name: np.asarray(data[name], dtype=np.float32) for name in floats},
        )

    def to_dict(self) -> dict[str, list[float]]:
        names = ("feature", "threshold", "left", "right", "value", "roots")
        return {name: getattr(self, name).tolist() for name in names}

    def evaluate(self, features: np.ndarray) -> np.ndarray:
        """The trees' sum for each row (the reference the native walk must match)."""
        return self.leaves(features).sum(axis=1).astype(np.float32)

    def leaves(self, features: np.ndarray) -> np.ndarray:
        """The value of the leaf each row reaches in each tree (rows x trees, float64): every row walks
        every tree at once in numpy, one level per step."""
        features = np.asarray(features, dtype=np.float32).reshape(-1, len(FEATURES))
        nodes = np.tile(self.roots.astype(np.int64), (len(features), 1))
        while True:
            rows, trees = np.nonzero(self.feature[nodes] >= 0)
            if not len(rows):
                return self.value[nodes].astype(np.float64)
            at = nodes[rows, trees]
            go_left = features[rows, self.feature[at]] <= self.threshold[at]
            nodes[rows, trees] = np.where(go_left, self.left[at], self.right[at])


@dataclass(frozen=True, slots=True)
class RatedBy:
    """The feedback a trained version learnt from: its kind ("rating" or "tracking"), the labeller role and,
    for trackings, the conversion goals as (action, outcome). The feature rated_resemblance reads the same
    feedback about the job being scored (services/rated_candidates.py)."""

    kind: str
    role: str
    goals: tuple[tuple[str, str], ...] = ()

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> RatedBy:
        goals = tuple((str(goal["action"]), str(goal["outcome"])) for goal in data.get("goals") or ())
        return cls(str(data["kind"]), str(data["role"]), goals)

    def to_dict(self) -> dict[str, Any]:
        goals = [{"action": action, "outcome": outcome} for action, outcome in self.goals]
        return {"kind": self.kind, "role": self.role, "goals": goals}


@dataclass(frozen=True, slots=True)
class Algorithm:
    name: str
    version: int
    weights: np.ndarray  # float32, one per feature
    bias: float
    trees: Trees | None = None
    # A query-side linear map of the full-text embedding (d x d), learnt from a workspace's labels
    # (training/adapter.py): jobs search with adapter @ j, profiles with adapter.T @ p.
    adapter: np.ndarray | None = None
    # Words the workspace's feedback rewards in a profile beyond what the job's text asks (training/terms.py),
    # folded as scoring/features.py counts them; explanations name them.
    preferred_words: tuple[str, ...] = ()
    rated_by: RatedBy | None = None  # None: a shipped fusion, or a version trained before it was recorded
    # Derived: their term ids, sorted, which a job's query carries to the re-ranker (feature preferred_terms).
    preferred_terms: tuple[int, ...] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "preferred_terms", term_ids(self.preferred_words))

    @classmethod
    def from_file(cls, path: Path) -> Algorithm:
        return cls.from_json(path.read_text(), str(path))

    @classmethod
    def from_json(cls, text: str, origin: str = "algorithm") -> Algorithm:
        """An algorithm file's content (as shipped in scoring/data/, or a stored version's model)."""
        data = json.loads(text)
        fitted = list(data["features"])
        # A file fitted before a feature was added weighs it 0: the features only ever grow at the end.
        if fitted != list(FEATURES[: len(fitted)]) or len(data["weights"]) != len(fitted):
            raise ValueError(f"{origin} was fitted on other features: {fitted}")
        weights = np.zeros(len(FEATURES), dtype=np.float32)
        weights[: len(fitted)] = data["weights"]
        trees = Trees.from_dict(data["trees"]) if data.get("trees") else None
        adapter = None
        if data.get("adapter"):
            raw = np.frombuffer(base64.b64decode(data["adapter"]), dtype=np.float16).astype(np.float32)
            side = int(round(len(raw) ** 0.5))
            adapter = raw.reshape(side, side)
        return cls(
            data["name"],
            int(data.get("version", 1)),
            weights,
            float(data["bias"]),
            trees,
            adapter,
            # Versions stored before the term ids were derived hold them too: the words say the same.
            tuple(str(word) for word in data.get("preferred_words", ())),
            RatedBy.from_dict(data["rated_by"]) if data.get("rated_by") else None,
        )

    def to_json(self, **extra: object) -> str:
        data: dict[str, object] = {
            "name": self.name,
            "version": self.version,
            "features": list(FEATURES),
            "weights": [round(float(w), 6) for w in self.weights],
            "bias": self.bias,
        }
        if self.trees is not None:
            data["trees"] = self.trees.to_dict()
        if self.preferred_words:
            data["preferred_words"] = list(self.preferred_words)
        if self.rated_by is not None:
            data["rated_by"] = self.rated_by.to_dict()
        if self.adapter is not None:  # fp16 keeps the map's effect (|error| < 1e-3 per entry) at half the size
            data["adapter"] = base64.b64encode(self.adapter.astype(np.float16).tobytes()).decode()
        return json.dumps({**data, **extra})

    @property
    def tree_count(self) -> int:
        """How many trees it holds (a training appends its own after these: training/boosting.py)."""
        return len(self.trees.roots) if self.trees is not None else 0

    @property
    def read_features(self) -> frozenset[int]:
        """The features the fusion reads: a linear weight, or a split in its trees."""
        read = set(np.flatnonzero(self.weights).tolist())
        if self.trees is not None:
            read |= set(np.unique(self.trees.feature[self.trees.feature >= 0]).tolist())
        return frozenset(read)

    def adapt(self, vector: np.ndarray, is_job: bool) -> np.ndarray:
        """The anchor's full-text vector as this algorithm searches with it."""
        if self.adapter is None:
            return vector
        return (self.adapter @ vector if is_job else self.adapter.T @ vector).astype(np.float32)

    def score(self, features: np.ndarray) -> np.ndarray:
        """The same fusion as the native re-ranker, for a few rows in Python (explanations, tests)."""
        features = np.asarray(features, dtype=np.float32)
        logits = self.bias + features @ self.weights
        if self.trees is not None:
            logits = logits + self.trees.evaluate(features)
        return (1.0 / (1.0 + np.exp(-logits))).astype(np.float32)


def algorithm_file(name: str, model: str | None = None) -> Path:
    """Where a shipped algorithm fitted for an encoder lives: `<name>.<model>.json` when one was fitted on
    that encoder's similarities (they differ in scale from model to model), else `<name>.json` (fitted on
    all-MiniLM-L6-v2's)."""
    fitted = DATA_DIR / f"{name}.{model}.json"
    return fitted if model and fitted.exists() else DATA_DIR / f"{name}.json"


@functools.cache
def base_algorithm(model: str | None = None) -> Algorithm:
    return Algorithm.from_file(algorithm_file(BASE_ALGORITHM, model))


@functools.cache
def matching_algorithm(model: str | None = None) -> Algorithm:
    return Algorithm.from_file(algorithm_file(MATCHING_ALGORITHM, model))
