"""The OpenAPI 3.1 document, built from the routes' contracts (`api/contract.py`) and the msgspec Structs
they decode, so what it says is what the server reads and answers.

HrFlow's wire habits are described as they are: list and object query parameters travel as JSON strings
(`content: application/json`), "key or reference" is one exploded query object that needs at least one
field, every answer is the `{code, message, data?, meta?}` envelope, and `/v1` takes an `X-API-KEY`.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import msgspec
from litestar import Litestar
from litestar.handlers import HTTPRouteHandler
from litestar.routes import HTTPRoute

from cerebro_serve import __version__
from cerebro_serve.api.contract import CONTRACT, Contract
from cerebro_serve.api.envelope import HTTP_MESSAGES
from cerebro_serve.api.params import json_fields

REF = "#/components/schemas/{name}"
API_KEY = "apiKey"
ERROR = {"$ref": REF.format(name="Error")}
PAGE_META = {
    "type": "object",
    "required": ["page", "maxPage", "count", "total"],
    "properties": {name: {"type": "integer", "minimum": 0} for name in ("page", "maxPage", "count", "total")},
}
EVERY_KEYED_ROUTE = (400, 401, 403)
WITH_BODY = (413, 415)
ERROR_DESCRIPTIONS = {
    400: "A parameter is missing, malformed or out of its range (the message names it), or the pool, record, "
    "algorithm or training named does not exist (`Unable to find object: <kind>`, as HrFlow answers).",
    401: "No `X-API-KEY`, or one this server did not issue.",
    403: "The key's permission (read-only, write-only) does not cover this route.",
    404: "No such object on a route HrFlow does not have (an algorithm to stop or restore, a profile named "
    "in protected attributes, a fairness audit).",
    409: "The key or reference is already in use in this pool, or an object is not in the state the route "
    "needs (a training already over, an algorithm not stopped, or one an admin stopped: the kill switch).",
    413: "The body (or a form part) is larger than the server accepts.",
    415: "The body is not JSON (or, for a file, not multipart/form-data).",
    429: "The encoder's queue is longer than the configured wait: retry after `Retry-After` seconds.",
    503: "Not ready yet (warming up) or the warm-up failed.",
}
ENCODES = 429
SUCCESS = {200: "OK", 201: "Created", 202: "Accepted: queued, not done yet"}
RETRY_AFTER = {"Retry-After": {"description": "Seconds to wait before retrying.", "schema": {"type": "integer"}}}


def openapi_document(app: Litestar) -> dict[str, Any]:
    operations = list(_operations(app))
    types = _types([contract for *_, contract in operations])
    schemas, components = msgspec.json.schema_components(types, ref_template=REF)
    schema_of = dict(zip(types, schemas))
    components["Error"] = {
        "type": "object",
        "required": ["code", "message"],
        "properties": {"code": {"type": "integer"}, "message": {"type": "string"}},
    }
    paths: dict[str, dict[str, Any]] = {}
    for path, method, handler, contract in operations:
        builder = _Operation(handler, contract, schema_of, components, keyed=path.startswith("/v1/"))
        paths.setdefault(path, {})[method.lower()] = builder.build(method)
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "Cerebro Serve",
            "version": __version__,
            "description": "HrFlow v1-compatible talent matching. Every `/v1` route takes the `X-API-KEY` "
            "header; every answer, errors included, is the envelope `{code, message, data?, meta?}`.",
        },
        "servers": [{"url": "/"}],
        "paths": paths,
        "components": {
            "schemas": components,
            "securitySchemes": {API_KEY: {"type": "apiKey", "in": "header", "name": "X-API-KEY"}},
        },
    }


def _operations(app: Litestar) -> Iterator[tuple[str, str, HTTPRouteHandler, Contract]]:
    for route in app.routes:
        if not isinstance(route, HTTPRoute):
            continue
        for handler in route.route_handlers:
            contract = handler.opt.get(CONTRACT)
            if contract is None:
                continue  # the documentation's own pages
            for method in sorted(_methods(handler)):
                yield route.path, method, handler, contract


def _methods(handler: HTTPRouteHandler) -> set[str]:
    """The methods a handler documents (Litestar adds HEAD to GET, and answers OPTIONS itself)."""
    return {str(method) for method in handler.http_methods} - {"HEAD", "OPTIONS"}


def _types(contracts: list[Contract]) -> list[Any]:
    """Every type a document needs, once each and in a stable order."""
    seen: dict[Any, None] = {}
    for contract in contracts:
        for declared in (contract.query, contract.form, *_alternatives(contract.body), *contract.answers.values()):
            if declared is not None:
                seen.setdefault(declared, None)
    return list(seen)


def _alternatives(body: Any) -> tuple[Any, ...]:
    if body is None:
        return ()
    return body if isinstance(body, tuple) else (body,)


def _without_null(schema: dict[str, Any]) -> dict[str, Any]:
    """A field of an "at least one of" group counts only with a value (the server reads null as absent),
    so inside the group's object its schema drops the null branch."""
    branches = schema.get("anyOf")
    if not branches:
        return schema
    kept = [branch for branch in branches if branch != {"type": "null"}]
    rest = {name: value for name, value in schema.items() if name not in ("anyOf", "default")}
    if len(kept) == 1:
        return {**kept[0], **rest}
    return {**rest, "anyOf": kept}


class _Operation:
    def __init__(
        self,
        handler: HTTPRouteHandler,
        contract: Contract,
        schema_of: dict[Any, dict[str, Any]],
        components: dict[str, Any],
        keyed: bool,
    ) -> None:
        self.handler = handler
        self.contract = contract
        self.schema_of = schema_of
        self.components = components
        self.keyed = keyed

    def build(self, method: str) -> dict[str, Any]:
        handler, contract = self.handler, self.contract
        name = handler.name or handler.handler_name.replace("_", "-")  # the function's, where none was given
        operation: dict[str, Any] = {
            "operationId": f"{method.lower()}-{name}" if len(_methods(handler)) > 1 else name,
            "summary": handler.summary or "",
            "tags": list(handler.tags or []),
        }
        if handler.description:
            operation["description"] = handler.description
        # A route that reads a query by GET and a body by POST (the ranking calls) documents each as such.
        takes_body = method in ("POST", "PUT", "PATCH") and (contract.body is not None or contract.form is not None)
        if contract.query is not None and not takes_body:
            operation["parameters"] = self._parameters(contract.query)
        if takes_body:
            operation["requestBody"] = self._request_body()
        if self.keyed:
            operation["security"] = [{API_KEY: []}]
            permission = handler.opt.get("permission", "all")
            operation["description"] = (operation.get("description", "") + f"\n\nKey: {_KEYS[permission]}.").strip()
        operation["responses"] = self._responses(takes_body)
        return operation

    # -- inputs ---------------------------------------------------------------------------------------

    def _struct_schema(self, struct: Any) -> dict[str, Any]:
        ref = self.schema_of[struct]["$ref"]
        return self.components[ref.rsplit("/", 1)[1]]

    def _parameters(self, struct: Any) -> list[dict[str, Any]]:
        schema = self._struct_schema(struct)
        required = set(schema.get("required", []))
        as_json = json_fields(struct)
        groups = [
            (
                _group_name(group, len(self.contract.any_of)),
                {name: _without_null(schema["properties"][name]) for name in group},
            )
            for group in self.contract.any_of
        ]
        grouped = {name for _, group in groups for name in group}
        parameters = []
        for name, field_schema in schema["properties"].items():
            if name in grouped:
                continue
            parameter: dict[str, Any] = {"name": name, "in": "query", "required": name in required}
            # An optional parameter may also be sent as the literal `null` (msgspec reads it as absent).
            if name in as_json:
                parameter["content"] = {"application/json": {"schema": field_schema}}
            else:
                parameter["schema"] = field_schema
            parameters.append(parameter)
        for group_name, properties in groups:
            parameters.append(
                {
                    "name": group_name,
                    "in": "query",
                    "required": True,
                    "style": "form",
                    "explode": True,
                    "description": f"At least one of {', '.join(f'`{name}`' for name in properties)}.",
                    "schema": {
                        "type": "object",
                        "properties": properties,
                        "minProperties": 1,
                        "additionalProperties": False,
                    },
                }
            )
        return parameters

    def _request_body(self) -> dict[str, Any]:
        contract = self.contract
        if contract.form is not None:
            form = self._struct_schema(contract.form)
            properties = {"file": {"type": "string", "format": "binary"}, **form["properties"]}
            schema = {"type": "object", "required": ["file", *form.get("required", [])], "properties": properties}
            body: dict[str, Any] = {"required": True, "content": {"multipart/form-data": {"schema": schema}}}
            if contract.body is not None:  # also takes JSON
                body["content"]["application/json"] = {"schema": self._body_schema()}
            return body
        content: dict[str, Any] = {"schema": self._body_schema()}
        if contract.example is not None:
            content["example"] = contract.example
        return {"required": True, "content": {contract.body_media: content}}

    def _body_schema(self) -> dict[str, Any]:
        alternatives = [self.schema_of[declared] for declared in _alternatives(self.contract.body)]
        schema = alternatives[0] if len(alternatives) == 1 else {"anyOf": alternatives}
        groups = [*self.contract.body_any_of, *self.contract.any_of]
        conditions = [{"anyOf": [{"required": [name]} for name in group]} for group in groups]
        conditions.extend(self.contract.body_rules)
        if self.contract.body_one_of:
            conditions.append({"oneOf": [{"required": list(group)} for group in self.contract.body_one_of]})
        return {"allOf": [schema, *conditions]} if conditions else schema

    # -- answers --------------------------------------------------------------------------------------

    def _responses(self, takes_body: bool) -> dict[str, Any]:
        contract = self.contract
        responses: dict[str, Any] = {}
        for status, data in contract.answers.items():
            responses[str(status)] = self._success(status, data)
        errors = set(contract.errors)
        if self.keyed:
            errors.update(EVERY_KEYED_ROUTE)
        if takes_body:
            errors.update(WITH_BODY)
        if contract.encodes:
            errors.add(ENCODES)
        for status in sorted(errors):
            answer: dict[str, Any] = {
                "description": ERROR_DESCRIPTIONS.get(status, HTTP_MESSAGES.get(status, "Error")),
                "content": {"application/json": {"schema": ERROR}},
            }
            if status == ENCODES:
                answer["headers"] = RETRY_AFTER
            responses[str(status)] = answer
        return responses

    def _success(self, status: int, data: Any) -> dict[str, Any]:
        properties: dict[str, Any] = {"code": {"const": status}, "message": {"type": "string"}}
        required = ["code", "message"]
        if data is not None:
            properties["data"] = self.schema_of[data]
            required.append("data")
        if self.contract.paged:
            properties["meta"] = PAGE_META
            required.append("meta")
        else:
            properties["meta"] = {"type": "object"}
        schema = {"type": "object", "required": required, "properties": properties}
        content: dict[str, Any] = {"application/json": {"schema": schema}}
        if self.contract.exports_lines:
            content["application/x-ndjson"] = {"schema": {"type": "string", "description": "one JSON object a line"}}
        if self.contract.exports_html:
            content["text/html"] = {"schema": {"type": "string", "description": "a self-contained HTML page"}}
        return {"description": SUCCESS[status], "content": content}


_KEYS = {
    "read": "any key with read access (`ask_` admin or `askr_` read-only)",
    "write": "any key with write access (`ask_` admin or `askw_` write-only, which hears back only the key)",
    "all": "admin keys (`ask_`) only",
}


def _group_name(fields: tuple[str, ...], groups: int) -> str:
    """The exploded query object of a group: `lookup` when it is the only one, else the record its fields
    name (`profile` for `profile_key` / `profile_reference`)."""
    prefix = fields[0].split("_", 1)[0]
    if groups == 1 or not all(name.startswith(prefix + "_") for name in fields):
        return "lookup"
    return prefix
