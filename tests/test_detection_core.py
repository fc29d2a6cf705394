"""The coordinated core's parts: who is in it, which waves it lifts, which small strikes
repeat as a cell."""

from __future__ import annotations

import itertools

import numpy as np

from app.detection.core import outside_score, overlapping_core_score, overlaps, repeating_cells
from app.detection.data import build_data
from app.detection.engine import LocalEngine
from app.detection.scores import core_evidence, exposed_in_flagged, flagged_exposure
from app.detection.waves import Waves, assemble_waves

T0 = 1_500_000_000


def test_outside_score_reads_the_best_wave_on_another_target() -> None:
    # Account 0 joined waves on targets 10 (0.9) and 11 (0.4); account 1 only on 10.
    reporter = np.array([0, 0, 1, 0, 1])
    target = np.array([10, 11, 10, 12, 12])
    waves = Waves(
        target=np.array([10, 11]),
        start=np.zeros(2),
        end=np.ones(2),
        report_wave=np.array([0, 1, 0, -1, -1]),
        content=np.full(2, -1),
    )
    score = outside_score(reporter, target, waves, np.array([0.9, 0.4]), 20)
    # On 10 account 0 reads its wave on 11; account 1 has nothing elsewhere; on 12
    # (no wave) both read their best.
    assert score.tolist() == [0.4, 0.9, 0.0, 0.9, 0.9]


def test_a_wave_takes_the_score_of_the_core_wave_inside_it() -> None:
    waves = Waves(
        target=np.array([1, 1, 2]),
        start=np.array([0.0, 100.0, 0.0]),
        end=np.array([50.0, 200.0, 50.0]),
        report_wave=np.empty(0, dtype=np.int64),
        content=np.full(3, -1),
    )
    core = Waves(
        target=np.array([1, 2]),
        start=np.array([120.0, 60.0]),
        end=np.array([130.0, 70.0]),
        report_wave=np.empty(0, dtype=np.int64),
        content=np.full(2, -1),
    )
    lifted = overlapping_core_score(len(waves), overlaps(waves, core), np.array([0.8, 0.9]))
    assert lifted.tolist() == [0.0, 0.8, 0.0]  # target 2's core wave is after its wave


def test_a_content_wave_around_the_accounts_wave_does_not_hide_the_core_inside_it() -> None:
    """A target's content-item waves may overlap its own: the core wave inside both
    lifts both."""
    waves = Waves(
        target=np.array([1, 1]),
        start=np.array([1_000.0, 0.0]),
        end=np.array([1_100.0, 5_000.0]),
        report_wave=np.empty(0, dtype=np.int64),
        content=np.array([-1, 7]),
    )
    core = Waves(
        target=np.array([1]),
        start=np.array([1_050.0]),
        end=np.array([2_100.0]),
        report_wave=np.empty(0, dtype=np.int64),
        content=np.full(1, -1),
    )
    assert overlapping_core_score(2, overlaps(waves, core), np.array([0.9])).tolist() == [0.9, 0.9]


def test_only_a_newer_orchestrated_core_wave_moves_the_core_window() -> None:
    """A campaign's core wave holds its target thirty days looked back from it. Forty
    days later, one of its accounts reporting alone (scored 0, target 5) or a weak
    strike of several (0.2, target 6) does not push it out: weak strikes cost a brigade
    nothing, so they cannot release a hold. A newer orchestrated core wave moves the
    window (target 7), and so does any later wave where none was orchestrated (8)."""
    day = 86_400.0
    core = Waves(
        target=np.repeat([5, 6, 7, 8], 2),
        start=np.tile([0.0, 40 * day], 4),
        end=np.tile([3600.0, 40 * day + 600], 4),
        report_wave=np.empty(0, dtype=np.int64),
        content=np.full(8, -1),
    )
    scores = np.array([0.9, 0.0, 0.9, 0.2, 0.9, 0.6, 0.4, 0.2])
    evidence = core_evidence(10, core, scores)
    assert evidence[5:9].tolist() == [0.9, 0.9, 0.6, 0.2] and evidence[:5].sum() == 0


def test_a_cell_striking_again_and_again_repeats_and_a_one_off_trio_does_not() -> None:
    """Six accounts strike twelve targets, three at a time; three others meet once.
    Two thousand other accounts report too (the population the null draws from)."""
    rng = np.random.default_rng(3)
    reports = []
    strikes = list(itertools.combinations(range(6), 3))
    for s, trio in enumerate(strikes[:12]):
        for k, member in enumerate(trio):
            reports.append(
                {
                    "event_id": f"c{s}-{k}",
                    "reporter_id": f"cell{member}",
                    "target_id": f"victim{s}",
                    "reason": "hate",
                    "created_at": T0 + s * 86_400 + k * 600,
                }
            )
    for k in range(3):
        reports.append(
            {
                "event_id": f"once-{k}",
                "reporter_id": f"passer{k}",
                "target_id": "somebody",
                "reason": "spam",
                "created_at": T0 + 20 * 86_400 + k * 600,
            }
        )
    for i in range(2000):
        reports.append(
            {
                "event_id": f"bg{i}",
                "reporter_id": f"user{i}",
                "target_id": f"popular{rng.integers(50)}",
                "reason": "spam",
                "created_at": T0 + int(rng.integers(30 * 86_400)),
            }
        )
    data = build_data(reports=reports)
    report_wave = np.full(len(data.reports), -1)
    for i, event in enumerate(data.reports.event_id):
        if event.startswith("c"):
            report_wave[i] = int(event[1:].split("-")[0])
        elif event.startswith("once"):
            report_wave[i] = 12
    core = assemble_waves(data.reports, report_wave, 13)
    repeats = repeating_cells(data.reports.reporter, core, np.arange(13))
    assert repeats[:12].all() and not repeats[12]


def test_a_victims_follower_in_a_flagged_wave_had_seen_its_content() -> None:
    """A follower who reports the victim while a brigade strikes it was reached by the
    victim's own posts; the brigade's accounts were not. Reports outside flagged waves
    do not count; an account in two flagged waves, having seen one target, scores half."""
    spec = [
        ("fan", "victim", 0),
        ("brigade1", "victim", 1),
        ("brigade2", "victim", 2),
        ("fan", "victim2", 3),
        ("brigade1", "victim2", 4),
        ("fan", "someone", 5),
        ("brigade2", "someone", 6),
    ]
    reports = [
        {
            "event_id": f"r{i}",
            "reporter_id": who,
            "target_id": target,
            "reason": "spam",
            "created_at": T0 + i * 60,
        }
        for who, target, i in spec
    ]
    edges = [
        {"src": "fan", "dst": "victim", "kind": "follow", "created_at": T0 - 86_400},
        {"src": "fan", "dst": "someone", "kind": "follow", "created_at": T0 - 86_400},
    ]
    data = build_data(reports=reports, edges=edges)
    index = {a: i for i, a in enumerate(data.accounts.ids)}
    wave_of = {"r0": 0, "r1": 0, "r2": 0, "r3": 1, "r4": 1}
    wave = np.array([wave_of.get(e, -1) for e in data.reports.event_id])
    waves = assemble_waves(data.reports, wave, 2)
    flagged = flagged_exposure(
        data, exposed_in_flagged(data, waves, np.array([0.9, 0.8]), LocalEngine())
    )
    unflagged = flagged_exposure(
        data, exposed_in_flagged(data, waves, np.array([0.4, 0.3]), LocalEngine())
    )
    assert flagged[index["fan"]] == 0.5
    assert flagged[index["brigade1"]] == flagged[index["brigade2"]] == 0.0
    assert not unflagged.any()
