"""A query-side linear adapter on the full-text embeddings, trained contrastively on a workspace's labels.

The adapted similarity of a job and a profile is `(A j) . p`. Only the query side moves, so the indexes
stay as they are: profiles for a job search with `A j`, and jobs for a profile with `A^T p`, which gives
exactly the same similarity. A starts at the identity and is pulled back towards it, so it bends the
embedding space where the labels say so and leaves it alone elsewhere; how hard it is pulled back
(`pull`) is chosen by validation (training/pipeline.py).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np
import torch

from cerebro_serve.training.trainer import Cancelled

STEPS = 150
TEMPERATURE = 0.05
PULL_TO_IDENTITY = 1.0
LEARNING_RATE = 1e-3


def fit_adapter(
    jobs: np.ndarray,
    profiles: np.ndarray,
    positives: Sequence[tuple[int, int]],
    negatives: Sequence[tuple[int, int]],
    should_stop: Callable[[float], bool],
    pull: float = PULL_TO_IDENTITY,
    seed: int = 0,
) -> np.ndarray:
    """A (d x d) from job vectors, profile vectors and labelled (job row, profile row) pairs. For each
    positive pair the loss is InfoNCE: its profile against the job's labelled negatives and every other
    profile in the set, at a low temperature."""
    generator = torch.Generator().manual_seed(seed)
    job_vectors = torch.as_tensor(jobs, dtype=torch.float32)
    profile_vectors = torch.as_tensor(profiles, dtype=torch.float32)
    dimension = job_vectors.shape[1]
    identity = torch.eye(dimension)
    adapter = (identity + 1e-4 * torch.randn(dimension, dimension, generator=generator)).requires_grad_(True)
    optimizer = torch.optim.Adam([adapter], lr=LEARNING_RATE)
    job_rows = torch.as_tensor([job for job, _ in positives])
    targets = torch.as_tensor([profile for _, profile in positives])
    # A labelled negative of the same job counts twice as much as a profile of another job.
    hard = torch.zeros(len(positives), len(profiles))
    for position, (job, _) in enumerate(positives):
        for negative_job, profile in negatives:
            if negative_job == job:
                hard[position, profile] = np.log(2.0)
    for step in range(STEPS):
        optimizer.zero_grad()
        logits = (job_vectors[job_rows] @ adapter.T) @ profile_vectors.T / TEMPERATURE + hard
        loss = torch.nn.functional.cross_entropy(logits, targets)
        loss = loss + pull * ((adapter - identity) ** 2).sum()
        loss.backward()
        optimizer.step()
        if should_stop((step + 1) / STEPS):
            raise Cancelled
    return adapter.detach().numpy().astype(np.float32)
