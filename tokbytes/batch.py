"""Score many responses: JSONL in, one row per response (or per unit) out, on every core.

Evaluation runs and OpenAI Batch jobs leave JSONL files with one response per line. Each line is
scored on its own by :func:`score_record` (a pure, picklable function of one line, what any engine
maps); :func:`score` reads files lazily, scores chunks of lines in a process pool (or on a Ray
cluster, ``engine="ray"``) and writes Parquet, JSONL or CSV, keeping the input order::

    JSONL lines ──read (lazily, .gz, globs, '-')──▶ chunks ──score_record (pool / Ray)──▶ rows
        ──in input order──▶ temporary file beside OUT ──rename──▶ OUT (.parquet/.jsonl/.csv)

A line that cannot be scored (invalid JSON, a failed request, no logprobs, invalid UTF-8 with
``errors="strict"``) becomes a row whose ``error`` says why; the run goes on unless
``strict=True``.

>>> row = score_record('{"custom_id": "q1", "response": {"status_code": 200, "body": '
...                    '[{"token": "Hi", "bytes": [72, 105], "logprob": -0.5}]}}')
>>> row["id"], row["text"], row["tokens"], row["logprob"], row["lowest_word"], row["error"]
('q1', 'Hi', 1, -0.5, 'Hi', '')
>>> score_record('{"custom_id": "q2", "response": {"status_code": 429, "body": {}}}')["error"]
'status 429'
"""

from __future__ import annotations

import contextlib
import glob
import gzip
import io
import json
import math
import os
import signal
import sys
import threading
import time
from collections import deque
from collections.abc import Callable, Generator, Iterable, Iterator, Sequence
from concurrent.futures import Future, ProcessPoolExecutor
from dataclasses import dataclass, field
from typing import Any, Literal

from .decoded import Decoded, decode
from .errors import InputError, TokbytesError

__all__ = [
    "LEVELS",
    "RESPONSE_FIELDS",
    "UNIT_FIELDS",
    "BatchLevel",
    "ScoreError",
    "ScoreSummary",
    "arrow_schema",
    "available_cores",
    "expand_inputs",
    "read_lines",
    "response_id",
    "score",
    "score_record",
    "score_units",
    "split_lines",
    "unwrap_batch_line",
]

#: ``"response"`` (one row per line) or a unit (one row per token, character, grapheme or word).
BatchLevel = Literal["response", "token", "char", "grapheme", "word"]
LEVELS: tuple[BatchLevel, ...] = ("response", "token", "char", "grapheme", "word")

#: The columns of a response row and their types (``str``, ``int``, ``float``, ``list[str]``).
#: Every value may be None (null) except ``id``, ``source``, ``problems`` and ``error``.
RESPONSE_FIELDS: tuple[tuple[str, str], ...] = (
    ("id", "str"),  # custom_id, else the response's id, else source
    ("source", "str"),  # where the line came from: "file:line" (1-based), "<stdin>:line"
    ("text", "str"),  # the exact decoded text
    ("tokens", "int"),  # number of tokens
    ("chars", "int"),  # number of characters (code points) of text
    ("logprob", "float"),  # sum of every token's logprob
    ("perplexity", "float"),  # exp(-logprob / tokens)
    ("min_char_prob", "float"),  # lowest probability of a character
    ("lowest_word", "str"),  # the least certain word (the first, on ties)
    ("lowest_word_prob", "float"),  # its probability
    ("problems", "list[str]"),  # kinds of the problems recorded (errors="replace", recovery...)
    ("error", "str"),  # why the line could not be scored; "" when it was
)

#: The columns of a unit row (``level`` token, char, grapheme or word).
UNIT_FIELDS: tuple[tuple[str, str], ...] = (
    ("id", "str"),  # as in a response row
    ("source", "str"),
    ("unit", "int"),  # index of the unit in its response
    ("start", "int"),  # character offsets of the unit in the response's text (half-open)
    ("end", "int"),
    ("text", "str"),  # the unit's text (a token's: the characters whose last byte it carries)
    ("logprob", "float"),  # the unit's score (a token's own logprob)
    ("error", "str"),  # as in a response row; an unscored line gives one row with only this
)

Errors = Literal["strict", "replace"]
Attribution = Literal["cover", "split"]


class ScoreError(InputError):
    """``strict=True`` stopped at a line that could not be scored.

    ``source`` is the line (``"file:line"``) and ``reason`` why it failed.
    """

    def __init__(self, source: str, reason: str) -> None:
        super().__init__(f"{source}: {reason}")
        self.source = source
        self.reason = reason


# -- one line → rows -------------------------------------------------------------------------------


def unwrap_batch_line(obj: Any) -> tuple[str | None, Any, str]:
    """``(custom_id or id, body, error)`` of an OpenAI Batch output line; other objects pass.

    >>> unwrap_batch_line({"id": "b1", "custom_id": "q", "response": {"status_code": 200,
    ...                                                            "body": {"x": 1}}})
    ('q', {'x': 1}, '')
    >>> unwrap_batch_line({"custom_id": "q", "response": None, "error": {"message": "expired"}})
    ('q', None, 'request failed: expired')
    >>> unwrap_batch_line([1, 2])
    (None, [1, 2], '')
    """
    if not (isinstance(obj, dict) and "custom_id" in obj and ("response" in obj or "error" in obj)):
        return None, obj, ""
    ident = str(obj.get("custom_id") or obj.get("id") or "")
    error = obj.get("error")
    response = obj.get("response")
    if error:
        message = error.get("message", error) if isinstance(error, dict) else error
        return ident, None, f"request failed: {message}"
    if not isinstance(response, dict):
        return ident, None, "no 'response' object"
    status = response.get("status_code")
    body = response.get("body")
    if status not in (None, 200):
        detail = body.get("error", {}) if isinstance(body, dict) else {}
        message = detail.get("message") if isinstance(detail, dict) else None
        return ident, None, f"status {status}" + (f": {message}" if message else "")
    if body is None:
        return ident, None, "response has no 'body'"
    return ident, body, ""


def response_id(body: Any) -> str | None:
    """The ``id`` a response body carries (``chatcmpl-...``), if any.

    >>> response_id({"id": "chatcmpl-1"}), response_id([])
    ('chatcmpl-1', None)
    """
    ident = body.get("id") if isinstance(body, dict) else None
    return ident if isinstance(ident, str) and ident else None


@dataclass(frozen=True, slots=True)
class _Options:
    """How every line is decoded (the keyword arguments of :func:`tokbytes.decode`)."""

    errors: Errors = "strict"
    attribution: Attribution = "cover"
    choice: int = 0
    channel: str = "auto"


def _parse(obj: Any) -> Any:
    """A raw JSONL line (str or bytes) parsed; any other object is already parsed."""
    if isinstance(obj, bytes):
        try:
            obj = obj.decode("utf-8")
        except UnicodeDecodeError as e:
            bad = obj[e.start : e.start + 1]
            raise _LineError(f"line is not UTF-8 (byte {e.start}: {bad!r})") from None
    if isinstance(obj, str):
        try:
            return json.loads(obj)
        except json.JSONDecodeError as e:
            raise _LineError(f"invalid JSON: {e.msg} (column {e.colno})") from None
        except RecursionError:
            raise _LineError("invalid JSON: nested too deeply") from None
    return obj


class _LineError(Exception):
    """Internal: why a line cannot be scored (becomes the row's ``error``)."""


def _decoded(obj: Any, source: str, opts: _Options) -> tuple[str, Decoded | None, str]:
    """``(id, document, error)`` of one line: exactly one of document and error is set."""
    try:
        parsed = _parse(obj)
    except _LineError as e:
        return _clean(source), None, str(e)
    ident, body, error = unwrap_batch_line(parsed)
    ident = _clean(ident or response_id(body) or source)
    if error:
        return ident, None, error
    try:
        doc = decode(
            body,
            errors=opts.errors,
            attribution=opts.attribution,
            choice=opts.choice,
            channel=opts.channel,
        )
    except TokbytesError as e:
        return ident, None, str(e)
    except RecursionError:
        return ident, None, "response nested too deeply"
    except Exception as e:  # a shape nobody foresaw must not end a run of a million lines
        return ident, None, f"unexpected {type(e).__name__}: {e}"
    if not len(doc.tokens):
        return ident, None, "no token logprobs (request them with logprobs=true)"
    return ident, doc, ""


def _clean(text: str) -> str:
    """``text`` with lone surrogates (from JSON escapes or undecodable file names) as U+FFFD, so
    it can be written as UTF-8."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return text.encode("utf-16", "surrogatepass").decode("utf-16", "replace")
    return text


def _finite(x: float) -> float | None:
    return x if math.isfinite(x) else None


def _response_row(ident: str, source: str, doc: Decoded | None, error: str) -> dict[str, Any]:
    if doc is None:
        row: dict[str, Any] = dict.fromkeys(name for name, _ in RESPONSE_FIELDS)
        row.update(id=ident, source=source, problems=[], error=error)
        return row
    tokens = len(doc.tokens)
    logprob = doc.logprob
    try:
        perplexity: float | None = math.exp(-logprob / tokens)
    except OverflowError:
        perplexity = None
    # exp is monotonic: the lowest probability is exp of the lowest logprob (NaN = unknown, skipped)
    char_logprobs = [x for x in doc.chars.logprobs() if not math.isnan(x)]
    words = doc.words
    lowest = _lowest(words.logprobs())
    return {
        "id": ident,
        "source": source,
        "text": doc.text,
        "tokens": tokens,
        "chars": len(doc.text),
        "logprob": _finite(logprob),
        "perplexity": _finite(perplexity) if perplexity is not None else None,
        "min_char_prob": math.exp(min(char_logprobs)) if char_logprobs else None,
        "lowest_word": words[lowest].text if lowest is not None else None,
        "lowest_word_prob": math.exp(words[lowest].logprob) if lowest is not None else None,
        "problems": list(dict.fromkeys(problem.kind for problem in doc.problems)),
        "error": "",
    }


def _lowest(logprobs: Sequence[float]) -> int | None:
    """Index of the first lowest score, NaN skipped; None when there is none."""
    best: int | None = None
    for i, x in enumerate(logprobs):
        if not math.isnan(x) and (best is None or x < logprobs[best]):
            best = i
    return best


def _unit_rows(
    ident: str, source: str, doc: Decoded | None, error: str, level: BatchLevel
) -> list[dict[str, Any]]:
    if doc is None:
        row: dict[str, Any] = dict.fromkeys(name for name, _ in UNIT_FIELDS)
        row.update(id=ident, source=source, error=error)
        return [row]
    if level == "token":
        rows = []
        start = 0
        for token in doc.tokens:
            end = start + len(token.text)
            rows.append(
                _unit_row(ident, source, token.index, start, end, token.text, token.logprob)
            )
            start = end
        return rows
    units = doc.units(level)  # type: ignore[arg-type]
    return [
        _unit_row(ident, source, i, start, end, text, logprob)
        for i, (start, end, text, logprob) in enumerate(
            zip(units.starts(), units.ends(), units.texts(), units.logprobs())
        )
    ]


def _unit_row(
    ident: str, source: str, index: int, start: int, end: int, text: str, logprob: float
) -> dict[str, Any]:
    return {
        "id": ident,
        "source": source,
        "unit": index,
        "start": start,
        "end": end,
        "text": text,
        "logprob": _finite(logprob),
        "error": "",
    }


def score_record(
    obj: Any,
    *,
    source: str = "",
    errors: Errors = "strict",
    attribution: Attribution = "cover",
    choice: int = 0,
    channel: str = "auto",
) -> dict[str, Any]:
    """The response row of one JSONL line (see :data:`RESPONSE_FIELDS`); never raises for bad input.

    ``obj`` is the raw line (``str`` or ``bytes``) or an already parsed JSON value: anything
    :func:`tokbytes.decode` reads, or an OpenAI Batch API output line
    (``{"id", "custom_id", "response": {"status_code", "body"}, "error"}``). ``source`` names
    the line (``"file:line"``) and is the ``id`` when the line has none. The other keywords are
    :func:`tokbytes.decode`'s. Unknown or non-finite numbers are None.

    >>> row = score_record([{"token": " 서", "bytes": [32, 236, 132, 156], "logprob": -0.5},
    ...                     {"token": "\\\\xec\\\\x9a", "bytes": [236, 154], "logprob": -1.0},
    ...                     {"token": "\\\\xb8", "bytes": [184], "logprob": -0.25}], source="a:1")
    >>> row["id"], row["text"], row["chars"], row["lowest_word"], round(row["lowest_word_prob"], 3)
    ('a:1', ' 서울', 3, '서울', 0.174)
    >>> score_record(b'{"oops', source="a:2")["error"]
    'invalid JSON: Unterminated string starting at (column 2)'
    """
    ident, doc, error = _decoded(obj, source, _Options(errors, attribution, choice, channel))
    return _response_row(ident, _clean(source), doc, error)


def score_units(
    obj: Any,
    level: BatchLevel,
    *,
    source: str = "",
    errors: Errors = "strict",
    attribution: Attribution = "cover",
    choice: int = 0,
    channel: str = "auto",
) -> list[dict[str, Any]]:
    """One row per unit of one line (see :data:`UNIT_FIELDS`); a line that cannot be scored gives
    one row with its ``error``. ``level`` is ``"token"``, ``"char"``, ``"grapheme"`` or ``"word"``.

    >>> rows = score_units([{"token": "hi!", "bytes": [104, 105, 33], "logprob": -0.25}], "word")
    >>> [(r["unit"], r["start"], r["end"], r["text"], r["logprob"]) for r in rows]
    [(0, 0, 2, 'hi', -0.25), (1, 2, 3, '!', -0.25)]
    """
    if level not in LEVELS or level == "response":
        raise InputError(f"level must be 'token', 'char', 'grapheme' or 'word', got {level!r}")
    ident, doc, error = _decoded(obj, source, _Options(errors, attribution, choice, channel))
    return _unit_rows(ident, _clean(source), doc, error, level)


def arrow_schema(level: BatchLevel = "response") -> Any:
    """The ``pyarrow.Schema`` of the rows at ``level`` (needs ``tokbytes[arrow]``).

    >>> arrow_schema().names[:4], str(arrow_schema("word").field("logprob").type)
    (['id', 'source', 'text', 'tokens'], 'double')
    """
    from ._batch_output import arrow_schema as schema_of

    return schema_of(RESPONSE_FIELDS if level == "response" else UNIT_FIELDS)


# -- reading lines ---------------------------------------------------------------------------------

_GZIP_MAGIC = b"\x1f\x8b"
_BOM = b"\xef\xbb\xbf"


def expand_inputs(inputs: str | os.PathLike[str] | Iterable[str | os.PathLike[str]]) -> list[str]:
    """The files to read: globs expanded (sorted), ``-`` kept for stdin, missing files rejected.

    >>> expand_inputs(["-"])
    ['-']
    """
    if isinstance(inputs, (str, os.PathLike)):
        inputs = [inputs]
    paths: list[str] = []
    for given in [os.fspath(p) for p in inputs]:
        if given == "-":
            paths.append(given)
        elif glob.has_magic(given):
            matches = sorted(p for p in glob.glob(given, recursive=True) if os.path.isfile(p))
            if not matches:
                raise InputError(f"{given}: no file matches this pattern")
            paths.extend(matches)
        elif os.path.isfile(given):
            paths.append(given)
        else:
            reason = "is a directory" if os.path.isdir(given) else "no such file"
            raise InputError(f"{given}: cannot read: {reason}")
    if not paths:
        raise InputError("no input: give JSONL files, globs or '-' for stdin")
    return paths


def _line(name: str, number: int, raw: bytes) -> tuple[str, bytes] | None:
    """``(source, line)`` of line ``number`` (1-based), or None for a blank line."""
    if number == 1 and raw.startswith(_BOM):
        raw = raw[len(_BOM) :]
    raw = raw.rstrip(b"\r\n")
    return (f"{name}:{number}", raw) if raw.strip() else None


def split_lines(name: str, data: bytes) -> list[tuple[str, bytes]]:
    """Every non-blank line of a whole file's bytes (gzip-compressed or not) as ``(source, line)``:
    the same lines :func:`read_lines` yields for that file.

    >>> split_lines("a.jsonl", b'{"x": 1}\\n\\n[2]\\r\\n')
    [('a.jsonl:1', b'{"x": 1}'), ('a.jsonl:3', b'[2]')]
    """
    if data.startswith(_GZIP_MAGIC):
        data = gzip.decompress(data)
    out = []
    for number, raw in enumerate(data.split(b"\n"), 1):
        found = _line(name, number, raw)
        if found is not None:
            out.append(found)
    return out


def read_lines(path: str) -> Iterator[tuple[str, bytes]]:
    """``(source, line)`` of every non-blank line of a JSONL file, read lazily.

    ``path`` may be gzip-compressed (recognised by its first bytes, whatever its name) or ``-``
    for stdin; ``source`` is ``"path:line"`` with 1-based line numbers.
    """
    name = "<stdin>" if path == "-" else path
    try:
        with contextlib.ExitStack() as stack:
            raw: Any = sys.stdin.buffer if path == "-" else stack.enter_context(open(path, "rb"))
            buffered = raw if isinstance(raw, io.BufferedReader) else io.BufferedReader(raw)
            stream: Any = buffered
            if buffered.peek(2)[:2] == _GZIP_MAGIC:  # gzip by content, whatever the name
                stream = stack.enter_context(gzip.GzipFile(fileobj=buffered, mode="rb"))
            for number, line in enumerate(stream, 1):
                found = _line(name, number, line)
                if found is not None:
                    yield found
    except (OSError, EOFError) as e:
        raise InputError(f"{name}: cannot read: {getattr(e, 'strerror', None) or e}") from None


# -- scoring chunks of lines -----------------------------------------------------------------------

_CHUNK_LINES = 128  # small enough to keep every core busy on a few thousand lines
_CHUNK_BYTES = 4 << 20  # ... and to bound the memory of a chunk of very long responses
_LOOKAHEAD = 2  # chunks in flight per worker: one scoring, one waiting


#: What scoring a chunk of lines gives: ``(rows, lines, failed, tokens, first failure)``, the
#: first failure being ``(source, error)`` or None.
_Scored = tuple[list[dict[str, Any]], int, int, int, "tuple[str, str] | None"]


@dataclass(frozen=True, slots=True)
class _Scorer:
    """Scores lines at one level with fixed options; picklable, so any engine can map it."""

    level: BatchLevel = "response"
    options: _Options = field(default_factory=_Options)

    def chunk(self, lines: Sequence[tuple[str, bytes]]) -> _Scored:
        rows: list[dict[str, Any]] = []
        failed = tokens = 0
        first: tuple[str, str] | None = None
        for source, raw in lines:
            ident, doc, error = _decoded(raw, source, self.options)
            source = _clean(source)
            try:
                found = self._rows(ident, source, doc, error)
            except Exception as e:  # a bug on one odd response must not end the run
                doc, error = None, f"unexpected {type(e).__name__}: {e}"
                found = self._rows(ident, source, doc, error)
            rows.extend(found)
            if doc is None:
                failed += 1
                first = first or (source, error)
            else:
                tokens += len(doc.tokens)
        return rows, len(lines), failed, tokens, first

    def _rows(
        self, ident: str, source: str, doc: Decoded | None, error: str
    ) -> list[dict[str, Any]]:
        if self.level == "response":
            return [_response_row(ident, source, doc, error)]
        return _unit_rows(ident, source, doc, error, self.level)


def _chunks(lines: Iterable[tuple[str, bytes]]) -> Iterator[list[tuple[str, bytes]]]:
    chunk: list[tuple[str, bytes]] = []
    size = 0
    for line in lines:
        chunk.append(line)
        size += len(line[1])
        if len(chunk) >= _CHUNK_LINES or size >= _CHUNK_BYTES:
            yield chunk
            chunk, size = [], 0
    if chunk:
        yield chunk


def available_cores() -> int:
    """The cores this process may run on (``os.process_cpu_count`` on 3.13+, else its affinity)."""
    counter = getattr(os, "process_cpu_count", None)
    if counter is not None:
        return int(counter() or 1)
    if hasattr(os, "sched_getaffinity"):
        return len(os.sched_getaffinity(0))
    return os.cpu_count() or 1


def _ignore_interrupts() -> None:
    # Ctrl-C reaches the whole process group: the parent stops the run and cleans up. A forked
    # worker would also inherit the parent's SIGTERM handler (the CLI's): back to the default.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_DFL)


def _local_engine(
    chunks: Iterator[list[tuple[str, bytes]]], scorer: _Scorer, workers: int
) -> Generator[_Scored, None, None]:
    """Scored chunks in input order; at most ``_LOOKAHEAD * workers`` chunks in flight."""
    if workers <= 1:
        yield from map(scorer.chunk, chunks)
        return
    import multiprocessing

    methods = multiprocessing.get_all_start_methods()
    if sys.platform.startswith("linux") and threading.active_count() == 1:
        method = "fork"  # the fastest start, and the caller's script is not run again
        # (macOS: system libraries are not fork-safe, hence Python's own default of spawn)
    else:  # forking a process with threads (Ray, a web server) may deadlock a worker
        method = "forkserver" if "forkserver" in methods else "spawn"
    context = multiprocessing.get_context(method)
    if method == "forkserver":
        # imported once in the server: each worker starts with it loaded
        context.set_forkserver_preload(["tokbytes.batch"])
    pool = ProcessPoolExecutor(workers, mp_context=context, initializer=_ignore_interrupts)
    try:
        pending: deque[Future[_Scored]] = deque()
        for chunk in chunks:
            pending.append(pool.submit(scorer.chunk, chunk))
            if len(pending) >= _LOOKAHEAD * workers:
                yield pending.popleft().result()
        while pending:
            yield pending.popleft().result()
    finally:
        pool.shutdown(wait=True, cancel_futures=True)


# -- the run ---------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ScoreSummary:
    """What a run of :func:`score` did (also passed, as it grows, to the ``progress`` callback)."""

    output: str
    """The file written."""
    level: BatchLevel
    """The row level."""
    lines: int
    """Non-blank input lines read."""
    failed: int
    """Lines that could not be scored (each is a row with its ``error``)."""
    rows: int
    """Rows written."""
    tokens: int
    """Tokens of the scored lines."""
    seconds: float
    """Wall time so far."""

    @property
    def scored(self) -> int:
        """Lines scored."""
        return self.lines - self.failed

    @property
    def tokens_per_second(self) -> float:
        """Throughput in tokens per second of wall time."""
        return self.tokens / self.seconds if self.seconds > 0 else 0.0

    def __str__(self) -> str:
        return (
            f"scored {self.scored:,} of {self.lines:,} lines ({self.failed:,} failed); "
            f"{self.tokens:,} tokens in {self.seconds:.1f} s ({self.tokens_per_second:,.0f} "
            f"tokens/s); {self.rows:,} rows -> {self.output}"
        )


def score(
    inputs: str | os.PathLike[str] | Iterable[str | os.PathLike[str]],
    output: str | os.PathLike[str],
    *,
    workers: int | None = None,
    level: BatchLevel = "response",
    engine: Literal["local", "ray"] = "local",
    address: str | None = None,
    strict: bool = False,
    errors: Errors = "strict",
    attribution: Attribution = "cover",
    choice: int = 0,
    channel: str = "auto",
    progress: Callable[[ScoreSummary], None] | None = None,
) -> ScoreSummary:
    """Score every line of JSONL ``inputs`` and write one row per response (or per unit) to
    ``output``, in input order.

    ``inputs``: files (gzip-compressed or not), glob patterns, ``"-"`` for stdin. ``output``:
    ``.parquet`` (needs ``tokbytes[arrow]``), ``.jsonl`` or ``.csv``, chosen by extension
    (``"-"`` writes JSONL to stdout). It is written to a temporary file in the same folder and
    renamed into place at the end, so a failed or interrupted run leaves no partial file.

    ``workers`` processes score chunks of lines (default: every core this process may use; 1 =
    in this process); ``engine="ray"`` runs on Ray Data instead (``tokbytes[ray]``): on the
    cluster at ``address``, else on a local Ray with ``workers`` CPUs. ``level`` is
    ``"response"`` (:data:`RESPONSE_FIELDS`) or ``"token"``, ``"char"``, ``"grapheme"``,
    ``"word"`` (:data:`UNIT_FIELDS`). A line that cannot be scored becomes a row with its
    ``error``; with ``strict=True`` the run stops at the first such line with
    :class:`ScoreError`. ``errors``, ``attribution``, ``choice`` and ``channel`` are
    :func:`tokbytes.decode`'s. ``progress`` is called with the running summary after each chunk.

    >>> import pathlib, tempfile
    >>> folder = pathlib.Path(tempfile.mkdtemp())
    >>> _ = (folder / "in.jsonl").write_text(
    ...     '[{"token": "Hi", "bytes": [72, 105], "logprob": -0.5}]\\n{"broken\\n')
    >>> summary = score(folder / "in.jsonl", folder / "out.jsonl", workers=1)
    >>> summary.lines, summary.failed, summary.tokens
    (2, 1, 1)
    >>> [json.loads(line)["error"][:12] for line in open(folder / "out.jsonl")]
    ['', 'invalid JSON']
    """
    from . import _batch_output

    if level not in LEVELS:
        raise InputError(f"level must be one of {', '.join(map(repr, LEVELS))}, got {level!r}")
    if engine not in ("local", "ray"):
        raise InputError(f"engine must be 'local' or 'ray', got {engine!r}")
    if workers is not None and (not isinstance(workers, int) or workers < 1):
        raise InputError(f"workers must be a positive integer, got {workers!r}")
    if address is not None and engine != "ray":
        raise InputError("address is the Ray cluster to join: it needs engine='ray' (--engine ray)")
    if errors not in ("strict", "replace"):
        raise InputError(f"errors must be 'strict' or 'replace', got {errors!r}")
    if attribution not in ("cover", "split"):
        raise InputError(f"attribution must be 'cover' or 'split', got {attribution!r}")
    target = os.fspath(output)
    kind = _batch_output.output_kind(target)  # before any work: a bad name fails at once
    paths = expand_inputs(inputs)
    cores = workers or available_cores()
    scorer = _Scorer(level, _Options(errors, attribution, choice, channel))
    fields = RESPONSE_FIELDS if level == "response" else UNIT_FIELDS
    started = time.perf_counter()
    results: Generator[_Scored, None, None]
    if engine == "ray":
        from . import _batch_ray

        results = _batch_ray.ray_engine(paths, scorer, address=address, workers=workers)
    else:
        lines = (line for path in paths for line in read_lines(path))
        results = _local_engine(_chunks(lines), scorer, cores)
    n_lines = n_failed = n_rows = n_tokens = 0
    with contextlib.closing(results), _batch_output.atomic_writer(target, kind, fields) as write:
        for rows, lines_done, failed, tokens, first in results:
            if strict and first is not None:
                raise ScoreError(*first)
            write(rows)
            n_lines += lines_done
            n_failed += failed
            n_rows += len(rows)
            n_tokens += tokens
            if progress is not None:
                progress(
                    ScoreSummary(
                        target,
                        level,
                        n_lines,
                        n_failed,
                        n_rows,
                        n_tokens,
                        time.perf_counter() - started,
                    )
                )
    return ScoreSummary(
        target, level, n_lines, n_failed, n_rows, n_tokens, time.perf_counter() - started
    )
