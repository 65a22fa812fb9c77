"""The text of a profile or a job that its vector stands for.

A profile's own `text` (the resume) is the richest view when it exists; otherwise, and always for jobs,
the view is assembled from the structured fields in the order a recruiter reads them.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

import numpy as np

from cerebro_serve.engine.encoder import Encoder
from cerebro_serve.objects import Job, Profile


def _join(parts: Iterable[str | None], separator: str = "\n") -> str:
    return separator.join(part.strip() for part in parts if part and part.strip())


def profile_view(profile: Profile) -> str:
    if profile.text and profile.text.strip():
        return profile.text.strip()
    experiences = [
        _join([experience.title, experience.company, experience.description], " - ")
        for experience in profile.experiences
    ]
    educations = [
        _join([education.title, education.school, education.description], " - ")
        for education in profile.educations
    ]
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


# Each record is embedded as these views, in this order; the features carry the title and skills texts.
VIEWS = ("full", "title", "skills")


def embed_views(encoder: Encoder, views: Sequence[tuple[str, str, str]]) -> np.ndarray:
    """(records, len(VIEWS), dim) unit vectors; an empty view is a zero vector (the re-ranker then falls
    back on the full-text similarity) rather than the embedding of nothing."""
    out = np.zeros((len(views), len(VIEWS), encoder.dimension), dtype=np.float32)
    texts, slots = [], []
    for record, texts_of_record in enumerate(views):
        for view, text in enumerate(texts_of_record):
            if view == 0 or text.strip():
                texts.append(text)
                slots.append((record, view))
    if texts:
        vectors = encoder.embed_documents(texts)
        for (record, view), vector in zip(slots, vectors):
            out[record, view] = vector
    return out
