"""Data-set folders: one NDJSON file per entity, and ``truth.json`` for simulated data.

The format of SPEC section 6, shared by ``mrd simulate``, ``load``, ``analyze``,
``evaluate`` and ``import-tweets``.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from itertools import islice
from pathlib import Path
from typing import Any

import numpy as np
import orjson
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.json as pj

from app.detection.data import (
    BATCH_ROWS,
    FIELDS,
    REQUIRED,
    Columns,
    Data,
    arrow_columns,
    build_data_batches,
    columns_of,
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
                yield _parsed_line(path, number, line)


def _parsed_line(path: Path, number: int, line: bytes) -> Any:
    try:
        return orjson.loads(line)
    except orjson.JSONDecodeError as exc:
        raise ValueError(f"{path}:{number}: not JSON ({exc})") from None


def read_batches(folder: Path, kind: str) -> Iterator[Columns]:
    """The rows of ``<kind>.ndjson`` as column batches: parsed by Arrow when every line
    has the expected types (``_arrow_batches``), else ``BATCH_ROWS`` lines per orjson
    call; a line that is not JSON is named as ``read_entities`` names it."""
    path = entity_path(folder, kind)
    if not path.exists():
        return
    arrow = _arrow_batches(path, kind)
    if arrow is not None:
        yield from arrow
        return
    with path.open("rb") as lines:
        first = 1
        while read := list(islice(lines, BATCH_ROWS)):
            chunk = [line for line in read if line.strip()]
            try:
                rows = orjson.loads(b"[" + b",".join(chunk) + b"]")
            except orjson.JSONDecodeError:
                rows = None
            if rows is None or len(rows) != len(chunk):  # a bad line, or two on one
                rows = [
                    _parsed_line(path, number, line)
                    for number, line in enumerate(read, start=first)
                    if line.strip()
                ]
            if not all(type(row) is dict for row in rows):
                raise ValueError(f"{path}: every line must be a JSON object")
            yield columns_of(rows, kind)
            first += len(read)


# The Arrow type of each field the builder reads where it is not text (ids and times
# are text: SPEC section 6).
NUMBER_FIELDS = frozenset({"followers_count", "weight"})
LIST_FIELDS = frozenset({"labels", "mentions", "hashtags"})
TIME_FIELDS = frozenset({"created_at", "status_changed_at", "decided_at"})
FIRST_YEAR_1 = -62_135_596_800.0  # 0001-01-01T00:00:00Z in epoch seconds


def _arrow_type(field: str) -> pa.DataType:
    if field in NUMBER_FIELDS:
        return pa.float64()
    return pa.list_(pa.string()) if field in LIST_FIELDS else pa.string()


# The types every field of a well-formed data set has.
ARROW_SCHEMAS = {
    kind: pa.schema([(field, _arrow_type(field)) for field in fields])
    for kind, fields in FIELDS.items()
}
# Text parsed per Arrow batch: a million or so edges, so that Python numbers the
# distinct ids of few, large batches.
ARROW_BLOCK_BYTES = 64 << 20


def _arrow_batches(path: Path, kind: str) -> Iterator[Columns] | None:
    """The file parsed by Arrow (in C++, on every core), as column batches of about
    ``ARROW_BLOCK_BYTES`` of text each, each let go once the builder has taken it; None
    when a line does not fit ``ARROW_SCHEMAS`` (an id sent as a number, say, or a line
    that is not an object): the caller then reads it line by line, with its own errors."""
    options = pj.ParseOptions(
        explicit_schema=ARROW_SCHEMAS[kind], unexpected_field_behavior="ignore"
    )
    try:
        table = pj.read_json(
            path,
            read_options=pj.ReadOptions(block_size=ARROW_BLOCK_BYTES),
            parse_options=options,
        )
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
        return None
    if any(table.column(name).null_count for name in REQUIRED[kind]):
        return None  # a record without a required field: refused as records are
    if not _one_object_a_line(path, table.num_rows):
        return None  # two objects on a line, or one over two: named by the line reader
    batches = table.to_batches()
    del table
    return _arrow_columns(batches, kind)


def _one_object_a_line(path: Path, rows: int) -> bool:
    """Whether Arrow's ``rows`` are the file's non-blank lines, one object each: lines
    counted in C, and again one by one only when they differ (blank lines)."""
    with path.open("rb") as stream:
        breaks, last = 0, b"\n"
        while block := stream.read(1 << 20):
            breaks += block.count(b"\n")
            last = block[-1:]
        if breaks + (last != b"\n") == rows:
            return True
        stream.seek(0)
        return rows == sum(1 for line in stream if line.strip())


def _arrow_columns(batches: list[pa.RecordBatch], kind: str) -> Iterator[Columns]:
    batches.reverse()
    while batches:
        batch = batches.pop()
        times = {
            name: _arrow_epochs(batch.column(name)) for name in FIELDS[kind] if name in TIME_FIELDS
        }
        columns = arrow_columns(batch.drop_columns(list(times)), kind)
        del batch
        yield {name: times[name] if name in times else columns[name] for name in FIELDS[kind]}


def _arrow_epochs(column: pa.Array) -> Any:
    """RFC 3339 times as float epoch seconds (NaN where absent), parsed by Arrow; the
    texts themselves when Arrow cannot parse one (the builder then reads them)."""
    try:
        micros = pc.cast(column, pa.timestamp("us", tz="UTC")).cast(pa.int64())
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
        return column.to_pylist()
    seconds = micros.to_numpy(zero_copy_only=False).astype(np.float64) / 1e6
    if (seconds < FIRST_YEAR_1).any():  # year 0, which Arrow reads and Python refuses
        return column.to_pylist()
    return seconds


def count_lines(folder: Path, kind: str) -> int:
    path = entity_path(folder, kind)
    if not path.exists():
        return 0
    with path.open("rb") as lines:
        return sum(1 for line in lines if line.strip())


def load_data(folder: Path) -> Data:
    """A data-set folder as the detector's columns."""
    data = build_data_batches(
        accounts=read_batches(folder, "accounts"),
        edges=read_batches(folder, "edges"),
        posts=read_batches(folder, "posts"),
        reports=read_batches(folder, "reports"),
        decisions=read_batches(folder, "decisions"),
    )
    # Arrow's allocator keeps what parsing freed for later parses; there are none.
    pa.default_memory_pool().release_unused()
    return data


def write_truth(folder: Path, truth: dict[str, Any]) -> None:
    (folder / TRUTH_FILE).write_bytes(orjson.dumps(truth, option=orjson.OPT_INDENT_2))


def read_truth(folder: Path) -> dict[str, Any]:
    path = folder / TRUTH_FILE
    if not path.exists():
        raise FileNotFoundError(f"{path} not found: evaluation needs a simulated data set")
    truth: dict[str, Any] = orjson.loads(path.read_bytes())
    return truth
