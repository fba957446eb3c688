"""Moved to :mod:`wattcast.events.detection`; kept while ``RunSpec.thresholds`` imports it."""

from wattcast.events.detection import Thresholds

__all__ = ["Thresholds"]
