"""The FastAPI application: ``create_app()`` wires settings, database and routers."""

from __future__ import annotations

import gc
import logging
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI

from app import __version__
from app.api import (
    analysis,
    audit,
    ingest,
    integrations,
    keys,
    operations,
    results,
    webhooks,
    xrpc,
)
from app.api.admission import Admission
from app.api.body_limit import BodyLimit
from app.api.context import ServiceContext, context_of
from app.api.docs import mount_docs
from app.api.metrics import MetricsMiddleware
from app.api.openapi import install_openapi, operation_id
from app.api.paths import SegmentedPath
from app.api.problems import install_problem_handlers
from app.api.ui import mount_dashboard
from app.config import Settings, get_settings
from app.db.engine import Database
from app.db.migrations import head_revision
from app.logs import configure_logging
from app.processes import die_with_serve
from app.services import readiness
from app.services.atproto import KeyResolver
from app.services.background import Background
from app.services.enforcement import CheckIndex, CurrentRun
from app.services.keys import KeyCache, ensure_bootstrap_key
from app.services.labels import Labeler
from app.services.limits import RateLimiter

log = logging.getLogger("mrd")

DESCRIPTION = """
Detects **coordinated mass-reporting** campaigns: orchestrated waves of reports that
silence journalists, analysts and counter-extremism accounts, told apart from organic
waves of reports on genuinely violating content.

Send reports, accounts, graph edges, posts and moderator decisions to the ingest
endpoints; read waves, lockstep groups, account risk and the three-tier network; ask
`POST /v1/enforcement/check` before suspending a mass-reported account.

Authenticate with an API key in the `X-API-Key` header (the **Authorize** button).
Errors are RFC 9457 problem details (`application/problem+json`).
"""


def announce_bootstrap_key(settings: Settings, db: Database) -> None:
    """Create the bootstrap/initial admin key and show a generated one once, on the
    terminal only: standard error that is not a terminal is collected with the logs,
    and log lines are shipped and kept elsewhere; a secret must not be."""
    with db.session() as session:
        secret = ensure_bootstrap_key(session, settings.bootstrap_api_key)
        session.commit()
    if not secret:
        return
    if sys.stderr.isatty():
        print(f"No API key existed; created an admin key (shown once): {secret}", file=sys.stderr)
        log.warning("No API key existed: created an admin key, shown once on the terminal.")
    else:
        log.warning(
            "No API key existed: created an admin key, but standard error is not a terminal "
            "to show it on (logs are shipped and kept). Make one with `mrd keys create "
            "--name admin --scope admin`, or set MRD_BOOTSTRAP_API_KEY."
        )


# Requests with wrong keys allowed per client address: a burst (a client whose key was
# just revoked, a typo), then one a second; each costs a database lookup.
AUTH_FAILURES_PER_S = 1.0
AUTH_FAILURE_BURST = 20.0

# Database calls release the GIL; a thread coming back from one (above all SQLite's
# single writer thread) waits up to the switch interval for threads that are busy
# validating batches. Python's default of 5 ms makes that wait dominate ingest.
GIL_SWITCH_INTERVAL_S = 0.0005


def create_app(settings: Settings | None = None) -> FastAPI:
    die_with_serve()
    settings = settings or get_settings()
    sys.setswitchinterval(min(sys.getswitchinterval(), GIL_SWITCH_INTERVAL_S))
    configure_logging(settings.log_level, settings.log_json)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        if settings.auth_disabled:
            log.warning("MRD_AUTH_DISABLED=1: every request is admitted without a key.")
        context = context_of(app)
        if readiness.schema_is_current(context.db, context.head_revision):
            announce_bootstrap_key(settings, context.db)
            results.warm_up(app)
            # Everything loaded so far lives as long as the process: keep it out of
            # the collector's full passes, which would otherwise stall requests.
            gc.collect()
            gc.freeze()
            context.check_index = CheckIndex(context.db)
            context.check_index.start()
            if settings.background_worker:
                context.background = Background(context.db, settings)
                context.background.start()
        else:
            log.error("The database schema is not at the newest migration: run `mrd migrate`.")
        yield
        if context.background is not None:
            context.background.stop()
        if context.check_index is not None:
            context.check_index.stop()
        context.db.dispose()

    app = FastAPI(
        title="Mass-report detector",
        version=__version__,
        description=DESCRIPTION,
        lifespan=lifespan,
        generate_unique_id_function=operation_id,
        # Served by mount_docs from vendored assets; FastAPI's pages load from a CDN.
        docs_url=None,
        redoc_url=None,
    )
    app.state.context = ServiceContext(
        settings=settings,
        db=Database(settings.database_url),
        head_revision=head_revision(settings.database_url),
        key_cache=KeyCache(),
        current_run=CurrentRun(),
        rate_limiter=RateLimiter(settings.rate_limit_per_s, settings.rate_limit_burst),
        auth_failures=RateLimiter(AUTH_FAILURES_PER_S, AUTH_FAILURE_BURST),
        atproto_keys=KeyResolver(settings.atproto_plc_url),
        labeler=Labeler.configured(settings),
    )

    install_problem_handlers(app)
    app.add_middleware(
        Admission,
        capacity=settings.max_in_flight,
        queue_timeout_s=settings.queue_timeout_s,
        max_waiting=settings.max_queue,
    )
    app.add_middleware(BodyLimit, limit=settings.max_body_bytes, timeout_s=settings.body_timeout_s)
    app.add_middleware(MetricsMiddleware)
    app.add_middleware(SegmentedPath)
    app.include_router(ingest.router)
    app.include_router(analysis.router)
    app.include_router(results.router)
    app.include_router(keys.router)
    app.include_router(audit.router)
    app.include_router(webhooks.router)
    app.include_router(integrations.router)
    app.include_router(xrpc.router)
    webhooks.declare_events(app)
    app.include_router(operations.router)
    mount_dashboard(app)
    mount_docs(app)

    install_openapi(app)
    return app
