"""The detector's input: every entity as integer-indexed numpy columns.

One builder turns records (dicts shaped like the API's entities, from NDJSON files,
the database or a request body) into these columns. Account ids, reasons and
content ids are interned to small integers; every account mentioned anywhere gets
an index, whether or not its metadata was sent. Times are float epoch seconds.
"""

from __future__ import annotations

import operator
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from itertools import islice
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import pyarrow as pa
import pyarrow.compute as pc

EDGE_KINDS = ("follow", "retweet", "quote", "reply", "mention", "like")
STATUSES = ("active", "suspended", "deleted")
UNKNOWN_STATUS = -1
# Accounts the platform already knows belong to the network (e.g. removed for terrorist
# content) carry this label; they seed the supporter network.
MEMBER_LABEL = "extremist"

IntArray = npt.NDArray[np.int64]
FloatArray = npt.NDArray[np.float64]
BoolArray = npt.NDArray[np.bool_]


def distinct(values: npt.ArrayLike) -> IntArray:
    """The distinct integers of ``values``, sorted, as ``np.unique`` gives them but by a
    sort: numpy 2.4 finds them with a hash table instead, many times slower on millions
    of distinct keys (5.5 s against 0.06 s for five million here). Integers only: a
    sort keeps every NaN apart, where ``np.unique`` keeps one."""
    array = np.asarray(values)
    if array.dtype.kind not in "iub":
        raise TypeError(f"distinct() takes integers, not {array.dtype}")
    ordered: IntArray = np.sort(array.ravel())
    if len(ordered) < 2:
        return ordered
    keep = np.empty(len(ordered), dtype=bool)
    keep[0] = True
    np.not_equal(ordered[1:], ordered[:-1], out=keep[1:])
    return ordered[keep]


def entity_path(folder: Path, kind: str) -> Path:
    """Where a data-set folder (SPEC section 6) keeps one entity kind: one NDJSON file,
    read by the Spark engine as by ``app.datasets``."""
    return folder / f"{kind}.ndjson"


def to_iso(seconds: float) -> str:
    """Epoch seconds as RFC 3339 UTC with ``Z``, to the second."""
    return datetime.fromtimestamp(int(seconds), UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def to_epoch(value: Any) -> float:
    """RFC 3339 text, an aware datetime or epoch seconds as float seconds (NaN for None)."""
    if type(value) is float:  # the common case first: this runs once per row
        return value
    if value is None:
        return float("nan")
    if isinstance(value, int | float):
        return float(value)
    if isinstance(value, datetime):
        return value.timestamp()
    return datetime.fromisoformat(str(value)).timestamp()


class Interner:
    """Stable small integers for strings, in order of first sight. The names seen are
    kept as Arrow arrays and a large batch is looked up in them by Arrow's hash tables,
    in C++: the millions of distinct ids of a graph-heavy world (post ids, edge ends)
    never meet Python one by one. A batch much smaller than the names seen is looked up
    in a dict of them instead, built once, so that many small batches cost what they
    hold and not the names seen each time. Names are kept as their UTF-8 bytes, a lone
    surrogate (possible in a Python string, never in UTF-8 text) included."""

    def __init__(self) -> None:
        self._chunks: list[pa.Array] = []
        self._seen: pa.Array | None = None  # the chunks as one array, once asked
        self._count = 0
        self._index: dict[bytes, int] | None = None  # built for the first small batch

    def many(self, names: Sequence[Any] | pa.Array) -> IntArray:
        """The number of each name, in order; a name not seen before gets the next
        free one (names not all text are taken as their ``str``)."""
        encoded = _as_bytes(names).dictionary_encode()
        distinct = encoded.dictionary
        codes = self._numbers(distinct)
        fresh = np.flatnonzero(codes < 0)
        if len(fresh):
            codes[fresh] = np.arange(self._count, self._count + len(fresh))
            new = distinct.take(pa.array(fresh))
            self._chunks.append(new)
            self._seen = None
            if self._index is not None:
                self._index.update(zip(new.to_pylist(), codes[fresh].tolist(), strict=True))
            self._count += len(fresh)
        positions: IntArray = encoded.indices.to_numpy(zero_copy_only=False)
        return codes[positions]

    def _numbers(self, distinct: pa.Array) -> IntArray:
        """The number of each of ``distinct``, -1 for a name not seen yet."""
        if not self._count:
            return np.full(len(distinct), -1, dtype=np.int64)
        if len(distinct) * SMALL_BATCH_SHARE < self._count:
            if self._index is None:
                self._index = {name: n for n, name in enumerate(self._all().to_pylist())}
            index = self._index
            return np.fromiter(
                (index.get(name, -1) for name in distinct.to_pylist()), np.int64, len(distinct)
            )
        found = pc.index_in(distinct, value_set=self._all())
        numbers: IntArray = found.fill_null(-1).to_numpy(zero_copy_only=False).astype(np.int64)
        return numbers

    def _all(self) -> pa.Array:
        if self._seen is None:
            self._seen = pa.concat_arrays(self._chunks) if self._chunks else _NO_NAMES
            self._chunks = [self._seen]
        return self._seen

    @property
    def names(self) -> list[str]:
        seen = self._all()
        try:
            names: list[str] = seen.cast(pa.large_string()).to_pylist()
        except pa.ArrowInvalid:  # a lone surrogate: not UTF-8 text
            names = [name.decode("utf-8", "surrogatepass") for name in seen.to_pylist()]
        return names

    def __len__(self) -> int:
        return self._count


# A batch with fewer distinct names than the names seen divided by this is looked up in
# a dict (``Interner``).
SMALL_BATCH_SHARE = 8
_NO_NAMES = pa.array([], type=pa.large_binary())


def _as_bytes(names: Sequence[Any] | pa.Array) -> pa.Array:
    """``names`` as one Arrow array of their UTF-8 bytes (names that are not text, None
    included, as their ``str``)."""
    if isinstance(names, pa.ChunkedArray):
        names = names.combine_chunks()
    if isinstance(names, pa.Array):
        text = pa.types.is_string(names.type) or pa.types.is_large_string(names.type)
        if text and not names.null_count:
            return names.cast(pa.large_string()).cast(pa.large_binary())
        names = names.to_pylist()
    if all(type(name) is str for name in names):
        try:
            return pa.array(names, type=pa.large_string()).cast(pa.large_binary())
        except UnicodeEncodeError:
            pass
    return pa.array(
        [(n if type(n) is str else str(n)).encode("utf-8", "surrogatepass") for n in names],
        type=pa.large_binary(),
    )


@dataclass(frozen=True)
class Accounts:
    ids: list[str]
    handle: list[str | None]
    created: FloatArray
    followers: FloatArray
    suspended_at: FloatArray
    status: IntArray
    known_member: BoolArray

    def __len__(self) -> int:
        return len(self.ids)


@dataclass(frozen=True)
class Reports:
    """Event ids and texts are empty when the events stay with the engine (Spark)."""

    event_id: list[str]
    reporter: IntArray
    target: IntArray
    time: FloatArray
    reason: IntArray
    content: IntArray
    text: list[str | None]

    def __len__(self) -> int:
        return len(self.reporter)


@dataclass(frozen=True)
class Edges:
    src: IntArray
    dst: IntArray
    kind: IntArray
    weight: FloatArray
    time: FloatArray

    def __len__(self) -> int:
        return len(self.src)


@dataclass(frozen=True)
class Posts:
    post_id: list[str]
    author: IntArray
    time: FloatArray
    reshare_of: IntArray
    reply_to: IntArray
    mention_post: IntArray
    mention_account: IntArray
    hashtag_post: IntArray
    hashtag: IntArray
    hashtags: list[str]

    def __len__(self) -> int:
        return len(self.post_id)


@dataclass(frozen=True)
class Decisions:
    target: IntArray
    violation: BoolArray
    time: FloatArray
    content: IntArray

    def __len__(self) -> int:
        return len(self.target)


@dataclass(frozen=True)
class Data:
    """Everything the pipeline reads. ``now`` is the analysis time: the latest event
    unless the caller says otherwise."""

    accounts: Accounts
    reports: Reports
    edges: Edges
    posts: Posts
    decisions: Decisions
    reasons: list[str]
    contents: list[str]
    now: float


def report_verdicts(data: Data) -> tuple[BoolArray, BoolArray]:
    """Per report: was it judged, and was it upheld? A report is judged by the first
    moderator decision on its target made after it."""
    reports, decisions = data.reports, data.decisions
    none = np.zeros(len(reports), dtype=bool)
    if len(decisions) == 0 or len(reports) == 0:
        return none, none.copy()
    order = np.lexsort((decisions.time, decisions.target))
    d_target, d_time = decisions.target[order], decisions.time[order]
    slot = np.searchsorted(d_target * 1e11 + d_time, reports.target * 1e11 + reports.time)
    slot = np.minimum(slot, len(d_target) - 1)
    judged = (d_target[slot] == reports.target) & (d_time[slot] >= reports.time)
    upheld: BoolArray = judged & decisions.violation[order][slot]
    return judged, upheld


def _ints(values: list[int]) -> IntArray:
    return np.asarray(values, dtype=np.int64)


def _last_edges(
    src: IntArray,
    dst: IntArray,
    kind: IntArray,
    weight: FloatArray,
    time: FloatArray,
    accounts: int,
) -> Edges:
    """One edge per (src, dst, kind), the last one sent winning, in order of first sight;
    the columns themselves, not copies, when every edge was sent once (the usual case:
    a graph-heavy data set's edges are most of its memory)."""
    key = (src * accounts + dst) * len(EDGE_KINDS) + kind
    ordered = np.sort(key)
    if not (ordered[1:] == ordered[:-1]).any():
        return Edges(src, dst, kind, weight, time)
    del ordered
    _, first_seen, slot = np.unique(key, return_index=True, return_inverse=True)
    last = np.zeros(len(first_seen), dtype=np.int64)
    np.maximum.at(last, slot.ravel(), np.arange(len(key)))
    order = np.argsort(first_seen, kind="stable")
    chosen = last[order]
    return Edges(
        src[chosen],
        dst[chosen],
        kind[chosen],
        weight[chosen],
        time[chosen],
    )


# What the builder reads of each entity kind.
FIELDS: dict[str, tuple[str, ...]] = {
    "accounts": (
        "account_id",
        "handle",
        "created_at",
        "followers_count",
        "labels",
        "status",
        "status_changed_at",
    ),
    "edges": ("src", "dst", "kind", "weight", "created_at"),
    "posts": (
        "post_id",
        "author_id",
        "created_at",
        "reshare_of",
        "reply_to",
        "mentions",
        "hashtags",
    ),
    "reports": (
        "event_id",
        "reporter_id",
        "target_id",
        "reason",
        "created_at",
        "content_id",
        "text",
    ),
    "decisions": ("decision_id", "target_id", "outcome", "decided_at", "content_id"),
}
# Records turned into columns this many at a time: big enough for numpy to pay, small
# enough that a stream of millions never exists as records at once.
BATCH_ROWS = 50_000
# Columns of one batch of one entity kind, by field name (``FIELDS``), all one length.
Columns = Mapping[str, Sequence[Any]]
CANONICAL_TIME = b"0000-00-00T00:00:00Z"
STATUS_CODE = {status: code for code, status in enumerate(STATUSES)}
EDGE_KIND_CODE = {kind: code for code, kind in enumerate(EDGE_KINDS)}


# Fields every record of a kind has (a record without one is refused: KeyError).
REQUIRED: dict[str, frozenset[str]] = {
    "accounts": frozenset({"account_id"}),
    "edges": frozenset({"src", "dst", "kind"}),
    "posts": frozenset({"post_id", "author_id"}),
    "reports": frozenset({"event_id", "reporter_id", "target_id", "reason", "created_at"}),
    "decisions": frozenset({"decision_id", "target_id", "outcome", "decided_at"}),
}


# Columns handed to the builder as Arrow arrays (it numbers their distinct values only):
# the ones with millions of values in a graph-heavy data set.
ARROW_COLUMNS = {
    "edges": ("src", "dst", "kind"),
    "posts": ("post_id", "author_id"),
    "reports": ("reporter_id", "target_id"),
}


def arrow_columns(batch: pa.RecordBatch, kind: str) -> Columns:
    """The fields of ``kind`` in an Arrow batch as builder columns: numbers (times as
    epoch seconds) as numpy floats (NaN where absent), the ``ARROW_COLUMNS`` as Arrow,
    the rest as Python values."""
    kept = ARROW_COLUMNS.get(kind, ())
    columns: dict[str, Any] = {}
    for name in FIELDS[kind]:
        if name not in batch.schema.names:
            continue
        column = batch.column(name)
        if pa.types.is_floating(column.type) or pa.types.is_integer(column.type):
            columns[name] = column.to_numpy(zero_copy_only=False).astype(np.float64)
        elif name in kept and column.null_count == 0:
            columns[name] = column
        else:
            columns[name] = column.to_pylist()
    return columns


def columns_of(rows: Sequence[Mapping[str, Any]], kind: str) -> Columns:
    """Records of ``kind`` as one column batch."""
    required = REQUIRED[kind]
    return {
        name: [row[name] for row in rows] if name in required else [row.get(name) for row in rows]
        for name in FIELDS[kind]
    }


def record_batches(records: Iterable[Mapping[str, Any]], kind: str) -> Iterator[Columns]:
    """Records of ``kind`` as column batches."""
    rows_left = iter(records)
    while rows := list(islice(rows_left, BATCH_ROWS)):
        yield columns_of(rows, kind)


def epochs(values: Sequence[Any]) -> FloatArray:
    """``to_epoch`` over a column. Floats (the database computes epochs) are taken as
    they are; times to the second in UTC (``2017-07-01T00:00:00Z``, as the simulator and
    most clients write them) are parsed by numpy at once; anything else row by row."""
    if isinstance(values, np.ndarray) and values.dtype.kind == "f":
        return values.astype(np.float64, copy=False)
    count = len(values)
    if all(type(v) is float or v is None for v in values):
        return np.asarray(values, dtype=np.float64)
    out = np.full(count, np.nan)
    # One byte more than a canonical time: a longer text does not fit and is not taken
    # for one (its 21st byte is not NUL).
    width = len(CANONICAL_TIME) + 1
    try:
        raw = np.array(values, dtype=f"S{width}")
    except (UnicodeEncodeError, TypeError, ValueError):
        raw = np.zeros(count, dtype=f"S{width}")
    grid = raw.view(np.uint8).reshape(count, width)
    pattern = np.frombuffer(CANONICAL_TIME + b"\0", dtype=np.uint8)
    digit = pattern == ord("0")
    canonical = (
        (grid[:, ~digit] == pattern[~digit]).all(axis=1)
        & ((grid[:, digit] >= ord("0")) & (grid[:, digit] <= ord("9"))).all(axis=1)
        & (grid[:, :4] != ord("0")).any(axis=1)  # no year 0, as datetime has none
        & np.fromiter((type(v) is str for v in values), dtype=bool, count=count)
    )
    rest = np.flatnonzero(~canonical)
    if canonical.any():
        seconds = np.ascontiguousarray(grid[canonical, : width - 2]).view(f"S{width - 2}")
        try:
            out[canonical] = seconds.ravel().astype("datetime64[s]").astype(np.int64)
        except ValueError:  # not a date (month 13): let to_epoch say which
            rest = np.arange(count)
    for i in rest.tolist():
        out[i] = to_epoch(values[i])
    return out


def _codes(values: Sequence[Any] | pa.Array, code: Mapping[str, int]) -> IntArray:
    """``code[value]`` for each value (a KeyError for one not in it)."""
    if isinstance(values, pa.Array):
        encoded = values.dictionary_encode()
        distinct = np.asarray([code[v] for v in encoded.dictionary.to_pylist()], np.int64)
        positions: IntArray = encoded.indices.to_numpy()
        return distinct[positions]
    return np.asarray([code[value] for value in values], dtype=np.int64)


def _weights(values: Sequence[Any]) -> FloatArray:
    """Edge weights; a missing (NaN in a reader's array) or zero weight counts as 1."""
    if isinstance(values, np.ndarray):
        weights = values.astype(np.float64)
        weights[np.isnan(weights) | (weights == 0)] = 1.0
        return weights
    return np.asarray([w or 1 for w in values], dtype=np.float64)


def _interleaved(*columns: Sequence[Any] | pa.Array) -> Sequence[Any] | pa.Array:
    """Row by row across ``columns`` (a0, b0, a1, b1, ...): the order ids are first seen
    when each row is read field by field."""
    if isinstance(columns[0], pa.Array):
        rows = len(columns[0])
        order = np.arange(rows * len(columns)).reshape(len(columns), rows).T.ravel()
        return pa.concat_arrays(columns).take(order)
    out: list[Any] = [None] * (len(columns[0]) * len(columns))
    for k, column in enumerate(columns):
        out[k :: len(columns)] = column
    return out


def _optional(interner: Interner, values: Sequence[Any]) -> IntArray:
    """Each value's index, -1 where it is empty (None or "")."""
    codes = np.full(len(values), -1, dtype=np.int64)
    present = [i for i, value in enumerate(values) if value]
    if present:
        codes[present] = interner.many([values[i] for i in present])
    return codes


def _last_of_each(keys: IntArray) -> IntArray:
    """Positions of each key's last occurrence (later records of a key win)."""
    reversed_first = np.unique(keys[::-1], return_index=True)[1]
    return len(keys) - 1 - reversed_first


class DataBuilder:
    """``Data`` from column batches, added kind by kind in the order accounts, edges,
    posts, reports, decisions (the order of every source). Ids are numbered in order of
    first sight, row by row and field by field, so the same records give the same
    indices whether they came as records, batches or files."""

    def __init__(self) -> None:
        self.account, self.reason, self.content = Interner(), Interner(), Interner()
        self.post, self.tag = Interner(), Interner()
        self.account_parts: list[tuple[Any, ...]] = []
        self.edge_parts: list[tuple[Any, ...]] = []
        self.post_parts: list[tuple[Any, ...]] = []
        self.posts: Posts | None = None
        self.seen_events: set[str] = set()
        self.report_parts: list[tuple[Any, ...]] = []
        self.decision_rows: dict[str, tuple[Any, ...]] = {}

    def add_accounts(self, batch: Columns) -> None:
        status = [STATUS_CODE[s] if s else UNKNOWN_STATUS for s in batch["status"]]
        # Read only where it means something: when the account stopped being active.
        stopped = np.flatnonzero(~np.isin(status, (UNKNOWN_STATUS, STATUS_CODE["active"])))
        suspended = np.full(len(status), np.nan)
        changed = batch["status_changed_at"]
        suspended[stopped] = epochs([changed[i] for i in stopped.tolist()])
        self.account_parts.append(
            (
                self.account.many(batch["account_id"]),
                list(batch["handle"]),
                epochs(batch["created_at"]),
                np.asarray(batch["followers_count"], dtype=np.float64),
                suspended,
                np.asarray(status, dtype=np.int64),
                np.asarray([MEMBER_LABEL in (labels or ()) for labels in batch["labels"]]),
            )
        )

    def add_edges(self, batch: Columns) -> None:
        ends = self.account.many(_interleaved(batch["src"], batch["dst"])).reshape(-1, 2)
        self.edge_parts.append(
            (
                ends[:, 0],
                ends[:, 1],
                _codes(batch["kind"], EDGE_KIND_CODE),
                _weights(batch["weight"]),
                epochs(batch["created_at"]),
            )
        )

    def add_posts(self, batch: Columns) -> None:
        if self.posts is not None:
            raise ValueError("posts are added before reports and decisions")
        numbers = self.post.many(batch["post_id"])
        self.post_parts.append(
            (
                numbers,
                self.account.many(batch["author_id"]),
                epochs(batch["created_at"]),
                list(batch["reshare_of"]),
                list(batch["reply_to"]),
                list(batch["mentions"]),
                list(batch["hashtags"]),
            )
        )

    def _finish_posts(self) -> None:
        """Posts' links, once every post is in: the last record of a post wins, and the
        accounts it mentions are numbered before any reporter."""
        if self.posts is not None:
            return
        parts = self.post_parts
        sent = len(self.post)
        numbers = _concat([part[0] for part in parts])
        authors = _concat([part[1] for part in parts])
        times = _concat([part[2] for part in parts], np.float64)
        rows = np.zeros(sent, dtype=np.int64)
        if sent:
            last = _last_of_each(numbers)
            rows[numbers[last]] = last
        lists = [[value for part in parts for value in part[k]] for k in range(3, 7)]
        reshares, replies, mentions, hashtags = (
            [column[i] for i in rows.tolist()] for column in lists
        )
        links = _optional(self.post, _interleaved(reshares, replies)).reshape(-1, 2)
        mention_post, mentioned, tag_post, tags = [], [], [], []
        for number, (named, tagged) in enumerate(zip(mentions, hashtags, strict=True)):
            for account in named or ():
                mention_post.append(number)
                mentioned.append(account)
            for hashtag in tagged or ():
                tag_post.append(number)
                tags.append(str(hashtag).lstrip("#").lower())
        # Posts referred to (reshared, replied to) but never sent exist with no author.
        missing = len(self.post) - sent
        self.posts = Posts(
            list(self.post.names),
            np.concatenate([authors[rows], np.full(missing, -1, dtype=np.int64)]),
            np.concatenate([times[rows], np.full(missing, np.nan)]),
            np.concatenate([links[:, 0], np.full(missing, -1, dtype=np.int64)]),
            np.concatenate([links[:, 1], np.full(missing, -1, dtype=np.int64)]),
            _ints(mention_post),
            self.account.many(mentioned),
            _ints(tag_post),
            self.tag.many(tags),
            list(self.tag.names),
        )

    def add_reports(self, batch: Columns) -> None:
        self._finish_posts()
        events = [str(event) for event in batch["event_id"]]
        reporters, targets = batch["reporter_id"], batch["target_id"]
        both_arrow = (
            isinstance(reporters, pa.Array)
            and isinstance(targets, pa.Array)
            and reporters.type == targets.type
            and not reporters.null_count
            and not targets.null_count
        )
        if not both_arrow:  # compared and numbered alike only as Python values
            reporters, targets = _values(reporters), _values(targets)
        # A self-report says nothing about coordination (and one account filing
        # hundreds against itself must not look like a crowd): stored, not analysed.
        if both_arrow:
            own = pc.equal(reporters, targets).to_numpy(zero_copy_only=False)
        else:
            own = np.fromiter(map(operator.eq, reporters, targets), bool, len(events))
        seen = self.seen_events
        if len(set(events)) == len(events) and seen.isdisjoint(events):
            kept = np.flatnonzero(~own)
            seen.update(events[i] for i in kept.tolist())
        else:
            rows = []
            for i, event in enumerate(events):
                if event in seen or own[i]:
                    continue
                seen.add(event)
                rows.append(i)
            kept = np.asarray(rows, dtype=np.int64)

        def take(column: Sequence[Any] | np.ndarray | pa.Array) -> Any:
            if isinstance(column, np.ndarray):
                return column[kept]
            if isinstance(column, pa.Array):
                return column.take(pa.array(kept, type=pa.int64()))
            return [column[i] for i in kept.tolist()]

        ends = self.account.many(_interleaved(take(reporters), take(targets))).reshape(-1, 2)
        self.report_parts.append(
            (
                take(events),
                ends[:, 0],
                ends[:, 1],
                epochs(take(batch["created_at"])),
                self.reason.many(take(batch["reason"])),
                _optional(self.content, take(batch["content_id"])),
                [text or None for text in take(batch["text"])],
            )
        )

    def add_decisions(self, batch: Columns) -> None:
        self._finish_posts()
        for row in zip(*(batch[name] for name in FIELDS["decisions"]), strict=True):
            self.decision_rows[str(row[0])] = row

    def build(self, now: float | None = None) -> Data:
        self._finish_posts()
        assert self.posts is not None
        decided = list(self.decision_rows.values())
        decided_target = self.account.many([d[1] for d in decided])
        decided_content = _optional(self.content, [d[4] for d in decided])
        accounts = self._accounts()
        parts = self.report_parts
        report_time = _concat([p[3] for p in parts], np.float64)
        known = report_time[~np.isnan(report_time)]
        latest = float(known.max()) if known.size else 0.0
        src, dst, kind = (_concat([p[k] for p in self.edge_parts]) for k in range(3))
        weight, time = (_concat([p[k] for p in self.edge_parts], np.float64) for k in (3, 4))
        self.edge_parts.clear()  # the parts are copied: let them go before deduplicating
        return Data(
            accounts=accounts,
            reports=Reports(
                [event for p in parts for event in p[0]],
                _concat([p[1] for p in parts]),
                _concat([p[2] for p in parts]),
                report_time,
                _concat([p[4] for p in parts]),
                _concat([p[5] for p in parts]),
                [text for p in parts for text in p[6]],
            ),
            edges=_last_edges(src, dst, kind, weight, time, len(accounts)),
            posts=self.posts,
            decisions=Decisions(
                decided_target,
                np.asarray([d[2] == "violation" for d in decided], dtype=bool),
                epochs([d[3] for d in decided]),
                decided_content,
            ),
            reasons=list(self.reason.names),
            contents=list(self.content.names),
            now=latest if now is None else now,
        )

    def _accounts(self) -> Accounts:
        """Every account seen anywhere; the metadata of the last record of each sent."""
        total = len(self.account)
        created = np.full(total, np.nan)
        followers = np.full(total, np.nan)
        suspended_at = np.full(total, np.nan)
        status = np.full(total, UNKNOWN_STATUS, dtype=np.int64)
        known_member = np.zeros(total, dtype=bool)
        handles: list[str | None] = [None] * total
        parts = self.account_parts
        if parts:
            codes = _concat([p[0] for p in parts])
            last = _last_of_each(codes)
            at = codes[last]
            all_handles = [handle for p in parts for handle in p[1]]
            for index, row in zip(at.tolist(), last.tolist(), strict=True):
                handles[index] = all_handles[row]
            for column, k in (
                (created, 2),
                (followers, 3),
                (suspended_at, 4),
                (status, 5),
                (known_member, 6),
            ):
                column[at] = _concat([p[k] for p in parts], column.dtype)[last]
        return Accounts(
            list(self.account.names),
            handles,
            created,
            followers,
            suspended_at,
            status,
            known_member,
        )


def _values(column: Sequence[Any] | pa.Array) -> Sequence[Any]:
    return column.to_pylist() if isinstance(column, pa.Array) else column


def _concat(arrays: list[Any], dtype: Any = np.int64) -> Any:
    return np.concatenate(arrays) if arrays else np.empty(0, dtype=dtype)


def build_data_batches(
    accounts: Iterable[Columns] = (),
    edges: Iterable[Columns] = (),
    posts: Iterable[Columns] = (),
    reports: Iterable[Columns] = (),
    decisions: Iterable[Columns] = (),
    now: float | None = None,
) -> Data:
    """Columns from column batches of each entity kind (later records of a key win)."""
    builder = DataBuilder()
    for add, batches in (
        (builder.add_accounts, accounts),
        (builder.add_edges, edges),
        (builder.add_posts, posts),
        (builder.add_reports, reports),
        (builder.add_decisions, decisions),
    ):
        for batch in batches:
            add(batch)
    return builder.build(now)


def build_data(
    accounts: Iterable[Mapping[str, Any]] = (),
    edges: Iterable[Mapping[str, Any]] = (),
    posts: Iterable[Mapping[str, Any]] = (),
    reports: Iterable[Mapping[str, Any]] = (),
    decisions: Iterable[Mapping[str, Any]] = (),
    now: float | None = None,
) -> Data:
    """Columns from entity records (later records of the same key win)."""
    return build_data_batches(
        record_batches(accounts, "accounts"),
        record_batches(edges, "edges"),
        record_batches(posts, "posts"),
        record_batches(reports, "reports"),
        record_batches(decisions, "decisions"),
        now,
    )
