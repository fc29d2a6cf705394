"""The shape every background thread of the service shares: do a round of work, pause,
again, until stopped; an error in a round is logged and the next round comes anyway.
The analysis runner, the fast path and retention are such workers
(``app/services/background.py`` starts them). The webhook dispatcher is not: it runs an
event loop of concurrent deliveries, and a round that waited for its slowest receiver
is exactly what it must never do."""

from __future__ import annotations

import logging
import threading
import time


class PeriodicWorker:
    """A daemon thread calling ``work`` in rounds, the first as soon as it starts;
    ``pause`` says how long to wait after a round that took ``spent`` seconds, and
    ``wake`` cuts a pause short. A failed round is logged on ``log`` as ``failure``."""

    name = "worker"
    log = logging.getLogger("mrd.background")
    failure = "background work failed"

    def __init__(self) -> None:
        self._stop = threading.Event()
        self._wake = threading.Event()
        self._thread = threading.Thread(target=self._loop, name=f"mrd-{self.name}", daemon=True)

    def work(self) -> None:
        raise NotImplementedError

    def pause(self, spent: float) -> float:
        raise NotImplementedError

    def start(self) -> None:
        self._thread.start()

    def wake(self) -> None:
        self._wake.set()

    def stop(self) -> None:
        """Finish the round under way, then end."""
        self._stop.set()
        self._wake.set()
        self._thread.join(timeout=30)

    @property
    def stopping(self) -> bool:
        return self._stop.is_set()

    def _loop(self) -> None:
        while not self._stop.is_set():
            began = time.monotonic()
            try:
                self.work()
            except Exception:
                self.log.exception(self.failure)
            self._wake.wait(self.pause(time.monotonic() - began))
            self._wake.clear()
