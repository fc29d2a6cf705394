"""AT Protocol endpoints: ``createReport`` as a moderation service receives it through
a PDS, the service's DID document (did:web) and XRPC's health check. Errors are XRPC's
``{error, message}``, not problem+json: AT Protocol clients read those."""

from __future__ import annotations

from http import HTTPStatus
from typing import Annotated, Any

import orjson
from fastapi import APIRouter, Header, Query, Request
from pydantic import BaseModel, ConfigDict, Field
from starlette.concurrency import run_in_threadpool
from starlette.responses import JSONResponse

from app import __version__
from app.api.context import ContextDep
from app.api.metrics import record_ingest, record_intake
from app.services import atproto, labels

router = APIRouter(tags=["integrations"])


XRPC_ERROR_SCHEMA = {
    "type": "object",
    "required": ["error", "message"],
    "properties": {
        "error": {"type": "string", "description": "The error's name (BadJwtSignature, ...)."},
        "message": {"type": "string"},
    },
}


class XrpcHealth(BaseModel):
    version: str


class ReportCreated(BaseModel):
    """``com.atproto.moderation.createReport``'s output, as its lexicon defines it."""

    model_config = ConfigDict(extra="allow")

    id: int
    reasonType: str
    reason: str | None = None
    subject: dict[str, Any]
    reportedBy: str
    createdAt: str


class DidService(BaseModel):
    id: str
    type: str
    serviceEndpoint: str


class VerificationMethod(BaseModel):
    id: str
    type: str
    controller: str
    publicKeyMultibase: str


class DidDocument(BaseModel):
    context: list[str] = Field(alias="@context")
    id: str
    verificationMethod: list[VerificationMethod] = []
    service: list[DidService]


class LabelSignature(BaseModel):
    bytes_: str = Field(alias="$bytes", description="The signature, base64 without padding.")


class Label(BaseModel):
    """``com.atproto.label.defs#label``: one label this service published."""

    ver: int
    src: str = Field(description="This service's DID.")
    uri: str = Field(description="The labelled account's DID.")
    val: str = Field(description="`mass-report-target` or `coordinated-reporter`.")
    neg: bool | None = Field(None, description="True: the label is withdrawn.")
    cts: str
    sig: LabelSignature


class LabelPage(BaseModel):
    """``com.atproto.label.queryLabels``'s output."""

    cursor: str | None = Field(None, description="Pass it back to read on from here.")
    labels: list[Label]


def xrpc_errors(*statuses: int) -> dict[int | str, dict[str, Any]]:
    examples = {
        400: {"error": "InvalidRequest", "message": "subject is required"},
        401: {"error": "BadJwtAudience", "message": "jwt audience does not match service did"},
        404: {"error": "NotFound", "message": "no did:web identity"},
        501: {"error": "MethodNotImplemented", "message": "the AT Protocol intake is off"},
    }
    return {
        status: {
            "description": HTTPStatus(status).phrase,
            "content": {
                "application/json": {
                    "schema": XRPC_ERROR_SCHEMA,
                    "example": examples[status],
                }
            },
        }
        for status in statuses
    }


def xrpc_error(exc: atproto.XrpcError) -> JSONResponse:
    return JSONResponse({"error": exc.error, "message": exc.message}, status_code=exc.status)


# A real key and signature: the example label verifies against the example document.
LABEL_KEY_EXAMPLE = "zQ3shfYvenfNP7YzK3ES68uLwQ8kVTBNeER4f71wC1sXHTYAp"
LABEL_EXAMPLE = {
    "ver": 1,
    "src": "did:web:mrd.example.org",
    "uri": "did:plc:44ybard66vv44zksje25o7dz",
    "val": "mass-report-target",
    "cts": "2026-12-07T09:00:00.000Z",
    "sig": {
        "$bytes": "GiYNShF04kiUCHshwH0VKIT5lZt9K2FV7pr2CUEnMHUhGEfKCFGCEmj8CkNAGButoFLMAMAy+taEbOXI"
        "3vsERg"
    },
}

REPORT_EXAMPLE = {
    "reasonType": "com.atproto.moderation.defs#reasonViolation",
    "reason": "posts threats",
    "subject": {
        "$type": "com.atproto.admin.defs#repoRef",
        "did": "did:plc:ewvi7nxzyoun6zhxrhs64oiz",
    },
}


@router.post(
    f"/xrpc/{atproto.CREATE_REPORT}",
    summary="AT Protocol: create a report",
    description="`com.atproto.moderation.createReport` exactly as the lexicon defines it, "
    "as a PDS proxies it to a moderation service: `Authorization: Bearer <service JWT>` "
    "signed by the reporter's key (`iss` the reporter's DID, `aud` MRD_ATPROTO_SERVICE_DID, "
    "`lxm` this method, `exp`, `jti`). The key comes from the issuer's DID document "
    "(MRD_ATPROTO_PLC_URL for did:plc, the host for did:web). The subject's DID is the "
    "target, a record's at:// URI its content; `jti` makes a re-sent report a duplicate. "
    "Errors are XRPC's: 401 `MissingJwt`, `BadJwt`, `JwtExpired`, `BadJwtAudience`, "
    "`BadJwtLexiconMethod`, `BadJwtSignature`; 400 `InvalidRequest`; 501 when the "
    "intake is not configured.",
    response_model=ReportCreated,
    response_model_exclude_none=True,
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {
                "application/json": {"schema": {"type": "object"}, "example": REPORT_EXAMPLE}
            },
        }
    },
    responses={
        200: {
            "content": {
                "application/json": {
                    "example": REPORT_EXAMPLE
                    | {
                        "id": 4153210,
                        "reportedBy": "did:plc:44ybard66vv44zksje25o7dz",
                        "createdAt": "2026-12-07T09:00:00Z",
                    }
                }
            }
        },
        **xrpc_errors(400, 401, 501),
    },
)
async def create_report(
    request: Request,
    context: ContextDep,
    authorization: Annotated[
        str | None, Header(description="`Bearer <inter-service JWT>` from the reporter's PDS.")
    ] = None,
) -> ReportCreated | JSONResponse:
    service_did = context.settings.atproto_service_did
    keys = context.atproto_keys
    try:
        if not service_did or keys is None:
            raise atproto.XrpcError(
                501,
                "MethodNotImplemented",
                "the AT Protocol intake is off: set MRD_ATPROTO_SERVICE_DID",
            )
        if not authorization or not authorization.startswith("Bearer "):
            raise atproto.XrpcError(401, "MissingJwt", "missing jwt")
        token = authorization.removeprefix("Bearer ").strip()
        body = await request.body()

        def work() -> atproto.Filed:
            claims = atproto.verify(token, service_did, atproto.CREATE_REPORT, keys)
            try:
                parsed = orjson.loads(body)
            except orjson.JSONDecodeError:
                raise atproto.XrpcError(400, "InvalidRequest", "the body is not JSON") from None
            return atproto.create_report(
                context.db, claims, parsed, body, context.settings.future_tolerance_s
            )

        filed = await run_in_threadpool(work)
    except atproto.XrpcError as exc:
        record_intake("atproto", "refused" if exc.status == 401 else "unreadable")
        return xrpc_error(exc)
    record_intake("atproto", "stored")
    stored = filed.stored
    record_ingest("reports", stored.accepted, stored.duplicates, 0, stored.conflicts)
    return ReportCreated.model_validate(filed.answer)


@router.get(
    "/xrpc/_health",
    summary="AT Protocol: health",
    description="XRPC's health check: the service's version.",
    response_model=XrpcHealth,
    responses={200: {"content": {"application/json": {"example": {"version": __version__}}}}},
)
def xrpc_health() -> XrpcHealth:
    return XrpcHealth(version=__version__)


@router.get(
    "/.well-known/did.json",
    summary="AT Protocol: the service's DID document",
    description="For a did:web service identity (MRD_ATPROTO_SERVICE_DID did:web:HOST): the "
    "document naming this service as an AT Protocol moderation service (`#atproto_labeler`) "
    "and, with MRD_ATPROTO_LABEL_KEY set, the key its labels are signed with "
    "(`#atproto_label`). 404 when the identity is not a did:web.",
    response_model=DidDocument,
    response_model_by_alias=True,
    responses={
        200: {
            "content": {
                "application/json": {
                    "example": {
                        "@context": [
                            "https://www.w3.org/ns/did/v1",
                            "https://w3id.org/security/multikey/v1",
                        ],
                        "id": "did:web:mrd.example.org",
                        "verificationMethod": [
                            {
                                "id": "did:web:mrd.example.org#atproto_label",
                                "type": "Multikey",
                                "controller": "did:web:mrd.example.org",
                                "publicKeyMultibase": LABEL_KEY_EXAMPLE,
                            }
                        ],
                        "service": [
                            {
                                "id": "#atproto_labeler",
                                "type": "AtprotoLabeler",
                                "serviceEndpoint": "https://mrd.example.org",
                            }
                        ],
                    }
                }
            }
        },
        **xrpc_errors(404),
    },
)
def did_document(context: ContextDep) -> DidDocument | JSONResponse:
    did = context.settings.atproto_service_did or ""
    if not did.startswith("did:web:"):
        return JSONResponse(
            {"error": "NotFound", "message": "no did:web identity"}, status_code=404
        )
    host = did.removeprefix("did:web:").replace("%3A", ":")
    keys = []
    if context.labeler is not None:
        key = context.labeler.key.multikey
        keys.append(
            {
                "id": f"{did}#atproto_label",
                "type": "Multikey",
                "controller": did,
                "publicKeyMultibase": key,
            }
        )
    return DidDocument.model_validate(
        {
            "@context": ["https://www.w3.org/ns/did/v1", "https://w3id.org/security/multikey/v1"],
            "id": did,
            "verificationMethod": keys,
            "service": [
                {
                    "id": f"#{atproto.LABELER_SERVICE}",
                    "type": "AtprotoLabeler",
                    "serviceEndpoint": f"https://{host}",
                }
            ],
        }
    )


@router.get(
    f"/xrpc/{labels.QUERY_LABELS}",
    summary="AT Protocol: this service's labels",
    description="`com.atproto.label.queryLabels` as the lexicon defines it, answered as an "
    "AT Protocol labeler: `mass-report-target` on accounts the enforcement check holds "
    "(a brigade's target), `coordinated-reporter` on accounts with reporter risk at least "
    "0.9, on accounts named by DID. Labels follow full analysis runs; a withdrawn one comes "
    "back as its negation (`neg: true`) under a newer cursor. Each is signed with "
    "MRD_ATPROTO_LABEL_KEY (DAG-CBOR, SHA-256, secp256k1), the DID document's "
    "`#atproto_label`. No key needed to read. Errors are XRPC's: 400 `InvalidRequest`; "
    "501 when no labels are published (MRD_ATPROTO_SERVICE_DID or MRD_ATPROTO_LABEL_KEY "
    "unset).",
    response_model=LabelPage,
    response_model_exclude_none=True,
    response_model_by_alias=True,
    responses={
        200: {
            "content": {"application/json": {"example": {"cursor": "1", "labels": [LABEL_EXAMPLE]}}}
        },
        **xrpc_errors(400, 501),
    },
)
def query_labels(
    context: ContextDep,
    uri_patterns: Annotated[
        list[str] | None,
        Query(
            alias="uriPatterns",
            description="Subjects (DIDs) to read labels of; one ending in `*` is a prefix "
            "(`*` alone: every subject). Repeat the parameter for several.",
            examples=["did:plc:*"],
        ),
    ] = None,
    sources: Annotated[
        list[str] | None,
        Query(description="Labelers to read; without this service's DID, nothing is found."),
    ] = None,
    limit: Annotated[int, Query(description="Labels per page, 1 to 250.")] = labels.LIMIT_DEFAULT,
    cursor: Annotated[str | None, Query(description="The `cursor` of the previous page.")] = None,
) -> LabelPage | JSONResponse:
    labeler = context.labeler
    try:
        if labeler is None:
            raise atproto.XrpcError(
                501,
                "MethodNotImplemented",
                "no labels are published: set MRD_ATPROTO_SERVICE_DID and MRD_ATPROTO_LABEL_KEY",
            )
        with context.db.engine.connect() as conn:
            page = labels.query(conn, labeler.did, uri_patterns or [], sources, limit, cursor)
    except atproto.XrpcError as exc:
        return xrpc_error(exc)
    return LabelPage.model_validate(page)
