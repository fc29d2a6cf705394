"""Several worker processes: /metrics from any worker counts the requests of all."""

from __future__ import annotations

import os
import re
import signal
import time
from pathlib import Path

import httpx
from sqlalchemy import create_engine, select

from app.db.models import Lease
from app.supervisor import describe_exit
from tests.conftest import SERVICE_KEY, free_port, running_service, wait_for_run


def test_metrics_add_up_across_workers(tmp_path: Path) -> None:
    port = free_port()
    url = f"sqlite:///{tmp_path / 'workers.db'}"
    with running_service(url, port, "--workers", "2"):
        for i in range(30):
            report = {
                "event_id": f"w{i}",
                "reporter_id": "r",
                "target_id": "t",
                "reason": "spam",
                "created_at": 1501322400,
            }
            # A new connection each time, so the requests spread over the workers.
            with httpx.Client(
                base_url=f"http://127.0.0.1:{port}", headers={"X-API-Key": SERVICE_KEY}
            ) as http:
                assert http.post("/v1/reports", json={"reports": [report]}).json()["accepted"] == 1
        pattern = re.compile(r'mrd_ingest_items_total\{kind="reports",outcome="accepted"\} (\S+)')
        for _ in range(6):
            body = httpx.get(f"http://127.0.0.1:{port}/metrics").text
            match = pattern.search(body)
            assert match is not None
            assert float(match.group(1)) == 30


def _children(pid: int) -> list[int]:
    return [
        int(child)
        for task in Path(f"/proc/{pid}/task").iterdir()
        for child in (task / "children").read_text().split()
    ]


def _command(pid: int) -> str:
    return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()


def test_background_work_runs_in_its_own_process_and_dies_with_the_service(
    tmp_path: Path,
) -> None:
    """The HTTP workers answer requests only: runs and the fast path's lease belong to
    the background process `mrd serve` starts. A SIGKILL of the service takes its
    children down with it: no analysis left running behind a dead service, no
    orphaned worker still answering on its port."""
    port = free_port()
    url = f"sqlite:///{tmp_path / 'background.db'}"
    with running_service(url, port, "--workers", "2") as server:
        children = _children(server.pid)
        background = [pid for pid in children if " worker " in _command(pid)]
        assert len(background) == 1
        http_workers = [pid for pid in children if "spawn_main" in _command(pid)]
        assert len(http_workers) == 2
        with httpx.Client(
            base_url=f"http://127.0.0.1:{port}", headers={"X-API-Key": SERVICE_KEY}
        ) as http:
            report = {
                "event_id": "b1",
                "reporter_id": "r",
                "target_id": "t",
                "reason": "spam",
                "created_at": 1501322400,
            }
            http.post("/v1/reports", json={"reports": [report]}).raise_for_status()
            wait_for_run(http, http.post("/v1/analysis/runs").json()["run_id"])
        engine = create_engine(url)
        with engine.connect() as conn:
            holders = {
                name: holder for name, holder in conn.execute(select(Lease.name, Lease.holder))
            }
        engine.dispose()
        # The fast path holds its lease while it lives; the runner released its own.
        assert int(holders["live"].split(":")[1]) == background[0]
        assert "analysis" not in holders
        server.kill()
        server.wait()
        deadline = time.monotonic() + 5
        while any(map(_alive, children)) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert not any(map(_alive, children))


def _alive(pid: int) -> bool:
    status = Path(f"/proc/{pid}/status")
    try:
        return "zombie" not in status.read_text()
    except FileNotFoundError:
        return False


def children(pid: int) -> dict[int, str]:
    """Live child processes of ``pid`` and their command lines (from /proc)."""
    found = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
            command = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode()
        except OSError:
            continue
        fields = stat.rsplit(")", 1)[1].split()
        if int(fields[1]) == pid and fields[0] != "Z":
            found[int(entry.name)] = command
    return found


def zombies(pid: int) -> list[int]:
    """Children of ``pid`` that ended and were never reaped."""
    found = []
    for entry in Path("/proc").iterdir():
        try:
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
        except (OSError, IndexError):
            continue
        if int(fields[1]) == pid and fields[0] == "Z":
            found.append(int(entry.name))
    return found


def test_a_killed_background_process_is_restarted_and_reported(tmp_path: Path) -> None:
    """kill -9 of `mrd worker`: `mrd serve` logs it, reaps it, answers /readyz 503
    `degraded` until a new one runs, counts the restart in /metrics, and runs queued
    afterwards are done."""
    port = free_port()
    url = f"sqlite:///{tmp_path / 'supervised.db'}"
    log = tmp_path / "serve.log"
    base = f"http://127.0.0.1:{port}"
    with running_service(url, port, log=log) as server:
        [worker] = [p for p, cmd in children(server.pid).items() if "app worker" in cmd]
        os.kill(worker, signal.SIGKILL)
        answers = []
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            answer = httpx.get(f"{base}/readyz")
            answers.append(answer.status_code)
            if answer.status_code == 503:
                assert answer.json()["type"].endswith("degraded"), answer.text
                assert "SIGKILL" in answer.json()["detail"]
            if 503 in answers and answer.status_code == 200:
                break
            time.sleep(0.05)
        assert 503 in answers and answers[-1] == 200, answers
        assert zombies(server.pid) == []
        [again] = [p for p, cmd in children(server.pid).items() if "app worker" in cmd]
        assert again != worker
        metrics = httpx.get(f"{base}/metrics").text
        assert "mrd_background_restarts_total 1.0" in metrics
        assert "mrd_background_up 1.0" in metrics
        with httpx.Client(base_url=base, headers={"X-API-Key": SERVICE_KEY}) as http:
            run = http.post("/v1/analysis/runs").json()
            assert wait_for_run(http, run["run_id"])["status"] == "succeeded"
    text = log.read_text()
    assert "The background process" in text and "SIGKILL" in text


def test_a_revoked_key_is_refused_by_every_worker_at_once(tmp_path: Path) -> None:
    port = free_port()
    url = f"sqlite:///{tmp_path / 'revoked.db'}"
    base = f"http://127.0.0.1:{port}"

    def status_with(secret: str) -> int:
        # A new connection each time, so the requests spread over the workers.
        return httpx.get(f"{base}/v1/waves", headers={"X-API-Key": secret}).status_code

    with (
        running_service(url, port, "--workers", "2"),
        httpx.Client(base_url=base, headers={"X-API-Key": SERVICE_KEY}) as admin,
    ):
        created = admin.post("/v1/keys", json={"name": "soon revoked", "scopes": ["read"]})
        key = created.json()
        # Both workers verify and remember the key.
        assert {status_with(key["key"]) for _ in range(30)} == {200}
        assert admin.delete(f"/v1/keys/{key['key_id']}").status_code == 204
        # (Fewer tries than the wrong-key burst, so every refusal is a 401, not a 429.)
        assert {status_with(key["key"]) for _ in range(15)} == {401}


def test_every_way_a_process_ends_can_be_told() -> None:
    assert describe_exit(3) == "exit code 3"
    assert describe_exit(-signal.SIGKILL) == "killed by SIGKILL"
    assert describe_exit(-40) == "killed by signal 40"  # real-time signals have no name
