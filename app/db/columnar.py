"""Whole tables read from a SQLite database as Arrow columns, in a process of their own.

The ADBC SQLite driver builds Arrow columns in C: over millions of edges about ten times
faster than Python's row cursor, which makes a tuple per row. It links its own copy of
SQLite, and two copies of SQLite in one process break each other's file locks (closing
a file in one releases the locks the other holds on it), which can corrupt a database
that process writes. So the driver never runs in the service's processes: a child
process runs the statements in one read transaction and hands the tables over as Arrow
IPC files.

    python -m app.db.columnar <database file> <folder>   (statements as JSON on stdin)
"""

from __future__ import annotations

import subprocess
import sys
import tempfile
from collections.abc import Sequence
from contextlib import closing
from pathlib import Path

import orjson
import pyarrow as pa

# The driver's option: rows per Arrow batch, which are also the rows it looks at to tell
# each column's type (SQLite's columns have none of their own).
BATCH_ROWS = "adbc.sqlite.query.batch_rows"


class ColumnarReadFailed(RuntimeError):
    """The reading process failed; its last line of error output says why."""


def read_tables(database: str, statements: Sequence[str]) -> list[pa.Table]:
    """The result of each of ``statements`` on the SQLite ``database`` file, all read in
    one transaction of a child process."""
    with tempfile.TemporaryDirectory(prefix="mrd-columnar-") as folder:
        done = subprocess.run(
            [sys.executable, "-m", "app.db.columnar", database, folder],
            input=orjson.dumps(list(statements)),
            capture_output=True,
            check=False,
        )
        if done.returncode != 0:
            lines = done.stderr.decode(errors="replace").strip().splitlines()
            raise ColumnarReadFailed(lines[-1] if lines else f"exit code {done.returncode}")
        tables = []
        for number in range(len(statements)):
            with pa.OSFile(str(Path(folder) / f"{number}.arrow"), "rb") as file:
                tables.append(pa.ipc.open_file(file).read_all())
        return tables


def _write_results(database: str, folder: Path, statements: Sequence[str]) -> None:
    """Run ``statements`` in one read transaction and write each result to
    ``<folder>/<n>.arrow``."""
    import adbc_driver_sqlite.dbapi

    # Not in autocommit: the driver begins a transaction, so every statement reads the
    # database as it was at the first.
    with closing(adbc_driver_sqlite.dbapi.connect(database)) as conn:
        cursor = conn.cursor()
        cursor.execute("PRAGMA busy_timeout = 30000")
        for number, sql in enumerate(statements):
            cursor.execute(f"SELECT count(*) FROM ({sql})")
            (rows,) = cursor.fetchone() or (0,)
            # One batch of every row: each column's type is told from all its values (a
            # column null for its first thousand rows is not taken for integers).
            cursor.adbc_statement.set_options(**{BATCH_ROWS: str(max(int(rows), 1))})
            cursor.execute(sql)
            table = cursor.fetch_arrow_table()
            with pa.ipc.new_file(str(folder / f"{number}.arrow"), table.schema) as out:
                out.write_table(table)
        cursor.close()
        conn.rollback()


if __name__ == "__main__":
    _write_results(sys.argv[1], Path(sys.argv[2]), orjson.loads(sys.stdin.buffer.read()))
