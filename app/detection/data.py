"""The detector's input: every entity as integer-indexed numpy columns.

One builder turns records (dicts shaped like the API's entities, from NDJSON files,
the database or a request body) into these columns. Account ids, reasons and
content ids are interned to small integers; every account mentioned anywhere gets
an index, whether or not its metadata was sent. Times are float epoch seconds.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

EDGE_KINDS = ("follow", "retweet", "quote", "reply", "mention", "like")
STATUSES = ("active", "suspended", "deleted")
UNKNOWN_STATUS = -1
# Accounts the platform already knows belong to the network (e.g. removed for terrorist
# content) carry this label; they seed the supporter network.
MEMBER_LABEL = "extremist"

IntArray = npt.NDArray[np.int64]
FloatArray = npt.NDArray[np.float64]
BoolArray = npt.NDArray[np.bool_]


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
    """Stable small integers for strings, in order of first sight (a dict keeps it)."""

    def __init__(self) -> None:
        self.index: dict[str, int] = {}

    def __call__(self, name: Any) -> int:
        index = self.index
        return index.setdefault(name if type(name) is str else str(name), len(index))

    @property
    def names(self) -> list[str]:
        return list(self.index)

    def __len__(self) -> int:
        return len(self.index)


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


def _floats(values: list[float]) -> FloatArray:
    return np.asarray(values, dtype=np.float64)


def _last_edges(
    src: IntArray,
    dst: IntArray,
    kind: IntArray,
    weight: list[Any],
    time: list[float],
    accounts: int,
) -> Edges:
    """One edge per (src, dst, kind), the last one sent winning, in order of first sight."""
    key = (src * accounts + dst) * len(EDGE_KINDS) + kind
    _, first_seen, slot = np.unique(key, return_index=True, return_inverse=True)
    last = np.zeros(len(first_seen), dtype=np.int64)
    np.maximum.at(last, slot.ravel(), np.arange(len(key)))
    order = np.argsort(first_seen, kind="stable")
    chosen = last[order]
    return Edges(
        src[chosen],
        dst[chosen],
        kind[chosen],
        np.asarray(weight, dtype=np.float64)[chosen],
        _floats(time)[chosen],
    )


def build_data(
    accounts: Iterable[Mapping[str, Any]] = (),
    edges: Iterable[Mapping[str, Any]] = (),
    posts: Iterable[Mapping[str, Any]] = (),
    reports: Iterable[Mapping[str, Any]] = (),
    decisions: Iterable[Mapping[str, Any]] = (),
    now: float | None = None,
) -> Data:
    """Columns from entity records (later records of the same key win)."""
    account = Interner()
    reason = Interner()
    content = Interner()
    meta: dict[int, Mapping[str, Any]] = {}
    for row in accounts:
        meta[account(row["account_id"])] = row

    kind_of = {kind: i for i, kind in enumerate(EDGE_KINDS)}
    edge_src, edge_dst, edge_kind, edge_weight, edge_time = [], [], [], [], []
    for row in edges:
        edge_src.append(account(row["src"]))
        edge_dst.append(account(row["dst"]))
        edge_kind.append(kind_of[row["kind"]])
        edge_weight.append(row.get("weight") or 1)
        edge_time.append(to_epoch(row.get("created_at")))

    post_index = Interner()
    post_rows: dict[int, Mapping[str, Any]] = {}
    for row in posts:
        post_rows[post_index(row["post_id"])] = row
        account(row["author_id"])
    tag = Interner()
    author, post_time, reshare, reply = [], [], [], []
    mention_post, mention_account, tag_post, tag_value = [], [], [], []
    for number in range(len(post_index)):
        row = post_rows.get(number, {})
        author.append(account(row["author_id"]) if row else -1)
        post_time.append(to_epoch(row.get("created_at")))
        reshare.append(post_index(row["reshare_of"]) if row.get("reshare_of") else -1)
        reply.append(post_index(row["reply_to"]) if row.get("reply_to") else -1)
        for mentioned in row.get("mentions") or ():
            mention_post.append(number)
            mention_account.append(account(mentioned))
        for hashtag in row.get("hashtags") or ():
            tag_post.append(number)
            tag_value.append(tag(str(hashtag).lstrip("#").lower()))
    # Posts referred to (reshared, replied to) but never sent exist with no author.
    missing = len(post_index) - len(author)
    author += [-1] * missing
    post_time += [float("nan")] * missing
    reshare += [-1] * missing
    reply += [-1] * missing

    seen_events: set[str] = set()
    event_ids: list[str] = []
    reporter, target, report_time, report_reason, report_content, texts = [], [], [], [], [], []
    for row in reports:
        event = str(row["event_id"])
        # A self-report says nothing about coordination (and one account filing
        # hundreds against itself must not look like a crowd): it is stored, not analysed.
        if event in seen_events or row["reporter_id"] == row["target_id"]:
            continue
        seen_events.add(event)
        event_ids.append(event)
        reporter.append(account(row["reporter_id"]))
        target.append(account(row["target_id"]))
        report_time.append(to_epoch(row["created_at"]))
        report_reason.append(reason(row["reason"]))
        report_content.append(content(row["content_id"]) if row.get("content_id") else -1)
        texts.append(row.get("text") or None)

    decision_rows: dict[str, Mapping[str, Any]] = {}
    for row in decisions:
        decision_rows[str(row["decision_id"])] = row
    decided = list(decision_rows.values())
    decided_target = [account(d["target_id"]) for d in decided]
    decided_content = [content(d["content_id"]) if d.get("content_id") else -1 for d in decided]

    total = len(account)
    created = np.full(total, np.nan)
    followers = np.full(total, np.nan)
    suspended_at = np.full(total, np.nan)
    status = np.full(total, UNKNOWN_STATUS, dtype=np.int64)
    known_member = np.zeros(total, dtype=bool)
    handles: list[str | None] = [None] * total
    for index, row in meta.items():
        created[index] = to_epoch(row.get("created_at"))
        if row.get("followers_count") is not None:
            followers[index] = float(row["followers_count"])
        if row.get("status"):
            status[index] = STATUSES.index(row["status"])
            if row["status"] != "active":
                suspended_at[index] = to_epoch(row.get("status_changed_at"))
        known_member[index] = MEMBER_LABEL in (row.get("labels") or ())
        handles[index] = row.get("handle")

    times = [t for t in report_time if t == t]
    latest = max(times) if times else 0.0
    return Data(
        accounts=Accounts(
            list(account.names), handles, created, followers, suspended_at, status, known_member
        ),
        reports=Reports(
            event_ids,
            _ints(reporter),
            _ints(target),
            _floats(report_time),
            _ints(report_reason),
            _ints(report_content),
            texts,
        ),
        edges=_last_edges(
            _ints(edge_src), _ints(edge_dst), _ints(edge_kind), edge_weight, edge_time, total
        ),
        posts=Posts(
            list(post_index.names),
            _ints(author),
            _floats(post_time),
            _ints(reshare),
            _ints(reply),
            _ints(mention_post),
            _ints(mention_account),
            _ints(tag_post),
            _ints(tag_value),
            list(tag.names),
        ),
        decisions=Decisions(
            _ints(decided_target),
            np.asarray([d["outcome"] == "violation" for d in decided], dtype=bool),
            _floats([to_epoch(d["decided_at"]) for d in decided]),
            _ints(decided_content),
        ),
        reasons=list(reason.names),
        contents=list(content.names),
        now=latest if now is None else now,
    )
