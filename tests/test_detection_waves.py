"""Stage 1, waves: bursts against each target's own baseline, on hand-made reports."""

from __future__ import annotations

from typing import Any

import numpy as np

from app.detection.data import build_data
from app.detection.waves import WaveParams, daily_baseline, find_waves

T0 = 1_500_000_000.0
HOUR = 3600.0
DAY = 86_400.0


def reports(spec: list[tuple[str, str, float]]) -> list[dict[str, Any]]:
    return [
        {
            "event_id": f"e{i}",
            "reporter_id": r,
            "target_id": t,
            "reason": "spam",
            "created_at": T0 + at,
        }
        for i, (r, t, at) in enumerate(spec)
    ]


def test_a_burst_on_a_quiet_account_is_a_wave() -> None:
    burst = [(f"r{i}", "victim", 10 * DAY + i * 60.0) for i in range(30)]
    noise = [(f"n{i}", f"other{i}", i * DAY) for i in range(20)]
    data = build_data(reports=reports(burst + noise), now=T0 + 20 * DAY)
    waves = find_waves(data.reports, len(data.accounts), data.now)
    assert len(waves) == 1
    victim = data.accounts.ids.index("victim")
    assert waves.target[0] == victim
    assert waves.start[0] == T0 + 10 * DAY and waves.end[0] == T0 + 10 * DAY + 29 * 60
    members = np.flatnonzero(waves.report_wave == 0)
    assert set(data.reports.target[members].tolist()) == {victim}
    assert len(members) == 30
    assert not waves.active(data.now, 6 * HOUR)[0]


def test_steady_reports_of_a_popular_account_are_no_wave() -> None:
    # Twelve reports a day, every day, spread evenly: that is this account's normal.
    steady = [(f"r{i}", "celebrity", i * 2 * HOUR) for i in range(12 * 28)]
    data = build_data(reports=reports(steady), now=T0 + 28 * DAY)
    assert len(find_waves(data.reports, len(data.accounts), data.now)) == 0
    baseline = daily_baseline(data.reports.target, data.reports.time, len(data.accounts), 28)
    assert baseline[data.accounts.ids.index("celebrity")] == 12


def test_a_wave_on_a_popular_account_stands_out_of_its_baseline() -> None:
    steady = [(f"r{i}", "celebrity", i * 2 * HOUR) for i in range(12 * 28)]
    burst = [(f"b{i}", "celebrity", 14 * DAY + i * 30.0) for i in range(40)]
    data = build_data(reports=reports(steady + burst), now=T0 + 28 * DAY)
    waves = find_waves(data.reports, len(data.accounts), data.now)
    assert len(waves) == 1
    assert T0 + 14 * DAY - 2 * HOUR <= waves.start[0] <= T0 + 14 * DAY
    assert waves.end[0] >= T0 + 14 * DAY + 39 * 30


def test_slow_waves_over_a_day_are_found_and_fast_bursts_apart_are_two() -> None:
    slow = [(f"s{i}", "slow", 3 * DAY + i * 1200.0) for i in range(90)]  # 30 hours
    twice = [(f"a{i}", "twice", 5 * DAY + i * 20.0) for i in range(10)]
    twice += [(f"b{i}", "twice", 8 * DAY + i * 20.0) for i in range(10)]
    data = build_data(reports=reports(slow + twice), now=T0 + 10 * DAY)
    waves = find_waves(data.reports, len(data.accounts), data.now)
    by_target = {
        data.accounts.ids[t]: int((waves.target == t).sum()) for t in set(waves.target.tolist())
    }
    assert by_target == {"slow": 1, "twice": 2}
    slow_wave = int(np.flatnonzero(waves.target == data.accounts.ids.index("slow"))[0])
    assert waves.end[slow_wave] - waves.start[slow_wave] > 24 * HOUR


def test_too_few_reports_make_no_wave_and_the_latest_wave_is_active() -> None:
    few = [(f"f{i}", "few", DAY + i * 10.0) for i in range(3)]
    recent = [(f"r{i}", "now", 9 * DAY + i * 10.0) for i in range(8)]
    data = build_data(reports=reports(few + recent), now=T0 + 9 * DAY + 2 * HOUR)
    waves = find_waves(data.reports, len(data.accounts), data.now, WaveParams(min_reports=4))
    assert [data.accounts.ids[t] for t in waves.target] == ["now"]
    assert waves.active(data.now, 6 * HOUR).tolist() == [True]


def test_no_reports_no_waves() -> None:
    data = build_data()
    waves = find_waves(data.reports, len(data.accounts), data.now)
    assert len(waves) == 0 and len(waves.report_wave) == 0


def test_a_burst_on_one_post_of_a_busy_account_is_a_content_wave() -> None:
    # 200 reports a day on many posts hide a dozen on one post in the account's
    # baseline; against the post's own baseline they are a burst.
    rows = [
        {
            "event_id": f"d{i}",
            "reporter_id": f"r{i}",
            "target_id": "busy",
            "reason": "spam",
            "created_at": T0 + i * DAY / 200,
            "content_id": f"post{i % 97}",
        }
        for i in range(200 * 28)
    ]
    rows += [
        {
            "event_id": f"b{i}",
            "reporter_id": f"b{i}",
            "target_id": "busy",
            "reason": "hate",
            "created_at": T0 + 14 * DAY + i * 1800.0,
            "content_id": "the-post",
        }
        for i in range(12)
    ]
    data = build_data(reports=rows, now=T0 + 28 * DAY)
    waves = find_waves(data.reports, len(data.accounts), data.now)
    assert len(waves) == 1
    assert data.contents[waves.content[0]] == "the-post"
    members = np.flatnonzero(waves.report_wave == 0)
    assert sorted(data.reports.event_id[i] for i in members) == sorted(f"b{i}" for i in range(12))
    without_contents = [{k: v for k, v in row.items() if k != "content_id"} for row in rows]
    plain = build_data(reports=without_contents, now=T0 + 28 * DAY)
    assert len(find_waves(plain.reports, len(plain.accounts), plain.now)) == 0
