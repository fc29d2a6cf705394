"""The Spark engine: the event-heavy stages on Apache Spark (PySpark).

Spark reads the data set's NDJSON files itself. This process receives only the
columns the single-node stages need, through Arrow: numbers per event, and the names
of accounts, posts, reasons, content items and hashtags. Report texts and event ids
stay in Spark. Each event-heavy stage runs there and hands back a reduction:

- waves: reports hashed by target into bins; a bin runs ``waves.bursts`` on all its
  targets at once (a target's burst test reads only its own reports); the second
  pass does the same per (target, content item).
- co-reporting: reports in (target, time) order are cut into chunks of
  ``CHUNK_REPORTS``, each with the ``PartnerParams.neighbours // 2`` reports either side as
  read-only context (a report's window holds at most that many neighbours a side).
  A huge target is spread over many tasks by position (salting); each chunk sums its
  pairs and Spark sums them per pair.
- exposure: joins of the asked (reporter, target) pairs with edges and reshares.
- text duplicates: reports with text in bins of waves, MinHash per bin.

Everything is numbered as ``build_data`` numbers it (first sight in the files, later
records of a key winning), so results equal the local engine's exactly.
"""

from __future__ import annotations

import logging
import os
import sys
from collections.abc import Callable
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from pyspark import StorageLevel
from pyspark.sql import Column, DataFrame, SparkSession
from pyspark.sql import functions as F
from scipy.sparse import csr_matrix

from app.detection.coreport import (
    PartnerParams,
    pair_weights,
    partner_counts,
    report_windows,
    window_keys,
)
from app.detection.data import (
    EDGE_KINDS,
    MEMBER_LABEL,
    STATUSES,
    Accounts,
    BoolArray,
    Data,
    Decisions,
    Edges,
    FloatArray,
    IntArray,
    Posts,
    Reports,
    distinct,
    entity_path,
)
from app.detection.graph import ENGAGE, FOLLOW
from app.detection.text import duplicate_clusters
from app.detection.waves import (
    DAY,
    WaveParams,
    Waves,
    assemble_waves,
    bursts,
    leftover_units,
)

CHUNK_REPORTS = 250_000
SCHEMAS = {
    "accounts": "account_id string, handle string, created_at string, "
    "followers_count double, labels array<string>, status string, status_changed_at string",
    "edges": "src string, dst string, kind string, weight double, created_at string",
    "posts": "post_id string, author_id string, created_at string, reshare_of string, "
    "reply_to string, mentions array<string>, hashtags array<string>",
    "reports": "event_id string, reporter_id string, target_id string, reason string, "
    "created_at string, content_id string, text string",
    "decisions": "decision_id string, target_id string, outcome string, decided_at string, "
    "content_id string",
}
_NUMBER = r"^\s*-?[0-9]+(\.[0-9]*)?([eE][-+]?[0-9]+)?\s*$"


@lru_cache
def spark_session(master: str, driver_memory: str = "4g") -> SparkSession:
    """One session per process (a JVM starts once); workers run this interpreter. The
    driver's memory is Spark's own ``SPARK_DRIVER_MEMORY`` when set."""
    os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
    builder = (
        SparkSession.builder.master(master)
        .appName("mass-report-detector")
        .config("spark.driver.memory", os.environ.get("SPARK_DRIVER_MEMORY", driver_memory))
        .config("spark.sql.session.timeZone", "UTC")
        .config("spark.sql.execution.arrow.pyspark.enabled", "true")
        .config("spark.ui.enabled", "false")
        .config("spark.ui.showConsoleProgress", "false")
    )
    if master.startswith("local"):
        builder = builder.config("spark.sql.shuffle.partitions", str(4 * (os.cpu_count() or 2)))
    # py4j logs its connection closing at interpreter exit, after logging shut down.
    logging.getLogger("py4j").setLevel(logging.WARNING)
    session = builder.getOrCreate()
    session.sparkContext.setLogLevel("ERROR")
    return session


def _epoch(name: str) -> Column:
    """An RFC 3339 text or epoch number as float seconds, as ``data.to_epoch`` reads it."""
    value = F.col(name)
    return (
        F.when(value.isNull() | (value == ""), F.lit(float("nan")))
        .when(value.rlike(_NUMBER), value.cast("double"))
        .otherwise(F.unix_micros(F.to_timestamp(value)) / F.lit(1_000_000.0))
    )


def _given(name: str) -> Column:
    """Python's truthiness of an optional text field."""
    return F.col(name).isNotNull() & (F.col(name) != "")


def _read(spark: SparkSession, folder: Path, kind: str) -> DataFrame:
    """``<kind>.ndjson`` with ``line``: increasing in file order whatever the splits
    (a split's byte offset plus the row's place in it)."""
    schema = SCHEMAS[kind]
    path = entity_path(folder, kind)
    if not path.exists():
        return spark.createDataFrame([], f"line long, {schema}")
    rows = spark.read.text(str(path)).select(
        "value",
        (
            F.input_file_block_start()
            + F.monotonically_increasing_id().bitwiseAND(F.lit((1 << 33) - 1))
        ).alias("line"),
    )
    rows = rows.filter(F.trim("value") != "")
    parsed = rows.select("line", F.from_json("value", schema).alias("r")).select("line", "r.*")
    return parsed.persist(StorageLevel.MEMORY_AND_DISK)


def _latest(rows: DataFrame, key: list[str], columns: list[str]) -> DataFrame:
    """One row per key: its first line (``first``) and its last record's ``columns``."""
    return (
        rows.groupBy(*key)
        .agg(
            F.min("line").alias("first"),
            F.max_by(F.struct(*columns), "line").alias("last"),
        )
        .select(*key, "first", "last.*")
    )


def _sights(names: Column, phase: int, a: Column, b: Column | int = 0) -> list[Column]:
    return [
        names.alias("name"),
        F.lit(phase).alias("phase"),
        a.cast("long").alias("a"),
        (F.lit(b) if isinstance(b, int) else b).cast("long").alias("b"),
    ]


def _intern(spark: SparkSession, sights: DataFrame) -> tuple[list[str], DataFrame]:
    """Names in order of first sight ``(phase, a, b)``, and a ``(name, index)`` table."""
    first = sights.groupBy("name").agg(F.min(F.struct("phase", "a", "b")).alias("seen"))
    seen = first.select("name", "seen.*").toArrow()
    order = [("phase", "ascending"), ("a", "ascending"), ("b", "ascending")]
    names: list[str] = seen.sort_by(order).column("name").to_pylist()
    table = pd.DataFrame({"name": names, "index": np.arange(len(names), dtype=np.int64)})
    return names, spark.createDataFrame(table, "name string, index long")


def _index(rows: DataFrame, column: str, table: DataFrame, alias: str) -> DataFrame:
    """``rows`` with ``alias``: the index of ``column`` in ``table`` (-1 when absent)."""
    lookup = table.select(F.col("name").alias(column), F.col("index").alias(alias))
    return rows.join(lookup, on=column, how="left").fillna(-1, subset=[alias])


def _numpy(frame: DataFrame, order: str) -> dict[str, np.ndarray]:
    """Columns of ``frame`` sorted by ``order``, as numpy arrays (through Arrow; sorted
    here, which spares Spark a sampling job and a shuffle)."""
    table = frame.toArrow().sort_by(order)
    return {name: table.column(name).to_numpy(zero_copy_only=False) for name in table.column_names}


def load(spark: SparkSession, folder: Path) -> tuple[Data, SparkEngine]:
    """The data set in ``folder`` as ``build_data`` would make it, and the engine that
    keeps its events."""
    accounts = _read(spark, folder, "accounts")
    edges = _read(spark, folder, "edges")
    posts = _read(spark, folder, "posts")
    reports = _read(spark, folder, "reports")
    decisions = _read(spark, folder, "decisions")

    # The first record of each event id that is not a self-report (build_data's rule).
    candidates = reports.filter(F.col("reporter_id") != F.col("target_id"))
    firsts = candidates.groupBy("event_id").agg(F.min("line").alias("line"))
    kept = candidates.join(firsts, on=["event_id", "line"], how="left_semi").persist(
        StorageLevel.MEMORY_AND_DISK
    )
    latest_posts = _latest(
        posts,
        ["post_id"],
        ["author_id", "created_at", "reshare_of", "reply_to", "mentions", "hashtags"],
    )
    latest_decisions = _latest(
        decisions, ["decision_id"], ["target_id", "outcome", "decided_at", "content_id"]
    )

    post_names, post_table = _intern(
        spark, latest_posts.select(*_sights(F.col("post_id"), 0, F.col("first")))
    )
    sent = _index(latest_posts, "post_id", post_table, "number").persist(
        StorageLevel.MEMORY_AND_DISK
    )
    references = sent.select(*_sights(F.col("reshare_of"), 1, F.col("number"), 0)).union(
        sent.select(*_sights(F.col("reply_to"), 1, F.col("number"), 1))
    )
    references = references.filter(_given("name")).join(
        post_table.select("name"), on="name", how="left_anti"
    )
    referenced, referenced_table = _intern(spark, references)
    post_table = post_table.union(
        referenced_table.select("name", (F.col("index") + len(post_names)).alias("index"))
    )
    post_names += referenced
    mentions = sent.select("number", F.posexplode_outer("mentions").alias("position", "mentioned"))
    mentions = mentions.filter(F.col("mentioned").isNotNull())

    account_sights = (
        accounts.select(*_sights(F.col("account_id"), 0, F.col("line")))
        .union(edges.select(*_sights(F.col("src"), 1, F.col("line"), 0)))
        .union(edges.select(*_sights(F.col("dst"), 1, F.col("line"), 1)))
        .union(posts.select(*_sights(F.col("author_id"), 2, F.col("line"))))
        .union(mentions.select(*_sights(F.col("mentioned"), 3, F.col("number"), F.col("position"))))
        .union(kept.select(*_sights(F.col("reporter_id"), 4, F.col("line"), 0)))
        .union(kept.select(*_sights(F.col("target_id"), 4, F.col("line"), 1)))
        .union(latest_decisions.select(*_sights(F.col("target_id"), 5, F.col("first"))))
    )
    account_ids, account_table = _intern(spark, account_sights)
    account_table = F.broadcast(account_table)
    reasons, reason_table = _intern(spark, kept.select(*_sights(F.col("reason"), 0, F.col("line"))))
    contents, content_table = _intern(
        spark,
        kept.filter(_given("content_id"))
        .select(*_sights(F.col("content_id"), 0, F.col("line")))
        .union(
            latest_decisions.filter(_given("content_id")).select(
                *_sights(F.col("content_id"), 1, F.col("first"))
            )
        ),
    )

    indexed = _index(kept, "reporter_id", account_table, "reporter")
    indexed = _index(indexed, "target_id", account_table, "target")
    indexed = _index(indexed, "reason", reason_table, "reason_index")
    indexed = _index(indexed, "content_id", content_table, "content")
    indexed = indexed.select(
        "line",
        "reporter",
        "target",
        _epoch("created_at").alias("time"),
        F.col("reason_index").alias("reason"),
        "content",
        "event_id",
        "text",
    ).persist(StorageLevel.MEMORY_AND_DISK)
    report_columns = _numpy(
        indexed.select("line", "reporter", "target", "time", "reason", "content"), "line"
    )

    edge_columns, edge_frame = _edges(edges, account_table)
    data = Data(
        accounts=_accounts(account_ids, accounts, account_table),
        reports=Reports(
            [],
            report_columns["reporter"].astype(np.int64),
            report_columns["target"].astype(np.int64),
            report_columns["time"].astype(np.float64),
            report_columns["reason"].astype(np.int64),
            report_columns["content"].astype(np.int64),
            [],
        ),
        edges=edge_columns,
        posts=_posts(spark, sent, mentions, post_names, post_table, account_table),
        decisions=_decisions(latest_decisions, account_table, content_table),
        reasons=reasons,
        contents=contents,
        now=_latest_time(report_columns["time"]),
    )
    for frame in (accounts, edges, posts, reports, decisions, kept):
        frame.unpersist()
    reshares = _index(sent, "author_id", account_table, "author")
    reshares = _index(reshares, "reshare_of", post_table, "reshare").select(
        "number", "author", "reshare"
    )
    engine = SparkEngine(
        spark, report_columns["line"].astype(np.int64), indexed, edge_frame, reshares
    )
    return data, engine


def _latest_time(time: FloatArray) -> float:
    known = time[~np.isnan(time)]
    return float(known.max()) if len(known) else 0.0


def _accounts(ids: list[str], rows: DataFrame, table: DataFrame) -> Accounts:
    """Account metadata from each account's last record; accounts never described
    keep NaN, unknown status and no label."""
    latest = _latest(
        rows,
        ["account_id"],
        ["handle", "created_at", "followers_count", "labels", "status", "status_changed_at"],
    )
    status = F.array_position(F.array(*[F.lit(s) for s in STATUSES]), F.col("status")) - 1
    described = _index(latest, "account_id", table, "index").select(
        "index",
        "handle",
        _epoch("created_at").alias("created"),
        F.coalesce(F.col("followers_count"), F.lit(float("nan"))).alias("followers"),
        F.when(_given("status"), status).otherwise(-1).alias("status"),
        F.when(_given("status") & (F.col("status") != "active"), _epoch("status_changed_at"))
        .otherwise(float("nan"))
        .alias("suspended_at"),
        F.coalesce(F.array_contains("labels", MEMBER_LABEL), F.lit(False)).alias("member"),
    )
    columns = _numpy(described, "index")
    total = len(ids)
    at = columns["index"].astype(np.int64)
    handles: list[str | None] = [None] * total
    for index, handle in zip(at.tolist(), columns["handle"].tolist(), strict=True):
        handles[index] = handle
    return Accounts(
        ids,
        handles,
        _placed(columns["created"], at, total, np.nan),
        _placed(columns["followers"], at, total, np.nan),
        _placed(columns["suspended_at"], at, total, np.nan),
        _placed(columns["status"], at, total, -1),
        _placed(columns["member"], at, total, False),
    )


def _placed(values: np.ndarray, at: IntArray, total: int, missing: float | bool) -> np.ndarray:
    """An array of ``total`` entries: ``values`` at the positions ``at``, ``missing``
    elsewhere (in the type of ``missing``: NaN floats, -1 indices, False flags)."""
    placed = np.full(total, missing, dtype=np.asarray(missing).dtype)
    placed[at] = values
    return placed


def _edges(rows: DataFrame, table: DataFrame) -> tuple[Edges, DataFrame]:
    """One edge per (src, dst, kind), its last record winning, in order of first sight;
    also as a Spark table of indices for the joins."""
    latest = _latest(rows, ["src", "dst", "kind"], ["weight", "created_at"])
    kind = F.array_position(F.array(*[F.lit(k) for k in EDGE_KINDS]), F.col("kind")) - 1
    frame = _index(_index(latest, "src", table, "source"), "dst", table, "destination")
    frame = frame.select(
        "first",
        F.col("source").alias("src"),
        F.col("destination").alias("dst"),
        kind.alias("kind"),
        F.when(F.col("weight").isNull() | (F.col("weight") == 0), 1.0)
        .otherwise(F.col("weight"))
        .alias("weight"),
        _epoch("created_at").alias("time"),
    ).persist(StorageLevel.MEMORY_AND_DISK)
    columns = _numpy(frame, "first")
    edges = Edges(
        columns["src"].astype(np.int64),
        columns["dst"].astype(np.int64),
        columns["kind"].astype(np.int64),
        columns["weight"].astype(np.float64),
        columns["time"].astype(np.float64),
    )
    return edges, frame.select("src", "dst", "kind")


def _posts(
    spark: SparkSession,
    sent: DataFrame,
    mentions: DataFrame,
    names: list[str],
    table: DataFrame,
    accounts: DataFrame,
) -> Posts:
    """Posts from each post's last record, in the order build_data numbers them; posts
    only referred to have no author and no time."""
    frame = _index(sent, "author_id", accounts, "author")
    frame = _index(frame, "reshare_of", table, "reshare")
    frame = _index(frame, "reply_to", table, "reply")
    columns = _numpy(
        frame.select("number", "author", _epoch("created_at").alias("time"), "reshare", "reply"),
        "number",
    )
    at, total = columns["number"].astype(np.int64), len(names)
    named = _numpy(
        _index(mentions, "mentioned", accounts, "account").select(
            (F.col("number") * (1 << 20) + F.col("position")).alias("at"), "number", "account"
        ),
        "at",
    )
    tags = sent.select("number", F.posexplode_outer("hashtags").alias("position", "raw"))
    tags = tags.filter(F.col("raw").isNotNull()).withColumn(
        "tag", F.lower(F.regexp_replace("raw", "^#+", ""))
    )
    tag_names, tag_table = _intern(
        spark, tags.select(*_sights(F.col("tag"), 0, F.col("number"), F.col("position")))
    )
    tagged = _numpy(
        _index(tags, "tag", tag_table, "tag_index").select(
            (F.col("number") * (1 << 20) + F.col("position")).alias("at"), "number", "tag_index"
        ),
        "at",
    )
    return Posts(
        names,
        _placed(columns["author"], at, total, -1),
        _placed(columns["time"], at, total, np.nan),
        _placed(columns["reshare"], at, total, -1),
        _placed(columns["reply"], at, total, -1),
        named["number"].astype(np.int64),
        named["account"].astype(np.int64),
        tagged["number"].astype(np.int64),
        tagged["tag_index"].astype(np.int64),
        tag_names,
    )


def _decisions(latest: DataFrame, accounts: DataFrame, contents: DataFrame) -> Decisions:
    frame = _index(
        _index(latest, "target_id", accounts, "target"), "content_id", contents, "content"
    )
    columns = _numpy(
        frame.select(
            "first",
            "target",
            (F.col("outcome") == "violation").alias("violation"),
            _epoch("decided_at").alias("time"),
            "content",
        ),
        "first",
    )
    return Decisions(
        columns["target"].astype(np.int64),
        columns["violation"].astype(bool),
        columns["time"].astype(np.float64),
        columns["content"].astype(np.int64),
    )


def _bins(spark: SparkSession) -> int:
    return 4 * spark.sparkContext.defaultParallelism


def _unit_bursts(
    origin: float, days: float, params: WaveParams, units: int, rows: pd.DataFrame
) -> pd.DataFrame:
    """waves.bursts on every unit of one bin (in the order the local engine sorts)."""
    rows = rows.sort_values(["unit", "time", "line"], kind="stable")
    unit = rows["unit"].to_numpy(np.int64)
    order, _, in_wave = bursts(unit, rows["time"].to_numpy(np.float64), units, origin, days, params)
    return pd.DataFrame(
        {"line": rows["line"].to_numpy(np.int64)[order], "unit": unit[order], "local": in_wave}
    )


WAVE_ROWS = "line long, unit long, local long"


def _bursts_of(
    origin: float, days: float, params: WaveParams, units: int
) -> Callable[[pd.DataFrame], pd.DataFrame]:
    def run(rows: pd.DataFrame) -> pd.DataFrame:
        return _unit_bursts(origin, days, params, units, rows)

    return run


def _chunk_pairs(
    origin: float, span: float, users: int, params: PartnerParams, rows: pd.DataFrame
) -> pd.DataFrame:
    """coreport's pair weights for the own reports of one chunk (context rows only
    fill their windows)."""
    rows = rows.sort_values("position")
    key = rows["target"].to_numpy(np.int64) * span + (rows["time"].to_numpy(np.float64) - origin)
    low, high = report_windows(key, params.window_s, params.neighbours)
    own = ~rows["context"].to_numpy(bool)
    who = rows["reporter"].to_numpy(np.int64)
    source, partner, weight = pair_weights(who[own], low[own], high[own], who, users)
    return pd.DataFrame({"source": source, "partner": partner, "weight": weight})


def _wave_texts(rows: pd.DataFrame) -> pd.DataFrame:
    """text.duplicate_clusters for the waves of one bin."""
    waves, local = np.unique(rows["wave"].to_numpy(np.int64), return_inverse=True)
    texts = [t if isinstance(t, str) else None for t in rows["text"].tolist()]  # NaN: none
    texted, largest = duplicate_clusters(texts, local.ravel(), len(waves))
    return pd.DataFrame({"wave": waves, "texted": texted, "largest": largest})


class SparkEngine:
    """The event-heavy stages on the events Spark holds (``load`` makes one)."""

    name = "spark"

    def __init__(
        self,
        spark: SparkSession,
        lines: IntArray,
        reports: DataFrame,
        edges: DataFrame,
        posts: DataFrame,
        chunk_reports: int = CHUNK_REPORTS,
    ) -> None:
        self.spark = spark
        self.chunk_reports = chunk_reports
        self.lines = lines
        self.reports = reports
        self.edges = edges
        self.posts = posts

    def _rows(self, lines: np.ndarray) -> IntArray:
        rows: IntArray = np.searchsorted(self.lines, lines.astype(np.int64))
        return rows

    def _frame(self, columns: dict[str, Any], schema: str) -> DataFrame:
        return self.spark.createDataFrame(pd.DataFrame(columns), schema)

    def find_waves(self, data: Data, params: WaveParams) -> Waves:
        reports = data.reports
        report_wave = np.full(len(reports), -1, dtype=np.int64)
        if len(reports) == 0:
            return assemble_waves(reports, report_wave, 0)
        origin = float(reports.time.min())
        days = max(1.0, (max(data.now, float(reports.time.max())) - origin) / DAY)
        bins = _bins(self.spark)
        first_pass = (
            self.reports.select("line", F.col("target").alias("unit"), "time")
            .groupBy(F.pmod(F.xxhash64("unit"), F.lit(bins)))
            .applyInPandas(_bursts_of(origin, days, params, len(data.accounts)), WAVE_ROWS)
            .filter(F.col("local") >= 0)
        )
        found = _numpy(first_pass, "line")
        rows = self._rows(found["line"])
        report_wave[rows] = _dense(found["unit"], found["local"])
        count = int(report_wave.max()) + 1 if len(rows) else 0

        left = np.flatnonzero((report_wave < 0) & (reports.content >= 0))
        if len(left):
            units, unit = leftover_units(reports.target[left], reports.content[left])
            leftovers = self._frame(
                {"line": self.lines[left], "unit": unit}, "line long, unit long"
            ).join(self.reports.select("line", "time"), on="line")
            second_pass = (
                leftovers.groupBy(F.pmod(F.xxhash64("unit"), F.lit(bins)))
                .applyInPandas(_bursts_of(origin, days, params, units), WAVE_ROWS)
                .filter(F.col("local") >= 0)
            )
            found = _numpy(second_pass, "line")
            report_wave[self._rows(found["line"])] = count + _dense(found["unit"], found["local"])
            count = int(report_wave.max()) + 1
        return assemble_waves(reports, report_wave, count)

    def repeat_partners(self, data: Data, params: PartnerParams) -> FloatArray:
        reports = data.reports
        n = len(data.accounts)
        if len(reports) == 0:
            return np.zeros(n)
        origin, span = window_keys(reports.target, reports.time, params.window_s)
        half = params.neighbours // 2
        ordered = _positions(self.reports.select("line", "reporter", "target", "time"))
        size = self.chunk_reports
        chunk = F.floor(F.col("position") / size).cast("long")
        offset = F.col("position") % size
        copies = F.array(
            F.struct(chunk.alias("chunk"), F.lit(False).alias("context")),
            F.when(
                (offset < half) & (chunk > 0),
                F.struct((chunk - 1).alias("chunk"), F.lit(True).alias("context")),
            ),
            F.when(
                offset >= size - half,
                F.struct((chunk + 1).alias("chunk"), F.lit(True).alias("context")),
            ),
        )
        spread = ordered.select("*", F.explode(copies).alias("copy")).filter(
            F.col("copy").isNotNull()
        )
        spread = spread.select("position", "reporter", "target", "time", "copy.*")

        def chunk_pairs(rows: pd.DataFrame) -> pd.DataFrame:
            return _chunk_pairs(origin, span, n, params, rows)

        pairs = spread.groupBy("chunk").applyInPandas(
            chunk_pairs, "source long, partner long, weight long"
        )
        summed = pairs.groupBy("source", "partner").agg(F.sum("weight").alias("weight"))
        columns = _numpy(summed, "source")
        return partner_counts(
            columns["source"].astype(np.int64),
            columns["partner"].astype(np.int64),
            columns["weight"].astype(np.int64),
            n,
            params.occasions,
        )

    def exposure(
        self, data: Data, followees: csr_matrix, reporter: IntArray, target: IntArray
    ) -> BoolArray:
        n = len(data.accounts)
        keys = reporter.astype(np.int64) * n + target
        asked = distinct(keys)
        pairs = self._frame(
            {"reporter": asked // n, "target": asked % n}, "reporter long, target long"
        )
        direct = self.edges.filter(F.col("kind").isin(FOLLOW, *ENGAGE)).select(
            F.col("src").alias("reporter"), F.col("dst").alias("target")
        )
        original = self.posts.select(
            F.col("number").alias("reshare"), F.col("author").alias("original")
        )
        shared = (
            self.posts.join(original, on="reshare")
            .filter(
                (F.col("original") >= 0)
                & (F.col("author") >= 0)
                & (F.col("original") != F.col("author"))
            )
            .select(F.col("author").alias("sharer"), F.col("original").alias("target"))
            .distinct()
        )
        follows = self.edges.filter(F.col("kind") == FOLLOW).select(
            F.col("src").alias("reporter"), F.col("dst").alias("sharer")
        )
        seen = pairs.join(direct, on=["reporter", "target"], how="left_semi")
        reshared = pairs.join(
            shared.withColumnRenamed("sharer", "reporter"),
            on=["reporter", "target"],
            how="left_semi",
        )
        via = (
            pairs.join(follows, on="reporter")
            .join(shared, on=["sharer", "target"], how="left_semi")
            .select("reporter", "target")
        )
        exposed = seen.union(reshared).union(via).distinct()
        columns = _numpy(
            exposed.select((F.col("reporter") * n + F.col("target")).alias("key")), "key"
        )
        found = columns["key"].astype(np.int64)
        if len(found) == 0:
            return np.zeros(len(keys), dtype=bool)
        slot = np.minimum(np.searchsorted(found, keys), len(found) - 1)
        result: BoolArray = found[slot] == keys
        return result

    def duplicate_clusters(
        self, data: Data, rows: IntArray, wave: IntArray, n_waves: int
    ) -> tuple[FloatArray, FloatArray]:
        texted, largest = np.zeros(n_waves), np.zeros(n_waves)
        if len(rows) == 0:
            return texted, largest
        members = self._frame({"line": self.lines[rows], "wave": wave}, "line long, wave long")
        texts = members.join(self.reports.select("line", "text"), on="line")
        clusters = texts.groupBy(
            F.pmod(F.xxhash64("wave"), F.lit(_bins(self.spark)))
        ).applyInPandas(_wave_texts, "wave long, texted double, largest double")
        columns = _numpy(clusters, "wave")
        at = columns["wave"].astype(np.int64)
        texted[at] = columns["texted"]
        largest[at] = columns["largest"]
        return texted, largest

    def event_ids(self, data: Data, rows: IntArray) -> list[str]:
        if len(rows) == 0:
            return []
        wanted = self._frame({"line": distinct(self.lines[rows])}, "line long")
        found = _numpy(wanted.join(self.reports.select("line", "event_id"), on="line"), "line")
        slot = np.searchsorted(found["line"].astype(np.int64), self.lines[rows])
        ids: list[str] = found["event_id"][slot].tolist()
        return ids


def _dense(unit: np.ndarray, local: np.ndarray) -> IntArray:
    """Waves numbered in the order of (unit, wave within the unit's bin)."""
    _, number = np.unique(
        np.stack([unit.astype(np.int64), local.astype(np.int64)]), axis=1, return_inverse=True
    )
    dense: IntArray = number.ravel().astype(np.int64)
    return dense


def _positions(frame: DataFrame) -> DataFrame:
    """``frame`` with ``position``: its place in (target, time, line) order, counted
    without bringing it into one partition (offsets of the sorted partitions)."""
    ordered = (
        frame.orderBy("target", "time", "line")
        .select(
            "*", F.spark_partition_id().alias("part"), F.monotonically_increasing_id().alias("id")
        )
        .localCheckpoint()
    )
    sizes = {row["part"]: row["count"] for row in ordered.groupBy("part").count().collect()}
    offsets, total = [], 0
    for part in range(max(sizes, default=-1) + 1):
        offsets.append(total)
        total += sizes.get(part, 0)
    start = F.element_at(F.array(*[F.lit(o) for o in offsets or [0]]), F.col("part") + 1)
    within = F.col("id") - F.shiftleft(F.col("part").cast("long"), 33)
    return ordered.select(*frame.columns, (start + within).alias("position"))
