"""The public surface: ``__all__`` lists exactly what the package exports."""

from __future__ import annotations

import tokbytes


def test_all_matches_public_names() -> None:
    public = {name for name in vars(tokbytes) if not name.startswith("_")}
    modules = {name for name in public if type(getattr(tokbytes, name)).__name__ == "module"}
    assert set(tokbytes.__all__) - {"__version__"} == public - modules
    for name in tokbytes.__all__:
        assert hasattr(tokbytes, name), name


def test_errors_are_value_errors() -> None:
    assert issubclass(tokbytes.InputError, tokbytes.TokbytesError)
    assert issubclass(tokbytes.DecodeError, tokbytes.TokbytesError)
    assert issubclass(tokbytes.TokbytesError, ValueError)
