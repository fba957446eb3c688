"""``python -m wattcast``: the command line."""

from wattcast.cli import entry_point

entry_point()
