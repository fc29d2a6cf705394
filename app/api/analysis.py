"""Analysis endpoints: queue and follow runs; analyse a body without storing it."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Path, Query, Request
from fastapi.responses import Response
from pydantic import BaseModel, Field
from starlette.concurrency import run_in_threadpool

from app.api.context import ContextDep, context_of
from app.api.deps import IngestKey, ReadKey, SessionDep
from app.api.examples import DEMO
from app.api.ingest import EXAMPLES, parse_json, read_json_body
from app.api.problems import Problem, problem_responses
from app.api.results import NETWORK_EXAMPLE
from app.db.models import AnalysisRun
from app.detection.documents import AnalyzeResult
from app.services import analysis, stateless

router = APIRouter(prefix="/v1", tags=["analysis"])


class RunParams(BaseModel):
    settings: dict[str, Any] = Field(
        description="Every stage's settings as recorded (`DetectionParams`: waves, groups, "
        "partners, core, attribution, recreation, network, target_lookback_s, min_crowd); "
        "a setting added after the run is absent, never filled in."
    )
    models: dict[str, str] = Field(examples=[{"wave": "3f2a9c0d41b7e8a5"}])


class Run(BaseModel):
    run_id: str = Field(examples=["5b0e4a4c-8a7e-4a52-9a51-0d8f6c1f2a11"])
    status: Literal["queued", "running", "succeeded", "failed"]
    created_at: datetime
    started_at: datetime | None = None
    finished_at: datetime | None = None
    stats: dict[str, Any] = Field(default_factory=dict)
    error: str | None = None
    params: RunParams | None = Field(
        None,
        description="How the run was made: every stage's settings and a digest of each "
        "model it used. Two runs with the same `params` on the same data give the same "
        "answers. Null until the run succeeds, and on runs stored by 0.1.0.",
    )

    @classmethod
    def of(cls, run: AnalysisRun) -> Run:
        return cls.model_validate(run, from_attributes=True)


RUN_EXAMPLE = DEMO["run"]


@router.post(
    "/analysis/runs",
    status_code=202,
    summary="Start an analysis run",
    description="Queues an analysis of everything stored. One process runs it (exactly one "
    "runner at a time across replicas); follow it with `GET /v1/analysis/runs/{run_id}`. The "
    "service also runs one by itself every `MRD_ANALYSIS_INTERVAL_S` seconds when new data "
    "arrived.",
    response_model=Run,
    responses={
        202: {"content": {"application/json": {"example": RUN_EXAMPLE | {"status": "queued"}}}},
        **problem_responses(401, 403),
    },
)
def start_run(
    context: ContextDep,
    _key: IngestKey,
    full: Annotated[
        bool,
        Query(
            description="Read every stored entity again, not only what changed since the "
            "last run (runs do so by themselves at least hourly, and whenever a count "
            "differs). The run's `stats.load` says which read it made."
        ),
    ] = False,
) -> Run:
    run = analysis.queue_run(context.db, full_read=full)
    if context.background is not None:
        context.background.runner.wake()
    return Run.of(run)


@router.get(
    "/analysis/runs/latest",
    summary="The newest analysis run",
    description="The most recently created run, whatever its status.",
    response_model=Run,
    responses={
        200: {"content": {"application/json": {"example": RUN_EXAMPLE}}},
        **problem_responses(401, 403, 404),
    },
)
def latest_run(session: SessionDep, _key: ReadKey) -> Run:
    run = analysis.latest_run(session)
    if run is None:
        raise Problem(404, "No analysis has run yet.", "not-found")
    return Run.of(run)


@router.get(
    "/analysis/runs/{run_id}",
    summary="One analysis run",
    description="Status (`queued`, `running`, `succeeded`, `failed`), times and statistics.",
    response_model=Run,
    responses={
        200: {"content": {"application/json": {"example": RUN_EXAMPLE}}},
        **problem_responses(401, 403, 404),
    },
)
def get_run(
    run_id: Annotated[
        str,
        Path(
            max_length=36,
            description="A run id from `POST /v1/analysis/runs` or `runs/latest`.",
            openapi_examples={
                "demo": {"summary": "The demo's run", "value": DEMO["run"]["run_id"]}
            },
        ),
    ],
    session: SessionDep,
    _key: ReadKey,
) -> Run:
    run = analysis.get_run(session, run_id)
    if run is None:
        raise Problem(404, f"No analysis run {run_id}.", "not-found")
    return Run.of(run)


@router.post(
    "/analyze",
    summary="Analyse data without storing it",
    description="Runs the same pipeline on the entities in the body (`reports`, `accounts`, "
    "`edges`, `posts`, `decisions`; up to 200,000 reports) and answers `{waves, groups, "
    "accounts, network}` (`network` shaped as `GET /v1/network/tiers`). Nothing is stored. "
    "Invalid items make the whole request 422, with each item's errors.",
    response_model=AnalyzeResult,
    response_model_exclude_unset=True,
    responses={
        200: {
            "content": {
                "application/json": {
                    "example": {
                        "waves": [],
                        "groups": [],
                        "accounts": [],
                        "network": NETWORK_EXAMPLE,
                    }
                }
            }
        },
        **problem_responses(400, 401, 403, 413, 415, 422),
    },
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {"application/json": {"schema": {"type": "object"}, "example": EXAMPLES}},
        }
    },
)
async def analyze_entities(request: Request, _key: ReadKey) -> Response:
    body = await read_json_body(request)
    tolerance = context_of(request.app).settings.future_tolerance_s

    def work() -> Response:
        try:
            result = stateless.analyze_entities(parse_json(body), tolerance)
        except stateless.TooManyReports as exc:
            raise Problem(413, str(exc), "too-many-items") from None
        except stateless.InvalidEntities as exc:
            raise Problem(422, str(exc), "validation-error", errors=exc.errors) from None
        # Written here, in the thread pool: a large answer must not hold the event loop
        # the enforcement checks run on.
        return Response(result.model_dump_json(exclude_unset=True), media_type="application/json")

    return await run_in_threadpool(work)
