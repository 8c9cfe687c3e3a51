"""Benchmark tokbytes on long outputs against the floor and the hand-written loop users write.

Run from the repository root::

    python -m benchmarks.run                                   # 10k, 100k and 1M tokens, best of 3
    python -m benchmarks.run --sizes 10000,100000 --repeat 5 --out benchmarks/results/
    python -m benchmarks.run --quick                           # a few seconds: 2k and 20k tokens
    python -m benchmarks.run --profile chars --languages korean --sizes 100000

Every row is measured in one process and one run, best of ``--repeat`` repetitions taken in turn
(one of each row, then again), so ratios to the floor and to the peer compare numbers taken side
by side on a noisy machine. Prints a table
per size, a ratio summary and PASS/MISS per target (with a profile of each missed one); writes
``benchmark.json`` and
``benchmark.png`` (time against size per operation, log-log) to ``--out``. See
``docs/benchmarks.md`` for what each row means.

With the compiled core in use, every tokbytes row is measured twice in the same run: as the user
gets it (compiled), and as ``<row>_pure`` under ``tokbytes._speedups.forced_pure()`` (the
pure-Python reference, as with ``TOKBYTES_PURE=1``). ``--paths compiled`` leaves the pure rows
out.
"""

from __future__ import annotations

import argparse
import codecs
import cProfile
import gc
import json
import math
import platform
import pstats
import random
import sys
import time
import tracemalloc
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from itertools import accumulate, repeat
from pathlib import Path
from typing import Any

import tokbytes
from tokbytes import _speedups

from . import workloads

DEFAULT_SIZES = (10_000, 100_000, 1_000_000)
QUICK_SIZES = (2_000, 20_000)
SPAN_QUERIES = 10_000
STREAM_LEVELS = ("char", "grapheme", "word")

#: Operation names, in table order (``stream_*`` rows need ``tokbytes.StreamDecoder``).
OPERATIONS = (
    "floor",
    "peer",
    "text",
    "chars",
    "graphemes",
    "words",
    "chars_columns",
    "graphemes_columns",
    "words_columns",
    "words_icu_columns",
    "spans",
    "stream_char",
    "stream_char_list",
    "stream_grapheme",
    "stream_word",
    "unit_objects",
    "minimal_feed",
)
#: tokbytes rows also measured on the pure-Python path (as ``<row>_pure``).
PURE_ROWS = (
    "text",
    "chars",
    "graphemes",
    "words",
    "chars_columns",
    "graphemes_columns",
    "words_columns",
    "spans",
    "stream_char",
    "stream_char_list",
    "stream_grapheme",
    "stream_word",
)
# Each pure row right after its compiled row, so tables show the two paths side by side.
OPERATIONS = tuple(
    name
    for op in OPERATIONS
    for name in (op, f"{op}_pure")
    if name in OPERATIONS or op in PURE_ROWS
)
#: Reference rows that are not tokbytes: what a design pays before doing any decoding work.
BOUNDS = ("unit_objects", "minimal_feed")
#: Operations whose time should grow linearly with the output (spans do a fixed 10k queries).
LINEAR = tuple(
    op for op in OPERATIONS if op not in ("floor", "peer", "spans", "spans_pure", *BOUNDS)
)

#: Targets (issue 15): ratio of an operation's time to the floor's, in the same run, with the
#: compiled core (the ``_pure`` rows are reported beside them).
RATIO_TARGETS = {
    "text": 0.6,
    "chars_columns": 0.8,
    "graphemes_columns": 2.0,
    "words_columns": 2.0,
    "chars": 2.0,
    "graphemes": 3.0,
    "words": 3.0,
    "stream_char": 2.5,
    "stream_char_list": 2.5,
    "stream_grapheme": 4.0,
    "stream_word": 4.0,
}
#: Targets: ratio of an operation's time to another operation's, in the same run.
RELATIVE_TARGETS = {("words_icu_columns", "words_columns"): 1.5}
BYTES_PER_TOKEN_TARGET = 100.0
#: Time at 10x the tokens may be at most this many times the time (1M ≤ 11× 100k).
LINEAR_SLACK = 1.1
#: Targets are checked at sizes from here up (below, fixed costs dominate); else the largest size.
TARGET_MIN_SIZE = 100_000


# -- the operations ------------------------------------------------------------------------------


def floor(records: Sequence[dict[str, Any]]) -> tuple[str, list[float]]:
    """The least any tool can do: join every token's bytes, decode once, collect the logprobs."""
    text = b"".join(bytes(t["bytes"]) for t in records).decode("utf-8")
    return text, [t["logprob"] for t in records]


def peer(records: Sequence[dict[str, Any]]) -> list[tuple[str, float]]:
    """What users write today: an incremental UTF-8 decoder fed token by token.

    Each character gets the pending logprob: the sum of the logprobs of the tokens fed since the
    last character came out.
    """
    decoder = codecs.getincrementaldecoder("utf-8")()
    out: list[tuple[str, float]] = []
    pending = 0.0
    for t in records:
        pending += t["logprob"]
        piece = decoder.decode(bytes(t["bytes"]))
        if piece:
            for ch in piece:
                out.append((ch, pending))
            pending = 0.0
    decoder.decode(b"", final=True)
    return out


def tb_text(records: Sequence[dict[str, Any]]) -> str:
    return tokbytes.decode(records).text


def _iterate(level: str) -> Callable[[Sequence[dict[str, Any]]], float]:
    def run(records: Sequence[dict[str, Any]]) -> float:
        doc = tokbytes.decode(records)
        total = 0.0
        for unit in getattr(doc, level):
            total += unit.logprob
        return total

    run.__name__ = f"tb_{level}"
    return run


def _columns(level: str, words: str = "uax29") -> Callable[[Sequence[dict[str, Any]]], float]:
    def run(records: Sequence[dict[str, Any]]) -> float:
        return float(sum(getattr(tokbytes.decode(records, words=words), level).logprobs()))

    run.__name__ = f"tb_{level}_columns" + ("" if words == "uax29" else f"_{words}")
    return run


def icu_available() -> bool:
    """Whether ``words="icu"`` can run (the ``icu`` extra is installed)."""
    try:
        tokbytes.WordSegmenter("icu")
    except ImportError:
        return False
    return True


def unit_objects(fields: Sequence[Sequence[Any]]) -> float:
    """A lower bound, not tokbytes: make one ``Unit`` per character from fields computed in
    advance (``fields`` holds one list per ``Unit`` field) and read each ``.logprob``.

    What iterating characters costs any design that makes an object per character, before
    decoding anything.
    """
    total = 0.0
    for unit in map(tuple.__new__, repeat(tokbytes.Unit), zip(*fields)):
        total += unit.logprob
    return total


class MinimalFeed:
    """A lower bound, not a decoder: a ``feed()`` per token that decodes the token alone and
    makes its ``Unit``s, keeping no state but three counters.

    No validation and no partial characters (their bytes are dropped, so split characters make
    no unit and the bound is lower still): what a per-token streaming API costs in Python.
    """

    def __init__(self) -> None:
        self.char = self.byte = self.token = 0

    def feed(self, record: dict[str, Any]) -> list[tokbytes.Unit]:
        data = bytes(record["bytes"])
        text = data.decode("utf-8", "ignore")
        n, char, byte, j = len(text), self.char, self.byte, self.token
        self.char, self.byte, self.token = char + n, byte + len(data), j + 1
        if n == 1:
            fields = (text, char, char + 1, byte, byte + len(data), (j,), record["logprob"], None)
            return [tuple.__new__(tokbytes.Unit, fields)]
        sizes = list(map(len, map(str.encode, text)))
        ends = list(accumulate(sizes, initial=byte))
        columns = zip(
            text,
            range(char, char + n),
            range(char + 1, char + n + 1),
            ends,
            ends[1:],
            repeat((j,)),
            repeat(record["logprob"]),
            repeat(None),
        )
        return list(map(tuple.__new__, repeat(tokbytes.Unit), columns))


def minimal_feed(records: Sequence[dict[str, Any]]) -> float:
    """:class:`MinimalFeed` fed one record at a time, reading every unit's ``.logprob``."""
    decoder = MinimalFeed()
    feed = decoder.feed
    total = 0.0
    for record in records:
        for unit in feed(record):
            total += unit.logprob
    return total


def span_queries(n_chars: int, count: int, seed: int) -> list[tuple[int, int]]:
    """``count`` random ``(start, end)`` spans of 1-200 characters (clipped at the end)."""
    rng = random.Random(seed)
    out = []
    for _ in range(count):
        start = rng.randrange(max(n_chars - 1, 1))
        out.append((start, min(start + rng.randint(1, 200), n_chars)))
    return out


def tb_spans(doc: tokbytes.Decoded, queries: Sequence[tuple[int, int]]) -> float:
    total = 0.0
    span = doc.span
    for start, end in queries:
        total += span(start, end).logprob
    return total


def stream_decoder() -> tuple[Any, str]:
    """``(StreamDecoder class or None, where it came from or why it is missing)``."""
    found = getattr(tokbytes, "StreamDecoder", None)
    if found is not None:
        return found, "tokbytes.StreamDecoder"
    try:
        from tokbytes.stream import StreamDecoder
    except ImportError as exc:
        return None, f"StreamDecoder not importable yet ({exc})"
    return StreamDecoder, "tokbytes.stream.StreamDecoder (not exported from tokbytes yet)"


def _stream(
    decoder_class: Any, level: str, *, as_list: bool = False
) -> Callable[[Sequence[dict[str, Any]]], float]:
    """One record per ``feed()`` (``feed(record)``, or ``feed([record])`` with ``as_list``),
    written as a user writes it (no helper call per record)."""

    def run(records: Sequence[dict[str, Any]]) -> float:
        decoder = decoder_class(level=level)
        total = 0.0
        feed = decoder.feed
        if as_list:
            for record in records:
                for unit in feed([record]):
                    total += unit.logprob
        else:
            for record in records:
                for unit in feed(record):
                    total += unit.logprob
        for unit in decoder.close():
            total += unit.logprob
        return total

    run.__name__ = f"stream_{level}" + ("_list" if as_list else "")
    return run


def _pure(function: Callable[..., Any]) -> Callable[..., Any]:
    """``function`` run on the pure-Python path (the reference the compiled core must equal)."""

    def run(*args: Any) -> Any:
        with _speedups.forced_pure():
            return function(*args)

    run.__name__ = f"{function.__name__}_pure"
    return run


# -- measuring -----------------------------------------------------------------------------------


#: ``cpu``: this process's CPU time (``time.process_time``), which leaves out the time other
#: processes on a shared machine take the core; ``wall``: ``time.perf_counter``.
CLOCKS: dict[str, Callable[[], float]] = {"cpu": time.process_time, "wall": time.perf_counter}
_clock = CLOCKS["cpu"]


def best_of(
    function: Callable[..., Any], *args: Any, repeat: int, budget: float = math.inf
) -> tuple[float, list[float]]:
    """Best wall time of up to ``repeat`` calls (garbage collected before each) and all the times.

    Stops early once the calls have taken ``budget`` seconds in all (a 1M-token stream row that
    takes half a minute is measured once: its noise is small next to its length).
    """
    times: list[float] = []
    for _ in range(max(repeat, 1)):
        gc.collect()
        start = _clock()
        function(*args)
        times.append(_clock() - start)
        if sum(times) >= budget:
            break
    return min(times), times


def interleaved(
    calls: dict[str, tuple[Callable[..., Any], tuple[Any, ...]]], *, repeat: int, budget: float
) -> dict[str, tuple[float, list[float]]]:
    """:func:`best_of` for several operations, one repetition of each in turn.

    Round-robin, so a slow spell of a shared machine falls on every row rather than on one: the
    ratios between rows stay fair. An operation stops repeating once it has taken ``budget``.
    """
    times: dict[str, list[float]] = {name: [] for name in calls}
    for _ in range(max(repeat, 1)):
        for name, (function, args) in calls.items():
            if times[name] and sum(times[name]) >= budget:
                continue
            times[name].append(best_of(function, *args, repeat=1)[0])
    return {name: (min(values), values) for name, values in times.items()}


def memory(records: Sequence[dict[str, Any]]) -> dict[str, float]:
    """Peak during decode and bytes kept per token by the result (not counting the records).

    ``kept_text`` is what a :class:`tokbytes.Decoded` retains after ``.text``; ``kept_chars``
    after iterating ``.chars`` once (the character offsets are then cached); ``kept_all`` after
    iterating ``.graphemes`` and ``.words`` too.
    """
    n = len(records)
    gc.collect()
    tracemalloc.start()
    try:
        base = tracemalloc.get_traced_memory()[0]
        tracemalloc.reset_peak()
        doc = tokbytes.decode(records)
        _ = doc.text
        peak = tracemalloc.get_traced_memory()[1] - base
        gc.collect()
        kept_text = tracemalloc.get_traced_memory()[0] - base
        for unit in doc.chars:
            _ = unit.logprob
        gc.collect()
        kept_chars = tracemalloc.get_traced_memory()[0] - base
        for unit in doc.graphemes:
            _ = unit.logprob
        for unit in doc.words:
            _ = unit.logprob
        gc.collect()
        kept_all = tracemalloc.get_traced_memory()[0] - base
    finally:
        tracemalloc.stop()
    del doc
    return {
        "peak_decode_bytes": peak,
        "peak_decode_per_token": peak / n,
        "kept_text_per_token": kept_text / n,
        "kept_chars_per_token": kept_chars / n,
        "kept_all_per_token": kept_all / n,
    }


@dataclass(frozen=True, slots=True)
class Workload:
    """One language at one size, tokenized."""

    language: str
    size: int  # the size asked for
    records: list[dict[str, Any]]
    n_bytes: int
    n_chars: int


def measure(
    workload: Workload,
    *,
    repeat: int,
    span_count: int,
    decoder_class: Any,
    stream_note: str,
    budget: float = math.inf,
    with_memory: bool = True,
    pure_rows: bool = True,
) -> tuple[list[dict[str, Any]], dict[str, Any] | None, dict[str, bool]]:
    """Rows (one per operation), memory figures and correctness checks for one workload."""
    records = workload.records
    times: dict[str, tuple[float, list[float]] | None] = {}
    notes: dict[str, str] = {}

    text, _ = floor(records)
    doc = tokbytes.decode(records)
    checks = {
        "tokbytes_text_equals_floor": doc.text == text,
        "peer_text_equals_floor": "".join(ch for ch, _ in peer(records)) == text,
        "chars_count_equals_len_text": len(doc.chars) == len(text),
        "columns_equal_units": all(
            seq.logprobs() == [u.logprob for u in seq]
            for seq in (doc.chars, doc.graphemes, doc.words)
        ),
    }
    queries = span_queries(len(text), span_count, seed=workload.size)

    calls: dict[str, tuple[Callable[..., Any], tuple[Any, ...]]] = {
        "floor": (floor, (records,)),
        "peer": (peer, (records,)),
        "text": (tb_text, (records,)),
        "chars": (_iterate("chars"), (records,)),
        "graphemes": (_iterate("graphemes"), (records,)),
        "words": (_iterate("words"), (records,)),
        "chars_columns": (_columns("chars"), (records,)),
        "graphemes_columns": (_columns("graphemes"), (records,)),
        "words_columns": (_columns("words"), (records,)),
        "spans": (tb_spans, (doc, queries)),
        "unit_objects": (unit_objects, (list(zip(*doc.chars)),)),
        "minimal_feed": (minimal_feed, (records,)),
    }
    notes["chars_columns"] = "decode(...).chars.logprobs(): the scores as a list, no Unit objects"
    notes["graphemes_columns"] = "decode(...).graphemes.logprobs()"
    notes["words_columns"] = "decode(...).words.logprobs()"
    if icu_available():
        calls["words_icu_columns"] = (_columns("words", "icu"), (records,))
        notes["words_icu_columns"] = (
            'decode(..., words="icu").words.logprobs(): ICU dictionary words'
        )
    else:
        times["words_icu_columns"] = None
        notes["words_icu_columns"] = 'skipped: words="icu" needs pip install "tokbytes[icu]"'
    notes["unit_objects"] = "bound, not tokbytes: a Unit per character from ready fields"
    notes["minimal_feed"] = "bound, not tokbytes: a stateless feed() per token making Units"
    notes["spans"] = f"{len(queries)} span() queries on a decoded result (decode not timed)"
    for level in STREAM_LEVELS:
        name = f"stream_{level}"
        if decoder_class is None:
            times[name] = None
            notes[name] = f"skipped: {stream_note}"
        else:
            calls[name] = (_stream(decoder_class, level), (records,))
            notes[name] = f"one record per feed() ({stream_note})"
    if decoder_class is None:
        times["stream_char_list"] = None
        notes["stream_char_list"] = f"skipped: {stream_note}"
    else:
        calls["stream_char_list"] = (_stream(decoder_class, "char", as_list=True), (records,))
        notes["stream_char_list"] = f"feed([record]): a one-record list per feed() ({stream_note})"
    for op in PURE_ROWS:
        name = f"{op}_pure"
        if not (pure_rows and _speedups.compiled):
            times[name] = None
            why = "the compiled core is not in use" if pure_rows else "--paths compiled"
            notes[name] = f"skipped: {why} (the rows above are the path in use)"
        elif op not in calls:
            times[name] = None
            notes[name] = notes.get(op, "skipped")
        elif op == "spans":
            with _speedups.forced_pure():
                doc_pure = tokbytes.decode(records)
            calls[name] = (_pure(tb_spans), (doc_pure, queries))
            notes[name] = f"{notes[op]}, pure Python"
        else:
            function, args = calls[op]
            calls[name] = (_pure(function), args)
            notes[name] = f"{notes.get(op) or op}, pure Python"
    times.update(interleaved(calls, repeat=repeat, budget=budget))
    del doc, calls

    floor_s = times["floor"][0] if times["floor"] else math.nan
    peer_s = times["peer"][0] if times["peer"] else math.nan
    rows = []
    for name in OPERATIONS:
        measured = times[name]
        row: dict[str, Any] = {
            "language": workload.language,
            "size": workload.size,
            "tokens": len(records),
            "bytes": workload.n_bytes,
            "chars": workload.n_chars,
            "operation": name,
            "note": notes.get(name, ""),
        }
        if measured is None:
            row.update(skipped=True, seconds=None, times=[], tokens_per_s=None, mb_per_s=None)
            row.update(ratio_floor=None, ratio_peer=None)
        else:
            seconds, all_times = measured
            row.update(
                skipped=False,
                seconds=seconds,
                times=all_times,
                tokens_per_s=len(records) / seconds,
                mb_per_s=workload.n_bytes / seconds / 1e6,
                ratio_floor=seconds / floor_s,
                ratio_peer=seconds / peer_s,
            )
            if name == "spans":
                row["us_per_query"] = seconds / max(len(queries), 1) * 1e6
        rows.append(row)
    if not with_memory:
        return rows, None, checks
    mem: dict[str, Any] = {"language": workload.language, "size": workload.size}
    mem.update(tokens=len(records), **memory(records))
    return rows, mem, checks


# -- targets -------------------------------------------------------------------------------------


def _target_sizes(rows: Sequence[dict[str, Any]]) -> list[int]:
    sizes = sorted({r["size"] for r in rows})
    big = [s for s in sizes if s >= TARGET_MIN_SIZE]
    return big or sizes[-1:]


def targets(rows: Sequence[dict[str, Any]], mem: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
    """PASS/MISS per target, each with its worst case (language and size)."""
    out: list[dict[str, Any]] = []
    checked = _target_sizes(rows)
    for op, limit in RATIO_TARGETS.items():
        cases = [
            r for r in rows if r["operation"] == op and r["size"] in checked and not r["skipped"]
        ]
        if not cases:
            out.append({"target": f"{op} ≤ {limit}× floor", "status": "n/a", "detail": "not run"})
            continue
        worst = max(cases, key=lambda r: r["ratio_floor"])
        pure = [
            r["ratio_floor"]
            for r in rows
            if r["operation"] == f"{op}_pure" and r["size"] in checked and not r["skipped"]
        ]
        out.append(
            {
                "target": f"{op} ≤ {limit}× floor",
                "status": "PASS" if worst["ratio_floor"] <= limit else "MISS",
                "value": worst["ratio_floor"],
                "operation": op,
                "language": worst["language"],
                "size": worst["size"],
                "pure": max(pure) if pure else None,
                "detail": f"worst {worst['ratio_floor']:.2f}× ({worst['language']}, "
                f"{worst['tokens']:,} tokens; sizes {', '.join(map(str, checked))})"
                + (f"; pure Python: worst {max(pure):.2f}×" if pure else ""),
            }
        )
    for (op, base), limit in RELATIVE_TARGETS.items():
        pairs = []
        for r in rows:
            if r["operation"] != op or r["size"] not in checked or r["skipped"]:
                continue
            other = _row(rows, r["language"], r["size"], base)
            if other is not None and not other["skipped"]:
                pairs.append((r["seconds"] / other["seconds"], r))
        if not pairs:
            out.append({"target": f"{op} ≤ {limit}× {base}", "status": "n/a", "detail": "not run"})
            continue
        ratio, worst = max(pairs, key=lambda pair: pair[0])
        out.append(
            {
                "target": f"{op} ≤ {limit}× {base}",
                "status": "PASS" if ratio <= limit else "MISS",
                "value": ratio,
                "detail": f"worst {ratio:.2f}× ({worst['language']}, {worst['tokens']:,} tokens; "
                f"sizes {', '.join(map(str, checked))})",
            }
        )
    if mem:
        worst_mem = max(mem, key=lambda m: m["kept_chars_per_token"])
        value = worst_mem["kept_chars_per_token"]
        out.append(
            {
                "target": f"≤ {BYTES_PER_TOKEN_TARGET:.0f} bytes kept per token",
                "status": "PASS" if value <= BYTES_PER_TOKEN_TARGET else "MISS",
                "value": value,
                "detail": f"worst {value:.1f} B/token after .text and .chars "
                f"({worst_mem['language']}, {worst_mem['tokens']:,} tokens)",
            }
        )
    sizes = sorted({r["size"] for r in rows})
    if len(sizes) >= 2 and sizes[-2] >= TARGET_MIN_SIZE:
        small, large = sizes[-2], sizes[-1]
        worst_case: tuple[float, float, str, str] | None = None
        for op in LINEAR:
            for language in sorted({r["language"] for r in rows}):
                a = _row(rows, language, small, op)
                b = _row(rows, language, large, op)
                if a is None or b is None or a["skipped"] or b["skipped"]:
                    continue
                growth = b["seconds"] / a["seconds"]
                allowed = LINEAR_SLACK * b["tokens"] / a["tokens"]
                if worst_case is None or growth / allowed > worst_case[0] / worst_case[1]:
                    worst_case = (growth, allowed, op, language)
        if worst_case is not None:
            growth, allowed, op, language = worst_case
            out.append(
                {
                    "target": f"linear: time({large:,}) ≤ {LINEAR_SLACK}× token ratio × "
                    f"time({small:,})",
                    "status": "PASS" if growth <= allowed else "MISS",
                    "value": growth,
                    "detail": f"worst {op} ({language}): {growth:.2f}× for "
                    f"{allowed / LINEAR_SLACK:.2f}× the tokens (allowed {allowed:.2f}×)",
                }
            )
    else:
        out.append(
            {
                "target": f"linear: time(10×) ≤ {10 * LINEAR_SLACK:.0f}× time",
                "status": "n/a",
                "detail": f"needs two sizes ≥ {TARGET_MIN_SIZE:,}",
            }
        )
    return out


def _row(
    rows: Sequence[dict[str, Any]], language: str, size: int, op: str
) -> dict[str, Any] | None:
    for r in rows:
        if r["language"] == language and r["size"] == size and r["operation"] == op:
            return r
    return None


# -- reporting -----------------------------------------------------------------------------------


def machine_info() -> dict[str, Any]:
    cpu = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as f:
            for line in f:
                if line.startswith("model name"):
                    cpu = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    import os

    return {
        "cpu": cpu,
        "cores": os.cpu_count(),
        "python": sys.version.split()[0],
        "implementation": platform.python_implementation(),
        "platform": platform.platform(),
        "tokbytes": tokbytes.__version__,
    }


def _fmt(value: float | None, spec: str) -> str:
    return "-" if value is None else format(value, spec)


def format_table(result: dict[str, Any]) -> str:
    m = result["machine"]
    lines = [
        f"tokbytes {m['tokbytes']} benchmark: {m['cpu']} ({m['cores']} cores), "
        f"{m['implementation']} {m['python']}",
        f"tokenizer: {result['tokenizer']}; {result.get('clock', 'wall')} time, best of "
        f"{result['repeat']} (fewer once a row took {result['budget_seconds']} s); "
        f"stream rows: {result['stream']}",
    ]
    for size in result["sizes"]:
        lines.append("")
        lines.append(f"== {size:,} tokens")
        lines.append(
            f"{'language':<9} {'operation':<22} {'ms':>9} {'tokens/s':>11} {'MB/s':>7} "
            f"{'×floor':>7} {'×peer':>7}  note"
        )
        for r in result["rows"]:
            if r["size"] != size:
                continue
            ms = None if r["seconds"] is None else r["seconds"] * 1e3
            note = r["note"]
            if "us_per_query" in r:
                note = f"{r['us_per_query']:.1f} µs/query; {note}"
            lines.append(
                f"{r['language']:<9} {r['operation']:<22} {_fmt(ms, '9.1f')} "
                f"{_fmt(r['tokens_per_s'], '11,.0f')} {_fmt(r['mb_per_s'], '7.1f')} "
                f"{_fmt(r['ratio_floor'], '7.2f')} {_fmt(r['ratio_peer'], '7.2f')}  {note}"
            )
    lines.append("")
    lines.append(ratio_summary(result))
    lines.append("")
    lines.append("memory (tracemalloc; bytes per token, the input records not counted):")
    lines.append(
        f"{'language':<9} {'tokens':>9} {'peak decode':>12} {'kept .text':>11} "
        f"{'kept +chars':>12} {'kept +all':>10}"
    )
    for mm in result["memory"]:
        lines.append(
            f"{mm['language']:<9} {mm['tokens']:>9,} {mm['peak_decode_per_token']:>12.1f} "
            f"{mm['kept_text_per_token']:>11.1f} {mm['kept_chars_per_token']:>12.1f} "
            f"{mm['kept_all_per_token']:>10.1f}"
        )
    lines.append("")
    lines.append("targets:")
    for t in result["targets"]:
        lines.append(f"  {t['status']:<4}  {t['target']}: {t['detail']}")
    bad = [c for c in result["checks"] if not all(c["checks"].values())]
    lines.append(
        "checks: " + ("all passed" if not bad else f"FAILED for {[c['language'] for c in bad]}")
    )
    return "\n".join(lines)


def ratio_summary(result: dict[str, Any], *, markdown: bool = False) -> str:
    """Ratio to the floor per operation (rows) and language (columns), one block per size."""
    languages = list(dict.fromkeys(r["language"] for r in result["rows"]))
    out = []
    for size in result["sizes"]:
        rows = [r for r in result["rows"] if r["size"] == size]
        header = ["ratio to floor", *languages, "worst ×peer"]
        if markdown:
            out.append(f"**{size:,} tokens** (floor: {_floor_rate(rows)})\n")
            out.append("| " + " | ".join(header) + " |")
            out.append("|" + "---|" * len(header))
        else:
            out.append(f"ratio to floor at {size:,} tokens (floor: {_floor_rate(rows)})")
            out.append(f"{header[0]:<24}" + "".join(f"{h:>12}" for h in header[1:]))
        for op in OPERATIONS:
            if op == "floor":
                continue
            cells = []
            for language in languages:
                r = _row(rows, language, size, op)
                cells.append("-" if r is None or r["skipped"] else f"{r['ratio_floor']:.2f}")
            peers = [r["ratio_peer"] for r in rows if r["operation"] == op and not r["skipped"]]
            cells.append(f"{max(peers):.2f}" if peers else "-")
            label = f"{op} (bound)" if op in BOUNDS else op
            if markdown:
                out.append(f"| {label} | " + " | ".join(cells) + " |")
            else:
                out.append(f"{label:<24}" + "".join(f"{c:>12}" for c in cells))
        out.append("")
    return "\n".join(out).rstrip()


def markdown_report(result: dict[str, Any]) -> str:
    """The ratio summary, memory and targets as Markdown (for ``docs/benchmarks.md``)."""
    m = result["machine"]
    lines = [
        f"{m['cpu']} ({m['cores']} cores, shared), {m['implementation']} {m['python']}, "
        f"tokbytes {m['tokbytes']}; tokenizer {result['tokenizer']}; {result.get('clock', 'wall')} "
        f"time, best of {result['repeat']}"
        + (
            f" (fewer once a row took {result['budget_seconds']} s)"
            if result.get("budget_seconds")
            else ""
        ),
        "",
        ratio_summary(result, markdown=True),
        "",
        "Memory (bytes per token; the input records not counted):",
        "",
        "| language | tokens | peak during decode | kept after .text | after .chars | after all levels |",
        "|---|---|---|---|---|---|",
    ]
    for mm in result["memory"]:
        lines.append(
            f"| {mm['language']} | {mm['tokens']:,} | {mm['peak_decode_per_token']:.1f} | "
            f"{mm['kept_text_per_token']:.1f} | {mm['kept_chars_per_token']:.1f} | "
            f"{mm['kept_all_per_token']:.1f} |"
        )
    lines += ["", "| target | status | worst case |", "|---|---|---|"]
    for t in result["targets"]:
        lines.append(f"| {t['target']} | {t['status']} | {t['detail']} |")
    return "\n".join(lines)


def _floor_rate(rows: Sequence[dict[str, Any]]) -> str:
    rates = [r["tokens_per_s"] for r in rows if r["operation"] == "floor"]
    if not rates:
        return "-"
    return f"{min(rates) / 1e6:.2f}-{max(rates) / 1e6:.2f} M tokens/s"


def plot(result: dict[str, Any], path: Path) -> Path | None:
    """Time against size per operation, log-log, one panel per language (None without matplotlib)."""
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return None
    languages = list(dict.fromkeys(r["language"] for r in result["rows"]))
    columns = min(3, len(languages))
    rows_n = math.ceil(len(languages) / columns)
    fig, axes = plt.subplots(
        rows_n, columns, figsize=(5 * columns, 4 * rows_n), squeeze=False, sharey=True
    )
    tab20 = plt.get_cmap("tab20")  # one color per operation (the default cycle has 10)
    colors = [tab20(i / 19) for i in range(20)]
    for ax, language in zip(axes.flat, languages):
        for index, op in enumerate(OPERATIONS):
            points = sorted(
                (r["tokens"], r["seconds"])
                for r in result["rows"]
                if r["language"] == language and r["operation"] == op and not r["skipped"]
            )
            if not points:
                continue
            style = "--" if op == "floor" else ":" if op == "peer" or op in BOUNDS else "-"
            color = "black" if op == "floor" else colors[index % len(colors)]
            label = f"{op} (bound)" if op in BOUNDS else op
            ax.plot(*zip(*points), style, color=color, marker="o", markersize=3, label=label)
        ax.set_xscale("log")
        ax.set_yscale("log")
        ax.set_title(language)
        ax.set_xlabel("tokens")
        ax.grid(True, which="both", alpha=0.3)
    for ax in axes.flat[len(languages) :]:
        ax.axis("off")
    for ax in axes[:, 0]:
        ax.set_ylabel(f"seconds (best of {result['repeat']})")
    axes.flat[0].legend(fontsize=7)
    m = result["machine"]
    fig.suptitle(
        f"tokbytes {m['tokbytes']}: time against size ({result['tokenizer']}; {m['cpu']}, "
        f"Python {m['python']})",
        fontsize=10,
    )
    fig.tight_layout()
    fig.savefig(path, dpi=90)
    plt.close(fig)
    return path


# -- driver --------------------------------------------------------------------------------------


def run(
    *,
    sizes: Sequence[int] = DEFAULT_SIZES,
    repeat: int = 3,
    languages: Sequence[str] = workloads.LANGUAGES,
    tokenizer: str = "auto",
    span_count: int = SPAN_QUERIES,
    budget: float = math.inf,
    clock: str = "cpu",
    memory_max_size: int | None = None,
    out: Path | str | None = None,
    make_plot: bool = True,
    progress: Callable[[str], None] | None = None,
    pure_rows: bool = True,
) -> dict[str, Any]:
    """Run every row for every language and size; return the result (and write it to ``out``).

    Each language is tokenized once at the largest size; smaller sizes are prefixes of it (cut on
    a character boundary), so every size of a language shares its text. With ``out``, the JSON is
    rewritten after every workload (``"complete": false`` until the end).
    """
    global _clock
    _clock = CLOCKS[clock]
    say = progress or (lambda message: None)
    sizes = sorted(sizes)
    tokenizer_name, tokenize = workloads.tokenizer(tokenizer)
    decoder_class, stream_note = stream_decoder()
    result: dict[str, Any] = {
        "machine": machine_info(),
        "tokenizer": tokenizer_name,
        "sizes": sizes,
        "repeat": repeat,
        "span_queries": span_count,
        "budget_seconds": None if math.isinf(budget) else budget,
        "clock": clock,
        "stream": stream_note,
        "rows": [],
        "memory": [],
        "checks": [],
    }
    started = time.perf_counter()
    folder = None if out is None else Path(out)
    # Tokenized once per language at the largest size (pieces are shared bytes objects: cheap);
    # sizes run smallest first for every language, so a long run gives the small sizes early.
    pieces = {
        language: workloads.token_pieces(language, sizes[-1], tokenize) for language in languages
    }
    for size in sizes:
        for language in languages:
            cut = workloads.prefix(pieces[language], size)
            records = workloads.records(cut, seed=size)
            data = b"".join(cut)
            workload = Workload(language, size, records, len(data), len(data.decode("utf-8")))
            say(f"{language} {len(records):,} tokens ({time.perf_counter() - started:.0f} s)")
            rows, mem, checks = measure(
                workload,
                repeat=repeat,
                span_count=span_count,
                decoder_class=decoder_class,
                stream_note=stream_note,
                budget=budget,
                with_memory=memory_max_size is None or size <= memory_max_size,
                pure_rows=pure_rows,
            )
            result["rows"].extend(rows)
            if mem is not None:
                result["memory"].append(mem)
            result["checks"].append({"language": language, "size": size, "checks": checks})
            del records, workload
            if folder is not None:  # written as we go: a long run that is stopped keeps its rows
                _write(result, folder, complete=False)
    result["targets"] = targets(result["rows"], result["memory"])
    result["seconds_total"] = time.perf_counter() - started
    if folder is not None:
        _write(result, folder, complete=True)
        if make_plot:
            written = plot(result, folder / "benchmark.png")
            result["plot"] = str(written) if written else None
    return result


def merge(results: Sequence[dict[str, Any]]) -> dict[str, Any]:
    """Several saved results as one (rows, memory and checks joined; targets recomputed).

    For a long run split over processes (e.g. 10k and 100k in one, 1M in another): ratios stay
    within one run; only the linear-growth check compares numbers from two runs.
    """
    merged = dict(results[0])
    for key in ("rows", "memory", "checks"):
        merged[key] = [item for result in results for item in result[key]]
    merged["sizes"] = sorted({r["size"] for r in merged["rows"]})
    merged["complete"] = all(result.get("complete", True) for result in results)
    merged["runs"] = len(results)
    merged["targets"] = targets(merged["rows"], merged["memory"])
    return merged


def _write(result: dict[str, Any], folder: Path, *, complete: bool) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    data = dict(result, complete=complete)
    if not complete:
        data["targets"] = targets(result["rows"], result["memory"])
    (folder / "benchmark.json").write_text(
        json.dumps(data, indent=1, ensure_ascii=False) + "\n", encoding="utf-8"
    )


def profile(operation: str, *, size: int, language: str, tokenizer: str, top: int = 25) -> str:
    """cProfile of one operation on one workload: the top functions by internal time.

    A ``<row>_pure`` operation profiles that row on the pure-Python path.
    """
    pure = operation.endswith("_pure")
    operation = operation.removesuffix("_pure")
    _, tokenize = workloads.tokenizer(tokenizer)
    records = workloads.records(
        workloads.prefix(workloads.token_pieces(language, size, tokenize), size)
    )
    decoder_class, _ = stream_decoder()
    if operation in ("chars", "graphemes", "words"):
        function: Callable[..., Any] = _iterate(operation)
        args: tuple[Any, ...] = (records,)
    elif operation == "words_icu_columns":
        function, args = _columns("words", "icu"), (records,)
    elif operation.endswith("_columns"):
        function, args = _columns(operation.split("_", 1)[0]), (records,)
    elif operation == "unit_objects":
        function, args = unit_objects, (list(zip(*tokbytes.decode(records).chars)),)
    elif operation == "stream_char_list":
        function, args = _stream(decoder_class, "char", as_list=True), (records,)
    elif operation.startswith("stream_"):
        function, args = _stream(decoder_class, operation.split("_", 1)[1]), (records,)
    elif operation == "spans":
        doc = tokbytes.decode(records)
        function, args = tb_spans, (doc, span_queries(len(doc.text), SPAN_QUERIES, seed=size))
    else:
        simple = {"floor": floor, "peer": peer, "text": tb_text, "minimal_feed": minimal_feed}
        function, args = simple[operation], (records,)
    profiler = cProfile.Profile()
    if pure:
        with _speedups.forced_pure():
            profiler.runcall(function, *args)
    else:
        profiler.runcall(function, *args)
    import io

    buffer = io.StringIO()
    stats = pstats.Stats(profiler, stream=buffer)
    stats.sort_stats("tottime").print_stats(top)
    return buffer.getvalue()


def miss_profiles(result: dict[str, Any], *, tokenizer: str, top: int = 12) -> str:
    """What remains: a cProfile of each missed ratio target, on its worst language (at most
    100k tokens, so a 1M run does not spend minutes on profiles)."""
    out = []
    for t in result["targets"]:
        if t["status"] != "MISS" or "operation" not in t:
            continue
        size = min(t["size"], TARGET_MIN_SIZE)
        out.append(
            f"\n-- profile of a missed target: {t['target']} ({t['language']}, {size:,} tokens; "
            "C functions of the core show as built-in calls)"
        )
        text = profile(
            t["operation"], size=size, language=t["language"], tokenizer=tokenizer, top=top
        )
        out.append("\n".join(line for line in text.splitlines() if line.strip()))
    return "\n".join(out)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks.run", description=__doc__.split("\n")[0]
    )
    parser.add_argument(
        "--sizes", help="comma-separated token counts (default 10000,100000,1000000)"
    )
    parser.add_argument("--repeat", type=int, help="repetitions per row, best kept (default 3)")
    parser.add_argument("--out", default="benchmarks/results/", help="folder for JSON and PNG")
    parser.add_argument("--quick", action="store_true", help="2k and 20k tokens, best of 2")
    parser.add_argument(
        "--languages", default=",".join(workloads.LANGUAGES), help="comma-separated subset"
    )
    parser.add_argument(
        "--tokenizer",
        choices=("auto", "cl100k", "bytes"),
        default="auto",
        help="cl100k (needs ../shared/data), the seeded byte splitter, or auto (cl100k if present)",
    )
    parser.add_argument("--spans", type=int, default=SPAN_QUERIES, help="span() queries per row")
    parser.add_argument(
        "--budget",
        type=float,
        default=10.0,
        help="stop repeating a row once it has taken this many seconds in all (default 10)",
    )
    parser.add_argument(
        "--clock",
        choices=tuple(CLOCKS),
        default="cpu",
        help="cpu: process CPU time (default; robust on a shared machine), wall: perf_counter",
    )
    parser.add_argument(
        "--memory-max-size",
        type=int,
        default=None,
        help="measure memory only up to this many tokens (bytes per token do not change)",
    )
    parser.add_argument("--no-plot", action="store_true")
    parser.add_argument(
        "--paths",
        choices=("both", "compiled"),
        default="both",
        help="both: also measure every tokbytes row on the pure-Python path (default); "
        "compiled: only the path in use",
    )
    parser.add_argument(
        "--no-miss-profiles",
        action="store_true",
        help="do not print a cProfile of each missed target after the table",
    )
    parser.add_argument(
        "--profile",
        metavar="OPERATION",
        choices=OPERATIONS,
        help="print a cProfile of one operation instead (first language and size)",
    )
    parser.add_argument(
        "--from-json",
        metavar="PATH",
        nargs="+",
        help="print the table of saved benchmark.json files (several: merged, e.g. a 1M run made "
        "apart), a Markdown summary with --markdown; writes the merged JSON and plot to --out",
    )
    parser.add_argument("--markdown", action="store_true", help="with --from-json: Markdown")
    args = parser.parse_args(argv)

    if args.from_json:
        saved = merge([json.loads(Path(p).read_text(encoding="utf-8")) for p in args.from_json])
        if len(args.from_json) > 1:
            _write(saved, Path(args.out), complete=saved["complete"])
            if not args.no_plot:
                plot(saved, Path(args.out) / "benchmark.png")
        print(markdown_report(saved) if args.markdown else format_table(saved))
        return 0

    sizes: tuple[int, ...] = QUICK_SIZES if args.quick else DEFAULT_SIZES
    if args.sizes:
        sizes = tuple(int(s.replace("_", "")) for s in args.sizes.split(","))
    repeat = args.repeat if args.repeat is not None else (2 if args.quick else 3)
    languages = [x.strip() for x in args.languages.split(",") if x.strip()]
    unknown = set(languages) - set(workloads.LANGUAGES)
    if unknown:
        parser.error(
            f"unknown languages {sorted(unknown)}; known: {', '.join(workloads.LANGUAGES)}"
        )
    if args.profile:
        print(profile(args.profile, size=sizes[0], language=languages[0], tokenizer=args.tokenizer))
        return 0
    result = run(
        sizes=sizes,
        repeat=repeat,
        languages=languages,
        tokenizer=args.tokenizer,
        span_count=args.spans,
        budget=args.budget,
        clock=args.clock,
        memory_max_size=args.memory_max_size,
        out=args.out,
        make_plot=not args.no_plot,
        progress=lambda message: print(message, file=sys.stderr, flush=True),
        pure_rows=args.paths == "both",
    )
    print(format_table(result))
    if not args.no_miss_profiles:
        print(miss_profiles(result, tokenizer=args.tokenizer))
    print(
        f"\nwrote {Path(args.out) / 'benchmark.json'}"
        + (f" and {result['plot']}" if result.get("plot") else "")
    )
    print(f"total {result['seconds_total']:.0f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
