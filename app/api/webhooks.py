"""Webhook subscriptions and their delivery log (scope ``admin``)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

import orjson
from fastapi import APIRouter, FastAPI, Header, Path, Query
from pydantic import AwareDatetime, BaseModel, ConfigDict, Field
from starlette.responses import Response

from app.api.context import ContextDep
from app.api.deps import AdminKey, SessionDep, SettingsDep
from app.api.examples import DEMO, json_example
from app.api.problems import Problem, problem_responses
from app.api.results import listed
from app.db.models import Webhook, WebhookDelivery
from app.detection.documents import WaveSummary
from app.services import subscriptions
from app.services.webhooks import DestinationRefused

router = APIRouter(prefix="/v1/webhooks", tags=["webhooks"])

EventName = Literal["wave.detected", "wave.updated"]
WebhookId = Annotated[
    str,
    Path(
        max_length=40,
        description="A subscription id from `GET /v1/webhooks`.",
        examples=["whk_5d0c3be2f1a94e7b8c7e2a4d1f3b6a90"],
    ),
]

WEBHOOK_EXAMPLE = {
    "webhook_id": "whk_5d0c3be2f1a94e7b8c7e2a4d1f3b6a90",
    "url": "https://safety.example.org/hooks/mrd",
    "events": ["wave.detected", "wave.updated"],
    "created_at": "2026-11-21T09:00:00Z",
}
DELIVERY_EXAMPLE = {
    "delivery_id": "dlv_9b1f0e6a2c7d4e55b0a3f8c1d2e4b6a7",
    "event_id": "evt_0f4b7c1e9d2a4c3b8e6f5a1d0c9b8a7e",
    "event": "wave.detected",
    "wave_id": "wave_1f3a9c0d11b7e4a5",
    "status": "delivered",
    "attempts": 1,
    "last_status_code": 200,
    "last_error": None,
    "created_at": "2026-11-21T09:05:00Z",
    "next_attempt_at": "2026-11-21T09:05:00Z",
    "delivered_at": "2026-11-21T09:05:00Z",
    "payload": {
        "event_id": "evt_0f4b7c1e9d2a4c3b8e6f5a1d0c9b8a7e",
        "event": "wave.detected",
        "created_at": "2026-11-21T09:05:00+00:00",
        "wave": {"wave_id": "wave_1f3a9c0d11b7e4a5", "target_id": "analyst-iraq-01"},
    },
}


class WaveEvent(BaseModel):
    """What the service POSTs to a subscribed URL."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "event_id": "evt_0f4b7c1e9d2a4c3b8e6f5a1d0c9b8a7e",
                    "event": "wave.detected",
                    "created_at": "2026-11-21T09:05:00+00:00",
                    "wave": listed(DEMO["wave"]),
                }
            ]
        }
    )

    event_id: str = Field(description="Unique per event; the same on every retry.")
    event: EventName
    created_at: AwareDatetime = Field(
        description="When the event was raised: order events by it (retries can reorder)."
    )
    wave: WaveSummary = Field(description="The wave as `GET /v1/waves` lists it.")


WEBHOOK_HEADERS_DOC = (
    " Signed: `X-MRD-Signature: t=<unix seconds>,v1=<hex>`, the HMAC-SHA256 with the "
    "subscription's secret of the bytes `<t>.<body>`; verify it over the raw body and "
    "reject old timestamps. `X-MRD-Delivery` is the same on every retry. Answer any 2xx "
    "within `MRD_WEBHOOK_TIMEOUT_S`; anything else is retried with backoff (docs/api.md)."
)


def declare_events(app: FastAPI) -> None:
    """The events as OpenAPI 3.1 ``webhooks``: what a receiver must accept. Declared
    only; the dispatcher (app.services.webhooks) sends them."""

    def receive(
        event: WaveEvent,
        x_mrd_signature: Annotated[
            str, Header(description="`t=<unix seconds>,v1=<hex HMAC-SHA256>`")
        ],
        x_mrd_event: Annotated[EventName, Header(description="The event's name.")],
        x_mrd_delivery: Annotated[
            str, Header(description="The delivery id: drop repeats of one you have.")
        ],
    ) -> None:
        """Never called: FastAPI reads the declaration from its signature."""

    descriptions = {
        "wave.detected": "Sent once per wave, when it is first labelled orchestrated (by the "
        "fast path about a second after its reports, or by a full run).",
        "wave.updated": "Sent when an announced wave changed enough to matter: it grew by a "
        "quarter, its score moved by 0.1, it closed, or a full run relabelled it.",
    }
    for name, description in descriptions.items():
        app.webhooks.add_api_route(
            name,
            receive,
            methods=["POST"],
            summary=f"{name} (sent by the service to your URL)",
            description=description + WEBHOOK_HEADERS_DOC,
            operation_id="on_" + name.replace(".", "_"),
            tags=["webhooks"],
        )


class WebhookCreate(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "url": "https://safety.example.org/hooks/mrd",
                    "events": ["wave.detected", "wave.updated"],
                    "secret": "change-me-to-a-long-random-string",
                }
            ]
        }
    )

    url: str = Field(max_length=2048, description="http(s) URL on a public address.")
    events: list[EventName] = Field(
        default=["wave.detected", "wave.updated"], min_length=1, max_length=2
    )
    secret: str | None = Field(
        default=None,
        min_length=16,
        max_length=256,
        description="Signs every delivery (`X-MRD-Signature`). Left out: one is generated "
        "and returned once.",
    )


class WebhookInfo(BaseModel):
    webhook_id: str
    url: str
    events: list[str]
    created_at: datetime


class WebhookCreated(WebhookInfo):
    secret: str = Field(description="The signing secret; returned only in this answer.")


class WebhookList(BaseModel):
    items: list[WebhookInfo]


class Delivery(BaseModel):
    delivery_id: str
    event_id: str
    event: str
    wave_id: str
    status: Literal["pending", "delivered", "dead"]
    attempts: int
    last_status_code: int | None
    last_error: str | None
    created_at: datetime
    next_attempt_at: datetime
    delivered_at: datetime | None
    payload: dict[str, Any]


class DeliveryList(BaseModel):
    items: list[Delivery]


def _delivery(row: WebhookDelivery) -> Delivery:
    fields = {name: getattr(row, name) for name in Delivery.model_fields if name != "payload"}
    return Delivery.model_validate(fields | {"payload": orjson.loads(row.body)})


def _existing(session: SessionDep, webhook_id: str) -> Webhook:
    webhook = subscriptions.find(session, webhook_id)
    if webhook is None:
        raise Problem(404, f"No webhook with id {webhook_id}.", "not-found")
    return webhook


@router.post(
    "",
    status_code=201,
    summary="Subscribe to wave events",
    description="Deliveries are POSTs of `{event_id, event, created_at, wave}` signed with "
    "HMAC-SHA256 of `timestamp.body` in `X-MRD-Signature: t=<unix>,v1=<hex>`, retried with "
    "exponential backoff; after the last attempt a delivery stays in the log as `dead`. "
    "URLs on loopback, private or link-local addresses are refused (422) unless the service "
    "runs with `MRD_WEBHOOK_ALLOW_PRIVATE=1`. A subscription receives events from its "
    "creation on.",
    response_model=WebhookCreated,
    responses={
        201: json_example(WEBHOOK_EXAMPLE | {"secret": "change-me-to-a-long-random-string"}),
        **problem_responses(401, 403, 422),
    },
)
def create_webhook(
    body: WebhookCreate, session: SessionDep, settings: SettingsDep, caller: AdminKey
) -> WebhookCreated:
    try:
        webhook = subscriptions.subscribe(
            session,
            caller.key_id,
            body.url,
            body.events,
            body.secret,
            settings.webhook_allow_private,
        )
    except DestinationRefused as exc:
        raise Problem(
            422,
            f"The webhook URL is refused: {exc}.",
            "validation-error",
            errors=[{"loc": ["body", "url"], "msg": str(exc)}],
        ) from None
    return WebhookCreated.model_validate(webhook, from_attributes=True)


@router.get(
    "",
    summary="List webhooks",
    description="Every subscription; secrets are never shown.",
    response_model=WebhookList,
    responses={200: json_example({"items": [WEBHOOK_EXAMPLE]}), **problem_responses(401, 403)},
)
def list_webhooks(session: SessionDep, _key: AdminKey) -> WebhookList:
    hooks = subscriptions.list_webhooks(session)
    return WebhookList(items=[WebhookInfo.model_validate(h, from_attributes=True) for h in hooks])


@router.delete(
    "/{webhook_id}",
    status_code=204,
    summary="Delete a webhook",
    description="No delivery to it starts afterwards (one in flight may finish), and its "
    "delivery log is removed.",
    response_class=Response,
    responses=problem_responses(401, 403, 404),
)
def remove_webhook(webhook_id: WebhookId, context: ContextDep, caller: AdminKey) -> Response:
    if not subscriptions.remove(context.db, webhook_id, caller.key_id):
        raise Problem(404, f"No webhook with id {webhook_id}.", "not-found")
    return Response(status_code=204)


@router.get(
    "/{webhook_id}/deliveries",
    summary="Delivery log of a webhook",
    description="Newest first: every event queued for this subscription, its attempts, the "
    "last answer or error, and the payload. `status=dead` lists the dead letters.",
    response_model=DeliveryList,
    responses={
        200: json_example({"items": [DELIVERY_EXAMPLE]}),
        **problem_responses(401, 403, 404),
    },
)
def list_deliveries(
    webhook_id: WebhookId,
    session: SessionDep,
    _key: AdminKey,
    status: Annotated[
        Literal["pending", "delivered", "dead"] | None,
        Query(description="Only deliveries in this state (`dead`: the dead letters)."),
    ] = None,
    limit: Annotated[int, Query(ge=1, le=1000, description="Newest deliveries to return.")] = 100,
) -> DeliveryList:
    _existing(session, webhook_id)
    rows = subscriptions.deliveries(session, webhook_id, status, limit)
    return DeliveryList(items=[_delivery(row) for row in rows])


@router.post(
    "/{webhook_id}/deliveries/{delivery_id}/retry",
    summary="Send a dead letter again",
    description="Puts a `dead` delivery back in the queue with a fresh set of attempts.",
    response_model=Delivery,
    responses={
        200: json_example(DELIVERY_EXAMPLE | {"status": "pending", "attempts": 0}),
        **problem_responses(401, 403, 404, 409),
    },
)
def retry_delivery(
    webhook_id: WebhookId,
    delivery_id: Annotated[
        str,
        Path(
            max_length=40,
            description="A delivery id from the subscription's delivery log.",
            examples=["dlv_9b1f0e6a2c7d4e55b0a3f8c1d2e4b6a7"],
        ),
    ],
    context: ContextDep,
    session: SessionDep,
    caller: AdminKey,
) -> Delivery:
    outcome, row = subscriptions.requeue(
        context.db, session, webhook_id, delivery_id, caller.key_id
    )
    if row is None:
        raise Problem(404, f"No delivery {delivery_id} for webhook {webhook_id}.", "not-found")
    if outcome == "not_dead":
        raise Problem(409, f"Delivery {delivery_id} is {row.status}, not dead.", "conflict")
    return _delivery(row)
