"""Abuse limits: per-key token buckets answer 429 with Retry-After; other keys and
other processes' buckets are unaffected."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from starlette.requests import Request

from app.api.deps import client_network
from app.services import limits
from app.services.limits import RateLimiter, retry_after
from tests.conftest import served_app


def test_bucket_allows_the_burst_then_the_rate() -> None:
    limiter = RateLimiter(rate=10.0, burst=3.0)
    assert [limiter.take("k", now=0.0) for _ in range(3)] == [0.0, 0.0, 0.0]
    wait = limiter.take("k", now=0.0)
    assert wait == pytest.approx(0.1)
    assert limiter.take("other", now=0.0) == 0.0  # buckets are per key
    assert limiter.take("k", now=0.1) == 0.0  # one token back after 1/rate
    assert retry_after(0.1) == "1" and retry_after(2.3) == "3"


def test_peeking_takes_nothing_and_refilled_buckets_are_forgotten(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    limiter = RateLimiter(rate=1.0, burst=2.0)
    assert limiter.waiting("new", now=0.0) == 0.0
    assert limiter.take("a", now=0.0) == 0.0 and limiter.take("a", now=0.0) == 0.0
    assert limiter.waiting("a", now=0.0) == pytest.approx(1.0)
    assert limiter.waiting("a", now=0.0) == pytest.approx(1.0)  # peeking took nothing
    monkeypatch.setattr(limits, "MAX_BUCKETS", 3)
    for caller in ("b", "c"):
        limiter.take(caller, now=0.0)
    # Callers that change address each time: once full again, their buckets go.
    limiter.take("d", now=10.0)
    assert limiter.waiting("a", now=10.0) == 0.0
    assert len(limiter._buckets) == 1


@pytest.mark.parametrize(
    ("host", "network"),
    [
        ("203.0.113.7", "203.0.113.7"),
        ("2001:db8:1:2:aaaa::1", "2001:db8:1:2::/64"),
        ("2001:db8:1:2:bbbb::9", "2001:db8:1:2::/64"),
        ("::ffff:203.0.113.7", "::ffff:203.0.113.7"),
    ],
)
def test_wrong_keys_count_per_ipv4_address_or_ipv6_64(host: str, network: str) -> None:
    request = Request({"type": "http", "client": (host, 5000), "headers": []})
    assert client_network(request) == network


def test_zero_rate_means_no_limit() -> None:
    limiter = RateLimiter(rate=0.0, burst=1.0)
    assert all(limiter.take("k", now=0.0) == 0.0 for _ in range(1000))


@pytest.fixture
def limited(tmp_path: Path) -> Iterator[httpx.Client]:
    with served_app(
        f"sqlite:///{tmp_path / 'limits.db'}",
        "limits-admin-key-0123456789",
        rate_limit_per_s=2.0,
        rate_limit_burst=5.0,
    ) as client:
        yield client


def test_a_key_over_its_rate_gets_429_with_retry_after(limited: httpx.Client) -> None:
    answers = [limited.get("/v1/waves") for _ in range(8)]
    statuses = [a.status_code for a in answers]
    assert statuses[:5] == [200] * 5 and 429 in statuses[5:]
    refused = next(a for a in answers if a.status_code == 429)
    assert refused.headers["content-type"] == "application/problem+json"
    assert int(refused.headers["Retry-After"]) >= 1
    assert refused.json()["type"] == "urn:mrd:problem:rate-limited"
    # Operations endpoints carry no key and no limit.
    assert all(limited.get("/healthz").status_code == 200 for _ in range(10))
