"""The base algorithms a workspace forks its own from (`GET /v1/algorithms/marketplace`)."""

from __future__ import annotations

from dataclasses import dataclass

from cerebro_serve.scoring.algorithms import BASE_ALGORITHM, Algorithm, base_algorithm

TRAINABLE_ALGORITHM = "cerebro-trainable"


@dataclass(frozen=True, slots=True)
class BaseAlgorithm:
    key: str
    name: str
    description: str
    suits: str
    trainable: bool

    def fusion(self, model: str | None = None) -> Algorithm:
        """What a fork starts from: both bases start from the shipped fusion (scoring/data/), the one
        fitted on this encoder's similarities where there is one."""
        return base_algorithm(model)


MARKETPLACE: tuple[BaseAlgorithm, ...] = (
    BaseAlgorithm(
        key=BASE_ALGORITHM,
        name="Cerebro base",
        description=(
            "Bi-encoder retrieval over four views (full text, title, skills, experience), re-ranked on ten "
            "features (view similarities, weighted skill coverage, BM25 keywords, experience, education, "
            "languages, distance) by a linear fusion plus monotone boosted trees, calibrated to [0, 1]. "
            "Fitted on development data; it is not retrained on a workspace's feedback."
        ),
        suits="Large pools and workspaces without feedback yet: the best ranking out of the box.",
        trainable=False,
    ),
    BaseAlgorithm(
        key=TRAINABLE_ALGORITHM,
        name="Cerebro trainable",
        description=(
            "Starts as cerebro-base and learns from the workspace's ratings or trackings: the fusion over the "
            "engine's features is refitted on them, each training publishing a new version with its "
            "validation metrics; any earlier version can be served again."
        ),
        suits="Workspaces with hiring feedback (hundreds of rated or tracked pairs and more) whose "
        "recruiters weigh criteria differently from the default.",
        trainable=True,
    ),
)


def base_of(key: str) -> BaseAlgorithm | None:
    return next((base for base in MARKETPLACE if base.key == key), None)
