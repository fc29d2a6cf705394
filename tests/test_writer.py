"""The SQLite group-commit writer: batches share commits, failures stay contained."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest
from sqlalchemy import Connection, create_engine, text

from app.db.writer import GroupCommitWriter


@pytest.fixture
def engine(tmp_path: Path):  # type: ignore[no-untyped-def]
    engine = create_engine(f"sqlite:///{tmp_path / 'w.db'}")
    with engine.begin() as conn:
        conn.execute(text("CREATE TABLE t (k TEXT PRIMARY KEY)"))
    yield engine
    engine.dispose()


def insert(key: str):  # type: ignore[no-untyped-def]
    def work(conn: Connection) -> int:
        return conn.execute(text("INSERT INTO t VALUES (:k)"), {"k": key}).rowcount

    return work


def keys(engine) -> list[str]:  # type: ignore[no-untyped-def]
    with engine.connect() as conn:
        return sorted(conn.execute(text("SELECT k FROM t")).scalars())


def test_concurrent_writes_are_all_committed(engine) -> None:  # type: ignore[no-untyped-def]
    writer = GroupCommitWriter(engine)
    results: list[int] = []
    threads = [
        threading.Thread(target=lambda i=i: results.append(writer.submit(insert(f"k{i}"))))
        for i in range(50)
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    writer.close()
    assert results == [1] * 50
    assert keys(engine) == sorted(f"k{i}" for i in range(50))


def test_a_failing_write_fails_alone(engine) -> None:  # type: ignore[no-untyped-def]
    writer = GroupCommitWriter(engine)
    writer.submit(insert("dup"))
    gate = threading.Event()

    def slow(conn: Connection) -> int:
        gate.wait(5)
        return 0

    errors: list[BaseException] = []
    blocker = threading.Thread(target=writer.submit, args=(slow,))
    blocker.start()

    def submit(key: str) -> None:
        try:
            writer.submit(insert(key))
        except Exception as exc:
            errors.append(exc)

    others = [threading.Thread(target=submit, args=(k,)) for k in ("a", "dup", "b")]
    for t in others:
        t.start()
    gate.set()
    for t in [blocker, *others]:
        t.join()
    writer.close()
    assert len(errors) == 1 and "UNIQUE" in str(errors[0])
    assert keys(engine) == ["a", "b", "dup"]


def test_writer_recovers_after_its_thread_fails(tmp_path: Path) -> None:
    missing = create_engine(f"sqlite:///{tmp_path / 'no-such-dir' / 'x.db'}")
    writer = GroupCommitWriter(missing)
    with pytest.raises(Exception, match="unable to open"):
        writer.submit(insert("x"))
    with pytest.raises(Exception, match="unable to open"):
        writer.submit(insert("y"))
    writer.close()
