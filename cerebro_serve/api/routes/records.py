"""Profile and job storage: `{kind}/indexing` (POST, PUT, GET), `{kind}/indexing/archive`, `storing/{kinds}`;
a profile's erasure (`DELETE profile`)."""

from __future__ import annotations

from typing import Annotated, Any

import msgspec
from litestar import Request, Response, delete, get, patch, post, put
from litestar.handlers import HTTPRouteHandler

from cerebro_serve.api.auth import KEY_PERMISSION
from cerebro_serve.api.contract import reads, writes
from cerebro_serve.api.envelope import envelope
from cerebro_serve.api.params import convert, decode_query, json_body
from cerebro_serve.api.routes.common import call, embedding_meta, required_string, workspace_of, written
from cerebro_serve.objects import JOB, PROFILE, Job, RecordKind
from cerebro_serve.services.errors import Forbidden, InvalidParameters
from cerebro_serve.services.queries import (
    JobArchive,
    JobQuery,
    JobsStoringQuery,
    Key,
    ProfileArchive,
    ProfileErasure,
    ProfileQuery,
    ProfilesStoringQuery,
    RecordQuery,
)
from cerebro_serve.services.records import Erasure

Name = Annotated[str, msgspec.Meta(min_length=1)]


class ArchivedKey(msgspec.Struct):
    key: str


class ErasedProfile(msgspec.Struct):
    key: str
    removed: Erasure


# What the documentation shows as a body; `<pool key>` is the one thing to fill in.
EXAMPLES: dict[str, dict[str, Any]] = {
    "profile": {
        "reference": "cand-0042",
        "info": {"full_name": "Ada Lovelace", "email": "ada@example.org", "location": {"text": "London"}},
        "text": "Data engineer: Python, Spark, SQL; five years building pipelines.",
        "skills": [{"name": "python", "type": "hard"}],
    },
    "job": {
        "reference": "req-7",
        "name": "Data Engineer",
        "location": {"text": "London"},
        "summary": "Build and run our data pipelines (Python, Spark, SQL).",
    },
}


def split_record_body(kind: RecordKind, body: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    """The pool key and the object's fields, from the SDK's flat body or the wrapped `{pool_key, kind}` one."""
    pool_key = required_string(body, kind.pool_key_field)
    wrapped = body.get(kind.name)
    if wrapped is not None:
        if not isinstance(wrapped, dict):
            raise InvalidParameters(f"`{kind.name}` must be a JSON object")
        return pool_key, wrapped
    fields = {name: value for name, value in body.items() if name != kind.pool_key_field}
    return pool_key, fields


def _bodies(kind: RecordKind) -> tuple[type, type, type]:
    """The shapes of a record body, for the OpenAPI document: the record's fields beside its pool key
    (what the SDK sends) or wrapped under its kind's name, to create; the fields to change, to edit.
    A job is stored only with a name, so creating one needs it and an edit cannot blank it."""
    title = kind.name.title()
    pool_key = (kind.pool_key_field, Key)
    fields: type = kind.type
    changes: list[tuple[Any, ...]] = [pool_key]
    if kind is JOB:
        fields = msgspec.defstruct("JobFields", [("name", Name)], bases=(Job,), kw_only=True)
        changes.append(("name", Name | msgspec.UnsetType, msgspec.UNSET))
    create = msgspec.defstruct(f"{title}Body", [pool_key], bases=(fields,), kw_only=True)
    wrapped = msgspec.defstruct(f"{title}Wrapped", [pool_key, (kind.name, fields)], kw_only=True)
    edit = msgspec.defstruct(f"{title}Edit", changes, bases=(kind.type,), kw_only=True)
    return create, wrapped, edit


def record_handlers(kind: RecordKind) -> list[HTTPRouteHandler]:
    title = kind.name.title()
    storing_query = ProfilesStoringQuery if kind is PROFILE else JobsStoringQuery
    record_query: type[ProfileQuery | JobQuery] = ProfileQuery if kind is PROFILE else JobQuery
    archive_request: type[ProfileArchive | JobArchive] = ProfileArchive if kind is PROFILE else JobArchive
    create, wrapped, changes = _bodies(kind)

    @post(
        f"/{kind.name}/indexing",
        opt=writes(
            body=(create, wrapped),
            answers={201: kind.type},
            errors=(409,),
            encodes=True,
            example={kind.pool_key_field: "<pool key>", **EXAMPLES[kind.name]},
        ),
        name=f"index-{kind.name}",
        tags=[kind.plural],
        summary=f"Index a {kind.name}",
        description=(
            f"Body: a flat {title} plus `{kind.pool_key_field}`, or `{{{kind.pool_key_field}, {kind.name}}}`. 201."
        ),
    )
    async def index_record(request: Request) -> Response:
        pool_key, fields = split_record_body(kind, await json_body(request))
        record = convert(fields, kind.type, strict=True)  # as an edit reads it (services/records.py)
        workspace = workspace_of(request)
        [created] = await call(workspace.records.index, kind, pool_key, [record])
        return written(request, 201, f"{title} created", created, created.key, embedding_meta(workspace, created))

    @put(
        f"/{kind.name}/indexing",
        opt=writes(
            body=changes,
            body_any_of=(("key", "reference"),),
            answers={200: kind.type},
            errors=(409,),
            encodes=True,
        ),
        name=f"edit-{kind.name}",
        tags=[kind.plural],
        summary=f"Edit a {kind.name} by the fields given (`key` or `reference` says which)",
        description=f"The fields may also come wrapped: `{{{kind.pool_key_field}, {kind.name}: {{key, ...}}}}`.",
    )
    async def edit_record(request: Request) -> Response:
        pool_key, fields = split_record_body(kind, await json_body(request))
        workspace = workspace_of(request)
        edited = await call(workspace.records.edit, kind, pool_key, fields)
        return written(request, 200, f"{title} edited", edited, edited.key, embedding_meta(workspace, edited))

    @get(
        f"/{kind.name}/indexing",
        opt=reads(query=record_query, any_of=(RecordQuery.__struct_fields__,), answers={200: kind.type}),
        name=f"get-{kind.name}",
        tags=[kind.plural],
        summary=f"Get a {kind.name} by `{kind.pool_key_field}` and `key` or `reference`",
    )
    async def get_record(request: Request) -> Response:
        query = decode_query(request, record_query)
        record = await call(workspace_of(request).records.get, kind, query.pool_key, query.lookup)
        return envelope(200, f"{title} details", record)

    @patch(
        f"/{kind.name}/indexing/archive",
        opt=writes(
            body=archive_request,
            body_any_of=(("key", "reference", "profile_email"),),
            answers={200: ArchivedKey},
            example={kind.pool_key_field: "<pool key>", "reference": "<reference>", "is_archive": True},
        ),
        name=f"archive-{kind.name}",
        tags=[kind.plural],
        summary=f"Archive (`is_archive`: 1) or restore (0) a {kind.name}",
    )
    async def archive_record(request: Request) -> Response:
        payload = convert(await json_body(request), archive_request)
        if payload.profile_email is not None and request.state.get(KEY_PERMISSION) == "write":
            # Whether a person's email is in a pool is theirs to know, not a data feed's.
            raise Forbidden("a write-only key archives by `key` or `reference`, not by email")
        key = await call(
            workspace_of(request).records.archive, kind, payload.pool_key, payload.lookup, payload.is_archive
        )
        action = "archived" if payload.is_archive else "unarchived"
        return envelope(200, f"{title} {action}", ArchivedKey(key=key))

    @get(
        f"/storing/{kind.plural}",
        opt=reads(query=storing_query, answers={200: list[Any]}, paged=True),
        name=f"list-{kind.plural}",
        tags=[kind.plural],
        summary=f"List the {kind.plural} of `{kind.pool}_keys` (JSON list), paged",
    )
    async def list_records(request: Request) -> Response:
        query = decode_query(request, storing_query)
        page = await call(workspace_of(request).records.list, kind, query)
        return envelope(200, f"{title}s list", page.items, page.meta)

    handlers = [index_record, edit_record, get_record, archive_record, list_records]
    return [*handlers, erase_profile] if kind is PROFILE else handlers


@delete(
    "/profile",
    opt=writes(query=ProfileErasure, any_of=(("key", "reference"),), answers={200: ErasedProfile}, errors=(404,)),
    name="erase-profile",
    tags=["profiles"],
    summary="Erase a profile (the right to erasure), by `source_key` and `key` or `reference`",
    description=(
        "Removes the profile, its vectors (store and index files), features, tags, protected attributes and "
        "parsing jobs, and keeps its feedback as anonymous events (no profile, author or comment). "
        "`data.removed` counts what went; a second erasure is a 404."
    ),
    status_code=200,
)
async def erase_profile(request: Request) -> Response:
    query = decode_query(request, ProfileErasure)
    key, removed = await call(workspace_of(request).records.erase, PROFILE, query.source_key, query.lookup)
    return envelope(200, "Profile erased", ErasedProfile(key=key, removed=removed))
