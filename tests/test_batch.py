"""batch: every line scored exactly as ``decode()`` scores it, in input order, nothing lost, no
partial output file, whatever the number of workers, the format or an interruption.

The oracle is written here from the definitions (decode each line, read every unit one by one);
the generated inputs are the benchmark's (``benchmarks/batch.py``): every language, four shapes,
and broken lines of every kind among them.
"""

from __future__ import annotations

import csv
import gzip
import json
import math
import os
import re
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis_profile import scaled

import tokbytes
from benchmarks.batch import BROKEN_EVERY, response_lines
from tokbytes import batch
from tokbytes import strategies as tbst

LINES = 3000


# -- the oracle ------------------------------------------------------------------------------------


def oracle(raw: bytes, source: str, **options: Any) -> tuple[str, tokbytes.Decoded | None]:
    """``(id, document)`` of one line, or ``(id, None)`` when it cannot be scored."""
    try:
        obj = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError):
        return source, None
    body = obj
    ident = None
    if isinstance(obj, dict) and "custom_id" in obj:
        ident = obj["custom_id"]
        response = obj.get("response")
        if obj.get("error") or not response or response.get("status_code") != 200:
            return ident, None
        body = response["body"]
    if ident is None and isinstance(body, dict) and isinstance(body.get("id"), str):
        ident = body["id"]
    try:
        doc = tokbytes.decode(body, channel="auto", **options)
    except tokbytes.TokbytesError:
        return ident or source, None
    ident = "".join("\ufffd" if 0xD800 <= ord(c) <= 0xDFFF else c for c in ident or source)
    return ident, doc if len(doc.tokens) else None


def finite(x: float) -> float | None:
    return x if math.isfinite(x) else None


def perplexity(logprob: float, tokens: int) -> float | None:
    """``exp(-logprob / tokens)``; None when it is not a finite float."""
    try:
        return finite(math.exp(-logprob / tokens))
    except OverflowError:
        return None


def expected_row(raw: bytes, source: str, **options: Any) -> dict[str, Any]:
    ident, doc = oracle(raw, source, **options)
    if doc is None:
        return {"id": ident, "source": source, "failed": True}
    chars = [math.exp(u.logprob) for u in doc.chars if not math.isnan(u.logprob)]
    words = [w for w in doc.words if not math.isnan(w.logprob)]
    lowest = min(words, key=lambda w: w.logprob) if words else None
    total = sum(t.logprob for t in doc.tokens)
    return {
        "id": ident,
        "source": source,
        "text": doc.text,
        "tokens": len(doc.tokens),
        "chars": len(doc.text),
        "logprob": finite(doc.logprob),
        "perplexity": perplexity(doc.logprob, len(doc.tokens)),
        "min_char_prob": min(chars) if chars else None,
        "lowest_word": lowest.text if lowest else None,
        "lowest_word_prob": math.exp(lowest.logprob) if lowest else None,
        "problems": sorted({p.kind for p in doc.problems}),
        "error": "",
        "_sum": total,
    }


def same(row: dict[str, Any], expected: dict[str, Any]) -> bool:
    if expected.get("failed"):
        return bool(row["error"]) and row["id"] == expected["id"]
    assert math.isclose(row["logprob"], expected.pop("_sum"), rel_tol=1e-9, abs_tol=1e-9)
    return {**row, "problems": sorted(row["problems"])} == expected


def expected_units(raw: bytes, source: str, level: str, **options: Any) -> list[dict[str, Any]]:
    ident, doc = oracle(raw, source, **options)
    if doc is None:
        return [{"id": ident, "source": source, "failed": True}]
    if level == "token":
        out, start = [], 0
        for t in doc.tokens:
            out.append((t.index, start, start + len(t.text), t.text, t.logprob))
            start += len(t.text)
    else:
        out = [(i, u.start, u.end, u.text, u.logprob) for i, u in enumerate(doc.units(level))]
    names = ("unit", "start", "end", "text", "logprob")
    return [
        {"id": ident, "source": source, **dict(zip(names, u)), "logprob": finite(u[4]), "error": ""}
        for u in out
    ]


# -- inputs ----------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def inputs(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A few thousand responses in four shapes with broken lines of every kind, plus lines that
    break the id (a lone surrogate) and a scalar."""
    folder = tmp_path_factory.mktemp("batch")
    path = folder / "responses.jsonl"
    lines = []
    for raw in response_lines(10**9, seed=3, sizes=(1, 40)):
        lines.append(raw)
        if len(lines) == LINES:
            break
    lines.insert(
        5,
        b'{"custom_id": "lone-\\ud800", "response": {"status_code": 200, "body": '
        b'[{"token": "ok", "bytes": [111, 107], "logprob": -0.1}]}}',
    )
    lines.insert(9, b"42")
    lines.insert(11, b"")
    path.write_bytes(b"\n".join(lines) + b"\n")
    return path


def numbered(path: Path) -> list[tuple[str, bytes]]:
    """The oracle's line reading: ``(source, line)`` of every non-blank line."""
    data = path.read_bytes()
    if data[:2] == b"\x1f\x8b":
        data = gzip.decompress(data)
    return [
        (f"{path}:{n}", line.rstrip(b"\r"))
        for n, line in enumerate(data.split(b"\n"), 1)
        if line.strip()
    ]


def read_jsonl(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


@pytest.fixture(scope="module")
def local_rows(inputs: Path, tmp_path_factory: pytest.TempPathFactory) -> list[dict[str, Any]]:
    out = tmp_path_factory.mktemp("out") / "rows.jsonl"
    summary = batch.score(inputs, out, workers=1)
    rows = read_jsonl(out)
    assert summary.rows == len(rows) == summary.lines
    return rows


# -- rows ------------------------------------------------------------------------------------------


def test_rows_equal_decode_of_each_line(inputs: Path, local_rows: list[dict[str, Any]]) -> None:
    lines = numbered(inputs)
    assert len(local_rows) == len(lines) >= LINES - LINES // BROKEN_EVERY  # blanks skipped
    for row, (source, raw) in zip(local_rows, lines):
        assert same(row, expected_row(raw, source)), (source, row)


def test_every_kind_of_broken_line_is_a_row_with_its_error(
    local_rows: list[dict[str, Any]],
) -> None:
    errors = [row["error"] for row in local_rows if row["error"]]
    assert len(errors) >= LINES // BROKEN_EVERY
    for expected in (
        "invalid JSON",
        "status 429: Rate limit reached",
        "request failed: This request could not be executed",
        "no token logprobs",
        "output ends inside a character",
        "line is not UTF-8 (byte 12: b'\\xff')",
    ):
        assert any(expected in e for e in errors), expected
    scalar = next(row for row in local_rows if row["source"].endswith(":10"))
    assert scalar["error"] and scalar["id"] == scalar["source"] and scalar["tokens"] is None
    assert any(row["id"] == "lone-\ufffd" and not row["error"] for row in local_rows)


def test_summary_counts_scored_and_failed_lines(inputs: Path, tmp_path: Path) -> None:
    seen: list[batch.ScoreSummary] = []
    summary = batch.score(inputs, tmp_path / "o.jsonl", workers=1, progress=seen.append)
    rows = read_jsonl(tmp_path / "o.jsonl")
    assert summary.failed == sum(1 for r in rows if r["error"]) > 0
    assert summary.scored == sum(1 for r in rows if not r["error"])
    assert summary.tokens == sum(r["tokens"] for r in rows if not r["error"])
    assert [s.lines for s in seen] == sorted(s.lines for s in seen)
    last = seen[-1]
    assert (last.lines, last.failed, last.rows, last.tokens) == (
        summary.lines,
        summary.failed,
        summary.rows,
        summary.tokens,
    )
    assert "failed" in str(summary) and summary.tokens_per_second > 0


def test_workers_keep_the_input_order(inputs: Path, tmp_path: Path) -> None:
    batch.score(inputs, tmp_path / "one.jsonl", workers=1)
    summary = batch.score(inputs, tmp_path / "two.jsonl", workers=2)
    assert (tmp_path / "two.jsonl").read_bytes() == (tmp_path / "one.jsonl").read_bytes()
    lines = [int(r["source"].rsplit(":", 1)[1]) for r in read_jsonl(tmp_path / "two.jsonl")]
    assert lines == sorted(lines) and summary.lines > 2 * batch._CHUNK_LINES * 2


@pytest.mark.parametrize("level", ["token", "char", "grapheme", "word"])
def test_unit_rows_equal_the_units_of_decode(inputs: Path, tmp_path: Path, level: str) -> None:
    head = tmp_path / "head.jsonl"
    head.write_bytes(b"".join(raw + b"\n" for _, raw in numbered(inputs)[:400]))
    batch.score(head, tmp_path / "u.jsonl", workers=2, level=level)  # type: ignore[arg-type]
    rows = read_jsonl(tmp_path / "u.jsonl")
    expected = [u for source, raw in numbered(head) for u in expected_units(raw, source, level)]
    assert len(rows) == len(expected)
    for row, want in zip(rows, expected):
        if want.get("failed"):
            assert row["error"] and row["id"] == want["id"] and row["unit"] is None
        else:
            assert row == want
    texts: dict[str, list[str]] = {}
    for row in rows:
        texts.setdefault(row["source"], []).append(row["text"] or "")
    if level in ("token", "char", "grapheme"):  # these units tile the text
        for source, raw in numbered(head):
            _, doc = oracle(raw, source)
            if doc is not None:
                assert "".join(texts[source]) == doc.text


def test_parquet_csv_and_jsonl_hold_the_same_rows(
    inputs: Path, local_rows: list[dict[str, Any]], tmp_path: Path
) -> None:
    pq = pytest.importorskip("pyarrow.parquet", reason="Parquet needs pyarrow (tokbytes[arrow])")
    batch.score(inputs, tmp_path / "o.parquet", workers=2)
    table = pq.read_table(tmp_path / "o.parquet")
    assert table.schema.names == [name for name, _ in batch.RESPONSE_FIELDS]
    assert table.to_pylist() == local_rows
    batch.score(inputs, tmp_path / "o.csv", workers=2)
    with open(tmp_path / "o.csv", encoding="utf-8", newline="") as f:
        got = list(csv.DictReader(f))
    kinds = dict(batch.RESPONSE_FIELDS)

    def as_csv(name: str, value: Any) -> str:
        if value is None:
            return ""
        if kinds[name] == "list[str]":
            return " ".join(value)
        return repr(value) if isinstance(value, float) else str(value)

    assert got == [{k: as_csv(k, v) for k, v in row.items()} for row in local_rows]
    for row, back in zip(local_rows, got):  # floats read back bit for bit
        if row["logprob"] is not None:
            assert float(back["logprob"]) == row["logprob"]


def test_gz_glob_and_stdin_inputs(inputs: Path, tmp_path: Path) -> None:
    lines = numbered(inputs)[:300]
    first = tmp_path / "a.jsonl"
    first.write_bytes(b"".join(raw + b"\n" for _, raw in lines[:100]))
    second = tmp_path / "b.jsonl.gz"
    second.write_bytes(gzip.compress(b"".join(raw + b"\r\n" for _, raw in lines[100:])))
    batch.score(str(tmp_path / "*.jsonl*"), tmp_path / "glob.jsonl", workers=2)
    rows = read_jsonl(tmp_path / "glob.jsonl")
    expected = numbered(first) + numbered(second)
    assert [r["source"] for r in rows] == [s for s, _ in expected]
    for row, (source, raw) in zip(rows, expected):
        assert same(row, expected_row(raw, source))
    piped = subprocess.run(
        [sys.executable, "-m", "tokbytes", "score", "-", "-o", "-", "--quiet"],
        input=gzip.compress(first.read_bytes()),
        capture_output=True,
        timeout=120,
        check=True,
    )
    from_stdin = [json.loads(line) for line in piped.stdout.decode().splitlines()]
    assert [r["source"] for r in from_stdin] == [
        s.replace(str(first), "<stdin>") for s, _ in numbered(first)
    ]
    assert [{**r, "source": ""} for r in from_stdin] == [
        {**r, "source": "", "id": r["id"].replace(str(first), "<stdin>")} for r in rows[:100]
    ]


def test_errors_replace_scores_what_strict_rejects(tmp_path: Path) -> None:
    path = tmp_path / "t.jsonl"
    path.write_text(
        '[{"token": " 서", "bytes": [32, 236, 132, 156], "logprob": -0.5},'
        ' {"token": "\\\\xec\\\\x9a", "bytes": [236, 154], "logprob": -1.0}]\n'
    )
    strict = batch.score(path, tmp_path / "s.jsonl", workers=1)
    replaced = batch.score(path, tmp_path / "r.jsonl", workers=1, errors="replace")
    assert (strict.failed, replaced.failed) == (1, 0)
    row = read_jsonl(tmp_path / "r.jsonl")[0]
    assert row["text"] == " 서\ufffd" and row["problems"] == ["truncated"]


# -- hypothesis: score_record == decode, whatever the shape -----------------------------------------


@settings(max_examples=scaled(100))
@given(
    tbst.payloads(shape="records")
    | tbst.payloads(shape="chat_completion")
    | tbst.payloads(shape="legacy"),
    st.sampled_from(["cover", "split"]),
)
def test_score_record_equals_decode_in_every_shape(payload: tbst.Payload, attribution: str) -> None:
    line = json.dumps(payload.data).encode()
    row = batch.score_record(line, source="f:1", attribution=attribution)  # type: ignore[arg-type]
    assert same(row, expected_row(line, "f:1", attribution=attribution))
    assert batch.score_record(payload.data, source="f:1", attribution=attribution) == row  # type: ignore[arg-type]
    assert batch.score_record(line.decode(), source="f:1", attribution=attribution) == row  # type: ignore[arg-type]
    units = batch.score_units(line, "word", source="f:1", attribution=attribution)  # type: ignore[arg-type]
    want = expected_units(line, "f:1", "word", attribution=attribution)
    if want and want[0].get("failed"):
        assert len(units) == 1 and units[0]["error"] and units[0]["unit"] is None
    else:
        assert units == want


@settings(max_examples=scaled(60))
@given(tbst.malformed_payloads())
def test_bad_input_is_a_row_never_an_exception(bad: tbst.Malformed) -> None:
    row = batch.score_record(bad.data, source="f:9")
    assert row["error"] and row["id"] == "f:9" and row["tokens"] is None


def test_score_units_rejects_an_unknown_level() -> None:
    with pytest.raises(tokbytes.InputError, match="level must be"):
        batch.score_units("[]", "response")


# -- bounded memory --------------------------------------------------------------------------------


def test_the_pool_reads_lazily_with_bounded_lookahead() -> None:
    consumed = [0]

    def lines() -> Iterator[list[tuple[str, bytes]]]:
        for n in range(1000):
            consumed[0] += 1
            yield [(f"f:{n}", b"[]")]

    results = batch._local_engine(lines(), batch._Scorer(), 2)
    first = next(results)
    assert first[1] == 1 and consumed[0] <= batch._LOOKAHEAD * 2 + 1
    for _ in range(10):
        next(results)
    assert consumed[0] <= 11 + batch._LOOKAHEAD * 2 + 1
    results.close()


# -- nothing half-written --------------------------------------------------------------------------


def leftovers(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir() if p.name.startswith(".tokbytes-"))


def test_an_exception_mid_run_leaves_no_partial_file(inputs: Path, tmp_path: Path) -> None:
    target = tmp_path / "scores.jsonl"
    target.write_text("previous run\n")
    calls = [0]

    def explode(summary: batch.ScoreSummary) -> None:
        calls[0] += 1
        if calls[0] == 3:
            raise RuntimeError("injected")

    with pytest.raises(RuntimeError, match="injected"):
        batch.score(inputs, target, workers=2, progress=explode)
    assert target.read_text() == "previous run\n" and not leftovers(tmp_path)


def test_a_bad_output_path_fails_before_any_work(inputs: Path, tmp_path: Path) -> None:
    with pytest.raises(tokbytes.InputError, match=r"\.parquet, \.jsonl or \.csv"):
        batch.score(inputs, tmp_path / "scores.txt")
    with pytest.raises(tokbytes.InputError, match="cannot write"):
        batch.score(inputs, tmp_path / "missing" / "scores.jsonl")
    with pytest.raises(tokbytes.InputError, match="no file matches"):
        batch.score(str(tmp_path / "*.nothing"), tmp_path / "o.jsonl")
    with pytest.raises(tokbytes.InputError, match="no such file"):
        batch.score(tmp_path / "absent.jsonl", tmp_path / "o.jsonl")
    assert not list(tmp_path.iterdir())


def test_parquet_without_pyarrow_names_the_extra(
    monkeypatch: pytest.MonkeyPatch, inputs: Path, tmp_path: Path
) -> None:
    monkeypatch.setitem(sys.modules, "pyarrow", None)
    with pytest.raises(ImportError, match=r'pip install "tokbytes\[arrow\]"'):
        batch.score(inputs, tmp_path / "o.parquet")


def _cli(*args: str, **kwargs: Any) -> subprocess.Popen[str]:
    env = {**os.environ, "PYTHONIOENCODING": "utf-8"}
    return subprocess.Popen(
        [sys.executable, "-m", "tokbytes", "score", *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
        **kwargs,
    )


@pytest.mark.parametrize(("signum", "status"), [(signal.SIGINT, 130), (signal.SIGTERM, 143)])
def test_a_signal_mid_run_leaves_no_partial_file(
    inputs: Path, tmp_path: Path, signum: int, status: int
) -> None:
    big = tmp_path / "in" / "big.jsonl"
    big.parent.mkdir()
    data = inputs.read_bytes()
    big.write_bytes(data * 40)  # ~120k responses: many seconds of work
    out = tmp_path / "out"
    out.mkdir()
    target = out / "scores.jsonl"
    run = _cli(str(big), "-o", str(target), "--workers", "2", "--progress")
    assert run.stderr is not None
    seen = ""
    while "lines" not in seen:  # the progress line: rows are being written
        char = run.stderr.read(1)
        assert char, f"ended before any progress: {seen!r}"
        seen += char
    time.sleep(0.3)
    run.send_signal(signum)
    _, err = run.communicate(timeout=60)
    assert run.returncode == status, err
    assert not target.exists() and not leftovers(out)
    assert "Traceback" not in err


def test_strict_exits_2_naming_the_line(inputs: Path, tmp_path: Path) -> None:
    target = tmp_path / "scores.jsonl"
    run = _cli(str(inputs), "-o", str(target), "--strict", "--workers", "2")
    _, err = run.communicate(timeout=120)
    first_bad = next(
        source for source, raw in numbered(inputs) if expected_row(raw, source).get("failed")
    )
    assert run.returncode == 2
    assert err.startswith(f"tokbytes: error: {first_bad}: ") and err.count("\n") == 1
    assert not target.exists() and not leftovers(tmp_path)


def test_cli_summary_and_warning(inputs: Path, tmp_path: Path) -> None:
    target = tmp_path / "scores.csv"
    run = _cli(str(inputs), "-o", str(target), "--level", "word")
    _, err = run.communicate(timeout=120)
    assert run.returncode == 0, err
    assert "tokbytes: scored " in err and "could not be scored" in err
    with open(target, encoding="utf-8", newline="") as f:
        header = next(csv.reader(f))
    assert header == [name for name, _ in batch.UNIT_FIELDS]
    quiet = _cli(str(inputs), "-o", str(tmp_path / "q.jsonl"), "--quiet", "--workers", "1")
    assert quiet.communicate(timeout=120) == ("", "") and quiet.returncode == 0


def test_available_cores_is_what_the_process_may_use() -> None:
    cores = batch.available_cores()
    assert 1 <= cores <= (os.cpu_count() or 1)
    if hasattr(os, "sched_getaffinity"):
        assert cores == len(os.sched_getaffinity(0))


# -- docs and benchmark ----------------------------------------------------------------------------

DOCS = Path(__file__).resolve().parents[1] / "docs" / "batch.md"


def test_docs_examples_print_what_the_docs_show(capsys: pytest.CaptureFixture[str]) -> None:
    text = DOCS.read_text(encoding="utf-8")
    blocks = re.findall(r"^```python\n(.*?)^```", text, re.S | re.M)
    assert blocks
    for number, block in enumerate(blocks):
        exec(compile(block, f"<docs/batch.md python block {number}>", "exec"), {})
    printed = capsys.readouterr().out
    assert f"prints\n\n```\n{printed}```" in text


def test_the_benchmark_row_runs_and_its_outputs_agree(tmp_path: Path) -> None:
    from benchmarks import batch as bench

    result = bench.run(3000, workers=2, ray=False, out=tmp_path, tokenizer="bytes")
    assert [r["workers"] for r in result["rows"]] == [1, 2]
    for row in result["rows"]:
        assert row["same_output_as_first"] and row["tokens"] >= 3000 and row["seconds"] > 0
        assert row["scaling_efficiency"] == row["speedup"] / row["workers"]
    assert json.loads((tmp_path / "batch.json").read_text())["rows"] == result["rows"]
    assert "efficiency" in bench.format_table(result)


def test_a_failure_while_making_rows_is_a_row_too(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    path = tmp_path / "in.jsonl"
    path.write_text(
        '[{"token": "ok", "bytes": [111, 107], "logprob": -0.1}]\n'
        '[{"token": "boom", "bytes": [98, 111, 111, 109], "logprob": -0.1}]\n'
    )
    real = batch._response_row

    def fragile(ident: str, source: str, doc: Any, error: str) -> dict[str, Any]:
        if doc is not None and doc.text == "boom":
            raise ZeroDivisionError("a bug")
        return real(ident, source, doc, error)

    monkeypatch.setattr(batch, "_response_row", fragile)
    summary = batch.score(path, tmp_path / "o.jsonl", workers=1)
    rows = read_jsonl(tmp_path / "o.jsonl")
    assert (summary.lines, summary.failed) == (2, 1)
    assert rows[0]["text"] == "ok" and rows[1]["error"] == "unexpected ZeroDivisionError: a bug"


def test_address_needs_the_ray_engine(inputs: Path, tmp_path: Path) -> None:
    with pytest.raises(tokbytes.InputError, match="engine='ray'"):
        batch.score(inputs, tmp_path / "o.jsonl", address="auto")


def test_an_os_error_of_the_engine_is_not_called_a_write_error(
    inputs: Path, tmp_path: Path
) -> None:
    def lost(summary: batch.ScoreSummary) -> None:
        raise ConnectionError("cluster gone")

    with pytest.raises(ConnectionError, match="cluster gone"):
        batch.score(inputs, tmp_path / "o.csv", workers=1, progress=lost)
    assert not list(tmp_path.iterdir())
