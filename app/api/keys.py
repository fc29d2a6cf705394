"""API key management (scope ``admin``)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from fastapi import APIRouter, Path
from pydantic import BaseModel, ConfigDict, Field, StringConstraints
from starlette.responses import Response

from app.api.deps import AdminKey, SessionDep
from app.api.examples import json_example
from app.api.problems import Problem, problem_responses
from app.services import keys

router = APIRouter(prefix="/v1/keys", tags=["keys"])

ScopeName = Literal["ingest", "read", "admin"]


class KeyCreate(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [{"name": "trust-safety-pipeline", "scopes": ["ingest", "read"]}]
        }
    )

    name: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=128)]
    scopes: list[ScopeName] = Field(min_length=1, description="`admin` implies the others.")


class KeyInfo(BaseModel):
    key_id: str = Field(examples=["key_3f2a9c0d11b7e4a5"])
    name: str = Field(examples=["trust-safety-pipeline"])
    scopes: list[str] = Field(examples=[["ingest", "read"]])
    created_at: datetime
    revoked_at: datetime | None = None


class KeyCreated(KeyInfo):
    key: str = Field(description="The secret. Shown only in this answer; store it now.")


class KeyList(BaseModel):
    items: list[KeyInfo]


KEY_EXAMPLE = {
    "key_id": "key_3f2a9c0d11b7e4a5",
    "name": "trust-safety-pipeline",
    "scopes": ["ingest", "read"],
    "created_at": "2026-11-21T09:00:00Z",
    "revoked_at": None,
}


@router.post(
    "",
    status_code=201,
    summary="Create an API key",
    description="Creates a key with the given scopes and returns its secret **once**; the "
    "service keeps only a digest of it.",
    response_model=KeyCreated,
    responses={
        201: json_example(KEY_EXAMPLE | {"key": "mrd_q3VtY2hhbmdlLW1lLXRoaXMtaXMtYW4tZXhhbXBsZQ"}),
        **problem_responses(401, 403, 422),
    },
)
def create_api_key(body: KeyCreate, session: SessionDep, caller: AdminKey) -> KeyCreated:
    key, secret = keys.create_key_by(session, caller.key_id, body.name, list(body.scopes))
    return KeyCreated(**KeyInfo.model_validate(key, from_attributes=True).model_dump(), key=secret)


@router.get(
    "",
    summary="List API keys",
    description="Every key with its scopes and whether it was revoked. Secrets are never shown.",
    response_model=KeyList,
    responses={200: json_example({"items": [KEY_EXAMPLE]}), **problem_responses(401, 403)},
)
def list_keys(session: SessionDep, _key: AdminKey) -> KeyList:
    found = keys.list_keys(session)
    return KeyList(items=[KeyInfo.model_validate(k, from_attributes=True) for k in found])


@router.delete(
    "/{key_id}",
    status_code=204,
    summary="Revoke an API key",
    description="Revokes the key for every worker and replica: from the next request on, "
    "requests with it get 401 (each request checks the database's revocation count). The last "
    "active admin key cannot be revoked (409), so the service never locks its operators out. "
    "Use an id from `GET /v1/keys`.",
    response_class=Response,
    responses=problem_responses(401, 403, 404, 409),
)
def revoke_api_key(
    key_id: Annotated[
        str,
        Path(
            max_length=64,
            description="A key id from `GET /v1/keys` (never the secret).",
            examples=["key_3f2a9c0d11b7e4a5"],
        ),
    ],
    session: SessionDep,
    caller: AdminKey,
) -> Response:
    outcome = keys.revoke(session, key_id, caller.key_id)
    if outcome == "gone":
        raise Problem(404, f"No active key with id {key_id}.", "not-found")
    if outcome == "last_admin":
        raise Problem(409, "This is the last active admin key; create another first.", "conflict")
    return Response(status_code=204)
