"""Ingest endpoints: ``POST /v1/{reports,accounts,edges,posts,decisions}``.

The body is read with a byte limit, parsed with orjson and validated as a whole batch
off the event loop; the answer is sent after the commit.
"""

from __future__ import annotations

from typing import Any

import orjson
from fastapi import APIRouter, Request
from pydantic import BaseModel, Field, TypeAdapter
from starlette.concurrency import run_in_threadpool
from starlette.responses import Response

from app.api.context import context_of
from app.api.deps import IngestKey
from app.api.metrics import record_ingest
from app.api.problems import Problem, problem_responses
from app.entities import ENTITY_KINDS, EntityKind
from app.services.ingest import ingest_batch

router = APIRouter(prefix="/v1", tags=["ingest"])


class ItemError(BaseModel):
    loc: list[str | int] = Field(examples=[["created_at"]])
    msg: str = Field(examples=["timestamp has no timezone"])


class Rejection(BaseModel):
    index: int = Field(description="Position of the refused item in the sent list.")
    errors: list[ItemError]


class IngestAnswer(BaseModel):
    accepted: int = Field(description="Valid items stored (or already stored identically).")
    rejected: list[Rejection] = Field(
        description="Items refused, with why; nothing of them stored."
    )


class IngestAnswerWithDuplicates(BaseModel):
    accepted: int = Field(description="Items newly stored (or changed).")
    duplicates: int = Field(description="Items already stored: re-sent, never counted twice.")
    rejected: list[Rejection] = Field(
        description="Items refused, with why; nothing of them stored. A report whose "
        "`event_id` is already stored with other content is refused here as a conflict "
        '(`loc` `["event_id"]`): reports are never changed or merged.'
    )


JSON_TYPES = ("application/json",)


async def read_json_body(request: Request) -> bytes:
    """The request body, refused with 415 unless it is declared JSON (its size is
    capped for every request by ``BodyLimit``)."""
    content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if content_type not in JSON_TYPES and not content_type.endswith("+json"):
        raise Problem(
            415,
            f"Send the body as application/json (got {content_type or 'no content type'}).",
            "unsupported-media-type",
        )
    return await request.body()


def parse_json(body: bytes) -> Any:
    try:
        return orjson.loads(body)
    except orjson.JSONDecodeError as exc:
        raise Problem(400, f"The body is not valid JSON: {exc}", "malformed-json") from None


def parse_envelope(body: bytes, kind: EntityKind) -> list[Any]:
    """The item list of ``{"<kind>": [...]}``, or a problem saying what is wrong."""
    document = parse_json(body)
    items = document.get(kind.name) if isinstance(document, dict) else None
    if not isinstance(items, list):
        raise Problem(
            422,
            f'The body must be an object with a list under "{kind.name}".',
            "validation-error",
            errors=[{"loc": ["body", kind.name], "msg": "a list is required"}],
        )
    if not items:
        raise Problem(
            422,
            f'"{kind.name}" must hold 1 to {kind.max_items} items.',
            "validation-error",
            errors=[{"loc": ["body", kind.name], "msg": "the list is empty"}],
        )
    if len(items) > kind.max_items:
        raise Problem(
            413,
            f'"{kind.name}" holds {len(items)} items; at most {kind.max_items} per request.',
            "too-many-items",
        )
    return items


async def _ingest(request: Request, kind: EntityKind) -> Response:
    context = context_of(request.app)
    settings = context.settings
    body = await read_json_body(request)

    def work() -> dict[str, Any]:
        items = parse_envelope(body, kind)
        result = ingest_batch(context.db, kind, items, settings.future_tolerance_s)
        record_ingest(
            kind.name,
            result.accepted,
            result.duplicates,
            len(result.rejected) - result.conflicts,
            result.conflicts,
        )
        return result.answer(kind)

    return Response(orjson.dumps(await run_in_threadpool(work)), media_type="application/json")


EXAMPLES: dict[str, list[dict[str, Any]]] = {
    "reports": [
        {
            "event_id": "rep-000001",
            "reporter_id": "acct-4410",
            "target_id": "analyst-iraq-01",
            "reason": "terrorism",
            "created_at": "2017-07-29T10:00:00Z",
            "content_id": "post-77",
            "text": "هذا الحساب يدعم الإرهاب",
        },
        {
            "event_id": "rep-000002",
            "reporter_id": "acct-5120",
            "target_id": "analyst-iraq-01",
            "reason": "terrorism",
            "created_at": 1501322460,
        },
    ],
    "accounts": [
        {
            "account_id": "analyst-iraq-01",
            "handle": "iraq_analyst",
            "display_name": "محلل عراقي",
            "created_at": "2011-03-02T08:00:00Z",
            "followers_count": 48200,
            "following_count": 310,
            "verified": False,
            "labels": ["counter_extremism", "journalist"],
            "status": "active",
        },
        {"account_id": "acct-4410", "handle": "ansar_4410", "created_at": "2017-07-28T23:10:00Z"},
    ],
    "edges": [
        {"src": "acct-4410", "dst": "inst-07", "kind": "follow"},
        {
            "src": "acct-4410",
            "dst": "inst-07",
            "kind": "retweet",
            "weight": 12,
            "created_at": "2017-07-29T09:40:00Z",
        },
    ],
    "posts": [
        {
            "post_id": "post-9001",
            "author_id": "inst-07",
            "created_at": "2017-07-29T09:30:00Z",
            "text": "بلغوا عن هذا الحساب @iraq_analyst #حملة_التبليغ",
            "mentions": ["analyst-iraq-01"],
            "hashtags": ["حملة_التبليغ"],
        },
        {
            "post_id": "post-9002",
            "author_id": "acct-4410",
            "created_at": "2017-07-29T09:41:00Z",
            "reshare_of": "post-9001",
        },
    ],
    "decisions": [
        {
            "decision_id": "dec-1",
            "target_id": "analyst-iraq-01",
            "outcome": "no_violation",
            "decided_at": "2017-08-02T12:00:00Z",
        }
    ],
}

DESCRIPTIONS = {
    "reports": "Report/flag events. `event_id` identifies a report: a re-sent report is counted "
    "under `duplicates` and never stored twice.",
    "accounts": "Account metadata, upserted by `account_id`. Omitted or null fields keep the "
    "stored value, so a status change can be sent on its own.",
    "edges": "Account-graph edges, upserted by (`src`, `dst`, `kind`). `weight` is set, not "
    "added: re-sending a batch changes nothing.",
    "posts": "Posts, upserted by `post_id`. `mentions` and `hashtags`, when sent, replace the "
    "stored ones. `duplicates` counts posts already stored with the same fields.",
    "decisions": "Moderators' verdicts. Reports on the target filed before `decided_at` count "
    "as upheld (`violation`) or unfounded (`no_violation`) in each reporter's reliability.",
}

COMMON_DESCRIPTION = (
    '\n\nSend `{"%s": [...]}` with 1 to %d items. Each item is validated on its own: '
    "refused items are listed under `rejected` with their index and errors while the valid "
    "ones are stored. The answer comes only after the stored items are durably committed. "
    "Timestamps are RFC 3339 with a timezone or epoch seconds; a body that is not JSON "
    "gets 400, a wrong content type 415, too many items or bytes 413."
)


def _request_body(kind: EntityKind) -> dict[str, Any]:
    item_schema = TypeAdapter(kind.item_type).json_schema()
    schema = {
        "type": "object",
        "required": [kind.name],
        "properties": {
            kind.name: {
                "type": "array",
                "minItems": 1,
                "maxItems": kind.max_items,
                "items": item_schema,
            }
        },
    }
    return {
        "required": True,
        "content": {
            "application/json": {
                "schema": schema,
                "example": {kind.name: EXAMPLES[kind.name]},
            }
        },
    }


def _add_route(kind: EntityKind) -> None:
    answer = IngestAnswerWithDuplicates if kind.counts_duplicates else IngestAnswer
    example: dict[str, Any] = {"accepted": len(EXAMPLES[kind.name]), "rejected": []}
    if kind.counts_duplicates:
        example["duplicates"] = 0

    async def endpoint(request: Request, _key: IngestKey) -> Response:
        return await _ingest(request, kind)

    router.add_api_route(
        f"/{kind.name}",
        endpoint,
        methods=["POST"],
        name=f"ingest_{kind.name}",
        summary=f"Ingest {kind.name}",
        description=DESCRIPTIONS[kind.name] + COMMON_DESCRIPTION % (kind.name, kind.max_items),
        response_model=answer,
        responses={
            200: {"content": {"application/json": {"example": example}}},
            **problem_responses(400, 401, 403, 413, 415, 422),
        },
        openapi_extra={"requestBody": _request_body(kind)},
    )


for _kind in ENTITY_KINDS.values():
    _add_route(_kind)
