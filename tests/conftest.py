"""Shared fixtures: a migrated database per backend and a real HTTP server on it.

Every API test runs against SQLite; when ``MRD_TEST_POSTGRES_URL`` is set (``.ci/run``
sets it) the same tests run against PostgreSQL as well.
"""

from __future__ import annotations

import ipaddress
import os
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any
from unittest import mock

import httpx
import pytest
import uvicorn
from fastapi import FastAPI
from sqlalchemy import create_engine, delete, select, text

from app.config import Settings
from app.db.engine import Database, normalise_url
from app.db.ingest_repository import note_deletion
from app.db.migrations import upgrade_to_head
from app.db.models import Base, tables_on
from app.main import (
    AUTH_FAILURE_BURST,
    AUTH_FAILURES_PER_S,
    announce_bootstrap_key,
    create_app,
)
from app.services import webhooks
from app.services.keys import KeyCache
from app.services.limits import RateLimiter

ADMIN_KEY = "test-admin-key-0123456789"
# Where tests subscribe webhooks that must never be answered: the discard port of this
# machine, where nothing listens.
UNANSWERED_HOOK = "http://127.0.0.1:9/mrd"
POSTGRES_URL = os.environ.get("MRD_TEST_POSTGRES_URL")
BACKENDS = ["sqlite", *(["postgresql"] if POSTGRES_URL else [])]

# The tables that hold what clients sent (the others are the service's own: keys,
# analysis runs and results, the runner's lease).
CLIENT_TABLES = {
    "reports",
    "accounts",
    "edges",
    "posts",
    "post_mentions",
    "post_hashtags",
    "decisions",
}
# Columns the service stamps itself; they are not part of what a client stored.
SERVICE_COLUMNS = {"seq", "ingested_at", "updated_at"}


LOCAL_NAMES = {"localhost", "localhost.localdomain"}


def _local_only(real: Any) -> Any:
    def getaddrinfo(host: Any, *args: Any, **kwargs: Any) -> Any:
        name = host.decode() if isinstance(host, bytes) else host
        if name is not None and str(name).lower() not in LOCAL_NAMES:
            try:
                ipaddress.ip_address(str(name).split("%")[0])
            except ValueError:
                raise socket.gaierror(
                    socket.EAI_NONAME, f"tests resolve no names: {name}"
                ) from None
        return real(host, *args, **kwargs)

    return getaddrinfo


@pytest.fixture(autouse=True, scope="session")
def nothing_leaves_this_host() -> Iterator[None]:
    """Tests talk only to this machine: no host name but localhost is resolved (numeric
    addresses still parse), and the webhook sender refuses any destination that is not
    loopback, whatever the service's own guard would allow."""
    real_resolve = webhooks.resolve_destination

    def loopback_only(url: str, private_ok: bool) -> str:
        address = real_resolve(url, private_ok)
        if not ipaddress.ip_address(address).is_loopback:
            raise webhooks.DestinationRefused(f"{address}: tests send only to loopback")
        return address

    with (
        mock.patch.object(socket, "getaddrinfo", _local_only(socket.getaddrinfo)),
        mock.patch.object(webhooks, "resolve_destination", loopback_only),
    ):
        yield


class LiveServer:
    """A uvicorn server for ``app`` on a free loopback port, in a background thread."""

    def __init__(self, app: FastAPI) -> None:
        self.app = app
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind(("127.0.0.1", 0))
        self.url = f"http://127.0.0.1:{self.sock.getsockname()[1]}"
        config = uvicorn.Config(app, log_config=None, access_log=False, lifespan="on")
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, kwargs={"sockets": [self.sock]})

    def __enter__(self) -> LiveServer:
        self.thread.start()
        deadline = time.monotonic() + 20
        while not self.server.started:
            if time.monotonic() > deadline or not self.thread.is_alive():
                raise RuntimeError("test server did not start")
            time.sleep(0.01)
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=20)
        self.sock.close()


def database_url(backend: str, tmp_dir: Path) -> str:
    if backend == "sqlite":
        return f"sqlite:///{tmp_dir / 'mrd-test.db'}"
    assert POSTGRES_URL
    return POSTGRES_URL


def clear_database(db: Database, keys: bool = False) -> None:
    """Delete all stored data (and the API keys too when ``keys``), each kind's deletion
    counted as retention counts it: the service's analysing process keeps a copy of the
    stored entities between tests, and reads a kind whole only when it sees that."""
    with db.engine.begin() as conn:
        for table in reversed(tables_on(db.dialect)):
            if (keys or table.name != "api_keys") and table.name != "deletions":
                conn.execute(delete(table))
        for kind in ("accounts", "edges", "posts", "reports", "decisions"):
            note_deletion(conn, kind)


def snapshot(db: Database) -> dict[str, list[tuple[Any, ...]]]:
    """Everything clients stored, table by table, without service-stamped columns."""
    state: dict[str, list[tuple[Any, ...]]] = {}
    with db.engine.connect() as conn:
        for table in Base.metadata.sorted_tables:
            if table.name not in CLIENT_TABLES:
                continue
            columns = [c for c in table.columns if c.name not in SERVICE_COLUMNS]
            rows = conn.execute(select(*columns)).all()
            state[table.name] = sorted((tuple(r) for r in rows), key=repr)
    return state


def send(client: httpx.Client, kind: str, rows: list[dict[str, Any]]) -> None:
    for start in range(0, len(rows), 5000):
        answer = client.post(f"/v1/{kind}", json={kind: rows[start : start + 5000]}).json()
        assert answer["rejected"] == [], answer["rejected"][:2]


def wait_for_run(client: httpx.Client, run_id: str) -> dict[str, Any]:
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        run = client.get(f"/v1/analysis/runs/{run_id}").json()
        if run["status"] in ("succeeded", "failed"):
            return dict(run)
        time.sleep(0.2)
    raise AssertionError("the run did not finish")


SERVICE_KEY = "service-test-admin-key"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextmanager
def running_service(
    url: str,
    port: int,
    *args: str,
    settings: dict[str, str] | None = None,
    log: Path | None = None,
) -> Iterator[subprocess.Popen[bytes]]:
    """``mrd serve`` in a child process, as an operator runs it; killed on leaving.
    ``settings`` are extra ``MRD_*`` environment variables; ``log`` receives stderr."""
    env = os.environ | {
        "MRD_DATABASE_URL": url,
        "MRD_BOOTSTRAP_API_KEY": SERVICE_KEY,
        "MRD_LOG_LEVEL": "WARNING",
        **(settings or {}),
    }
    stderr = log.open("wb") if log is not None else subprocess.DEVNULL
    process = subprocess.Popen(
        [sys.executable, "-m", "app", "serve", "--port", str(port), *args],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=stderr,
    )
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                if httpx.get(f"http://127.0.0.1:{port}/readyz", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            assert process.poll() is None, "service exited during start-up"
            assert time.monotonic() < deadline, "service did not become ready"
            time.sleep(0.1)
        yield process
    finally:
        if process.poll() is None:
            process.kill()
        process.wait()
        if log is not None:
            stderr.close()  # type: ignore[union-attr]


@contextmanager
def fresh_postgres_database(name: str) -> Iterator[str]:
    """A new, empty PostgreSQL database beside the test one, named after it (so test
    runs on other test databases of the server keep out of its way); dropped afterwards."""
    assert POSTGRES_URL
    base, test_database = normalise_url(POSTGRES_URL).rsplit("/", 1)
    name = f"{test_database}_{name}"
    admin = create_engine(normalise_url(POSTGRES_URL), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
        conn.execute(text(f"CREATE DATABASE {name}"))
    try:
        yield f"{base}/{name}"
    finally:
        with admin.connect() as conn:
            conn.execute(text(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
        admin.dispose()


@contextmanager
def served_app(url: str, key: str, **settings: Any) -> Iterator[httpx.Client]:
    """The service in-process on the migrated database ``url`` with ``settings``, and an
    admin client of it."""
    upgrade_to_head(url)
    app = create_app(Settings(database_url=url, bootstrap_api_key=key, **settings))
    with (
        LiveServer(app) as server,
        httpx.Client(base_url=server.url, headers={"X-API-Key": key}, timeout=60) as client,
    ):
        yield client
    app.state.context.db.dispose()


DEMO_KEY = "demo-admin-key-0123456789"


@pytest.fixture(scope="session")
def demo_service(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, str]]:
    """(base URL, admin key) of a service on the demo data set, as ``mrd demo`` serves it."""
    from app.tools.demo import DEFAULT_TWEETS, prepare_demo

    url = f"sqlite:///{tmp_path_factory.mktemp('demo') / 'demo.db'}"
    prepare_demo(url, DEFAULT_TWEETS if DEFAULT_TWEETS.is_file() else None)
    app = create_app(Settings(database_url=url, bootstrap_api_key=DEMO_KEY))
    with LiveServer(app) as server:
        yield server.url, DEMO_KEY
    app.state.context.db.dispose()


@pytest.fixture(scope="session", params=BACKENDS)
def backend(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture(scope="session")
def service(backend: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    url = database_url(backend, tmp_path_factory.mktemp(backend))
    upgrade_to_head(url)
    # Webhooks to this machine are allowed, so tests subscribe only loopback receivers
    # (the refusal of private addresses is tested on a service of its own).
    settings = Settings(database_url=url, bootstrap_api_key=ADMIN_KEY, webhook_allow_private=True)
    with LiveServer(create_app(settings)) as server:
        yield server


@pytest.fixture
def db(service: LiveServer) -> Iterator[Database]:
    """The service's database, emptied after each test (the admin key is restored)."""
    database: Database = service.app.state.context.db
    yield database
    clear_database(database, keys=True)
    # The admin key is created anew with another id: forget the one the cache holds.
    service.app.state.context.key_cache = KeyCache()
    service.app.state.context.auth_failures = RateLimiter(AUTH_FAILURES_PER_S, AUTH_FAILURE_BURST)
    announce_bootstrap_key(service.app.state.context.settings, database)


@pytest.fixture
def client(service: LiveServer, db: Database) -> Iterator[httpx.Client]:
    """An HTTP client of the live service, authenticated as admin."""
    with httpx.Client(base_url=service.url, headers={"X-API-Key": ADMIN_KEY}, timeout=60) as c:
        yield c


@pytest.fixture
def anonymous(service: LiveServer, db: Database) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=service.url, timeout=60) as c:
        yield c
