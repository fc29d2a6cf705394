"""``mrd evaluate``: perfect answers score perfectly, random ones at chance, and each
metric is right on small hand-made cases."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import orjson
import pytest
from fastapi import FastAPI

from app.datasets import read_entities, read_truth, write_entities
from app.tools.evaluate import (
    bystander_metrics,
    enforcement_metrics,
    evaluate,
    expected_calibration_error,
    recreation_metrics,
    reporter_metrics,
    roc_auc,
    tier_calibration,
    tier_metrics,
    wave_metrics,
)
from app.tools.simulate import SCENARIOS, generate
from app.tools.simulate.output import write_world
from tests.conftest import LiveServer


@pytest.fixture(scope="module")
def dataset(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("eval")
    write_world(generate(SCENARIOS["baseline"], seed=5, scale=0.3), folder)
    return folder


def perfect_predictions(folder: Path) -> dict[str, Any]:
    truth = read_truth(folder)
    waves = [
        {
            "wave_id": w["wave_id"],
            "target_id": w["target_id"],
            "start": w["start"],
            "end": w["end"],
            "score": 1.0 if w["orchestrated"] else 0.0,
            "label": "orchestrated" if w["orchestrated"] else "organic",
            "report_count": w["report_count"],
            "orchestrators": [{"account_id": a, "score": 1.0} for a in w["orchestrators"]],
        }
        for w in truth["waves"]
    ]
    coordinated = set(truth["orchestrated_reporters"])
    recreated = {p["account_id"]: p["recreated_from"] for p in truth["recreated"]}
    victims = {w["target_id"] for w in truth["waves"] if w["orchestrated"]}
    accounts = [
        {
            "account_id": a["account_id"],
            "tier": truth["tiers"].get(a["account_id"]),
            "reporter_risk": 1.0 if a["account_id"] in coordinated else 0.0,
            "target_risk": 1.0 if a["account_id"] in victims else 0.0,
            "recreated_from": recreated.get(a["account_id"]),
        }
        for a in read_entities(folder, "accounts")
    ]
    return {"waves": waves, "groups": [], "accounts": accounts}


def test_perfect_predictions_score_perfectly(dataset: Path) -> None:
    metrics = evaluate(dataset, read_truth(dataset), perfect_predictions(dataset))
    assert metrics["orchestrated_wave_recall"] == 1.0
    assert metrics["organic_false_alarm_rate"] == 0.0
    assert metrics["wave_precision"] == 1.0
    assert metrics["wrongful_suspension_rate"] == 0.0
    assert metrics["shielded_violator_rate"] == 0.0
    assert metrics["reporter_roc_auc"] == 1.0
    assert metrics["reporter_precision_at_0_5"] == metrics["reporter_recall_at_0_5"] == 1.0
    assert metrics["reporter_calibration_error"] == 0.0
    assert metrics["tier_macro_f1"] == 1.0
    assert metrics["attribution_top1_accuracy"] == 1.0
    assert metrics["recreation_precision"] == metrics["recreation_recall"] == 1.0


def test_random_predictions_score_at_chance(dataset: Path) -> None:
    rng = np.random.default_rng(0)
    predictions = perfect_predictions(dataset)
    for wave in predictions["waves"]:
        wave["score"] = float(rng.random())
        wave["label"] = "orchestrated" if wave["score"] >= 0.5 else "organic"
    for account in predictions["accounts"]:
        account["reporter_risk"] = float(rng.random())
        account["tier"] = [None, 1, 2, 3][int(rng.integers(4))]
    metrics = evaluate(dataset, read_truth(dataset), predictions)
    assert metrics["reporter_roc_auc"] == pytest.approx(0.5, abs=0.05)
    assert metrics["orchestrated_wave_recall"] == pytest.approx(0.5, abs=0.25)
    assert metrics["organic_false_alarm_rate"] == pytest.approx(0.5, abs=0.25)
    assert metrics["reporter_calibration_error"] > 0.2
    assert metrics["tier_macro_f1"] < 0.35


def test_nothing_predicted(dataset: Path) -> None:
    metrics = evaluate(dataset, read_truth(dataset), {"waves": [], "accounts": []})
    assert metrics["orchestrated_wave_recall"] == 0.0
    assert metrics["wave_precision"] is None
    assert metrics["wrongful_suspension_rate"] == 1.0
    assert metrics["shielded_violator_rate"] == 0.0
    assert metrics["reporter_roc_auc"] == 0.5


def truth_wave(
    target: str, start: str, end: str, orchestrated: bool, **extra: Any
) -> dict[str, Any]:
    return {
        "target_id": target,
        "start": start,
        "end": end,
        "orchestrated": orchestrated,
        "orchestrators": extra.get("orchestrators", []),
        "directive_post_id": extra.get("directive"),
    }


def test_wave_matching_within_an_hour() -> None:
    truth = [
        truth_wave(
            "v1",
            "2017-07-02T10:00:00Z",
            "2017-07-02T12:00:00Z",
            True,
            orchestrators=["h1"],
            directive="p1",
        ),
        truth_wave(
            "v2",
            "2017-07-03T10:00:00Z",
            "2017-07-03T11:00:00Z",
            True,
            orchestrators=["h2"],
            directive="p2",
        ),
        truth_wave(
            "v3", "2017-07-04T10:00:00Z", "2017-07-04T11:00:00Z", True, orchestrators=["h3"]
        ),
        truth_wave("x1", "2017-07-05T10:00:00Z", "2017-07-05T11:00:00Z", False),
        truth_wave("x2", "2017-07-06T10:00:00Z", "2017-07-06T11:00:00Z", False),
    ]
    predicted = [
        # Starts 50 minutes after v1's end: within the hour, a match; right leader.
        {
            "target_id": "v1",
            "start": "2017-07-02T12:50:00Z",
            "end": "2017-07-02T13:00:00Z",
            "score": 0.9,
            "orchestrators": [{"account_id": "h1", "score": 0.8}],
        },
        # Same target as v2 but two hours later: no match.
        {
            "target_id": "v2",
            "start": "2017-07-03T13:01:00Z",
            "end": "2017-07-03T14:00:00Z",
            "score": 0.9,
            "orchestrators": [{"account_id": "h2", "score": 0.8}],
        },
        # v3 found, no directive there, so attribution does not count it.
        {
            "target_id": "v3",
            "start": 1499162400,
            "end": 1499166000,
            "score": 0.7,
            "orchestrators": [],
        },
        # A false alarm on an organic wave, and an organic label that is no alarm.
        {
            "target_id": "x1",
            "start": "2017-07-05T10:30:00Z",
            "end": "2017-07-05T10:40:00Z",
            "score": 0.6,
        },
        {
            "target_id": "x2",
            "start": "2017-07-06T10:30:00Z",
            "end": "2017-07-06T10:40:00Z",
            "score": 0.2,
        },
    ]
    metrics = wave_metrics(truth, predicted)
    assert metrics["orchestrated_wave_recall"] == pytest.approx(2 / 3)
    assert metrics["organic_false_alarm_rate"] == pytest.approx(1 / 2)
    assert metrics["wave_precision"] == pytest.approx(2 / 4)
    assert metrics["attribution_top1_accuracy"] == pytest.approx(1 / 2)


def test_enforcement_rates() -> None:
    truth = {
        "waves": [
            {"target_id": "v1", "orchestrated": True},
            {"target_id": "v2", "orchestrated": True},
            {"target_id": "x1", "orchestrated": False},
            {"target_id": "x2", "orchestrated": False},
            {"target_id": "both", "orchestrated": True},
            {"target_id": "both", "orchestrated": False},
        ]
    }
    actions = {"v1": "hold_for_review", "v2": "proceed", "x1": "hold_for_review", "both": "proceed"}
    metrics = enforcement_metrics(truth, actions)
    assert metrics["wrongful_suspension_rate"] == 0.5
    assert metrics["shielded_violator_rate"] == 0.5
    assert metrics["victims_checked"] == metrics["violators_checked"] == 2


def test_reporter_metrics_by_hand() -> None:
    truth = {"orchestrated_reporters": ["a", "b"]}
    risk = {"a": 0.9, "b": 0.4, "c": 0.6, "d": 0.1}
    metrics = reporter_metrics(["a", "b", "c", "d", "e"], truth, risk)
    # Positives a (0.9), b (0.4); negatives c (0.6), d (0.1), e (0): 5 of 6 pairs ordered right.
    assert metrics["reporter_roc_auc"] == pytest.approx(5 / 6)
    assert metrics["reporter_precision_at_0_5"] == 0.5
    assert metrics["reporter_recall_at_0_5"] == 0.5


def test_roc_auc_and_calibration_by_hand() -> None:
    labels = np.array([True, False, True, False])
    assert roc_auc(labels, np.array([0.5, 0.5, 0.5, 0.5])) == 0.5
    assert roc_auc(np.array([True, True]), np.array([0.1, 0.2])) is None
    # Bin 0.8-0.9 holds 0.8 twice with one positive: gap 0.3; bin 0.2-0.3 holds 0.2 twice
    # with no positive: gap 0.2. Weighted: (2*0.3 + 2*0.2) / 4.
    ece = expected_calibration_error(np.array([1.0, 0.0, 0.0, 0.0]), np.array([0.8, 0.8, 0.2, 0.2]))
    assert ece == pytest.approx(0.25)


def test_tier_metrics_by_hand() -> None:
    truth = {"tiers": {"t1": 1, "t2": 2, "s1": 3, "s2": 3}}
    predicted = {"t1": 1, "t2": 3, "s1": 3, "s2": 3, "o1": None, "o2": 2}
    metrics = tier_metrics(["o1", "o2"], truth, predicted)
    assert metrics["tier_1_precision"] == 1.0 and metrics["tier_1_recall"] == 1.0
    assert metrics["tier_2_precision"] == 0.0 and metrics["tier_2_recall"] == 0.0
    assert metrics["tier_3_precision"] == pytest.approx(2 / 3) and metrics["tier_3_recall"] == 1.0
    assert metrics["tier_none_precision"] == 1.0 and metrics["tier_none_recall"] == 0.5
    f1_three, f1_none = 0.8, 2 / 3
    assert metrics["tier_macro_f1"] == pytest.approx((1.0 + 0.0 + f1_three + f1_none) / 4)


def test_recreation_metrics_by_hand() -> None:
    truth = {
        "recreated": [
            {"account_id": "n1", "recreated_from": "o1"},
            {"account_id": "n2", "recreated_from": "o2"},
        ]
    }
    metrics = recreation_metrics(truth, {"n1": "o1", "n2": "o9", "n3": "o3"})
    assert metrics["recreation_precision"] == pytest.approx(1 / 3)
    assert metrics["recreation_recall"] == pytest.approx(1 / 2)


def test_lookalikes_linked_and_bystander_counts_by_hand() -> None:
    truth = {
        "recreated": [{"account_id": "n1", "recreated_from": "o1"}],
        "lookalikes": ["look1", "look2"],
        "bystanders": [{"account_id": "reporter", "kind": "journalist"}],
        "victims": ["victim"],
        "wrongly_labelled": ["labelled"],
        "tiers": {"s1": 3},
    }
    linked = recreation_metrics(truth, {"n1": "o1", "look1": "o7"})
    assert linked["lookalikes_linked"] == 1 and linked["recreation_precision"] == 0.5
    # Only confidence >= 0.5 counts; worlds without a group give None.
    members = {"reporter": 0.7, "victim": 0.2, "look2": 0.5, "s1": 0.9}
    assert bystander_metrics(truth, members) == {
        "bystanders_in_tiers": 1,
        "victims_in_tiers": 0,
        "lookalikes_in_tiers": 1,
        "wrongly_labelled_in_tiers": 0,
    }
    assert bystander_metrics({"tiers": {}}, members)["bystanders_in_tiers"] is None


def test_tier_calibration_by_hand() -> None:
    truth = {"tiers": {"a": 3, "b": 3, "c": 2}}
    # Right tiers said at 0.95 and 0.95, a wrong one (c is tier 2) at 0.95: one bin,
    # 2/3 right against 0.95 said.
    members = {"a": (3, 0.95), "b": (3, 0.95), "c": (3, 0.95)}
    error = tier_calibration(truth, members)["tier_calibration_error"]
    assert error == pytest.approx(0.95 - 2 / 3)
    assert tier_calibration(truth, {})["tier_calibration_error"] is None


@pytest.fixture
def stub_service(dataset: Path) -> Iterator[LiveServer]:
    """A service that answers the contract's read endpoints with the perfect answers."""
    perfect = perfect_predictions(dataset)
    risks = {a["account_id"]: a for a in perfect["accounts"]}
    victims = {w["target_id"] for w in perfect["waves"] if w["label"] == "orchestrated"}
    app = FastAPI()

    @app.get("/v1/waves")
    def waves(limit: int = 100, cursor: str | None = None) -> dict[str, Any]:
        start = int(cursor or 0)
        page = perfect["waves"][start : start + limit]
        more = start + limit < len(perfect["waves"])
        return {"items": page, "next_cursor": str(start + limit) if more else None}

    @app.post("/v1/accounts/risk")
    def risk(body: dict[str, list[str]]) -> dict[str, Any]:
        unknown = {"tier": None, "reporter_risk": 0.0, "target_risk": 0.0, "recreated_from": None}
        return {"items": [risks.get(a, {"account_id": a, **unknown}) for a in body["account_ids"]]}

    @app.post("/v1/enforcement/check")
    def check(body: dict[str, str]) -> dict[str, Any]:
        hold = body["target_id"] in victims
        return {
            "action": "hold_for_review" if hold else "proceed",
            "target_risk": float(hold),
            "reasons": [],
        }

    with LiveServer(app) as server:
        yield server


def test_evaluate_a_service_and_a_file_alike(
    dataset: Path, stub_service: LiveServer, tmp_path: Path
) -> None:
    predictions = tmp_path / "predictions.json"
    predictions.write_bytes(orjson.dumps(perfect_predictions(dataset)))
    env = os.environ | {"MRD_API_KEY": "unused"}
    results = {}
    for name, source in (
        ("file", ["--predictions", str(predictions)]),
        ("url", ["--url", stub_service.url]),
    ):
        out = tmp_path / f"{name}.json"
        done = subprocess.run(
            [sys.executable, "-m", "app", "evaluate", str(dataset), *source, "--out", str(out)],
            capture_output=True,
            text=True,
            timeout=300,
            env=env,
        )
        assert done.returncode == 0, done.stderr
        assert "orchestrated_wave_recall" in done.stdout
        results[name] = orjson.loads(out.read_bytes())
    assert results["file"] == results["url"]
    assert results["url"]["reporter_roc_auc"] == 1.0


def test_evaluate_needs_exactly_one_source(dataset: Path) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "app", "evaluate", str(dataset)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 2
    assert "exactly one" in done.stdout + done.stderr


def test_truth_is_required(tmp_path: Path) -> None:
    write_entities(tmp_path, "reports", [])
    with pytest.raises(FileNotFoundError):
        read_truth(tmp_path)
