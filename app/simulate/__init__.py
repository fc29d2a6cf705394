"""Scenario simulator: synthetic data sets with ground truth (``mrd simulate``)."""

from app.simulate.scenarios import SCENARIOS, Scenario
from app.simulate.world import World, generate

__all__ = ["SCENARIOS", "Scenario", "World", "generate"]
