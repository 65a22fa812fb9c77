"""Extraction runs in bounded worker processes: a slow or greedy file costs an error, not the server."""

from __future__ import annotations

import pytest
from helpers import ENGLISH_RESUME, make_pdf, make_sandbox

from cerebro_serve.parsing import DocumentError

PDF = make_pdf([ENGLISH_RESUME.split("\n")])


def test_extraction_happens_in_a_worker_and_returns_text() -> None:
    sandbox = make_sandbox(workers=1)
    try:
        assert sandbox.extract(PDF, "cv.pdf", None).text.startswith("Jane Roe")
    finally:
        sandbox.close()


def test_refusals_cross_the_process_boundary_intact() -> None:
    sandbox = make_sandbox(workers=1)
    try:
        with pytest.raises(DocumentError) as caught:
            sandbox.extract(make_pdf([["secret"]], encrypt=True), "cv.pdf", None)
        assert caught.value.reason == "encrypted"
    finally:
        sandbox.close()


def test_a_file_over_time_is_abandoned_and_the_sandbox_recovers() -> None:
    sandbox = make_sandbox(workers=1, timeout_seconds=0.001)
    try:
        with pytest.raises(DocumentError) as caught:
            sandbox.extract(PDF, "cv.pdf", None)
        assert caught.value.reason == "timeout"
        sandbox.timeout_seconds = 60
        assert "Jane Roe" in sandbox.extract(PDF, "cv.pdf", None).text
    finally:
        sandbox.close()


def test_a_worker_that_dies_of_its_memory_limit_is_an_error_not_a_crash() -> None:
    # 8 MiB of address space is too little for any worker: it dies, as one would on a greedy file.
    sandbox = make_sandbox(workers=1, memory_bytes=8 * 1024 * 1024)
    try:
        with pytest.raises(DocumentError) as caught:
            sandbox.extract(PDF, "cv.pdf", None)
        assert caught.value.reason == "too_complex"
    finally:
        sandbox.close()
