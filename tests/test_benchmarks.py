"""Smoke run of ``benchmarks/``: every row runs and its numbers are sane (never a timing threshold)."""

from __future__ import annotations

import doctest
import json
import math
from pathlib import Path

import pytest

import tokbytes
from benchmarks import run, workloads
from tests.extras import installed


@pytest.fixture(scope="module")
def smoke(tmp_path_factory: pytest.TempPathFactory) -> tuple[dict, Path]:  # type: ignore[type-arg]
    out = tmp_path_factory.mktemp("bench")
    result = run.run(sizes=[2000], repeat=1, span_count=200, out=out, make_plot=False)
    return result, out


def test_json_has_every_row_for_every_language(smoke: tuple[dict, Path]) -> None:  # type: ignore[type-arg]
    _, out = smoke
    data = json.loads((out / "benchmark.json").read_text(encoding="utf-8"))
    assert data["tokenizer"] in ("cl100k", "byte-splitter")
    assert data["machine"]["cpu"] and data["machine"]["python"]
    found = {(r["language"], r["operation"]) for r in data["rows"]}
    assert found == {(lang, op) for lang in workloads.LANGUAGES for op in run.OPERATIONS}
    assert {m["language"] for m in data["memory"]} == set(workloads.LANGUAGES)
    assert {t["status"] for t in data["targets"]} <= {"PASS", "MISS", "n/a"}


def test_numbers_are_sane(smoke: tuple[dict, Path]) -> None:  # type: ignore[type-arg]
    result, _ = smoke
    for r in result["rows"]:
        assert 1900 <= r["tokens"] <= 2000 and r["bytes"] >= r["chars"] > 0
        if r["skipped"]:  # streaming while StreamDecoder is not importable; pure rows when
            # the compiled core is not in use (the other rows are then the pure path); ICU
            # words without the icu extra
            assert "skipped" in r["note"]
            assert (
                r["operation"].startswith("stream_")
                or r["operation"] == "words_icu_columns"
                or (r["operation"].endswith("_pure") and not tokbytes.compiled)
            )
            continue
        assert r["seconds"] > 0 and all(t > 0 for t in r["times"])
        assert math.isfinite(r["ratio_floor"]) and r["ratio_floor"] > 0
        assert math.isfinite(r["ratio_peer"]) and r["ratio_peer"] > 0
        assert r["tokens_per_s"] > 0 and r["mb_per_s"] > 0
    for m in result["memory"]:
        assert m["kept_text_per_token"] > 0 and m["peak_decode_per_token"] > 0
        assert m["kept_all_per_token"] >= m["kept_text_per_token"]


def test_tokbytes_text_equals_floor_text(smoke: tuple[dict, Path]) -> None:  # type: ignore[type-arg]
    result, _ = smoke
    assert len(result["checks"]) == len(workloads.LANGUAGES)
    for case in result["checks"]:
        assert all(case["checks"].values()), case


def test_table_names_every_target_and_the_machine(smoke: tuple[dict, Path]) -> None:  # type: ignore[type-arg]
    result, _ = smoke
    table = run.format_table(result)
    assert result["machine"]["cpu"] in table and result["tokenizer"] in table
    for op in run.RATIO_TARGETS:
        assert f"{op} ≤" in table


def test_byte_splitter_cuts_inside_characters_and_keeps_every_byte() -> None:
    text = workloads.make_text("korean", 500)
    pieces = workloads.byte_splitter(seed=1)(text)
    assert b"".join(pieces) == text.encode()
    assert any(not _decodes(p) for p in pieces)  # some pieces are partial characters
    assert pieces == workloads.byte_splitter(seed=1)(text)  # deterministic
    cut = workloads.prefix(pieces, 100)
    assert 90 <= len(cut) <= 100 and _decodes(b"".join(cut))


def test_floor_and_peer_agree_on_the_text() -> None:
    records = workloads.records(workloads.byte_splitter()(workloads.make_text("mixed", 300)))
    text, logprobs = run.floor(records)
    assert "".join(ch for ch, _ in run.peer(records)) == text
    assert len(logprobs) == len(records)


def test_cli_run_writes_json_and_plot(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    pytest.importorskip("matplotlib")
    args = ["--sizes", "300,600", "--repeat", "1", "--languages", "english", "--spans", "10"]
    assert run.main([*args, "--tokenizer", "bytes", "--out", str(tmp_path)]) == 0
    assert "byte-splitter" in capsys.readouterr().out
    assert json.loads((tmp_path / "benchmark.json").read_text(encoding="utf-8"))["rows"]
    assert (tmp_path / "benchmark.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_workload_doctests() -> None:
    assert doctest.testmod(workloads).failed == 0


def _decodes(data: bytes) -> bool:
    try:
        data.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True


def test_icu_words_row_has_its_relative_target(smoke: tuple[dict, Path]) -> None:  # type: ignore[type-arg]
    if not installed("icu"):
        pytest.skip('the words_icu rows need icu4py (pip install "tokbytes[icu]")')
    result, _ = smoke
    (target,) = [t for t in result["targets"] if t["target"].startswith("words_icu_columns")]
    assert target["target"] == "words_icu_columns ≤ 1.5× words_columns"
    assert target["status"] in ("PASS", "MISS") and "worst" in target["detail"]
