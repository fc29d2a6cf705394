"""The whole pipeline: groups and model units, API shapes, and quality floors on two
simulated families (a regression in detection fails CI)."""

from __future__ import annotations

import subprocess
import sys
from dataclasses import replace
from pathlib import Path

import numpy as np
import orjson
import pytest

from app.datasets import read_entities, read_truth
from app.detection.data import build_data
from app.detection.groups import find_groups
from app.detection.model import LogisticModel, fit_model
from app.detection.params import DetectionParams
from app.detection.pipeline import analyze
from app.detection.scores import FLAG, load_models
from app.detection.shapes import shape
from app.detection.signals import SIGNALS
from app.detection.waves import WaveParams, find_waves
from app.tools.evaluate import evaluate
from app.tools.simulate import SCENARIOS, generate
from app.tools.simulate.output import write_world

T0 = 1_500_000_000
DAY = 86_400


def test_a_crew_striking_three_targets_is_one_lockstep_group() -> None:
    crew = [f"crew{i}" for i in range(6)]
    reports = []

    def wave(target: str, at: int, reporters: list[str]) -> None:
        for i, who in enumerate(reporters):
            reports.append(
                {
                    "event_id": f"{target}-{who}",
                    "reporter_id": who,
                    "target_id": target,
                    "reason": "hate",
                    "created_at": at + i * 60,
                }
            )

    for v in range(3):  # the crew, joined by a few different strangers each time
        wave(f"victim{v}", T0 + v * 3 * DAY, crew + [f"passer{v}-{i}" for i in range(3)])
    for k in range(6):  # ordinary waves elsewhere, by other people
        wave(f"violator{k}", T0 + k * DAY + 40_000, [f"user{k}-{i}" for i in range(15)])
    # Crew members also report on their own: camouflage changes nothing.
    wave("celebrity", T0 + 20 * DAY, crew[:2] + [f"fan{i}" for i in range(12)])
    data = build_data(reports=reports)
    waves = find_waves(data.reports, len(data.accounts), data.now)
    assert len(waves) == 10
    groups = find_groups(data.reports.reporter, waves.report_wave, waves, len(data.accounts))
    assert len(groups) == 1
    assert sorted(data.accounts.ids[m] for m in groups.members[0]) == crew
    assert groups.cohesion[0] == pytest.approx((1 + 1 + 1 + 2 / 6) / 4)


def test_model_fit_orders_probabilities_and_survives_a_round_trip(tmp_path: Path) -> None:
    rng = np.random.default_rng(0)
    x = rng.normal(size=(600, 3))
    y = (x[:, 0] + 0.5 * x[:, 1] + rng.normal(scale=0.5, size=600) > 0).astype(float)
    model = fit_model(("a", "b", "c"), x[:450], y[:450], x[450:], y[450:])
    p = model.probability(x)
    assert p[x[:, 0] > 1.5].mean() > 0.8 and p[x[:, 0] < -1.5].mean() < 0.3
    along_a = model.probability(np.array([[-2.0, 0, 0], [0, 0, 0], [2.0, 0, 0]]))
    assert along_a[0] < along_a[1] < along_a[2]
    up = model.weights[:3]
    assert up[0] > up[1] > abs(up[2])
    model.save(tmp_path / "m.json")
    assert np.allclose(LogisticModel.load(tmp_path / "m.json").probability(x), p)


def test_mimicry_keeps_a_campaign_that_drops_signals_in_sight() -> None:
    """Positives always show all six signals in training. One with half of them looking
    ordinary must still score high, one with only two left far higher than a model
    fitted without mimicry gives it, and an ordinary row low."""
    rng = np.random.default_rng(1)
    x = np.vstack([rng.normal(3.0, 0.5, size=(300, 6)), rng.normal(0.0, 0.5, size=(300, 6))])
    y = np.repeat([1.0, 0.0], 300)
    order = rng.permutation(600)
    x, y = x[order], y[order]
    names = tuple(f"s{i}" for i in range(6))
    rows = np.array([[3.0, 3, 3, 0, 0, 0], [3.0, 3, 0, 0, 0, 0], [0.0, 0, 0, 0, 0, 0]])
    half, two, ordinary = fit_model(names, x[:400], y[:400], x[400:], y[400:]).probability(rows)
    plain = fit_model(names, x[:400], y[:400], x[400:], y[400:], mimicry=(0.0, 0.0))
    assert half > 0.5 > 0.05 > ordinary
    assert two > 10 * plain.probability(rows)[1]


def test_a_score_shown_as_one_half_is_orchestrated_and_held() -> None:
    """A wave model answering 0.49996 publishes 0.5: the label and the target's hold
    follow the published value, not the hidden digits."""
    crew = [f"crew{i}" for i in range(8)]
    reports = [
        {
            "event_id": f"r{i}",
            "reporter_id": who,
            "target_id": "analyst",
            "reason": "terrorism",
            "created_at": T0 + i * 30,
        }
        for i, who in enumerate(crew)
    ]
    shipped = load_models()
    just_under = LogisticModel(
        SIGNALS,
        centre=(0.0,) * len(SIGNALS),
        mean=(0.0,) * (2 * len(SIGNALS)),
        scale=(1.0,) * (2 * len(SIGNALS)),
        weights=(0.0,) * (2 * len(SIGNALS)),
        intercept=float(np.log(0.49996 / 0.50004)),
    )
    document = shape(analyze(build_data(reports=reports), models=shipped._replace(wave=just_under)))
    [wave] = document.waves
    assert wave.score == 0.5 and wave.label == "orchestrated"
    [victim] = [a for a in document.accounts if a.account_id == "analyst"]
    assert victim.target_risk == 0.5 >= FLAG  # the enforcement check holds at FLAG


@pytest.fixture(scope="module")
def baseline_run(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, object]]:
    folder = tmp_path_factory.mktemp("baseline")
    write_world(generate(SCENARIOS["baseline"], seed=401, scale=1.0), folder)
    done = subprocess.run(
        [sys.executable, "-m", "app", "analyze", str(folder), "--out", str(folder / "out.json")],
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert done.returncode == 0, done.stderr
    return folder, orjson.loads((folder / "out.json").read_bytes())


def test_analyze_writes_the_api_shapes(baseline_run: tuple[Path, dict[str, object]]) -> None:
    _, document = baseline_run
    waves, groups, accounts = document["waves"], document["groups"], document["accounts"]  # type: ignore[index]
    assert waves and groups and accounts
    wave = waves[0]
    assert {
        "wave_id",
        "target_id",
        "start",
        "end",
        "report_count",
        "reporter_count",
        "score",
        "label",
        "status",
        "signals",
        "orchestrators",
        "group_ids",
        "top_reasons",
    } <= set(wave)
    assert all((w["label"] == "orchestrated") == (w["score"] >= 0.5) for w in waves)
    assert all(0 <= w["score"] <= 1 and w["start"].endswith("Z") for w in waves)
    assert len({w["wave_id"] for w in waves}) == len(waves)
    group = groups[0]
    assert {
        "group_id",
        "size",
        "members",
        "cohesion",
        "wave_ids",
        "target_ids",
        "tier_counts",
    } <= set(group)
    assert group["size"] == len(group["members"]) >= 3
    account = accounts[0]
    assert {
        "account_id",
        "tier",
        "tier_label",
        "tier_confidence",
        "reporter_risk",
        "target_risk",
        "group_ids",
        "reliability",
        "recreated_from",
        "explanations",
        "updated_at",
    } <= set(account)
    assert set(account["reliability"]) == {"reports", "upheld", "unfounded", "score"}


@pytest.mark.parametrize("family", ["baseline", "camouflage"])
def test_quality_floors(
    family: str, baseline_run: tuple[Path, dict[str, object]], tmp_path: Path
) -> None:
    if family == "baseline":
        folder, document = baseline_run
    else:
        folder = tmp_path
        write_world(generate(SCENARIOS[family], seed=402, scale=1.0), folder)
        data = build_data(
            **{
                k: list(read_entities(folder, k))
                for k in ("accounts", "edges", "posts", "reports", "decisions")
            }
        )
        document = shape(analyze(data)).as_json()
    metrics = evaluate(folder, read_truth(folder), document)
    assert metrics["orchestrated_wave_recall"] >= 0.93
    assert metrics["organic_false_alarm_rate"] <= 0.04
    assert metrics["wave_precision"] >= 0.93
    assert metrics["wrongful_suspension_rate"] <= 0.05
    assert metrics["shielded_violator_rate"] <= 0.04
    assert metrics["reporter_roc_auc"] >= 0.96
    assert metrics["reporter_calibration_error"] <= 0.07
    assert metrics["attribution_top1_accuracy"] >= 0.8


def test_waves_ordered_elsewhere_name_an_inferred_hub(tmp_path: Path) -> None:
    """Off-platform orders leave no directive: the shared hub is given, marked inferred;
    with a directive, the directing account comes first and is not inferred."""
    for family, inferred in (("offplatform", True), ("baseline", False)):
        world = generate(SCENARIOS[family], seed=403, scale=0.5)
        data = build_data(world.accounts, world.edges, world.posts, world.reports, world.decisions)
        flagged = [w for w in shape(analyze(data)).waves if w.label == "orchestrated"]
        assert flagged and all(w.orchestrators for w in flagged)
        assert all(w.orchestrators[0].inferred is inferred for w in flagged)
        hubs = {hub["account_id"] for hub in world.truth["hubs"]}
        named_hub = [w.orchestrators[0].account_id in hubs for w in flagged]
        assert sum(named_hub) >= 0.8 * len(flagged)


def test_reports_too_few_for_any_wave_are_analysed() -> None:
    reports = [
        {
            "event_id": "e1",
            "reporter_id": "a",
            "target_id": "t",
            "created_at": T0,
            "reason": "spam",
        },
        {
            "event_id": "e2",
            "reporter_id": "b",
            "target_id": "u",
            "created_at": T0 + DAY,
            "reason": "hate",
        },
    ]
    analysis = analyze(build_data(reports=reports))
    document = shape(analysis)
    assert document.waves == []
    assert {a.account_id: a.reporter_risk for a in document.accounts}["a"] < 0.05


def test_every_setting_is_passed_in_and_recorded() -> None:
    """``DetectionParams`` reaches the stages: a stricter burst test finds fewer waves, a
    crowd floor above the crew's size flags none; the analysis keeps what it was given,
    and the record names each model by a digest of its coefficients."""
    world = generate(SCENARIOS["baseline"], seed=409, scale=0.3)
    data = build_data(world.accounts, world.edges, world.posts, world.reports, world.decisions)
    default = analyze(data)
    assert default.params == DetectionParams()
    strict = DetectionParams(waves=WaveParams(min_reports=40))
    assert len(analyze(data, params=strict).waves) < len(default.waves)
    no_crowd = analyze(data, params=DetectionParams(min_crowd=10_000))
    assert no_crowd.params.min_crowd == 10_000 and not (no_crowd.wave_score > 0).any()
    record = default.params.record(default.models)
    assert record["settings"]["network"]["seed_risk"] == 0.8
    digests = record["models"]
    assert len(set(digests.values())) == 4 and digests == strict.record(load_models())["models"]
    shifted = replace(load_models().wave, intercept=load_models().wave.intercept + 1.0)
    assert shifted.digest() != digests["wave"]


def test_the_collector_is_paused_while_any_thread_pauses_it_and_then_as_before() -> None:
    import gc
    import threading

    from app.detection.pipeline import collector_paused

    assert gc.isenabled()
    inside, release = threading.Event(), threading.Event()

    def other() -> None:
        with collector_paused():
            inside.set()
            release.wait(5)

    thread = threading.Thread(target=other)
    with collector_paused():
        thread.start()
        inside.wait(5)
        assert not gc.isenabled()
    assert not gc.isenabled()  # the other thread still pauses it
    release.set()
    thread.join(5)
    assert gc.isenabled()
    gc.disable()
    try:
        with collector_paused():
            pass
        assert not gc.isenabled()  # off before, off after
    finally:
        gc.enable()
