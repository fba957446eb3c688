"""A fitted fleet in a file, refused when another wattcast or scikit-learn reads it."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import joblib

from wattcast import __version__
from wattcast.errors import InputError

SAVE_FORMAT = 2


def saved_versions() -> dict[str, str]:
    """The versions a saved fleet depends on."""
    import sklearn

    return {"wattcast": __version__, "scikit-learn": sklearn.__version__}


def save_fleet(fleet: Any, path: Path) -> Path:
    """Save a fitted fleet with joblib (trusted files only: it is a pickle)."""
    joblib.dump({"format": SAVE_FORMAT, "versions": saved_versions(), "fleet": fleet}, path)
    return path


def load_fleet(path: Path) -> Any:
    """A fleet saved by :func:`save_fleet` with this wattcast and scikit-learn."""
    if not path.is_file():
        raise InputError(f"{path}: saved fleet not found.")
    try:
        payload = joblib.load(path)
    except Exception as exc:  # a damaged or foreign file fails in many ways
        raise InputError(
            f"{path}: not a fleet saved by wattcast ({type(exc).__name__}: {exc})."
        ) from None
    if not isinstance(payload, dict) or payload.get("format") != SAVE_FORMAT:
        raise InputError(f"{path}: not a fleet saved by this version of wattcast.")
    saved, here = payload.get("versions", {}), saved_versions()
    for package, version in here.items():
        if saved.get(package) != version:
            raise InputError(
                f"{path}: saved with {package} {saved.get(package)}, but {version} is "
                f"installed; refit the fleet (or install {package}=={saved.get(package)})."
            )
    return payload["fleet"]
