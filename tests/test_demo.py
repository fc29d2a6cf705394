"""``mrd demo`` from the command line: up with analysed data in under a minute."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import time
from pathlib import Path

import httpx

from app.demo import DEFAULT_TWEETS
from tests.conftest import free_port

REPO = Path(__file__).resolve().parent.parent


def test_demo_serves_analysed_data_within_a_minute(tmp_path: Path) -> None:
    port = free_port()
    began = time.monotonic()
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "app",
            "demo",
            "--port",
            str(port),
            "--database",
            str(tmp_path / "d.db"),
        ],
        cwd=REPO,
        env={k: v for k, v in os.environ.items() if not k.startswith("MRD_")},
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    try:
        assert process.stdout is not None
        printed = ""
        while "API key:" not in printed:
            line = process.stdout.readline()
            assert line, f"demo exited early: {printed}"
            printed += line
        key = re.search(r"API key:\s+(\S+)", printed)
        assert key is not None
        assert (
            f"http://127.0.0.1:{port}/ui/" in printed and f"http://127.0.0.1:{port}/docs" in printed
        )
        headers = {"X-API-Key": key.group(1)}
        waves: list[dict[str, object]] = []
        while time.monotonic() - began < 60 and not waves:
            try:
                answer = httpx.get(f"http://127.0.0.1:{port}/v1/waves", headers=headers, timeout=5)
                waves = answer.json()["items"] if answer.status_code == 200 else []
            except httpx.TransportError:
                time.sleep(0.2)
        ready = time.monotonic() - began
        assert waves, "no analysed waves within 60 s"
        assert ready < 60, ready
        assert any(w["label"] == "orchestrated" for w in waves)
        network = httpx.get(
            f"http://127.0.0.1:{port}/v1/network/tiers", headers=headers, timeout=5
        ).json()
        assert network["tiers"]["1"]["count"] > 0
        if DEFAULT_TWEETS.is_file():
            assert "real tweets" in printed
            # Authors of the real data set are in the stored accounts.
            real = httpx.get(
                f"http://127.0.0.1:{port}/v1/accounts/ramiallolah", headers=headers, timeout=5
            )
            assert real.status_code == 200, real.text
    finally:
        process.terminate()
        process.wait(timeout=30)
