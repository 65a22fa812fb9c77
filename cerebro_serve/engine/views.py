"""The text of a profile or a job that its vector stands for.

A profile's own `text` (the resume) is the richest view when it exists; otherwise, and always for jobs,
the view is assembled from the structured fields in the order a recruiter reads them.
"""

from __future__ import annotations

from collections.abc import Iterable

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
