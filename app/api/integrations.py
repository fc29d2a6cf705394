"""Integrations: moderation stacks that push reports here as they are, with
configuration alone. Today: a Mastodon server's admin webhooks (``report.created``,
``report.updated``), signed with the integration's secret."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Header, Path, Request
from pydantic import BaseModel, ConfigDict, Field
from starlette.concurrency import run_in_threadpool
from starlette.responses import Response

from app.api.context import ContextDep
from app.api.deps import AdminKey, SessionDep, client_network
from app.api.examples import json_example
from app.api.ingest import read_json_body
from app.api.metrics import record_ingest, record_intake
from app.api.problems import Problem, problem_responses
from app.services import mastodon
from app.services.limits import retry_after

router = APIRouter(prefix="/v1/integrations", tags=["integrations"])

IntegrationId = Annotated[
    str,
    Path(
        max_length=40,
        description="An integration id from `POST /v1/integrations` or `GET /v1/integrations`.",
        examples=["int_7c1e9d2a4c3b8e6f5a1d0c9b8a7e0f4b"],
    ),
]
INTEGRATION_EXAMPLE = {
    "integration_id": "int_7c1e9d2a4c3b8e6f5a1d0c9b8a7e0f4b",
    "kind": "mastodon",
    "domain": "social.example.org",
    "created_at": "2026-12-07T09:00:00Z",
    "url": "/v1/integrations/mastodon/int_7c1e9d2a4c3b8e6f5a1d0c9b8a7e0f4b",
}
# A hostname: labels of letters, digits and hyphens (an IDN in its xn-- form).
LABEL = r"[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?"
DOMAIN = rf"^({LABEL}\.)*{LABEL}$"


class IntegrationCreate(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "kind": "mastodon",
                    "domain": "social.example.org",
                    "secret": "the-secret-typed-into-mastodons-webhook-form",
                }
            ]
        }
    )

    kind: Literal["mastodon"]
    domain: str = Field(
        max_length=100,
        pattern=DOMAIN,
        description="The server's domain: its local accounts become `username@domain`.",
    )
    secret: str | None = Field(
        default=None,
        min_length=16,
        max_length=256,
        description="The secret Mastodon signs deliveries with (Administration > Webhooks); "
        "left out, one is generated: paste it into Mastodon's form.",
    )


class IntegrationInfo(BaseModel):
    integration_id: str
    kind: str
    domain: str
    created_at: datetime
    url: str = Field(description="The path to give Mastodon as the webhook's endpoint.")


class IntegrationCreated(IntegrationInfo):
    secret: str = Field(description="The signing secret; returned only in this answer.")


class IntegrationList(BaseModel):
    items: list[IntegrationInfo]


class DeliveryAnswer(BaseModel):
    """What a delivery did: reports stored, already known, refused; or, for an event
    that is not a report, that it was acknowledged and ignored."""

    event: str
    ignored: bool = False
    accepted: int = 0
    duplicates: int = 0
    rejected: list[dict[str, Any]] = Field(
        default_factory=list,
        description="Report events refused, as `POST /v1/reports` lists them (a category "
        "changed after the report was first stored is a conflict: reports never change).",
    )
    accounts_rejected: list[dict[str, Any]] = Field(
        default_factory=list, description="Account records refused (an id over 128 characters)."
    )


def _info(integration: Any, with_secret: bool = False) -> dict[str, Any]:
    info = {
        "integration_id": integration.integration_id,
        "kind": integration.kind,
        "domain": integration.domain,
        "created_at": integration.created_at,
        "url": f"/v1/integrations/{integration.kind}/{integration.integration_id}",
    }
    return info | ({"secret": integration.secret} if with_secret else {})


@router.post(
    "",
    status_code=201,
    summary="Connect a Mastodon server",
    description="Creates an integration and answers its endpoint (`url`) and secret: in "
    "Mastodon, Administration > Webhooks, add that URL on this service, tick `report.created` "
    "and `report.updated`, and use the same secret. Reports then arrive as Mastodon sends "
    "them; nothing else is needed. The secret is shown only here.",
    response_model=IntegrationCreated,
    responses={
        201: json_example(INTEGRATION_EXAMPLE | {"secret": "a-generated-secret-shown-once"}),
        **problem_responses(401, 403, 422),
    },
)
def create_integration(
    body: IntegrationCreate, session: SessionDep, caller: AdminKey
) -> IntegrationCreated:
    created = mastodon.create(session, caller.key_id, body.domain, body.secret)
    return IntegrationCreated.model_validate(_info(created, with_secret=True))


@router.get(
    "",
    summary="List integrations",
    description="Every integration; secrets are never shown.",
    response_model=IntegrationList,
    responses={200: json_example({"items": [INTEGRATION_EXAMPLE]}), **problem_responses(401, 403)},
)
def list_integrations(session: SessionDep, _key: AdminKey) -> IntegrationList:
    found = mastodon.list_integrations(session)
    return IntegrationList(items=[IntegrationInfo.model_validate(_info(i)) for i in found])


@router.delete(
    "/{integration_id}",
    status_code=204,
    summary="Disconnect an integration",
    description="Its deliveries are refused (401) from now on; reports already stored stay.",
    response_class=Response,
    responses=problem_responses(401, 403, 404),
)
def remove_integration(
    integration_id: IntegrationId, session: SessionDep, caller: AdminKey
) -> Response:
    if not mastodon.remove(session, integration_id, caller.key_id):
        raise Problem(404, f"No integration with id {integration_id}.", "not-found")
    return Response(status_code=204)


DELIVERY_EXAMPLE = {"event": "report.created", "accepted": 2, "duplicates": 0, "rejected": []}


@router.post(
    "/mastodon/{integration_id}",
    summary="Mastodon webhook delivery",
    description="Where a Mastodon server's admin webhook posts `{event, created_at, object}`. "
    "No API key: the body must be signed with the integration's secret, `X-Hub-Signature: "
    "sha256=<hex HMAC-SHA256 of the body>`, as Mastodon signs it; otherwise 401 and nothing "
    "is stored. `report.created` and `report.updated` store one report per reported status "
    "(or one for the account), keyed by the report and status ids, so a re-delivery is a "
    "duplicate and an update adds only new statuses; both accounts are upserted as "
    "`username@domain`. Other events are acknowledged and ignored.",
    response_model=DeliveryAnswer,
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {
                "application/json": {
                    "schema": {"type": "object"},
                    "example": {
                        "event": "report.created",
                        "created_at": "2026-12-07T09:00:00.000Z",
                        "object": {
                            "id": "1042",
                            "category": "violation",
                            "comment": "",
                            "created_at": "2026-12-07T09:00:00.000Z",
                            "account": {"id": "7", "username": "ansar_1", "domain": None},
                            "target_account": {
                                "id": "9",
                                "username": "analyst",
                                "domain": "news.example",
                            },
                            "statuses": [],
                            "rules": [],
                        },
                    },
                }
            },
        }
    },
    responses={
        200: json_example(DELIVERY_EXAMPLE),
        **problem_responses(
            400,
            401,
            413,
            415,
            422,
            429,
            examples={
                401: (
                    "unauthenticated",
                    "Unknown integration, or the body is not signed with its secret "
                    "(X-Hub-Signature: sha256=<hex HMAC-SHA256 of the body>).",
                ),
                429: ("rate-limited", "Too many unsigned deliveries from this address; slow down."),
            },
        ),
    },
)
async def mastodon_delivery(
    integration_id: IntegrationId,
    request: Request,
    context: ContextDep,
    x_hub_signature: Annotated[
        str | None, Header(description="`sha256=<hex HMAC-SHA256 of the body>`.")
    ] = None,
) -> DeliveryAnswer:
    body = await read_json_body(request)
    tolerance = context.settings.future_tolerance_s

    def work() -> mastodon.Delivery:
        return mastodon.receive(context.db, integration_id, body, x_hub_signature, tolerance)

    try:
        delivery = await run_in_threadpool(work)
    except mastodon.NotSigned:
        # A signed delivery always gets through; an address that keeps sending unsigned
        # ones is slowed down like one that keeps sending wrong API keys.
        record_intake("mastodon", "unsigned")
        address = client_network(request)
        wait = context.auth_failures.waiting(address)
        context.auth_failures.take(address)
        if wait:
            raise Problem(
                429,
                "Too many unsigned deliveries from this address; slow down.",
                "rate-limited",
                headers={"Retry-After": retry_after(wait)},
            ) from None
        raise Problem(
            401,
            "Unknown integration, or the body is not signed with its secret "
            "(X-Hub-Signature: sha256=<hex HMAC-SHA256 of the body>).",
            "unauthenticated",
        ) from None
    except mastodon.NotAReport as exc:
        record_intake("mastodon", "unreadable")
        raise Problem(422, str(exc), "validation-error") from None
    if delivery.reports is None:
        record_intake("mastodon", "ignored")
        return DeliveryAnswer(event=delivery.event, ignored=True)
    record_intake("mastodon", "stored")
    stored = delivery.reports
    record_ingest(
        "reports",
        stored.accepted,
        stored.duplicates,
        len(stored.rejected) - stored.conflicts,
        stored.conflicts,
    )
    return DeliveryAnswer(
        event=delivery.event,
        accepted=stored.accepted,
        duplicates=stored.duplicates,
        rejected=stored.rejected,
        accounts_rejected=delivery.accounts.rejected if delivery.accounts else [],
    )
