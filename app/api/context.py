"""The service's shared state, typed: one ``ServiceContext`` per app, built by
``create_app`` and reached by handlers through ``ContextDep`` (or ``context_of`` where a
dependency cannot be used), never by loose ``app.state`` look-ups."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated, Any

from fastapi import Depends, Request

from app.config import Settings
from app.db.engine import Database
from app.services.atproto import KeyResolver
from app.services.background import Background
from app.services.enforcement import CheckIndex, CurrentRun
from app.services.keys import KeyCache
from app.services.labels import Labeler
from app.services.limits import RateLimiter


@dataclass
class ServiceContext:
    settings: Settings
    db: Database
    # The migration the code expects; /readyz compares the database's with it.
    head_revision: str | None
    # Keys verified since the last revocation (app.services.keys).
    key_cache: KeyCache
    # The newest succeeded run, looked up once a second (app.services.enforcement).
    current_run: CurrentRun
    # Requests per key, and wrong keys per client address.
    rate_limiter: RateLimiter
    auth_failures: RateLimiter
    # The current run's enforcement standings in memory, once the app has started.
    check_index: CheckIndex | None = None
    # The background work when this app runs it (not under `mrd serve`'s HTTP workers).
    background: Background | None = None
    # AT Protocol issuers' signing keys, cached (app.services.atproto).
    atproto_keys: KeyResolver | None = None
    # The service as an AT Protocol labeler, when configured (app.services.labels).
    labeler: Labeler | None = None


def context_of(app: Any) -> ServiceContext:
    context: ServiceContext = app.state.context
    return context


async def get_context(request: Request) -> ServiceContext:
    # A coroutine, so FastAPI runs it in place: a plain function would cost every
    # request a hop to the thread pool and back.
    return context_of(request.app)


ContextDep = Annotated[ServiceContext, Depends(get_context)]
