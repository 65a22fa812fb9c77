"""The API's documentation, served without a key and without the network: `/docs` (Swagger UI, its assets
from the swagger-ui-py package), `/docs/openapi.json` and `/docs/postman.json`."""

from __future__ import annotations

import importlib.util
from pathlib import Path
from typing import Any

from litestar import MediaType, Request, Response, get
from litestar.handlers import HTTPRouteHandler
from litestar.router import Router
from litestar.static_files import create_static_files_router

from cerebro_serve.api.envelope import JSON
from cerebro_serve.api.openapi import openapi_document
from cerebro_serve.api.postman import postman_collection

TAGS = ["docs"]
PAGE = """<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Cerebro Serve API</title>
<link rel="stylesheet" href="/docs/assets/swagger-ui.css">
</head>
<body>
<main id="swagger-ui" aria-label="Cerebro Serve API reference"></main>
<p><a href="/docs/openapi.json">OpenAPI document</a> · <a href="/docs/postman.json">Postman collection</a></p>
<script src="/docs/assets/swagger-ui-bundle.js"></script>
<script>
SwaggerUIBundle({url: "/docs/openapi.json", dom_id: "#swagger-ui", deepLinking: true,
                 validatorUrl: null, tryItOutEnabled: false});
</script>
</body>
</html>
"""


def _swagger_assets() -> Path:
    """The swagger-ui-py package's copy of Swagger UI, found without importing the package (its
    framework adapters are of no use here)."""
    spec = importlib.util.find_spec("swagger_ui")
    if spec is None or not spec.submodule_search_locations:
        raise RuntimeError("swagger-ui-py is not installed")
    return Path(next(iter(spec.submodule_search_locations))) / "static"


def _document(request: Request) -> dict[str, Any]:
    """Built once per app, on first ask: the routes do not change while it runs."""
    state = request.app.state
    if "openapi" not in state:
        state.openapi = openapi_document(request.app)
    return state.openapi


@get("/docs", media_type=MediaType.HTML, include_in_schema=False, sync_to_thread=False)
def docs_page() -> str:
    return PAGE


@get("/docs/openapi.json", include_in_schema=False, sync_to_thread=False)
def openapi_json(request: Request) -> Response:
    return Response(_document(request), media_type=JSON)


@get("/docs/postman.json", include_in_schema=False, sync_to_thread=False)
def postman_json(request: Request) -> Response:
    return Response(postman_collection(_document(request)), media_type=JSON)


def docs_handlers() -> list[HTTPRouteHandler | Router]:
    assets = create_static_files_router("/docs/assets", directories=[_swagger_assets()], include_in_schema=False)
    return [docs_page, openapi_json, postman_json, assets]
