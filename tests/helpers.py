"""Small builders shared by the API tests."""

from __future__ import annotations

from typing import Any

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
