"""Parsing: `profile/parsing/file` (multipart, HrFlow), `profile/parsing` (GET), `job/parsing` (ours)."""

from __future__ import annotations

from typing import Annotated, Any

import msgspec
from litestar import Request, Response, get, post
from litestar.datastructures import UploadFile
from litestar.exceptions import ClientException, HTTPException

from cerebro_serve.api.contract import reads, writes
from cerebro_serve.api.copilot_scope import open_to, scoped
from cerebro_serve.api.envelope import envelope
from cerebro_serve.api.params import convert, decode_query, json_body
from cerebro_serve.api.routes.common import call, embedding_meta, workspace_of, written
from cerebro_serve.objects import Job, Profile
from cerebro_serve.services.errors import InvalidParameters
from cerebro_serve.services.parsing import ProfileFileFields, ProfileFileRequest, QueuedParsing
from cerebro_serve.services.queries import Key, ProfileQuery, RecordQuery

MAX_FILE_NAME = 255  # what file systems store; the name is kept with the profile's attachment


class ProfileFileForm(ProfileFileFields, kw_only=True):
    """The form fields of `profile/parsing/file` (lists arrive as JSON strings): the profile's fields and
    the HTTP call's own switches."""

    profile_content_type: str | None = None
    content_type: str | None = None
    sync_parsing: bool = False
    sync_parsing_indexing: bool = True


class JobParsingBody(msgspec.Struct, kw_only=True):
    text: Annotated[str, msgspec.Meta(pattern=r"\S", max_length=200_000)]  # something besides spaces
    board_key: Key | None = None
    reference: Key | None = None


class JobFileForm(msgspec.Struct, kw_only=True):
    """The form fields beside a job ad's `file` part."""

    board_key: Key | None = None
    reference: Key | None = None
    content_type: str | None = None


class ParsedProfile(msgspec.Struct):
    profile: Profile


class ParsedJob(msgspec.Struct):
    job: Job


class PendingParsing(msgspec.Struct, kw_only=True):
    key: str
    reference: str | None = None


async def _upload(request: Request) -> tuple[dict[str, Any], UploadFile]:
    content_type = request.headers.get("content-type", "")
    if not content_type.startswith("multipart/form-data"):
        raise InvalidParameters("send the file as multipart/form-data with a `file` part")
    try:
        form = await request.form()
    except ClientException as error:
        if error.detail == "Request Entity Too Large":  # Litestar's word for a part over the parser's limits
            raise HTTPException(status_code=413, detail="a form part (a file name or a field) is too long") from None
        raise
    upload = form.get("file")
    if not isinstance(upload, UploadFile):
        raise InvalidParameters("the `file` part is missing")
    if upload.filename and len(upload.filename) > MAX_FILE_NAME:
        raise InvalidParameters(f"the file name is longer than {MAX_FILE_NAME} characters")
    fields = {name: value for name, value in form.items() if name != "file" and isinstance(value, str)}
    return fields, upload


@post(
    "/profile/parsing/file",
    opt=open_to(
        writes(form=ProfileFileForm, answers={201: ParsedProfile, 202: PendingParsing}, errors=(409,), encodes=True),
        "talent",
    ),
    name="parse-profile-file",
    tags=["parsing"],
    summary="Parse a resume (PDF, DOCX, HTML, TXT) into a stored, indexed profile",
    description="`sync_parsing=1`: 201 with `data.profile`. `sync_parsing=0` (the SDK default): 202 with the "
    "key the profile will have; the file is kept until parsed, and `GET profile/parsing` tells. "
    "A parsed profile is always stored and indexed: `sync_parsing_indexing=0` changes nothing here.",
)
async def parse_profile_file(request: Request) -> Response:
    raw_fields, upload = await _upload(request)
    fields = scoped(request, convert(raw_fields, ProfileFileForm))
    content_type = fields.profile_content_type or fields.content_type
    parsing_request = ProfileFileRequest.of(fields, await upload.read(), upload.filename, content_type)
    parsing = workspace_of(request).parsing
    if not fields.sync_parsing:
        key = await call(parsing.enqueue_profile_file, parsing_request)
        return envelope(202, "Profile parsing accepted", {"key": key, "reference": fields.reference})
    profile = await call(parsing.parse_profile_file, parsing_request)
    meta = embedding_meta(workspace_of(request), profile)
    return written(request, 201, "Profile parsed", {"profile": profile}, profile.key, meta)


@get(
    "/profile/parsing",
    opt=reads(
        query=ProfileQuery,
        any_of=(RecordQuery.__struct_fields__,),
        answers={200: ParsedProfile, 202: PendingParsing},
    ),
    name="get-profile-parsing",
    tags=["parsing"],
    summary="The parsed profile, by `source_key` and `key`, `reference` or `profile_email`",
)
async def get_profile_parsing(request: Request) -> Response:
    query = decode_query(request, ProfileQuery)
    parsed = await call(workspace_of(request).parsing.parsed_profile, query.source_key, query.lookup)
    if isinstance(parsed, QueuedParsing):
        return envelope(202, f"Parsing in progress. profile key {parsed.key}", {"key": parsed.key})
    return envelope(200, "Profile parsing", {"profile": parsed})


@post(
    "/job/parsing",
    opt=open_to(
        writes(
            body=JobParsingBody,
            form=JobFileForm,
            answers={200: ParsedJob, 201: ParsedJob},
            errors=(409,),
            encodes=True,
            example={"text": "Data Engineer, London. Python, Spark and SQL; five years of pipelines."},
        ),
        "recruiter",
    ),
    name="parse-job",
    tags=["parsing"],
    summary="Parse a job ad (JSON `{text, board_key?}` or a multipart `file`); with a board, index it too",
)
async def parse_job(request: Request) -> Response:
    workspace = workspace_of(request)
    if request.headers.get("content-type", "").startswith("multipart/form-data"):
        raw_fields, upload = await _upload(request)
        form = scoped(request, convert(raw_fields, JobFileForm))
        text = await call(workspace.parsing.read, await upload.read(), upload.filename, form.content_type)
        body = JobParsingBody(text=text, board_key=form.board_key, reference=form.reference)
    else:
        body = scoped(request, convert(await json_body(request), JobParsingBody))
    extra = {"reference": body.reference} if body.reference else {}
    job = await call(workspace.parsing.parse_job_text, body.text, body.board_key, extra)
    if body.board_key is None:  # parsed, not stored: the caller's own text, structured
        return envelope(200, "Job parsed", {"job": job})
    return written(request, 201, "Job parsed", {"job": job}, job.key)
