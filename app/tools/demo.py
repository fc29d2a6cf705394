"""``mrd demo``: a database with a simulated campaign and the real ISIS tweets network,
ingested through the same validation as the API and analysed, ready to serve."""

from __future__ import annotations

import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from app.datasets import ENTITY_ORDER, count_lines
from app.db.engine import Database
from app.db.migrations import upgrade_to_head
from app.db.models import AnalysisRun
from app.entities import ENTITY_KINDS
from app.services.analysis import AnalysisRunner, queue_run
from app.services.ingest import ingest_batch
from app.tools.importers.tweets import import_tweets
from app.tools.load import BATCH_SIZES, batches, rows_in_order
from app.tools.simulate import SCENARIOS, generate
from app.tools.simulate.output import write_world

# Where the data folder beside a clone keeps the real tweets (docs/real-data.md).
DEFAULT_TWEETS = (
    Path(__file__).resolve().parents[3] / "shared" / "data" / "isis-twitter-kaggle" / "tweets.csv"
)
DEMO_SCENARIO = "baseline"
DEMO_SEED = 7
DEMO_SCALE = 0.5
# Simulated history lies years in the past; nothing is refused as "in the future".
FUTURE_TOLERANCE_S = 86_400.0

Progress = Callable[[str, int, int], None]


@dataclass
class DemoData:
    """What the demo database holds and how long it took to prepare."""

    stored: dict[str, int] = field(default_factory=dict)
    sources: list[str] = field(default_factory=list)
    run: dict[str, Any] = field(default_factory=dict)
    seconds: float = 0.0


def _ingest_folder(db: Database, folder: Path, stored: dict[str, int], progress: Progress) -> None:
    for kind in ENTITY_ORDER:
        total, done = count_lines(folder, kind), 0
        for batch in batches(rows_in_order(folder, kind), BATCH_SIZES[kind]):
            result = ingest_batch(db, ENTITY_KINDS[kind], batch, FUTURE_TOLERANCE_S)
            stored[kind] = stored.get(kind, 0) + result.accepted
            done += len(batch)
            progress(kind, done, total)


def prepare_demo(
    database_url: str,
    tweets: Path | None,
    scale: float = DEMO_SCALE,
    progress: Progress = lambda _step, _done, _total: None,
) -> DemoData:
    """Migrate ``database_url``, store the simulated scenario (and the real tweets when
    ``tweets`` is given), then run one full analysis and return what was stored."""
    began = time.perf_counter()
    upgrade_to_head(database_url)
    db = Database(database_url)
    demo = DemoData()
    try:
        with tempfile.TemporaryDirectory(prefix="mrd-demo-") as scratch:
            simulated = Path(scratch) / "simulated"
            progress("simulating", 0, 1)
            write_world(generate(SCENARIOS[DEMO_SCENARIO], DEMO_SEED, scale), simulated)
            progress("simulating", 1, 1)
            _ingest_folder(db, simulated, demo.stored, progress)
            demo.sources.append(f"simulated scenario {DEMO_SCENARIO} (seed {DEMO_SEED})")
            if tweets is not None:
                real = Path(scratch) / "real"
                import_tweets(tweets, real)
                _ingest_folder(db, real, demo.stored, progress)
                demo.sources.append(f"real tweets of 112 pro-ISIS accounts ({tweets})")
        progress("analysing", 0, 1)
        run = queue_run(db)
        AnalysisRunner(db, interval_s=60.0).run_pending()
        with db.session() as session:
            finished = session.get(AnalysisRun, run.run_id)
            assert finished is not None
            demo.run = {"run_id": finished.run_id, "status": finished.status, **finished.stats}
        progress("analysing", 1, 1)
    finally:
        db.dispose()
    demo.seconds = time.perf_counter() - began
    return demo
