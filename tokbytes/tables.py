"""A decoded output as a table: one row per unit (character, grapheme, word) or per token, as
plain columns, a ``pandas.DataFrame`` or a ``pyarrow.Table``.

pandas and pyarrow are optional (``pip install "tokbytes[pandas]"``, ``"tokbytes[arrow]"``); only
this module imports them, and only when asked.

>>> from tokbytes import decode
>>> doc = decode([{"token": "hi", "bytes": [104, 105], "logprob": -0.5}])
>>> cols = columns(doc, "char")
>>> list(cols), cols["text"], cols["tokens"]
(['text', 'start', 'end', 'byte_start', 'byte_end', 'tokens', 'logprob', 'prob'], ['h', 'i'], [[0], [0]])
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any

from .errors import InputError

if TYPE_CHECKING:
    from .decoded import Decoded

__all__ = ["TABLE_LEVELS", "columns", "to_arrow", "to_pandas"]

#: The levels a table can have a row per.
TABLE_LEVELS = ("char", "grapheme", "word", "token")


def columns(doc: Decoded, level: str = "word") -> dict[str, list[Any]]:
    """The table of ``doc`` at ``level`` as ``{column: values}``.

    Units (``"char"``, ``"grapheme"``, ``"word"``): ``text, start, end, byte_start, byte_end,
    tokens, logprob, prob`` (each row equal to the :class:`~tokbytes.Unit`'s fields), then
    ``entropy`` and ``margin`` (:meth:`~tokbytes.UnitSequence.entropies`, ``.margins()``) when any
    token has alternatives. Tokens (``"token"``): ``index, token, text, start, end, byte_start,
    byte_end, logprob, prob``, then ``entropy, margin, rank`` when any token has alternatives
    (``start``/``end``: the characters the token's bytes touch, as ``Decoded.token_to_chars``).
    Unknown scores are NaN.
    """
    if level not in TABLE_LEVELS:
        raise InputError(
            f"level must be one of {', '.join(map(repr, TABLE_LEVELS))}, got {level!r}"
        )
    alternatives = any(doc.tokens.alternative_counts())
    if level == "token":
        tokens = list(doc.tokens)
        spans = [doc.token_to_chars(t.index) for t in tokens]
        table: dict[str, list[Any]] = {
            "index": [t.index for t in tokens],
            "token": [t.token for t in tokens],
            "text": [t.text for t in tokens],
            "start": [start for start, _ in spans],
            "end": [end for _, end in spans],
            "byte_start": [t.byte_start for t in tokens],
            "byte_end": [t.byte_end for t in tokens],
            "logprob": [t.logprob for t in tokens],
            "prob": [t.prob for t in tokens],
        }
        if alternatives:
            table["entropy"] = doc.tokens.entropies()
            table["margin"] = doc.tokens.margins()
            table["rank"] = doc.tokens.ranks()
        return table
    units = doc.units(level)  # type: ignore[arg-type]
    rows = list(units)
    table = {
        "text": [u.text for u in rows],
        "start": [u.start for u in rows],
        "end": [u.end for u in rows],
        "byte_start": [u.byte_start for u in rows],
        "byte_end": [u.byte_end for u in rows],
        "tokens": [list(u.tokens) for u in rows],
        "logprob": [u.logprob for u in rows],
        "prob": [math.exp(u.logprob) for u in rows],
    }
    if alternatives:
        table["entropy"] = units.entropies()
        table["margin"] = units.margins()
    return table


def _require(module: str, extra: str) -> Any:
    try:
        return __import__(module)
    except ImportError:
        raise ImportError(
            f'{module} is not installed: pip install "tokbytes[{extra}]" to use this'
        ) from None


def to_pandas(doc: Decoded, level: str = "word") -> Any:
    """:func:`columns` as a ``pandas.DataFrame`` (``rank`` as the nullable ``Int64``)."""
    table = columns(doc, level)  # a bad level is an InputError, pandas or not
    pandas = _require("pandas", "pandas")
    frame = pandas.DataFrame(table)
    if "rank" in table:
        frame["rank"] = pandas.array(table["rank"], dtype="Int64")
    return frame


def to_arrow(doc: Decoded, level: str = "word") -> Any:
    """:func:`columns` as a ``pyarrow.Table`` (``tokens`` a list of int64, ``rank`` nullable)."""
    table = columns(doc, level)
    pyarrow = _require("pyarrow", "arrow")
    return pyarrow.table(table)
