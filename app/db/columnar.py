"""Whole tables read from a SQLite database as Arrow columns, in a process of their own.

The ADBC SQLite driver builds Arrow columns in C: over millions of edges about ten times
faster than Python's row cursor, which makes a tuple per row. It links its own copy of
SQLite, and two copies of SQLite in one process break each other's file locks (closing
a file in one releases the locks the other holds on it), which can corrupt a database
that process writes. So the driver never runs in the service's processes: a child
process runs the statements in one read transaction and streams each result back as
Arrow IPC on its standard output (nothing left on disk; killed with its reader).

    python -m app.db.columnar <database file>   (statements as JSON on stdin)
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
from collections.abc import Sequence
from contextlib import closing, suppress
from pathlib import Path
from typing import BinaryIO

import orjson
import pyarrow as pa

# The driver's option naming its rows per Arrow batch, which are also the rows it looks
# at to tell each column's type (SQLite's columns have none of their own).
BATCH_ROWS_OPTION = "adbc.sqlite.query.batch_rows"
# The folder holding the ``app`` package the parent runs: the child runs the same code
# whatever the working directory holds.
_CODE_ROOT = Path(__file__).resolve().parents[2]


class ColumnarReadFailed(RuntimeError):
    """The reading process failed; its last line of error output says why."""


def read_tables(database: str, statements: Sequence[str]) -> list[pa.Table]:
    """The result of each of ``statements`` on the SQLite ``database`` file (a path,
    not a ``file:`` URI), all read in one transaction of a child process."""
    database = os.path.abspath(database)  # the child runs in the code's folder
    with tempfile.TemporaryFile() as errors:
        child = subprocess.Popen(
            [sys.executable, "-m", "app.db.columnar", database],
            cwd=_CODE_ROOT,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=errors,
        )
        assert child.stdin is not None and child.stdout is not None
        try:
            child.stdin.write(orjson.dumps(list(statements)))
            child.stdin.close()
            tables = [pa.ipc.open_stream(child.stdout).read_all() for _ in statements]
        except (OSError, pa.ArrowException):
            tables = []  # the child stopped early: its error output says why
        finally:
            with suppress(OSError):
                child.stdin.close()
            child.stdout.close()
            code = child.wait()
        if code != 0 or len(tables) != len(statements):
            errors.seek(0)
            raise ColumnarReadFailed(_why(errors.read().decode(errors="replace"), code))
        return tables


def _why(error_output: str, code: int) -> str:
    """The exception line of a traceback (the line after its last frame), else the
    last line, else the exit code."""
    lines = error_output.strip().splitlines()
    frames = [number for number, line in enumerate(lines) if line.startswith(" ")]
    after = frames[-1] + 1 if frames else len(lines) - 1
    return lines[after] if 0 <= after < len(lines) else f"exit code {code}"


def _write_results(database: str, statements: Sequence[str], out: BinaryIO) -> None:
    """Run ``statements`` in one read transaction, each result to ``out`` as an Arrow
    IPC stream, one after the other."""
    import adbc_driver_sqlite.dbapi

    # Not in autocommit: the driver begins a transaction, so every statement reads the
    # database as it was at the first.
    with closing(adbc_driver_sqlite.dbapi.connect(database)) as conn:
        with closing(conn.cursor()) as cursor:
            cursor.execute("PRAGMA busy_timeout = 30000")
            for sql in statements:
                cursor.execute(f"SELECT count(*) FROM ({sql})")
                (rows,) = cursor.fetchone() or (0,)
                # One batch of every row: each column's type is told from all its values
                # (a column null for its first thousand rows is not taken for integers).
                cursor.adbc_statement.set_options(**{BATCH_ROWS_OPTION: str(max(int(rows), 1))})
                cursor.execute(sql)
                table = cursor.fetch_arrow_table()
                with pa.ipc.new_stream(out, table.schema) as stream:
                    stream.write_table(table)
        conn.rollback()


if __name__ == "__main__":
    _write_results(sys.argv[1], orjson.loads(sys.stdin.buffer.read()), sys.stdout.buffer)
