"""The console script, run as a user runs it: ``python -m tokbytes`` and the ``tokbytes`` script.

Every test goes through a real subprocess. Inputs are the small fixtures in ``tests/data`` (made
from the demo's real cl100k split) and, when the shared data is beside the checkout, the real
OpenAI SSE recordings. The HTML page is opened in headless Chromium, which runs its script,
reports the colors it painted and takes a screenshot.
"""

from __future__ import annotations

import csv
import io
import json
import math
import os
import re
import shutil
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest
from shared_data import require_shared

from tokbytes import render

DATA = Path(__file__).resolve().parent / "data"
KOREAN = "대한민국의 수도는 서울입니다."
SGR = re.compile(r"\x1b\[[0-9;]*m")

Run = Callable[..., subprocess.CompletedProcess[str]]


def _env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in ("NO_COLOR", "COLORTERM", "TERM")}
    env.update(PYTHONIOENCODING="utf-8", **extra)
    return env


def _runner(prefix: list[str]) -> Run:
    def run(
        *args: str,
        stdin: str | None = None,
        env: dict[str, str] | None = None,
        cwd: Path | None = None,
    ) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [*prefix, *args],
            input=stdin,
            capture_output=True,
            text=True,
            encoding="utf-8",
            env=env or _env(),
            cwd=cwd,
            timeout=120,
        )

    return run


@pytest.fixture(params=["python -m tokbytes", "tokbytes script"])
def tokbytes_cli(request: pytest.FixtureRequest) -> Run:
    """Both ways to start the CLI."""
    if request.param == "python -m tokbytes":
        return _runner([sys.executable, "-m", "tokbytes"])
    script = shutil.which("tokbytes")
    if script is None:
        pytest.skip("the 'tokbytes' console script is not on PATH (pip install -e . installs it)")
    return _runner([script])


@pytest.fixture
def cli() -> Run:
    """``python -m tokbytes`` (for tests about behaviour rather than the entry point)."""
    return _runner([sys.executable, "-m", "tokbytes"])


def ok(result: subprocess.CompletedProcess[str]) -> str:
    assert result.returncode == 0, result.stderr
    assert "Traceback" not in result.stderr
    return result.stdout


def assert_one_line_error(result: subprocess.CompletedProcess[str], *needles: str) -> str:
    assert result.returncode == 2, (result.stdout, result.stderr)
    assert "Traceback" not in result.stderr
    lines = result.stderr.splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("tokbytes: error: "), lines[0]
    for needle in needles:
        assert needle in lines[0], (needle, lines[0])
    return lines[0]


# -- demo ------------------------------------------------------------------------------------------


def test_demo_shows_heat_map_and_word_table(tokbytes_cli: Run) -> None:
    out = ok(tokbytes_cli("demo"))
    assert "\x1b[" not in out, "plain text when stdout is not a terminal"
    lines = out.splitlines()
    assert KOREAN in lines
    header = next(i for i, line in enumerate(lines) if line.split()[:2] == ["#", "word"])
    # the "." is punctuation: left out of the table by default (--punctuation lists it)
    assert lines[header - 1] == "the 3 least certain words (least probable first):"
    # the least certain word first, as the README says
    assert lines[header + 1].split()[:3] == ["2", "서울입니다", "0.759"]
    assert "' 서' '\\xec\\x9a' '\\xb8' '입니다'" in lines[header + 1]
    probs = [float(line.split()[2]) for line in lines[header + 1 : header + 4]]
    assert probs == sorted(probs) and len(probs) == 3
    assert "👨\u200d👩\u200d👧\u200d👦" in out and "🇫🇷" in out and "👋🏽" in out
    assert "the 5 least certain words" in out, "the long sample lists its 5 least certain"


def _table(out: str, first_column: str) -> list[list[str]]:
    lines = out.splitlines()
    header = next(i for i, line in enumerate(lines) if line.split()[:2] == ["#", first_column])
    rows = []
    for line in lines[header + 1 :]:
        if not line.strip():
            break
        rows.append(line.split())
    return rows


def test_sort_and_top_choose_the_rows_and_their_order(cli: Run) -> None:
    path = str(DATA / "cli_completion.json")
    every = json.loads(ok(cli("show", path, "--level", "char", "--format", "json")))["units"]
    lowest = sorted(range(len(every)), key=lambda i: (every[i]["prob"], i))[:4]
    by_prob = _table(ok(cli("show", path, "--level", "char", "--top", "4")), "char")
    assert [int(row[0]) for row in by_prob] == lowest, "least probable first"
    by_position = _table(
        ok(cli("show", path, "--level", "char", "--top", "4", "--sort", "position")), "char"
    )
    assert [int(row[0]) for row in by_position] == sorted(lowest)
    rows = json.loads(ok(cli("show", path, "--format", "json", "--sort", "prob")))["units"]
    assert [r["prob"] for r in rows] == sorted(r["prob"] for r in rows)
    top = json.loads(ok(cli("show", path, "--level", "char", "--format", "json", "--top", "4")))
    assert [u["start"] for u in top["units"]] == sorted(lowest), "json rows in text order"


def test_token_level_table_json_and_csv(cli: Run) -> None:
    import tokbytes

    path = str(DATA / "cli_completion.json")
    doc = tokbytes.decode(json.loads((DATA / "cli_completion.json").read_text("utf-8")))
    out = ok(cli("show", path, "--level", "token", "--threshold", "1.0", "--sort", "position"))
    assert out.startswith(KOREAN + "\n")
    lines = out.splitlines()
    header = next(i for i, line in enumerate(lines) if line.split()[:2] == ["#", "token"])
    assert lines[header].split() == [
        "#", "token", "text", "prob", "logprob", "entropy", "margin", "rank", "alternatives",
    ]  # fmt: skip
    assert len(lines) - header - 1 == len(doc.tokens)
    assert "'\\xec\\x9a'" in out
    rows = json.loads(ok(cli("show", path, "--level", "token", "--format", "json")))["units"]
    assert [r["index"] for r in rows] == list(range(len(doc.tokens)))
    assert [r["rank"] for r in rows] == doc.tokens.ranks()
    assert rows[12]["alternatives"][0][0] == "울", "completed into the character"
    table = list(
        csv.DictReader(io.StringIO(ok(cli("show", path, "--level", "token", "--format", "csv"))))
    )
    assert [r["token"] for r in table] == [t.token for t in doc.tokens]
    assert table[12]["alternatives"].split(" | ")[0] == "울"


def test_demo_csv_is_one_table(cli: Run) -> None:
    out = ok(cli("demo", "--format", "csv"))
    rows = list(csv.reader(io.StringIO(out)))
    assert rows[0] == ["document", "text", "start", "end", "logprob", "prob", "tokens"]
    assert sum(1 for row in rows if row[1] == "text") == 1, "one header"
    assert {row[0] for row in rows[1:]} == {
        "Korean: the capital of South Korea",
        "Multilingual answer with emoji (ZWJ family, flags, skin tones)",
    }


def test_demo_colors_with_24_bit_or_256_colors(cli: Run) -> None:
    truecolor = ok(cli("demo", "--color", "always", env=_env(COLORTERM="truecolor")))
    assert "\x1b[48;2;" in truecolor and "\x1b[48;5;" not in truecolor
    assert KOREAN in SGR.sub("", truecolor)
    colors256 = ok(cli("demo", "--color", "always"))
    assert "\x1b[48;5;" in colors256 and "\x1b[48;2;" not in colors256
    assert "\x1b[" not in ok(cli("demo", "--color", "always", "--no-color"))


def test_demo_as_json_and_html(cli: Run, tmp_path: Path) -> None:
    docs = [json.loads(line) for line in ok(cli("demo", "--format", "json")).splitlines()]
    assert docs[0]["text"] == KOREAN and len(docs) == 2
    ok(cli("demo", "--html", str(tmp_path / "demo.html")))
    assert "서울입니다" in (tmp_path / "demo.html").read_text("utf-8")


# -- show: the three input framings ---------------------------------------------------------------


@pytest.mark.parametrize("name", ["cli_completion.json", "cli_stream.jsonl", "cli_stream.sse"])
def test_show_plain_text_is_the_exact_answer(tokbytes_cli: Run, name: str) -> None:
    assert ok(tokbytes_cli("show", str(DATA / name))) == KOREAN + "\n"


@pytest.mark.parametrize("name", ["cli_completion.json", "cli_stream.jsonl", "cli_stream.sse"])
@pytest.mark.parametrize("level", ["char", "grapheme", "word"])
def test_show_json_is_the_documented_shape(cli: Run, name: str, level: str) -> None:
    out = json.loads(ok(cli("show", str(DATA / name), "--format", "json", "--level", level)))
    assert list(out) == ["text", "level", "units"]
    assert out["text"] == KOREAN and out["level"] == level
    for unit in out["units"]:
        assert list(unit) == ["text", "start", "end", "logprob", "prob", "tokens"]
        assert KOREAN[unit["start"] : unit["end"]] == unit["text"]
        assert unit["prob"] == pytest.approx(math.exp(unit["logprob"]))
    expected = {"char": len(KOREAN), "grapheme": len(KOREAN), "word": 4}[level]
    assert len(out["units"]) == expected
    if level == "char":  # 울 is three partial tokens: ' 서' carries none of it, the next two do
        assert out["units"][KOREAN.index("울")]["tokens"] == [11, 12]


def test_show_stream_and_whole_response_agree(cli: Run) -> None:
    outputs = {
        name: ok(cli("show", str(DATA / name), "--format", "json", "--level", "char"))
        for name in ("cli_completion.json", "cli_stream.jsonl", "cli_stream.sse")
    }
    assert len(set(outputs.values())) == 1


@pytest.mark.parametrize("level", ["char", "word"])
def test_show_csv(cli: Run, level: str) -> None:
    rows = list(
        csv.DictReader(
            io.StringIO(
                ok(cli("show", str(DATA / "cli_stream.sse"), "--format", "csv", "--level", level))
            )
        )
    )
    assert list(rows[0]) == ["text", "start", "end", "logprob", "prob", "tokens"]
    assert [r["text"] for r in rows] == (
        list(KOREAN) if level == "char" else ["대한민국의", "수도는", "서울입니다", "."]
    )
    assert rows[-1]["tokens"] == "14"


def test_show_threshold_lists_low_units(cli: Run) -> None:
    out = ok(cli("show", str(DATA / "cli_completion.json"), "--threshold", "0.8"))
    assert out.startswith(KOREAN + "\n")
    assert "words below p = 0.8 (least probable first):" in out
    listed = [line.split()[1] for line in out.splitlines()[4:]]
    assert listed == ["서울입니다"]
    none = ok(cli("show", str(DATA / "cli_completion.json"), "--threshold", "0.1"))
    assert "no word below p = 0.1" in none
    rows = json.loads(
        ok(
            cli(
                "show",
                str(DATA / "cli_completion.json"),
                "--format",
                "json",
                "--level",
                "char",
                "--threshold",
                "0.9",
            )
        )
    )["units"]
    assert rows and all(r["prob"] < 0.9 for r in rows)


def test_show_reads_stdin(tokbytes_cli: Run) -> None:
    text = (DATA / "cli_stream.sse").read_text("utf-8")
    assert ok(tokbytes_cli("show", "-", stdin=text)) == KOREAN + "\n"
    text = (DATA / "cli_stream.jsonl").read_text("utf-8")
    assert ok(tokbytes_cli("show", "-", "--format", "csv", stdin=text)).startswith("text,start")


def test_show_attribution_split_shares_token_logprobs(cli: Run) -> None:
    cover = json.loads(ok(cli("show", str(DATA / "cli_escape.json"), "--format", "json")))
    split = json.loads(
        ok(cli("show", str(DATA / "cli_escape.json"), "--format", "json", "--attribution", "split"))
    )
    assert [u["text"] for u in cover["units"]] == [u["text"] for u in split["units"]]
    # '<script>' is one token over three words: cover gives each its logprob, split shares it
    assert [u["logprob"] for u in cover["units"][:3]] == [-0.9] * 3
    assert sum(u["logprob"] for u in split["units"][:3]) == pytest.approx(-0.9)


def test_show_colored_output_cannot_drive_the_terminal(cli: Run) -> None:
    out = ok(cli("show", str(DATA / "cli_escape.json"), "--color", "always"))
    assert "\x1b[31m" not in out
    assert "\\x1b[31mred" in SGR.sub("", out), "shown as an escape instead"
    plain = ok(cli("show", str(DATA / "cli_escape.json")))
    assert "\x1b[31m" in plain, "plain output is the exact text, for pipes"


def test_truncated_answer_fails_strict_and_decodes_with_replace(cli: Run) -> None:
    path = str(DATA / "cli_truncated.json")
    assert_one_line_error(cli("show", path), path, "token 11", "--errors replace")
    out = json.loads(ok(cli("show", path, "--errors", "replace", "--format", "json")))
    assert out["text"] == "대한민국의 수도는 서\ufffd"


# -- the real OpenAI SSE recordings ----------------------------------------------------------------


def test_real_sse_content_stream(tokbytes_cli: Run) -> None:
    path = require_shared("recordings/openai-python/gpt4o_stream_content_logprobs_Foo.sse")
    out = json.loads(ok(tokbytes_cli("show", str(path), "--format", "json", "--level", "char")))
    assert out["text"] == "Foo!"
    assert out["units"][3] == {
        "text": "!", "start": 3, "end": 4, "logprob": -0.26638845,
        "prob": pytest.approx(math.exp(-0.26638845)), "tokens": [1],
    }  # fmt: skip


def test_real_sse_refusal_stream(cli: Run) -> None:
    path = require_shared("recordings/openai-python/gpt4o_stream_refusal_logprobs.sse")
    assert ok(cli("show", str(path))).startswith("I'm very sorry")
    words = json.loads(ok(cli("show", str(path), "--format", "json", "--threshold", "0.5")))
    assert [w["text"] for w in words["units"]] == ["very"]
    content = cli("show", str(path), "--channel", "content")
    assert_one_line_error(content, str(path), "pass channel='refusal'")


def test_real_recording_with_sentinel_token(cli: Run) -> None:
    path = require_shared("recordings/state-of-the-art/gpt4_korean_poem_top20.json")
    out = ok(cli("show", str(path), "--threshold", "0.5"))
    row = next(line for line in out.splitlines()[3:] if "우주와" in line)
    assert "below top 20" in row


# -- many responses --------------------------------------------------------------------------------


def test_batch_summary_table(tokbytes_cli: Run) -> None:
    result = tokbytes_cli("show", str(DATA / "cli_batch.jsonl"))
    out = ok(result)
    lines = out.splitlines()
    assert lines[0].split() == ["id", "tokens", "chars", "mean", "p", "min", "p", "lowest", "word"]
    assert lines[1].split() == ["capital-ko", "15", "16", "0.915", "0.759", "서울입니다"]
    assert lines[2].split() == ["paris-en", "4", "16", "0.715", "0.150", "lovely"]
    assert lines[3].split(maxsplit=1) == [
        "overloaded",
        "error: status 500: The server is overloaded.",
    ]
    assert "1 of 3 responses could not be decoded" in result.stderr
    assert "[" not in result.stderr, "no progress bar when stderr is not a terminal"


def test_batch_summary_json_csv_and_progress(cli: Run) -> None:
    result = cli("show", str(DATA / "cli_batch.jsonl"), "--format", "json", "--progress")
    rows = [json.loads(line) for line in ok(result).splitlines()]
    assert [r["id"] for r in rows] == ["capital-ko", "paris-en", "overloaded"]
    assert rows[0]["lowest_word"] == "서울입니다" and rows[2]["mean_word_prob"] is None
    assert rows[2]["error"].startswith("status 500")
    assert "] 1/3 responses" in result.stderr and "] 3/3 responses" in result.stderr
    table = list(
        csv.DictReader(
            io.StringIO(ok(cli("show", str(DATA / "cli_batch.jsonl"), "--format", "csv")))
        )
    )
    assert table[1]["id"] == "paris-en" and table[1]["tokens"] == "4"


def test_jsonl_of_whole_responses_is_a_batch_and_of_stream_lines_a_stream(
    cli: Run, tmp_path: Path
) -> None:
    completion = json.loads((DATA / "cli_completion.json").read_text("utf-8"))
    batch = tmp_path / "two.jsonl"
    batch.write_text(json.dumps(completion) + "\n" + json.dumps(completion) + "\n")
    lines = ok(cli("show", str(batch))).splitlines()
    assert [line.split()[0] for line in lines[1:]] == ["chatcmpl-tokbytes-fixture-1"] * 2
    # Ollama /api/generate streaming: one line per token, done false until the last
    records = completion["choices"][0]["logprobs"]["content"]
    stream = [{"model": "m", "response": "", "done": False, "logprobs": [r]} for r in records]
    stream.append({"model": "m", "response": "", "done": True})
    ollama = tmp_path / "ollama.jsonl"
    ollama.write_text("".join(json.dumps(line) + "\n" for line in stream))
    assert ok(cli("show", str(ollama))) == KOREAN + "\n"


def test_batch_html_has_a_section_per_response(cli: Run, tmp_path: Path) -> None:
    out = tmp_path / "batch.html"
    ok(cli("html", str(DATA / "cli_batch.jsonl"), "-o", str(out)))
    page = out.read_text("utf-8")
    assert page.count('<section id="doc-') == 2
    assert "capital-ko" in page and "paris-en" in page
    assert "overloaded: status 500" in page
    # the page opens with a summary table linking to each response's section
    body = page.split("<body>")[1]
    assert body.index('class="low summary"') < body.index('<section id="doc-0">')
    assert '<a href="#doc-0">capital-ko</a>' in page and '<a href="#doc-1">paris-en</a>' in page
    assert "16 characters · 4 words" in page

    small = tmp_path / "small.html"
    ok(cli("html", str(DATA / "cli_batch.jsonl"), "-o", str(small), "--no-alternatives"))
    data = json.loads(re.search(r'id="tokbytes-data">(.*?)</script>', small.read_text()).group(1))
    assert all(not t["alts"] for doc in data for t in doc["tokens"].values())
    assert small.stat().st_size < out.stat().st_size


def test_char_page_says_characters_once(cli: Run, tmp_path: Path) -> None:
    out = tmp_path / "chars.html"
    ok(cli("html", str(DATA / "cli_completion.json"), "-o", str(out), "--level", "char"))
    page = out.read_text("utf-8")
    assert "16 characters · attribution" in page and " chars ·" not in page


# -- bad input -------------------------------------------------------------------------------------


BAD_INPUTS = {
    "unknown-shape.json": ('{"a": 1}', "cannot find token logprobs"),
    "broken.json": ('{"choices": [', "not JSON, JSONL or an SSE capture"),
    "broken-line.jsonl": ('{"object": "chat.completion.chunk", "choices": []}\n{"x": \n', "line 2"),
    "not-utf8.json": (b"\xff\xfe{}", "not UTF-8"),
    "empty.json": ("", "empty input"),
    "bad-sse.sse": ("data: {not json}\n\n", "line 1: invalid JSON"),
    "bad-record.json": ('[{"token": "a", "logprob": "high", "bytes": [97]}]', "logprob"),
    "no-logprobs.json": (
        '{"object": "chat.completion", "choices": [{"index": 0, "message": {"role": "assistant",'
        ' "content": "Hi"}, "logprobs": null, "finish_reason": "stop"}]}',
        "logprobs",
    ),
}


@pytest.mark.parametrize("name", sorted(BAD_INPUTS))
@pytest.mark.parametrize("command", ["show", "html"])
def test_bad_input_is_one_line_and_exit_2(
    tokbytes_cli: Run, tmp_path: Path, name: str, command: str
) -> None:
    content, needle = BAD_INPUTS[name]
    path = tmp_path / name
    path.write_bytes(content if isinstance(content, bytes) else content.encode())
    out_dir = tmp_path / "out"
    out_dir.mkdir()
    args = [command, str(path)] + (["-o", str(out_dir / "page.html")] if command == "html" else [])
    result = tokbytes_cli(*args)
    assert_one_line_error(result, str(path), needle)
    assert result.stdout == ""
    assert list(out_dir.iterdir()) == [], "no output file, not even a partial or temporary one"


def test_missing_file_and_bad_options(cli: Run, tmp_path: Path) -> None:
    assert_one_line_error(cli("show", str(tmp_path / "nope.json")), "nope.json", "cannot read")
    assert_one_line_error(cli("show", "x", "--level", "line"), "--level")
    assert_one_line_error(cli("show", "x", "--threshold", "2"), "between 0 and 1")
    assert_one_line_error(cli("frobnicate"), "frobnicate")
    assert_one_line_error(cli(), "COMMAND")
    unwritable = tmp_path / "no-such-dir" / "page.html"
    assert_one_line_error(
        cli("html", str(DATA / "cli_completion.json"), "-o", str(unwritable)), "cannot write"
    )


def test_existing_output_survives_a_failed_run(cli: Run, tmp_path: Path) -> None:
    out = tmp_path / "page.html"
    out.write_text("previous page")
    bad = tmp_path / "bad.json"
    bad.write_text("[1, 2")
    assert_one_line_error(cli("html", str(bad), "-o", str(out)))
    assert out.read_text() == "previous page"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["bad.json", "page.html"]


# -- HTML in a real browser ------------------------------------------------------------------------

CHROMIUM_FLAGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
]  # fmt: skip


def _chromium() -> str:
    for name in ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable"):
        found = shutil.which(name)
        if found:
            return found
    pytest.skip("no Chromium binary on PATH (apt-get install chromium)")


def _browser(tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    profile = tmp_path / "chromium-profile"
    return subprocess.run(
        [_chromium(), *CHROMIUM_FLAGS, f"--user-data-dir={profile}", *args],
        capture_output=True, text=True, encoding="utf-8", errors="replace", timeout=120,
    )  # fmt: skip


class _Dom:
    """Spans of the heat maps in a DOM Chromium dumped after running the page's script."""

    SPAN = re.compile(r'<span class="u([^"]*)"([^>]*)>(.*?)</span>', re.S)
    ATTR = re.compile(r'([\w-]+)="([^"]*)"')

    def __init__(self, dom: str) -> None:
        import html

        self.dom = dom
        self.units = [
            (dict(self.ATTR.findall(attrs)), html.unescape(text))
            for _, attrs, text in self.SPAN.findall(dom)
        ]


@pytest.mark.parametrize("level", ["word", "grapheme"])
def test_html_page_in_chromium(cli: Run, tmp_path: Path, level: str) -> None:
    chromium = _chromium()
    assert chromium
    page = tmp_path / "answer.html"
    ok(cli("html", str(DATA / "cli_completion.json"), "-o", str(page), "--level", level))
    assert page.stat().st_mode & 0o044, "the page is readable like any file the user writes"
    doc_json = json.loads(
        ok(cli("show", str(DATA / "cli_completion.json"), "--format", "json", "--level", level))
    )

    dom = _browser(tmp_path, "--dump-dom", page.as_uri())
    assert dom.returncode == 0, dom.stderr[-2000:]
    assert 'data-ready="1"' in dom.stdout, "the page's script ran"
    units = _Dom(dom.stdout).units
    assert [text for _, text in units] == [u["text"] for u in doc_json["units"]]
    for (attrs, _), unit in zip(units, doc_json["units"]):
        r, g, b = render.color_for(unit["prob"])
        assert attrs["data-bg"] == f"rgb({r}, {g}, {b})", "the color the browser painted"
    heat = re.search(r'<div class="heat" data-doc="0">(.*?)</div>', dom.stdout, re.S)
    assert heat is not None
    import html

    assert html.unescape(re.sub(r"<[^>]+>", "", heat.group(1))) == KOREAN

    # hovering is not possible headless; a #u<doc>-<unit> link pins a unit's details instead
    seoul = next(i for i, (_, text) in enumerate(units) if "서" in text)
    pinned = _browser(tmp_path, "--dump-dom", page.as_uri() + f"#u0-{seoul}")
    tip = re.search(r'<div id="tip"[^>]*>(.*?)</div>\s*<script', pinned.stdout, re.S)
    assert tip is not None and 'style="display: block' in pinned.stdout
    assert "20 ec 84 9c" in tip.group(1), "token bytes in hex"
    assert "below top 20" in tip.group(1), "the -9999.0 alternative of ' 서'"
    assert "0.930" in tip.group(1), "the chosen token among its alternatives"

    shot = tmp_path / "answer.png"
    result = _browser(
        tmp_path, "--window-size=1000,900", f"--screenshot={shot}", page.as_uri() + "#u0-2"
    )
    assert result.returncode == 0, result.stderr[-2000:]
    assert shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and shot.stat().st_size > 10_000
    keep = os.environ.get("TOKBYTES_SCREENSHOTS")
    if keep:  # to look at it: TOKBYTES_SCREENSHOTS=/tmp/shots pytest tests/test_cli.py
        Path(keep).mkdir(parents=True, exist_ok=True)
        shutil.copy(shot, Path(keep) / f"answer-{level}.png")


def test_html_escaping_in_chromium(cli: Run, tmp_path: Path) -> None:
    _chromium()
    page = tmp_path / "escape.html"
    ok(cli("html", str(DATA / "cli_escape.json"), "-o", str(page), "--title", "<b>x</b>"))
    dom = _browser(tmp_path, "--dump-dom", page.as_uri()).stdout
    assert 'data-ready="1"' in dom, "the token text did not break the page's script"
    units = _Dom(dom).units
    records = json.loads((DATA / "cli_escape.json").read_text("utf-8"))
    text = "".join(r["token"] for r in records)
    assert "<script>" in text
    assert "".join(t for _, t in units) == "".join(
        u["text"]
        for u in json.loads(ok(cli("show", str(DATA / "cli_escape.json"), "--format", "json")))[
            "units"
        ]
    )
    assert "<b>x</b>" not in dom and "&lt;b&gt;x&lt;/b&gt;" in dom


def test_channel_reasoning_shows_the_thinking_of_a_chat_reply(cli: Run, tmp_path: Path) -> None:
    pieces = ["<think>", "\n", "서울", "은", " 수도", "</think>", "\n\n", "서울", "입니다", "."]
    records = [
        {"token": p, "bytes": list(p.encode()), "logprob": -0.1 * (k + 1)}
        for k, p in enumerate(pieces)
    ]
    message = {"role": "assistant", "content": "서울입니다.", "reasoning_content": "\n서울은 수도"}
    reply = {
        "object": "chat.completion",
        "choices": [{"index": 0, "message": message, "logprobs": {"content": records[1:]}}],
    }
    path = tmp_path / "think.json"
    path.write_text(json.dumps(reply, ensure_ascii=False), encoding="utf-8")
    assert ok(cli("show", str(path))) == "서울입니다.\n"
    assert ok(cli("show", str(path), "--channel", "reasoning")) == "\n서울은 수도\n"
    out = json.loads(ok(cli("show", str(path), "--channel", "reasoning", "--format", "json")))
    assert [u["text"] for u in out["units"]] == ["서울은", "수도"]
    assert out["units"][0]["tokens"] == [1, 2]  # token 0 is the newline after <think>
