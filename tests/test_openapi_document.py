"""The OpenAPI document is built from the routes' contracts: every route is in it with its parameters,
body, statuses and key; the docs page and its assets are served locally; Postman gets the same calls."""

from __future__ import annotations

import re

from litestar.routes import HTTPRoute

from cerebro_serve.api.contract import CONTRACT


def _document(client) -> dict:
    response = client.get("/docs/openapi.json")
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/json"
    return response.json()


def test_every_route_has_a_contract_and_is_documented(client) -> None:
    paths = _document(client)["paths"]
    served = {
        (method.lower(), route.path)
        for route in client.app.routes
        if isinstance(route, HTTPRoute) and not route.path.startswith("/docs")
        for handler in route.route_handlers
        for method in handler.http_methods - {"OPTIONS", "HEAD"}
        if CONTRACT in handler.opt or route.path.startswith("/v1")
    }
    documented = {(method, path) for path, methods in paths.items() for method in methods}
    assert served == documented
    assert len(documented) > 50
    ids = [operation["operationId"] for methods in paths.values() for operation in methods.values()]
    assert all(isinstance(id_, str) and id_ for id_ in ids) and len(set(ids)) == len(ids)


def test_a_keyed_route_declares_its_key_parameters_and_errors(client) -> None:
    document = _document(client)
    assert document["openapi"] == "3.1.0"
    assert document["components"]["securitySchemes"]["apiKey"] == {
        "type": "apiKey",
        "in": "header",
        "name": "X-API-KEY",
    }
    get_profile = document["paths"]["/v1/profile/indexing"]["get"]
    assert get_profile["security"] == [{"apiKey": []}]
    parameters = {parameter["name"]: parameter for parameter in get_profile["parameters"]}
    assert parameters["source_key"]["required"] is True
    lookup = parameters["lookup"]["schema"]
    assert lookup["minProperties"] == 1 and set(lookup["properties"]) == {"key", "reference", "profile_email", "email"}
    assert set(get_profile["responses"]) == {"200", "400", "401", "403"}
    success = get_profile["responses"]["200"]["content"]["application/json"]["schema"]
    assert success["properties"]["data"] == {"$ref": "#/components/schemas/Profile"}

    # Lists in query strings travel as JSON, as the SDK sends them.
    scoring = {p["name"]: p for p in document["paths"]["/v1/profiles/scoring"]["get"]["parameters"]}
    assert scoring["source_keys"]["content"]["application/json"]["schema"]["type"] == "array"
    assert scoring["page"]["schema"]["maximum"] == 1_000_000_000
    assert "429" in document["paths"]["/v1/profiles/scoring"]["post"]["responses"]
    assert "Retry-After" in document["paths"]["/v1/profile/indexing"]["post"]["responses"]["429"]["headers"]

    create = document["paths"]["/v1/profile/indexing"]["post"]
    assert set(create["responses"]) >= {"201", "400", "409", "413", "415", "429"}
    assert create["requestBody"]["content"]["application/json"]["example"]["reference"] == "cand-0042"
    assert "security" not in document["paths"]["/healthz"]["get"]


def test_the_document_names_statuses_the_routes_really_give(client, pools) -> None:
    """201 where the route answers 201, 200 where it answers 200 (the old document said 201 for all)."""
    source, _ = pools
    document = _document(client)
    created = client.post("/v1/profile/indexing", json={"source_key": source, "text": "Python"})
    assert str(created.status_code) in document["paths"]["/v1/profile/indexing"]["post"]["responses"]
    listed = client.get("/v1/sources")
    assert set(document["paths"]["/v1/sources"]["get"]["responses"]) & {"200", "201"} == {str(listed.status_code)}


def test_the_docs_page_and_its_assets_are_served_locally(client) -> None:
    del client.headers["X-API-KEY"]
    page = client.get("/docs")
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    assert '<html lang="en">' in page.text
    assets = re.findall(r'(?:src|href)="([^"]+)"', page.text)
    assert assets and all(asset.startswith("/") for asset in assets)  # nothing from another host
    for asset in assets:
        assert client.get(asset).status_code == 200, asset
    assert client.get("/docs/assets/swagger-ui-bundle.js").text.startswith("/*! For license information")


def test_the_postman_collection_has_every_documented_call(client) -> None:
    del client.headers["X-API-KEY"]
    collection = client.get("/docs/postman.json").json()
    assert collection["info"]["schema"].endswith("/v2.1.0/collection.json")
    assert collection["auth"]["type"] == "apikey"
    requests = [item["request"] for folder in collection["item"] for item in folder["item"]]
    documented = sum(len(methods) for methods in _document(client)["paths"].values())
    assert len(requests) == documented
    index = next(r for r in requests if r["method"] == "POST" and r["url"]["path"] == ["v1", "profile", "indexing"])
    assert '"source_key": "<pool key>"' in index["body"]["raw"]
    upload = next(r for r in requests if r["url"]["path"] == ["v1", "profile", "parsing", "file"])
    assert {"key": "file", "type": "file", "src": []} in upload["body"]["formdata"]
    health = next(r for r in requests if r["url"]["path"] == ["healthz"])
    assert health["auth"] == {"type": "noauth"}


def test_options_lists_every_method_of_a_path(client) -> None:
    """`/v1/source` is served by a GET and a POST handler; Litestar's own answer listed only one."""
    response = client.options("/v1/source")
    assert response.status_code == 204
    assert response.headers["allow"] == "GET, OPTIONS, POST"
    assert client.options("/v1/profile/indexing").headers["allow"] == "GET, OPTIONS, POST, PUT"


def test_a_pair_route_names_each_record_by_key_or_reference(client) -> None:
    document = _document(client)
    grading = document["paths"]["/v1/profile/grading"]["get"]
    parameters = {parameter["name"]: parameter for parameter in grading["parameters"]}
    for record in ("profile", "job"):
        group = parameters[record]
        assert group["required"] and group["explode"] and group["schema"]["minProperties"] == 1
        assert set(group["schema"]["properties"]) == {f"{record}_key", f"{record}_reference"}
    assert sorted(parameters["output_lang"]["schema"]["enum"]) == ["de", "en", "es", "fr"]
    assert "403" in grading["responses"]  # a profile whose consent refuses scoring
    answer = grading["responses"]["200"]["content"]["application/json"]["schema"]["properties"]["data"]
    assert answer == {"$ref": "#/components/schemas/Grading"}
    scoring = document["paths"]["/v1/profiles/scoring"]["post"]["requestBody"]["content"]["application/json"]
    assert any("explain" in str(rule) for rule in scoring["schema"]["allOf"][1:])
