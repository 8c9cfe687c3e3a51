"""tables: DataFrames and Arrow tables equal the units and tokens; the notebook heat map
(``_repr_html_``) shows the units in their colors, checked in headless Chromium."""

from __future__ import annotations

import html
import math
import re
import subprocess
import sys
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import tokbytes
import tokbytes.strategies as tbst
from tests.test_cli import _browser, _chromium, _Dom
from tests.test_measures import PAYLOADS
from tokbytes import render

try:
    import pandas
except ImportError:  # the notebook view and the error tests still run
    pandas = None
try:
    import pyarrow
except ImportError:
    pyarrow = None
needs_pandas = pytest.mark.skipif(
    pandas is None, reason='pandas is not installed (pip install "tokbytes[pandas]")'
)
needs_arrow = pytest.mark.skipif(
    pyarrow is None, reason='pyarrow is not installed (pip install "tokbytes[arrow]")'
)

LEVELS = ["char", "grapheme", "word"]


def same(a: object, b: object) -> bool:
    if isinstance(a, float) and isinstance(b, float) and a != a:
        return b != b
    return a == b


@needs_pandas
@settings(max_examples=30)
@given(PAYLOADS, st.sampled_from(LEVELS))
def test_to_pandas_rows_equal_the_units(payload: tbst.Payload, level: str) -> None:
    doc = tokbytes.decode(payload.tokens)
    frame = doc.to_pandas(level)
    units = list(doc.units(level))  # type: ignore[arg-type]
    assert len(frame) == len(units)
    has_alternatives = any(t.top_logprobs for t in doc.tokens)
    assert ("entropy" in frame.columns) == has_alternatives
    entropies = doc.units(level).entropies()  # type: ignore[arg-type]
    for i, (row, unit) in enumerate(zip(frame.itertuples(index=False), units)):
        assert (row.text, row.start, row.end) == (unit.text, unit.start, unit.end)
        assert (row.byte_start, row.byte_end) == (unit.byte_start, unit.byte_end)
        assert tuple(row.tokens) == unit.tokens
        assert same(row.logprob, unit.logprob) and same(row.prob, unit.prob)
        if has_alternatives:
            assert same(row.entropy, entropies[i])


@needs_pandas
@needs_arrow
@settings(max_examples=30)
@given(PAYLOADS)
def test_token_table_and_arrow_equal_the_tokens(payload: tbst.Payload) -> None:
    doc = tokbytes.decode(payload.tokens)
    frame = doc.to_pandas("token")
    arrow = doc.to_arrow("token").to_pylist()
    tokens = list(doc.tokens)
    assert len(frame) == len(arrow) == len(tokens)
    ranks = doc.tokens.ranks()
    for row, record, token in zip(frame.to_dict("records"), arrow, tokens):
        assert row["index"] == record["index"] == token.index
        assert row["token"] == record["token"] == token.token
        assert row["text"] == record["text"] == token.text
        assert (row["start"], row["end"]) == doc.token_to_chars(token.index)
        assert row["logprob"] == record["logprob"] == token.logprob
        if "rank" in record:
            want = ranks[token.index]
            assert record["rank"] == want
            if want is None:
                assert pandas.isna(row["rank"])
            else:
                assert row["rank"] == want
    words = doc.to_arrow("word").to_pylist()
    assert [r["text"] for r in words] == doc.words.texts()
    assert [r["tokens"] for r in words] == [list(w.tokens) for w in doc.words]


def test_missing_extra_names_the_pip_install(tmp_path: Path) -> None:
    blocker = tmp_path / "pandas.py"
    blocker.write_text("raise ImportError('blocked for the test')\n")
    (tmp_path / "pyarrow.py").write_text("raise ImportError('blocked for the test')\n")
    code = (
        "import tokbytes\n"
        "doc = tokbytes.decode([{'token': 'a', 'bytes': [97], 'logprob': 0.0}])\n"
        "for call in (doc.to_pandas, doc.to_arrow):\n"
        "    try:\n"
        "        call()\n"
        "    except ImportError as e:\n"
        "        print(e)\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        env={"PYTHONPATH": str(tmp_path)},
    )
    assert 'pip install "tokbytes[pandas]"' in out.stdout, out.stderr
    assert 'pip install "tokbytes[arrow]"' in out.stdout


def test_bad_level_is_an_input_error() -> None:
    doc = tokbytes.decode([{"token": "a", "bytes": [97], "logprob": 0.0}])
    with pytest.raises(tokbytes.InputError, match="level"):
        doc.to_pandas("sentence")


# -- notebook view ---------------------------------------------------------------------------------

KOREAN = [
    ("대", -0.0005), ("한", -1.2e-05), (b"\xeb\xaf", -0.0891), (b"\xbc", -1.86e-06),
    (b"\xea\xb5", -0.0034), (b"\xad", -1.1e-06), ("의", -0.0021), (" 수", -0.0427),
    ("도", -0.0002), ("는", -0.0008), (" 서", -0.3617), (b"\xec\x9a", -0.7215),
    (b"\xb8", -2.1e-06), ("입니다", -0.0087), (".", -0.0193), (" <b>&", -2.5),
]  # fmt: skip


def korean() -> tokbytes.Decoded:
    records = []
    for piece, logprob in KOREAN:
        data = piece.encode() if isinstance(piece, str) else piece
        records.append({"token": data.decode("utf-8", "backslashreplace"),
                        "bytes": list(data), "logprob": logprob})  # fmt: skip
    return tokbytes.decode(records)


SPAN = re.compile(r'<span class="u"([^>]*)>(.*?)</span>', re.S)


@pytest.mark.parametrize("level", ["doc", *LEVELS])
def test_repr_html_has_a_span_per_unit_in_its_color(level: str) -> None:
    doc = korean()
    fragment = doc._repr_html_() if level == "doc" else doc.units(level)._repr_html_()  # type: ignore[arg-type]
    units = list(doc.words if level == "doc" else doc.units(level))  # type: ignore[arg-type]
    spans = SPAN.findall(fragment)
    assert [html.unescape(text) for _, text in spans] == [u.text for u in units]
    for (attrs, _), unit in zip(spans, units):
        assert f"background-color:{render.hex_color(render.color_for(unit.prob))}" in attrs
    assert html.unescape(re.sub(r"<[^>]+>", "", fragment.split("</div>")[0])) == doc.text
    assert "<b>" not in fragment and "<script" not in fragment


def test_repr_html_in_chromium(tmp_path: Path) -> None:
    _chromium()
    doc = korean()
    stamp = (
        "<script>document.querySelectorAll('.u').forEach(function (el) {"
        "el.setAttribute('data-bg', getComputedStyle(el).backgroundColor); });"
        "document.documentElement.setAttribute('data-ready', '1');</script>"
    )
    page = tmp_path / "notebook.html"
    page.write_text(
        '<!DOCTYPE html><html><head><meta charset="utf-8"></head><body>'
        f"{doc._repr_html_()}{doc.chars._repr_html_()}{stamp}</body></html>",
        encoding="utf-8",
    )
    dom = _browser(tmp_path, "--dump-dom", page.as_uri())
    assert dom.returncode == 0 and 'data-ready="1"' in dom.stdout, dom.stderr[-2000:]
    units = _Dom(dom.stdout).units
    expected = [*doc.words, *doc.chars]
    assert [text for _, text in units] == [u.text for u in expected]
    for (attrs, _), unit in zip(units, expected):
        r, g, b = render.color_for(unit.prob)
        assert attrs["data-bg"] == f"rgb({r}, {g}, {b})", "the color the browser painted"
        assert attrs["title"].startswith(f"p={render.format_prob(unit.prob)}")
    assert not math.isnan(doc.words.probs()[0])
