"""Bulk import: JSON Lines of profiles or jobs and folders of resumes land once, refusals are listed with
where and why, and an import interrupted half way stores only the rest when it runs again."""

from __future__ import annotations

import json
from pathlib import Path

import msgspec
import numpy as np
import pytest
from helpers import ACCOUNTANT_RESUME, CHEF_RESUME, ENGLISH_RESUME, FRENCH_RESUME, NURSE_RESUME, PYTHON_RESUME

from cerebro_serve.cli import main
from cerebro_serve.objects import JOB, PROFILE
from cerebro_serve.services import Workspace, record_import
from cerebro_serve.services.queries import JobsStoringQuery, ProfilesStoringQuery
from cerebro_serve.store import SqlStore


def _lines(path: Path, rows: list) -> Path:
    path.write_text("\n".join(row if isinstance(row, str) else json.dumps(row) for row in rows) + "\n")
    return path


def _references(workspace: Workspace, source: str) -> list[str]:
    query = ProfilesStoringQuery(source_keys=[source], limit=100, return_profile=True)
    return sorted(p.reference for p in workspace.records.list(PROFILE, query).items)


def test_lines_land_once_and_refusals_say_where(workspace: Workspace, pools, tmp_path: Path) -> None:
    source, board = pools
    path = _lines(
        tmp_path / "people.jsonl",
        [
            {"reference": "ada", "text": "Ada, Python developer", "source_key": "ignored"},
            {"text": "Grace, COBOL and compilers"},  # no reference: given "people.jsonl:2"
            "{not json",
            {"reference": "bob", "skills": "many"},  # skills must be a list
            {"reference": "eve", "text": "Eve, security engineer"},
            {"reference": "eve", "text": "Eve again"},  # the same reference twice
            {"reference": "zed", "key": "not-hex", "text": "A key that is not 40 hex characters"},
        ],
    )
    seen: list[int] = []
    first = workspace.importer.import_lines(PROFILE, source, path, seen.append)
    assert (first.stored, first.already, sum(seen)) == (3, 0, 7)
    refused = dict(first.refused)
    assert list(refused) == ["people.jsonl:3", "people.jsonl:4", "people.jsonl:6", "people.jsonl:7"]
    assert "given twice" in refused["people.jsonl:6"] and "`key`" in refused["people.jsonl:7"]
    assert "skills" in refused["people.jsonl:4"]
    assert _references(workspace, source) == ["ada", "eve", "people.jsonl:2"]
    again = workspace.importer.import_lines(PROFILE, source, path, lambda _: None)
    assert (again.stored, again.already, len(again.refused)) == (0, 3, 4)  # the repeated "eve" is refused again
    assert _references(workspace, source) == ["ada", "eve", "people.jsonl:2"]

    # j2 refuses the batch the encoder was to embed with j1; the two go one by one and j1 lands.
    jobs = _lines(tmp_path / "jobs.jsonl", [{"reference": "j1", "name": "Data engineer"}, {"reference": "j2"}])
    summary = workspace.importer.import_lines(JOB, board, jobs, lambda _: None)
    assert summary.stored == 1 and summary.refused == [("jobs.jsonl:2", "a job needs a `name`")]
    assert workspace.records.list(JOB, JobsStoringQuery(board_keys=[board])).total == 1


def test_an_interrupted_import_stores_the_rest_when_run_again(
    workspace: Workspace, pools, tmp_path: Path, monkeypatch
) -> None:
    source, _ = pools
    monkeypatch.setattr(record_import, "BATCH", 2)
    path = _lines(tmp_path / "many.jsonl", [{"reference": f"p{n}", "text": f"Profile {n}"} for n in range(7)])

    def interrupt_after_two_batches(count: int, done: list[int] = []) -> None:  # noqa: B006 - a counter
        done.append(count)
        if sum(done) >= 4:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        workspace.importer.import_lines(PROFILE, source, path, interrupt_after_two_batches)
    assert len(_references(workspace, source)) == 4
    rest = workspace.importer.import_lines(PROFILE, source, path, lambda _: None)
    assert (rest.stored, rest.already) == (3, 4)
    assert _references(workspace, source) == [f"p{n}" for n in range(7)]


def test_worker_processes_prepare_what_the_importing_process_would(
    workspace: Workspace, pools, tmp_path: Path, monkeypatch
) -> None:
    """Features and view texts computed in a spawned worker, batches committed in file order: the stored
    features are the ones this process computes, the vectors the ones it embeds."""
    source, _ = pools
    monkeypatch.setattr(record_import, "BATCH", 2)  # several batches in flight at once
    monkeypatch.setattr(workspace.importer, "workers", 1)
    texts = [PYTHON_RESUME, NURSE_RESUME, CHEF_RESUME, ACCOUNTANT_RESUME, ENGLISH_RESUME, FRENCH_RESUME]
    rows = [{"reference": f"r{n}", "text": text} for n, text in enumerate(texts)]
    rows.insert(
        3, {"reference": "no-consent", "text": NURSE_RESUME, "consent_algorithmic": {"owner": {"embedding": False}}}
    )
    summary = workspace.importer.import_lines(PROFILE, source, _lines(tmp_path / "w.jsonl", rows), lambda _: None)
    assert (summary.stored, summary.already, summary.refused) == (len(rows), 0, [])
    stored = sorted(workspace.store.records.index_rows(source), key=lambda row: row.id)
    records = [msgspec.json.decode(row.body, type=PROFILE.type) for row in stored]
    assert [record.reference for record in records] == [row["reference"] for row in rows]  # file order
    for row, (_, embedding, features) in zip(stored, workspace.records.describe(records)):
        assert row.features == features.encode()
        if row.embedding:
            np.testing.assert_allclose(workspace.registry.views(row.embedding), embedding, atol=1e-5)
        else:
            assert not embedding.any()
    assert [bool(row.embedding) for row in stored] == [True, True, True, False, True, True, True]


def test_a_folder_of_resumes_is_parsed_into_the_source(workspace: Workspace, pools, tmp_path: Path) -> None:
    source, _ = pools
    folder = tmp_path / "resumes"
    (folder / "2024").mkdir(parents=True)
    (folder / "ada.txt").write_text(PYTHON_RESUME)
    (folder / "2024" / "grace.txt").write_text(PYTHON_RESUME.replace("Python", "Java"))
    (folder / "empty.txt").write_bytes(b"")
    summary = workspace.importer.import_resumes(source, folder, lambda _: None)
    assert summary.stored == 2 and [where for where, _ in summary.refused] == ["empty.txt"]
    assert _references(workspace, source) == ["2024/grace.txt", "ada.txt"]
    again = workspace.importer.import_resumes(source, folder, lambda _: None)
    assert (again.stored, again.already) == (0, 2)


def test_the_cli_imports_with_a_progress_bar_and_says_what_it_refused(tmp_path: Path, monkeypatch, capsys) -> None:
    for name in ("CEREBRO_DATABASE_URL", "CEREBRO_API_KEY", "CEREBRO_DATA_DIR"):
        monkeypatch.delenv(name, raising=False)
    data = tmp_path / "data"
    data.mkdir()
    store = SqlStore(f"sqlite:///{data / 'cerebro.db'}")
    store.pools.create_pool("source", "s" * 40, "Candidates", None)
    store.close()
    path = _lines(tmp_path / "p.jsonl", [{"reference": "a", "text": "Python developer"}, "[1]"])
    assert main(["--data-dir", str(data), "import", "profiles", "s" * 40, str(path)]) == 1
    out, err = capsys.readouterr()
    assert "1 stored, 0 already stored, 1 refused" in out and "p.jsonl:2: " in err and "records" in err
    assert main(["--data-dir", str(data), "import", "jobs", "s" * 40, str(path)]) == 2  # not a board
