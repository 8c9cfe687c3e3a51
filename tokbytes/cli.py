"""The ``tokbytes`` console script: heat maps and tables of where a model was unsure.

::

    tokbytes demo                         # the embedded sample: heat map + per-word table
    tokbytes show FILE|-                  # JSON, JSONL (stream chunks or many responses) or SSE
    tokbytes show answer.json --level char --threshold 0.5 --format json
    tokbytes html answer.json -o answer.html

Everything here is I/O and option handling; decoding is :func:`tokbytes.decode` and every
rendering is a pure function of :mod:`tokbytes.render`. Bad input prints one line,
``tokbytes: error: FILE: what is wrong``, and exits with status 2 (never a traceback); an output
file is written to a temporary file first and renamed, so it never holds a partial page. Set
``TOKBYTES_DEBUG=1`` to get the traceback of an unexpected error.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import sys
import tempfile
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from importlib import resources
from typing import IO, Any, NoReturn

import tokbytes
from tokbytes import _cli_score, render
from tokbytes._batch_output import _new_file_mode  # one rule for the mode of written files
from tokbytes.batch import response_id as _response_id
from tokbytes.batch import unwrap_batch_line as _unwrap_batch

__all__ = ["main"]

LEVELS = render.VIEW_LEVELS  # char, grapheme, word, token
FORMATS = ("text", "json", "csv")

# Stream shapes (tokbytes.sources) whose records are only a piece of the output.
_PIECE_SHAPES = frozenset({"openai.chunk", "responses.delta", "responses.event", "tgi.stream"})
# Stream events that carry the whole output again (preferred: they have bytes).
_WHOLE_SHAPES = frozenset({"responses.response", "responses.done"})


class CliError(Exception):
    """Bad input or usage: printed as one line, exit status 2."""


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:
        _fail(f"{message} (see '{self.prog} --help')")


def _fail(message: str) -> NoReturn:
    sys.stderr.write(f"tokbytes: error: {message}\n")
    sys.stderr.flush()
    raise SystemExit(2)


# -- reading input ---------------------------------------------------------------------------------


@dataclass
class _Item:
    """One response to show: a decoded document, or the reason it could not be decoded."""

    name: str
    doc: tokbytes.Decoded | None = None
    error: str = ""


@dataclass
class _Input:
    name: str
    kind: str  # "json", "jsonl-stream", "jsonl-batch", "sse"
    items: list[_Item] = field(default_factory=list)


def _read(path: str) -> tuple[str, bytes]:
    if path == "-":
        return "<stdin>", sys.stdin.buffer.read()
    try:
        with open(path, "rb") as f:
            return path, f.read()
    except OSError as e:
        raise CliError(f"{path}: cannot read: {e.strerror or e}") from None


def _text(name: str, raw: bytes) -> str:
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError as e:
        raise CliError(
            f"{name}: not UTF-8 text (byte {e.start}: {raw[e.start : e.start + 1]!r}); "
            "expected JSON, JSONL or an SSE capture"
        ) from None


def _json(name: str, text: str, where: str = "") -> Any:
    try:
        return json.loads(text)
    except json.JSONDecodeError as e:
        raise CliError(f"{name}{where}: invalid JSON: {e.msg} (column {e.colno})") from None
    except RecursionError:
        raise CliError(f"{name}{where}: JSON nested too deeply") from None


def _sse_events(name: str, text: str) -> Iterator[tuple[int, Any]]:
    """``(line number, JSON payload)`` of each ``data:`` event, up to ``data: [DONE]``."""
    data: list[str] = []
    first_line = 0
    for number, line in enumerate([*text.splitlines(), ""], 1):
        if not line.strip():
            if data:
                payload = "\n".join(data)
                data = []
                if payload.strip() == "[DONE]":
                    return
                yield first_line, _json(name, payload, f" line {first_line}")
            continue
        if line.startswith(":"):
            continue  # SSE comment
        key, _, value = line.partition(":")
        if key == "data":
            if not data:
                first_line = number
            data.append(value[1:] if value.startswith(" ") else value)
        elif key not in ("event", "id", "retry"):
            raise CliError(
                f"{name} line {number}: not an SSE field (expected 'data: ...', 'event: ...'), "
                f"got {line[:40]!r}"
            )


def _looks_like_sse(text: str) -> bool:
    for line in text.splitlines():
        if line.strip():
            return line.split(":", 1)[0] in ("data", "event", "id", "retry", "")
    return False


def _is_piece(obj: Any, shape: str) -> bool:
    """Whether a JSONL line is part of a stream (rather than a whole response of a batch)."""
    if shape in _PIECE_SHAPES or shape == "responses.done":
        return True
    if not isinstance(obj, dict):
        return False
    kind = obj.get("type")
    if shape == "responses.response":  # a response.completed event, not a bare response
        return isinstance(kind, str) and kind.startswith("response.")
    # Ollama and llama.cpp stream lines: done / stop false until the last one
    return obj.get("done") is False or (shape == "llamacpp.completion" and obj.get("stop") is False)


@dataclass
class _Options:
    errors: str
    attribution: str
    choice: int
    channel: str
    words: str = "uax29"


def _decode(obj: Any, opts: _Options) -> tokbytes.Decoded:
    return tokbytes.decode(
        obj,
        errors=opts.errors,  # type: ignore[arg-type]
        attribution=opts.attribution,  # type: ignore[arg-type]
        choice=opts.choice,
        channel=opts.channel,
        words=opts.words,
    )


def _decode_stream(
    name: str, events: Sequence[tuple[str, Any]], opts: _Options
) -> tokbytes.Decoded:
    """Decode stream pieces as one output: their records joined in order.

    A Responses stream repeats the whole output in its final events (with bytes, which deltas
    lack): the last ``response.completed``, else the ``output_text.done`` parts, are used then.
    """
    pieces: list[Any] = []
    done_parts: list[Any] = []
    whole: list[Any] | None = None
    for where, obj in events:
        try:
            found = tokbytes.extract(
                obj, choice=opts.choice, channel=opts.channel, allow_empty=True
            )
        except tokbytes.TokbytesError as e:
            raise CliError(f"{name}{where}: {e}") from None
        if found.shape == "responses.response":
            whole = list(found.records)
        elif found.shape == "responses.done":
            done_parts.extend(found.records)
        else:
            pieces.extend(found.records)
    records = whole if whole else done_parts if done_parts else pieces
    return _decode(records, opts)


def _load(path: str, opts: _Options, progress: Callable[[int, int], None] | None) -> _Input:
    name, raw = _read(path)
    text = _text(name, raw)
    if not text.strip():
        raise CliError(f"{name}: empty input; expected JSON, JSONL or an SSE capture")
    if _looks_like_sse(text):
        events = [(f" line {n}", obj) for n, obj in _sse_events(name, text)]
        if not events:
            raise CliError(f"{name}: SSE capture with no 'data:' events")
        try:
            doc = _decode_stream(name, events, opts)
        except tokbytes.TokbytesError as e:
            raise _input_error(name, e, opts) from None
        return _Input(name, "sse", [_Item(name, _checked(name, doc))])
    stripped = text.lstrip()
    try:
        obj = json.loads(text)
    except json.JSONDecodeError as e:
        lines = [(n, line) for n, line in enumerate(text.splitlines(), 1) if line.strip()]
        if len(lines) < 2 or stripped[:1] not in "{[":
            raise CliError(
                f"{name}: not JSON, JSONL or an SSE capture: {e.msg} (line {e.lineno} column "
                f"{e.colno})"
            ) from None
        return _load_jsonl(
            name, [(n, _json(name, line, f" line {n}")) for n, line in lines], opts, progress
        )
    except RecursionError:
        raise CliError(f"{name}: JSON nested too deeply") from None
    ident, body, error = _unwrap_batch(obj)
    if error:
        raise CliError(f"{name}: {ident}: {error}")
    return _Input(
        name, "json", [_Item(ident or name, _checked(name, _decode_obj(name, body, opts)))]
    )


def _decode_obj(name: str, obj: Any, opts: _Options) -> tokbytes.Decoded:
    try:
        return _decode(obj, opts)
    except tokbytes.TokbytesError as e:
        raise _input_error(name, e, opts) from None


def _input_error(name: str, e: tokbytes.TokbytesError, opts: _Options) -> CliError:
    message = str(e)
    if isinstance(e, tokbytes.DecodeError) and opts.errors == "strict":
        if "errors='replace'" in message:  # the library's advice, in command-line terms
            message = message.replace("errors='replace'", "--errors replace")
        else:
            message += " (use --errors replace to decode anyway)"
    return CliError(f"{name}: {message}")


def _checked(name: str, doc: tokbytes.Decoded) -> tokbytes.Decoded:
    if not len(doc.tokens):
        raise CliError(
            f"{name}: no token logprobs found (request them with logprobs=true; for a refusal "
            "use --channel refusal)"
        )
    return doc


def _load_jsonl(
    name: str,
    lines: list[tuple[int, Any]],
    opts: _Options,
    progress: Callable[[int, int], None] | None,
) -> _Input:
    classified = []
    any_piece = False
    for number, obj in lines:
        ident, body, error = _unwrap_batch(obj)
        shape = ""
        if not error and ident is None:
            try:
                shape = tokbytes.extract(
                    obj, choice=opts.choice, channel=opts.channel, allow_empty=True
                ).shape
            except tokbytes.TokbytesError:
                shape = ""
            any_piece = any_piece or _is_piece(obj, shape)
        classified.append((number, ident, body, error))
    if any_piece:
        events = [(f" line {n}", obj) for n, obj in lines]
        try:
            doc = _decode_stream(name, events, opts)
        except tokbytes.TokbytesError as e:
            raise _input_error(name, e, opts) from None
        return _Input(name, "jsonl-stream", [_Item(name, _checked(name, doc))])
    items = []
    for done, (number, ident, body, error) in enumerate(classified):
        label = ident or _response_id(body) or f"line {number}"
        if not error:
            try:
                doc = _decode(body, opts)
                items.append(
                    _Item(label, doc)
                    if len(doc.tokens)
                    else _Item(label, None, "no token logprobs")
                )
            except tokbytes.TokbytesError as e:
                items.append(_Item(label, None, str(e)))
        else:
            items.append(_Item(label, None, error))
        if progress is not None:
            progress(done + 1, len(classified))
    return _Input(name, "jsonl-batch", items)


# -- output ----------------------------------------------------------------------------------------


def _progress_bar(stream: IO[str]) -> Callable[[int, int], None]:
    last = [-1]

    def update(done: int, total: int) -> None:
        width = 30
        filled = width * done // total if total else width
        if filled == last[0] and done != total:
            return
        last[0] = filled
        bar = "#" * filled + "-" * (width - filled)
        stream.write(f"\rtokbytes: [{bar}] {done}/{total} responses")
        if done == total:
            stream.write("\n")
        stream.flush()

    return update


def _write_atomic(path: str, text: str) -> None:
    """Write ``text`` to ``path`` via a temporary file in the same folder and a rename."""
    if path == "-":
        sys.stdout.write(text)
        return
    folder = os.path.dirname(os.path.abspath(path))
    try:
        fd, tmp = tempfile.mkstemp(prefix=".tokbytes-", suffix=".tmp", dir=folder)
    except OSError as e:
        raise CliError(f"{path}: cannot write: {e.strerror or e}") from None
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="") as f:
            f.write(text)
        os.chmod(tmp, _new_file_mode(path))  # mkstemp makes 0600; a page is for sharing
        os.replace(tmp, path)
    except OSError as e:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise CliError(f"{path}: cannot write: {e.strerror or e}") from None
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise


def _color_mode(choice: str) -> render.ColorMode:
    if choice == "never":
        return None
    if choice == "auto" and (
        not sys.stdout.isatty() or os.environ.get("NO_COLOR") or os.environ.get("TERM") == "dumb"
    ):
        return None
    depth = os.environ.get("COLORTERM", "").lower()
    return "truecolor" if depth in ("truecolor", "24bit") else "256"


def _rows_sort(args: argparse.Namespace) -> render.Sort:
    """JSON and CSV rows: text order unless ``--sort`` says otherwise."""
    return args.sort or "position"


def _table_sort(args: argparse.Namespace) -> render.Sort:
    """Tables of the least certain units: least probable first unless ``--sort`` says otherwise."""
    return args.sort or "prob"


def _show_doc(doc: tokbytes.Decoded, args: argparse.Namespace, color: render.ColorMode) -> str:
    if args.format == "json":
        return (
            render.json_text(
                doc, args.level, threshold=args.threshold, top=args.top, sort=_rows_sort(args)
            )
            + "\n"
        )
    if args.format == "csv":
        return render.csv_text(
            doc, args.level, threshold=args.threshold, top=args.top, sort=_rows_sort(args)
        )
    out = render.terminal_heatmap(doc, args.level, color=color)
    out += "\n" if not out.endswith("\n") else ""
    if args.threshold is not None or args.top is not None:
        out += "\n" + _least_certain(doc, args, color, args.top)
    return out


def _least_certain(
    doc: tokbytes.Decoded, args: argparse.Namespace, color: render.ColorMode, top: int | None
) -> str:
    """The table of the least certain units with the line that says what it lists."""
    level, threshold = args.level, args.threshold
    table = render.unit_table(
        doc,
        level,
        threshold=threshold,
        top=top,
        sort=_table_sort(args),
        color=color,
        leave_out=_leave_out(args),
    )
    rows = table.count("\n")  # lines after the header
    plural = f"{level}s" if rows != 1 else level
    if threshold is not None and not rows:
        return f"no {level} below p = {threshold:g}\n"
    if threshold is not None:
        title = f"{level}s below p = {threshold:g}"
        title += f", the {rows} least certain" if top is not None else ""
    else:
        title = f"the {rows} least certain {plural}"
    order = "least probable first" if _table_sort(args) == "prob" else "in text order"
    return f"{title} ({order}):\n{table}\n"


def _show_summary(items: Sequence[_Item], args: argparse.Namespace) -> str:
    summaries = [
        render.summarize(
            item.doc, item.name, leave_out=("punctuation",) if not args.punctuation else ()
        )
        if item.doc is not None
        else render.Summary(item.name, 0, 0, 0, float("nan"), float("nan"), "", item.error)
        for item in items
    ]
    if args.format == "json":
        return "".join(
            json.dumps(row, ensure_ascii=False) + "\n" for row in render.summary_rows(summaries)
        )
    if args.format == "csv":
        import csv
        import io

        buffer = io.StringIO()
        writer = csv.DictWriter(buffer, fieldnames=render.Summary._fields, lineterminator="\n")
        writer.writeheader()
        writer.writerows(
            {k: ("" if v is None else v) for k, v in row.items()}
            for row in render.summary_rows(summaries)
        )
        return buffer.getvalue()
    return render.summary_table(summaries) + "\n"


# -- commands --------------------------------------------------------------------------------------


def _options(args: argparse.Namespace) -> _Options:
    return _Options(args.errors, args.attribution, args.choice, args.channel, args.words)


def _leave_out(args: argparse.Namespace) -> tuple[str, ...]:
    """Word kinds the tables of least certain units leave out (punctuation, unless asked)."""
    return () if args.punctuation or args.level != "word" else ("punctuation",)


def _progress(args: argparse.Namespace) -> Callable[[int, int], None] | None:
    if args.progress or sys.stderr.isatty():
        return _progress_bar(sys.stderr)
    return None


def _cmd_show(args: argparse.Namespace) -> int:
    loaded = _load(args.file, _options(args), _progress(args))
    if loaded.kind == "jsonl-batch":
        sys.stdout.write(_show_summary(loaded.items, args))
        failed = sum(1 for item in loaded.items if item.error)
        if failed:
            sys.stderr.write(
                f"tokbytes: warning: {loaded.name}: {failed} of {len(loaded.items)} responses "
                "could not be decoded\n"
            )
        return 0
    doc = loaded.items[0].doc
    assert doc is not None
    sys.stdout.write(_show_doc(doc, args, _color_mode(args.color)))
    return 0


def _cmd_html(args: argparse.Namespace) -> int:
    loaded = _load(args.file, _options(args), _progress(args))
    documents = [(item.name, item.doc) for item in loaded.items if item.doc is not None]
    notes = [f"{item.name}: {item.error}" for item in loaded.items if item.error]
    if not documents:
        raise CliError(f"{loaded.name}: no response could be decoded ({notes[0] if notes else ''})")
    title = args.title or f"tokbytes: {os.path.basename(loaded.name)}"
    page = render.html_page(
        documents,
        args.level,
        title=title,
        threshold=args.threshold,
        notes=notes,
        leave_out=_leave_out(args),
        alternatives=args.alternatives,
        top=10 if args.top is None else args.top,
        sort=_table_sort(args),
    )
    _write_atomic(args.output, page)
    return 0


def _demo_samples() -> list[dict[str, Any]]:
    data = resources.files("tokbytes").joinpath("data/demo.json").read_text(encoding="utf-8")
    samples: list[dict[str, Any]] = json.loads(data)["samples"]
    return samples


#: How many least certain units ``demo`` lists when no ``--top`` or ``--threshold`` is given.
_DEMO_TOP = 5


def _cmd_demo(args: argparse.Namespace) -> int:
    samples = _demo_samples()
    docs = [
        (s["title"], tokbytes.decode(s["tokens"], attribution=args.attribution, words=args.words))
        for s in samples
    ]
    top = _DEMO_TOP if args.top is None else args.top
    if args.html:
        _write_atomic(
            args.html,
            render.html_page(
                docs,
                args.level,
                title="tokbytes demo",
                threshold=args.threshold,
                leave_out=_leave_out(args),
                top=top,
                sort=_table_sort(args),
            ),
        )
        return 0
    if args.format == "csv":  # one table for the whole output, a column naming the sample
        sys.stdout.write(
            render.csv_text(
                docs, args.level, threshold=args.threshold, top=args.top, sort=_rows_sort(args)
            )
        )
        return 0
    if args.format != "text":
        for _, doc in docs:
            sys.stdout.write(_show_doc(doc, args, None))
        return 0
    color = _color_mode(args.color)
    out = []
    for sample, (title, doc) in zip(samples, docs):
        out.append(f"== {title}\nprompt: {sample['prompt']}\n")
        out.append(render.terminal_heatmap(doc, args.level, color=color) + "\n\n")
        out.append(_least_certain(doc, args, color, None if args.threshold is not None else top))
        out.append("\n")
    legend = render.legend_text(color)
    out.append((legend + "\n") if legend else "")
    sys.stdout.write("".join(out))
    return 0


# -- argument parsing ------------------------------------------------------------------------------


def _probability(value: str) -> float:
    try:
        p = float(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number: {value!r}") from None
    if not 0.0 <= p <= 1.0:
        raise argparse.ArgumentTypeError(f"a probability is between 0 and 1, got {value}")
    return p


def _choice_index(value: str) -> int:
    try:
        n = int(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not an integer: {value!r}") from None
    if n < 0:
        raise argparse.ArgumentTypeError(f"must be 0 or more, got {n}")
    return n


def _add_view_options(p: argparse.ArgumentParser, *, terminal: bool) -> None:
    p.add_argument(
        "--level",
        choices=LEVELS,
        default="word",
        help="unit to color and list (default: word); token: one row per token with its "
        "entropy, margin, rank and alternatives",
    )
    p.add_argument(
        "--threshold",
        type=_probability,
        metavar="P",
        help="list the units whose probability is below P",
    )
    p.add_argument(
        "--words",
        choices=("uax29", "icu"),
        default="uax29",
        help="word segmentation: uax29 (Unicode default, every ideograph a word) or icu "
        "(dictionary words for Chinese, Japanese, Thai, Lao, Khmer, Myanmar; "
        'pip install "tokbytes[icu]")',
    )
    p.add_argument(
        "--punctuation",
        action="store_true",
        help="list punctuation words too in the tables of least certain words (left out by default)",
    )
    p.add_argument(
        "--top",
        type=_choice_index,
        metavar="N",
        help="list the N least certain units (demo: 5 words; html: 10)",
    )
    p.add_argument(
        "--sort",
        choices=("prob", "position"),
        help="order of listed units: prob = least probable first (the default for tables), "
        "position = text order (the default for json and csv rows)",
    )
    p.add_argument(
        "--attribution",
        choices=("cover", "split"),
        default="cover",
        help="how token logprobs score a unit (default: cover; see the README)",
    )
    if terminal:
        p.add_argument(
            "--format",
            choices=FORMATS,
            default="text",
            help="text (heat map), json or csv (default: text)",
        )
        p.add_argument(
            "--color",
            choices=("auto", "always", "never"),
            default="auto",
            help="color the text: auto = when stdout is a terminal (default)",
        )
        p.add_argument(
            "--no-color",
            dest="color",
            action="store_const",
            const="never",
            help="same as --color never",
        )


def _add_input_options(p: argparse.ArgumentParser) -> None:
    p.add_argument("file", metavar="FILE", help="JSON, JSONL or SSE capture; '-' for stdin")
    p.add_argument(
        "--errors",
        choices=("strict", "replace"),
        default="strict",
        help="invalid or truncated UTF-8: fail (default) or show U+FFFD",
    )
    p.add_argument(
        "--choice",
        type=_choice_index,
        default=0,
        metavar="N",
        help="which choice of an n > 1 response (default: 0)",
    )
    p.add_argument(
        "--channel",
        choices=("auto", "content", "refusal", "reasoning"),
        default="auto",
        help="chat logprobs channel: content, refusal, or reasoning (the reasoning tokens some "
        "servers return) (default: auto = the one of content and refusal that has tokens)",
    )
    p.add_argument(
        "--progress",
        action="store_true",
        help="progress bar on stderr for many responses even when it is not a terminal",
    )


def _parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="tokbytes",
        description="See where a language model was unsure: exact text and heat maps from token "
        "logprobs.",
        epilog="Colors: p=0 red, 0.25 orange, 0.5 yellow, 0.75 light green, 1 green (see docs/cli.md).",
    )
    parser.add_argument(
        "--version",
        action="version",
        version=f"tokbytes {tokbytes.__version__} "
        f"({'compiled core' if tokbytes.compiled else 'pure Python'})",
    )
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    commands.required = True

    demo = commands.add_parser("demo", help="decode the embedded sample answers and show them")
    _add_view_options(demo, terminal=True)
    demo.add_argument("--html", metavar="OUT", help="write the sample as an HTML page instead")
    demo.set_defaults(run=_cmd_demo)

    show = commands.add_parser("show", help="print a decoded output colored by confidence")
    _add_input_options(show)
    _add_view_options(show, terminal=True)
    show.set_defaults(run=_cmd_show)

    page = commands.add_parser("html", help="write a self-contained HTML heat map")
    _add_input_options(page)
    _add_view_options(page, terminal=False)
    page.add_argument(
        "-o",
        "--output",
        default="-",
        metavar="OUT",
        help="the HTML file to write ('-' = stdout, the default)",
    )
    page.add_argument("--title", help="page title (default: the input file name)")
    page.add_argument(
        "--no-alternatives",
        dest="alternatives",
        action="store_false",
        help="leave the tokens' alternatives out of the hover details (a smaller page)",
    )
    page.set_defaults(run=_cmd_html)

    _cli_score.add_command(commands)  # tokbytes score INPUT... -o OUT (tokbytes/_cli_score.py)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the console script; returns the exit status (0, or 2 for bad input or usage)."""
    with contextlib.suppress(AttributeError, ValueError):
        if (sys.stdout.encoding or "").lower().replace("-", "") != "utf8":
            sys.stdout.reconfigure(encoding="utf-8")  # type: ignore[union-attr]
    args = _parser().parse_args(argv)
    try:
        status: int = args.run(args)
        sys.stdout.flush()
    except CliError as e:
        _fail(str(e))
    except tokbytes.TokbytesError as e:
        _fail(str(e))
    except ImportError as e:  # an extra that is not installed (words="icu")
        _fail(str(e))
    except BrokenPipeError:
        # the reader went away (| head): exit quietly, without a second error on flush
        with contextlib.suppress(OSError):
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0
    except KeyboardInterrupt:
        sys.stderr.write("\n")
        return 130
    except Exception as e:  # never a traceback for input we did not foresee
        if os.environ.get("TOKBYTES_DEBUG"):
            raise
        _fail(f"unexpected {type(e).__name__}: {e} (set TOKBYTES_DEBUG=1 for the traceback)")
    return status
