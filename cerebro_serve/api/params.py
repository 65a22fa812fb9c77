"""Decode HrFlow request parameters into the typed query Structs.

The SDK sends lists and objects as JSON strings inside query strings (and, in PATCH bodies, inside JSON);
booleans as True/False/1/0. Which parameters are JSON is read off the target Struct's field types, so a
plain string parameter is never mistaken for JSON.
"""

from __future__ import annotations

import functools
from collections.abc import Hashable, Mapping
from typing import Any, TypeVar, cast

import msgspec
from litestar import Request
from litestar.exceptions import HTTPException

from cerebro_serve.services.errors import InvalidParameters

T = TypeVar("T")
MAX_JSON_DEPTH = 1000  # msgspec stops decoding deeper nesting with a RecursionError

_CONTAINERS = (
    msgspec.inspect.ListType,
    msgspec.inspect.DictType,
    msgspec.inspect.StructType,
    msgspec.inspect.TupleType,
    msgspec.inspect.VarTupleType,
)


def _is_container(kind: msgspec.inspect.Type) -> bool:
    if isinstance(kind, msgspec.inspect.UnionType):
        return any(_is_container(member) for member in kind.types)
    if isinstance(kind, msgspec.inspect.Metadata):
        return _is_container(kind.type)
    return isinstance(kind, _CONTAINERS)


@functools.cache
def json_fields(struct_type: Hashable) -> frozenset[str]:
    """The fields of a query Struct that arrive as JSON strings: lists, objects, Structs."""
    info = msgspec.inspect.type_info(struct_type)
    if not isinstance(info, msgspec.inspect.StructType):
        raise TypeError(f"{struct_type!r} is not a msgspec Struct")
    return frozenset(field.encode_name for field in info.fields if _is_container(field.type))


def convert(values: Mapping[str, Any], struct_type: type[T], strict: bool = False) -> T:
    """Typed parameters from loosely typed ones (query strings and forms carry only text; `strict` for a
    JSON object whose types are its own); a mistake is a 400 that names the parameter."""
    as_json = json_fields(cast(Hashable, struct_type))  # classes hash; the stubs don't say so of type[T]
    prepared: dict[str, Any] = {}
    for name, value in values.items():
        if name in as_json and isinstance(value, str):
            try:
                value = msgspec.json.decode(value)
            except msgspec.DecodeError:
                raise InvalidParameters(f"`{name}` must be JSON, got {value[:200]!r}") from None
            except RecursionError:
                raise InvalidParameters(f"`{name}` is JSON nested deeper than {MAX_JSON_DEPTH} levels") from None
        prepared[name] = value
    try:
        return msgspec.convert(prepared, struct_type, strict=strict)
    except msgspec.ValidationError as error:
        raise InvalidParameters.from_validation(error) from None


def decode_query(request: Request, struct_type: type[T]) -> T:
    return convert(dict(request.query_params.items()), struct_type)


async def json_body(request: Request) -> dict[str, Any]:
    """The request's JSON object. A body declared as something else is refused with 415; one declared as
    nothing is read as JSON (HTTP clients often leave the type out)."""
    declared = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if declared and not (declared == "application/json" or declared.endswith("+json")):
        raise HTTPException(status_code=415, detail=f"send the body as application/json, not {declared}")
    return decode_json(await request.body())


def decode_json(body: bytes) -> dict[str, Any]:
    if not body.strip():
        raise InvalidParameters("the request body is empty: send a JSON object")
    try:
        value = msgspec.json.decode(body)
    except msgspec.DecodeError as error:
        raise InvalidParameters(f"malformed JSON body ({error})") from None
    except RecursionError:
        raise InvalidParameters(f"the JSON body is nested deeper than {MAX_JSON_DEPTH} levels") from None
    if not isinstance(value, dict):
        raise InvalidParameters("the request body must be a JSON object")
    return value
