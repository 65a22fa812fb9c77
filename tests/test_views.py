"""The texts each record is embedded as (engine/views.py): like is compared with like."""

from __future__ import annotations

import msgspec
import numpy as np

from cerebro_serve.engine.e5_image import E5_MODEL
from cerebro_serve.engine.views import (
    JOB_HEAD_TOKENS,
    PROFILE_HEAD_TOKENS,
    VIEWS,
    embed_views,
    head_tokens,
    vectors_tag,
    view_texts,
)
from cerebro_serve.objects import Job, Profile


def _profile(**fields) -> Profile:
    return msgspec.convert(fields, Profile)


def _job(**fields) -> Job:
    return msgspec.convert(fields, Job)


def test_profile_experience_view_is_its_positions_or_its_experience_section() -> None:
    parsed = _profile(
        experiences=[
            {"title": "ICU nurse", "company": "Hopital Nord", "description": "Cared for ventilated patients."}
        ],
        text="Summary\nA nurse.\nExperience\nsomething else",
    )
    assert view_texts(parsed, "", "")[3] == "ICU nurse - Hopital Nord - Cared for ventilated patients."
    text_only = _profile(text="Jane Doe\nSummary\nA nurse.\nExperience\nICU nurse, 2019-2024\nEducation\nBSN")
    assert view_texts(text_only, "", "")[3] == "ICU nurse, 2019-2024"
    assert view_texts(_profile(text="Just a few words"), "", "")[3] == ""


def test_job_experience_view_is_what_the_holder_does_and_needs() -> None:
    job = _job(
        name="Data engineer",
        summary="Our data team.",
        responsibilities="Build pipelines.",
        requirements="3 years of Spark.",
    )
    assert view_texts(job, "Data engineer", "")[3] == "Build pipelines.\n3 years of Spark."
    assert view_texts(_job(name="Chef", summary="Cook for 80 covers."), "Chef", "")[3] == "Cook for 80 covers."


def test_every_view_is_embedded_and_empty_views_are_zero(encoder) -> None:
    texts = [view_texts(_profile(text="ICU nurse"), "ICU nurse", ""), ("pastry chef", "", "", "baked bread")]
    vectors = embed_views(encoder, texts, [254] * len(texts))
    assert vectors.shape == (2, len(VIEWS), encoder.dimension)
    assert not vectors[0, 2].any() and not vectors[1, 1].any()  # no skills text, no title: zeros
    np.testing.assert_allclose(np.linalg.norm(vectors[1, [0, 3]], axis=1), 1.0, rtol=1e-5)
    assert not vectors[0, 3].any()  # a one-line resume has no experience to embed


def test_each_record_reads_its_own_head(encoder) -> None:
    """A profile's views are read to PROFILE_HEAD_TOKENS, a job's to JOB_HEAD_TOKENS (`head_tokens`)."""
    text = " ".join(f"Led team {i} through a migration to event-driven billing." for i in range(80))
    assert head_tokens(_profile(text=text)) == PROFILE_HEAD_TOKENS < JOB_HEAD_TOKENS == head_tokens(_job(name="x"))
    vectors = embed_views(encoder, [(text, "", "", ""), (text, "", "", "")], [PROFILE_HEAD_TOKENS, JOB_HEAD_TOKENS])
    short, long = (encoder.embed_documents([encoder.head(text, n)])[0] for n in (PROFILE_HEAD_TOKENS, JOB_HEAD_TOKENS))
    np.testing.assert_allclose(vectors[0, 0], short, atol=1e-5)
    np.testing.assert_allclose(vectors[1, 0], long, atol=1e-5)
    assert float(short @ long) < 0.999  # the two heads are different texts


def test_e5_reads_a_profile_further_and_its_vectors_say_so() -> None:
    """multilingual-e5-small reads 256 tokens of a profile's views; stored vectors carry how they were read,
    so a pool embedded another way is embedded again."""
    profile, job = _profile(text="Nurse"), _job(name="x")
    assert (head_tokens(profile, E5_MODEL), head_tokens(job, E5_MODEL)) == (256, JOB_HEAD_TOKENS)
    assert head_tokens(profile, "all-MiniLM-L6-v2") == head_tokens(profile) == PROFILE_HEAD_TOKENS
    assert vectors_tag(E5_MODEL) == f"{E5_MODEL}:heads256-{JOB_HEAD_TOKENS}"
    assert vectors_tag("all-MiniLM-L6-v2") == f"all-MiniLM-L6-v2:heads{PROFILE_HEAD_TOKENS}-{JOB_HEAD_TOKENS}"
