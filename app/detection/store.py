"""Every stored entity as Arrow tables kept between analysis runs, so a run reads only
what changed since the last one.

Each kind's table holds one row per key, its last version, in the order of its key
(``ORDER``) compared by code point: the order a full read of the database gives on
SQLite and on PostgreSQL with the C collation, and the order the builder numbers ids
in. The same rows therefore give the same ``Data`` whether they were read at once or
merged run after run, on any database and in any collation.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from app.detection.data import FIELDS, Columns, Data, arrow_columns, build_data_batches

KINDS = ("accounts", "edges", "posts", "reports", "decisions")
# Each kind's key, in the order its rows are kept. Reports are never changed: the time
# first keeps them in time order, and a report read twice is the same row twice.
ORDER: dict[str, tuple[str, ...]] = {
    "accounts": ("account_id",),
    "edges": ("src", "dst", "kind"),
    "posts": ("post_id",),
    "reports": ("created_at", "event_id"),
    "decisions": ("decision_id",),
}
_TIMES = frozenset({"created_at", "status_changed_at", "decided_at"})
# Whole numbers stay whole here (up to 2^62 is accepted; a float64 column refuses those
# past 2^53), and become floats only in ``Data``.
_COUNTS = frozenset({"followers_count", "weight"})
_LISTS = frozenset({"labels", "mentions", "hashtags"})
# Rows handed to the builder at a time: large, so that each batch's ids are numbered by
# Arrow's dictionary encoding in one go.
BUILD_ROWS = 1_000_000
_VERSION = "__version"


def _arrow_type(name: str) -> pa.DataType:
    if name in _TIMES:
        return pa.float64()
    if name in _COUNTS:
        return pa.int64()
    return pa.list_(pa.string()) if name in _LISTS else pa.string()


SCHEMAS = {kind: pa.schema([(n, _arrow_type(n)) for n in FIELDS[kind]]) for kind in KINDS}


def table_of(kind: str, batches: Iterator[Mapping[str, Sequence[Any]]]) -> pa.Table:
    """Column batches of stored rows (times as epoch seconds) as one table of ``kind``."""
    schema = SCHEMAS[kind]
    return pa.Table.from_batches(
        [
            pa.record_batch(
                [pa.array(batch[n], type=schema.field(n).type) for n in schema.names], schema=schema
            )
            for batch in batches
        ],
        schema=schema,
    )


def conformed(kind: str, table: pa.Table) -> pa.Table:
    """A whole table of ``kind`` read by a columnar reader, in the copy's columns and
    types (a column whose values are all null comes from it as integers)."""
    schema = SCHEMAS[kind]
    return pa.Table.from_arrays(
        [table.column(n).cast(schema.field(n).type) for n in schema.names], schema=schema
    )


def _pairs(table: pa.Table, name: str) -> tuple[Any, Any]:
    column = table.column(name)
    return column.slice(0, len(column) - 1), column.slice(1)


def _same_as_next(table: pa.Table, keys: Sequence[str]) -> Any:
    """Per row but the last: whether the next row has the same key."""
    same = None
    for name in keys:
        here, after = _pairs(table, name)
        equal = pc.equal(here, after)
        same = equal if same is None else pc.and_(same, equal)
    return same


def in_order(table: pa.Table, keys: Sequence[str]) -> bool:
    """Whether the rows are in key order with no key twice (what a full read of the
    database gives when its collation is by code point)."""
    if table.num_rows < 2:
        return True
    ascending = None
    for name in reversed(keys):
        here, after = _pairs(table, name)
        less = pc.less(here, after)
        ascending = (
            less if ascending is None else pc.or_(less, pc.and_(pc.equal(here, after), ascending))
        )
    return bool(pc.all(ascending).as_py())


def keyed(kind: str, table: pa.Table) -> pa.Table:
    """``table`` in key order, the last row of each key kept (rows later in ``table``
    are later versions)."""
    keys = ORDER[kind]
    if in_order(table, keys):
        return table
    version = pa.array(np.arange(table.num_rows, dtype=np.int64))
    table = table.append_column(_VERSION, version)
    order = pc.sort_indices(table, sort_keys=[(k, "ascending") for k in (*keys, _VERSION)])
    table = table.take(order)
    if table.num_rows > 1:
        last = pa.concat_arrays(
            [pc.invert(_same_as_next(table, keys)).combine_chunks(), pa.array([True])]
        )
        table = table.filter(last)
    return table.drop_columns([_VERSION])


@dataclass
class EntityStore:
    """One table per kind (``ORDER``), changed by ``merge`` and turned into the
    pipeline's ``Data`` by ``data``."""

    tables: dict[str, pa.Table] = field(
        default_factory=lambda: {kind: SCHEMAS[kind].empty_table() for kind in KINDS}
    )

    def rows(self, kind: str) -> int:
        return int(self.tables[kind].num_rows)

    def replace(self, kind: str, table: pa.Table) -> None:
        """Every row of ``kind`` (a full read)."""
        self.tables[kind] = keyed(kind, table.combine_chunks())

    def merge(self, kind: str, changed: pa.Table) -> None:
        """New and changed rows of ``kind``: each replaces the stored row of its key."""
        if changed.num_rows == 0:
            return
        both = pa.concat_tables([self.tables[kind], changed]).combine_chunks()
        self.tables[kind] = keyed(kind, both)

    def batches(self, kind: str) -> Iterator[Columns]:
        for batch in self.tables[kind].to_batches(max_chunksize=BUILD_ROWS):
            yield arrow_columns(batch, kind)

    def data(self) -> Data:
        return build_data_batches(
            self.batches("accounts"),
            self.batches("edges"),
            self.batches("posts"),
            self.batches("reports"),
            self.batches("decisions"),
        )
