"""``mrd demo`` from the command line: up with analysed data in under a minute."""

from __future__ import annotations

import time

import httpx

from app.tools.demo import DEFAULT_TWEETS
from bench.demo import first_waves, started_demo


def test_demo_serves_analysed_data_within_a_minute() -> None:
    with started_demo() as demo:
        assert f"{demo.url}/ui/" in demo.printed and f"{demo.url}/docs" in demo.printed
        waves = first_waves(demo, within_s=60)
        ready = time.monotonic() - demo.began
        assert waves, "no analysed waves within 60 s"
        assert ready < 60, ready
        assert any(w["label"] == "orchestrated" for w in waves)
        headers = {"X-API-Key": demo.key}
        network = httpx.get(f"{demo.url}/v1/network/tiers", headers=headers, timeout=5).json()
        assert network["tiers"]["1"]["count"] > 0
        if DEFAULT_TWEETS.is_file():
            assert "real tweets" in demo.printed
            # An author of the real data set is among the stored accounts.
            real = httpx.get(f"{demo.url}/v1/accounts/ramiallolah", headers=headers, timeout=5)
            assert real.status_code == 200, real.text
