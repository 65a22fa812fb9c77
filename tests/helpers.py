"""Small builders shared by the API tests."""

from __future__ import annotations

import dataclasses
import io
import time
from pathlib import Path
from typing import Any

import docx
from fpdf import FPDF

from cerebro_serve.cli import gate_policy, open_batcher
from cerebro_serve.engine.batcher import DynamicBatcher
from cerebro_serve.parsing.sandbox import DocumentSandbox
from cerebro_serve.services import Workspace
from cerebro_serve.services.index_sync import IndexSharing
from cerebro_serve.settings import Settings
from cerebro_serve.store import SqlStore

SETTINGS = Settings()  # the server's defaults, which tests use unless they need otherwise
# A Paris job, and where its candidates live (the training tests learn Paris over Lyon).
PARIS = {"lat": 48.8566, "lng": 2.3522}
LYON = {"lat": 45.764, "lng": 4.8357}
PARIS_PYTHON_JOB = {
    "name": "Python backend developer",
    "summary": "Build Django APIs for our Paris office.",
    "requirements": "3 years of Python and PostgreSQL.",
    "skills": [{"name": "Python", "type": "hard"}],
    "location": {"text": "Paris", **PARIS},
}


def make_batcher(encoder: Any, **overrides: Any) -> DynamicBatcher:
    """A dynamic batcher with the server's default settings, overridden (by setting name) where a test
    needs it, wired as the server wires its own."""
    return open_batcher(encoder, dataclasses.replace(SETTINGS, **overrides))


def head_of(encoder: Any, text: str, tokens: int) -> str:
    """The head of a text the encoder reads, as a record's views are cut."""
    return encoder.head_cutter().cut_heads([text], [tokens]).pieces[0]


def wait_for_training(workspace: Workspace, algorithm_key: str, timeout: float = 240) -> dict[str, Any]:
    """The algorithm's last training once it finished (it runs on the workspace's worker thread)."""
    deadline = time.monotonic() + timeout
    training_key = workspace.store.learning.last_training(algorithm_key).key
    while (training := workspace.training.get(training_key))["status"] in ("queued", "running"):
        assert time.monotonic() < deadline, training
        time.sleep(0.5)
    return training


def make_sandbox(**overrides: Any) -> DocumentSandbox:
    return DocumentSandbox(**{"timeout_seconds": SETTINGS.parse_timeout_seconds, **overrides})


def make_workspace(store: SqlStore, encoder: Any, index_dir: Path, admin_key: str, **options: Any) -> Workspace:
    """A workspace on the server's default settings, as the CLI wires one (`options`: more of its
    keyword arguments)."""
    return Workspace(
        store,
        encoder,
        index_dir,
        admin_key,
        make_sandbox(),
        embed_max_chars=SETTINGS.embed_max_chars,
        audit_retention_days=SETTINGS.audit_retention_days,
        release_gate=gate_policy(SETTINGS),
        index_sharing=IndexSharing(SETTINGS.index_sync_seconds, SETTINGS.index_snapshot_changes),
        **options,
    )


def stop_workspace(workspace: Workspace) -> None:
    """Stop a test workspace's threads and release its index directory, before its store (and, on
    PostgreSQL, its schema) goes away; the store itself belongs to the test."""
    workspace.stop_background()
    workspace.recorder.close()
    workspace.audit.close()
    if workspace.index_sync is not None:
        workspace.index_sync.stop()
    workspace.registry.close()


def python_and_php_pair(client: Any) -> dict[str, str]:
    """A source with a Python and a PHP profile (by reference) and a board with the Python job."""
    source = client.post("/v1/source", json={"name": "Candidates"}).json()["data"]["key"]
    board = client.post("/v1/board", json={"name": "Jobs"}).json()["data"]["key"]
    for reference, skills in (("python", ["Python", "Django"]), ("php", ["PHP"])):
        body = {
            "source_key": source,
            "reference": reference,
            "info": {"full_name": reference},
            "skills": [{"name": name, "type": "hard"} for name in skills],
        }
        assert client.post("/v1/profile/indexing", json=body).status_code == 201
    job = client.post("/v1/job/indexing", json={**PYTHON_JOB, "board_key": board}).json()["data"]
    return {"source": source, "board": board, "job": job["key"]}


PYTHON_RESUME = (
    "Senior Python backend engineer. Eight years building REST APIs with Django and FastAPI, "
    "PostgreSQL query tuning, Docker and Kubernetes deployments on AWS, CI/CD pipelines."
)
NURSE_RESUME = "Registered nurse in an intensive care unit: patient assessment, IV therapy, triage, ACLS."
CHEF_RESUME = "Head chef of a seafood restaurant: menu design, kitchen brigade management, food safety."
ACCOUNTANT_RESUME = "Chartered accountant: IFRS financial statements, audits, tax returns, SAP reconciliations."

PYTHON_JOB = {
    "name": "Senior Python Backend Engineer",
    "summary": "Build and run our Django REST APIs on Kubernetes.",
    "requirements": "5+ years of Python, PostgreSQL, Docker, AWS.",
    "skills": [{"name": "Python", "type": "hard"}, {"name": "Django", "type": "hard"}],
}


def profile(text: str, **fields: Any) -> dict[str, Any]:
    body: dict[str, Any] = {"text": text, "info": {"full_name": fields.pop("full_name", "Test Person")}}
    body.update(fields)
    return body


def make_pdf(pages: list[list[str]], *, two_columns: bool = False, encrypt: bool = False) -> bytes:
    pdf = FPDF(format="A4")
    if encrypt:
        pdf.set_encryption(owner_password="owner", user_password="user")
    pdf.set_font("helvetica", size=10)
    for lines in pages:
        pdf.add_page()
        if two_columns:
            # Written row by row, as many generators do: content order interleaves the columns.
            half = len(lines) // 2
            for row, (left, right) in enumerate(zip(lines[:half], lines[half:])):
                pdf.set_xy(10, 20 + 6 * row)
                pdf.cell(w=85, h=6, text=left)
                pdf.set_xy(115, 20 + 6 * row)
                pdf.cell(w=85, h=6, text=right)
        else:
            for line in lines:
                pdf.cell(w=0, h=6, text=line, new_x="LMARGIN", new_y="NEXT")
    return bytes(pdf.output())


def make_docx(paragraphs: list[str], table: list[list[str]] | None = None) -> bytes:
    document = docx.Document()
    for paragraph in paragraphs:
        document.add_paragraph(paragraph)
    if table:
        grid = document.add_table(rows=len(table), cols=len(table[0]))
        for row, values in zip(grid.rows, table):
            for cell, value in zip(row.cells, values):
                cell.text = value
    buffer = io.BytesIO()
    document.save(buffer)
    return buffer.getvalue()


ENGLISH_RESUME = """Jane Roe
jane.roe@example.com | +44 20 7946 0958 | linkedin.com/in/janeroe
London, United Kingdom
Summary
Backend engineer with eight years of Python and PostgreSQL experience.
Experience
Senior Software Engineer, Northwind Software, London
March 2019 - Present
- Built REST APIs with Django and Docker.
- Ran PostgreSQL in production.
Software Developer, Bluefin Labs, Leeds
2015 - 2019
- Wrote Java services and SQL reports.
Education
MSc Computer Science, University of Leeds
2013 - 2015
Skills
Python, Django, PostgreSQL, Docker, Kubernetes, teamwork
Languages
English (native), French (B2)
"""

FRENCH_RESUME = """Claire Dubois
claire.dubois@example.fr - 06 12 34 56 78
Profil
Développeuse logiciel passionnée par les systèmes distribués.
Expérience professionnelle
janv. 2019 – présent
Ingénieure logiciel, Cobalt Systems, Lyon
- Conception de services en Python et gestion de projets.
sept. 2015 - déc. 2018
Développeuse, Atlas, Paris
- Développement Java et bases de données SQL.
Formation
2013 - 2015
Master Informatique, Université de Lyon
Compétences
Python, Java, SQL, gestion de projets
Langues
Français (langue maternelle), Anglais (courant)
"""
