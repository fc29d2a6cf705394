"""A ``mrd serve`` process with a simulated data set loaded, for the HTTP benchmarks."""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx

KEY = "bench-service-key"


def send(client: httpx.Client, kind: str, rows: list[dict[str, Any]], size: int = 5000) -> None:
    for start in range(0, len(rows), size):
        answer = client.post(f"/v1/{kind}", json={kind: rows[start : start + size]})
        answer.raise_for_status()


def send_world(client: httpx.Client, world: Any, skip_reports: set[str] = frozenset()) -> None:
    """Every entity of a simulated world, reports whose event id is in ``skip_reports``
    left out."""
    for kind in ("accounts", "edges", "posts", "decisions"):
        send(client, kind, getattr(world, kind))
    send(client, "reports", [r for r in world.reports if r["event_id"] not in skip_reports])


def full_run(client: httpx.Client, read_everything: bool = False) -> dict[str, Any]:
    """Queue an analysis run (asked to read everything stored when ``read_everything``)
    and wait until it is over."""
    params = {"full": "true"} if read_everything else {}
    run_id = client.post("/v1/analysis/runs", params=params).json()["run_id"]
    while (run := client.get(f"/v1/analysis/runs/{run_id}").json())["status"] in (
        "queued",
        "running",
    ):
        time.sleep(0.2)
    if run["status"] != "succeeded":
        raise SystemExit(f"analysis failed: {run}")
    return dict(run)


@contextmanager
def scratch_database(database_url: str | None) -> Iterator[str]:
    """``database_url``, or a SQLite file in a folder removed afterwards."""
    if database_url:
        yield database_url
        return
    with tempfile.TemporaryDirectory() as tmp:
        yield f"sqlite:///{Path(tmp) / 'bench.db'}"


@contextmanager
def service(
    database_url: str, port: int, workers: int = 1, settings: dict[str, str] | None = None
) -> Iterator[httpx.Client]:
    """A service on ``database_url`` (the scheduler effectively off unless ``settings``,
    extra ``MRD_*`` variables, say otherwise) and an admin client; the server's process
    id is the client's ``server_pid``."""
    env = os.environ | {
        "MRD_DATABASE_URL": database_url,
        "MRD_BOOTSTRAP_API_KEY": KEY,
        "MRD_ANALYSIS_INTERVAL_S": "86400",
        "MRD_LOG_LEVEL": os.environ.get("MRD_LOG_LEVEL", "WARNING"),
        **(settings or {}),
    }
    command = [sys.executable, "-m", "app", "serve", "--port", str(port)]
    server = subprocess.Popen([*command, "--workers", str(workers)], env=env)
    try:
        with httpx.Client(
            base_url=f"http://127.0.0.1:{port}", headers={"X-API-Key": KEY}, timeout=60
        ) as client:
            _wait_until_ready(client)
            client.server_pid = server.pid  # type: ignore[attr-defined]
            yield client
    finally:
        server.terminate()
        server.wait(timeout=30)


def _wait_until_ready(client: httpx.Client) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            if client.get("/readyz").status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.2)
    raise SystemExit("the service did not become ready")


def family(pid: int) -> list[int]:
    """A process and all its descendants (``mrd serve``, its HTTP workers and its
    background process)."""
    found, stack = [], [pid]
    while stack:
        current = stack.pop()
        try:
            tasks = list(Path(f"/proc/{current}/task").iterdir())
        except FileNotFoundError:
            continue  # the process has exited
        found.append(current)
        for task in tasks:
            try:  # a thread may end while we look (the JVM's often do)
                stack += [int(c) for c in (task / "children").read_text().split()]
            except (FileNotFoundError, ProcessLookupError):
                continue
    return found


def role_of(pid: int) -> str:
    """What a process of the service's tree is, for memory figures."""
    command = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
    if Path(f"/proc/{pid}/comm").read_text().strip() == "java":
        return "Spark JVM"
    if b"pyspark.daemon" in command:
        return "Spark Python workers"
    if command[-2:] == [b"worker", b""]:
        return "background process"
    return "serving processes"


def peak_mb(pid: int) -> float:
    """A live process's peak resident memory so far (VmHWM), in MB."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def peaks_by_role(pid: int) -> dict[str, float]:
    """The largest peak resident memory (MB) so far of each role among a live process
    and its descendants (see ``role_of``)."""
    peaks: dict[str, float] = {}
    for member in family(pid):
        try:
            role = role_of(member)
            peaks[role] = max(peaks.get(role, 0.0), peak_mb(member))
        except FileNotFoundError:
            continue
    return peaks
