"""Map a model's cosine similarity to a match probability in [0, 1].

Cosines are model-specific (MiniLM puts unrelated texts near 0.1, others near 0.8), so each bundled model
carries a logistic fit `sigmoid(slope * cosine + intercept)` made by `bench/fit_calibration.py` on
labelled job/resume pairs. A model without a fit gets the plain monotone map (cosine + 1) / 2 and says so.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from pathlib import Path

import numpy as np

log = logging.getLogger(__name__)

CALIBRATION_FILE = Path(__file__).with_name("calibration.json")


@dataclass(frozen=True, slots=True)
class Calibration:
    slope: float
    intercept: float
    fitted: bool

    def __call__(self, similarities: np.ndarray) -> np.ndarray:
        similarities = np.asarray(similarities, dtype=np.float32)
        if not self.fitted:
            return np.clip((similarities + 1.0) / 2.0, 0.0, 1.0)
        logits = self.slope * similarities + self.intercept
        return (1.0 / (1.0 + np.exp(-logits))).astype(np.float32)


def calibration_for(model: str) -> Calibration:
    fits = json.loads(CALIBRATION_FILE.read_text()) if CALIBRATION_FILE.exists() else {}
    fit = fits.get(model)
    if fit is None:
        log.warning("no calibration fitted for model %s: scores are (cosine + 1) / 2", model)
        return Calibration(1.0, 0.0, fitted=False)
    return Calibration(float(fit["slope"]), float(fit["intercept"]), fitted=True)
