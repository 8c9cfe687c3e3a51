"""The compiled core (``tokbytes/_core.pyx``) against the pure-Python reference, and the build.

The core only takes the common case and must give exactly what the Python path gives: every
field of every token and unit, floats compared bit for bit (``float.hex``), errors with the same
type and message. The payloads come from ``tokbytes.strategies`` in every shape, cut or corrupted
so that both paths also meet truncated output, invalid UTF-8, empty tokens, SDK-style objects and
odd field types (which the core hands back to Python).
"""

from __future__ import annotations

import math
import os
import shutil
import subprocess
import sys
import sysconfig
from collections.abc import Iterator
from contextlib import contextmanager
from itertools import pairwise, product
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
import regex
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import tokbytes
import tokbytes.strategies as tbst
from tests.shared_data import require_shared
from tokbytes import _speedups, segmentation, units
from tokbytes.alignment import left_sum
from tokbytes.byte_reader import token_says as _token_says
from tokbytes.escapes import token_text_to_bytes
from tokbytes.recovery import doubtful, suspicious
from tokbytes.segmentation import _icu_pieces, _words_of_pieces, word_class
from tokbytes.units import grapheme_class

needs_core = pytest.mark.skipif(
    _speedups.core is None, reason="the compiled core is not in use (not built, or TOKBYTES_PURE)"
)
LEVELS = ("char", "grapheme", "word")


def _icu_installed() -> bool:
    try:
        import icu4py.breakers  # noqa: F401
    except ImportError:
        return False
    return True


needs_icu = pytest.mark.skipif(not _icu_installed(), reason='needs pip install "tokbytes[icu]"')


# -- a full picture of a decode, floats as hex ---------------------------------------------------


def _bits(value: Any) -> Any:
    """Floats as their exact bits (``float.hex``: -0.0 and 0.0 differ, NaN equals NaN)."""
    if isinstance(value, float):
        return "nan" if math.isnan(value) else value.hex()
    if isinstance(value, tuple | list):  # NamedTuples become plain tuples
        return (list if isinstance(value, list) else tuple)(map(_bits, value))
    return value


def _types(values: Any) -> list[str]:
    return [type(v).__name__ for v in values]


def _picture(
    doc: tokbytes.Decoded, cuts: list[int], spans: list[tuple[int, int]]
) -> dict[str, Any]:
    """Everything a user can read from ``doc``: text, tokens, problems, units of every level
    (iterated, indexed, sliced at ``cuts``, as columns) and spans."""
    out: dict[str, Any] = {
        "text": doc.text,
        "bytes": doc.bytes,
        "logprob": _bits(doc.logprob),
        "problems": doc.problems,
        "tokens": [_bits(tuple(t)) for t in doc.tokens],
    }
    for level in LEVELS:
        seq = doc.units(level)
        listed = [_bits(tuple(u)) for u in seq]
        n = len(seq)
        out[level] = listed
        out[f"{level} types"] = [_types(u) for u in seq]
        out[f"{level} columns"] = (
            _bits(seq.logprobs()),
            _types(seq.logprobs()),
            seq.starts(),
            seq.ends(),
            seq.texts(),
        )
        if n:
            picked = sorted({c % (n + 1) for c in cuts})
            out[f"{level} indexed"] = [_bits(tuple(seq[i])) for i in {0, n - 1, -1, *picked[:-1]}]
            out[f"{level} sliced"] = [
                [_bits(tuple(u)) for u in seq[a:b]] for a, b in zip(picked, picked[1:])
            ]
            out[f"{level} stepped"] = [_bits(tuple(u)) for u in seq[::2]]
    size = len(doc.text)
    chosen = [(min(a, b) % (size + 1), max(a, b) % (size + 1)) for a, b in spans]
    out["spans"] = [_bits(tuple(doc.span(*sorted(pair)))) for pair in chosen]
    return out


@contextmanager
def _batch(size: int) -> Iterator[None]:
    """Iterate the pure path's units in batches of ``size`` (the core has no batches)."""
    saved, units._BATCH = units._BATCH, size
    try:
        yield
    finally:
        units._BATCH = saved


def _outcome(run: Any) -> Any:
    try:
        return ("ok", run())
    except ValueError as exc:  # tokbytes errors: the same type and message both ways
        return ("error", type(exc).__name__, str(exc))


def _both(
    data: Any, *, batch: int, cuts: list[int], spans: list[tuple[int, int]], **options: Any
) -> None:
    def run() -> dict[str, Any]:
        return _picture(tokbytes.decode(data, **options), cuts, spans)

    compiled = _outcome(run)
    with _speedups.forced_pure(), _batch(batch):
        pure = _outcome(run)
    assert compiled == pure


# -- inputs: real shapes, then made unusual ------------------------------------------------------


def _as_object(record: dict[str, Any]) -> Any:
    """An SDK-style record: attributes instead of keys."""
    return SimpleNamespace(**record)


@st.composite
def _inputs(draw: st.DrawFn) -> tuple[Any, dict[str, Any]]:
    shape = draw(st.sampled_from(tbst.SHAPES[:-1]))  # langchain: covered by the records it holds
    payload = draw(tbst.payloads(shape=shape, top_logprobs=(0, 2)))
    options = {
        "attribution": draw(st.sampled_from(("cover", "split"))),
        "errors": draw(st.sampled_from(("strict", "replace"))),
    }
    if shape != "records":
        return payload.data, options
    records: list[Any] = [dict(r) for r in payload.tokens]
    for change in draw(st.lists(st.sampled_from(sorted(_CHANGES)), max_size=3)):
        if records:
            j = draw(st.integers(0, len(records) - 1))
            records = _CHANGES[change](records, j)
    if draw(st.booleans()):
        records = [_as_object(r) if isinstance(r, dict) else r for r in records]
    elif draw(st.booleans()):
        records = tuple(records)  # type: ignore[assignment]
    return records, options


def _drop(records: list[Any], j: int) -> list[Any]:  # often cuts a character: invalid UTF-8
    return records[:j] + records[j + 1 :]


def _empty(records: list[Any], j: int) -> list[Any]:
    return [*records[:j], {**records[j], "bytes": []}, *records[j:]]


def _as_bytes(records: list[Any], j: int) -> list[Any]:
    raw = records[j]["bytes"]
    if not isinstance(raw, list) or not all(isinstance(b, int) and 0 <= b <= 255 for b in raw):
        return records  # not a list, or made huge by _huge_byte: no bytes object says it
    return [*records[:j], {**records[j], "bytes": bytes(records[j]["bytes"])}, *records[j + 1 :]]


def _int_logprob(records: list[Any], j: int) -> list[Any]:
    return [*records[:j], {**records[j], "logprob": 0}, *records[j + 1 :]]


def _no_bytes(records: list[Any], j: int) -> list[Any]:  # bytes taken from the token string
    return [*records[:j], {**records[j], "bytes": None}, *records[j + 1 :]]


def _huge_byte(records: list[Any], j: int) -> list[Any]:  # beyond a C long: an InputError
    return [*records[:j], {**records[j], "bytes": [2**70]}, *records[j + 1 :]]


def _negative_zero(records: list[Any], j: int) -> list[Any]:
    return [*records[:j], {**records[j], "logprob": -0.0}, *records[j + 1 :]]


_CHANGES = {
    "drop": _drop,
    "empty": _empty,
    "as_bytes": _as_bytes,
    "int_logprob": _int_logprob,
    "no_bytes": _no_bytes,
    "negative_zero": _negative_zero,
    "huge_byte": _huge_byte,
}


@needs_core
@settings(suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(
    _inputs(),
    st.integers(1, 6),
    st.lists(st.integers(0, 10_000), min_size=2, max_size=5),
    st.lists(st.tuples(st.integers(0, 10_000), st.integers(0, 10_000)), max_size=4),
)
def test_compiled_equals_pure_bit_for_bit(
    given_input: tuple[Any, dict[str, Any]],
    batch: int,
    cuts: list[int],
    spans: list[tuple[int, int]],
) -> None:
    data, options = given_input
    _both(data, batch=batch, cuts=cuts, spans=spans, **options)


@needs_core
@settings(suppress_health_check=[HealthCheck.too_slow])
@given(tbst.payloads(top_logprobs=0, max_token_bytes=3), st.sampled_from(("cover", "split")))
def test_the_core_takes_plain_records_and_agrees_bit_for_bit(
    payload: tbst.Payload, attribution: str
) -> None:
    records = payload.tokens
    doc = tokbytes.decode(records, attribution=attribution)
    # The core read them (no Python bytes per token) and scores their units, unless the text
    # may be BPE symbols or byte pieces: then decode() reads them again by the recovery rules.
    if records and not suspicious(doc.text, doc.bytes):
        assert doc.alignment.token_lengths is None
        assert doc.alignment.core is not None
    _both(records, batch=3, cuts=[1, 5], spans=[(0, 7)], attribution=attribution)


def _iterated_keeping(
    records: list[Any], level: str, attribution: str, keep: list[bool]
) -> tuple[list[Any], list[Any], list[Any]]:
    """Every unit as read while iterating, the units kept (by ``keep``, cyclically) read again
    after the loop, and ``pairwise`` pairs read after the loop (each unit held for two steps)."""
    seq = tokbytes.decode(records, attribution=attribution).units(level)
    seen, kept = [], []
    for i, unit in enumerate(seq):
        seen.append(_bits(tuple(unit)))
        if keep[i % len(keep)]:
            kept.append(unit)
    pairs = list(pairwise(seq))
    held = next(iter(seq), None)  # a unit held by a name alone while another loop runs
    for _ in seq:
        pass
    return (
        seen,
        [_bits(tuple(u)) for u in kept] + [_bits(tuple(held or ()))],
        [(_bits(tuple(a)), _bits(tuple(b))) for a, b in pairs],
    )


@needs_core
@settings(suppress_health_check=[HealthCheck.too_slow])
@given(
    tbst.payloads(top_logprobs=0, max_token_bytes=3),
    st.sampled_from(LEVELS),
    st.sampled_from(("cover", "split")),
    st.lists(st.booleans(), min_size=1, max_size=5),
)
def test_units_kept_while_iterating_never_change(
    payload: tbst.Payload, level: str, attribution: str, keep: list[bool]
) -> None:
    """The core's iterator refills a unit it made two steps before when nothing else holds it
    (``for u in doc.chars`` drops each unit a step later): a unit the caller keeps, in a list,
    in ``pairwise`` or in a name, must never be refilled."""
    records = [dict(r) for r in payload.tokens]
    compiled = _iterated_keeping(records, level, attribution, keep)
    with _speedups.forced_pure():
        pure = _iterated_keeping(records, level, attribution, keep)
    assert compiled == pure


@needs_core
def test_the_core_hands_unusual_input_to_python() -> None:
    plain = [{"token": "가", "bytes": list("가".encode()), "logprob": -0.5}]
    assert _speedups.core.read_records(plain) is not None  # type: ignore[union-attr]
    unusual = {
        "empty token": [*plain, {"token": "", "bytes": [], "logprob": -0.1}],
        "int logprob": [{**plain[0], "logprob": 0}],
        "bool byte": [{**plain[0], "bytes": [True]}],
        "byte over 255": [{**plain[0], "bytes": [256]}],
        "huge int byte": [{**plain[0], "bytes": [2**70]}],
        "huge negative byte": [{**plain[0], "bytes": [-(2**70)]}],
        "no bytes": [{"token": "a", "logprob": -0.1}],
        "NaN": [{**plain[0], "logprob": math.nan}],
        "positive": [{**plain[0], "logprob": 0.5}],
        "string bytes": [{**plain[0], "bytes": "ab"}],
        "not a record": ["a"],
    }
    for why, records in unusual.items():
        assert _speedups.core.read_records(records) is None, why  # type: ignore[union-attr]
    # Invalid UTF-8 in replace mode: read by the core, decoded and reported by Python.
    cut = tokbytes.decode([{**plain[0], "bytes": [0xEA, 0xB0]}], errors="replace")
    assert cut.alignment.core is None and cut.problems[0].kind == "truncated"


# -- the summation rule --------------------------------------------------------------------------

# A character cut into three tokens: compensated summation (math.fsum, and sum() from Python
# 3.12) keeps the two tiny terms, the left-to-right rule loses both.
_THREE = [
    {"token": "\\xea", "bytes": [0xEA], "logprob": -1.0},
    {"token": "\\xb0", "bytes": [0xB0], "logprob": -1e-16},
    {"token": "\\x80", "bytes": [0x80], "logprob": -1e-16},
]


@pytest.mark.parametrize("path", ["compiled", "pure"])
def test_scores_are_summed_left_to_right_in_token_order(path: str) -> None:
    expected = ((0.0 + -1.0) + -1e-16) + -1e-16
    assert expected.hex() != math.fsum([-1.0, -1e-16, -1e-16]).hex()  # the rules differ here
    if path == "compiled" and _speedups.core is None:
        pytest.skip("the compiled core is not in use")
    with _speedups.forced_pure() if path == "pure" else _nothing():
        doc = tokbytes.decode(_THREE, attribution="cover")
        scores = [
            doc.chars[0].logprob,
            doc.chars.logprobs()[0],
            doc.graphemes[0].logprob,
            doc.words.logprobs()[0],
            doc.span(0, 1).logprob,
            doc.logprob,
        ]
    assert [s.hex() for s in scores] == [expected.hex()] * len(scores)


@contextmanager
def _nothing() -> Iterator[None]:
    yield


@given(st.lists(st.floats(max_value=0.0, allow_nan=False, allow_infinity=False), max_size=6))
def test_left_sum_is_the_plain_left_to_right_sum(values: list[float]) -> None:
    total = 0.0
    for value in values:
        total += value
    assert left_sum(values).hex() == total.hex()
    if _speedups.core is not None:
        assert _speedups.core.left_sum(values).hex() == total.hex()


# -- words of ASCII text: the UAX #29 rules in C against regex ------------------------------------

_WB_PROPERTIES = (
    "ALetter",
    "Numeric",
    "MidLetter",
    "MidNumLet",
    "Single_Quote",
    "MidNum",
    "ExtendNumLet",
    "WSegSpace",
    "CR",
    "LF",
    "Newline",
)
# One character of each Word_Break class ASCII has, Double_Quote and two Others among them.
_WB_SAMPLES = "aZ0:.',;_ \r\n\x0b\t\"!"


def _regex_words(text: str) -> tuple[list[int], list[int]]:
    """The pure path's words: ``regex`` ``(?w)\\b`` segments, kept and trimmed in Python."""
    starts, ends = _words_of_pieces(regex.split(r"(?w)\b", text))
    return list(starts), list(ends)


def _core_words(text: str) -> tuple[list[int], list[int]]:
    assert _speedups.core is not None
    starts, ends = _speedups.core.ascii_word_ranges(text)
    return list(starts), list(ends)


@needs_core
def test_the_cores_ascii_word_classes_are_regexs() -> None:
    assert _speedups.core is not None
    expected = []
    for code in range(128):
        found = [p for p in _WB_PROPERTIES if regex.match(rf"\p{{WB={p}}}", chr(code))]
        expected.append(found[0] if found else "Other")  # Double_Quote meets no ASCII rule
    assert _speedups.core.ascii_word_classes() == expected


def _short_ascii_texts() -> list[str]:
    """Every text of up to 4 characters of one of each class (the rules look two characters
    either way), and every ASCII character between and beside them."""
    texts = ["".join(chars) for size in range(5) for chars in product(_WB_SAMPLES, repeat=size)]
    for code in range(128):
        c = chr(code)
        for x, y in product(_WB_SAMPLES, repeat=2):
            texts += [x + c + y, c + x + y, x + y + c, c + c + x, x + c + y + c]
    return texts


@needs_core
def test_ascii_words_equal_regexs_on_every_short_text() -> None:
    """The core's rules stand in for ``regex`` exactly when they agree on every short text:
    the probe run once per process decides it (``regex`` 2026.9.29 joins ``'a``)."""
    differ = [t for t in _short_ascii_texts() if _core_words(t) != _regex_words(t)]
    assert segmentation._core_ascii_words("uax29") == (not differ), differ[:5]


@needs_core
@needs_icu
def test_icus_root_words_of_ascii_are_the_cores() -> None:
    """``words="icu"`` with the root locale takes the core's ASCII path when ICU's rules there
    are UAX #29's (a locale may tailor them: those always go to ICU)."""
    differ = []
    for text in _short_ascii_texts():
        starts, ends = _words_of_pieces(_icu_pieces(text, ""))
        if _core_words(text) != (list(starts), list(ends)):
            differ.append(text)
    assert segmentation._core_ascii_words("icu") == (not differ), differ[:5]


@needs_core
@given(st.text(alphabet=st.characters(max_codepoint=127), max_size=60), st.text(max_size=3))
def test_ascii_words_equal_regexs(text: str, more: str) -> None:
    if segmentation._core_ascii_words("uax29"):
        assert _core_words(text) == _regex_words(text)
    if not more.isascii():  # the rest: the regex path
        assert _speedups.core is not None
        assert _speedups.core.ascii_word_ranges(text + more) is None


# Characters that meet the rules next to ASCII: combining mark, ZWJ, emoji and modifier, regional
# indicators, Han, katakana, Hebrew letter and geresh, curly apostrophe (MidNumLet), no-break and
# narrow no-break spaces, precomposed letters, soft hyphen and word joiner (Format), ideographic
# space, NEL and line separator (Newline).
_NEAR_ASCII = "\u0301\u200d👍🏽🇰🇷中アא\u05f3\u2019\u00a0\u202fé×ß\u00ad\u2060\u3000\u0085\u2028"


@needs_core
@given(
    st.lists(
        st.one_of(st.sampled_from(_WB_SAMPLES + "bY19-$"), st.sampled_from(_NEAR_ASCII)),
        max_size=40,
    ),
    st.integers(0, 70),
)
def test_mostly_ascii_words_equal_regexs(chars: list[str], min_gap: int) -> None:
    """ASCII stretches in C, windows around the other characters through regex: the same words
    as regex on the whole text, wherever the windows are cut and merged."""
    if not segmentation._core_ascii_words("uax29"):
        return  # this regex disagrees with the core on ASCII: decode() never calls it
    assert _speedups.core is not None
    text = "".join(chars)
    starts, ends = _speedups.core.uax29_word_ranges(text, regex.compile(r"(?w)\b").split, min_gap)
    assert (list(starts), list(ends)) == _regex_words(text)


@needs_core
@pytest.mark.parametrize(
    "words",
    ["uax29", pytest.param("icu", marks=needs_icu), pytest.param("locale", marks=needs_icu)],
)
@settings(suppress_health_check=[HealthCheck.too_slow])
@given(
    payload=tbst.payloads(
        st.text(alphabet=_WB_SAMPLES + "bY19-$@( ", max_size=40)
        | st.text(alphabet=_WB_SAMPLES + "bY19-$@( " + _NEAR_ASCII[:12], max_size=40),
        top_logprobs=0,
    ),
    attribution=st.sampled_from(("cover", "split")),
)
def test_ascii_words_compiled_equal_pure_bit_for_bit(
    words: str, payload: tbst.Payload, attribution: str
) -> None:
    segmenter: Any = words
    if words == "locale":  # a locale may tailor the rules: ICU itself, both ways
        segmenter = tokbytes.WordSegmenter("icu", locale="en_US_POSIX")
    _both(
        payload.tokens,
        batch=4,
        cuts=[2, 7],
        spans=[(1, 9)],
        attribution=attribution,
        words=segmenter,
    )


# -- grapheme windows: made in C, the same as units.grapheme_bounds ------------------------------

# Characters that may join a neighbour (CR, Extend, ZWJ, SpacingMark, Prepend, regional
# indicators, Hangul jamo, conjunct linkers and consonants, astral tags and variation selectors)
# and some that never do.
_GRAPHEME_CHARS = (
    "a \r\n\u0301\u200d\ufe0f👍🏽👩🇰🇷\u0903\u0600\u1100\u1161\u11a8가각"
    "\u0915\u094d\u0924\u0e33\U000e0067\U000e007f\U000e0100🏴中\U00020000é"
)


@contextmanager
def _core_graphemes(table: str) -> Iterator[None]:
    """``grapheme_bounds`` through the core at every size, with the ``full`` joining table
    (as once a stream has used it) or only the ``low`` one (code points below U+20000)."""
    core = _speedups.core
    assert core is not None
    saved_min, units._CORE_GRAPHEMES_MIN = units._CORE_GRAPHEMES_MIN, 1
    if table == "full":
        core.set_joining(units.joining_flags())
    try:
        yield
    finally:
        units._CORE_GRAPHEMES_MIN = saved_min


@needs_core
@pytest.mark.parametrize("table", ["low", "full"])
@given(st.lists(st.sampled_from(_GRAPHEME_CHARS), max_size=30))
def test_core_grapheme_windows_equal_the_pure_paths(table: str, chars: list[str]) -> None:
    text = "".join(chars)
    if table == "low" and _speedups.core is not None and _speedups.core.has_joining():
        return  # the full table, once installed, stays: the low one is then never read
    with _speedups.forced_pure():
        expected = units.grapheme_bounds(text)
    with _core_graphemes(table):
        found = units.grapheme_bounds(text)
    assert list(found) == list(expected)
    assert isinstance(found, range) == isinstance(expected, range)  # the fast path stays


@needs_core
def test_core_grapheme_windows_on_grapheme_break_test() -> None:
    path = require_shared("unicode/ucd-17.0.0/GraphemeBreakTest.txt")
    lines = [line.split("#")[0].strip() for line in path.read_text().splitlines()]
    texts = [
        "".join(chr(int(code, 16)) for code in line.replace("×", " ").replace("÷", " ").split())
        for line in lines
        if line
    ]
    texts = [text for text in texts if not any("\ud800" <= c <= "\udfff" for c in text)]
    joined = "x".join(texts)  # and all of them at once: windows next to windows
    with _speedups.forced_pure():
        expected = [list(units.grapheme_bounds(text)) for text in [*texts, joined]]
    with _core_graphemes("low"):
        found = [list(units.grapheme_bounds(text)) for text in [*texts, joined]]
    assert found == expected


# -- the build -----------------------------------------------------------------------------------


def _compiled_in_subprocess(**env: str) -> str:
    environment = {k: v for k, v in os.environ.items() if k != "TOKBYTES_PURE"}
    environment.update(env)
    done = subprocess.run(
        [sys.executable, "-c", "import tokbytes; print(tokbytes.compiled)"],
        capture_output=True,
        text=True,
        env=environment,
        check=True,
    )
    return done.stdout.strip()


def _core_built() -> bool:
    package = Path(tokbytes.__file__).parent
    suffix = sysconfig.get_config_var("EXT_SUFFIX") or ".so"
    return (package / f"_core{suffix}").exists()


def test_tokbytes_pure_forces_the_pure_path() -> None:
    assert _compiled_in_subprocess(TOKBYTES_PURE="1") == "False"


def test_the_core_is_built_and_used_where_a_compiler_is() -> None:
    compiler = (sysconfig.get_config_var("CC") or "cc").split()[0]
    if shutil.which(compiler) is None:
        pytest.skip(f"no C compiler ({compiler}): the pure path is expected")
    assert _core_built(), (
        "a C compiler is here but tokbytes/_core was not built: reinstall with "
        "`pip install -e . -v` and read the build_ext warning"
    )
    assert _compiled_in_subprocess() == "True"
    assert _compiled_in_subprocess(TOKBYTES_PURE="0") == "True"


def test_version_says_which_path_runs() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "tokbytes", "--version"], capture_output=True, text=True, check=True
    )
    expected = "compiled core" if tokbytes.compiled else "pure Python"
    assert done.stdout.strip() == f"tokbytes {tokbytes.__version__} ({expected})"


# -- the streaming decoder -----------------------------------------------------------------------


def _stream_picture(
    records: list[Any], feeds: list[int], peeks: list[bool], options: dict[str, Any]
) -> list[Any]:
    """Every feed's units (``record``, ``[record]`` or several records per feed, as ``feeds``
    says), the state read between feeds (``peeks``), then close() and the problems."""
    decoder = tokbytes.StreamDecoder(**options)
    out: list[Any] = []
    position = 0
    for k, size in enumerate(feeds):
        chunk = records[position : position + size]
        position += size
        if not chunk:
            continue
        fed = chunk[0] if size == 1 and k % 3 else chunk  # mostly the record itself
        out.append(_outcome(lambda fed=fed: [_bits(tuple(u)) for u in decoder.feed(fed)]))
        if out[-1][0] == "error":  # the state a failed feed leaves, and the feeds after it
            out.append((decoder.text, decoder.pending, decoder.tokens_seen, decoder.problems))
            continue
        if peeks[k % len(peeks)]:
            out.append((decoder.text, decoder.pending, decoder.tokens_seen))
    out.append(_outcome(lambda: [_bits(tuple(u)) for u in decoder.close()]))
    out.append((decoder.text, decoder.pending, decoder.tokens_seen, decoder.problems))
    return out


def _pictures(
    records: list[Any], feeds: list[int], peeks: list[bool], options: dict[str, Any]
) -> tuple[list[Any], list[Any]]:
    """:func:`_stream_picture` with the compiled core, and on the pure-Python path."""
    compiled = _stream_picture(records, feeds, peeks, options)
    with _speedups.forced_pure():
        pure = _stream_picture(records, feeds, peeks, options)
    return compiled, pure


# one record (or a one-record list) or two per feed, for 40 feeds; how often the state is read
_ONE_OR_TWO = st.lists(st.integers(1, 2), min_size=40, max_size=40)
_PEEKS = st.lists(st.booleans(), min_size=1, max_size=3)


def _window_payloads(handled: str, handed_on: str) -> st.SearchStrategy[tbst.Payload]:
    """Payloads of the characters a core window handles, or of those and some it hands back."""
    return tbst.payloads(
        st.text(alphabet=handled, max_size=40) | st.text(alphabet=handled + handed_on, max_size=40),
        top_logprobs=0,
    )


_ODD_TOKENS = [
    ("<0xEA>", b"<0xEA>"),
    ("<b>", b"<b>"),
    ("\ufffd", "\ufffd".encode()),
    ("\u2581a", "\u2581a".encode()),
    ("\\xc3\\xa9", "\u00e9".encode()),  # escapes of the bytes
    ("\\xe2\\x82", b"\xe2\x82"),  # the start of a character, as OpenAI writes it
    ("\\xe9", b"\\xe9"),  # a literal backslash: decode(backslashreplace) gives the token
    ("\\xe9", b"\xc3\xa9"),  # escapes that say other bytes
    ("a\\b", b"a\\b"),
]


@st.composite
def _stream_inputs(draw: st.DrawFn) -> tuple[list[Any], list[int], list[bool], dict[str, Any]]:
    payload = draw(tbst.payloads(top_logprobs=0))
    records: list[Any] = [dict(r) for r in payload.tokens]
    for change in draw(st.lists(st.sampled_from(sorted(_CHANGES)), max_size=2)):
        if records:
            records = _CHANGES[change](records, draw(st.integers(0, len(records) - 1)))
    for _ in range(draw(st.integers(0, 2)) if records else 0):
        # tokens feed()'s fast path must hand on: SentencePiece-looking, lossy, "▁", escapes
        # that say other bytes; and escapes that say these bytes (OpenAI's partial characters,
        # a literal backslash), which it takes
        j = draw(st.integers(0, len(records)))
        token, data = draw(st.sampled_from(_ODD_TOKENS))
        records.insert(j, {"token": token, "bytes": list(data), "logprob": -0.5})
    # mostly one record per feed (feed()'s fast paths), and lists the core takes all or none of
    sizes = st.sampled_from((1, 1, 1, 2, 3, 6))
    feeds = draw(st.lists(sizes, min_size=len(records), max_size=len(records)))
    options = {
        "level": draw(st.sampled_from(LEVELS)),
        "attribution": draw(st.sampled_from(("cover", "cover", "split"))),
        "errors": draw(st.sampled_from(("strict", "replace"))),
        "keep_history": draw(st.booleans()),
        "token_format": draw(st.sampled_from(("auto", "auto", "bytes", "bpe_symbols"))),
    }
    return records, feeds, draw(st.lists(st.booleans(), min_size=1, max_size=4)), options


@needs_core
@settings(suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(_stream_inputs())
def test_stream_compiled_equals_pure_bit_for_bit(
    given_input: tuple[list[Any], list[int], list[bool], dict[str, Any]],
) -> None:
    records, feeds, peeks, options = given_input
    compiled, pure = _pictures(records, feeds, peeks, options)
    assert compiled == pure


@needs_core
def test_the_stream_hands_plain_records_to_the_core() -> None:
    decoder = tokbytes.StreamDecoder("char")
    text = "가 a😊b"
    data = text.encode()
    units = []
    for k in range(len(data)):  # one byte per token: every character split
        units += decoder.feed({"token": "", "bytes": [data[k]], "logprob": -0.25})
    assert decoder._feeder is not None  # armed: the compiled path took these
    assert decoder.text == text[:-1] or decoder.text == text
    units += decoder.close()
    assert "".join(u.text for u in units) == text
    assert units[0].tokens == (0, 1, 2) and units[0].logprob == ((0.0 + -0.25) + -0.25) + -0.25


@needs_core
def test_the_core_takes_lists_of_plain_records_all_or_none() -> None:
    """``feed([record, ...])`` stays on the compiled path; a list with a record the core does
    not take (here a malformed one at the end) is read by the Python path as a whole, so a
    failed feed leaves the decoder as the pure path leaves it."""
    data = "가 a😊b".encode()
    good = [{"token": "", "bytes": [b], "logprob": -0.25} for b in data]
    bad = {"token": "x", "bytes": [120], "logprob": "high"}

    def run() -> tuple[Any, ...]:
        decoder = tokbytes.StreamDecoder("char", keep_history=True)
        fed = [_bits(tuple(u)) for u in decoder.feed(good[:6])]
        armed = decoder._feeder is not None
        failed = _outcome(lambda: decoder.feed([*good[6:9], bad]))
        state = (decoder.text, decoder.pending, decoder.tokens_seen, len(decoder.records))
        fed += [_bits(tuple(u)) for u in decoder.feed(good[6:])]
        fed += [_bits(tuple(u)) for u in decoder.close()]
        return armed, fed, failed, state, decoder.text, decoder.problems

    compiled = run()
    with _speedups.forced_pure():
        pure = run()
    assert compiled[0] and not pure[0]
    assert compiled[1:] == pure[1:]
    assert compiled[2][0] == "error" and compiled[3] == ("가 a", b"\xf0", 6, 6)


def _escaped_variants(data: bytes) -> list[str]:
    """What a provider may write for ``data``: the backslashreplace form, and near misses."""
    exact = data.decode("utf-8", "backslashreplace")
    return [
        exact,
        exact.upper(),
        exact[:-1],
        exact + "x",
        data.decode("latin-1"),
        data.decode("utf-8", "replace"),
        "".join(f"\\x{b:02x}" for b in data),
    ]


_TOKEN_BYTES = (
    st.binary(min_size=1, max_size=12)
    | st.text(min_size=1, max_size=6).map(str.encode)
    | st.lists(st.sampled_from([b"\\", b"\\x", b"e9", b"c3", b"bytes:", b"\xc3", b"\xa9", b"a"]))
    .map(b"".join)
    .filter(bool)
)


@needs_core
@given(_TOKEN_BYTES, st.data())
def test_the_cores_escape_check_is_the_byte_readers_rule(data: bytes, draw: st.DataObject) -> None:
    """The feeder's check of a token string against the bytes: the backslashreplace decode
    done in C, and the whole check equal to ``byte_reader.token_says``, which never takes a token
    the byte reader's rule holds (``recovery.doubtful``)."""
    core = _speedups.core
    assert core is not None
    head = draw.draw(st.integers(0, len(data)))  # also pieces cut inside characters
    for piece in (data, data[:head] or data, data[head:] or data):
        for token in [*_escaped_variants(piece), "bytes:" + _escaped_variants(piece)[0]]:
            expected = token == piece.decode("utf-8", "backslashreplace")
            assert core.backslashreplaced(token, piece) is expected
            says = _token_says(token, piece)
            assert core.token_says(token, piece, token_text_to_bytes) is says
            # (lossy bytes, "▁" and "<" pieces never reach the check: they are held before it)
            held = b"\xef\xbf\xbd" in piece or b"\xe2\x96\x81" in piece or piece[:1] == b"<"
            assert not (says and doubtful(piece, token, "bytes")) or held


def _openai_records(text: str) -> list[dict[str, Any]]:
    """One byte per token, the token string as OpenAI writes it (escapes for partial bytes)."""
    data = text.encode()
    return [
        {"token": bytes([b]).decode("utf-8", "backslashreplace"), "bytes": [b], "logprob": -0.25}
        for b in data
    ]


@needs_core
@pytest.mark.parametrize("level", LEVELS[:2])
def test_the_core_takes_openai_escapes_and_keeps_the_readers_copy(level: str) -> None:
    """Escaped partial characters stay on the compiled path; the byte reader's copy (which a
    close() with a different reported text reads as a whole) is the same as the pure path's."""
    records = _openai_records("가 a😊b")

    def run() -> tuple[Any, ...]:
        decoder = tokbytes.StreamDecoder(level, keep_history=True)  # type: ignore[arg-type]
        fed = [_bits(tuple(u)) for r in records for u in decoder.feed(r)]
        armed = decoder._feeder is not None
        reader = decoder._reader
        copy = (bytes(reader.all_bytes), list(reader.all_ends), reader.all_logprobs[:])
        seen, history = decoder.tokens_seen, len(decoder.records)
        closed = _outcome(lambda: [_bits(tuple(u)) for u in decoder.close("가 a😊c")])
        return armed, fed, copy, seen, history, closed, decoder.text, decoder.problems

    compiled = run()
    with _speedups.forced_pure():
        pure = run()
    assert compiled[0] and not pure[0]
    assert compiled[1:] == pure[1:]
    assert compiled[2][0] == "가 a😊b".encode() and compiled[2][1] == list(range(1, 11))
    assert compiled[4] == 10


@needs_core
@settings(suppress_health_check=[HealthCheck.too_slow])
@given(
    tbst.payloads(
        st.text(alphabet="ab .,\n\té\u00a0ß€가中\r\u0301\u1100\u1161\u200d🇰", max_size=40),
        top_logprobs=0,
    ),
    st.sampled_from(LEVELS[:2]),
    _ONE_OR_TWO,
)
def test_latin_streams_take_the_compiled_path_and_agree_bit_for_bit(
    payload: tbst.Payload, level: str, feeds: list[int]
) -> None:
    """Mostly the compiled path (graphemes of one character), with the characters that hand
    the window back (combining marks, CR, Hangul jamo, ZWJ, regional indicators) mixed in."""
    options = {"level": level}
    compiled, pure = _pictures(payload.tokens, feeds, [False, True], options)
    assert compiled == pure


@needs_core
@settings(suppress_health_check=[HealthCheck.too_slow])
@given(
    tbst.payloads(st.text(alphabet="ab .,\né€가中😊\u0301", max_size=60), top_logprobs=0),
    st.sampled_from(LEVELS[:2]),
    st.lists(st.sampled_from(("drop", "drop", "list", "one", "loop")), min_size=60, max_size=60),
    st.lists(st.sampled_from(("record", "list", "list", "pair")), min_size=60, max_size=60),
)
def test_units_a_caller_keeps_never_change_when_the_feeder_reuses_units(
    payload: tbst.Payload, level: str, keeps: list[str], shapes: list[str]
) -> None:
    """The feeder refills the list it returned last and its units once the caller let go of
    them: whatever the caller still holds (the list, one unit, a loop's last unit) keeps its
    values, and every unit emitted equals the batch one; for ``feed(record)``,
    ``feed([record])`` and ``feed([record, record])`` alike."""
    decoder = tokbytes.StreamDecoder(level, token_format="bytes")
    held: list[tuple[Any, Any]] = []  # (object still held, its values when emitted)
    emitted: list[Any] = []
    unit: Any = None
    tokens = list(payload.tokens)
    for keep, shape in zip(keeps, shapes, strict=True):
        if not tokens:
            break
        if shape == "record":
            out = decoder.feed(tokens.pop(0))
        else:
            size = 2 if shape == "pair" else 1
            out = decoder.feed(tokens[:size])
            del tokens[:size]
        emitted += [_bits(tuple(u)) for u in out]
        if keep == "list":
            held.append((out, [_bits(tuple(u)) for u in out]))
        elif keep == "one" and out:
            held.append((out[0], _bits(tuple(out[0]))))
        elif keep == "loop":
            for unit in out:  # noqa: B007 (the loop variable outlives the loop)
                pass
        del out
    emitted += [_bits(tuple(u)) for u in decoder.feed(tokens)]
    emitted += [_bits(tuple(u)) for u in decoder.close()]
    for value, values in held:
        now = [_bits(tuple(u)) for u in value] if isinstance(value, list) else _bits(tuple(value))
        assert now == values
    doc = tokbytes.decode(payload.tokens)
    assert emitted == [_bits(tuple(u)) for u in getattr(doc, level + "s")]
    assert unit is None or _bits(tuple(unit)) in emitted


@needs_core
@pytest.mark.parametrize("as_list", [False, True])
def test_lists_and_units_the_caller_keeps_are_never_refilled(as_list: bool) -> None:
    """The deterministic core of the property above: lists kept whole, a unit kept from a
    list let go of, and the loop's last unit keep their values over many feeds."""
    records = [
        {"token": " ab", "bytes": [32, 97, 98], "logprob": -0.25 - k / 64} for k in range(40)
    ]
    decoder = tokbytes.StreamDecoder("char")
    held: list[tuple[Any, Any]] = []
    unit: Any = None
    for k, record in enumerate(records):
        out = decoder.feed([record] if as_list else record)
        if k == 1:
            assert type(decoder._feeder).__name__ == "CharFeeder"  # the core took it
        if k % 3 == 0:
            held.append((out, [tuple(u) for u in out]))  # the list kept whole
        elif k % 3 == 1:
            held.append((out[1], tuple(out[1])))  # one unit kept
        for unit in out:  # noqa: B007 (the loop variable outlives the loop)
            pass
        last = tuple(unit)
        del out
    for value, values in held:
        now = [tuple(u) for u in value] if isinstance(value, list) else tuple(value)
        assert now == values
    assert tuple(unit) == last == tuple(tokbytes.decode(records).chars[-1])


@needs_core
def test_a_long_returned_list_is_not_kept_for_reuse() -> None:
    """A list of more than 256 units (several records fed at once) is not refilled by the
    next feed (its storage would stay that large): the units still come out as batch ones, and
    a unit the caller kept from it never changes."""
    records = [{"token": " a", "bytes": [32, 97], "logprob": -0.5 - k / 1000} for k in range(300)]
    decoder = tokbytes.StreamDecoder("char")
    started = [tuple(u) for u in decoder.feed(records[0])]
    assert type(decoder._feeder).__name__ == "CharFeeder"  # the core takes the next feeds
    first = decoder.feed(records[1:201])
    kept = first[-1]
    kept_values = tuple(kept)
    assert len(first) == 400
    del first
    later = [tuple(u) for record in records[201:] for u in decoder.feed([record])]
    later += [tuple(u) for u in decoder.close()]
    assert tuple(kept) == kept_values
    assert started == [tuple(u) for u in tokbytes.decode(records).chars[:2]]
    assert later == [tuple(u) for u in tokbytes.decode(records).chars[402:]]


def _callers_unit() -> Any:
    """A unit made the way a caller makes one (``Unit(...)``)."""
    return tokbytes.Unit(chr(0x263A), 5, 6, 9, 12, (2, 3), -0.25, None)


def _tamper(out: list[Any], how: str) -> None:
    """What a caller may do to a list ``feed()`` returned before letting go of it."""
    if how == "foreign":  # objects that are not units, one held elsewhere, one not
        out[:] = [[0] * 8, "held elsewhere", tuple(range(8)), *out]
    elif how == "own_units":  # units the caller made, one with replaced_bytes
        out[:] = [tokbytes.Unit("x", 0, 1, 0, 1, (0,), -1.0, b"\xff"), *out, _callers_unit()]
    elif how == "grown":
        out.extend(tokbytes.Unit("y", 0, 1, 0, 1, (0,), -1.0, None) for _ in range(300))
    elif how == "emptied":
        out.clear()
    elif how == "reversed":
        out.reverse()


@needs_core
@given(
    tbst.payloads(st.text(alphabet="ab .,é€가😊", max_size=40), top_logprobs=0),
    st.lists(
        st.sampled_from(("none", "none", "foreign", "own_units", "grown", "emptied", "reversed")),
        min_size=40,
        max_size=40,
    ),
    st.booleans(),
)
def test_a_list_the_caller_changed_and_let_go_of_never_leaks_into_units(
    payload: tbst.Payload, hows: list[str], as_list: bool
) -> None:
    """The feeder refills only units it made: whatever the caller put into a returned list
    (other objects, units of its own, one with ``replaced_bytes``, many more items) never
    comes back as, or inside, a unit; the units equal the batch ones."""
    decoder = tokbytes.StreamDecoder("char", token_format="bytes")
    emitted: list[Any] = []
    for record, how in zip(payload.tokens, hows, strict=False):
        out = decoder.feed([record] if as_list else record)
        assert all(type(u) is tokbytes.Unit for u in out)
        emitted += [_bits(tuple(u)) for u in out]
        _tamper(out, how)
        del out
    emitted += [_bits(tuple(u)) for u in decoder.close()]
    doc = tokbytes.decode(payload.tokens)
    assert emitted == [_bits(tuple(u)) for u in doc.chars]


# -- the streaming decoder's word window ---------------------------------------------------------

_WORD_HANDLED = (  # the classes the core takes, emoji sequences included
    "aZé가カー1٣:·.'’,;_‿ \u3000\t\r\n\u2028中。!\"😊\u0308\u200d\u00ad\ufe0f🇦🇷👩🏽"
)
_WORD_HANDED_ON = "א"  # Hebrew letters (WB7a-c)


# The core's word window follows a UAX #29-conformant regex; with an older one (repaired in
# Python, see tokbytes._uax29_repair) streams keep the Python path for words.
_conformant_words = pytest.mark.skipif(
    not tokbytes.segmentation.UAX29_CONFORMANT,
    reason="this regex release is not UAX #29-conformant: the core's word window stays unused",
)


@needs_core
@_conformant_words
@given(
    st.text(alphabet=_WORD_HANDLED, max_size=30)
    | st.text(alphabet=_WORD_HANDLED + _WORD_HANDED_ON, max_size=8)
)
def test_the_cores_word_breaks_are_regexs(text: str) -> None:
    """Inside a text of the classes the word window handles, the core's boundaries are the
    Python path's (``regex`` ``(?w)\\b``), and the context it keeps before a frontier is
    ``WordSegmenter.context``'s."""
    core = _speedups.core
    assert core is not None
    if not core.has_word_classes():
        core.set_word_classes(word_class)
    found = core.word_breaks(text)
    if found is None:
        assert any(word_class(c) == 255 for c in text)
        return
    # (the Python path's boundaries: regex's, repaired where an old release misses UAX #29)
    expected = [b for b in tokbytes.segmentation.segmenter().bounds(text) if 0 < b < len(text)]
    assert found == expected
    for frontier in range(len(text)):
        expected_context = tokbytes.segmentation.segmenter().context(text, frontier)
        assert core.word_context(text, frontier) == expected_context


@needs_core
@settings(suppress_health_check=[HealthCheck.too_slow])
@given(
    _window_payloads(_WORD_HANDLED, _WORD_HANDED_ON),
    _ONE_OR_TWO,
    _PEEKS,
)
def test_word_streams_take_the_compiled_path_and_agree_bit_for_bit(
    payload: tbst.Payload, feeds: list[int], peeks: list[bool]
) -> None:
    """Words through the core's SegmentFeeder (records alone and in one-record lists), with the
    classes that hand the window back mixed in, and the state read between feeds (which hands
    the frontier's context back to the Python path): the same units, bits and state."""
    options = {"level": "word"}
    compiled, pure = _pictures(payload.tokens, feeds, peeks, options)
    assert compiled == pure


@needs_core
@_conformant_words
def test_the_stream_hands_plain_words_to_the_core() -> None:
    decoder = tokbytes.StreamDecoder("word")
    words = []
    for piece in ["가나", "다 ", "Hello", ",", " world", "'s", " 3", ".", "14", " ok"]:
        data = piece.encode()
        words += decoder.feed({"token": piece, "bytes": list(data), "logprob": -0.25})
    assert type(decoder._feeder).__name__ == "SegmentFeeder"  # armed: the compiled path took these
    words += decoder.close()
    assert [w.text for w in words] == ["가나다", "Hello", ",", "world's", "3.14", "ok"]
    assert words[4].tokens == (6, 7, 8) and words[4].logprob == ((0.0 + -0.25) + -0.25) + -0.25


_GRAPHEME_HANDLED = (
    "a\r\n\x01\u0301\u0308\u200d\ufe0f🇰🇷\u0600\u0903\u1100\u1161\u11a8가각😊👩🏽\u20e3#"
)
_GRAPHEME_HANDED_ON = "\u0915\u094d"  # InCB=Consonant (and a linker): GB9c


@needs_core
@given(
    st.text(alphabet=_GRAPHEME_HANDLED, max_size=30)
    | st.text(alphabet=_GRAPHEME_HANDLED + _GRAPHEME_HANDED_ON, max_size=10)
)
def test_the_cores_grapheme_breaks_are_regexs(text: str) -> None:
    """The core's cluster boundaries inside a text are those of ``regex`` ``\\X`` (through
    ``units.grapheme_bounds``, which the Python path uses)."""
    core = _speedups.core
    assert core is not None
    if not core.has_grapheme_classes():
        core.set_grapheme_classes(grapheme_class)
    found = core.grapheme_breaks(text)
    if found is None:
        assert any(grapheme_class(c) == 255 for c in text)
        return
    assert found == [b for b in units.grapheme_bounds(text) if 0 < b < len(text)]


@needs_core
@settings(suppress_health_check=[HealthCheck.too_slow])
@given(
    _window_payloads(_GRAPHEME_HANDLED + "b c", _GRAPHEME_HANDED_ON),
    _ONE_OR_TWO,
    _PEEKS,
)
def test_cluster_streams_take_the_compiled_path_and_agree_bit_for_bit(
    payload: tbst.Payload, feeds: list[int], peeks: list[bool]
) -> None:
    """Graphemes of several characters (emoji ZWJ sequences, skin tones, flags, keycaps,
    combining marks, Hangul jamo, CR LF) through the core's SegmentFeeder: the same units."""
    options = {"level": "grapheme"}
    compiled, pure = _pictures(payload.tokens, feeds, peeks, options)
    assert compiled == pure


@needs_core
def test_the_installed_regex_reads_the_probes_as_the_core_does() -> None:
    """The core's word and grapheme windows are armed only when the installed ``regex`` reads
    the probe texts (every rule, and the readings regex versions have differed on) as they do;
    this one does, so streams take them."""
    from tokbytes.stream import _core_rules_agree

    assert _core_rules_agree(_speedups.core, "grapheme")
    if tokbytes.segmentation.UAX29_CONFORMANT:  # (an old regex's repaired words differ: Python)
        assert _core_rules_agree(_speedups.core, "word")
