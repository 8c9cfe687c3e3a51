"""Which implementation runs: the compiled core (``tokbytes._core``) or pure Python.

Chosen once, at import (the msgpack way): the core when it was built and imports, unless the
environment variable ``TOKBYTES_PURE`` is set to anything but ``""`` or ``"0"``. The pure-Python
modules (``alignment.py``, ``units.py``) are the reference: they ask :data:`core` to do the
common case and do everything the core declines (it answers None, "not mine") themselves, so
both give the same results, floats bit for bit (``tests/test_core.py`` checks it).

>>> import tokbytes
>>> tokbytes.compiled == (core is not None)
True
"""

from __future__ import annotations

import importlib
import os
from collections.abc import Iterator
from contextlib import contextmanager
from types import ModuleType

__all__ = ["compiled", "core", "forced_pure"]


def _load() -> ModuleType | None:
    if os.environ.get("TOKBYTES_PURE", "") not in ("", "0"):
        return None
    try:
        return importlib.import_module("tokbytes._core")
    except ImportError:  # not built (no compiler at install time): the pure path runs
        return None


#: The compiled core module, or None when the pure-Python path runs. Read it at call time
#: (``_speedups.core``), never ``from ._speedups import core``: :func:`forced_pure` swaps it.
core: ModuleType | None = _load()

#: True when the compiled core is in use (see ``tokbytes.compiled``).
compiled: bool = core is not None


@contextmanager
def forced_pure() -> Iterator[None]:
    """Run the pure-Python path inside the block (tests and benchmarks compare the two).

    >>> from tokbytes import decode
    >>> with forced_pure():
    ...     decode([{"token": "a", "bytes": [97], "logprob": -0.5}]).chars.logprobs()
    [-0.5]
    """
    global core
    saved, core = core, None
    try:
        yield
    finally:
        core = saved
