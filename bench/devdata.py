"""Development data as the engine sees it: parsed objects, their features and their view vectors.

rjdb (`../shared/data/pairs/rjdb/test.jsonl`): 1,000 synthetic job descriptions, each with the resume
written for it ("matched") and a copy with skills removed or experience shortened ("weaker"). Texts go
through our own parsers (parse_job, parse_resume), then features and the view vectors (engine/views.py VIEWS),
exactly as
indexing does. Embedding ~9,000 views takes minutes on 2 cores, so results are cached in bench/.cache.
Split: even triplets fit, odd triplets evaluate (no job or resume in both).
"""

from __future__ import annotations

import csv
import io
import json
import zipfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from cerebro_serve.engine.views import (
    MATCHING_HEAD_TOKENS,
    VIEWS,
    embed_views,
    head_tokens,
    reads_matching_anchor_again,
    view_texts,
)
from cerebro_serve.index.columns import ColumnArrays, FeatureColumns
from cerebro_serve.parsing.jobs import parse_job
from cerebro_serve.parsing.resume import parse_resume
from cerebro_serve.parsing.taxonomy import default_lexicon
from cerebro_serve.record_features import RecordFeatures
from cerebro_serve.scoring.features import FeatureExtractor
from cerebro_serve.scoring.rerank import QueryFeatures, features_of

SHARED = Path(__file__).resolve().parents[2] / "shared" / "data"
RJDB = SHARED / "pairs" / "rjdb" / "test.jsonl"
LIVECAREER = SHARED / "resumes" / "livecareer-dev" / "resumes.csv"
CACHE = Path(__file__).resolve().parent / ".cache"


@dataclass
class Side:
    texts: list[str]
    features: list[RecordFeatures]
    vectors: np.ndarray  # (n, len(VIEWS), dim)

    def columns(self) -> ColumnArrays:
        columns = FeatureColumns(self.vectors.shape[2], capacity=len(self.texts))
        for row, features in enumerate(self.features):
            columns.upsert(row, 0, 0, features, self.vectors[row, 1:])
        return columns.snapshot()


@dataclass
class Rjdb:
    jobs: Side  # job i
    resumes: Side  # resume 2i is job i's matched resume, 2i + 1 its weaker one

    def split(self, part: int) -> np.ndarray:
        """Job indexes of one half: 0 fits, 1 evaluates."""
        return np.arange(part, len(self.jobs.texts), 2)

    def ranking_task(self, jobs: np.ndarray) -> RankingTask:
        """Each job against every resume of these jobs, as the re-ranker's features."""
        columns = self.resumes.columns()
        rows = np.sort(np.concatenate([2 * jobs, 2 * jobs + 1])).astype(np.int64)
        position = {int(row): i for i, row in enumerate(rows)}
        features, cosines = [], []
        for job in jobs:
            query = QueryFeatures.of(self.jobs.features[job], self.jobs.vectors[job], is_job=True)
            cosine = (self.resumes.vectors[rows, 0] @ self.jobs.vectors[job, 0]).astype(np.float32)
            features.append(features_of(columns, query, rows, cosine))
            cosines.append(cosine)
        return RankingTask(
            jobs,
            rows,
            features,
            cosines,
            [position[2 * int(j)] for j in jobs],
            [position[2 * int(j) + 1] for j in jobs],
        )


@dataclass
class RankingTask:
    jobs: np.ndarray
    rows: np.ndarray  # resume rows ranked for every job
    features: list[np.ndarray]  # per job: len(rows) x len(FEATURES)
    cosines: list[np.ndarray]
    matched: list[int]  # per job: the position of its matched resume in rows
    weaker: list[int]

    def metrics(self, scores: list[np.ndarray]) -> dict[str, float]:
        """Pairwise accuracy (matched above weaker), recall@1 and MRR of the matched resume."""
        pairwise, first, reciprocal = [], [], []
        for row_scores, good, bad in zip(scores, self.matched, self.weaker):
            pairwise.append(row_scores[good] > row_scores[bad])
            rank = 1 + int(np.sum(row_scores > row_scores[good]))
            first.append(rank == 1)
            reciprocal.append(1.0 / rank)
        return {
            "pairwise_accuracy": float(np.mean(pairwise)),
            "recall@1": float(np.mean(first)),
            "mrr": float(np.mean(reciprocal)),
        }


def _side(encoder, texts: list[str], objects: list, name: str, model: str, tokens: int | None = None) -> Side:
    """The records embedded as indexing does, or each view read to `tokens` (a matching's anchor)."""
    extractor = FeatureExtractor()
    features = [extractor.of(item) for item in objects]
    cache = CACHE / f"{name}-{model}{'' if tokens is None else f'-{tokens}'}.npy"
    if cache.exists():
        vectors = np.load(cache)
    else:
        views = [view_texts(item, f.title, f.skills_text) for item, f in zip(objects, features)]
        vectors = embed_views(encoder, views, [tokens or head_tokens(item, model) for item in objects])
        CACHE.mkdir(exist_ok=True)
        np.save(cache, vectors)
    assert vectors.shape == (len(texts), len(VIEWS), encoder.dimension)
    return Side(texts, features, vectors)


def load_rjdb(encoder, path: Path = RJDB) -> Rjdb:
    if not path.exists():
        raise SystemExit(f"{path} not found: this benchmark needs the development data in ../shared")
    rows = [json.loads(line) for line in path.read_text().splitlines() if line.strip()]
    lexicon = default_lexicon()
    job_texts = [row["Job-Description"] for row in rows]
    resume_texts = [text for row in rows for text in (row["Resume-matched"], row["Resume-unmatched"])]
    jobs = [parse_job(text, lexicon) for text in job_texts]
    resumes = [parse_resume(text, lexicon) for text in resume_texts]
    return Rjdb(
        _side(encoder, job_texts, jobs, "rjdb-jobs", encoder.name),
        _side(encoder, resume_texts, resumes, "rjdb-resumes", encoder.name),
    )


@dataclass
class Livecareer:
    resumes: Side
    categories: list[str]
    anchors: np.ndarray  # the resumes' view vectors as matching anchors (engine/views.py MATCHING_HEAD_TOKENS)

    def split(self, part: int) -> np.ndarray:
        """Profile indexes of one half: 0 fits, 1 evaluates (alternate rows of a file sorted by category)."""
        return np.arange(part, len(self.categories), 2)

    def neighbour_task(self, profiles: np.ndarray) -> NeighbourTask:
        """Each profile against every other profile of the set, as the re-ranker's features."""
        columns = self.resumes.columns()
        features, cosines = [], []
        for anchor in profiles:
            others = profiles[profiles != anchor].astype(np.int64)
            query = QueryFeatures.of(self.resumes.features[anchor], self.anchors[anchor], is_job=True)
            cosine = (self.resumes.vectors[others, 0] @ self.anchors[anchor, 0]).astype(np.float32)
            features.append(features_of(columns, query, others, cosine))
            cosines.append(cosine)
        categories = np.array(self.categories)
        relevant = [categories[profiles[profiles != a]] == categories[a] for a in profiles]
        return NeighbourTask(profiles, features, cosines, relevant)


@dataclass
class NeighbourTask:
    anchors: np.ndarray
    features: list[np.ndarray]  # per anchor: the other profiles x len(FEATURES)
    cosines: list[np.ndarray]
    relevant: list[np.ndarray]  # per anchor: which other profiles share its category

    def precision(self, scores: list[np.ndarray], k: int = 10) -> float:
        """Mean share of the k best-scored other profiles that share the anchor's category."""
        return float(
            np.mean([relevant[np.argsort(-s, kind="stable")[:k]].mean() for s, relevant in zip(scores, self.relevant)])
        )


def livecareer_rows(path: Path = LIVECAREER) -> list[dict[str, str]]:
    """The rows of the livecareer CSV that have text (pypdf read none from a few of the PDFs)."""
    csv.field_size_limit(1 << 30)
    with open(path, newline="", encoding="utf-8") as handle:
        return [row for row in csv.DictReader(handle) if row["Resume_text_pypdf"].strip()]


def livecareer_texts(path: Path = LIVECAREER) -> list[str]:
    """The livecareer resumes' pypdf text, in the file's order, those without text left out."""
    return [row["Resume_text_pypdf"] for row in livecareer_rows(path)]


def load_livecareer(encoder, path: Path = LIVECAREER) -> Livecareer:
    """The 1,237 development resumes (pypdf text from the dataset, parsed by parse_resume) and their
    categories; resumes without text are left out."""
    if not path.exists():
        raise SystemExit(f"{path} not found: this benchmark needs the development data in ../shared")
    rows = livecareer_rows(path)
    lexicon = default_lexicon()
    texts = [row["Resume_text_pypdf"] for row in rows]
    resumes = [parse_resume(text, lexicon) for text in texts]
    side = _side(encoder, texts, resumes, "livecareer", encoder.name)
    anchors = (
        _side(encoder, texts, resumes, "livecareer", encoder.name, MATCHING_HEAD_TOKENS).vectors
        if reads_matching_anchor_again(encoder.name)
        else side.vectors
    )
    return Livecareer(side, [row["Category"] for row in rows], anchors)


# Our mapping of the 24 livecareer categories to two ESCO occupations each: their descriptions and
# essential skills stand in for job postings of that category.
CATEGORY_OCCUPATIONS = {
    "ACCOUNTANT": ("accountant", "bookkeeper"),
    "ADVOCATE": ("lawyer", "legal assistant"),
    "AGRICULTURE": ("agricultural technician", "farm manager"),
    "APPAREL": ("fashion designer", "clothing quality inspector"),
    "ARTS": ("artistic director", "art director"),
    "AUTOMOBILE": ("vehicle technician", "automotive engineer"),
    "AVIATION": ("aircraft pilot", "aircraft maintenance technician"),
    "BANKING": ("bank account manager", "bank teller"),
    "BPO": ("call centre agent", "contact centre supervisor"),
    "BUSINESS-DEVELOPMENT": ("business developer", "business manager"),
    "CHEF": ("chef", "head chef"),
    "CONSTRUCTION": ("construction manager", "building construction worker"),
    "CONSULTANT": ("business consultant", "policy officer"),
    "DESIGNER": ("graphic designer", "interior designer"),
    "DIGITAL-MEDIA": ("digital media designer", "advertising media buyer"),
    "ENGINEERING": ("civil engineer", "mechanical engineer"),
    "FINANCE": ("financial analyst", "financial manager"),
    "FITNESS": ("fitness instructor", "personal trainer"),
    "HEALTHCARE": ("nurse responsible for general care", "healthcare assistant"),
    "HR": ("human resources manager", "human resources officer"),
    "INFORMATION-TECHNOLOGY": ("ICT application developer", "ICT system administrator"),
    "PUBLIC-RELATIONS": ("public relations officer", "public relations manager"),
    "SALES": ("sales assistant", "sales manager"),
    "TEACHER": ("primary school teacher", "secondary school teacher"),
}
ESCO = SHARED / "taxonomy" / "esco-v1.1.1-en"


@dataclass(frozen=True)
class EscoEnglish:
    occupations: dict[str, dict[str, str]]  # preferred label -> the occupation's row
    skills: dict[str, str]  # concept URI -> preferred label
    essential: dict[str, list[str]]  # occupation URI -> its essential skills' URIs


def esco_english() -> EscoEnglish:
    """ESCO v1.1.1's English occupations and skills, and which skills each occupation needs."""
    with zipfile.ZipFile(ESCO / "ESCO_v1.1.1_classification_en_csv.zip") as bundle:
        with bundle.open("occupations_en.csv") as raw:
            occupations = {row["preferredLabel"]: row for row in csv.DictReader(io.TextIOWrapper(raw, "utf-8"))}
        with bundle.open("skills_en.csv") as raw:
            skills = {
                row["conceptUri"]: row["preferredLabel"] for row in csv.DictReader(io.TextIOWrapper(raw, "utf-8"))
            }
    with (
        zipfile.ZipFile(ESCO / "ESCO_v1.1.1_relations_csv.zip") as bundle,
        bundle.open("occupationSkillRelations.csv") as raw,
    ):
        essential: dict[str, list[str]] = {}
        for row in csv.DictReader(io.TextIOWrapper(raw, "utf-8")):
            if row["relationType"] == "essential" and row["skillUri"] in skills:
                essential.setdefault(row["occupationUri"], []).append(row["skillUri"])
    return EscoEnglish(occupations, skills, essential)


def esco_job_texts() -> list[tuple[str, int, str]]:
    """(category, 0 or 1: which of its two occupations, job text) for the mapped ESCO v1.1.1 occupations."""
    esco = esco_english()
    jobs = []
    for category, labels in CATEGORY_OCCUPATIONS.items():
        for variant, label in enumerate(labels):
            row = esco.occupations.get(label)
            if row is None:
                continue
            required = ", ".join(esco.skills[uri] for uri in esco.essential.get(row["conceptUri"], [])[:20])
            jobs.append(
                (category, variant, f"{label.capitalize()}\n\n{row['description']}\n\nRequired skills: {required}")
            )
    return jobs


@dataclass
class EscoJobs:
    jobs: Side
    categories: list[str]
    variants: np.ndarray  # 0: the category's first occupation (fitting), 1: its second (evaluation)


def load_esco_jobs(encoder) -> EscoJobs:
    rows = esco_job_texts()
    lexicon = default_lexicon()
    texts = [text for _, _, text in rows]
    jobs = [parse_job(text, lexicon) for text in texts]
    return EscoJobs(
        _side(encoder, texts, jobs, "esco-jobs", encoder.name),
        [c for c, _, _ in rows],
        np.array([v for _, v, _ in rows]),
    )
