"""Print pip constraints that pin each direct dependency to its lowest declared version.

The dependencies and the optional extras (Parquet, plots, Dask; the test and docs
tools are left free) are pinned, so CI runs the tests on the floors pyproject.toml
declares and those floors stay honest.
"""

from __future__ import annotations

import re
import sys
import tomllib
from pathlib import Path

project = tomllib.loads((Path(__file__).resolve().parent.parent / "pyproject.toml").read_text())
extras = project["project"]["optional-dependencies"]
requirements = project["project"]["dependencies"] + [
    r for name, group in extras.items() if name not in ("test", "docs", "all") for r in group
]
pins = {}
for requirement in requirements:
    match = re.fullmatch(r"([A-Za-z0-9_.\-]+)(\[[^\]]*\])?\s*>=\s*([^,;\s]+).*", requirement)
    if match is None:
        sys.exit(f"pyproject.toml: dependency {requirement!r} has no lower bound (>=).")
    pins[match.group(1).lower()] = match.group(3)
for name, version in pins.items():
    print(f"{name}=={version}")
