"""A command stopped by Ctrl-C (SIGINT) or SIGTERM ends one way: its run marked
interrupted, one line, exit code 1.

SIGTERM (what cron, systemd and ``timeout`` send) would end the process at once;
while a command runs it raises :class:`Stopped` (a :class:`KeyboardInterrupt`) in
the main thread instead, so that it unwinds as Ctrl-C does. The handler is
installed for the command only, never on import.
"""

from __future__ import annotations

import functools
import signal
import sys
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from types import FrameType
from typing import Any

from wattcast import stops

#: The exit code of a command stopped by a signal (troubleshooting.md, "Exit codes").
EXIT_STOPPED = 1


class Stopped(KeyboardInterrupt):
    """The command was sent SIGTERM; ``str()`` names the signal."""

    def __init__(self, signal_name: str = "SIGTERM") -> None:
        super().__init__(signal_name)


@contextmanager
def stop_signals() -> Iterator[None]:
    """While the block runs (main thread only), SIGTERM raises :class:`Stopped` and Ctrl-C
    a KeyboardInterrupt, each first recorded (:mod:`wattcast.stops`: typer turns them into
    exit code 130, and one raised inside a finalizer would be lost); a stop that Python
    could only print is not printed. Then the handlers that were there before are put
    back. A signal the process was told to ignore stays ignored."""
    stops.clear()
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def stop(signum: int, frame: FrameType | None) -> None:
        exc = (
            KeyboardInterrupt() if signum == signal.SIGINT else Stopped(signal.Signals(signum).name)
        )
        stops.ask(exc)
        raise exc

    before = {sig: signal.signal(sig, stop) for sig in _handled()}
    hook = sys.unraisablehook
    sys.unraisablehook = functools.partial(_quiet_stops, hook)
    try:
        yield
    finally:
        sys.unraisablehook = hook
        for sig, handler in before.items():
            signal.signal(sig, handler)


def _quiet_stops(hook: Callable[[Any], object], unraisable: Any) -> None:
    """Leave unprinted a stop raised inside a finalizer (the job checks for it anyway)."""
    if not (stops.asked() and isinstance(unraisable.exc_value, KeyboardInterrupt)):
        hook(unraisable)


def _handled() -> list[signal.Signals]:
    """SIGTERM, and SIGINT, unless the process ignores them or another handler is set."""
    usual = {signal.SIGTERM: signal.SIG_DFL, signal.SIGINT: signal.default_int_handler}
    return [sig for sig, handler in usual.items() if signal.getsignal(sig) is handler]


def interruption(exc: BaseException) -> KeyboardInterrupt | None:
    """The Ctrl-C or SIGTERM behind ``exc`` (typer and click raise Exit(130) or Abort
    from it), or None."""
    seen: BaseException | None = exc
    while seen is not None and not isinstance(seen, KeyboardInterrupt):
        seen = seen.__cause__
    return seen


def stopped_message(exc: KeyboardInterrupt | None) -> str:
    """``aborted.`` for Ctrl-C, ``stopped by SIGTERM.`` for SIGTERM."""
    return f"stopped by {exc}." if isinstance(exc, Stopped) else "aborted."
