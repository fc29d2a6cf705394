"""Coordinated mass-reporting detector."""

__version__ = "0.1.0"
