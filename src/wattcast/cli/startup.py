"""Loading the science stack for a command, without the garbage collector's passes.

Importing pandas, scikit-learn and SciPy creates about a million objects that
live as long as the process and hold no garbage. Python's cyclic collector still
walks them again and again while they are created: about 0.3 s of the 2-3 s an
import takes on a small machine, a tenth of a whole forecast. Commands import
these modules inside :func:`loading`; afterwards the imported objects are set
aside for good (:func:`gc.freeze`) and the collector runs as usual on what the
job creates, so a long job's memory is kept as before.
"""

from __future__ import annotations

import gc
import sys
from collections.abc import Iterator
from contextlib import contextmanager


@contextmanager
def loading() -> Iterator[None]:
    """Import inside this block without collections; freeze what was imported.

    Nothing is frozen when the block imported nothing new (a second command in
    the same process, as in tests).
    """
    enabled, modules = gc.isenabled(), len(sys.modules)
    gc.disable()
    try:
        yield
    finally:
        if len(sys.modules) > modules:
            gc.freeze()
        if enabled:
            gc.enable()
