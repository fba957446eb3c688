"""Meters the digest asks someone to look at, from the readings the night saw: silent
while the others report, or holding one value outside their usual range.

Energy managers read the digest, not the job's log: a panel that fell to zero, or whose
export stopped, was otherwise told only on the scheduled job's standard error. The
nightly job writes these notes into its run's record; the digest reads them there.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pandas as pd

from wattcast.data.cleaning import held_now
from wattcast.data.meter_frame import MeterFrame

#: A meter silent for longer than this is no longer listed (it was, every night, till then).
SILENT_LISTED = pd.Timedelta(days=14)
#: A meter is silent when its last reading is this long before the batch's newest.
SILENT_AFTER = pd.Timedelta(days=1)


def meters_to_check(
    frame: MeterFrame, units: Mapping[str, str], until: pd.Timestamp | None = None
) -> dict[str, str]:  # fmt: skip
    """Per meter of ``frame`` to look at, why: no reading for a day or more before the
    newest of its batch, or before ``until`` (a night's cut-off, wall clock), for
    :data:`SILENT_LISTED`; or newest readings that hold one value outside its usual range
    (:func:`~wattcast.data.cleaning.held_now`)."""
    present = np.isfinite(frame.values)
    if not present.any():
        return {}
    last = np.where(present.any(axis=0), frame.n_steps - 1 - np.argmax(present[::-1], axis=0), -1)
    newest = frame.start + int(last.max()) * frame.interval
    if until is not None:
        newest = max(newest, until - frame.interval)
    notes = {}
    for j, meter in enumerate(frame.meters):
        if last[j] < 0:
            continue
        since = frame.start + int(last[j]) * frame.interval
        if SILENT_AFTER <= newest - since <= SILENT_LISTED:
            notes[meter] = (f"no readings after {since:%a %d %b %H:%M} (its export, logger or "
                            "meter stopped?)")  # fmt: skip
            continue
        held = held_now(frame.values[:, j], frame.interval)
        if held is not None:
            first, (low, high) = held
            start = frame.start + first * frame.interval
            unit = f" {units[meter]}" if units.get(meter) else ""
            notes[meter] = (f"has read {frame.values[first, j]:.4g}{unit} since "
                            f"{start:%a %d %b %H:%M}, outside its usual {low:.4g} .. "
                            f"{high:.4g}{unit} (its meter or logger stopped, or the "
                            "equipment is off?)")  # fmt: skip
    return notes
