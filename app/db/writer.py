"""Group commit for SQLite: one writer thread, several batches per transaction."""

from __future__ import annotations

import logging
import queue
import threading
from collections.abc import Callable
from concurrent.futures import Future
from typing import Any, TypeVar

from sqlalchemy import Connection, Engine

T = TypeVar("T")
Work = Callable[[Connection], Any]
log = logging.getLogger("mrd.db")


class GroupCommitWriter:
    """One thread that writes for the whole process, several batches per commit.

    SQLite admits one writer at a time, and a commit's cost is mostly the index pages
    it writes and syncs, whether it carries one batch or several. Batches that queue up
    while a commit is under way are therefore written together in the next
    transaction; each caller is answered only after that commit. If a group fails,
    each of its batches is retried in a transaction of its own, so one bad batch never
    fails the others. If the thread itself fails (say the database file vanished), the
    waiting callers get the error and the next write starts a new thread.
    """

    def __init__(self, engine: Engine, max_group: int = 16) -> None:
        self._engine = engine
        self._max_group = max_group
        self._queue: queue.Queue[tuple[Work, Future[Any]] | None] = queue.Queue()
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()

    def submit(self, work: Callable[[Connection], T]) -> T:
        """Run ``work`` in a write transaction; returns once that transaction committed."""
        future: Future[T] = Future()
        with self._lock:
            if self._thread is None:
                self._thread = threading.Thread(target=self._run, name="mrd-writer", daemon=True)
                self._thread.start()
            self._queue.put((work, future))
        return future.result()

    def close(self) -> None:
        """Finish the queued writes and stop the thread."""
        with self._lock:
            thread, self._thread = self._thread, None
            if thread is not None:
                self._queue.put(None)
        if thread is not None:
            thread.join()

    def _run(self) -> None:
        try:
            # One connection for the thread's life keeps SQLite's page cache warm.
            with self._engine.connect() as conn:
                while (group := self._next_group()) is not None:
                    self._write_group(conn, group)
        except Exception as exc:
            log.exception("the database writer stopped")
            with self._lock:
                self._thread = None
                self._fail_queued(exc)

    def _next_group(self) -> list[tuple[Work, Future[Any]]] | None:
        first = self._queue.get()
        if first is None:
            return None
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
        return group

    def _write_group(self, conn: Connection, group: list[tuple[Work, Future[Any]]]) -> None:
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

    def _fail_queued(self, exc: Exception) -> None:
        while True:
            try:
                item = self._queue.get_nowait()
            except queue.Empty:
                return
            if item is not None:
                item[1].set_exception(exc)
