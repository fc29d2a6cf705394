"""Every endpoint is documented with a summary, a description and examples that work."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

OPERATIONS = {
    ("post", "/v1/reports"),
    ("post", "/v1/accounts"),
    ("post", "/v1/edges"),
    ("post", "/v1/posts"),
    ("post", "/v1/decisions"),
    ("post", "/v1/keys"),
    ("get", "/v1/keys"),
    ("delete", "/v1/keys/{key_id}"),
    ("get", "/healthz"),
    ("get", "/readyz"),
    ("get", "/metrics"),
}


def request_example(operation: dict[str, Any], spec: dict[str, Any]) -> Any:
    media = operation["requestBody"]["content"]["application/json"]
    if "example" in media:
        return media["example"]
    schema = media["schema"]
    if "$ref" in schema:
        schema = spec["components"]["schemas"][schema["$ref"].rsplit("/", 1)[-1]]
    return schema["examples"][0]


@pytest.fixture
def spec(anonymous: httpx.Client) -> dict[str, Any]:
    response = anonymous.get("/openapi.json")
    assert response.status_code == 200
    return dict(response.json())


def test_every_operation_has_summary_description_and_examples(spec: dict[str, Any]) -> None:
    documented = {(m, p) for p, item in spec["paths"].items() for m in item}
    assert documented >= OPERATIONS
    for method, path in OPERATIONS:
        operation = spec["paths"][path][method]
        assert operation.get("summary"), (method, path)
        assert len(operation.get("description", "")) > 20, (method, path)
        if "requestBody" in operation:
            assert request_example(operation, spec) is not None
        success = next(v for k, v in operation["responses"].items() if k.startswith("2"))
        if method != "delete":
            content = success.get("content", {})
            assert any(
                "example" in m or "examples" in m.get("schema", {}) for m in content.values()
            ), (method, path)
        errors = [k for k in operation["responses"] if k.startswith(("4", "5"))]
        if path.startswith("/v1"):
            assert "401" in errors and "403" in errors, (method, path)


def test_api_key_security_scheme_is_declared(spec: dict[str, Any]) -> None:
    schemes = spec["components"]["securitySchemes"]
    assert any(
        s["type"] == "apiKey" and s["name"] == "X-API-Key" and s["in"] == "header"
        for s in schemes.values()
    )
    assert spec["paths"]["/v1/reports"]["post"]["security"]


def test_request_examples_work_as_given(spec: dict[str, Any], client: httpx.Client) -> None:
    for path in ("/v1/accounts", "/v1/edges", "/v1/posts", "/v1/reports", "/v1/decisions"):
        example = request_example(spec["paths"][path]["post"], spec)
        response = client.post(path, json=example)
        assert response.status_code == 200, (path, response.text)
        assert response.json()["rejected"] == [], path
    created = client.post("/v1/keys", json=request_example(spec["paths"]["/v1/keys"]["post"], spec))
    assert created.status_code == 201
    assert client.delete(f"/v1/keys/{created.json()['key_id']}").status_code == 204


def test_docs_pages_are_served(anonymous: httpx.Client) -> None:
    for page in ("/docs", "/redoc"):
        response = anonymous.get(page)
        assert response.status_code == 200
        assert "text/html" in response.headers["content-type"]
