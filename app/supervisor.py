"""``mrd serve`` keeps its background process (``mrd worker``) alive.

The background process runs the analyses, the fast path and webhook deliveries. If it
dies (killed, out of memory, a crash), queued runs would wait for ever while the API
kept answering as if all were well. The supervisor reaps it, logs why it ended,
starts it again after a pause that doubles while it keeps dying (1 s up to a minute,
back to 1 s once it has stayed up for a minute), and keeps its state in a small JSON
file that every HTTP worker reads: ``/readyz`` answers 503 while the background
process is down, and ``/metrics`` counts its restarts.
"""

from __future__ import annotations

import logging
import os
import signal
import subprocess
import threading
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import orjson

log = logging.getLogger("mrd.supervisor")

# Set by `mrd serve` for its HTTP workers: where the supervisor keeps its state.
STATE_VARIABLE = "MRD_BACKGROUND_STATE"
FIRST_PAUSE_S = 1.0
LONGEST_PAUSE_S = 60.0
# A process that stayed up this long died of something new: the pause starts over.
STABLE_S = 60.0


@dataclass(frozen=True)
class BackgroundState:
    """What the HTTP workers know of the background process."""

    up: bool
    restarts: int
    changed_at: float
    last_exit: str | None = None


def read_state() -> BackgroundState | None:
    """The supervisor's latest word, or None when no supervisor runs (a lone service,
    or ``MRD_BACKGROUND_WORKER=0`` with ``mrd worker`` elsewhere)."""
    path = os.environ.get(STATE_VARIABLE)
    if not path:
        return None
    try:
        return BackgroundState(**orjson.loads(Path(path).read_bytes()))
    except (OSError, ValueError, TypeError):
        return None


def describe_exit(code: int) -> str:
    if code >= 0:
        return f"exit code {code}"
    try:
        return f"killed by {signal.Signals(-code).name}"
    except ValueError:  # a real-time signal has no name
        return f"killed by signal {-code}"


class Supervisor:
    """Starts ``command`` and restarts it whenever it ends, until ``stop``."""

    def __init__(self, command: list[str], state_path: Path) -> None:
        self.command = command
        self.state_path = state_path
        self.restarts = 0
        self._lock = threading.Lock()
        self._stopping = threading.Event()
        self._process: subprocess.Popen[bytes] | None = None
        self._thread = threading.Thread(target=self._watch, name="mrd-supervisor", daemon=True)

    def start(self) -> None:
        self._spawn()
        self._thread.start()

    def _spawn(self) -> None:
        with self._lock:
            if self._stopping.is_set():
                return
            self._process = subprocess.Popen(self.command)
        self._write(BackgroundState(True, self.restarts, time.time()))

    def _write(self, state: BackgroundState) -> None:
        try:
            partial = self.state_path.with_suffix(".tmp")
            partial.write_bytes(orjson.dumps(asdict(state)))
            partial.replace(self.state_path)  # readers never see half a file
        except OSError:
            log.exception("could not record the background process's state")

    def _watch(self) -> None:
        """Keep the process alive until ``stop``; an error on the way (a start that
        failed) is logged and tried again after the pause, never the end of watching."""
        pause = FIRST_PAUSE_S
        while not self._stopping.is_set():
            try:
                pause = self._outlive(pause)
            except Exception:
                log.exception("could not start the background process; next try in %.0f s", pause)
                self._write(BackgroundState(False, self.restarts, time.time(), "not started"))
                if self._stopping.wait(pause):
                    return
                pause = min(pause * 2, LONGEST_PAUSE_S)

    def _outlive(self, pause: float) -> float:
        """Start the process if none runs, wait for its end, log it and pause; returns
        the next pause (doubled, or back to the first after a long life)."""
        if self._process is None:
            self._spawn()
            if self._process is None:  # stopping
                return pause
        began = time.monotonic()
        code = self._process.wait()  # reaps it: no zombie is left behind
        if self._stopping.is_set():
            return pause
        if time.monotonic() - began >= STABLE_S:
            pause = FIRST_PAUSE_S
        self.restarts += 1
        ended = describe_exit(code)
        log.error(
            "The background process (pid %d) ended: %s; restarting it in %.0f s (restart %d).",
            self._process.pid,
            ended,
            pause,
            self.restarts,
        )
        self._write(BackgroundState(False, self.restarts, time.time(), ended))
        with self._lock:
            self._process = None
        self._stopping.wait(pause)
        return min(pause * 2, LONGEST_PAUSE_S)

    def stop(self, grace_s: float) -> None:
        """Stop watching, then ask the process to finish (killed after ``grace_s``)."""
        with self._lock:
            self._stopping.set()
            process = self._process
        self.state_path.unlink(missing_ok=True)
        if process is None or process.poll() is not None:
            return
        process.terminate()
        try:
            process.wait(timeout=grace_s)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
