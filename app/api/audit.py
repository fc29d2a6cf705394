"""The audit log of administrative actions (scope ``admin``)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Query
from pydantic import BaseModel

from app.api.deps import AdminKey, SessionDep
from app.api.problems import problem_responses
from app.services import audit
from app.services.audit import AuditAction

router = APIRouter(prefix="/v1", tags=["keys"])

AUDIT_EXAMPLE = {
    "event_id": "aud_6a1f0c2e9b7d4e3fa5c8b1d0e2f4a6b8",
    "at": "2026-11-21T09:00:00Z",
    "actor": "key_3f2a9c0d11b7e4a5",
    "action": "key.created",
    "subject": "key_9c1d2e3f4a5b6c7d",
    "detail": {"name": "trust-safety-pipeline", "scopes": ["ingest", "read"]},
}


class AuditRecord(BaseModel):
    event_id: str
    at: datetime
    actor: str
    action: str
    subject: str
    detail: dict[str, Any]


class AuditList(BaseModel):
    items: list[AuditRecord]


@router.get(
    "/audit",
    summary="Audit log",
    description="Administrative actions, newest first: keys created and revoked, webhooks "
    "created and deleted, dead letters re-queued. `actor` is the key id that acted "
    "(`cli` for `mrd keys create`, `service` for keys the service made at start). "
    "Secrets never appear.",
    response_model=AuditList,
    responses={
        200: {"content": {"application/json": {"example": {"items": [AUDIT_EXAMPLE]}}}},
        **problem_responses(401, 403, 422),
    },
)
def audit_log(
    session: SessionDep,
    _key: AdminKey,
    action: Annotated[AuditAction | None, Query(description="Only records of this action.")] = None,
    limit: Annotated[int, Query(ge=1, le=1000, description="Newest records to return.")] = 100,
) -> AuditList:
    rows = audit.recent(session, action, limit)
    return AuditList(items=[AuditRecord.model_validate(r, from_attributes=True) for r in rows])
