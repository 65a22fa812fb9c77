"""Stereotype (counterfactual) and overload bias probes: the copies change only what they say they change,
identical copies move nothing, the encoder's reading of a name shows, and exposure is counted as the
ranking route shows it."""

from __future__ import annotations

import msgspec
import numpy as np
import pytest

from cerebro_serve.objects import JOB, PROFILE, ConsentAlgorithmic, Education, Experience, Info, Job, Profile
from cerebro_serve.scoring.algorithms import base_algorithm
from cerebro_serve.services import Workspace
from cerebro_serve.services.bias_probes import gini, overload_bias, stereotype_bias, top_share
from cerebro_serve.services.counterfactuals import born_shifted, gendered, with_first_name
from cerebro_serve.services.queries import JobsStoringQuery, PoolCreate, ProfilesScoringQuery

RESUME = "{name} Roe\n{upper} ROE\nBackend engineer: Python, Django, PostgreSQL, Docker. {name}'s team shipped APIs."
JOBS = (
    {"name": "Python Backend Engineer", "summary": "Django REST APIs.", "skills": [{"name": "Python"}]},
    {"name": "Registered Nurse", "summary": "Intensive care unit, patient assessment.", "skills": [{"name": "Triage"}]},
    {"name": "Head Chef", "summary": "Seafood restaurant kitchen brigade.", "skills": [{"name": "Menu design"}]},
)
OTHERS = (
    "Registered nurse in an intensive care unit: patient assessment, IV therapy, triage.",
    "Head chef of a seafood restaurant: menu design, kitchen brigade management, food safety.",
    "Chartered accountant: IFRS financial statements, audits, tax returns.",
    "Data engineer: Python, Spark and SQL pipelines on Hadoop.",
    "Primary school teacher: lesson plans, classroom management.",
)


def _named(name: str) -> Profile:
    return Profile(
        text=RESUME.format(name=name, upper=name.upper()),
        info=Info(first_name=name, last_name="Roe", full_name=f"{name} Roe", email=f"{name.lower()}@mail.example"),
        experiences=[Experience(title="Engineer", description=f"{name} led a team of four; Janet reviewed.")],
    )


def test_a_name_swap_edits_exactly_the_name_tokens() -> None:
    original = _named("Jane")
    swapped = with_first_name(original, "Lakisha")
    assert swapped.text == RESUME.format(name="Lakisha", upper="LAKISHA")
    assert swapped.info.first_name == "Lakisha" and swapped.info.full_name == "Lakisha Roe"
    assert swapped.experiences[0].description == "Lakisha led a team of four; Janet reviewed."
    assert swapped.info.email == original.info.email  # contacts are not what a reader of the resume sees
    restored = with_first_name(swapped, "Jane")
    assert restored == original
    unnamed = Profile(text="Jane is not the profile's name here.")
    assert with_first_name(unnamed, "Greg") == unnamed


def test_gendered_words_turn_both_ways_and_nothing_else() -> None:
    original = Profile(
        text="He was a Waiter, then CHAIRMAN; his team. Mr. Roe. Shell, hello, human.",
        info=Info(gender="male", summary="He manages."),
        educations=[Education(title="Salesman training")],
    )
    feminine = gendered(original, "female")
    assert feminine.text == "She was a Waitress, then CHAIRWOMAN; her team. Ms. Roe. Shell, hello, human."
    assert feminine.info.gender == "female" and feminine.info.summary == "She manages."
    assert feminine.educations[0].title == "Saleswoman training"
    assert gendered(feminine, "male") == original
    assert gendered(original, "male") == original


def test_a_birth_year_shift_moves_birth_lines_only() -> None:
    original = Profile(
        text="Date of birth: 03/04/1985\nAge: 40\n2010 - 2015 Engineer at Acme (founded 1985)",
        info=Info(date_birth="1985-04-03"),
    )
    older = born_shifted(original, -20)
    assert older.text == "Date of birth: 03/04/1965\nAge: 60\n2010 - 2015 Engineer at Acme (founded 1985)"
    assert older.info.date_birth == "1965-04-03"
    assert born_shifted(Profile(text="2010 - 2015 Engineer"), 20) == Profile(text="2010 - 2015 Engineer")


def test_gini_and_top_share_on_hand_computed_cases() -> None:
    assert gini(np.full(7, 3.0)) == 0.0
    assert gini(np.zeros(5)) == 0.0
    assert gini(np.array([0, 0, 0, 1])) == pytest.approx(0.75)
    values = np.array([4.0, 1.0, 3.0, 2.0])
    pairwise = np.abs(values[:, None] - values[None, :]).sum() / (2 * len(values) ** 2 * values.mean())
    assert gini(values) == pytest.approx(pairwise) == pytest.approx(0.25)
    exposure = np.ones(300)
    exposure[[7, 70, 170]] = 50  # the top 1% of 300 profiles is 3 of them
    assert top_share(exposure) == pytest.approx(150 / (150 + 297))
    assert top_share(np.ones(50)) == pytest.approx(1 / 50)  # at least one profile


def _index(workspace: Workspace, names: tuple[str, ...]) -> tuple[str, str]:
    """A source of named and unnamed profiles and a board of the jobs, through the record service."""
    source = workspace.pools.create(PROFILE, PoolCreate(name="Candidates")).key
    board = workspace.pools.create(JOB, PoolCreate(name="Jobs")).key
    workspace.records.index(JOB, board, [msgspec.convert(job, Job) for job in JOBS])
    named = [msgspec.structs.replace(_named(name), reference=name) for name in names]
    workspace.records.index(PROFILE, source, [*named, *(Profile(text=text) for text in OTHERS)])
    return source, board


def test_identical_copies_move_no_score_and_no_rank(workspace) -> None:
    source, board = _index(workspace, ("Alex",))
    alex_only = {cell: ("Alex",) for cell in (("A", "female"), ("A", "male"), ("B", "female"), ("B", "male"))}
    report = stereotype_bias(
        workspace.records,
        workspace.reads,
        base_algorithm(),
        [board],
        [source],
        top_k=3,
        names=alex_only,
        names_source="test",
    )
    names = [effect for effect in report.effects if effect.edit.startswith("first_name")]
    assert [(effect.profiles, effect.comparisons) for effect in names] == [(1, 2 * len(JOBS))] * 2
    for effect in names:
        assert effect.max_abs_delta == 0 and effect.top_k_flips == 0 and effect.max_rank_shift == 0
        assert effect.top_k_rank_shift == 0
        assert effect.counterfactual_higher == 0 and effect.baseline_higher == 0
    words = next(effect for effect in report.effects if effect.edit == "gendered_words")
    assert words.profiles == 0 and words.comparisons == 0 and words.mean_abs_delta is None


def test_a_name_the_encoder_reads_moves_the_score(workspace) -> None:
    source, board = _index(workspace, ("Alex", "Jane"))
    report = stereotype_bias(workspace.records, workspace.reads, base_algorithm(), [board], [source], top_k=3)
    encoded = msgspec.json.decode(msgspec.json.encode(report))
    assert encoded["profiles"] == 7 and encoded["pool_size"] == 7 and encoded["jobs"] == len(JOBS)
    gender = next(effect for effect in encoded["effects"] if effect["edit"] == "first_name_gender")
    assert gender["profiles"] == 2 and gender["mean_abs_delta"] > 0
    assert gender["p99_abs_delta"] <= gender["max_abs_delta"]
    assert 0 <= gender["top_k_flips"] <= 1 and gender["max_rank_shift"] <= 6
    assert {effect["edit"] for effect in encoded["effects"]} == {
        "first_name_gender",
        "first_name_ethnicity",
        "gendered_words",
        "birth_year",
    }


def test_profiles_closed_to_audits_or_scoring_are_not_copied(workspace) -> None:
    source, board = _index(workspace, ())
    closed = msgspec.structs.replace(_named("Jane"), consent_algorithmic=ConsentAlgorithmic(owner={"learning": False}))
    unscored = msgspec.structs.replace(_named("Greg"), consent_algorithmic=ConsentAlgorithmic(owner={"scoring": False}))
    workspace.records.index(PROFILE, source, [closed, unscored])  # the second is never ranked, so not probed
    report = stereotype_bias(workspace.records, workspace.reads, base_algorithm(), [board], [source])
    assert (report.profiles, report.without_consent, report.pool_size) == (len(OTHERS), 1, len(OTHERS) + 1)
    assert all(effect.profiles == 0 and effect.comparisons == 0 for effect in report.effects)  # no name, no word


def test_exposure_counts_the_ranking_routes_top_k(workspace) -> None:
    source, board = _index(workspace, ("Alex", "Jane"))
    report = overload_bias(workspace.records, workspace.reads, base_algorithm(), [board], [source], top_k=3)
    shown: dict[str, int] = {}
    for job in workspace.records.list(JOB, JobsStoringQuery(board_keys=[board])).items:
        query = ProfilesScoringQuery(
            source_keys=[source], board_key=board, job_key=job["key"], sort_by="scoring", limit=3
        )
        for profile in workspace.ranking.score_profiles(query).items:
            shown[profile.key] = shown.get(profile.key, 0) + 1
    assert {item.profile_key: item.slots for item in report.most_exposed} == shown
    assert report.slots == 3 * len(JOBS) and report.pool_size == 7 and report.top_profiles == 1
    assert report.top_share == pytest.approx(max(shown.values()) / report.slots)
    assert report.gini == pytest.approx(gini(np.array([*shown.values(), *[0] * (7 - len(shown))])))
    assert report.lorenz[0] == 0 and report.lorenz[-1] == pytest.approx(1)
    assert [drift.pool_size for drift in report.drift] == [1, 2, 4, 7]
    assert report.drift[-1].top1_mean >= report.drift[0].top1_mean  # the full pool holds every subsample
