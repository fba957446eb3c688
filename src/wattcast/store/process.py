"""Whether the process that opened a run is still there (without psutil).

A run records the process id and host of its job. On the same host the process
is gone when no process has that id, or when the process that has it now
started after the run did (the id was reused). A run of another host, or of a
release that recorded no process, cannot be asked: it counts as gone, because
the caller holds the store's lock, which a live job would hold.
"""

from __future__ import annotations

import datetime as dt
import os
import socket
from pathlib import Path

#: Seconds of slack between a process's start and its run's start (clock ticks, rounding).
_SLACK_SECONDS = 2.0


def process_gone(pid: int | None, host: str | None, started_utc: str | None) -> bool:
    """Whether the job that opened a run (``pid`` on ``host``, at ``started_utc``) is gone."""
    if not pid or host != socket.gethostname():
        return True
    if pid == os.getpid():
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    except PermissionError:  # another user's process: it exists
        pass
    except OSError:
        return True
    began = _process_start(pid)
    if began is None or not started_utc:
        return False
    try:
        run_start = dt.datetime.fromisoformat(started_utc).timestamp()
    except ValueError:
        return False
    return began > run_start + _SLACK_SECONDS


def _process_start(pid: int) -> float | None:
    """Epoch seconds when process ``pid`` started (Linux ``/proc``; None elsewhere)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
        boot = next(
            float(line.split()[1])
            for line in Path("/proc/stat").read_text().splitlines()
            if line.startswith("btime ")
        )
        ticks = float(stat.rsplit(")", 1)[1].split()[19])
        return boot + ticks / os.sysconf("SC_CLK_TCK")
    except (OSError, ValueError, IndexError, StopIteration):
        return None
