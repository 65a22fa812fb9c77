"""A Postman collection (v2.1) made from the OpenAPI document, for HrFlow users who keep their calls in
Postman: one folder per tag, the key in a collection variable, each body with its documented example."""

from __future__ import annotations

from typing import Any

import msgspec

SCHEMA = "https://schema.getpostman.com/json/collection/v2.1.0/collection.json"
NO_AUTH = {"type": "noauth"}


def postman_collection(document: dict[str, Any]) -> dict[str, Any]:
    folders: dict[str, list[dict[str, Any]]] = {}
    for path, methods in document["paths"].items():
        for method, operation in methods.items():
            tag = (operation.get("tags") or ["other"])[0]
            folders.setdefault(tag, []).append(_request(path, method.upper(), operation))
    return {
        "info": {
            "name": document["info"]["title"],
            "description": document["info"]["description"],
            "version": document["info"]["version"],
            "schema": SCHEMA,
        },
        "auth": {
            "type": "apikey",
            "apikey": [
                {"key": "key", "value": "X-API-KEY", "type": "string"},
                {"key": "value", "value": "{{api_key}}", "type": "string"},
                {"key": "in", "value": "header", "type": "string"},
            ],
        },
        "variable": [
            {"key": "base_url", "value": "http://127.0.0.1:8000", "type": "string"},
            {"key": "api_key", "value": "", "type": "string"},
        ],
        "item": [{"name": tag, "item": items} for tag, items in folders.items()],
    }


def _request(path: str, method: str, operation: dict[str, Any]) -> dict[str, Any]:
    query = [_query_entry(parameter) for parameter in operation.get("parameters", [])]
    raw_query = "&".join(f"{entry['key']}=" for entry in query if not entry["disabled"])
    request: dict[str, Any] = {
        "method": method,
        "description": operation.get("description", ""),
        "url": {
            "raw": "{{base_url}}" + path + (f"?{raw_query}" if raw_query else ""),
            "host": ["{{base_url}}"],
            "path": [part for part in path.split("/") if part],
            "query": query,
        },
    }
    if "security" not in operation:
        request["auth"] = NO_AUTH
    body = operation.get("requestBody")
    if body is not None:
        request["body"] = _body(body["content"])
        media = next(iter(body["content"]))
        if media != "multipart/form-data":
            request["header"] = [{"key": "Content-Type", "value": media}]
    return {"name": operation.get("summary") or operation["operationId"], "request": request}


def _query_entry(parameter: dict[str, Any]) -> dict[str, Any]:
    if parameter.get("explode") and parameter["schema"].get("type") == "object":
        names = ", ".join(parameter["schema"]["properties"])
        # Postman has no object parameters: the first field stands for the group, the description says the rest.
        first = next(iter(parameter["schema"]["properties"]))
        return {"key": first, "value": "", "disabled": False, "description": f"one of: {names}"}
    json_note = " (JSON)" if "content" in parameter else ""
    return {
        "key": parameter["name"],
        "value": "",
        "disabled": not parameter.get("required", False),
        "description": ("required" if parameter.get("required") else "optional") + json_note,
    }


def _body(content: dict[str, Any]) -> dict[str, Any]:
    if "multipart/form-data" in content:
        properties = content["multipart/form-data"]["schema"]["properties"]
        fields = [
            {"key": name, "type": "file", "src": []} if name == "file" else {"key": name, "value": "", "type": "text"}
            for name in properties
        ]
        return {"mode": "formdata", "formdata": fields}
    media, described = next(iter(content.items()))
    example = described.get("example", {} if media == "application/json" else "")
    raw = (
        msgspec.json.format(msgspec.json.encode(example), indent=2).decode() if media == "application/json" else example
    )
    return {
        "mode": "raw",
        "raw": raw,
        "options": {"raw": {"language": "json" if media == "application/json" else "text"}},
    }
