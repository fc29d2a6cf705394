"""How long ``mrd demo`` takes from the command to a service answering with analysed
data (issue #6: under 60 s from a fresh clone). Prints one line per trial and the median.

    python -m bench.demo [--trials 3]
"""

from __future__ import annotations

import argparse
import re
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def one_trial() -> tuple[float, float, int]:
    """(seconds to the printed key, seconds to the first analysed wave, waves)."""
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
            printed_at = time.monotonic() - began
            key = re.search(r"API key:\s+(\S+)", printed)
            assert key is not None
            while True:
                try:
                    answer = httpx.get(
                        f"http://127.0.0.1:{port}/v1/waves",
                        params={"limit": 1000},
                        headers={"X-API-Key": key.group(1)},
                        timeout=5,
                    )
                    if answer.status_code == 200 and answer.json()["items"]:
                        return printed_at, time.monotonic() - began, len(answer.json()["items"])
                except httpx.TransportError:
                    pass
                time.sleep(0.05)
        finally:
            process.terminate()
            process.wait(timeout=30)


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
