"""Database access for SQLite (the default) and PostgreSQL: engine, sessions, writes."""

from __future__ import annotations

import queue
import threading
from collections.abc import Callable, Iterator
from concurrent.futures import Future
from contextlib import contextmanager
from typing import Any, TypeVar

from sqlalchemy import Connection, Engine, create_engine, event
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session, sessionmaker


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


def make_engine(url: str) -> Engine:
    """An engine with the pragmas and pool settings the service relies on."""
    url = normalise_url(url)
    if url.startswith("sqlite"):
        engine = create_engine(
            url,
            connect_args={"check_same_thread": False, "timeout": 30},
            pool_size=8,
            max_overflow=8,
        )
        event.listen(engine, "connect", _tune_sqlite)
        return engine
    return create_engine(url, pool_size=10, max_overflow=10, pool_pre_ping=True)


T = TypeVar("T")
WriteWork = Callable[[Connection], Any]


class GroupCommitWriter:
    """One thread that writes for the whole process, several batches per commit.

    SQLite admits one writer at a time, and a commit's cost is mostly the index pages
    it writes and syncs, whether it carries one batch or several. Batches that wait
    while a commit is under way are therefore written together in the next
    transaction; each caller is answered only after that commit. If a group fails,
    each of its batches is retried in a transaction of its own, so one bad batch
    never fails the others.
    """

    def __init__(self, engine: Engine, max_group: int = 16) -> None:
        self._engine = engine
        self._max_group = max_group
        self._queue: queue.Queue[tuple[WriteWork, Future[Any]] | None] = queue.Queue()
        self._thread: threading.Thread | None = None
        self._start_lock = threading.Lock()

    def submit(self, work: Callable[[Connection], T]) -> T:
        """Run ``work`` in a write transaction; returns once that transaction committed."""
        with self._start_lock:
            if self._thread is None:
                self._thread = threading.Thread(target=self._run, name="mrd-writer", daemon=True)
                self._thread.start()
        future: Future[T] = Future()
        self._queue.put((work, future))
        return future.result()

    def close(self) -> None:
        with self._start_lock:
            if self._thread is not None:
                self._queue.put(None)
                self._thread.join()
                self._thread = None

    def _run(self) -> None:
        # One connection for the thread's life keeps SQLite's page cache warm.
        with self._engine.connect() as conn:
            while (first := self._queue.get()) is not None:
                group = [first]
                while len(group) < self._max_group:
                    try:
                        item = self._queue.get_nowait()
                    except queue.Empty:
                        break
                    if item is None:
                        self._queue.put(None)
                        break
                    group.append(item)
                self._write_group(conn, group)

    def _write_group(self, conn: Connection, group: list[tuple[WriteWork, Future[Any]]]) -> None:
        try:
            with conn.begin():
                results = [work(conn) for work, _ in group]
        except Exception as exc:
            if len(group) > 1:
                for item in group:
                    self._write_group(conn, [item])
            else:
                group[0][1].set_exception(exc)
            return
        for (_, future), result in zip(group, results, strict=True):
            future.set_result(result)


class Database:
    """The engine, a session factory, and write transactions."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.engine = make_engine(url)
        self.sessions = sessionmaker(self.engine, expire_on_commit=False)
        self.dialect = self.engine.dialect.name
        self._writer = (
            GroupCommitWriter(self.engine) if self.engine.dialect.name == "sqlite" else None
        )

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
    def session(self) -> Iterator[Session]:
        with self.sessions() as session:
            yield session

    def dispose(self) -> None:
        if self._writer is not None:
            self._writer.close()
        self.engine.dispose()
