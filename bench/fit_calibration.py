"""Fit the similarity → probability calibration of a bundled model on labelled job/resume pairs.

Data: `../shared/data/pairs/rjdb/test.jsonl` (synthetic job descriptions, each with a resume written for
it). Positives are (job, its resume); negatives are (job, a resume written for another job), three per
job. Writes `cerebro_serve/scoring/calibration.json`. Usage:

    .venv/bin/python bench/fit_calibration.py [--model all-MiniLM-L6-v2] [--data PATH]
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import brier_score_loss, roc_auc_score

from cerebro_serve.engine import load_encoder
from cerebro_serve.engine.views import JOB_HEAD_TOKENS, profile_head_tokens
from cerebro_serve.scoring.calibration import CALIBRATION_FILE

DEFAULT_DATA = Path(__file__).resolve().parents[2] / "shared/data/pairs/rjdb/test.jsonl"
NEGATIVES_PER_JOB = 3


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default="all-MiniLM-L6-v2")
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA)
    args = parser.parse_args()
    if not args.data.exists():
        raise SystemExit(f"{args.data} not found: this script needs the development data in ../shared")

    rows = [json.loads(line) for line in args.data.read_text().splitlines() if line.strip()]
    encoder = load_encoder(args.model, "auto", "float32", "torch")
    # Read as the server reads a record's full-text view: its head (engine/views.py).
    jobs = encoder.embed_documents([encoder.head(row["Job-Description"], JOB_HEAD_TOKENS) for row in rows])
    resumes = encoder.embed_documents(
        [encoder.head(row["Resume-matched"], profile_head_tokens(encoder.name)) for row in rows]
    )

    rng = np.random.default_rng(0)
    n = len(rows)
    similarities, labels = [], []
    for i in range(n):
        similarities.append(float(jobs[i] @ resumes[i]))
        labels.append(1)
        others = rng.choice(np.delete(np.arange(n), i), size=NEGATIVES_PER_JOB, replace=False)
        for j in others:
            similarities.append(float(jobs[i] @ resumes[j]))
            labels.append(0)
    x = np.asarray(similarities)[:, None]
    y = np.asarray(labels)
    # Weight positives so the fit targets a balanced prior (a 50/50 pair scores 0.5), not the 1:3 mix here.
    model = LogisticRegression(C=1e4, class_weight="balanced").fit(x, y)
    probabilities = model.predict_proba(x)[:, 1]

    fits = json.loads(CALIBRATION_FILE.read_text()) if CALIBRATION_FILE.exists() else {}
    fits[encoder.name] = {
        "slope": round(float(model.coef_[0][0]), 6),
        "intercept": round(float(model.intercept_[0]), 6),
        "data": "megagonlabs/rjdb test.jsonl (CC BY-SA 4.0), 1 positive + 3 random negatives per job",
        "pairs": int(len(y)),
        "roc_auc": round(float(roc_auc_score(y, x[:, 0])), 4),
        "brier": round(float(brier_score_loss(y, probabilities)), 4),
    }
    CALIBRATION_FILE.write_text(json.dumps(fits, indent=2) + "\n")
    print(json.dumps(fits[encoder.name], indent=2))


if __name__ == "__main__":
    main()
