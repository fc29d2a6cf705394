"""The columnar data builder equals the plain row-by-row reading of the same rules
(later records of a key win, ids numbered in order of first sight, self-reports and
repeated event ids left out, posts referred to but never sent kept without author) on
simulated worlds, the real tweets, and records made to hit every rule, across batch
boundaries; and the NDJSON reader gives the same data as records do."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import fields
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from app import datasets
from app.datasets import _arrow_batches, load_data, read_entities, write_entities
from app.detection import data as data_module
from app.detection.data import (
    EDGE_KINDS,
    MEMBER_LABEL,
    STATUSES,
    UNKNOWN_STATUS,
    Accounts,
    Data,
    Decisions,
    IntArray,
    Posts,
    Reports,
    _last_edges,
    build_data,
    distinct,
    entity_path,
    epochs,
    to_epoch,
)
from app.tools.simulate import SCENARIOS, generate
from app.tools.simulate.output import write_world


def _ints(values: list[int]) -> IntArray:
    return np.asarray(values, dtype=np.int64)


def _floats(values: list[float]) -> Any:
    return np.asarray(values, dtype=np.float64)


class Numbering:
    """Small integers for names in order of first sight, one name at a time (``str``
    of a name that is not text)."""

    def __init__(self) -> None:
        self.index: dict[str, int] = {}

    def __call__(self, name: Any) -> int:
        return self.index.setdefault(name if type(name) is str else str(name), len(self.index))

    @property
    def names(self) -> list[str]:
        return list(self.index)

    def __len__(self) -> int:
        return len(self.index)


def row_by_row(
    accounts: Iterable[Mapping[str, Any]] = (),
    edges: Iterable[Mapping[str, Any]] = (),
    posts: Iterable[Mapping[str, Any]] = (),
    reports: Iterable[Mapping[str, Any]] = (),
    decisions: Iterable[Mapping[str, Any]] = (),
    now: float | None = None,
) -> Data:
    """The builder's rules read one record at a time: the reference the columnar
    builder must equal."""
    account = Numbering()
    reason = Numbering()
    content = Numbering()
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

    post_index = Numbering()
    post_rows: dict[int, Mapping[str, Any]] = {}
    for row in posts:
        post_rows[post_index(row["post_id"])] = row
        account(row["author_id"])
    tag = Numbering()
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
            _ints(edge_src),
            _ints(edge_dst),
            _ints(edge_kind),
            np.asarray(edge_weight, dtype=np.float64),
            _floats(edge_time),
            total,
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


def assert_same(got: Data, expected: Data) -> None:
    for part in ("accounts", "reports", "edges", "posts", "decisions"):
        mine, theirs = getattr(got, part), getattr(expected, part)
        for field in fields(mine):
            a, b = getattr(mine, field.name), getattr(theirs, field.name)
            where = f"{part}.{field.name}"
            if isinstance(b, np.ndarray):
                assert a.dtype == b.dtype, where
                np.testing.assert_array_equal(a, b, err_msg=where)
            else:
                assert a == b, where
    assert (got.reasons, got.contents, got.now) == (
        expected.reasons,
        expected.contents,
        expected.now,
    )


def build_both(world: Any) -> tuple[Data, Data]:
    kinds = (world.accounts, world.edges, world.posts, world.reports, world.decisions)
    return build_data(*kinds), row_by_row(*kinds)


@pytest.mark.parametrize("family", ["baseline", "bystanders", "spraying"])
def test_simulated_worlds_build_the_same_data(family: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(data_module, "BATCH_ROWS", 7_000)  # many batches, keys across them
    got, expected = build_both(generate(SCENARIOS[family], seed=17, scale=0.3))
    assert_same(got, expected)
    assert len(got.posts) and len(got.edges) and len(got.decisions)


def test_the_ndjson_reader_gives_what_records_give(tmp_path: Path) -> None:
    world = generate(SCENARIOS["baseline"], seed=18, scale=0.2)
    write_world(world, tmp_path)
    kinds = ("accounts", "edges", "posts", "reports", "decisions")
    assert_same(load_data(tmp_path), row_by_row(*(list(read_entities(tmp_path, k)) for k in kinds)))


def records_hitting_every_rule() -> tuple[list[dict[str, Any]], ...]:
    accounts = [
        {"account_id": "a", "handle": "first", "created_at": "2017-01-01T00:00:00Z"},
        {"account_id": 7, "handle": "an int id", "followers_count": 12, "labels": [MEMBER_LABEL]},
        {"account_id": "s", "status": "suspended", "status_changed_at": 1_500_000_000.0},
        {"account_id": "d", "status": "deleted", "status_changed_at": "2017-07-01T10:00:00+02:00"},
        # later record of "a" wins, a field it lacks included
        {"account_id": "a", "handle": "second", "status": "active", "followers_count": None},
        {"account_id": "x", "created_at": "2017-07-01T10:00:00.250Z", "labels": None},
        {"account_id": "y", "created_at": None, "status": ""},
    ]
    edges = [
        {"src": "a", "dst": "b", "kind": "follow", "created_at": "2017-02-01T00:00:00Z"},
        {"src": "b", "dst": "a", "kind": "retweet", "weight": 3},
        {"src": "a", "dst": "b", "kind": "follow", "weight": 2, "created_at": None},
        {"src": "new1", "dst": "new2", "kind": "like", "weight": 0},
    ]
    posts = [
        {
            "post_id": "p1",
            "author_id": "a",
            "created_at": "2017-03-01T00:00:00Z",
            "mentions": ["m1", "b"],
            "hashtags": ["#Tag", "other"],
        },
        {"post_id": "p2", "author_id": "b", "reshare_of": "p1", "reply_to": "gone1"},
        {
            "post_id": "p1",
            "author_id": "c",
            "created_at": "2017-03-02T00:00:00Z",
            "reshare_of": "gone2",
            "mentions": ["m2"],
        },
        {"post_id": "p3", "author_id": "m9", "reply_to": "p2", "reshare_of": ""},
    ]
    reports = [
        {
            "event_id": "e1",
            "reporter_id": "r1",
            "target_id": "t1",
            "reason": "spam",
            "created_at": "2017-07-01T00:00:00Z",
            "content_id": "p1",
            "text": "look",
        },
        {
            "event_id": "e1",
            "reporter_id": "r9",
            "target_id": "t9",
            "reason": "other",
            "created_at": "2017-07-02T00:00:00Z",
        },
        {
            "event_id": "e2",
            "reporter_id": "t1",
            "target_id": "t1",
            "reason": "spam",
            "created_at": "2017-07-03T00:00:00Z",
        },
        {
            "event_id": 3,
            "reporter_id": "r2",
            "target_id": "t2",
            "reason": "hate",
            "created_at": 1_499_000_000.5,
            "content_id": "",
            "text": "",
        },
        {
            "event_id": "e4",
            "reporter_id": "r3",
            "target_id": "t1",
            "reason": "spam",
            "created_at": "2017-06-30T23:59:59Z",
            "content_id": "c9",
        },
    ]
    decisions = [
        {
            "decision_id": "d1",
            "target_id": "t1",
            "outcome": "violation",
            "decided_at": "2017-07-05T00:00:00Z",
            "content_id": "c9",
        },
        {
            "decision_id": "d2",
            "target_id": "z",
            "outcome": "no_violation",
            "decided_at": "2017-07-06T00:00:00Z",
        },
        {
            "decision_id": "d1",
            "target_id": "t2",
            "outcome": "no_violation",
            "decided_at": "2017-07-07T00:00:00Z",
        },
    ]
    return accounts, edges, posts, reports, decisions


@pytest.mark.parametrize("batch_rows", [1, 2, 50_000])
def test_every_rule_holds_within_and_across_batches(
    batch_rows: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(data_module, "BATCH_ROWS", batch_rows)
    records = records_hitting_every_rule()
    got, expected = build_data(*records), row_by_row(*records)
    assert_same(got, expected)
    # The rules, spelled out on the result.
    ids = got.accounts.ids
    assert got.accounts.handle[ids.index("a")] == "second"
    assert got.accounts.known_member[ids.index("7")]
    assert got.reports.event_id == ["e1", "3", "e4"]
    assert got.posts.author[got.posts.post_id.index("p1")] == ids.index("c")
    assert len(got.decisions) == 2 and not got.decisions.violation[0]


def test_nothing_builds_empty_data() -> None:
    assert_same(build_data(), row_by_row())


def test_times_are_read_like_to_epoch() -> None:
    values: list[Any] = [
        "2017-07-01T00:00:00Z",
        "2016-02-29T23:59:59Z",
        "2017-07-01T02:00:00+02:00",
        "2017-07-01T00:00:00.5Z",
        1_500_000_000.0,
        1_500_000_000,
        None,
        "١٢",  # not ASCII: read row by row, and refused as to_epoch refuses it
    ]
    with pytest.raises(ValueError):
        epochs(values)
    values.pop()
    expected = np.array([to_epoch(v) for v in values])
    np.testing.assert_array_equal(epochs(values), expected)
    np.testing.assert_array_equal(epochs([None, 2.5]), [np.nan, 2.5])
    # Refused as to_epoch refuses them, not read as the time they begin with or as a
    # number: a bad month, year 0, text after the Z, a number in text after a None.
    for bad in (
        ["2017-13-01T00:00:00Z"],
        ["0000-01-01T00:00:00Z"],
        ["2017-07-01T00:00:00Zjunk"],
        ["2017-07-01T00:00:00Z "],
        [None, "2017"],
        [1.5, "1500000000"],
    ):
        with pytest.raises(ValueError):
            epochs(bad)
            pytest.fail(f"{bad} was read")


@pytest.mark.parametrize(
    ("kind", "field"),
    [
        ("accounts", "account_id"),
        ("edges", "dst"),
        ("posts", "author_id"),
        ("reports", "reporter_id"),
        ("reports", "created_at"),
        ("decisions", "outcome"),
    ],
)
def test_a_record_without_a_required_field_is_refused(
    kind: str, field: str, tmp_path: Path
) -> None:
    records = dict(zip(KINDS, records_hitting_every_rule(), strict=True))
    del records[kind][-1][field]
    with pytest.raises(KeyError):
        row_by_row(*records.values())
    with pytest.raises(KeyError):
        build_data(*records.values())
    _write(tmp_path, tuple(records.values()))
    with pytest.raises(KeyError):
        load_data(tmp_path)


def test_a_line_with_two_objects_or_after_many_blank_lines_is_read_as_lines_are(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(datasets, "BATCH_ROWS", 3)
    lines = [b'{"account_id": "a"}', b"", b"", b"", b"", b"", b'{"account_id": 7}']
    entity_path(tmp_path, "accounts").write_bytes(b"\n".join(lines) + b"\n")
    assert load_data(tmp_path).accounts.ids == ["a", "7"]
    # Text ids, so that Arrow reads the file first: it must not take these either.
    for bad in (b'{"account_id": "a"},{"account_id": "b"}\n', b'{"account_id":\n"a"}\n'):
        entity_path(tmp_path, "accounts").write_bytes(bad)
        with pytest.raises(ValueError, match=r"accounts.ndjson:1: not JSON"):
            load_data(tmp_path)
    entity_path(tmp_path, "accounts").write_bytes(b'{"account_id": 1},{"account_id": 2}\n')
    with pytest.raises(ValueError, match=r"accounts.ndjson:1: not JSON"):
        load_data(tmp_path)


def test_year_zero_and_odd_ids_are_treated_as_record_by_record(tmp_path: Path) -> None:
    entity_path(tmp_path, "accounts").write_bytes(
        b'{"account_id": "a", "created_at": "0000-01-01T00:00:00Z"}\n'
    )
    with pytest.raises(ValueError):
        load_data(tmp_path)
    # A lone surrogate cannot be UTF-8 (Arrow's text): numbered one by one instead.
    records: list[dict[str, Any]] = [{"account_id": "x\udcff"}, {"account_id": "y"}]
    assert_same(build_data(records), row_by_row(records))


KINDS = ("accounts", "edges", "posts", "reports", "decisions")


def _write(folder: Path, records: tuple[list[dict[str, Any]], ...]) -> None:
    for kind, rows in zip(KINDS, records, strict=True):
        write_entities(folder, kind, rows)


def _as_text(key: str, value: Any) -> Any:
    if isinstance(value, float):  # an epoch: as RFC 3339 with an offset and a fraction
        return datetime.fromtimestamp(value, UTC).isoformat()
    return str(value) if key.endswith("_id") and value is not None else value


def test_files_read_by_arrow_or_line_by_line_give_what_records_give(tmp_path: Path) -> None:
    # Numbers where ids and times should be text: Arrow refuses, lines are read one by one.
    odd = records_hitting_every_rule()
    _write(tmp_path / "odd", odd)
    assert _arrow_batches(entity_path(tmp_path / "odd", "accounts"), "accounts") is None
    assert_same(load_data(tmp_path / "odd"), row_by_row(*odd))
    # Text everywhere (offsets, fractions and missing fields included): Arrow reads them.
    plain = tuple(
        [{key: _as_text(key, value) for key, value in row.items()} for row in rows]
        for rows in records_hitting_every_rule()
    )
    _write(tmp_path / "plain", plain)
    for kind in ("accounts", "edges", "posts", "reports", "decisions"):
        assert _arrow_batches(entity_path(tmp_path / "plain", kind), kind) is not None, kind
    assert_same(load_data(tmp_path / "plain"), row_by_row(*plain))


def test_distinct_gives_what_np_unique_gives() -> None:
    rng = np.random.default_rng(3)
    for values in (
        np.empty(0, dtype=np.int64),
        np.array([5]),
        np.array([[3, 1], [3, 2]]),
        rng.integers(0, 50, 1_000),
        rng.integers(-(2**40), 2**40, 10_000),
    ):
        found = distinct(values)
        np.testing.assert_array_equal(found, np.unique(values))
        assert found.dtype == np.unique(values).dtype
