"""The OpenAPI document matches the routes exactly, both ways."""

from __future__ import annotations

import re

from pmbot.control_plane.api import openapi


def _route_set(app) -> set[tuple[str, str]]:
    found = set()
    for route in app.routes:
        path = re.sub(r"<(\w+)(?::[^>]*)?>", r"{\1}", route.rule)
        found.add((route.method.lower(), path))
    return found


def _document_set(document) -> set[tuple[str, str]]:
    return {(method, path) for path, ops in document["paths"].items() for method in ops}


def test_every_route_is_documented_and_every_documented_path_is_served(app):
    assert _route_set(app) == _document_set(openapi.document())


def test_served_document_is_openapi_3_1_and_references_resolve(client):
    document = client.get("/api/openapi.json").json()
    assert document["openapi"].startswith("3.1")
    text = str(document)
    for kind, name in re.findall(r"#/components/(\w+)/(\w+)", text):
        assert name in document["components"][kind], (kind, name)


def test_path_parameters_are_declared(client):
    document = client.get("/api/openapi.json").json()
    parameters = document["components"]["parameters"]
    for path, ops in document["paths"].items():
        for op in ops.values():
            declared = {parameters[p["$ref"].rsplit("/", 1)[1]]["name"] for p in op["parameters"]}
            assert set(re.findall(r"{(\w+)}", path)) <= declared, path


def test_every_operation_documents_the_refusals_any_request_can_meet():
    """403 (Host, CSRF, Fetch Metadata) and 503 (database unusable) can answer anything."""
    for path, operations in openapi.document()["paths"].items():
        for method, operation in operations.items():
            assert {"403", "500", "503"} <= set(operation["responses"]), (method, path)
