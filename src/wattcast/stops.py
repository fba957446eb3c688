"""A stop asked for by a signal (Ctrl-C, SIGTERM) while a command runs, kept so that
it is not lost.

The command line's handler raises the stop wherever the main thread is; raised inside
a finalizer (an object's ``__del__``, a weakref callback) Python only prints it and
goes on. The stop is therefore also recorded here, and a long job checks for it
between batches (:func:`check`). Nothing is recorded but by the handler.
"""

from __future__ import annotations

_asked: list[KeyboardInterrupt] = []


def ask(stop: KeyboardInterrupt) -> None:
    """Record ``stop`` (the first one counts)."""
    _asked.append(stop)


def asked() -> KeyboardInterrupt | None:
    """The stop asked for since :func:`clear`, or None."""
    return _asked[0] if _asked else None


def clear() -> None:
    _asked.clear()


def check() -> None:
    """Raise the stop asked for, if any: a job calls it where stopping loses nothing."""
    if _asked:
        raise _asked[0]
