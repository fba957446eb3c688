"""Meters the digest asks someone to look at, from the readings the night saw: silent
while the others report, or holding one value outside their usual range.

Energy managers read the digest, not the job's log: a panel that fell to zero, or whose
export stopped, was otherwise told only on the scheduled job's standard error. The
nightly job writes these notes into its run's record; the digest reads them there. A
note's text stays the same while its meter stays so, so that a digest goes out on the
night it is first seen, not every night.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pandas as pd

from wattcast.data.cleaning import held_now
from wattcast.data.meter_frame import MeterFrame

#: A meter silent for longer than this is no longer listed (it was, every night, till then).
SILENT_LISTED = pd.Timedelta(days=14)
#: A meter is silent when its last reading is this long before the night's newest.
SILENT_AFTER = pd.Timedelta(days=1)


def last_readings(frame: MeterFrame) -> dict[str, pd.Timestamp]:
    """Each meter's last reading in ``frame`` (wall clock), of the meters with one."""
    present = np.isfinite(frame.values)
    last = frame.n_steps - 1 - np.argmax(present[::-1], axis=0)
    return {meter: frame.start + int(last[j]) * frame.interval
            for j, meter in enumerate(frame.meters) if present[:, j].any()}  # fmt: skip


def silent(last: Mapping[str, pd.Timestamp], until: pd.Timestamp | None = None) -> dict[str, str]:
    """Per meter whose ``last`` reading is a day or more before the newest of all (or
    before ``until``, a replayed night's cut-off) and within :data:`SILENT_LISTED`, why."""
    if not last:
        return {}
    newest = max(last.values())
    if until is not None:
        newest = max(newest, until - pd.Timedelta(seconds=1))
    return {meter: f"no readings after {when:%a %d %b %H:%M} (its export, logger or meter "
                   "stopped?)"
            for meter, when in last.items()
            if SILENT_AFTER <= newest - when <= SILENT_LISTED}  # fmt: skip


def holding(frame: MeterFrame, units: Mapping[str, str]) -> dict[str, str]:
    """Per meter of ``frame`` whose newest readings hold one value outside its usual range
    (:func:`~wattcast.data.cleaning.held_now`), why."""
    notes = {}
    for j, meter in enumerate(frame.meters):
        held = held_now(frame.values[:, j], frame.interval)
        if held is not None:
            first = held[0]
            start = frame.start + first * frame.interval
            unit = f" {units[meter]}" if units.get(meter) else ""
            notes[meter] = (f"has read {frame.values[first, j]:.4g}{unit} since "
                            f"{start:%a %d %b %H:%M}, outside its usual range (its meter or "
                            "logger stopped, or the equipment is off?)")  # fmt: skip
    return notes
