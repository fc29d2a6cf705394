"""Request dependencies: settings, database and the caller's key."""

from __future__ import annotations

import ipaddress
from collections.abc import Awaitable, Callable, Iterator
from typing import Annotated

from fastapi import Depends, Request, Security
from fastapi.security import APIKeyHeader
from sqlalchemy.orm import Session

from app.api.context import ContextDep, context_of
from app.api.problems import Problem
from app.config import Settings
from app.services.keys import Principal
from app.services.limits import retry_after

api_key_header = APIKeyHeader(
    name="X-API-Key",
    auto_error=False,
    description="An API key. Scopes: `ingest`, `read`, `admin` (admin implies the others).",
)

ANONYMOUS_ADMIN = Principal("auth-disabled", "auth disabled", frozenset({"admin"}))


async def get_settings(context: ContextDep) -> Settings:
    return context.settings


def get_session(context: ContextDep) -> Iterator[Session]:
    with context.db.session() as session:
        yield session


def client_network(request: Request) -> str:
    """Who is calling, for the wrong-key limit: the client's IPv4 address, or its IPv6
    /64 (one host gets a whole /64 to pick addresses from)."""
    host = request.client.host if request.client else "unknown"
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        return host
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is None:
        return str(ipaddress.IPv6Network((address, 64), strict=False))
    return host


def require(scope: str) -> Callable[..., Awaitable[Principal]]:
    """A dependency that admits keys allowed ``scope``: 401 without a valid key, 403 without
    the scope. It runs on the event loop: a cached key costs a dictionary lookup, less
    than the hop to the thread pool, and a rare miss one indexed read."""

    async def dependency(
        request: Request, secret: Annotated[str | None, Security(api_key_header)]
    ) -> Principal:
        context = context_of(request.app)
        if context.settings.auth_disabled:
            return ANONYMOUS_ADMIN
        if not secret:
            raise Problem(
                401,
                "This endpoint needs an API key in the X-API-Key header.",
                "unauthenticated",
                headers={"WWW-Authenticate": "APIKey"},
            )
        cache, failures = context.key_cache, context.auth_failures
        address = client_network(request)
        # An address that keeps sending wrong keys is turned away before the database is
        # asked; keys this worker verified before still get through (clients behind one
        # proxy share its address).
        wait = failures.waiting(address)
        if wait and not cache.knows(secret):
            raise Problem(
                429,
                "Too many requests with unknown or revoked API keys from this address; slow down.",
                "rate-limited",
                headers={"Retry-After": retry_after(wait)},
            )
        principal = cache.authenticate(context.db, secret)
        if principal is None:
            failures.take(address)
            raise Problem(
                401,
                "The API key is unknown or revoked.",
                "unauthenticated",
                headers={"WWW-Authenticate": "APIKey"},
            )
        wait = context.rate_limiter.take(principal.key_id)
        if wait:
            raise Problem(
                429,
                f"This key made more than {context.settings.rate_limit_per_s:g} "
                "requests per second; slow down.",
                "rate-limited",
                headers={"Retry-After": retry_after(wait)},
            )
        if not principal.allows(scope):
            raise Problem(
                403,
                f"This key has scopes {sorted(principal.scopes)}; this endpoint needs '{scope}'.",
                "forbidden",
            )
        return principal

    return dependency


SettingsDep = Annotated[Settings, Depends(get_settings)]
SessionDep = Annotated[Session, Depends(get_session)]
IngestKey = Annotated[Principal, Depends(require("ingest"))]
ReadKey = Annotated[Principal, Depends(require("read"))]
AdminKey = Annotated[Principal, Depends(require("admin"))]
