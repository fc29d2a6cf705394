"""RFC 9457 problem details for every error the service answers with."""

from __future__ import annotations

import logging
import sqlite3
from http import HTTPStatus
from typing import Any

import orjson
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from sqlalchemy.exc import DisconnectionError, InterfaceError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeout
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.responses import JSONResponse, Response

from app.entities import friendly_message
from app.services.results import BadCursor

PROBLEM_MEDIA_TYPE = "application/problem+json"
log = logging.getLogger("mrd.api")


class Problem(Exception):
    """An error answered as problem+json. ``kind`` names the problem type (see docs/api.md)."""

    def __init__(
        self,
        status: int,
        detail: str,
        kind: str | None = None,
        errors: list[dict[str, Any]] | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(detail)
        self.status = status
        self.detail = detail
        self.kind = kind
        self.errors = errors
        self.headers = headers


def problem_response(
    status: int,
    detail: str,
    kind: str | None = None,
    errors: list[dict[str, Any]] | None = None,
    headers: dict[str, str] | None = None,
) -> Response:
    body: dict[str, Any] = {
        "type": f"urn:mrd:problem:{kind}" if kind else "about:blank",
        "title": HTTPStatus(status).phrase,
        "status": status,
        "detail": detail,
    }
    if errors is not None:
        body["errors"] = errors
    return Response(
        orjson.dumps(body), status_code=status, media_type=PROBLEM_MEDIA_TYPE, headers=headers
    )


async def _on_problem(_request: Request, exc: Exception) -> Response:
    assert isinstance(exc, Problem)
    return problem_response(exc.status, exc.detail, exc.kind, exc.errors, exc.headers)


async def _on_http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, StarletteHTTPException)
    if exc.status_code == 404 and exc.detail == "Not Found":
        detail = f"No resource at {request.url.path}; see /docs for the API."
    elif exc.status_code == 405:
        detail = f"{request.method} is not allowed on {request.url.path}."
        allowed = _allowed_methods(request)
        return problem_response(405, detail, headers={"Allow": ", ".join(allowed)})
    else:
        detail = str(exc.detail)
    kind = getattr(exc, "kind", None)
    return problem_response(exc.status_code, detail, kind, headers=getattr(exc, "headers", None))


def _allowed_methods(request: Request) -> list[str]:
    """Every method some route serves at this path (a path's methods may be spread over
    several routes, and Starlette's own Allow names only the first route's)."""
    allowed: set[str] = set()
    for route in request.app.routes:
        methods = getattr(route, "methods", None)
        regex = getattr(route, "path_regex", None)
        if methods and regex is not None and regex.match(request.url.path):
            allowed |= methods
    return sorted(allowed)


async def _on_validation_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, RequestValidationError)
    errors = [
        {"loc": list(err.get("loc", ())), "msg": friendly_message(err)} for err in exc.errors()
    ]
    if request.url.path.startswith("/xrpc/"):
        # AT Protocol clients read XRPC's own error body.
        where = "; ".join(f"{e['loc'][-1]}: {e['msg']}" for e in errors)
        return JSONResponse({"error": "InvalidRequest", "message": where}, status_code=400)
    return problem_response(422, "The request is not valid.", "validation-error", errors)


async def _on_unexpected(request: Request, exc: Exception) -> Response:
    log.exception("unhandled error on %s %s", request.method, request.url.path, exc_info=exc)
    return problem_response(
        500, "The server failed to answer this request; the error was logged.", "internal-error"
    )


# How long a client should wait before retrying while the database is unreachable.
DATABASE_RETRY_S = 5
DATABASE_ERRORS = (OperationalError, InterfaceError, DisconnectionError, PoolTimeout)
# SQLite's OperationalError also covers mistakes (no such table, syntax): only these
# words say the database itself could not be reached or was busy.
SQLITE_UNAVAILABLE = ("unable to open", "locked", "busy", "disk i/o", "readonly")


def database_unavailable(exc: Exception) -> bool:
    """Whether ``exc`` says the database could not answer (down, restarting, out of
    connections, locked too long), as opposed to a mistake in a statement."""
    if isinstance(exc, DisconnectionError | PoolTimeout | InterfaceError):
        return True
    if not isinstance(exc, OperationalError):
        return False
    if isinstance(exc.orig, sqlite3.Error):
        message = str(exc.orig).lower()
        return any(words in message for words in SQLITE_UNAVAILABLE)
    return True  # PostgreSQL: connection failures, timeouts, deadlocks


async def _on_database_error(request: Request, exc: Exception) -> Response:
    """The database did not answer: a 503 tells the client to retry (resending is safe:
    reports are idempotent by event id, entities are upserts); a 500 would not."""
    if not database_unavailable(exc):
        return await _on_unexpected(request, exc)
    log.warning(
        "database unavailable on %s %s: %s", request.method, request.url.path, str(exc)[:300]
    )
    return problem_response(
        503,
        "The database is unavailable; the request may not have been applied. Retry after "
        "the time given: resending is safe.",
        "unavailable",
        headers={"Retry-After": str(DATABASE_RETRY_S)},
    )


async def _on_bad_cursor(_request: Request, _exc: Exception) -> Response:
    return problem_response(400, "The cursor is not one this service gave out.", "bad-cursor")


def install_problem_handlers(app: FastAPI) -> None:
    app.add_exception_handler(Problem, _on_problem)
    app.add_exception_handler(BadCursor, _on_bad_cursor)
    for error in DATABASE_ERRORS:
        app.add_exception_handler(error, _on_database_error)
    app.add_exception_handler(StarletteHTTPException, _on_http_error)
    app.add_exception_handler(RequestValidationError, _on_validation_error)
    app.add_exception_handler(Exception, _on_unexpected)


PROBLEM_SCHEMA: dict[str, Any] = {
    "type": "object",
    "required": ["type", "title", "status", "detail"],
    "properties": {
        "type": {"type": "string", "example": "urn:mrd:problem:validation-error"},
        "title": {"type": "string", "example": "Unprocessable Content"},
        "status": {"type": "integer", "example": 422},
        "detail": {"type": "string", "example": "The request is not valid."},
        "errors": {
            "type": "array",
            "items": {
                "type": "object",
                "required": ["loc", "msg"],
                "properties": {
                    "loc": {
                        "type": "array",
                        "items": {"anyOf": [{"type": "string"}, {"type": "integer"}]},
                    },
                    "msg": {"type": "string"},
                },
            },
        },
    },
}


# What each error status typically says, shown as its example in the OpenAPI document.
PROBLEM_EXAMPLES: dict[int, tuple[str, str]] = {
    400: ("malformed-json", "The body is not valid JSON: unexpected character: line 1 column 2"),
    401: ("unauthenticated", "This endpoint needs an API key in the X-API-Key header."),
    403: ("forbidden", "This key has scopes ['read']; this endpoint needs 'admin'."),
    404: ("not-found", "No wave wav_0000000000000000 in the latest analysis."),
    408: ("body-timeout", "The body did not arrive within 60 s."),
    409: ("conflict", "This is the last active admin key; create another first."),
    413: ("too-many-items", '"reports" holds 12000 items; at most 10000 per request.'),
    415: ("unsupported-media-type", "Send the body as application/json (got text/plain)."),
    429: ("rate-limited", "This key made more than 1000 requests per second; slow down."),
    503: (
        "unavailable",
        "The database is unavailable; the request may not have been applied. Retry after "
        "the time given: resending is safe.",
    ),
}


def problem_example(status: int, example: tuple[str, str] | None = None) -> dict[str, Any]:
    """A realistic problem body for ``status`` (422 names the failing field), or the
    given ``(kind, detail)``."""
    body: dict[str, Any] = {"title": HTTPStatus(status).phrase, "status": status}
    if example is not None:
        return body | {"type": f"urn:mrd:problem:{example[0]}", "detail": example[1]}
    if status == 422:
        body |= {
            "type": "urn:mrd:problem:validation-error",
            "detail": "The request is not valid.",
            "errors": [{"loc": ["body", "target_id"], "msg": "Field required"}],
        }
        return body
    kind, detail = PROBLEM_EXAMPLES[status]
    return body | {"type": f"urn:mrd:problem:{kind}", "detail": detail}


def problem_responses(
    *statuses: int, examples: dict[int, tuple[str, str]] | None = None
) -> dict[int | str, dict[str, Any]]:
    """OpenAPI ``responses`` entries for the given error statuses, each with its example
    (``examples``: ``(kind, detail)`` where an operation says something of its own)."""
    examples = examples or {}
    return {
        status: {
            "description": HTTPStatus(status).phrase,
            "content": {
                PROBLEM_MEDIA_TYPE: {
                    "schema": {"$ref": "#/components/schemas/Problem"},
                    "example": problem_example(status, examples.get(status)),
                }
            },
        }
        for status in statuses
    }
