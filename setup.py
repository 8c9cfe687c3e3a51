"""Build the optional compiled core (``tokbytes/_core.pyx``, Cython >= 3).

Everything else is in ``pyproject.toml``. The core is optional: when Cython or a working C
compiler is missing, or compiling fails, the install warns and goes on, and tokbytes runs its
pure-Python path (``tokbytes.compiled`` is then False). ``cythonize()`` drops
``Extension(optional=True)``, so the failures are caught here, in ``build_ext``.
"""

from __future__ import annotations

import sys
from typing import Any

from setuptools import Extension, setup
from setuptools.command.build_ext import build_ext

_WHY = "tokbytes: the compiled core was not built ({}); the pure-Python path will be used"


def _warn(exc: BaseException) -> None:
    # A plain stderr line: pip shows the build output with -v, and warnings are often filtered.
    print("WARNING: " + _WHY.format(f"{type(exc).__name__}: {exc}"), file=sys.stderr)


class OptionalBuildExt(build_ext):
    """``build_ext`` that turns any compile or link failure into a warning."""

    def run(self) -> None:
        try:
            super().run()
        except Exception as exc:  # no compiler at all (DistutilsPlatformError, ...)
            _warn(exc)

    def build_extension(self, ext: Any) -> None:
        try:
            super().build_extension(ext)
        except Exception as exc:  # CompileError, LinkError, a compiler that is not there
            _warn(exc)


def _extensions() -> list[Extension]:
    try:
        from Cython.Build import cythonize
    except ImportError as exc:
        _warn(exc)
        return []
    try:
        return list(
            cythonize(
                [Extension("tokbytes._core", ["tokbytes/_core.pyx"])],
                compiler_directives={"language_level": "3"},
                quiet=True,
            )
        )
    except Exception as exc:  # a Cython that cannot translate the module
        _warn(exc)
        return []


setup(ext_modules=_extensions(), cmdclass={"build_ext": OptionalBuildExt})
