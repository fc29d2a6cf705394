"""The detector copes with data as platforms really send it: unknown accounts,
self-reports, one id used for different things, clocks that disagree, nothing at
all, and one enormous wave."""

from __future__ import annotations

import numpy as np

from app.detection.data import build_data
from app.detection.pipeline import analyze
from app.detection.shapes import shape

T0 = 1_500_000_000
HOUR = 3_600


def report(i: int, reporter: str, target: str, at: float, **extra: object) -> dict[str, object]:
    return {
        "event_id": f"e{i}",
        "reporter_id": reporter,
        "target_id": target,
        "reason": "terrorism",
        "created_at": at,
        **extra,
    }


def crowd(target: str, size: int, start: float, first: int = 0) -> list[dict[str, object]]:
    return [report(first + i, f"r{i}", target, start + i * 10) for i in range(size)]


def test_nothing_at_all() -> None:
    document = shape(analyze(build_data())).as_json()
    assert document["waves"] == [] and document["groups"] == [] and document["accounts"] == []
    assert document["network"]["tiers"]["1"]["count"] == 0


def test_reports_on_accounts_never_described() -> None:
    document = shape(analyze(build_data(reports=crowd("ghost", 60, T0)))).as_json()
    assert [w["target_id"] for w in document["waves"]] == ["ghost"]
    assert {a["account_id"] for a in document["accounts"]} >= {"ghost", "r0"}


def test_self_reports_do_not_make_a_wave_or_a_reporter_risk() -> None:
    selfish = [report(i, "narcissus", "narcissus", T0 + i * 5) for i in range(200)]
    document = shape(analyze(build_data(reports=selfish + crowd("other", 60, T0)))).as_json()
    risks = {a["account_id"]: a for a in document["accounts"]}
    assert [w["target_id"] for w in document["waves"]] == ["other"]
    assert "narcissus" not in risks or risks["narcissus"]["reporter_risk"] < 0.1


def test_one_id_naming_an_account_a_post_and_an_event() -> None:
    shared = "x1"
    accounts = [{"account_id": shared, "created_at": T0 - 400 * 24 * HOUR}]
    posts = [{"post_id": shared, "author_id": shared, "created_at": T0 - HOUR}]
    reports = [report(0, "r0", shared, T0, content_id=shared) | {"event_id": shared}]
    reports += crowd(shared, 40, T0 + 60, first=1)
    document = shape(analyze(build_data(accounts=accounts, posts=posts, reports=reports))).as_json()
    assert document["waves"][0]["target_id"] == shared


def test_clock_skew_reports_before_account_creation_and_slightly_ahead() -> None:
    # Reporters "created" after they reported (a skewed clock upstream), and a few
    # reports stamped minutes in the future relative to the rest.
    accounts = [{"account_id": f"r{i}", "created_at": T0 + 10 * HOUR} for i in range(50)]
    reports = [*crowd("victim", 50, T0), report(99, "late", "victim", T0 + 10 * HOUR + 300)]
    document = shape(analyze(build_data(accounts=accounts, reports=reports))).as_json()
    wave = document["waves"][0]
    assert 0.0 <= wave["signals"]["new_account_share"] <= 1.0
    assert np.isfinite(wave["score"]) and 0.0 <= wave["score"] <= 1.0


def test_a_single_wave_of_100000_reports_is_one_wave() -> None:
    rng = np.random.default_rng(7)
    times = T0 + np.sort(rng.uniform(0, 6 * HOUR, 100_000))
    reporters = rng.integers(0, 80_000, 100_000)
    reports = [
        report(i, f"r{who}", "victim", float(at))
        for i, (who, at) in enumerate(zip(reporters.tolist(), times.tolist(), strict=True))
    ]
    analysis = analyze(build_data(reports=reports))
    document = shape(analysis).as_json()
    assert [w["report_count"] for w in document["waves"]] == [100_000]
    assert document["waves"][0]["reporter_count"] == len(set(reporters.tolist()))


def test_one_account_flooding_a_target_is_not_an_orchestrated_wave() -> None:
    flood = [report(i, "spammer", "victim", T0 + i * 5) for i in range(200)]
    document = shape(analyze(build_data(reports=flood))).as_json()
    assert [(w["reporter_count"], w["label"]) for w in document["waves"]] == [(1, "organic")]
    risks = {a["account_id"]: a for a in document["accounts"]}
    assert risks["victim"]["target_risk"] < 0.5
