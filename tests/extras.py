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
#: Modules the docs' examples import that tokbytes does not need (they come with the extras).
DOCS_ONLY_MODULES = {"numpy", "matplotlib"}
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


def skip_if_extra_missing(message: str, where: str, error: BaseException | None = None) -> None:
    """Skip the calling test if ``message`` names a tokbytes extra that is not installed (or
    ``error`` is the ModuleNotFoundError of an extra's module or of numpy or matplotlib)."""
    name = getattr(error, "name", None) or ""
    optional = DOCS_ONLY_MODULES | set(EXTRA_MODULES.values())
    if isinstance(error, ModuleNotFoundError) and name.split(".")[0] in optional:
        pytest.skip(f"{where} imports {name}, which is not installed (pip install -e '.[dev]')")
    extra = missing_extra(message)
    if extra is not None:
        pytest.skip(f"{where} needs tokbytes[{extra}], which is not installed")
