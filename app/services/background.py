"""The service's background work: analysis runs, the fast path, webhook deliveries.

Each is a thread that only works while its process holds the matching database lease,
so any number of processes may run them. ``mrd serve`` runs them in a process of its
own beside the HTTP workers: a full analysis or a busy fast path is Python work that
holds the interpreter lock for seconds, and in an HTTP worker it would stall every
enforcement check that worker answers. ``mrd worker`` runs them with no HTTP at all,
for deployments that scale API replicas apart from it; an app built directly by
``create_app`` runs them in its own threads. ``MRD_BACKGROUND_WORKER=0`` turns them off
in a process (an API replica whose background work runs elsewhere).
"""

from __future__ import annotations

import logging
import os
import signal
import threading
from functools import partial
from types import FrameType

from app.config import Settings
from app.db.engine import Database
from app.processes import die_with_serve
from app.services.analysis import AnalysisRunner, run_pipeline
from app.services.labels import Labeler
from app.services.live import LiveUpdater
from app.services.retention import RetentionKeeper
from app.services.webhooks import WebhookDispatcher

log = logging.getLogger("mrd.background")
# Below the HTTP workers when the machine is busy: answers first, analysis after.
NICENESS = 5
PARENT_CHECK_S = 0.5


class Background:
    """The analysis runner, the fast path, the webhook dispatcher and, with
    ``MRD_RETENTION_DAYS`` or on PostgreSQL (whose partitions it keeps ahead), the
    retention keeper of one process."""

    def __init__(self, db: Database, settings: Settings) -> None:
        self.runner = AnalysisRunner(
            db,
            settings.analysis_interval_s,
            settings.analysis_lease_s,
            partial(
                run_pipeline,
                engine=settings.engine,
                spark_master=settings.spark_master,
                export_dir=settings.spark_export_dir,
            ),
            Labeler.configured(settings),
        )
        self.live = LiveUpdater(db)
        self.dispatcher = WebhookDispatcher(db, settings)
        self.retention = (
            RetentionKeeper(db, settings.retention_days)
            if settings.retention_days or db.partitions is not None
            else None
        )

    def start(self) -> None:
        self.runner.start()
        self.live.start()
        self.dispatcher.start()
        if self.retention is not None:
            self.retention.start()

    def stop(self) -> None:
        if self.retention is not None:
            self.retention.stop()
        self.dispatcher.stop()
        self.live.stop()
        self.runner.stop()


def run_background(settings: Settings) -> None:
    """Run the background work until SIGTERM or SIGINT (or until the ``mrd serve`` that
    started it dies)."""
    parent_pid = die_with_serve()
    try:
        os.nice(NICENESS)
    except OSError:
        log.debug("could not lower the background process's priority")
    stopping = threading.Event()

    def request_stop(_signum: int, _frame: FrameType | None) -> None:
        stopping.set()

    signal.signal(signal.SIGTERM, request_stop)
    signal.signal(signal.SIGINT, request_stop)
    db = Database(settings.database_url)
    background = Background(db, settings)
    background.start()
    log.info("background work started (analysis runner, fast path, webhook dispatcher)")
    try:
        while not stopping.wait(PARENT_CHECK_S):
            if parent_pid is not None and os.getppid() != parent_pid:
                log.error("the serving process is gone; stopping at once")
                os._exit(1)
    finally:
        background.stop()
        db.dispose()
