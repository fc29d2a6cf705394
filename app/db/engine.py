"""Database access for SQLite (the default) and PostgreSQL: engine, sessions, writes."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from typing import Any, TypeVar

import orjson
from sqlalchemy import Connection, Engine, create_engine, event
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session, sessionmaker

from app.db.partitions import Partitions
from app.db.writer import GroupCommitWriter

log = logging.getLogger("mrd.db")
IN_LIST_SIZE = 2_000


def in_chunks(values: Sequence[str], size: int = IN_LIST_SIZE) -> Iterable[list[str]]:
    """``values`` in lists short enough for one ``IN (...)`` on every database (SQLite
    caps the parameters of a statement)."""
    for start in range(0, len(values), size):
        yield list(values[start : start + size])


def normalise_url(url: str) -> str:
    """Use the psycopg 3 driver for bare ``postgresql://`` URLs."""
    parsed = make_url(url)
    if parsed.drivername in ("postgresql", "postgres"):
        parsed = parsed.set(drivername="postgresql+psycopg")
    return parsed.render_as_string(hide_password=False)


def _tune_sqlite(dbapi_connection: Any, _record: Any) -> None:
    # WAL lets readers run beside the writer; FULL fsyncs every commit, so an
    # acknowledged batch survives a crash of the process or of the machine.
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=FULL")
    cursor.execute("PRAGMA busy_timeout=30000")
    cursor.execute("PRAGMA foreign_keys=ON")
    # A larger page cache and rarer checkpoints: bulk ingest dirties index pages all
    # over the B-trees, and each page is then written back once instead of many times.
    cursor.execute("PRAGMA cache_size=-131072")
    cursor.execute("PRAGMA wal_autocheckpoint=10000")
    cursor.execute("PRAGMA temp_store=MEMORY")
    cursor.close()


def _json_text(value: Any) -> str:
    return orjson.dumps(value, option=orjson.OPT_NON_STR_KEYS | orjson.OPT_SERIALIZE_NUMPY).decode()


# Result documents are JSON columns read on every lookup: orjson parses them several
# times faster than the standard library.
JSON_CODEC = {"json_serializer": _json_text, "json_deserializer": orjson.loads}


def make_engine(url: str) -> Engine:
    """An engine with the pragmas and pool settings the service relies on."""
    url = normalise_url(url)
    if url.startswith("sqlite"):
        engine = create_engine(
            url,
            connect_args={"check_same_thread": False, "timeout": 30},
            pool_size=8,
            max_overflow=8,
            **JSON_CODEC,
        )
        event.listen(engine, "connect", _tune_sqlite)
        return engine
    return create_engine(url, pool_size=20, max_overflow=30, pool_pre_ping=True, **JSON_CODEC)


T = TypeVar("T")


class HeldConnection:
    """One connection kept open, in autocommit, for a read made on every request (the
    key check's revocation count): a pool checkout, its liveness ping and the rollback
    on return cost several round trips more than the read itself. Each read sees the
    latest commit. A connection the database dropped is replaced once, at once; the
    engine's ``dispose`` closes it like every other idle connection."""

    def __init__(self, engine: Engine) -> None:
        self._engine = engine
        self._conn: Connection | None = None
        self._lock = threading.Lock()
        event.listen(engine, "engine_disposed", lambda _engine: self.close())

    def scalar(self, sql: str) -> Any:
        """The first column of the first row of ``sql``, a constant statement (sent as
        written: building and compiling a statement costs more than its round trip)."""
        with self._lock:
            for attempt in (1, 2):
                if self._conn is None:
                    self._conn = self._engine.connect().execution_options(
                        isolation_level="AUTOCOMMIT"
                    )
                try:
                    return self._conn.exec_driver_sql(sql).scalar()
                except DBAPIError as error:
                    self._drop()
                    if attempt == 2 or not error.connection_invalidated:
                        raise
        raise AssertionError("unreachable")

    def close(self) -> None:
        with self._lock:
            self._drop()

    def _drop(self) -> None:
        """Close the connection outright (not back into a pool ``dispose`` may have
        replaced), and forget it even if closing fails."""
        conn, self._conn = self._conn, None
        if conn is None:
            return
        try:
            conn.invalidate()
            conn.close()
        except DBAPIError:
            log.debug("the held connection failed to close; it is dropped all the same")


class Database:
    """The engine, a session factory, write transactions and, on PostgreSQL, the time
    partitions of the event tables."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.engine = make_engine(url)
        self.sessions = sessionmaker(self.engine, expire_on_commit=False)
        self.dialect = self.engine.dialect.name
        self._writer = GroupCommitWriter(self.engine) if self.dialect == "sqlite" else None
        self.partitions = Partitions(self.engine) if self.dialect == "postgresql" else None
        # The key check's connection (``HeldConnection``).
        self.held = HeldConnection(self.engine)

    def run_write(self, work: Callable[[Connection], T]) -> T:
        """Run ``work`` in a write transaction and return its result after the commit.

        On SQLite the process's writer thread runs it (see GroupCommitWriter); on
        PostgreSQL, which has many writers, the calling thread does.
        """
        if self._writer is not None:
            return self._writer.submit(work)
        with self.engine.begin() as conn:
            return work(conn)

    @contextmanager
    def consistent_read(self) -> Iterator[Connection]:
        """A connection whose reads all see the database as it was at its first read:
        a repeatable-read transaction on PostgreSQL, a read transaction on SQLite
        (whose driver begins one only before a write)."""
        if self.dialect == "postgresql":
            with self.engine.connect().execution_options(isolation_level="REPEATABLE READ") as conn:
                yield conn
            return
        with self.engine.connect() as conn:
            conn.exec_driver_sql("BEGIN")
            yield conn

    def open_connections(self, count: int) -> None:
        """Fill the pool with ``count`` open connections (connecting costs milliseconds,
        more on PostgreSQL)."""
        held = [self.engine.connect() for _ in range(count)]
        for conn in held:
            conn.close()

    @contextmanager
    def session(self) -> Iterator[Session]:
        with self.sessions() as session:
            yield session

    def dispose(self) -> None:
        if self._writer is not None:
            self._writer.close()
        self.engine.dispose()
