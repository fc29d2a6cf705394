"""Every endpoint is documented with a summary, a description, tags, examples and its
errors, and the examples work as given ("try it out") on the demo data set."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

# Ids that exist only once created on a given service (keys, webhooks, deliveries):
# their examples show the shape; "try it out" needs an id from the listing first.
CREATED_IDS = {"key_id", "webhook_id", "delivery_id", "integration_id"}
# Needs a public URL the service can resolve; this machine has no outside DNS.
NEEDS_INTERNET = {("post", "/v1/webhooks")}
# Need an AT Protocol identity: a token signed by the reporter's key (tests/test_atproto.py
# drives them), and the service's own did:web and label key, which the demo does not set.
NEEDS_IDENTITY = {
    ("post", "/xrpc/com.atproto.moderation.createReport"),
    ("get", "/.well-known/did.json"),
    ("get", "/xrpc/com.atproto.label.queryLabels"),
}


def operations(spec: dict[str, Any]) -> Iterator[tuple[str, str, dict[str, Any]]]:
    for path, item in spec["paths"].items():
        for method, operation in item.items():
            yield method, path, operation


def request_example(operation: dict[str, Any], spec: dict[str, Any]) -> Any:
    media = operation["requestBody"]["content"]["application/json"]
    if "example" in media:
        return media["example"]
    schema = media["schema"]
    if "$ref" in schema:
        schema = spec["components"]["schemas"][schema["$ref"].rsplit("/", 1)[-1]]
    return schema["examples"][0]


def parameter_example(parameter: dict[str, Any]) -> Any:
    if "examples" in parameter:
        return next(iter(parameter["examples"].values()))["value"]
    return parameter["schema"]["examples"][0]


def response_example(operation: dict[str, Any]) -> Any:
    success = next(v for k, v in operation["responses"].items() if k.startswith("2"))
    for media in success.get("content", {}).values():
        if "example" in media:
            return media["example"]
        if "examples" in media.get("schema", {}):
            return media["schema"]["examples"][0]
    return None


@pytest.fixture
def spec(anonymous: httpx.Client) -> dict[str, Any]:
    response = anonymous.get("/openapi.json")
    assert response.status_code == 200
    return dict(response.json())


def test_every_operation_is_documented(spec: dict[str, Any]) -> None:
    walked = 0
    for method, path, operation in operations(spec):
        where = (method, path)
        walked += 1
        assert operation.get("summary"), where
        assert len(operation.get("description", "")) > 20, where
        assert operation.get("tags"), where
        if "requestBody" in operation:
            assert request_example(operation, spec) is not None, where
        for parameter in operation.get("parameters", []):
            if parameter["in"] == "path":
                assert parameter_example(parameter), (where, parameter["name"])
        if not any(k == "204" for k in operation["responses"]):
            assert response_example(operation) is not None, where
        errors = {k for k in operation["responses"] if k.startswith(("4", "5"))}
        if operation.get("security"):
            assert {"401", "403"} <= errors, where
        elif path.startswith("/v1"):
            # Authenticated otherwise (a signed delivery): refused, but no scope to lack.
            assert "401" in errors, where
        if operation.get("parameters") or "requestBody" in operation:
            assert errors & {"400", "404", "422"}, where
        for status in errors:
            content = operation["responses"][status].get("content", {})
            if path.startswith(("/xrpc/", "/.well-known/")) and "application/json" in content:
                # AT Protocol clients read XRPC's own error body, {error, message}; what
                # the service answers before the method runs (413, 503) stays problem+json.
                schema = content["application/json"]["schema"]
                assert schema.get("required") == ["error", "message"], (where, status)
                continue
            assert "application/problem+json" in content, (where, status)
    assert walked >= 30


def test_api_key_security_scheme_is_declared(spec: dict[str, Any]) -> None:
    schemes = spec["components"]["securitySchemes"]
    assert any(
        s["type"] == "apiKey" and s["name"] == "X-API-Key" and s["in"] == "header"
        for s in schemes.values()
    )
    assert spec["paths"]["/v1/reports"]["post"]["security"]


def test_examples_work_as_given_on_the_demo_data(demo_service: tuple[str, str]) -> None:
    base, key = demo_service
    with httpx.Client(base_url=base, headers={"X-API-Key": key}, timeout=60) as client:
        spec = client.get("/openapi.json").json()
        tried = 0
        for method, path, operation in operations(spec):
            names = set(re.findall(r"{(\w+)}", path))
            if (
                method == "delete"
                or names & CREATED_IDS
                or (method, path) in NEEDS_INTERNET | NEEDS_IDENTITY
            ):
                continue
            if path == "/v1/analysis/runs/{run_id}":
                continue  # run ids are new on every database; see runs/latest
            url = path
            query = {}
            for parameter in operation.get("parameters", []):
                if parameter["in"] == "path":
                    url = url.replace(f"{{{parameter['name']}}}", str(parameter_example(parameter)))
                elif parameter["in"] == "query" and parameter.get("required"):
                    query[parameter["name"]] = parameter_example(parameter)
            body = request_example(operation, spec) if "requestBody" in operation else None
            answer = client.request(method.upper(), url, params=query, json=body)
            assert answer.status_code < 300, (method, path, answer.text[:300])
            example = response_example(operation)
            if isinstance(example, dict) and "json" in answer.headers["content-type"]:
                missing = set(example) - set(answer.json())
                assert not missing, (method, path, missing)
            tried += 1
        assert tried >= 20


def test_docs_pages_are_served(anonymous: httpx.Client) -> None:
    for page in ("/docs", "/redoc"):
        response = anonymous.get(page)
        assert response.status_code == 200
        assert "text/html" in response.headers["content-type"]


def test_examples_file_is_packaged() -> None:
    import app.api.examples as examples

    assert Path(examples.EXAMPLES_FILE).is_file()


def test_operation_ids_are_the_handlers_names(spec: dict[str, Any]) -> None:
    """Generated clients call these: ``list_waves``, not ``list_waves_v1_waves_get``."""
    ids = [operation["operationId"] for _, _, operation in operations(spec)]
    assert len(ids) == len(set(ids))
    for operation_id in ids:
        assert re.fullmatch(r"[a-z][a-z0-9_]*", operation_id), operation_id
        assert "_v1_" not in operation_id, operation_id
        assert not operation_id.endswith(("_get", "_post", "_delete", "_put")), operation_id


def test_every_error_status_has_its_own_example(spec: dict[str, Any]) -> None:
    seen: dict[str, set[str]] = {}
    for method, path, operation in operations(spec):
        for status, response in operation["responses"].items():
            if not status.startswith(("4", "5")):
                continue
            if "application/problem+json" not in response["content"]:
                # XRPC's own errors: {error, message}, each with its name.
                example = response["content"]["application/json"]["example"]
                assert example["error"] and example["message"], (method, path, status)
                continue
            example = response["content"]["application/problem+json"]["example"]
            assert example["status"] == int(status), (method, path, status)
            assert example["type"].startswith("urn:mrd:problem:"), (method, path, status)
            assert example["detail"], (method, path, status)
            seen.setdefault(status, set()).add(example["type"])
    # Not one example copied everywhere: each status says its own kind of problem.
    assert seen["401"] == {"urn:mrd:problem:unauthenticated"}
    assert seen["413"] <= {"urn:mrd:problem:too-many-items", "urn:mrd:problem:body-too-large"}
    assert seen["422"] == {"urn:mrd:problem:validation-error"}
    assert "urn:mrd:problem:not-ready" in seen["503"]


def test_every_parameter_is_described(spec: dict[str, Any]) -> None:
    walked = 0
    for method, path, operation in operations(spec):
        for parameter in operation.get("parameters", []):
            walked += 1
            assert len(parameter.get("description", "")) > 10, (method, path, parameter["name"])
    assert walked >= 20


def test_wave_events_are_declared_as_webhooks(spec: dict[str, Any]) -> None:
    webhooks = spec["webhooks"]
    assert set(webhooks) == {"wave.detected", "wave.updated"}
    for name, item in webhooks.items():
        operation = item["post"]
        assert operation["operationId"] == "on_" + name.replace(".", "_")
        assert "X-MRD-Signature" in operation["description"]
        headers = {p["name"].lower() for p in operation["parameters"] if p["in"] == "header"}
        assert headers == {"x-mrd-signature", "x-mrd-event", "x-mrd-delivery"}
        body = operation["requestBody"]["content"]["application/json"]["schema"]["$ref"]
        event = spec["components"]["schemas"][body.rsplit("/", 1)[-1]]
        assert {"event_id", "event", "created_at", "wave"} <= set(event["properties"])
        assert event["examples"][0]["wave"]["label"] == "orchestrated"
