"""The parameters a meter's forest takes, checked before any work starts.

Like scikit-learn's ``_parameter_constraints``, each parameter states what it
accepts; unlike them, these checks run when the settings are read (before any
data is loaded or a worker starts), and they import nothing heavy. The same
table is what :class:`~wattcast.models.profile_forest.ProfileForestRegressor`
validates in ``fit``.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

from wattcast.errors import InputError

Check = tuple[str, Callable[[object], bool]]


def _whole(minimum: int) -> Check:
    return (f"an integer of at least {minimum}",
            lambda v: isinstance(v, int) and not isinstance(v, bool) and v >= minimum)  # fmt: skip


def _fraction_or_count() -> Check:
    def ok(v: object) -> bool:
        if isinstance(v, bool):
            return False
        if isinstance(v, int):
            return v >= 1
        return isinstance(v, float) and 0.0 < v <= 1.0

    return "a fraction in (0, 1] or a count of at least 1", ok


def _or_none(check: Check) -> Check:
    text, ok = check
    return f"{text}, or none", lambda v: v is None or ok(v)


_FEATURES_TEXT, _FEATURES_OK = _fraction_or_count()

#: Parameter -> (what it accepts, check). ``n_estimators`` is the ``trees`` option,
#: ``random_state`` the ``seed`` and ``n_jobs`` the job's own.
CONSTRAINTS: dict[str, Check] = {
    "tree_type": ("'random' or 'extra'", lambda v: v in ("random", "extra")),
    "n_components": _or_none(_whole(1)),
    "max_features": (
        f"{_FEATURES_TEXT}, 'sqrt', 'log2' or none",
        lambda v: v is None or v in ("sqrt", "log2") or _FEATURES_OK(v),
    ),
    "min_samples_leaf": _whole(1),
    "max_samples": _or_none(_fraction_or_count()),
    "bootstrap": ("true or false", lambda v: isinstance(v, bool)),
    "chunk_size": _or_none(_whole(1)),
}


def check_params(estimator: str, params: Mapping[str, object]) -> None:
    """Refuse a parameter the estimator does not take, or a value it cannot use."""
    for name, value in params.items():
        if name not in CONSTRAINTS:
            raise InputError(
                f"`params` has no parameter {name!r} for the {estimator} estimator; it takes "
                f"{', '.join(sorted(CONSTRAINTS))} (trees and seed are options of their own)."
            )
        expected, ok = CONSTRAINTS[name]
        if not ok(value):
            raise InputError(f"`params` {name} must be {expected}. Got {value!r}.")
