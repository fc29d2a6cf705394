"""Data-set folders: one NDJSON file per entity, and ``truth.json`` for simulated data.

The format of SPEC section 6, shared by ``mrd simulate``, ``load``, ``analyze``,
``evaluate`` and ``import-tweets``.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from itertools import islice
from pathlib import Path
from typing import Any

import orjson

from app.detection.data import (
    BATCH_ROWS,
    FIELDS,
    Columns,
    Data,
    build_data_batches,
    entity_path,
)

# The order a data set is loaded in: what reports refer to comes first.
ENTITY_ORDER = ("accounts", "edges", "posts", "reports", "decisions")
TRUTH_FILE = "truth.json"


def write_entities(folder: Path, kind: str, rows: Iterable[dict[str, Any]]) -> int:
    """Write ``rows`` as ``<kind>.ndjson``; returns how many were written."""
    folder.mkdir(parents=True, exist_ok=True)
    count = 0
    with entity_path(folder, kind).open("wb") as out:
        for row in rows:
            out.write(orjson.dumps(row))
            out.write(b"\n")
            count += 1
    return count


def read_entities(folder: Path, kind: str) -> Iterator[dict[str, Any]]:
    """The rows of ``<kind>.ndjson`` (nothing if the file is absent); blank lines skipped."""
    path = entity_path(folder, kind)
    if not path.exists():
        return
    with path.open("rb") as lines:
        for number, line in enumerate(lines, start=1):
            if line.strip():
                try:
                    yield orjson.loads(line)
                except orjson.JSONDecodeError as exc:
                    raise ValueError(f"{path}:{number}: not JSON ({exc})") from None


def read_batches(folder: Path, kind: str) -> Iterator[Columns]:
    """The rows of ``<kind>.ndjson`` as column batches (``BATCH_ROWS`` lines parsed in
    one call); a line that is not JSON is named as ``read_entities`` names it."""
    path = entity_path(folder, kind)
    if not path.exists():
        return
    with path.open("rb") as lines:
        while chunk := [line for line in islice(lines, BATCH_ROWS) if line.strip()]:
            try:
                rows = orjson.loads(b"[" + b",".join(chunk) + b"]")
            except orjson.JSONDecodeError:
                rows = list(read_entities(folder, kind))  # raises, naming the line
            if rows and not all(type(row) is dict for row in rows):
                raise ValueError(f"{path}: every line must be a JSON object")
            yield {name: [row.get(name) for row in rows] for name in FIELDS[kind]}


def count_lines(folder: Path, kind: str) -> int:
    path = entity_path(folder, kind)
    if not path.exists():
        return 0
    with path.open("rb") as lines:
        return sum(1 for line in lines if line.strip())


def load_data(folder: Path) -> Data:
    """A data-set folder as the detector's columns."""
    return build_data_batches(
        accounts=read_batches(folder, "accounts"),
        edges=read_batches(folder, "edges"),
        posts=read_batches(folder, "posts"),
        reports=read_batches(folder, "reports"),
        decisions=read_batches(folder, "decisions"),
    )


def write_truth(folder: Path, truth: dict[str, Any]) -> None:
    (folder / TRUTH_FILE).write_bytes(orjson.dumps(truth, option=orjson.OPT_INDENT_2))


def read_truth(folder: Path) -> dict[str, Any]:
    path = folder / TRUTH_FILE
    if not path.exists():
        raise FileNotFoundError(f"{path} not found: evaluation needs a simulated data set")
    truth: dict[str, Any] = orjson.loads(path.read_bytes())
    return truth
