"""JSON values → character spans → scores: how sure the model was of each field of a JSON answer.

A small recursive-descent scanner reads the JSON *as generated* (inside ``Decoded.text``, after
prose or in a fenced ```` ```json ```` block) and records where every value sits: the content of a
string (inside its quotes, escapes kept as written), or the whole literal of any other value
(braces included for objects and arrays). Each span is then scored by the same code as every
other unit (:func:`tokbytes.units.span_unit`), so a field's tokens are the tokens whose *bytes*
make it, however the tokenizer cut its characters.

Mapping characters by the length of each token string (what other libraries do) drifts as soon as
a token holds part of a character: cl100k writes 대한민국 as 대, 한, ``\\xeb\\xaf``, ``\\xbc``,
``\\xea\\xb5``, ``\\xad``, and the last four token strings are 24 characters long for two
characters of text.

>>> from tokbytes import decode
>>> doc = decode([
...     {"token": '{"a": "', "bytes": list(b'{"a": "'), "logprob": 0.0},
...     {"token": "\\\\xec\\\\x9a", "bytes": [236, 154], "logprob": -0.5},
...     {"token": "\\\\xb8", "bytes": [184], "logprob": -0.25},
...     {"token": '"}', "bytes": list(b'"}'), "logprob": -0.125},
... ])
>>> [(f.path, f.kind, f.value, f.tokens, f.logprob) for f in doc.json_fields()]
[('', 'object', {'a': '울'}, (0, 1, 2, 3), -0.875), ('/a', 'string', '울', (1, 2), -0.75)]
"""

from __future__ import annotations

import json
import math
import re
from bisect import bisect_right
from collections.abc import Sequence
from typing import Any, Literal, NamedTuple, Protocol

from .alignment import Alignment, left_sum
from .errors import InputError
from .records import Alternative, Token
from .units import Attribution, build_units, span_unit


class Decoded(Protocol):
    """What this module reads of a :class:`tokbytes.Decoded`. A protocol, not an import:
    ``decoded.py`` imports this module, and imports point one way."""

    @property
    def alignment(self) -> Alignment: ...
    @property
    def attribution(self) -> Attribution: ...
    @property
    def tokens(self) -> Sequence[Token]: ...


__all__ = [
    "FieldAlternative",
    "JsonError",
    "JsonField",
    "JsonKind",
    "field_alternatives",
    "find_json",
    "json_fields",
]

JsonKind = Literal["object", "array", "string", "number", "true", "false", "null"]


class JsonField(NamedTuple):
    """One JSON value (object, array or leaf) of a generated JSON document, with its score.

    Character offsets index ``Decoded.text`` and are half-open. For a string, ``start``/``end``
    hold its content (inside the quotes, escapes as written) and ``literal_start``/
    ``literal_end`` the quotes too; for every other kind the two spans are the same literal
    (``{`` … ``}`` for objects, ``[`` … ``]`` for arrays).
    """

    path: str
    """JSON Pointer (RFC 6901) of the value: ``""`` for the root, ``"/country"``, ``"/tags/0"``;
    ``~`` and ``/`` in keys are written ``~0`` and ``~1``."""
    kind: JsonKind
    """One of ``"object"``, ``"array"``, ``"string"``, ``"number"``, ``"true"``, ``"false"``,
    ``"null"``."""
    value: Any
    """The parsed value, equal to ``json.loads`` of the literal (escapes decoded; for duplicate
    keys the object keeps the last, like ``json.loads``)."""
    text: str
    """The value as written: ``Decoded.text[start:end]`` (a string's content with its escapes)."""
    start: int
    """Character offset of the value's content (just after the opening quote of a string)."""
    end: int
    """Character offset just past the content (the closing quote of a string)."""
    literal_start: int
    """Character offset of the whole literal (the opening quote of a string)."""
    literal_end: int
    """Character offset just past the whole literal (past the closing quote of a string)."""
    key: str | int | None
    """The member's key (decoded) in an object, the element's index in an array, None for the
    root."""
    key_start: int | None
    """Character offset of the key's content (inside its quotes) for object members, else None."""
    key_end: int | None
    """Character offset just past the key's content for object members, else None."""
    tokens: tuple[int, ...]
    """Ascending indices of every token carrying at least one byte of ``[start, end)``; for an
    empty string ``""`` (an empty span), the tokens carrying its two quotes."""
    logprob: float
    """Score of ``[start, end)`` under the decode's attribution (``"cover"`` by default: the sum
    of the logprobs of ``tokens``). An empty string is scored by its two quotes: the token that
    closes the string at once is the one that chose it to be empty."""
    syntax_tokens: tuple[int, ...]
    """Tokens carrying at least one byte of the field's own syntax: the key's two quotes and the
    colon of an object member, and the two quotes of a string value. They often carry content
    too (cl100k writes ``' "'`` and ``'",'``), so they may overlap ``tokens``."""
    syntax_logprob: float
    """Score of the syntax characters: with ``"cover"`` the sum of the logprobs of
    ``syntax_tokens``; with ``"split"`` the sum of the characters' shares. 0.0 when none."""

    @property
    def prob(self) -> float:
        """``exp(logprob)``: the probability the model gave to the tokens behind the value."""
        return math.exp(self.logprob)


class FieldAlternative(NamedTuple):
    """What the model could have written where a value begins (see :func:`field_alternatives`)."""

    text: str
    """The alternative token's text from the value's first byte on: the bytes the chosen token
    carries before the value (an opening quote, ``": "``) are removed when the alternative starts
    with them too. Partial characters decode to U+FFFD."""
    logprob: float
    """The alternative's logprob at that position."""
    chosen: bool
    """True for the token that was generated."""
    aligned: bool
    """True when the alternative starts with the same bytes as the chosen token before the value,
    so ``text`` is a continuation of the same prefix; False otherwise (``text`` is then the whole
    alternative, e.g. ``null`` instead of ``"``)."""
    alternative: Alternative
    """The provider's alternative record."""

    @property
    def prob(self) -> float:
        """``exp(logprob)``."""
        return math.exp(self.logprob)


class JsonError(InputError):
    """The text holds no complete JSON document where one was looked for.

    ``offset`` is the character offset in ``Decoded.text`` where reading stopped, ``line`` and
    ``column`` the same place counted from 1, ``expected`` what would have been valid there,
    ``truncated`` is True when the text simply ends inside the document (an answer cut by
    ``max_tokens``), and ``token`` (from :class:`~tokbytes.InputError`) the token holding that
    character (the last token when the text ended).
    """

    def __init__(
        self,
        message: str,
        *,
        offset: int | None = None,
        line: int | None = None,
        column: int | None = None,
        expected: str = "",
        truncated: bool = False,
        token: int | None = None,
    ) -> None:
        super().__init__(message, token=token)
        self.offset = offset
        self.line = line
        self.column = column
        self.expected = expected
        self.truncated = truncated


# -- scanning ----------------------------------------------------------------------------------

# RFC 8259 grammar pieces. Digits are ASCII [0-9] (re's \d would also match other scripts' digits).
_WS = re.compile(r"[ \t\n\r]*")
_NUMBER = re.compile(r"-?(?:0|[1-9][0-9]*)(\.[0-9]+)?([eE][-+]?[0-9]+)?")
# A string's body up to (not including) its closing quote, as an unrolled loop: runs of plain
# characters, each escape followed by another run. Stops at '"', a bad escape, a raw control
# character (json.loads rejects U+0000-U+001F unescaped) or the end of the text.
_STRING_BODY = re.compile(r'[^"\\\x00-\x1f]*(?:\\(?:["\\/bfnrt]|u[0-9a-fA-F]{4})[^"\\\x00-\x1f]*)*')
_NUMBER_PREFIX = re.compile(
    r"-(?:0|[1-9][0-9]*)?|-?(?:0|[1-9][0-9]*)(?:\.[0-9]*)?(?:[eE][-+]?[0-9]*)?"
)
_ESCAPE_PREFIX = re.compile(r"\\(?:u[0-9a-fA-F]{0,3})?")
# The rest of the fence line is skipped unless the JSON starts on it ("```json{...": llama.cpp's
# JSON-schema replies).
_FENCE = re.compile(r"^[ \t]*(?:```|~~~)[ \t]*json\b(?:[^\n{\[]*\n)?", re.IGNORECASE | re.MULTILINE)
_VALUE_START = '{["-0123456789tfn'
_OPENERS = re.compile(r"[{\[]")
_LITERALS: tuple[tuple[str, JsonKind, Any], ...] = (
    ("true", "true", True),
    ("false", "false", False),
    ("null", "null", None),
)

# One value as scanned: path, kind, value, start, end, literal_start, literal_end, key,
# key_start, key_end, colon offset (members) — scored afterwards by _score().
_Raw = tuple[
    str, JsonKind, Any, int, int, int, int, str | int | None, int | None, int | None, int | None
]
_PLACEHOLDER: _Raw = ("", "null", None, 0, 0, 0, 0, None, None, None, None)


def _skip(pattern: re.Pattern[str], text: str, pos: int) -> int:
    """Offset just past what ``pattern`` (which may match nothing) matches at ``pos``."""
    match = pattern.match(text, pos)
    return match.end() if match else pos


class _Fail(Exception):
    """Where and why the scanner stopped (turned into a :class:`JsonError` by the caller)."""

    def __init__(self, pos: int, expected: str, within: str, committed: bool) -> None:
        super().__init__(expected)
        self.pos = pos
        self.expected = expected
        self.within = within
        self.committed = committed


def _where(kind: str, path: str) -> str:
    return f"the {kind} at {path}" if path else f"the root {kind}"


class _Scanner:
    """Reads one JSON value at a position, recording every value in document order."""

    __slots__ = ("committed", "raws", "text")

    def __init__(self, text: str) -> None:
        self.text = text
        self.raws: list[_Raw] = []
        #: Set once the document is unmistakably JSON (an object member or an array separator
        #: read): a failure after that is an error, not prose to skip.
        self.committed = False

    def fail(self, pos: int, expected: str, within: str) -> _Fail:
        return _Fail(pos, expected, within, self.committed)

    def value(
        self,
        pos: int,
        path: str,
        key: str | int | None = None,
        key_span: tuple[int, int, int] | None = None,
    ) -> tuple[Any, int]:
        """Scan the value at ``pos`` (no leading whitespace); return it and the offset past it."""
        text = self.text
        key_start, key_end, colon = key_span if key_span is not None else (None, None, None)
        char = text[pos : pos + 1]
        if char == '"':
            string, end = self.string(pos, _where("string", path))
            self.raws.append(
                (path, "string", string, pos + 1, end - 1, pos, end, key, key_start, key_end, colon)
            )
            return string, end
        if char == "{" or char == "[":
            slot = len(self.raws)
            self.raws.append(_PLACEHOLDER)  # filled in once the end is known
            kind: JsonKind
            container: dict[str, Any] | list[Any]
            if char == "{":
                kind, (container, end) = "object", self.object(pos, path)
            else:
                kind, (container, end) = "array", self.array(pos, path)
            self.raws[slot] = (
                path,
                kind,
                container,
                pos,
                end,
                pos,
                end,
                key,
                key_start,
                key_end,
                colon,
            )
            return container, end
        if char and char in "-0123456789":
            match = _NUMBER.match(text, pos)
            if _NUMBER_PREFIX.fullmatch(text, pos) and (match is None or match.end() < len(text)):
                raise self.fail(len(text), "the rest of the number", _where("number", path))
            if match is None:
                raise self.fail(pos + 1, "a digit", _where("number", path))
            literal, end = match.group(), match.end()
            try:
                number: Any = float(literal) if match.group(1) or match.group(2) else int(literal)
            except ValueError:  # more digits than int() accepts (sys.set_int_max_str_digits)
                raise self.fail(
                    pos,
                    "a number int() accepts (this one has too many digits)",
                    _where("number", path),
                ) from None
            self.raws.append(
                (path, "number", number, pos, end, pos, end, key, key_start, key_end, colon)
            )
            return number, end
        for word, word_kind, constant in _LITERALS:
            if text.startswith(word, pos):
                end = pos + len(word)
                self.raws.append(
                    (path, word_kind, constant, pos, end, pos, end, key, key_start, key_end, colon)
                )
                return constant, end
            if char and len(text) - pos < len(word) and word.startswith(text[pos:]):
                raise self.fail(len(text), f"the rest of {word!r}", _where(f"literal {word}", path))
        raise self.fail(
            pos,
            "a value (object, array, string, number, true, false or null)",
            _where("value", path),
        )

    def string(self, pos: int, within: str) -> tuple[str, int]:
        """Scan the string literal at ``pos`` (its opening quote); return it and the end."""
        text = self.text
        end = _skip(_STRING_BODY, text, pos + 1)
        if end < len(text) and text[end] == '"':
            content = text[pos + 1 : end]
            if "\\" in content:  # decode escapes exactly as json.loads does (surrogate pairs too)
                decoded: str = json.loads(text[pos : end + 1])
                return decoded, end + 1
            return content, end + 1
        if end >= len(text):
            raise self.fail(end, "'\"' closing the string", within)
        if text[end] == "\\":
            if _ESCAPE_PREFIX.fullmatch(text, end):
                raise self.fail(len(text), "the rest of the escape sequence", within)
            raise self.fail(
                end, 'a valid escape (\\" \\\\ \\/ \\b \\f \\n \\r \\t or \\uXXXX)', within
            )
        raise self.fail(
            end,
            f"an escaped control character (U+{ord(text[end]):04X} must be written "
            f"{json.dumps(text[end])})",
            within,
        )

    def object(self, pos: int, path: str) -> tuple[dict[str, Any], int]:
        text, result = self.text, dict[str, Any]()
        within = _where("object", path)
        pos = _skip(_WS, text, pos + 1)
        if text.startswith("}", pos):
            return result, pos + 1
        while True:
            if not text.startswith('"', pos):
                expected = "'\"' starting a key" + (" or '}'" if not result else "")
                raise self.fail(pos, expected, within)
            key, key_end = self.string(pos, f"a key of {within}")
            colon = _skip(_WS, text, key_end)
            if not text.startswith(":", colon):
                raise self.fail(colon, f"':' after the key {json.dumps(key)}", within)
            start = _skip(_WS, text, colon + 1)
            child = f"{path}/{key.replace('~', '~0').replace('/', '~1')}"
            result[key], pos = self.value(start, child, key, (pos + 1, key_end - 1, colon))
            self.committed = True
            pos = _skip(_WS, text, pos)
            if text.startswith("}", pos):
                return result, pos + 1
            if not text.startswith(",", pos):
                raise self.fail(pos, f"',' or '}}' after the member {child}", within)
            pos = _skip(_WS, text, pos + 1)

    def array(self, pos: int, path: str) -> tuple[list[Any], int]:
        text, result = self.text, list[Any]()
        within = _where("array", path)
        pos = _skip(_WS, text, pos + 1)
        if text.startswith("]", pos):
            return result, pos + 1
        while True:
            index = len(result)
            value, pos = self.value(pos, f"{path}/{index}", index)
            result.append(value)
            pos = _skip(_WS, text, pos)
            if text.startswith("]", pos):
                return result, pos + 1
            if not text.startswith(",", pos):
                raise self.fail(pos, f"',' or ']' after the element {path}/{index}", within)
            self.committed = True
            pos = _skip(_WS, text, pos + 1)


def _scan(text: str, pos: int) -> tuple[list[_Raw], int]:
    """Every value of the document starting at ``pos`` (raises _Fail) and the offset past it."""
    scanner = _Scanner(text)
    try:
        _, end = scanner.value(pos, "")
    except RecursionError:
        raise _Fail(
            pos, "a document nested less deeply (Python's recursion limit)", "the document", True
        ) from None
    return scanner.raws, end


# -- finding the document ------------------------------------------------------------------------


def _error(al: Alignment | None, text: str, fail: _Fail, start: int) -> JsonError:
    pos = fail.pos
    line = text.count("\n", 0, pos) + 1
    column = pos - (text.rfind("\n", 0, pos) + 1) + 1
    where = f"character {pos} (line {line}, column {column})"
    token = None
    if al is not None and al.token_ends:
        if pos < len(text):
            token = al.token_at_byte(al.char_bounds[pos]) + al.token_base
        else:
            token = len(al.token_ends) - 1 + al.token_base
    at_token = f", token {token}" if token is not None else ""
    truncated = pos >= len(text)
    if truncated:
        message = (
            f"the JSON document starting at character {start} ends at {where}{at_token} inside "
            f"{fail.within}: expected {fail.expected}; the output was probably cut by "
            "max_tokens (finish_reason 'length')"
        )
    else:
        message = (
            f"invalid JSON at {where}{at_token} inside {fail.within} (document starting at "
            f"character {start}): expected {fail.expected}, found {json.dumps(text[pos])}"
        )
    return JsonError(
        message,
        offset=pos,
        line=line,
        column=column,
        expected=fail.expected,
        truncated=truncated,
        token=token,
    )


def find_json(text: str, *, start: int | None = None, which: int = 0) -> tuple[int, int]:
    """``(start, end)``: the character span of a JSON document in ``text``.

    The search begins at ``start``, or when it is None just after the first ```` ```json ````
    fence line if the text has one, else at 0. If nothing but one JSON value (and whitespace)
    follows, that value is the document, whatever its kind. Otherwise the documents are the
    complete objects and arrays found left to right (a document's inner values are not searched
    again); ``which`` picks one (0 = the first, -1 = the last). A ``{`` or ``[`` that fails before
    its first object member or array separator is taken for prose and skipped (``see [1 of 3]``);
    one that fails later, or runs into the end of the text, raises :class:`JsonError`.

    >>> text = 'Sure! [draft] ```json\\n{"ok": true}\\n```'
    >>> find_json(text), text[22:34]
    ((22, 34), '{"ok": true}')
    """
    _, first, end = _find(text, start=start, which=which, alignment=None)
    return first, end


def _find(
    text: str, *, start: int | None, which: int, alignment: Alignment | None
) -> tuple[list[_Raw], int, int]:
    """:func:`find_json` plus the scanned values; ``alignment`` lets errors name the token."""
    size = len(text)
    if start is None:
        fence = _FENCE.search(text)
        start = fence.end() if fence else 0
    elif not (isinstance(start, int) and 0 <= start <= size):
        raise InputError(f"start={start!r} is outside the text: need 0 <= start <= {size}")
    if isinstance(which, bool) or not isinstance(which, int):
        raise InputError(f"which must be an int (0 = the first document), got {which!r}")

    # The whole rest is one value (also a scalar: a text that is just `42` or `"yes"` is JSON).
    first = _skip(_WS, text, start)
    if first < size and text[first] in _VALUE_START:
        try:
            raws, end = _scan(text, first)
        except _Fail:
            pass
        else:
            if _skip(_WS, text, end) == size and which in (0, -1):
                return raws, first, end

    found: list[tuple[list[_Raw], int, int]] = []
    furthest: tuple[_Fail, int] | None = None
    pos = start
    while which < 0 or len(found) <= which:
        match = _OPENERS.search(text, pos)
        if match is None:
            break
        candidate = match.start()
        try:
            raws, end = _scan(text, candidate)
        except _Fail as fail:
            if fail.committed or fail.pos >= size:
                raise _error(alignment, text, fail, candidate) from None
            if furthest is None or fail.pos > furthest[0].pos:
                furthest = (fail, candidate)
            pos = candidate + 1
            continue
        found.append((raws, candidate, end))
        pos = end
    if found and -len(found) <= which < len(found):
        return found[which]
    if found:
        raise InputError(
            f"which={which} but the text holds {len(found)} complete JSON document(s) "
            f"after character {start}"
        )
    if furthest is not None:
        raise _error(alignment, text, furthest[0], furthest[1])
    tail = text[start:]
    raise JsonError(
        f"no JSON object or array found after character {start} of the text "
        f"({len(tail)} characters: {tail[:60]!r}{'…' if len(tail) > 60 else ''})",
        offset=start,
        expected="'{' or '['",
        truncated=False,
    )


# -- scoring -------------------------------------------------------------------------------------


def _syntax(
    al: Alignment, chars: list[int], attribution: Attribution
) -> tuple[tuple[int, ...], float]:
    """Tokens carrying the given syntax characters (quotes, colons), and their score."""
    if not chars:
        return (), 0.0
    if attribution == "split":
        units = [span_unit(al, c, c + 1, "split") for c in chars]
        return tuple(sorted({j for u in units for j in u.tokens})), left_sum(
            u.logprob for u in units
        )
    # Syntax characters are ASCII: one byte each, so exactly one token carries each of them.
    bounds, ends, base = al.char_bounds, al.token_ends, al.token_base
    tokens = sorted({bisect_right(ends, bounds[c]) for c in chars})
    return tuple(j + base for j in tokens), left_sum(al.logprobs[j] for j in tokens)


def _score(al: Alignment, raws: list[_Raw], attribution: Attribution) -> tuple[JsonField, ...]:
    # Non-empty leaves are disjoint and in text order: score them in one batch, like words.
    leaves = [i for i, r in enumerate(raws) if r[1] not in ("object", "array") and r[4] > r[3]]
    starts, ends = [raws[i][3] for i in leaves], [raws[i][4] for i in leaves]
    scored = dict(zip(leaves, build_units(al, starts, ends, attribution)))
    text, out = al.text, []
    for i, raw in enumerate(raws):
        path, kind, value, start, end, lit_start, lit_end, key, key_start, key_end, colon = raw
        unit = scored.get(i)
        if unit is None:  # containers one by one; the empty string "" is scored by its quotes
            a, b = (start, end) if end > start else (lit_start, lit_end)
            unit = span_unit(al, a, b, attribution)
        chars = []
        if key_start is not None and key_end is not None and colon is not None:
            chars += [key_start - 1, key_end, colon]
        if kind == "string":
            chars += [lit_start, lit_end - 1]
        syntax_tokens, syntax_logprob = _syntax(al, chars, attribution)
        out.append(
            JsonField(
                path,
                kind,
                value,
                text[start:end],
                start,
                end,
                lit_start,
                lit_end,
                key,
                key_start,
                key_end,
                unit.tokens,
                unit.logprob,
                syntax_tokens,
                syntax_logprob,
            )
        )
    return tuple(out)


def json_fields(doc: Decoded, *, start: int | None = None, which: int = 0) -> tuple[JsonField, ...]:
    """Every value of a JSON document in ``doc.text``, in document order, scored.

    The backend of :meth:`tokbytes.Decoded.json_fields`; ``start`` and ``which`` choose the
    document as :func:`find_json` explains. Raises :class:`JsonError` (an
    :class:`~tokbytes.InputError`) saying where and why reading stopped.

    >>> from tokbytes import decode
    >>> doc = decode([{"token": t, "bytes": list(t.encode()), "logprob": -0.5}
    ...               for t in ['Here: ', '{"tags"', ': ["a', '", "b"]}']])
    >>> for f in json_fields(doc):
    ...     print(repr(f.path), f.kind, repr(f.text), f.start, f.end, f.tokens)
    '' object '{"tags": ["a", "b"]}' 6 26 (1, 2, 3)
    '/tags' array '["a", "b"]' 15 25 (2, 3)
    '/tags/0' string 'a' 17 18 (2,)
    '/tags/1' string 'b' 22 23 (3,)
    """
    al = doc.alignment
    raws, _, _ = _find(al.text, start=start, which=which, alignment=al)
    return _score(al, raws, doc.attribution)


def field_alternatives(doc: Decoded, field: JsonField) -> tuple[FieldAlternative, ...]:
    """The ``top_logprobs`` of the token where ``field``'s value begins, read as value text.

    For enum-like fields (``"sentiment": "positive"``) this shows what else the model weighed.
    The token holding the value's first byte (for an empty string, its closing quote) may carry
    syntax before it (``' "'``); each alternative that begins with the same bytes has them removed,
    so ``text`` lines up with the value. Sorted as the provider sent them; empty when the
    provider sent no alternatives.

    >>> from tokbytes import decode
    >>> alts = [{"token": '"pos', "bytes": list(b'"pos'), "logprob": -0.1},
    ...         {"token": '"neg', "bytes": list(b'"neg'), "logprob": -2.4},
    ...         {"token": "null", "bytes": list(b"null"), "logprob": -5.0}]
    >>> doc = decode([
    ...     {"token": '{"s": ', "bytes": list(b'{"s": '), "logprob": 0.0},
    ...     {"token": '"pos', "bytes": list(b'"pos'), "logprob": -0.1, "top_logprobs": alts},
    ...     {"token": 'itive"}', "bytes": list(b'itive"}'), "logprob": 0.0},
    ... ])
    >>> sentiment = doc.json_fields()[1]
    >>> [(a.text, a.logprob, a.chosen, a.aligned) for a in field_alternatives(doc, sentiment)]
    [('pos', -0.1, True, True), ('neg', -2.4, False, True), ('null', -5.0, False, False)]
    """
    al = doc.alignment
    if not 0 <= field.start <= len(al.text):
        raise InputError(f"field {field.path!r} starts outside the text (start={field.start})")
    byte = al.char_bounds[field.start]
    if not al.token_ends or byte >= len(al.buffer):
        return ()
    j = bisect_right(al.token_ends, byte)
    token = doc.tokens[j]
    prefix = al.buffer[al.token_start(j) : byte]
    out = []
    for alt in token.top_logprobs:
        if alt.bytes is None:
            out.append(FieldAlternative(alt.token, alt.logprob, False, False, alt))
            continue
        aligned = alt.bytes.startswith(prefix)
        rest = alt.bytes[len(prefix) :] if aligned else alt.bytes
        out.append(
            FieldAlternative(
                rest.decode("utf-8", "replace"),
                alt.logprob,
                alt.bytes == token.bytes,
                aligned,
                alt,
            )
        )
    return tuple(out)
