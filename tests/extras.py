"""The optional extras (``tokbytes[icu]``, ``[pandas]``, ``[arrow]``, ``[ray]``...) and how a
test that runs user-facing examples skips when one is absent.

tokbytes says which extra is missing in its ImportError (``pip install "tokbytes[icu]"``). A docs
or README example failing with that message is skipped, saying so, but only where the extra's
module really cannot be imported: with the extra installed, the same message fails the test.
"""

from __future__ import annotations

import importlib.util

import pytest
import regex

#: The module each extra brings.
EXTRA_MODULES = {
    "icu": "icu4py",
    "pandas": "pandas",
    "arrow": "pyarrow",
    "ray": "ray",
    "langchain": "langchain_openai",
    "testing": "hypothesis",
}
_HINT = regex.compile(r'pip install "tokbytes\[(\w+)\]"')


def installed(extra: str) -> bool:
    """Whether the module of ``extra`` can be imported here."""
    return importlib.util.find_spec(EXTRA_MODULES[extra]) is not None


def missing_extra(message: str) -> str | None:
    """The tokbytes extra ``message`` names that is not installed here (None if none)."""
    for extra in _HINT.findall(message):
        if extra in EXTRA_MODULES and not installed(extra):
            return str(extra)
    return None


def skip_if_extra_missing(message: str, where: str) -> None:
    """Skip the calling test if ``message`` names a tokbytes extra that is not installed."""
    extra = missing_extra(message)
    if extra is not None:
        pytest.skip(f"{where} needs tokbytes[{extra}], which is not installed")
