"""Parsing use cases: a resume file into a stored, indexed Profile; a job ad into a Job."""

from __future__ import annotations

import hashlib
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import msgspec

from cerebro_serve.engine.batcher import QueueFull
from cerebro_serve.objects import JOB, PROFILE, Attachment, ConsentAlgorithmic, GeneralEntity, Job, Label, Profile
from cerebro_serve.parsing.documents import precheck
from cerebro_serve.parsing.documents_errors import DocumentError
from cerebro_serve.parsing.jobs import parse_job
from cerebro_serve.parsing.resume import parse_resume
from cerebro_serve.parsing.sandbox import DocumentSandbox
from cerebro_serve.parsing.taxonomy import Lexicon
from cerebro_serve.services.errors import InvalidParameters, NotFound, ServiceError
from cerebro_serve.services.parsing_queue import ParsingQueue
from cerebro_serve.services.queries import RecordLookup
from cerebro_serve.services.records import RecordService

BUSY_WAIT_SECONDS = 120  # how long a queued file waits for a busy encoder before it is failed
# How each refusal reads over HTTP: too big is 413, not a format we read is 415, the rest is the file's fault.
REASON_STATUS = {
    "too_large": 413,
    "too_many_pages": 413,
    "unsupported_type": 415,
    "wrong_content_type": 415,
    "needs_ocr": 415,
    "timeout": 422,
    "too_complex": 422,
    "unreadable": 422,
}


class DocumentRejected(ServiceError):
    prefix = "Invalid file. "

    def __init__(self, error: DocumentError) -> None:
        super().__init__(f"{error.message} (reason: {error.reason})")
        self.status = REASON_STATUS.get(error.reason, 400)
        self.reason = error.reason


@dataclass(frozen=True, slots=True)
class QueuedParsing:
    """A file accepted but not parsed yet: the key its profile will have."""

    key: str


class ParsingFailed(ServiceError):
    prefix = "Parsing failed. "


class ProfileFileFields(msgspec.Struct, kw_only=True):
    """What a resume upload says of its profile besides the file (HrFlow's form fields), declared once:
    the HTTP form adds its own switches to these, the queued request adds the file."""

    source_key: str
    key: str | None = None
    reference: str | None = None
    created_at: str | None = None
    tags: list[GeneralEntity] = []
    metadatas: list[GeneralEntity] = []
    labels: list[Label] = []

    def profile_fields(self) -> dict[str, Any]:
        """The fields the stored profile takes as given (all but the source)."""
        return {name: getattr(self, name) for name in ProfileFileFields.__struct_fields__ if name != "source_key"}


class ProfileFileRequest(ProfileFileFields, kw_only=True):
    """A resume file and its fields; JSON-encoded into the parsing queue when parsed later."""

    data: bytes
    filename: str | None = None
    content_type: str | None = None
    # The person's consent, given with the upload (the Talent Copilot's checkboxes): stored with the profile
    # from its first write, so no operation it refuses ever runs on it.
    consent_algorithmic: ConsentAlgorithmic | None = None

    @classmethod
    def of(
        cls, fields: ProfileFileFields, data: bytes, filename: str | None, content_type: str | None
    ) -> ProfileFileRequest:
        given = {name: getattr(fields, name) for name in ProfileFileFields.__struct_fields__}
        return cls(**given, data=data, filename=filename, content_type=content_type)


def _queued(request: ProfileFileRequest) -> bytes:
    """JSON, not msgpack: a form field may hold any JSON number, and msgpack stops at 64 bits."""
    return msgspec.json.encode(request)


def _dequeued(payload: bytes) -> ProfileFileRequest:
    if payload[:1] == b"{":
        return msgspec.json.decode(payload, type=ProfileFileRequest)
    return msgspec.msgpack.decode(payload, type=ProfileFileRequest)  # queued by 0.1.0, before JSON


class ParsingService:
    def __init__(self, records: RecordService, sandbox: DocumentSandbox, lexicon: Callable[[], Lexicon]) -> None:
        self.records = records
        self.sandbox = sandbox
        self._lexicon = lexicon
        self.queue = ParsingQueue(records.store, self._parse_queued)

    def enqueue_profile_file(self, request: ProfileFileRequest) -> str:
        """Accept a resume for parsing later; returns the key its profile will have. Durable on return."""
        self.records.pools.require(PROFILE, request.source_key)
        try:
            precheck(request.data, request.filename, request.content_type, self.sandbox.limits)
        except DocumentError as error:
            raise DocumentRejected(error) from None
        key = request.key or secrets.token_hex(20)
        self.records.check_new(PROFILE, request.source_key, [Profile(key=key, reference=request.reference)])
        request = msgspec.structs.replace(request, key=key)
        self.records.store.parsing_jobs.enqueue_parsing(key, request.source_key, request.reference, _queued(request))
        self.queue.wake()
        return key

    def parsed_profile(self, source_key: str, lookup: RecordLookup) -> Profile | QueuedParsing:
        """The profile a file became, or, while it waits, the key it will have; if it failed, why."""
        try:
            return self.records.get(PROFILE, source_key, lookup)
        except NotFound:
            job = self.records.store.parsing_jobs.find_parsing(source_key, key=lookup.key, reference=lookup.reference)
            if job is None or job.status == "succeeded":
                raise
            if job.status in ("queued", "running"):
                return QueuedParsing(job.key)
            raise ParsingFailed(job.error or "parsing failed") from None

    def read(self, data: bytes, filename: str | None, content_type: str | None) -> str:
        try:
            return self.sandbox.extract(data, filename, content_type).text
        except DocumentError as error:
            raise DocumentRejected(error) from None

    def parse_profile_file(self, request: ProfileFileRequest) -> Profile:
        """Read, structure, store and index a resume; nothing is stored when any step fails."""
        self.records.pools.require(PROFILE, request.source_key)
        text = self.read(request.data, request.filename, request.content_type)
        parsed = parse_resume(text, self._lexicon())
        extension = (
            request.filename.rsplit(".", 1)[-1].lower() if request.filename and "." in request.filename else None
        )
        attachment = Attachment(
            type="resume",
            alt=hashlib.sha1(request.data).hexdigest(),
            file_size=len(request.data),
            file_name=request.filename,
            original_file_name=request.filename,
            extension=extension,
        )
        profile = msgspec.structs.replace(
            parsed,
            **request.profile_fields(),
            attachments=[attachment],
            consent_algorithmic=request.consent_algorithmic,
        )
        [stored] = self.records.index(PROFILE, request.source_key, [profile])
        return stored

    def _parse_queued(self, payload: bytes) -> None:
        """A queued file waits out a busy encoder (a training embedding its set, a burst of indexing)
        rather than failing for good: the caller was promised it would be parsed."""
        request = _dequeued(payload)
        deadline = time.monotonic() + BUSY_WAIT_SECONDS
        while True:
            try:
                self.parse_profile_file(request)
                return
            except QueueFull as busy:
                if time.monotonic() + busy.retry_after > deadline:
                    raise
                time.sleep(busy.retry_after)

    def parse_job_text(self, text: str, board_key: str | None, fields: dict[str, Any]) -> Job:
        """Structure a job ad; with a board, also store and index it."""
        if not text.strip():
            raise InvalidParameters("`text` is empty")
        job = parse_job(text, self._lexicon())
        if fields:
            job = msgspec.structs.replace(job, **fields)
        if board_key is None:
            return job
        [stored] = self.records.index(JOB, board_key, [job])
        return stored
