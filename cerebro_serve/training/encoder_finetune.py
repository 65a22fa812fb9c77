"""Full fine-tuning of the encoder on a workspace's labelled pairs: the option for GPU nodes.

Unlike the fusion and the query adapter, a new encoder moves every stored vector: the result is a model
directory that the operator switches to (`CEREBRO_MODEL=<dir>`), after which every record is embedded
again at the next start (the index registry sees vectors from another model). The loss is
multiple-negatives ranking (in-batch negatives plus the job's labelled negatives), on texts anonymised
like every training's. Pieces longer than the model's window are truncated here (the serving path
chunks them); a job's ad and a resume's first window carry most of what the pair is about.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from cerebro_serve.training.trainer import Cancelled

SCALE = 20.0  # cosine similarities times this are the logits (sentence-transformers' default)


@dataclass(frozen=True, slots=True)
class Example:
    job: str
    profile: str  # a profile the job's recruiters marked a good match
    negative: str | None = None  # one they marked a poor match, if any


def finetune_encoder(
    model_dir: Path,
    examples: Sequence[Example],
    out_dir: Path,
    device: str = "cuda",
    epochs: int = 1,
    batch_size: int = 32,
    learning_rate: float = 2e-5,
    should_stop: Callable[[float], bool] = lambda progress: False,
    seed: int = 0,
) -> Path:
    from sentence_transformers import SentenceTransformer

    torch.manual_seed(seed)
    order = list(range(len(examples)))
    random.Random(seed).shuffle(order)
    model = SentenceTransformer(str(model_dir), device=device, local_files_only=True)
    optimizer = torch.optim.AdamW(model.parameters(), lr=learning_rate)
    batches = [order[start : start + batch_size] for start in range(0, len(order), batch_size)]
    model.train()
    for epoch in range(epochs):
        for number, batch in enumerate(batches):
            chosen = [examples[i] for i in batch]
            jobs = _embed(model, [e.job for e in chosen])
            candidates = _embed(model, [e.profile for e in chosen] + [e.negative for e in chosen if e.negative])
            logits = SCALE * jobs @ candidates.T
            loss = torch.nn.functional.cross_entropy(logits, torch.arange(len(chosen), device=logits.device))
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            if should_stop((epoch * len(batches) + number + 1) / (epochs * len(batches))):
                raise Cancelled
    model.eval()
    out_dir.mkdir(parents=True, exist_ok=True)
    model.save(str(out_dir))
    return out_dir


def _embed(model, texts: list[str]) -> torch.Tensor:
    features = {
        name: value.to(model.device) if isinstance(value, torch.Tensor) else value
        for name, value in model.tokenize(texts).items()
    }
    return torch.nn.functional.normalize(model(features)["sentence_embedding"], dim=-1)


def retrieval_mrr(vectors_of: Callable[[list[str]], np.ndarray], examples: Sequence[Example]) -> float:
    """Mean reciprocal rank of each job's good profile among every example's profiles: the number that
    says whether a fine-tuned encoder separates what recruiters wanted better than the one it came from."""
    jobs = vectors_of([e.job for e in examples])
    profiles = vectors_of([e.profile for e in examples])
    similarities = jobs @ profiles.T
    ranks = 1 + (similarities > np.diag(similarities)[:, None]).sum(axis=1)
    return float(np.mean(1.0 / ranks))
