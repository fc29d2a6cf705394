"""Operations endpoints (no key): liveness, readiness, metrics."""

from __future__ import annotations

from typing import Any, Literal

from fastapi import APIRouter
from pydantic import BaseModel, Field
from starlette.responses import Response

from app.api.context import ContextDep
from app.api.metrics import metrics_response
from app.api.problems import Problem, problem_responses
from app.services import readiness

router = APIRouter(tags=["operations"])


class Health(BaseModel):
    status: Literal["ok"]
    auth: Literal["disabled"] | None = Field(
        default=None, description="Present when every request is admitted without a key."
    )


class Readiness(BaseModel):
    status: Literal["ready"]
    database: Literal["ok"]
    schema_revision: str | None


@router.get(
    "/healthz",
    summary="Liveness",
    description="Answers 200 while the process is alive. It does not touch the database. "
    'With `MRD_AUTH_DISABLED=1` it also says `"auth": "disabled"`, so the dashboard does '
    "not ask for a key.",
    response_model=Health,
    response_model_exclude_unset=True,
    responses={200: {"content": {"application/json": {"example": {"status": "ok"}}}}},
)
def healthz(context: ContextDep) -> dict[str, str]:
    if context.settings.auth_disabled:
        return {"status": "ok", "auth": "disabled"}
    return {"status": "ok"}


@router.get(
    "/readyz",
    summary="Readiness",
    description="200 when the database answers, its schema is at the newest migration and "
    "(under `mrd serve`) the background process runs; 503 otherwise: `not-ready` (run "
    "`mrd migrate`, check the database) or `degraded` (the background process died and is "
    "being restarted: results may be stale until it is back).",
    response_model=Readiness,
    responses={
        200: {
            "content": {
                "application/json": {
                    "example": {"status": "ready", "database": "ok", "schema_revision": "0001"}
                }
            }
        },
        **problem_responses(
            503,
            examples={
                503: (
                    "not-ready",
                    "The database schema is at 0006, not 0007: run `mrd migrate`.",
                )
            },
        ),
    },
)
def readyz(context: ContextDep) -> dict[str, Any]:
    try:
        revision = readiness.check(context.db, context.head_revision)
    except readiness.NotReady as exc:
        raise Problem(503, str(exc), exc.kind) from None
    return {"status": "ready", "database": "ok", "schema_revision": revision}


@router.get(
    "/metrics",
    summary="Prometheus metrics",
    description="Prometheus text format: `mrd_http_requests_total` and "
    "`mrd_http_request_duration_seconds` by method and route template, "
    "`mrd_ingest_items_total` by kind and outcome (accepted, duplicate, rejected, conflict); "
    "under `mrd serve`, `mrd_background_up` and `mrd_background_restarts_total`; from the "
    "database, `mrd_analysis_runs` by status, the newest succeeded run's finish time, "
    "duration and waves (`mrd_analysis_last_*`), `mrd_webhook_deliveries` by status (`dead`: "
    "the dead letters); `mrd_integration_deliveries_total` by integration and outcome.",
    response_class=Response,
    responses={
        200: {
            "content": {
                "text/plain": {
                    "schema": {"type": "string"},
                    "example": 'mrd_ingest_items_total{kind="reports",outcome="accepted"} 2.0\n',
                }
            }
        }
    },
)
def metrics(context: ContextDep) -> Response:
    return metrics_response(context.db)
