"""Heat maps of a decoded output: colors, terminal text, tables, JSON/CSV rows and HTML pages.

Everything here is a pure function of a :class:`~tokbytes.Decoded` (or of its units and
tokens) returning a string or plain data; the console script (``tokbytes.cli``) only reads files,
picks options and writes what these functions return.

The color scale
---------------
A unit's color depends only on its probability ``p = exp(logprob)``, on an absolute scale (never
rescaled per document), interpolated linearly in RGB between the five stops of
:data:`COLOR_STOPS` (ColorBrewer RdYlGn; dark text stays readable on every stop)::

    p = 0.00  #d73027  red       the model was very unsure
    p = 0.25  #fc8d59  orange
    p = 0.50  #fee08b  yellow
    p = 0.75  #d9ef8b  light green
    p = 1.00  #91cf60  green     the model was sure

A unit whose score is unknown (NaN: bytes that could not be placed) is grey (:data:`UNKNOWN_COLOR`).
Logprobs at or below ``-9999.0`` are the provider's "not in the top 20" sentinel (OpenAI; vLLM
clamps to it): such an alternative is listed as "below the top 20", never as a number, and a unit
containing such a token shows that label too. Its color is simply the ``p = 0`` end of the scale,
which is where a probability below every top-20 alternative belongs; the sentinel never stretches
or rescales the scale, because the scale is absolute.

>>> hex_color(color_for(1.0)), hex_color(color_for(0.5)), hex_color(color_for(float("nan")))
('#91cf60', '#fee08b', '#bdbdbd')
"""

from __future__ import annotations

import csv
import html
import io
import json
import math
import unicodedata
from collections.abc import Collection, Iterable, Sequence
from typing import Any, Literal, NamedTuple

from . import Decoded, Token, Unit
from .measures import alternative_texts, continued_bytes

__all__ = [
    "COLOR_STOPS",
    "SENTINEL_LOGPROB",
    "TOKEN_CSV_FIELDS",
    "VIEW_LEVELS",
    "Sort",
    "UNKNOWN_COLOR",
    "ColorMode",
    "Summary",
    "ansi_background",
    "color_for",
    "csv_text",
    "format_logprob",
    "format_prob",
    "heatmap_html",
    "hex_color",
    "html_page",
    "is_sentinel",
    "json_text",
    "legend_text",
    "level_units",
    "printable",
    "rgb_to_256",
    "segments",
    "select",
    "summarize",
    "summary_rows",
    "summary_table",
    "terminal_heatmap",
    "token_rows",
    "unit_rows",
    "unit_table",
]

RGB = tuple[int, int, int]
#: ``"truecolor"`` (ANSI 24-bit), ``"256"`` (xterm 256 colors) or None (plain text).
ColorMode = Literal["truecolor", "256"] | None

#: ``(probability, RGB)`` stops of the color scale, ascending (see the module docstring).
COLOR_STOPS: tuple[tuple[float, RGB], ...] = (
    (0.0, (0xD7, 0x30, 0x27)),
    (0.25, (0xFC, 0x8D, 0x59)),
    (0.5, (0xFE, 0xE0, 0x8B)),
    (0.75, (0xD9, 0xEF, 0x8B)),
    (1.0, (0x91, 0xCF, 0x60)),
)
#: Color of a unit whose score is unknown (NaN logprob).
UNKNOWN_COLOR: RGB = (0xBD, 0xBD, 0xBD)
#: OpenAI's "not in the top 20" logprob (also vLLM's clamp); anything at or below it is a sentinel.
SENTINEL_LOGPROB = -9999.0
#: Text color on every heat-map background (all stops are light enough for it).
TEXT_COLOR: RGB = (0x1A, 0x1A, 0x1A)


# -- numbers and colors ----------------------------------------------------------------------------


def is_sentinel(logprob: float) -> bool:
    """True for the provider's "below the top 20" value (``-9999.0``, or anything lower).

    >>> is_sentinel(-9999.0), is_sentinel(-12.5)
    (True, False)
    """
    return logprob <= SENTINEL_LOGPROB


def color_for(prob: float) -> RGB:
    """The RGB color of probability ``prob`` on the fixed scale (:data:`COLOR_STOPS`).

    Values outside ``[0, 1]`` are clamped; NaN gives :data:`UNKNOWN_COLOR`.

    >>> color_for(0.0), color_for(0.125)
    ((215, 48, 39), (234, 94, 64))
    """
    if math.isnan(prob):
        return UNKNOWN_COLOR
    p = min(1.0, max(0.0, prob))
    for (p0, c0), (p1, c1) in zip(COLOR_STOPS, COLOR_STOPS[1:]):
        if p <= p1:
            t = (p - p0) / (p1 - p0)
            r, g, b = (round(a + (z - a) * t) for a, z in zip(c0, c1))
            return (r, g, b)
    return COLOR_STOPS[-1][1]  # pragma: no cover - p <= 1.0 always matches


def hex_color(rgb: RGB) -> str:
    """``#rrggbb``.

    >>> hex_color((215, 48, 39))
    '#d73027'
    """
    return "#{:02x}{:02x}{:02x}".format(*rgb)


_CUBE = (0, 95, 135, 175, 215, 255)


def rgb_to_256(rgb: RGB) -> int:
    """The nearest xterm-256 color (6×6×6 cube or grey ramp) to ``rgb``.

    >>> rgb_to_256((255, 0, 0)), rgb_to_256((128, 128, 128))
    (196, 244)
    """

    def nearest(v: int) -> int:
        return min(range(6), key=lambda i: abs(_CUBE[i] - v))

    r, g, b = (nearest(v) for v in rgb)
    cube = 16 + 36 * r + 6 * g + b
    cube_rgb = (_CUBE[r], _CUBE[g], _CUBE[b])
    grey_level = min(23, max(0, round((sum(rgb) / 3 - 8) / 10)))
    grey = 8 + 10 * grey_level
    grey_rgb = (grey, grey, grey)

    def distance(c: RGB) -> int:
        return sum((x - y) ** 2 for x, y in zip(c, rgb))

    return cube if distance(cube_rgb) <= distance(grey_rgb) else 232 + grey_level


def ansi_background(rgb: RGB, mode: ColorMode) -> str:
    """The escape sequence that sets background ``rgb`` and the dark text color ("" for plain).

    >>> ansi_background((215, 48, 39), "truecolor")
    '\\x1b[48;2;215;48;39;38;2;26;26;26m'
    >>> ansi_background((215, 48, 39), "256")
    '\\x1b[48;5;166;38;5;234m'
    """
    if mode == "truecolor":
        return "\x1b[48;2;{};{};{};38;2;{};{};{}m".format(*rgb, *TEXT_COLOR)
    if mode == "256":
        return f"\x1b[48;5;{rgb_to_256(rgb)};38;5;{rgb_to_256(TEXT_COLOR)}m"
    return ""


_RESET = "\x1b[0m"


def format_prob(prob: float) -> str:
    """A probability for people: 3 significant digits, ``<0.001`` below that, ``?`` if unknown.

    >>> format_prob(0.98765), format_prob(0.0004), format_prob(float("nan"))
    ('0.988', '<0.001', '?')
    """
    if math.isnan(prob):
        return "?"
    if prob < 0.001:
        return "<0.001" if prob > 0 else "0"
    return f"{prob:.3f}"


def format_logprob(logprob: float) -> str:
    """A logprob for people; the ``-9999.0`` sentinel reads "below top 20".

    >>> format_logprob(-0.0712345), format_logprob(-9999.0)
    ('-0.07123', 'below top 20')
    """
    if math.isnan(logprob):
        return "?"
    if is_sentinel(logprob):
        return "below top 20"
    return f"{logprob:.4g}"


def _finite(x: float) -> float | None:
    return x if math.isfinite(x) else None


_CONTROL_NAMES = {"\n": "\\n", "\t": "\\t", "\r": "\\r"}


def printable(text: str) -> str:
    """``text`` with control characters shown as escapes (safe to put in a table or terminal).

    A string made only of invisible characters (a lone zero-width joiner, a variation selector,
    a combining mark) is escaped whole, so it still shows as something.

    >>> printable("a\\nb\\x1b[31m"), printable("\\u200d"), printable("👨\\u200d👩")
    ('a\\\\nb\\\\x1b[31m', '\\\\u200d', '👨\\u200d👩')
    """
    if text.isprintable():
        return text
    invisible = all(unicodedata.category(ch) in _INVISIBLE for ch in text)
    out = []
    for ch in text:
        if ch in _CONTROL_NAMES:
            out.append(_CONTROL_NAMES[ch])
        elif unicodedata.category(ch) in ("Cc", "Zl", "Zp") or (invisible and ch != " "):
            code = ord(ch)
            out.append(
                f"\\x{code:02x}"
                if code < 0x100
                else f"\\u{code:04x}"
                if code < 0x10000
                else f"\\U{code:08x}"
            )
        else:
            out.append(ch)
    return "".join(out)


_INVISIBLE = frozenset({"Cc", "Cf", "Mn", "Me", "Zs", "Zl", "Zp", "Co", "Cn", "Cs"})


def _safe_terminal(text: str) -> str:
    """Keep newlines and tabs; escape other control characters (no escape-sequence injection)."""
    if text.isprintable():
        return text
    return "".join(
        ch if ch in "\n\t" or unicodedata.category(ch) != "Cc" else printable(ch) for ch in text
    )


def _width(text: str) -> int:
    """Terminal columns of ``text`` (wide East Asian characters count 2, combining marks 0)."""
    width = 0
    for ch in text:
        if unicodedata.combining(ch) or ch in "\u200d\ufe0f" or unicodedata.category(ch) == "Mn":
            continue
        width += 2 if unicodedata.east_asian_width(ch) in "WF" else 1
    return width


def _pad(text: str, width: int) -> str:
    return text + " " * max(0, width - _width(text))


# -- units as text pieces --------------------------------------------------------------------------


def segments(text: str, units: Iterable[Unit]) -> list[tuple[str, Unit | None]]:
    """``text`` cut into pieces: each unit with its text, and the gaps between units with None.

    Joining the pieces gives ``text`` back (words leave whitespace in gaps; characters and
    graphemes tile the text).

    >>> from tokbytes import decode
    >>> doc = decode([{"token": "hi there", "bytes": list(b"hi there"), "logprob": -0.1}])
    >>> [(piece, unit is not None) for piece, unit in segments(doc.text, doc.words)]
    [('hi', True), (' ', False), ('there', True)]
    """
    out: list[tuple[str, Unit | None]] = []
    position = 0
    for unit in units:
        if unit.start > position:
            out.append((text[position : unit.start], None))
        out.append((text[unit.start : unit.end], unit))
        position = unit.end
    if position < len(text):
        out.append((text[position:], None))
    return out


#: Order of listed rows: ``"position"`` (text order) or ``"prob"`` (least probable first).
Sort = Literal["position", "prob"]
#: The levels the console script shows: the unit levels, and ``"token"``.
VIEW_LEVELS = ("char", "grapheme", "word", "token")


def level_units(doc: Decoded, level: str = "word") -> list[Unit]:
    """The units of ``level`` (``"char"``, ``"grapheme"``, ``"word"``), or with ``"token"`` each
    token that completes a character as a unit of the characters it completes (its ``text``; a
    character split over tokens takes the score of the token that completes it).

    >>> from tokbytes import decode
    >>> doc = decode([{"token": "\\xec\\x9a", "bytes": [236, 154], "logprob": -0.2},
    ...               {"token": "\\xb8!", "bytes": [184, 33], "logprob": -0.3}])
    >>> [(u.text, u.start, u.end, u.tokens, u.logprob) for u in level_units(doc, "token")]
    [('울!', 0, 2, (1,), -0.3)]
    """
    if level != "token":
        return list(doc.units(level))  # type: ignore[arg-type]
    out = []
    position = 0
    for token in doc.tokens:
        end = position + len(token.text)
        if token.text:
            out.append(
                Unit(
                    token.text,
                    position,
                    end,
                    token.byte_start,
                    token.byte_end,
                    (token.index,),
                    token.logprob,
                )
            )
        position = end
    return out


def terminal_heatmap(doc: Decoded, level: str = "word", *, color: ColorMode = "truecolor") -> str:
    """The text with each unit's background colored by its probability (ANSI escapes).

    With ``color=None`` this is exactly ``doc.text``. Control characters other than newline and tab
    are shown as escapes when coloring, so model output cannot drive the terminal.

    >>> from tokbytes import decode
    >>> doc = decode([{"token": "ok", "bytes": [111, 107], "logprob": 0.0}])
    >>> terminal_heatmap(doc, color="256")
    '\\x1b[48;5;113;38;5;234mok\\x1b[0m'
    """
    if color is None:
        return doc.text
    out = []
    for piece, unit in segments(doc.text, level_units(doc, level)):
        piece = _safe_terminal(piece)
        if unit is None:
            out.append(piece)
            continue
        start = ansi_background(color_for(unit.prob), color)
        # color each line separately so a newline inside a unit does not paint the margin
        out.append("\n".join(start + line + _RESET if line else "" for line in piece.split("\n")))
    return "".join(out)


def legend_text(color: ColorMode) -> str:
    """A one-line legend of the color scale for the terminal ("" when plain).

    >>> legend_text(None)
    ''
    """
    if color is None:
        return ""
    cells = []
    for p in (0.0, 0.1, 0.25, 0.4, 0.5, 0.6, 0.75, 0.9, 1.0):
        cells.append(ansi_background(color_for(p), color) + f" {p:g} " + _RESET)
    return "probability: " + "".join(cells)


# -- rows: JSON, CSV and tables --------------------------------------------------------------------


def select(
    probs: Sequence[float],
    *,
    threshold: float | None = None,
    top: int | None = None,
    sort: Sort = "position",
    listed: Sequence[bool] | None = None,
) -> list[int]:
    """Positions of the rows to list: those below ``threshold`` (and ``listed``, when given),
    then the ``top`` least probable of them (unknown probabilities are never among them), in
    text order or, with ``sort="prob"``, least probable first (ties in text order, unknown last).

    >>> select([0.9, 0.2, float("nan"), 0.5], threshold=0.95, sort="prob")
    [1, 3, 0]
    >>> select([0.9, 0.2, float("nan"), 0.5], top=2)
    [1, 3]
    """
    chosen = [i for i, p in enumerate(probs) if threshold is None or p < threshold]
    if threshold is None and top is None:
        chosen = list(range(len(probs)))
    if listed is not None:  # e.g. punctuation left out of the least certain words
        chosen = [i for i in chosen if listed[i]]
    if top is not None:
        scored = sorted((i for i in chosen if probs[i] == probs[i]), key=lambda i: (probs[i], i))
        chosen = sorted(scored[:top])
    if sort == "prob":
        chosen.sort(
            key=lambda i: (probs[i] != probs[i], probs[i] if probs[i] == probs[i] else 0, i)
        )
    return chosen


def _prob_of(logprob: float) -> float:
    return math.exp(logprob) if not math.isnan(logprob) else math.nan


def token_rows(doc: Decoded) -> list[dict[str, Any]]:
    """Every token as a JSON-ready dict ``{index, token, text, start, end, logprob, prob, entropy,
    margin, rank, alternatives}`` (``alternatives``: ``[text, logprob, chosen]`` from
    ``Decoded.alternatives``; non-finite numbers become None).

    >>> from tokbytes import decode
    >>> row = token_rows(decode([{"token": "hi", "bytes": [104, 105], "logprob": -0.5}]))[0]
    >>> row["text"], row["start"], row["end"], row["entropy"], row["rank"], row["alternatives"]
    ('hi', 0, 2, None, None, [])
    """
    entropies, margins, ranks = doc.tokens.entropies(), doc.tokens.margins(), doc.tokens.ranks()
    rows = []
    for token in doc.tokens:
        j = token.index
        start, end = doc.token_to_chars(j)
        rows.append(
            {
                "index": j,
                "token": token.token,
                "text": token.text,
                "start": start,
                "end": end,
                "logprob": _finite(token.logprob),
                "prob": _finite(token.prob),
                "entropy": _finite(entropies[j]),
                "margin": _finite(margins[j]),
                "rank": ranks[j],
                "alternatives": [
                    [alt.text, _finite(alt.logprob), alt.chosen] for alt in doc.alternatives(j)
                ],
            }
        )
    return rows


def unit_rows(
    doc: Decoded,
    level: str = "word",
    *,
    threshold: float | None = None,
    top: int | None = None,
    sort: Sort = "position",
) -> list[dict[str, Any]]:
    """The units of ``level`` as JSON-ready dicts ``{text, start, end, logprob, prob, tokens}``
    (with ``"token"``: :func:`token_rows`).

    With ``threshold``, only units whose probability is below it; with ``top``, the ``top`` least
    probable; ``sort`` orders them (see :func:`select`). Non-finite numbers (NaN for unknown bytes)
    become None.

    >>> from tokbytes import decode
    >>> doc = decode([{"token": "hi", "bytes": [104, 105], "logprob": -0.5}])
    >>> unit_rows(doc, "char")[1]
    {'text': 'i', 'start': 1, 'end': 2, 'logprob': -0.5, 'prob': 0.6065306597126334, 'tokens': [0]}
    """
    if level == "token":
        rows = token_rows(doc)
        probs = [_prob_of(t.logprob) for t in doc.tokens]
        return [rows[i] for i in select(probs, threshold=threshold, top=top, sort=sort)]
    units = list(doc.units(level))  # type: ignore[arg-type]
    probs = [_prob_of(u.logprob) for u in units]
    return [
        {
            "text": units[i].text,
            "start": units[i].start,
            "end": units[i].end,
            "logprob": _finite(units[i].logprob),
            "prob": _finite(probs[i]),
            "tokens": list(units[i].tokens),
        }
        for i in select(probs, threshold=threshold, top=top, sort=sort)
    ]


def json_text(
    doc: Decoded,
    level: str = "word",
    *,
    threshold: float | None = None,
    top: int | None = None,
    sort: Sort = "position",
) -> str:
    """``{"text", "level", "units": [...]}`` as JSON (units as :func:`unit_rows`).

    >>> from tokbytes import decode
    >>> print(json_text(decode([{"token": "é", "bytes": [195, 169], "logprob": 0.0}]), "char"))
    {"text": "é", "level": "char", "units": [{"text": "é", "start": 0, "end": 1, "logprob": 0.0, "prob": 1.0, "tokens": [0]}]}
    """
    rows = unit_rows(doc, level, threshold=threshold, top=top, sort=sort)
    return json.dumps({"text": doc.text, "level": level, "units": rows}, ensure_ascii=False)


CSV_FIELDS = ("text", "start", "end", "logprob", "prob", "tokens")
#: Columns of the token-level CSV (``alternatives``: their texts joined by `` | ``).
TOKEN_CSV_FIELDS = (
    "index", "token", "text", "start", "end", "logprob", "prob", "entropy", "margin", "rank",
    "alternatives",
)  # fmt: skip


def _csv_cells(row: dict[str, Any], level: str) -> list[Any]:
    def cell(value: Any) -> Any:
        return "" if value is None else value

    if level == "token":
        cells = [cell(row[k]) for k in TOKEN_CSV_FIELDS[:-1]]
        return [*cells, " | ".join(alt[0] for alt in row["alternatives"])]
    return [
        row["text"],
        row["start"],
        row["end"],
        cell(row["logprob"]),
        cell(row["prob"]),
        " ".join(map(str, row["tokens"])),
    ]


def csv_text(
    doc: Decoded | Sequence[tuple[str, Decoded]],
    level: str = "word",
    *,
    threshold: float | None = None,
    top: int | None = None,
    sort: Sort = "position",
) -> str:
    """The units as one CSV table (header ``text,start,end,logprob,prob,tokens``; tokens
    space-separated; with ``"token"`` the columns :data:`TOKEN_CSV_FIELDS`). Given several
    ``(name, doc)`` pairs, one table still: a first column ``document`` names each row's.

    >>> from tokbytes import decode
    >>> print(csv_text(decode([{"token": "a,b", "bytes": [97, 44, 98], "logprob": 0.0}])), end="")
    text,start,end,logprob,prob,tokens
    a,0,1,0.0,1.0,0
    ",",1,2,0.0,1.0,0
    b,2,3,0.0,1.0,0
    """
    fields = TOKEN_CSV_FIELDS if level == "token" else CSV_FIELDS
    named = not isinstance(doc, Decoded)
    documents = list(doc) if not isinstance(doc, Decoded) else [("", doc)]
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(("document", *fields) if named else fields)
    for name, one in documents:
        for row in unit_rows(one, level, threshold=threshold, top=top, sort=sort):
            cells = _csv_cells(row, level)
            writer.writerow([name, *cells] if named else cells)
    return out.getvalue()


def _token_label(token: Token) -> str:
    return printable(token.token)


def _measure(value: float) -> str:
    return "-" if value != value else f"{value:.3f}"


def unit_table(
    doc: Decoded,
    level: str = "word",
    *,
    threshold: float | None = None,
    color: ColorMode = None,
    leave_out: Collection[str] = (),
    top: int | None = None,
    sort: Sort = "position",
) -> str:
    """An aligned table of the units (``#  text  prob  logprob  tokens``) for the terminal.

    The tokens column shows the token strings as the provider gave them, so partial characters
    read ``\\xeb\\xaf``. With ``threshold``, only units below that probability; with ``top``,
    the ``top`` least probable; ``sort="prob"`` lists the least probable first. With
    ``"token"``: one row per token, ``#  token  text  prob  logprob  entropy  margin  rank
    alternatives`` (the three most likely alternatives as text, see ``Decoded.alternatives``).
    Units whose kind (:meth:`~tokbytes.UnitSequence.kinds`, e.g. ``"punctuation"``) is in
    ``leave_out`` are not listed.

    >>> from tokbytes import decode
    >>> doc = decode([{"token": " 서", "bytes": [32, 236, 132, 156], "logprob": -0.01},
    ...               {"token": "\\\\xec\\\\x9a", "bytes": [236, 154], "logprob": -0.2},
    ...               {"token": "\\\\xb8", "bytes": [184], "logprob": -0.3}])
    >>> print(unit_table(doc))
      #  word  prob   logprob  tokens
      0  서울  0.600  -0.51    ' 서' '\\xec\\x9a' '\\xb8'
    """
    tokens = list(doc.tokens)
    rows: list[tuple[list[str], float]] = []
    if level == "token":
        header = [
            "#",
            "token",
            "text",
            "prob",
            "logprob",
            "entropy",
            "margin",
            "rank",
            "alternatives",
        ]
        entropies, margins, ranks = doc.tokens.entropies(), doc.tokens.margins(), doc.tokens.ranks()
        probs = [_prob_of(t.logprob) for t in tokens]
        for j in select(probs, threshold=threshold, top=top, sort=sort):
            token = tokens[j]
            alternatives = " | ".join(printable(a.text) for a in doc.alternatives(j)[:3])
            cells = [
                str(j),
                "'" + _token_label(token) + "'",
                printable(token.text),
                format_prob(probs[j]),
                format_logprob(token.logprob),
                _measure(entropies[j]),
                _measure(margins[j]),
                "-" if ranks[j] is None else str(ranks[j]),
                alternatives,
            ]
            rows.append((cells, probs[j]))
        prob_column = 3
    else:
        header = ["#", level, "prob", "logprob", "tokens"]
        units = list(doc.units(level))  # type: ignore[arg-type]
        probs = [_prob_of(u.logprob) for u in units]
        listed = _listed(doc.units(level), leave_out)  # type: ignore[arg-type]
        for position in select(probs, threshold=threshold, top=top, sort=sort, listed=listed):
            unit = units[position]
            sentinel = any(is_sentinel(tokens[j].logprob) for j in unit.tokens)
            cells = [
                str(position),
                printable(unit.text),
                format_prob(probs[position]),
                "below top 20" if sentinel else format_logprob(unit.logprob),
                " ".join("'" + _token_label(tokens[j]) + "'" for j in unit.tokens),
            ]
            rows.append((cells, probs[position]))
        prob_column = 2
    return _aligned(header, rows, prob_column, color)


def _aligned(
    header: list[str], rows: list[tuple[list[str], float]], prob_column: int, color: ColorMode
) -> str:
    """Columns padded to their terminal width (the last one left ragged), the first right-aligned
    and the probability cell colored."""
    widths = [
        max([_width(h)] + [_width(cells[i]) for cells, _ in rows]) for i, h in enumerate(header)
    ]
    widths[0] += 2
    lines = []
    for cells, prob in [(header, math.nan), *rows]:
        out = [cells[0].rjust(widths[0])]
        for i in range(1, len(cells)):
            cell = cells[i] if i == len(cells) - 1 else _pad(cells[i], widths[i])
            if i == prob_column and color is not None and cells is not header:
                text = cells[i]
                cell = ansi_background(color_for(prob), color) + text + _RESET + cell[len(text) :]
            out.append(cell)
        lines.append("  ".join(out))
    return "\n".join(line.rstrip() for line in lines)


# -- many responses --------------------------------------------------------------------------------


class Summary(NamedTuple):
    """One response of many, summarized (a row of ``tokbytes show`` on a batch file)."""

    id: str
    """The response's ``custom_id`` (Batch API), else its ``id``, else ``line N``."""
    tokens: int
    """Number of tokens."""
    chars: int
    """Number of characters of the decoded text."""
    words: int
    """Number of words."""
    mean_word_prob: float
    """Mean of the words' probabilities (NaN when there are none)."""
    min_word_prob: float
    """Lowest word probability (NaN when there are no words)."""
    lowest_word: str
    """The word with the lowest probability ("" when there are none)."""
    error: str = ""
    """Why the response could not be decoded ("" when it was)."""


def summarize(doc: Decoded, id: str = "", *, leave_out: Collection[str] = ()) -> Summary:
    """Token and character counts and word-probability statistics of one response.

    Probabilities (not logprobs) are averaged, so a ``-9999.0`` sentinel counts as 0 and cannot
    drag the mean to minus infinity. Words with unknown scores (NaN) are left out; so are words
    whose kind is in ``leave_out`` from the lowest word and its probability.

    >>> from tokbytes import decode
    >>> doc = decode([{"token": "yes", "bytes": list(b"yes"), "logprob": 0.0},
    ...               {"token": " no", "bytes": list(b" no"), "logprob": -9999.0}])
    >>> summarize(doc, "r1")
    Summary(id='r1', tokens=2, chars=6, words=2, mean_word_prob=0.5, min_word_prob=0.0, lowest_word='no', error='')
    """
    listed = _listed(doc.words, leave_out)
    scored = [
        (math.exp(w.logprob), w.text, keep)
        for w, keep in zip(doc.words, listed)
        if not math.isnan(w.logprob)
    ]
    candidates = [(p, text) for p, text, keep in scored if keep]
    mean = math.fsum(p for p, _, _ in scored) / len(scored) if scored else math.nan
    low_prob, low_text = min(candidates, key=lambda pair: pair[0]) if candidates else (math.nan, "")
    return Summary(id, len(doc.tokens), len(doc.text), len(doc.words), mean, low_prob, low_text)


SUMMARY_FIELDS = Summary._fields


def _listed(units: Any, leave_out: Collection[str]) -> list[bool]:
    """For each unit, whether tables list it (its kind is not left out)."""
    if not leave_out:
        return [True] * len(units)
    return [kind not in leave_out for kind in units.kinds()]


def summary_rows(summaries: Iterable[Summary]) -> list[dict[str, Any]]:
    """Summaries as JSON-ready dicts (NaN → None).

    >>> summary_rows([Summary("a", 1, 2, 1, 0.5, 0.5, "hi")])[0]["mean_word_prob"]
    0.5
    """
    return [
        {k: (_finite(v) if isinstance(v, float) else v) for k, v in s._asdict().items()}
        for s in summaries
    ]


def summary_table(summaries: Sequence[Summary]) -> str:
    """An aligned table of many responses: id, tokens, chars, mean/min word prob, lowest word.

    >>> print(summary_table([Summary("req-1", 12, 40, 8, 0.91234, 0.4, "Paris")]))
    id     tokens  chars  mean p  min p  lowest word
    req-1      12     40   0.912  0.400  Paris
    """
    header = ("id", "tokens", "chars", "mean p", "min p", "lowest word")
    rows = []
    for s in summaries:
        if s.error:
            rows.append((printable(s.id), "", "", "", "", "error: " + printable(s.error)))
        else:
            rows.append(
                (
                    printable(s.id),
                    str(s.tokens),
                    str(s.chars),
                    format_prob(s.mean_word_prob),
                    format_prob(s.min_word_prob),
                    printable(s.lowest_word),
                )
            )
    widths = [max([_width(h)] + [_width(r[i]) for r in rows]) for i, h in enumerate(header)]
    lines = []
    for row in [header, *rows]:
        cells = [_pad(row[0], widths[0])]
        cells += [cell.rjust(width) for cell, width in zip(row[1:5], widths[1:5])]
        cells.append(row[5])
        lines.append("  ".join(cells).rstrip())
    return "\n".join(lines)


# -- HTML ------------------------------------------------------------------------------------------


def _script_json(value: Any) -> str:
    """JSON safe inside ``<script>``: ASCII only, and no ``<``, ``>`` or ``&`` characters."""
    text = json.dumps(value, ensure_ascii=True, separators=(",", ":"), allow_nan=False)
    return text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")


#: How many alternatives of a token the hover details show (plus the chosen one, if lower).
_SHOWN_ALTERNATIVES = 6


def _token_data(token: Token, buffer: bytes, *, alternatives: bool = True) -> dict[str, Any]:
    """What the hover details show of a token; alternatives read by the public rule
    (:func:`tokbytes.measures.alternative_texts`), most likely first (none when left out)."""
    if not alternatives:
        token = token._replace(top_logprobs=())
    prefix = continued_bytes(buffer, token.byte_start) if token.bytes else b""
    listed = alternative_texts(token.top_logprobs, token.bytes, prefix=prefix, token=token.token)
    # the details show the most likely few, and the chosen one wherever it ranks
    shown = [alt for rank, alt in enumerate(listed) if rank < _SHOWN_ALTERNATIVES or alt.chosen]
    alts = [
        [
            printable(alt.text),
            None if is_sentinel(alt.logprob) else _finite(alt.logprob),
            alt.chosen,
        ]
        for alt in shown
    ]
    return {
        "i": token.index,
        "t": printable(token.token),
        "hex": token.bytes.hex(" "),
        "lp": None if is_sentinel(token.logprob) else _finite(token.logprob),
        "alts": alts,
    }


_CSS = """
:root { color-scheme: light; }
body { font: 15px/1.5 system-ui, -apple-system, "Segoe UI", "Noto Sans", sans-serif;
  margin: 24px auto; max-width: 960px; padding: 0 16px; color: #1a1a1a; background: #fff; }
h1 { font-size: 20px; margin: 0 0 4px; }
h2 { font-size: 17px; margin: 28px 0 4px; }
.meta { color: #555; font-size: 13px; margin: 0 0 10px; }
.heat { font-size: 20px; line-height: 2; white-space: pre-wrap; overflow-wrap: anywhere;
  border: 1px solid #ddd; border-radius: 6px; padding: 12px 14px; background: #fff; }
.heat .u { border-radius: 3px; color: #1a1a1a; cursor: pointer;
  box-shadow: inset -1px 0 0 rgba(255,255,255,.85); }
.heat .u:hover, .heat .u.sel { outline: 2px solid #1a1a1a; }
.legend { display: flex; align-items: center; gap: 10px; font-size: 13px; color: #333;
  margin: 10px 0 4px; flex-wrap: wrap; }
.bar { width: 260px; height: 14px; border-radius: 3px; border: 1px solid #bbb;
  background: linear-gradient(to right, %(gradient)s); }
.ticks { display: flex; justify-content: space-between; width: 262px; font-size: 11px; }
.swatch { display: inline-block; width: 14px; height: 14px; border-radius: 3px;
  border: 1px solid #bbb; vertical-align: -3px; }
#tip { position: fixed; z-index: 10; display: none; max-width: 520px; background: #fffef7;
  max-height: 70vh; overflow: auto;
  border: 1px solid #888; border-radius: 6px; padding: 8px 10px; font-size: 13px;
  box-shadow: 0 2px 8px rgba(0,0,0,.2); pointer-events: none; }
#tip table, table.low { border-collapse: collapse; }
#tip td, #tip th { padding: 1px 6px; text-align: left; vertical-align: top; }
#tip code, table.low code { font-family: ui-monospace, Menlo, Consolas, monospace; font-size: 12px; }
#tip .alts { color: #333; }
code.tok { background: #eef; border: 1px solid #ccd; border-radius: 3px; padding: 0 3px;
  white-space: pre; }
table.low { font-size: 13px; margin-top: 6px; }
table.low td, table.low th { padding: 2px 8px; border-bottom: 1px solid #eee; text-align: left;
  vertical-align: top; }
table.low td:first-child { white-space: nowrap; }
.note { color: #666; font-size: 12px; }
"""

_JS = r"""
(function () {
  "use strict";
  var tip = document.getElementById("tip");
  function esc(s) {
    return String(s).replace(/[&<>"']/g, function (c) {
      return {"&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;"}[c];
    });
  }
  function lp(x) { return x === null ? "below top 20" : x.toPrecision(4); }
  function pr(x) {
    if (x === null) return "below top 20";
    var p = Math.exp(x);
    return p < 0.001 ? "<0.001" : p.toFixed(3);
  }
  function tok(s) { return "<code class=tok>" + esc(s) + "</code>"; }
  function details(doc, u) {
    var unit = doc.units[u];
    var h = "<div>" + tok(unit[7]) + " &nbsp; characters " + unit[1] + "–" + unit[2] +
      "</div><div>probability <b>" + (unit[4] === null ? "?" : unit[4].toFixed(4)) +
      "</b> &nbsp; logprob " + (unit[3] === null ? "?" : unit[3].toPrecision(4)) +
      (unit[6] ? " (a token is below the top 20)" : "") + "</div><table>" +
      "<tr><th>token</th><th>bytes</th><th>logprob</th><th>top alternatives</th></tr>";
    unit[5].forEach(function (j) {
      var t = doc.tokens[String(j)];
      var alts = t.alts.map(function (a) {
        return (a[2] ? "<b>" : "") + tok(a[0]) + "&nbsp;" + pr(a[1]) + (a[2] ? "</b>" : "");
      }).join(" ");
      h += "<tr><td>#" + t.i + "&nbsp;" + tok(t.t) + "</td><td><code>" + esc(t.hex) +
        "</code></td><td>" + lp(t.lp) + "</td><td class=alts>" + alts + "</td></tr>";
    });
    return h + "</table>";
  }
  var pinned = null;
  function open(el, x, y) {
    var doc = DATA[el.parentNode.getAttribute("data-doc")];
    tip.innerHTML = details(doc, +el.getAttribute("data-u"));
    tip.style.display = "block";
    x = Math.min(x, window.innerWidth - tip.offsetWidth - 8);
    if (y + tip.offsetHeight > window.innerHeight) y = Math.max(4, y - tip.offsetHeight - 40);
    tip.style.left = Math.max(4, x) + "px";
    tip.style.top = Math.max(4, y) + "px";
  }
  function openPinned() {
    var r = pinned.getBoundingClientRect();
    open(pinned, r.left, r.bottom + 8);
  }
  function show(ev) {
    var el = ev.target.closest ? ev.target.closest(".heat .u") : null;
    if (el) open(el, ev.clientX + 14, ev.clientY + 18);
    else if (pinned) openPinned();
    else tip.style.display = "none";
  }
  function pin(el) {
    if (pinned) pinned.classList.remove("sel");
    pinned = el;
    if (el) { el.classList.add("sel"); openPinned(); } else tip.style.display = "none";
  }
  function fromHash() {
    // #u<document>-<unit> pins that unit's details (click a unit to get its link)
    var m = /^#u(\d+)-(\d+)$/.exec(location.hash);
    pin(m ? document.querySelector('.heat[data-doc="' + m[1] + '"] .u[data-u="' + m[2] + '"]')
          : null);
  }
  var DATA = JSON.parse(document.getElementById("tokbytes-data").textContent);
  document.addEventListener("mouseover", show);
  document.addEventListener("mousemove", show);
  document.addEventListener("click", function (ev) {
    var el = ev.target.closest ? ev.target.closest(".heat .u") : null;
    if (el) {
      location.hash = "u" + el.parentNode.getAttribute("data-doc") + "-" + el.getAttribute("data-u");
    }
  });
  window.addEventListener("hashchange", fromHash);
  fromHash();
  // stamp each span's computed color (lets tests and tools read what the browser painted)
  Array.prototype.forEach.call(document.querySelectorAll(".heat .u"), function (el) {
    el.setAttribute("data-bg", getComputedStyle(el).backgroundColor);
  });
  document.documentElement.setAttribute("data-ready", "1");
})();
"""


def _unit_span(number: int, piece: str, logprob: float, *, sentinel: bool = False) -> str:
    """One heat-map unit as a ``<span class="u">`` colored by its probability (the markup the
    page and the notebook view share)."""
    prob = math.exp(logprob) if not math.isnan(logprob) else math.nan
    label = "below top 20" if sentinel else format_logprob(logprob)
    return (
        f'<span class="u" data-u="{number}" data-p="{format_prob(prob)}" '
        f'style="background-color:{hex_color(color_for(prob))}" '
        f'title="p={format_prob(prob)} logprob={html.escape(label)}">'
        f"{html.escape(piece, quote=False)}</span>"
    )


def heatmap_html(text: str, units: Iterable[Unit], *, level: str = "word") -> str:
    """An HTML fragment for a notebook (``Decoded._repr_html_``): the text with each unit colored
    as on the page (:func:`html_page`), the probability and logprob in each unit's tooltip, and a
    one-line legend. No script: it shows the same in Jupyter, VS Code and GitHub's viewer.

    >>> from tokbytes import decode
    >>> fragment = heatmap_html("a b", decode([{"token": "a b", "bytes": list(b"a b"), "logprob": 0.0}]).words)
    >>> fragment.count('class="u"'), 'background-color:#91cf60' in fragment
    (2, True)
    """
    pieces = []
    count = 0
    for piece, unit in segments(text, units):
        if unit is None:
            pieces.append(html.escape(piece, quote=False))
        else:
            pieces.append(_unit_span(count, piece, unit.logprob))
            count += 1
    gradient = ", ".join(f"{hex_color(rgb)} {p * 100:g}%" for p, rgb in COLOR_STOPS)
    return (
        '<div class="tokbytes-heatmap">'
        '<div class="heat" style="white-space:pre-wrap;overflow-wrap:anywhere;line-height:1.9;'
        "font-size:15px;color:#1a1a1a;background:#fff;padding:6px 8px;border:1px solid #ddd;"
        f'border-radius:4px">{"".join(pieces)}</div>'
        '<div style="font-size:11px;color:#555;margin-top:3px">'
        f"{count} {html.escape(level)}s · p = 0 "
        '<span style="display:inline-block;width:120px;height:9px;vertical-align:middle;'
        f'background:linear-gradient(to right, {gradient})"></span> 1 · hover for p and logprob'
        "</div></div>"
    )


def _document_html(
    number: int,
    title: str,
    doc: Decoded,
    level: str,
    threshold: float | None,
    leave_out: Collection[str] = (),
    *,
    alternatives: bool = True,
    top: int = 10,
    sort: Sort = "prob",
) -> tuple[str, dict[str, Any]]:
    """The heat map section of one document, and the data its hover details read."""
    tokens = list(doc.tokens)
    buffer = doc.bytes
    units = level_units(doc, level)
    pieces = []
    unit_data: list[list[Any]] = []
    used: set[int] = set()
    for piece, unit in segments(doc.text, units):
        if unit is None:
            pieces.append(html.escape(piece, quote=False))
            continue
        u = len(unit_data)
        sentinel = any(is_sentinel(tokens[j].logprob) for j in unit.tokens)
        prob = math.exp(unit.logprob) if not math.isnan(unit.logprob) else math.nan
        unit_data.append(
            [
                unit.text,
                unit.start,
                unit.end,
                _finite(unit.logprob),
                _finite(prob),
                list(unit.tokens),
                sentinel,
                printable(unit.text),
            ]
        )
        used.update(unit.tokens)
        pieces.append(_unit_span(u, piece, unit.logprob, sentinel=sentinel))
    data = {
        "units": unit_data,
        "tokens": {
            str(j): _token_data(tokens[j], buffer, alternatives=alternatives) for j in sorted(used)
        },
    }
    # the least confident units, as a table under the heat map
    probs = [_prob_of(u.logprob) for u in units]
    listed = _listed(doc.units(level), leave_out)  # type: ignore[arg-type]
    if threshold is not None:
        chosen = select(probs, threshold=threshold, sort=sort, listed=listed)
        caption = f"{len(chosen)} {level}s below p = {threshold:g}"
    else:
        chosen = select(probs, top=top, sort=sort, listed=listed)
        caption = f"the {len(chosen)} least confident {level}s"
    low = [units[i] for i in chosen if probs[i] == probs[i]]
    rows = []
    for unit in low:
        prob = math.exp(unit.logprob)
        rows.append(
            '<tr><td><span class=swatch style="background-color:'
            f'{hex_color(color_for(prob))}"></span> '
            f'<code class="tok">{html.escape(printable(unit.text))}</code></td>'
            f"<td>{format_prob(prob)}</td><td>{html.escape(format_logprob(unit.logprob))}</td>"
            "<td><code>"
            + html.escape(" ".join("'" + _token_label(tokens[j]) + "'" for j in unit.tokens))
            + "</code></td></tr>"
        )
    problems = "".join(f"<li>{html.escape(problem.message)}</li>" for problem in doc.problems[:20])
    section = (
        f'<section id="doc-{number}">'
        f"<h2>{html.escape(title)}</h2>"
        f'<p class="meta">{len(tokens)} tokens · {len(doc.text)} characters · '
        # at the char and token levels the units were just counted: say it once
        + ("" if level in ("char", "token") else f"{len(units)} {level}s · ")
        + f"attribution {html.escape(doc.attribution)}</p>"
        f'<div class="heat" data-doc="{number}">{"".join(pieces)}</div>'
        + (f'<ul class="note">{problems}</ul>' if problems else "")
        + (
            f'<table class="low"><caption class="note">{html.escape(caption)}</caption>'
            "<tr><th>text</th><th>prob</th><th>logprob</th><th>tokens</th></tr>"
            + "".join(rows)
            + "</table>"
            if rows
            else ""
        )
        + "</section>"
    )
    return section, data


def _summary_html(documents: Sequence[tuple[str, Decoded]]) -> str:
    """The table a page of many documents opens with: one row each, linking to its section."""
    rows = []
    for number, (name, doc) in enumerate(documents):
        s = summarize(doc, name)
        swatch = (
            f'<span class=swatch style="background-color:{hex_color(color_for(s.min_word_prob))}">'
            "</span> "
        )
        rows.append(
            f'<tr><td><a href="#doc-{number}">{html.escape(printable(s.id))}</a></td>'
            f"<td>{s.tokens}</td><td>{s.chars}</td><td>{format_prob(s.mean_word_prob)}</td>"
            f"<td>{swatch}{format_prob(s.min_word_prob)}</td>"
            f'<td><code class="tok">{html.escape(printable(s.lowest_word))}</code></td></tr>'
        )
    return (
        '<table class="low summary"><caption class="note">'
        f"{len(documents)} responses</caption>"
        "<tr><th>id</th><th>tokens</th><th>chars</th><th>mean p</th><th>min p</th>"
        "<th>lowest word</th></tr>" + "".join(rows) + "</table>"
    )


def html_page(
    documents: Sequence[tuple[str, Decoded]],
    level: str = "word",
    *,
    title: str = "tokbytes heat map",
    threshold: float | None = None,
    notes: Sequence[str] = (),
    leave_out: Collection[str] = (),
    alternatives: bool = True,
    top: int = 10,
    sort: Sort = "prob",
) -> str:
    """One self-contained HTML page (inline CSS and JS, no network) with a heat map per document.

    A page of several documents opens with a summary table (one row per document, linking to
    its section: :func:`summarize`). Under each heat map, a table of the ``top`` least confident
    units (or all below ``threshold``), least probable first (``sort="position"``: text order).
    ``alternatives=False`` leaves the tokens' alternatives out of the hover data (a much smaller
    page for many responses).

    Each unit is a ``<span class="u">`` whose background is :func:`color_for` of its
    probability; hovering shows its logprob, probability, tokens (bytes in hex) and those tokens'
    top alternatives, completed into characters where they continue one. All text is escaped;
    the hover data is JSON inside ``<script type="application/json">`` with ``<``, ``>`` and ``&``
    escaped. ``notes`` (e.g. responses that could not be decoded) are listed under the legend.

    >>> from tokbytes import decode
    >>> page = html_page([("x", decode([{"token": "<b>", "bytes": list(b"<b>"), "logprob": 0.0}]))])
    >>> "&lt;" in page and "<b>" not in page.split("<body>")[1].split("<script")[0]
    True
    """
    sections = []
    data = []
    for number, (name, doc) in enumerate(documents):
        section, doc_data = _document_html(
            number,
            name,
            doc,
            level,
            threshold,
            alternatives=alternatives,
            top=top,
            sort=sort,
            leave_out=leave_out,
        )
        sections.append(section)
        data.append(doc_data)
    gradient = ", ".join(f"{hex_color(rgb)} {p * 100:g}%" for p, rgb in COLOR_STOPS)
    ticks = "".join(f"<span>{p:g}</span>" for p, _ in COLOR_STOPS)
    legend = (
        '<div class="legend"><span>probability</span><div><div class="bar"></div>'
        f'<div class="ticks">{ticks}</div></div>'
        f'<span><span class="swatch" style="background-color:{hex_color(UNKNOWN_COLOR)}"></span>'
        " unknown</span>"
        '<span class="note">hover a '
        f"{html.escape(level)} for its tokens"
        + (" and alternatives" if alternatives else "")
        + " (click to pin it); "
        "logprob −9999 (“below top 20”) is the provider’s sentinel, shown as p&nbsp;=&nbsp;0</span>"
        "</div>"
    )
    return (
        "<!DOCTYPE html>\n"
        '<html lang="und"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        '<meta http-equiv="Content-Security-Policy" content="default-src \'none\'; '
        "style-src 'unsafe-inline'; script-src 'unsafe-inline'\">"
        f"<title>{html.escape(title)}</title>"
        f"<style>{_CSS.replace('%(gradient)s', gradient)}</style></head>\n<body>"
        f"<h1>{html.escape(title)}</h1>{legend}"
        + (
            '<ul class="note notes">'
            + "".join(f"<li>{html.escape(note)}</li>" for note in notes)
            + "</ul>"
            if notes
            else ""
        )
        + (_summary_html(documents) if len(documents) > 1 else "")
        + "".join(sections)
        + '<div id="tip"></div>'
        + f'<script type="application/json" id="tokbytes-data">{_script_json(data)}</script>'
        + f"<script>{_JS}</script></body></html>\n"
    )
