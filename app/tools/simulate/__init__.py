"""Scenario simulator: synthetic data sets with ground truth (``mrd simulate``)."""

from app.tools.simulate.scenarios import SCENARIOS, Scenario
from app.tools.simulate.world import World, generate

__all__ = ["SCENARIOS", "Scenario", "World", "generate"]
