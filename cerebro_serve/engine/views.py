"""The texts of a profile or a job that its vectors stand for.

Each record is embedded as several views so that scoring compares like with like: the full text, the
title, the skills and the experience (what the person did; for a job, what the holder will do and must
have done). A profile's own `text` (the resume) is the richest full view when it exists; otherwise, and
always for jobs, the full view is assembled from the structured fields in the order a recruiter reads them.

The model reads each view's head: its first tokens, ending on a word (`Encoder.head`; a profile's first
128, a job's whole first window). A resume says who the person is first (title, summary, latest role),
and its experience starts with the latest roles; an average over every window of a long resume blurs
that. On development data (bench/RESULTS.md), against whole texts: livecareer category precision@10
0.506 vs 0.371, ESCO nDCG@10 0.544 vs 0.520, rjdb recall@1 0.930 and MRR 0.965 vs 0.930 and 0.963
(pairwise accuracy 0.930 vs 0.940), with under a quarter of the model's work per profile.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import numpy as np

from cerebro_serve.engine.e5_image import E5_MODEL
from cerebro_serve.engine.encoder import Encoder, HeadCutter, Pieces
from cerebro_serve.objects import Job, Profile
from cerebro_serve.parsing.sections import split_sections

# Of each view the model reads its head, this many tokens (`vectors_tag` names them): a job's whole window,
# since its requirements come last and each query reads one job; a profile's first 128, since a pool
# holds millions and a resume says who the person is first.
PROFILE_HEAD_TOKENS = 128
JOB_HEAD_TOKENS = 254
# A model that reads a profile better further on: multilingual-e5-small's cosine tells rjdb's matched resume
# from its weaker copy at recall@1 0.740 with 256 tokens against 0.626 with 128 (bench/RESULTS.md).
PROFILE_HEAD_TOKENS_OF = {E5_MODEL: 256}
# A profile that others are matched against (profiles/matching) is read to its first 128 tokens whatever its
# model stores: e5's 256 blur a resume against other resumes; livecareer's category P@10 of e5's
# cerebro-match is 0.512 with the anchor read to 128 (and fitted so) against 0.483 to 256 (bench/RESULTS.md).
MATCHING_HEAD_TOKENS = PROFILE_HEAD_TOKENS


def _join(parts: Iterable[str | None], separator: str = "\n") -> str:
    return separator.join(part.strip() for part in parts if part and part.strip())


def profile_view(profile: Profile) -> str:
    if profile.text and profile.text.strip():
        return profile.text.strip()
    experiences = [_entry(e.title, e.company, e.description) for e in profile.experiences]
    educations = [_entry(e.title, e.school, e.description) for e in profile.educations]
    skills = ", ".join(skill.name for skill in profile.skills)
    return _join(
        [
            profile.info.summary,
            *experiences,
            *educations,
            f"Skills: {skills}" if skills else None,
            ", ".join(task.name for task in profile.tasks) or None,
        ]
    )


def job_view(job: Job) -> str:
    skills = ", ".join(skill.name for skill in job.skills)
    sections = [_join([section.title, section.description], ": ") for section in job.sections]
    return _join(
        [
            job.name,
            job.summary,
            *sections,
            job.responsibilities,
            job.requirements,
            f"Skills: {skills}" if skills else None,
        ]
    )


def _entry(title: str | None, place: str | None, description: str | None) -> str:
    """An experience or an education as one line: title - company or school - description."""
    return _join([title, place, description], " - ")


def profile_experience_view(profile: Profile) -> str:
    """The profile's positions, or the experience section of its text when none were parsed."""
    experiences = _join(_entry(e.title, e.company, e.description) for e in profile.experiences)
    return experiences or text_section(profile, "experience")


def profile_education_view(profile: Profile) -> str:
    """The profile's educations, or the education section of its text when none were parsed."""
    return _join(_entry(e.title, e.school, e.description) for e in profile.educations) or text_section(
        profile, "education"
    )


def text_section(profile: Profile, name: str) -> str:
    """The named section of the profile's text (a resume not parsed into fields); empty without one."""
    if not profile.text:
        return ""
    return _join(section.text for section in split_sections(profile.text) if section.name == name)


def job_experience_view(job: Job) -> str:
    """What the job's holder will do and must have done; the summary when the ad says neither."""
    return _join([job.responsibilities, job.requirements]) or (job.summary or "").strip()


# Each record is embedded as these views, in this order; the features carry the title and skills texts.
VIEWS = ("full", "title", "skills", "experience")


def long_views(record: Profile | Job) -> tuple[str, str]:
    """The views that can run long: the full text and the experience."""
    if isinstance(record, Profile):
        return profile_view(record), profile_experience_view(record)
    return job_view(record), job_experience_view(record)


def view_texts(record: Profile | Job, title: str, skills_text: str) -> tuple[str, ...]:
    """A record's texts in VIEWS order (title and skills texts come from its features)."""
    if isinstance(record, Profile):
        return profile_view(record), title, skills_text, profile_experience_view(record)
    return job_view(record), title, skills_text, job_experience_view(record)


def vectors_tag(model: str) -> str:
    """What a record's stored vectors are labelled with: the model and how it read the views, so vectors
    read another way (releases before 2026-12 read whole texts) are computed again when their pool opens."""
    return f"{model}:heads{profile_head_tokens(model)}-{JOB_HEAD_TOKENS}"


def tagged_model(tag: str) -> str:
    """The model named in a `vectors_tag` (a release before 2026-12 tagged vectors with the name alone)."""
    return tag.rsplit(":heads", 1)[0]


def profile_head_tokens(model: str | None) -> int:
    return PROFILE_HEAD_TOKENS_OF.get(model or "", PROFILE_HEAD_TOKENS)


def reads_matching_anchor_again(model: str | None) -> bool:
    """Whether a profile matched against must be embedded again for the matching: its model stores longer
    heads than `MATCHING_HEAD_TOKENS`."""
    return profile_head_tokens(model) != MATCHING_HEAD_TOKENS


def head_tokens(record: Profile | Job, model: str | None = None) -> int:
    """How many tokens of each of the record's views the model reads."""
    return profile_head_tokens(model) if isinstance(record, Profile) else JOB_HEAD_TOKENS


@dataclass(frozen=True, slots=True)
class CutViews:
    """A record's views as the model reads them: which views it embeds (`slots`, in VIEWS order) and
    their heads, cut into pieces (one text per slot)."""

    slots: tuple[int, ...]
    pieces: Pieces


def _embedded(texts: Sequence[str | None]) -> list[tuple[int, str]]:
    """The views of a record that are embedded, with their texts: the full text always, any other view
    when it says something (an empty one is a zero vector, and the re-ranker falls back on the full-text
    similarity, rather than the embedding of nothing); a view given as None is not embedded at all."""
    return [(view, text) for view, text in enumerate(texts) if text is not None and (view == 0 or text.strip())]


def cut_views(cutter: HeadCutter, texts: Sequence[str | None], tokens: int) -> CutViews:
    """The record's views cut to their heads of `tokens` tokens (`head_tokens`)."""
    embedded = _embedded(texts)
    heads = cutter.cut_heads([text for _, text in embedded], [tokens] * len(embedded))
    return CutViews(tuple(view for view, _ in embedded), heads)


def embed_cut_views(encoder: Encoder, records: Sequence[CutViews], known: np.ndarray | None = None) -> np.ndarray:
    """(records, len(VIEWS), dim) unit vectors from views cut already, every record's pieces in one encoder
    call; views not embedded are zeros, or kept from `known` (records, len(VIEWS), dim) when given."""
    out = np.zeros((len(records), len(VIEWS), encoder.dimension), dtype=np.float32)
    if known is not None:
        out[:] = known
    pieces: list[str] = []
    owners: list[int] = []
    tokens: list[int] = []
    slots: list[tuple[int, int]] = []
    for record, cut in enumerate(records):
        owners.extend(len(slots) + owner for owner in cut.pieces.owners)
        pieces.extend(cut.pieces.pieces)
        tokens.extend(cut.pieces.tokens)
        slots.extend((record, view) for view in cut.slots)
    if slots:
        for (record, view), vector in zip(slots, encoder.embed_cut(Pieces(pieces, owners, tokens)), strict=True):
            out[record, view] = vector
    return out


def embed_views(
    encoder: Encoder, views: Sequence[Sequence[str | None]], heads: Sequence[int], known: np.ndarray | None = None
) -> np.ndarray:
    """(records, len(VIEWS), dim) unit vectors, each from its view's head (the record's `heads` tokens,
    `head_tokens`); an empty view is a zero vector. A view given as None keeps its vector from `known`
    (records, len(VIEWS), dim): edited copies embed only what the edit changed."""
    cutter = encoder.head_cutter()
    cuts = [cut_views(cutter, texts, tokens) for texts, tokens in zip(views, heads, strict=True)]
    out = embed_cut_views(encoder, cuts, known)
    for record, texts in enumerate(views):
        for view, text in enumerate(texts):
            if text is not None and view not in cuts[record].slots:
                out[record, view] = 0.0  # an empty view (an edit may have emptied it)
    return out
