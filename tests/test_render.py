"""Pure rendering: the color scale, terminal text, JSON/CSV rows, tables and the HTML page."""

from __future__ import annotations

import csv
import html.parser
import io
import json
import math
from pathlib import Path

import pytest

import tokbytes
from tokbytes import render

DATA = Path(__file__).resolve().parent / "data"
DEMO = json.loads(
    (Path(tokbytes.__file__).parent / "data" / "demo.json").read_text(encoding="utf-8")
)
LEVELS = ("char", "grapheme", "word")


def demo_doc(i: int, **kwargs: object) -> tokbytes.Decoded:
    return tokbytes.decode(DEMO["samples"][i]["tokens"], **kwargs)  # type: ignore[arg-type]


def rec(text: str, logprob: float, top: tuple[tuple[str, float], ...] = ()) -> dict[str, object]:
    data = list(text.encode())
    alternatives = [{"token": text, "logprob": logprob, "bytes": data}]
    alternatives += [{"token": t, "logprob": lp, "bytes": list(t.encode())} for t, lp in top]
    return {"token": text, "logprob": logprob, "bytes": data, "top_logprobs": alternatives}


# -- the demo sample itself ------------------------------------------------------------------------


def test_demo_korean_sample_is_the_real_cl100k_split() -> None:
    sample = DEMO["samples"][0]
    assert [t["token"] for t in sample["tokens"]] == [
        "대", "한", "\\xeb\\xaf", "\\xbc", "\\xea\\xb5", "\\xad", "의", " 수", "도", "는",
        " 서", "\\xec\\x9a", "\\xb8", "입니다", ".",
    ]  # fmt: skip
    assert demo_doc(0).text == sample["text"] == "대한민국의 수도는 서울입니다."


def test_demo_multilingual_sample_has_the_promised_emoji() -> None:
    doc = demo_doc(1)
    assert doc.text == DEMO["samples"][1]["text"]
    graphemes = {g.text for g in doc.graphemes}
    assert "👨\u200d👩\u200d👧\u200d👦" in graphemes  # ZWJ family
    assert "🇫🇷" in graphemes  # flag
    assert "👋🏽" in graphemes  # skin tone
    partial = [t for t in doc.tokens if t.bytes and t.bytes[0] in range(0x80, 0xC0)]
    assert partial, "emoji split mid-character"


def test_demo_sample_regenerates_identically() -> None:
    pytest.importorskip("tiktoken")
    from shared_data import require_shared

    require_shared("tiktoken/cl100k_base.tiktoken")
    import importlib.util

    spec = importlib.util.spec_from_file_location("make_demo", DATA / "make_demo.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    committed = (Path(tokbytes.__file__).parent / "data" / "demo.json").read_text("utf-8")
    assert module.build() == committed


# -- colors ----------------------------------------------------------------------------------------


def test_color_scale_hits_its_documented_stops() -> None:
    for p, rgb in render.COLOR_STOPS:
        assert render.color_for(p) == rgb
    assert [render.hex_color(rgb) for _, rgb in render.COLOR_STOPS] == [
        "#d73027", "#fc8d59", "#fee08b", "#d9ef8b", "#91cf60",
    ]  # fmt: skip


def test_color_scale_is_clamped_and_grey_for_unknown() -> None:
    assert render.color_for(-0.5) == render.color_for(0.0)
    assert render.color_for(7.0) == render.color_for(1.0)
    assert render.color_for(math.nan) == render.UNKNOWN_COLOR


def test_color_moves_from_red_to_green_as_probability_rises() -> None:
    reds = [render.color_for(i / 100)[0] for i in range(101)]
    greens = [render.color_for(i / 100)[1] for i in range(101)]
    assert reds[0] > reds[-1]
    assert greens[0] < greens[-1]
    assert all(0 <= c <= 255 for i in range(101) for c in render.color_for(i / 100))


def test_sentinel_is_below_top_20_not_a_number() -> None:
    assert render.is_sentinel(-9999.0) and render.is_sentinel(-3.4028235e38)
    assert not render.is_sentinel(-30.0)
    assert render.format_logprob(-9999.0) == "below top 20"
    # the sentinel's probability is the p = 0 end of the fixed scale, never a rescaling
    assert render.color_for(math.exp(-9999.0)) == render.COLOR_STOPS[0][1]


def test_rgb_to_256_is_a_cube_or_grey_index() -> None:
    for p in (0.0, 0.3, 0.5, 0.8, 1.0):
        assert 16 <= render.rgb_to_256(render.color_for(p)) <= 255
    assert render.rgb_to_256((0, 0, 0)) == 16
    assert render.rgb_to_256((255, 255, 255)) == 231


# -- terminal --------------------------------------------------------------------------------------


@pytest.mark.parametrize("level", LEVELS)
@pytest.mark.parametrize("sample", [0, 1])
def test_segments_give_the_text_back(level: str, sample: int) -> None:
    doc = demo_doc(sample)
    pieces = render.segments(doc.text, doc.units(level))  # type: ignore[arg-type]
    assert "".join(piece for piece, _ in pieces) == doc.text
    assert [u for _, u in pieces if u is not None] == list(doc.units(level))  # type: ignore[arg-type]
    for piece, unit in pieces:
        assert unit is not None or piece.isspace()


@pytest.mark.parametrize("level", LEVELS)
def test_plain_heatmap_is_exactly_the_text(level: str) -> None:
    doc = demo_doc(1)
    assert render.terminal_heatmap(doc, level, color=None) == doc.text


@pytest.mark.parametrize("mode", ["truecolor", "256"])
def test_colored_heatmap_strips_back_to_the_text(mode: render.ColorMode) -> None:
    import re

    doc = demo_doc(1)
    out = render.terminal_heatmap(doc, "word", color=mode)
    assert re.sub(r"\x1b\[[0-9;]*m", "", out) == doc.text
    expected = "\x1b[48;2;" if mode == "truecolor" else "\x1b[48;5;"
    assert out.count(expected) >= len(doc.words)


def test_colored_heatmap_cannot_inject_escape_sequences() -> None:
    doc = tokbytes.decode([rec("hi \x1b[2J\x07 there", -0.1)])
    out = render.terminal_heatmap(doc, "word", color="truecolor")
    assert "\x1b[2J" not in out and "\x07" not in out
    import re

    assert re.sub(r"\x1b\[[0-9;]*m", "", out) == "hi \\x1b[2J\\x07 there"


def test_unit_table_shows_partial_tokens_escaped_and_aligns_wide_text() -> None:
    table = render.unit_table(demo_doc(0))
    lines = table.splitlines()
    assert lines[0].split() == ["#", "word", "prob", "logprob", "tokens"]
    assert "'\\xeb\\xaf'" in table and "서울입니다" in table
    columns = {render._width(line.split("  0.")[0]) for line in lines[1:]}
    assert len(columns) == 1, "prob column starts at the same terminal column on every row"


def test_unit_table_threshold_keeps_only_low_units() -> None:
    doc = demo_doc(1)
    table = render.unit_table(doc, threshold=0.5)
    listed = [line.split()[1] for line in table.splitlines()[1:]]
    assert listed == [w.text for w in doc.words if w.prob < 0.5]


# -- JSON and CSV ----------------------------------------------------------------------------------


@pytest.mark.parametrize("level", LEVELS)
def test_json_has_exactly_the_documented_fields(level: str) -> None:
    doc = demo_doc(1, attribution="split")
    out = json.loads(render.json_text(doc, level))
    assert list(out) == ["text", "level", "units"]
    assert out["text"] == doc.text and out["level"] == level
    units = list(doc.units(level))  # type: ignore[arg-type]
    assert len(out["units"]) == len(units)
    for row, unit in zip(out["units"], units):
        assert list(row) == ["text", "start", "end", "logprob", "prob", "tokens"]
        assert row["text"] == unit.text == doc.text[row["start"] : row["end"]]
        assert row["logprob"] == unit.logprob
        assert row["prob"] == pytest.approx(math.exp(unit.logprob))
        assert row["tokens"] == list(unit.tokens)


def test_json_threshold_and_non_finite_numbers() -> None:
    doc = tokbytes.decode([rec("sure", -0.01), rec(" maybe", -1.5), rec(" never", -9999.0)])
    out = json.loads(render.json_text(doc, "word", threshold=0.5))
    assert [u["text"] for u in out["units"]] == ["maybe", "never"]
    assert out["units"][1]["prob"] == 0.0 and out["units"][1]["logprob"] == -9999.0
    assert render.unit_rows(doc, "word")[0]["prob"] == pytest.approx(math.exp(-0.01))


def test_csv_round_trips_tricky_text() -> None:
    doc = tokbytes.decode([rec('a,"b"', -0.2), rec("\n", -0.1), rec("é", -0.3)])
    rows = list(csv.reader(io.StringIO(render.csv_text(doc, "char"))))
    assert rows[0] == ["text", "start", "end", "logprob", "prob", "tokens"]
    assert "".join(r[0] for r in rows[1:]) == doc.text
    assert rows[-1] == ["é", "6", "7", "-0.3", str(math.exp(-0.3)), "2"]


# -- summaries -------------------------------------------------------------------------------------


def test_summary_means_probabilities_so_the_sentinel_cannot_poison_it() -> None:
    doc = tokbytes.decode([rec("yes", 0.0), rec(" no", -9999.0)])
    summary = render.summarize(doc, "x")
    assert summary.mean_word_prob == 0.5 and summary.min_word_prob == 0.0
    assert summary.lowest_word == "no" and summary.tokens == 2 and summary.chars == 6


def test_summary_table_lists_errors_in_place() -> None:
    table = render.summary_table(
        [render.Summary("ok", 3, 9, 2, 0.9, 0.8, "hi"),
         render.Summary("bad", 0, 0, 0, math.nan, math.nan, "", "status 500")]
    )  # fmt: skip
    lines = table.splitlines()
    assert lines[0].split()[:3] == ["id", "tokens", "chars"]
    assert lines[1].split() == ["ok", "3", "9", "0.900", "0.800", "hi"]
    assert lines[2].split(maxsplit=1) == ["bad", "error: status 500"]
    rows = render.summary_rows([render.Summary("bad", 0, 0, 0, math.nan, math.nan, "", "e")])
    assert rows[0]["mean_word_prob"] is None


# -- HTML ------------------------------------------------------------------------------------------


class _Page(html.parser.HTMLParser):
    """Collects the heat-map spans, text outside tags, and script bodies of a page."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.stack: list[tuple[str, dict[str, str | None]]] = []
        self.units: list[tuple[dict[str, str | None], str]] = []
        self.heat_text: list[str] = []
        self.scripts: dict[str, str] = {}
        self.tags: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append(tag)
        self.stack.append((tag, dict(attrs)))
        if tag == "span" and dict(attrs).get("class") == "u":
            self.units.append((dict(attrs), ""))

    def handle_endtag(self, tag: str) -> None:
        while self.stack:
            if self.stack.pop()[0] == tag:
                break

    def handle_data(self, data: str) -> None:
        in_heat = any(a.get("class") == "heat" for _, a in self.stack)
        if in_heat:
            self.heat_text.append(data)
            if self.stack and self.stack[-1][1].get("class") == "u":
                attrs, text = self.units[-1]
                self.units[-1] = (attrs, text + data)
        if self.stack and self.stack[-1][0] == "script":
            key = self.stack[-1][1].get("id") or "code"
            self.scripts[key] = self.scripts.get(key, "") + data


def parse(page: str) -> _Page:
    parser = _Page()
    parser.feed(page)
    parser.close()
    return parser


@pytest.mark.parametrize("level", LEVELS)
def test_html_spans_carry_the_text_and_the_scale_colors(level: str) -> None:
    doc = demo_doc(1)
    page = parse(render.html_page([("demo", doc)], level))
    assert "".join(page.heat_text) == doc.text
    units = list(doc.units(level))  # type: ignore[arg-type]
    assert [text for _, text in page.units] == [u.text for u in units]
    for (attrs, _), unit in zip(page.units, units):
        color = render.hex_color(render.color_for(unit.prob))
        assert attrs["style"] == f"background-color:{color}"


def test_html_escapes_text_tokens_and_data() -> None:
    records = json.loads((DATA / "cli_escape.json").read_text("utf-8"))
    doc = tokbytes.decode(records)
    page = render.html_page([("<i>title</i> & co", doc)], "word", title="</title><b>x")
    parsed = parse(page)
    assert "".join(parsed.heat_text) == doc.text
    assert set(parsed.tags) <= {
        "html", "head", "meta", "title", "style", "body", "h1", "h2", "div", "span", "p", "ul",
        "li", "section", "table", "caption", "tr", "th", "td", "code", "script",
    }  # fmt: skip
    assert "b" not in parsed.tags and "i" not in parsed.tags
    assert page.count("<script") == 2 and page.count("</script>") == 2
    data = json.loads(parsed.scripts["tokbytes-data"])
    assert data[0]["units"][0][0] == "<"
    assert "</script>" in json.dumps(data)  # survived, escaped, inside the data


def test_html_hover_data_completes_partial_alternatives() -> None:
    doc = demo_doc(0)
    data = json.loads(parse(render.html_page([("k", doc)], "char")).scripts["tokbytes-data"])
    tokens = data[0]["tokens"]
    assert tokens["12"]["t"] == "\\xb8" and tokens["12"]["hex"] == "b8"
    # the alternatives of the last byte of 울 read as whole characters: 울 and its rivals
    assert tokens["12"]["alts"][0][0] == "울" and tokens["12"]["alts"][0][2] is True
    assert all(len(alt[0]) == 1 for alt in tokens["12"]["alts"])


def test_html_sentinel_alternatives_are_below_top_20() -> None:
    doc = demo_doc(1)
    data = json.loads(parse(render.html_page([("m", doc)])).scripts["tokbytes-data"])
    alts = [alt for token in data[0]["tokens"].values() for alt in token["alts"]]
    assert any(alt[1] is None for alt in alts), "the -9999.0 alternative is null (below top 20)"
    assert all(alt[1] is None or alt[1] > -9999 for alt in alts)


def test_html_page_is_self_contained() -> None:
    page = render.html_page([("demo", demo_doc(1))])
    for needle in ("http://", "https://", "src=", "<link", "@import", "url("):
        assert needle not in page
    assert "default-src 'none'" in page
