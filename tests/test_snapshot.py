"""The full run's reader of stored entities: the edges, read on the driver's own
cursor, come as SQLAlchemy would give them, on SQLite and PostgreSQL."""

from __future__ import annotations

import httpx
from sqlalchemy import select

from app.db import snapshot
from app.db.engine import Database
from tests.conftest import send
from tests.test_results_api import WORLD


def test_edges_read_on_the_drivers_cursor_equal_sqlalchemys(
    client: httpx.Client, db: Database
) -> None:
    send(client, "accounts", WORLD.accounts)
    send(client, "edges", WORLD.edges)
    with db.engine.connect() as conn:
        columns = snapshot._columns("edges", db.dialect)
        by = {c.key: c for c in columns}
        statement = select(*columns).order_by(*(by[k] for k in snapshot.ORDER["edges"]))
        plain = list(snapshot._plain_batches(conn, statement))
        processed = list(snapshot._batches(conn, statement))
        streamed = list(snapshot.everything(conn).edges)
    assert plain == processed == streamed
    rows = sum(len(batch["src"]) for batch in plain)
    assert rows == len({(e["src"], e["dst"], e["kind"]) for e in WORLD.edges}) > snapshot.BATCH
    assert any(t is not None for batch in plain for t in batch["created_at"])
    assert all(isinstance(t, float) for batch in plain for t in batch["created_at"] if t)
