"""Hypothesis settings profiles for the tokbytes test suite.

Import this module once from ``tests/conftest.py`` (``import hypothesis_profile  # noqa: F401``);
it registers two profiles and loads one:

* ``default``: 60 examples per property test, no deadline (2 shared cores, no flaky timing);
* ``ci``: 150 examples, no deadline, derandomized (the same examples on every run, so a red CI
  is reproducible), failing examples printed as reproduction blobs.

``TOKBYTES_HYPOTHESIS_SCALE`` (a float, default 1) multiplies every example count, including the
counts tests set themselves through :func:`scaled`: ``TOKBYTES_HYPOTHESIS_SCALE=20 pytest`` for a
long local run. ``TOKBYTES_HYPOTHESIS_PROFILE`` picks the profile (default ``default``); pytest's
``--hypothesis-profile=ci`` also works.
"""

from __future__ import annotations

import os

from hypothesis import settings


def _scale() -> float:
    raw = os.environ.get("TOKBYTES_HYPOTHESIS_SCALE", "1")
    try:
        value = float(raw)
    except ValueError:
        raise ValueError(
            f"TOKBYTES_HYPOTHESIS_SCALE={raw!r} must be a number, e.g. 0.5 or 10"
        ) from None
    if not value > 0:
        raise ValueError(f"TOKBYTES_HYPOTHESIS_SCALE={raw!r} must be > 0")
    return value


SCALE = _scale()


def scaled(max_examples: int) -> int:
    """``max_examples`` times ``TOKBYTES_HYPOTHESIS_SCALE``, at least 1."""
    return max(1, round(max_examples * SCALE))


settings.register_profile("default", max_examples=scaled(60), deadline=None)
settings.register_profile(
    "ci", max_examples=scaled(150), deadline=None, derandomize=True, print_blob=True
)
settings.load_profile(os.environ.get("TOKBYTES_HYPOTHESIS_PROFILE", "default"))
