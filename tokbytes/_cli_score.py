"""``tokbytes score INPUT... -o OUT``: the console script's batch command (see docs/batch.md).

Everything here is option handling and the progress line; the work is :func:`tokbytes.batch.score`.
"""

from __future__ import annotations

import argparse
import contextlib
import signal
import sys
import time
from collections.abc import Callable, Iterator
from types import FrameType
from typing import IO, Any

from .batch import LEVELS, ScoreSummary, available_cores, score
from .errors import TokbytesError

__all__ = ["add_command"]


def _at_least(minimum: int) -> Callable[[str], int]:
    def parse(value: str) -> int:
        try:
            n = int(value)
        except ValueError:
            raise argparse.ArgumentTypeError(f"not an integer: {value!r}") from None
        if n < minimum:
            raise argparse.ArgumentTypeError(f"must be {minimum} or more, got {n}")
        return n

    return parse


def add_command(commands: Any) -> None:
    """Add ``score`` to the subcommands of the ``tokbytes`` parser."""
    p = commands.add_parser(
        "score",
        help="score many responses (JSONL) into Parquet, JSONL or CSV, on every core",
        description="Score every line of JSONL files (any shape tokbytes decodes, or OpenAI Batch "
        "output lines) and write one row per response, or per unit with --level, in input order.",
    )
    p.add_argument(
        "inputs", nargs="+", metavar="INPUT", help="JSONL files, .gz, globs; '-' = stdin"
    )
    p.add_argument(
        "-o", "--output", required=True, metavar="OUT", help="OUT.parquet, OUT.jsonl or OUT.csv"
    )
    p.add_argument(
        "--level",
        choices=LEVELS,
        default="response",
        help="one row per response (default) or per token, char, grapheme or word",
    )
    p.add_argument(
        "--workers",
        type=_at_least(1),
        metavar="N",
        help=f"processes scoring in parallel (default: all cores, here {available_cores()})",
    )
    p.add_argument(
        "--engine",
        choices=("local", "ray"),
        default="local",
        help="local process pool (default) or Ray Data (pip install 'tokbytes[ray]')",
    )
    p.add_argument(
        "--address",
        metavar="ADDR",
        help="with --engine ray: join this Ray cluster (default: start a local Ray)",
    )
    p.add_argument(
        "--strict",
        action="store_true",
        help="stop at the first line that cannot be scored (exit 2) instead of writing its error",
    )
    p.add_argument(
        "--errors",
        choices=("strict", "replace"),
        default="strict",
        help="invalid or truncated UTF-8 in a response: an error row (default) or U+FFFD",
    )
    p.add_argument(
        "--attribution",
        choices=("cover", "split"),
        default="cover",
        help="how token logprobs score a unit (default: cover; see the README)",
    )
    p.add_argument(
        "--choice", type=_at_least(0), default=0, metavar="N", help="choice of n > 1 responses"
    )
    p.add_argument(
        "--channel",
        choices=("auto", "content", "refusal"),
        default="auto",
        help="chat logprobs channel (default: auto = the one that has tokens)",
    )
    shown = p.add_mutually_exclusive_group()
    shown.add_argument("--quiet", action="store_true", help="no progress and no summary")
    shown.add_argument(
        "--progress", action="store_true", help="progress line even when stderr is not a terminal"
    )
    p.set_defaults(run=run)


class _ProgressLine:
    """Redraws ``lines, tokens, tokens/s, failed`` on one line, at most 10 times a second."""

    def __init__(self, stream: IO[str]) -> None:
        self.stream = stream
        self.drawn = 0
        self.last = 0.0

    def __call__(self, summary: ScoreSummary) -> None:
        now = time.monotonic()
        if now - self.last < 0.1:
            return
        self.last = now
        line = (
            f"tokbytes: {summary.lines:,} lines, {summary.tokens:,} tokens, "
            f"{summary.tokens_per_second:,.0f} tokens/s, {summary.failed:,} failed"
        )
        self.stream.write("\r" + line.ljust(self.drawn))
        self.stream.flush()
        self.drawn = len(line)

    def erase(self) -> None:
        if self.drawn:
            self.stream.write("\r" + " " * self.drawn + "\r")
            self.stream.flush()


@contextlib.contextmanager
def _terminate_as_exit() -> Iterator[None]:
    """SIGTERM ends the run like Ctrl-C does: through ``finally``, so no partial file is left."""

    def stop(signum: int, frame: FrameType | None) -> None:
        raise SystemExit(128 + signum)

    try:
        previous = signal.signal(signal.SIGTERM, stop)
    except ValueError:  # not the main thread: leave signals alone
        yield
        return
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


@contextlib.contextmanager
def _missing_extra_as_error() -> Iterator[None]:
    """A missing extra (pyarrow, Ray) is a usage problem: one line naming the install, exit 2."""
    try:
        yield
    except ImportError as e:
        raise TokbytesError(str(e)) from None


def run(args: argparse.Namespace) -> int:
    """Run ``tokbytes score``; problems raise :class:`tokbytes.TokbytesError` (exit 2)."""
    draw = not args.quiet and (args.progress or sys.stderr.isatty())
    progress = _ProgressLine(sys.stderr) if draw else None
    try:
        with _terminate_as_exit(), _missing_extra_as_error():
            summary = score(
                args.inputs,
                args.output,
                workers=args.workers,
                level=args.level,
                engine=args.engine,
                address=args.address,
                strict=args.strict,
                errors=args.errors,
                attribution=args.attribution,
                choice=args.choice,
                channel=args.channel,
                progress=progress,
            )
    finally:
        if progress is not None:
            progress.erase()  # the summary below takes its place
    if not args.quiet:
        sys.stderr.write(f"tokbytes: {summary}\n")
        if summary.failed:
            sys.stderr.write(
                f"tokbytes: warning: {summary.failed:,} lines could not be scored; their rows "
                "say why in 'error'\n"
            )
    return 0
