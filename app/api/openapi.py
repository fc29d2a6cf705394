"""The OpenAPI document as clients read it: tags, the Problem schema, and the error
answers every operation can give, stated once here instead of on every route."""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi
from fastapi.routing import APIRoute

from app.api.problems import PROBLEM_SCHEMA, problem_responses

TAGS = [
    {"name": "ingest", "description": "Send report events and context."},
    {"name": "analysis", "description": "Run the detector; analyse without storing."},
    {"name": "results", "description": "Waves, groups, account risk, enforcement."},
    {"name": "keys", "description": "Manage API keys (scope admin)."},
    {"name": "webhooks", "description": "Wave events pushed to your endpoint (scope admin)."},
    {
        "name": "integrations",
        "description": "Moderation stacks that push their reports here as they are: a "
        "Mastodon server's admin webhooks.",
    },
    {"name": "operations", "description": "Health, readiness, metrics."},
]


def operation_id(route: APIRoute) -> str:
    """An operation's id is its handler's name (``enforcement_check``, ``list_waves``):
    what a client generated from the document calls its functions."""
    return route.name


def install_openapi(app: FastAPI) -> None:
    """Serve the customised document (built once, on first request)."""

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            app.openapi_schema = document(app)
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]


def document(app: FastAPI) -> dict[str, Any]:
    """FastAPI's document with every error answered as problem+json: 422 (FastAPI would
    describe its own body), and wherever a body is read 400 (not JSON), 408 (too slow)
    and 413 (over MRD_MAX_BODY_BYTES); wherever a key is checked 429 (rate limit) and
    503 (the database did not answer). The events sent to subscribers are declared as
    OpenAPI 3.1 ``webhooks``."""
    schema = get_openapi(
        title=app.title,
        version=app.version,
        description=app.description,
        routes=app.routes,
        webhooks=app.webhooks.routes,
        tags=TAGS,
    )
    schemas = schema.setdefault("components", {}).setdefault("schemas", {})
    schemas["Problem"] = PROBLEM_SCHEMA
    for path, item in schema["paths"].items():
        for operation in item.values():
            responses = operation.get("responses", {})
            if path.startswith("/xrpc/"):
                # XRPC answers a bad parameter 400 InvalidRequest (problems.py).
                responses.pop("422", None)
            elif "422" in responses:
                responses["422"] = problem_responses(422)[422]
            if "requestBody" in operation:
                for status in (400, 408, 413):
                    responses.setdefault(str(status), problem_responses(status)[status])
            if "401" in responses:
                # 429 is the per-key rate limit: only where a key is read.
                limited = (429, 503) if operation.get("security") else (503,)
                for status in limited:
                    responses[str(status)] = problem_responses(status)[status]
    for item in schema.get("webhooks", {}).values():
        for operation in item.values():
            # The receiver answers these, not this service: any 2xx counts as delivered.
            operation["responses"] = {
                "2XX": {"description": "Delivered; any other answer is retried with backoff."}
            }
    schemas.pop("HTTPValidationError", None)
    schemas.pop("ValidationError", None)
    return schema
