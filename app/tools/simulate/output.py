"""Writing a generated world as a data-set folder."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from app.datasets import ENTITY_ORDER, write_entities, write_truth
from app.tools.simulate.scenarios import describe
from app.tools.simulate.world import World


def write_world(
    world: World, out: Path, progress: Callable[[str], None] = lambda _k: None
) -> dict[str, int]:
    """Write every entity file and ``truth.json``; returns the row count per entity."""
    counts = {}
    for kind in ENTITY_ORDER:
        progress(kind)
        counts[kind] = write_entities(out, kind, getattr(world, kind))
    truth = world.truth | {"parameters": describe(world.scenario), "counts": counts}
    write_truth(out, truth)
    return counts
