"""Doctests of the package (``tokbytes/*.py``): one that fails only because an optional extra
is not installed (tokbytes' ImportError names it: ``pip install "tokbytes[arrow]"``) is reported
as skipped, saying which extra; with the extra installed it runs and must pass."""

from __future__ import annotations

import doctest
from collections.abc import Generator
from typing import Any

import pytest

from tests.extras import missing_extra


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Generator[Any]:
    outcome = yield
    report = outcome.get_result()
    if call.when != "call" or call.excinfo is None or not report.failed:
        return
    error = call.excinfo.value
    if isinstance(error, doctest.UnexpectedException) and isinstance(
        error.exc_info[1], ImportError
    ):
        extra = missing_extra(str(error.exc_info[1]))
        if extra is not None:
            report.outcome = "skipped"
            report.longrepr = (
                str(item.path),
                item.location[1] or 0,
                f"Skipped: needs tokbytes[{extra}], which is not installed",
            )
