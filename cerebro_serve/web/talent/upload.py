"""A resume comes in: the consent boxes are checked, the file is queued for parsing into the copilot's
first source, and the visit carries the candidate's signed token from then on (for the profile's key,
known before it is parsed, so the status page cannot be pointed at anyone else's profile)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from litestar import Request
from litestar.datastructures import UploadFile
from litestar.exceptions import ClientException

from cerebro_serve.services.parsing import DocumentRejected, ProfileFileRequest
from cerebro_serve.web.calls import call, workspace_of
from cerebro_serve.web.copilot_visit import Visit
from cerebro_serve.web.talent.consent import ConsentForm

NO_CONSENT = "Please tick both consent boxes: we cannot read your resume without them."
NO_FILE = "Choose your resume file first."
TOO_LARGE = "The file is too large: send a resume of at most {megabytes} MB."
# What went wrong with a file, in plain words, by the reason the document reader gives.
REJECTED = {
    "empty": "The file is empty. Choose your resume file and try again.",
    "too_large": TOO_LARGE,
    "too_many_pages": "The file has too many pages for a resume: send one of at most {pages} pages.",
    "unsupported_type": "We cannot read this kind of file. Send your resume as PDF, DOCX, HTML or plain text.",
    "wrong_content_type": "We cannot read this kind of file. Send your resume as PDF, DOCX, HTML or plain text.",
    "needs_ocr": "This file is a scanned image. Send a PDF or DOCX whose text can be selected.",
}
UNREADABLE = (
    "We could not read this file: it may be damaged or protected by a password. Try another copy of your resume."
)


@dataclass(frozen=True)
class Refusal:
    """Why an upload was refused: a message (an English catalogue id), its values, and the HTTP status."""

    message: str
    status: int
    values: dict[str, Any]


@dataclass(frozen=True)
class Upload:
    consent: ConsentForm
    visit: Visit | None = None  # with the candidate's token, once accepted
    refusal: Refusal | None = None


def limits_of(request: Request) -> dict[str, Any]:
    limits = workspace_of(request).parsing.sandbox.limits
    return {"megabytes": limits.max_bytes // (1024 * 1024), "pages": limits.max_pages}


def rejected(request: Request, reason: str, status: int) -> Refusal:
    return Refusal(REJECTED.get(reason, UNREADABLE), status, limits_of(request))


async def receive(request: Request, visit: Visit) -> Upload:
    """Read the form, refuse what cannot go on (in plain words), queue the resume otherwise."""
    try:
        form = await request.form()
    except ClientException as error:  # a body over the server's limit
        if error.detail == "Request Entity Too Large" or error.status_code == 413:
            return Upload(ConsentForm(False, False, False), refusal=Refusal(TOO_LARGE, 413, limits_of(request)))
        raise
    consent = ConsentForm.of(dict(form.items()))
    if not consent.complete:
        return Upload(consent, refusal=Refusal(NO_CONSENT, 400, {}))
    upload = form.get("resume")
    if not isinstance(upload, UploadFile) or not upload.filename:
        return Upload(consent, refusal=Refusal(NO_FILE, 400, {}))
    content_type = upload.content_type if upload.content_type != "application/octet-stream" else None
    parsing = ProfileFileRequest(
        source_key=visit.copilot.source_key,
        data=await upload.read(),
        filename=upload.filename[-255:],
        content_type=content_type,
        consent_algorithmic=consent.consent(),
    )
    workspace = workspace_of(request)
    try:
        key = await call(workspace.parsing.enqueue_profile_file, parsing)
    except DocumentRejected as error:
        return Upload(consent, refusal=rejected(request, error.reason, error.status))
    return Upload(consent, visit=visit.with_candidate(workspace, key))
