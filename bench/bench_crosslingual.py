"""Jobs written in Spanish or French against English resumes: the serving path, each encoder and lexical
search, per language, beside the same jobs in English.

The set (built from development data, nothing translated by hand): bench_quality's ESCO occupations as
jobs (two per livecareer category; the 24 second ones, which bench/fit_base.py never saw), each written
three times from ESCO v1.0's parallel labels, joined on the concept URI: the occupation's title and its
essential skills (ESCO v1.1.1 relations), in English, Spanish and French (v1.0 has no Spanish or French
descriptions, so the English job leaves its description out too). Documents: the livecareer evaluation
half (618 real English resumes). Relevance: the resume's category is the occupation's; nDCG@10 and MAP.

Methods, same run: BM25 (bm25s), TF-IDF (scikit-learn, sublinear tf), the full-text cosine of each
bundled encoder, and `cerebro-base` on the serving path (cosine candidates, the job parsed by the server's
parser, the native fused re-ranker) with each encoder's vectors.
Usage: .venv/bin/python -m bench.bench_crosslingual
"""

from __future__ import annotations

import csv
import platform
from pathlib import Path

import numpy as np
from sklearn.feature_extraction.text import TfidfVectorizer

from bench.bench_quality import bm25_scores, fused_scores, ndcg_at
from bench.devdata import CATEGORY_OCCUPATIONS, SHARED, esco_english, load_livecareer
from cerebro_serve.engine import load_encoder
from cerebro_serve.engine.views import VIEWS, embed_views, head_tokens, view_texts
from cerebro_serve.parsing.jobs import parse_job
from cerebro_serve.parsing.taxonomy import default_lexicon
from cerebro_serve.scoring.algorithms import base_algorithm
from cerebro_serve.scoring.features import FeatureExtractor
from cerebro_serve.scoring.rerank import QueryFeatures

PARALLEL = SHARED / "taxonomy" / "esco-v1.0-en-es-fr"
LANGUAGES = ("en", "es", "fr")
SKILLS_WORD = {"en": "Required skills", "es": "Competencias requeridas", "fr": "Compétences requises"}
ENCODERS = ("all-MiniLM-L6-v2", "use-multilingual-v3", "multilingual-e5-small")
MAX_SKILLS = 20


def _labels(path: Path) -> dict[str, str]:
    """conceptUri -> preferred label (the first form of a gendered pair: "director técnico/directora ...")."""
    with path.open(encoding="utf-8") as handle:
        return {row["conceptUri"]: row["preferredLabel"].split("/")[0].strip() for row in csv.DictReader(handle)}


def job_texts() -> dict[str, list[tuple[str, str]]]:
    """language -> [(category, job text)] for the 24 held-out occupations."""
    esco = esco_english()
    occupations = {language: _labels(PARALLEL / f"occupations_{language}.csv") for language in LANGUAGES}
    skills = {language: _labels(PARALLEL / f"skills_{language}.csv") for language in ("es", "fr")}
    skills["en"] = esco.skills
    texts: dict[str, list[tuple[str, str]]] = {language: [] for language in LANGUAGES}
    for category, (_, held_out) in CATEGORY_OCCUPATIONS.items():
        uri = esco.occupations[held_out]["conceptUri"]
        if any(uri not in occupations[language] for language in LANGUAGES):
            continue
        required = [skill for skill in esco.essential.get(uri, []) if all(skill in skills[lang] for lang in LANGUAGES)]
        for language in LANGUAGES:
            names = ", ".join(skills[language][skill] for skill in required[:MAX_SKILLS])
            title = occupations[language][uri]
            texts[language].append((category, f"{title[:1].upper()}{title[1:]}\n\n{SKILLS_WORD[language]}: {names}"))
    return texts


def tfidf_scores(documents: list[str], queries: list[str]) -> list[np.ndarray]:
    vectorizer = TfidfVectorizer(sublinear_tf=True)
    matrix = vectorizer.fit_transform(documents)
    return [np.asarray((matrix @ vectorizer.transform([query]).T).todense()).ravel() for query in queries]


def average_precision(scores: np.ndarray, relevant: np.ndarray) -> float:
    order = np.argsort(-scores, kind="stable")
    hits = relevant[order]
    if not hits.any():
        return 0.0
    precision_at_hits = np.cumsum(hits)[hits] / (np.flatnonzero(hits) + 1)
    return float(precision_at_hits.mean())


def main() -> None:
    jobs = job_texts()
    lexicon = default_lexicon()
    extractor = FeatureExtractor()
    print(f"machine: {platform.machine()}; {len(jobs['en'])} held-out occupations per language")
    results: dict[str, dict[str, tuple[float, float]]] = {}
    lexical_done = False
    for model in ENCODERS:
        encoder = load_encoder(model, "cpu", "auto", "torch")
        data = load_livecareer(encoder)
        profiles = data.split(1)
        rows = profiles.astype(np.int64)
        texts = [data.resumes.texts[p] for p in profiles]
        categories = np.array(data.categories)[profiles]
        columns = data.resumes.columns()
        for language in LANGUAGES:
            written = jobs[language]
            relevant = [categories == category for category, _ in written]
            queries = [text for _, text in written]
            parsed = [parse_job(text, lexicon) for text in queries]
            features = [extractor.of(job) for job in parsed]
            views = [view_texts(job, f.title, f.skills_text) for job, f in zip(parsed, features)]
            vectors = embed_views(encoder, views, [head_tokens(job) for job in parsed])
            assert vectors.shape[1] == len(VIEWS)
            cosines = [data.resumes.vectors[rows, 0] @ vector[0] for vector in vectors]
            anchors = [QueryFeatures.of(f, v, is_job=True) for f, v in zip(features, vectors)]
            fused = fused_scores(columns, anchors, [rows] * len(queries), cosines, base_algorithm(model))
            methods = {f"cosine ({model})": cosines, f"cerebro-base ({model})": fused}
            if not lexical_done:
                methods = {"BM25": bm25_scores(texts, queries), "TF-IDF": tfidf_scores(texts, queries), **methods}
            for name, scores in methods.items():
                ndcg = float(np.mean([ndcg_at(s, r) for s, r in zip(scores, relevant)]))
                map_ = float(np.mean([average_precision(s, r) for s, r in zip(scores, relevant)]))
                results.setdefault(name, {})[language] = (ndcg, map_)
        lexical_done = True
    print("| method | " + " | ".join(f"{language} nDCG@10 / MAP" for language in LANGUAGES) + " |")
    print("|---|" + "---|" * len(LANGUAGES))
    for name, by_language in results.items():
        cells = " | ".join(f"{by_language[lang][0]:.3f} / {by_language[lang][1]:.3f}" for lang in LANGUAGES)
        print(f"| {name} | {cells} |")


if __name__ == "__main__":
    main()
