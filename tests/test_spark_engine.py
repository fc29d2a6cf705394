"""The Spark engine gives what the numpy engine gives: the same columns from the same
files, the same waves, groups, tiers and scores (counts exact, scores within 1e-9),
on several scenario families, on awkward hand-written records, with a huge target
spread over many chunks, and in the service reading from either database."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from app.datasets import load_data, write_entities
from app.detection.pipeline import Analysis, analyze
from app.detection.shapes import shape
from app.tools.simulate import SCENARIOS, generate
from app.tools.simulate.output import write_world

pytest.importorskip("pyspark")

from app.detection import spark as spark_engine


@pytest.fixture(scope="module")
def spark() -> Iterator[Any]:
    session = spark_engine.spark_session("local[2]", "2g")
    yield session
    session.stop()
    spark_engine.spark_session.cache_clear()


def assert_same_columns(spark_side: Any, local_side: Any, path: str = "data") -> None:
    """Every column of ``Data`` equal (event ids and texts stay in Spark)."""
    if dataclasses.is_dataclass(spark_side):
        for field in dataclasses.fields(spark_side):
            assert_same_columns(
                getattr(spark_side, field.name),
                getattr(local_side, field.name),
                f"{path}.{field.name}",
            )
    elif isinstance(spark_side, np.ndarray):
        assert spark_side.dtype == local_side.dtype, path
        np.testing.assert_array_equal(spark_side, local_side, err_msg=path)
    elif path.endswith((".event_id", ".text")):
        assert spark_side == []
    else:
        assert spark_side == local_side, path


def assert_same_analysis(spark_result: Analysis, local_result: Analysis) -> None:
    np.testing.assert_array_equal(spark_result.waves.report_wave, local_result.waves.report_wave)
    np.testing.assert_array_equal(spark_result.waves.target, local_result.waves.target)
    np.testing.assert_array_equal(spark_result.repeat_partners, local_result.repeat_partners)
    assert spark_result.wave_first_event == local_result.wave_first_event
    np.testing.assert_allclose(spark_result.signals.values, local_result.signals.values, atol=1e-9)
    np.testing.assert_allclose(spark_result.wave_score, local_result.wave_score, atol=1e-9)
    np.testing.assert_allclose(
        spark_result.flagged_exposure, local_result.flagged_exposure, atol=1e-9
    )
    np.testing.assert_allclose(spark_result.reporter_risk, local_result.reporter_risk, atol=1e-9)
    np.testing.assert_allclose(spark_result.core_risk, local_result.core_risk, atol=1e-9)
    np.testing.assert_allclose(spark_result.target_risk, local_result.target_risk, atol=1e-9)
    assert shape(spark_result) == shape(local_result)


def both_engines(spark: Any, folder: Path, **engine: Any) -> tuple[Analysis, Analysis]:
    data, on_spark = spark_engine.load(spark, folder)
    local_data = load_data(folder)
    assert_same_columns(data, local_data)
    for name, value in engine.items():
        setattr(on_spark, name, value)
    return analyze(data, engine=on_spark), analyze(local_data)


@pytest.mark.parametrize(
    ("scenario", "seed"), [("baseline", 11), ("huge_organic", 12), ("small_cells", 13)]
)
def test_spark_and_numpy_find_the_same(
    spark: Any, tmp_path: Path, scenario: str, seed: int
) -> None:
    write_world(generate(SCENARIOS[scenario], seed, 0.12), tmp_path)
    on_spark, local = both_engines(spark, tmp_path)
    assert len(local.waves) > 5 and local.groups.members, "the scenario must have something to find"
    assert_same_analysis(on_spark, local)


def test_a_huge_target_is_spread_over_chunks(spark: Any, tmp_path: Path) -> None:
    """Co-reporting pairs cut into chunks of 300 reports (the scenario's largest target
    has thousands): the pairs at every cut are counted once, as in one piece."""
    world = generate(SCENARIOS["huge_organic"], 14, 0.12)
    write_world(world, tmp_path)
    largest = np.bincount(load_data(tmp_path).reports.target).max()
    assert largest > 3 * 300
    on_spark, local = both_engines(spark, tmp_path, chunk_reports=300)
    assert_same_analysis(on_spark, local)


def test_awkward_records_are_read_as_the_local_loader_reads_them(
    spark: Any, tmp_path: Path
) -> None:
    """Later records of a key win, the first of a repeated event id is kept, self-reports
    are dropped, posts only referred to exist without author, epoch numbers and RFC 3339
    texts both read as times, hashtags are folded, blank lines and absent files skipped."""
    write_entities(
        tmp_path,
        "accounts",
        [
            {"account_id": "a", "created_at": "2020-01-01T00:00:00Z", "status": "active"},
            {"account_id": "b", "created_at": 1577836800.5, "labels": ["extremist"]},
            {
                "account_id": "a",
                "handle": "later",
                "status": "suspended",
                "status_changed_at": "2020-03-01T10:00:00+02:00",
                "followers_count": 7,
            },
        ],
    )
    write_entities(
        tmp_path,
        "edges",
        [
            {"src": "a", "dst": "b", "kind": "follow"},
            {"src": "c", "dst": "a", "kind": "retweet", "weight": 0},
            {"src": "a", "dst": "b", "kind": "follow", "weight": 3, "created_at": 1.6e9},
        ],
    )
    write_entities(
        tmp_path,
        "posts",
        [
            {"post_id": "p2", "author_id": "d", "reshare_of": "p9", "mentions": ["e", "a"]},
            {"post_id": "p1", "author_id": "b", "hashtags": ["#Dawla", "dawla", "#X"]},
            {"post_id": "p2", "author_id": "d", "reply_to": "p1", "mentions": ["f"]},
        ],
    )
    reports = [
        {
            "event_id": f"r{i}",
            "reporter_id": f"u{i % 7}",
            "target_id": "a" if i % 3 else "b",
            "reason": ["spam", "violence"][i % 2],
            "created_at": 1.6e9 + 60 * i if i % 2 else f"2020-09-13T12:{i % 60:02d}:00.25Z",
            "content_id": "c1" if i % 4 == 0 else None,
            "text": "احذفوا الحساب" if i % 5 == 0 else "",
        }
        for i in range(40)
    ]
    reports += [
        {**reports[3], "reporter_id": "u9"},  # a retry with other content: the first wins
        {**reports[4], "event_id": "self", "reporter_id": "a", "target_id": "a"},
    ]
    write_entities(tmp_path, "reports", reports)
    with (tmp_path / "reports.ndjson").open("ab") as out:
        out.write(b"\n   \n")
    on_spark, local = both_engines(spark, tmp_path)
    assert "self" not in local.data.reports.event_id
    assert_same_analysis(on_spark, local)


def test_the_service_runs_on_spark_from_either_database(
    client: Any, db: Any, spark: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from app.services.analysis import run_pipeline
    from tests.conftest import send

    world = generate(SCENARIOS["baseline"], 15, 0.08)
    for kind in ("accounts", "edges", "posts", "reports", "decisions"):
        send(client, kind, getattr(world, kind))
    exports = tmp_path / "exports"  # MRD_SPARK_EXPORT_DIR
    exports.mkdir()
    read_from: list[Path] = []
    spark_load = spark_engine.load

    def load(session: Any, folder: Path) -> Any:
        read_from.append(folder)
        return spark_load(session, folder)

    monkeypatch.setattr(spark_engine, "load", load)
    # the module's session
    _, on_spark = run_pipeline(db, engine="spark", spark_master="local[2]", export_dir=str(exports))
    assert [folder.parent for folder in read_from] == [exports]
    assert list(exports.iterdir()) == []  # the run's export is removed after it
    _, local = run_pipeline(db, engine="local")
    assert len(local.waves) > 0
    assert_same_analysis(on_spark, local)


def test_mrd_analyze_writes_the_same_results_on_either_engine(spark: Any, tmp_path: Path) -> None:
    import orjson
    from typer.testing import CliRunner

    from app.cli import cli

    folder = tmp_path / "set"
    write_world(generate(SCENARIOS["baseline"], 16, 0.08), folder)
    runner = CliRunner()
    for engine in ("local", "spark"):
        answer = runner.invoke(
            cli, ["analyze", str(folder), "--engine", engine, "--out", str(tmp_path / engine)]
        )
        assert answer.exit_code == 0, answer.output
    local = orjson.loads((tmp_path / "local").read_bytes())
    assert local["waves"]
    assert orjson.loads((tmp_path / "spark").read_bytes()) == local
