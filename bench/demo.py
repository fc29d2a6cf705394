"""How long ``mrd demo`` takes from the command to a service answering with analysed
data (issue #6: under 60 s from a fresh clone). Prints one line per trial and the median.

    python -m bench.demo [--trials 3]
"""

from __future__ import annotations

import argparse
import os
import re
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class Demo:
    """A running ``mrd demo``: its URL, the key it printed, what it printed, when it began."""

    url: str
    key: str
    printed: str
    began: float


@contextmanager
def started_demo() -> Iterator[Demo]:
    """``mrd demo`` in a child process on a free port and a new database, up to the
    moment it printed its key; stopped on leaving."""
    port = free_port()
    with tempfile.TemporaryDirectory() as scratch:
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
                str(Path(scratch) / "demo.db"),
            ],
            cwd=Path(__file__).resolve().parent.parent,
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
                if not line:
                    raise RuntimeError(f"demo exited: {printed}")
                printed += line
            key = re.search(r"API key:\s+(\S+)", printed)
            assert key is not None
            yield Demo(f"http://127.0.0.1:{port}", key.group(1), printed, began)
        finally:
            process.terminate()
            process.wait(timeout=30)


def first_waves(demo: Demo, within_s: float = 60.0) -> list[dict[str, Any]]:
    """The first non-empty wave listing the demo serves (empty if none in time)."""
    while time.monotonic() - demo.began < within_s:
        try:
            answer = httpx.get(
                f"{demo.url}/v1/waves",
                params={"limit": 1000},
                headers={"X-API-Key": demo.key},
                timeout=5,
            )
            if answer.status_code == 200 and answer.json()["items"]:
                return list(answer.json()["items"])
        except httpx.TransportError:
            pass
        time.sleep(0.05)
    return []


def one_trial() -> tuple[float, float, int]:
    """(seconds to the printed key, seconds to the first analysed wave, waves)."""
    with started_demo() as demo:
        printed_at = time.monotonic() - demo.began
        waves = first_waves(demo)
        return printed_at, time.monotonic() - demo.began, len(waves)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--trials", type=int, default=3)
    args = parser.parse_args()
    ready = []
    for trial in range(1, args.trials + 1):
        printed, serving, waves = one_trial()
        ready.append(serving)
        print(f"trial {trial}: key printed {printed:.1f} s, serving {waves} waves {serving:.1f} s")
    print(f"median time to a service with analysed data: {statistics.median(ready):.1f} s")


if __name__ == "__main__":
    main()
