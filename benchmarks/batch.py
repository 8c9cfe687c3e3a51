"""The batch row: ``tokbytes score`` throughput for 1 and N workers and for Ray, and the scaling.

Run from the repository root::

    python -m benchmarks.batch                       # 1M tokens: 1 worker, every core, Ray local
    python -m benchmarks.batch --tokens 100000 --no-ray --out benchmarks/results/

Generates a JSONL file of responses (the texts and token cuts of ``benchmarks/workloads.py``, every
language, in several shapes: OpenAI Batch output lines, chat completions, logprobs objects, bare
token lists, with a few broken lines among them), then times
:func:`tokbytes.batch.score` on it, wall clock, from the first line read to the output file
renamed into place (Ray: started before, as a cluster would be; its start time is reported
apart). Prints progress, a table and the
scaling efficiency (tokens/s with N workers / (N x tokens/s with 1)); writes ``batch.json``.
Throughput depends on every other process on the machine: say what else was running.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import platform
import random
import resource
import sys
import tempfile
import time
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

from tokbytes import batch

from . import workloads

DEFAULT_TOKENS = 1_000_000
#: One line in this many is broken (bad JSON, failed request, no logprobs, bad UTF-8, ...).
BROKEN_EVERY = 97
BROKEN_KINDS = (
    "bad_json",
    "status_429",
    "request_error",
    "no_logprobs",
    "truncated_utf8",
    "not_utf8",
    "blank",
)
SHAPES = ("batch_line", "chat_completion", "logprobs_object", "records")


def _chat(ident: str, text: str, records: list[dict[str, Any]] | None) -> dict[str, Any]:
    logprobs = None if records is None else {"content": records, "refusal": None}
    return {
        "id": ident,
        "object": "chat.completion",
        "created": 1733400000,
        "model": "gpt-4o-mini",
        "choices": [
            {
                "index": 0,
                "message": {"role": "assistant", "content": text, "refusal": None},
                "logprobs": logprobs,
                "finish_reason": "stop",
            }
        ],
    }


def _batch_line(n: int, body: dict[str, Any] | None, status: int = 200) -> dict[str, Any]:
    return {
        "id": f"batch_req_{n}",
        "custom_id": f"request-{n}",
        "response": {"status_code": status, "request_id": f"req_{n}", "body": body},
        "error": None,
    }


def response_lines(
    tokens: int,
    *,
    seed: int = 0,
    broken: bool = True,
    tokenize: workloads.Tokenizer | None = None,
    sizes: tuple[int, int] = (20, 600),
) -> Iterator[bytes]:
    """JSONL lines (bytes, without newline) of responses holding at least ``tokens`` tokens in all.

    Response ``n`` is a text of ``workloads.LANGUAGES[n % 6]`` of ``sizes`` (20-600) tokens, cut by
    ``tokenize`` (default: the seeded byte splitter, which cuts inside characters), in shape
    ``SHAPES[n % 4]``; with ``broken`` every ``BROKEN_EVERY``-th line is one of ``BROKEN_KINDS``.

    >>> lines = list(response_lines(2000, seed=1))
    >>> len(lines) > 5 and all(isinstance(line, bytes) for line in lines)
    True
    """
    rng = random.Random(seed)
    total = 0
    n = 0
    while total < tokens:
        n += 1
        if broken and n % BROKEN_EVERY == 0:
            yield _broken_line(n, BROKEN_KINDS[(n // BROKEN_EVERY) % len(BROKEN_KINDS)], rng)
            continue
        language = workloads.LANGUAGES[n % len(workloads.LANGUAGES)]
        size = rng.randint(*sizes)
        cut = tokenize or workloads.byte_splitter(seed * 100_003 + n)
        pieces = workloads.prefix(cut(workloads.make_text(language, size, seed=n)), size)
        records = workloads.records(pieces, seed=n)
        text = b"".join(pieces).decode()
        total += len(records)
        shape = SHAPES[n % len(SHAPES)]
        obj: Any
        if shape == "batch_line":
            obj = _batch_line(n, _chat(f"chatcmpl-{n}", text, records))
        elif shape == "chat_completion":
            obj = _chat(f"chatcmpl-{n}", text, records)
        elif shape == "logprobs_object":
            obj = {"content": records, "refusal": None}
        else:
            obj = records
        yield json.dumps(obj, ensure_ascii=False).encode()


def _broken_line(n: int, kind: str, rng: random.Random) -> bytes:
    korean = "대한민국의 수도는 서울입니다."
    records = workloads.records(workloads.byte_splitter(n)(korean), seed=n)
    if kind == "bad_json":
        return json.dumps(records).encode()[: rng.randint(1, 40)]
    if kind == "status_429":
        body = {"error": {"message": "Rate limit reached", "type": "requests"}}
        return json.dumps(_batch_line(n, body, status=429)).encode()
    if kind == "request_error":
        line = {
            "id": f"batch_req_{n}",
            "custom_id": f"request-{n}",
            "response": None,
            "error": {"code": "batch_expired", "message": "This request could not be executed"},
        }
        return json.dumps(line).encode()
    if kind == "no_logprobs":
        return json.dumps(_chat(f"chatcmpl-{n}", korean, None), ensure_ascii=False).encode()
    if kind == "truncated_utf8":  # cut by max_tokens inside 울: the last byte never came
        pieces = [b"\xec\x84\x9c", b"\xec\x9a"]
        return json.dumps(workloads.records(pieces, seed=n)).encode()
    if kind == "not_utf8":
        return b'[{"token": "\xff", "bytes": [255], "logprob": -1.0}]'
    return b"   "  # blank: skipped, not a row


def write_jsonl(path: Path, tokens: int, **options: Any) -> int:
    """Write :func:`response_lines` to ``path``; returns the number of lines."""
    count = 0
    with open(path, "wb") as f:
        for line in response_lines(tokens, **options):
            f.write(line + b"\n")
            count += 1
    return count


def _start_ray(cpus: int) -> float:
    """Start a local Ray as ``tokbytes score --engine ray`` does; returns the seconds it took."""
    import logging

    import ray

    began = time.perf_counter()
    ray.init(
        address="local",
        num_cpus=cpus,
        include_dashboard=False,
        _node_ip_address="127.0.0.1",
        logging_level=logging.ERROR,
        log_to_driver=False,
    )
    return time.perf_counter() - began


def _cpu() -> tuple[float, float]:
    """CPU seconds (user + system) of this process and of its waited-for children."""
    me, kids = (
        resource.getrusage(resource.RUSAGE_SELF),
        resource.getrusage(resource.RUSAGE_CHILDREN),
    )
    return me.ru_utime + me.ru_stime, kids.ru_utime + kids.ru_stime


def _progress(label: str) -> Any:
    last = [0.0]

    def update(s: batch.ScoreSummary) -> None:
        now = time.monotonic()
        if now - last[0] >= 1.0:
            last[0] = now
            print(
                f"  {label}: {s.lines:,} lines, {s.tokens:,} tokens, "
                f"{s.tokens_per_second:,.0f} tokens/s",
                file=sys.stderr,
                flush=True,
            )

    return update


def run(
    tokens: int = DEFAULT_TOKENS,
    *,
    workers: int | None = None,
    ray: bool = True,
    out: Path | None = None,
    tokenizer: str = "auto",
) -> dict[str, Any]:
    """Measure the batch row; returns (and with ``out`` writes as ``batch.json``) the result."""
    cores = workers or batch.available_cores()
    name, tokenize = workloads.tokenizer(tokenizer)
    with tempfile.TemporaryDirectory(prefix="tokbytes-batch-") as folder:
        source = Path(folder) / "responses.jsonl"
        print(f"generating {tokens:,} tokens of responses ({name})...", file=sys.stderr)
        lines = write_jsonl(source, tokens, tokenize=tokenize if name == "cl100k" else None)
        size = source.stat().st_size
        print(f"  {lines:,} lines, {size / 1e6:.1f} MB", file=sys.stderr)
        setups: list[tuple[str, str, int]] = [("local", "local, 1 worker", 1)]
        if cores > 1:
            setups.append(("local", f"local, {cores} workers", cores))
        if ray:
            if importlib.util.find_spec("ray") is None:
                print(
                    "  Ray not installed: no Ray row (pip install 'tokbytes[ray]')", file=sys.stderr
                )
            else:
                setups.append(("ray", f"ray local, {cores} CPUs", cores))
        rows = []
        reference: bytes | None = None
        for engine, label, n in setups:
            target = Path(folder) / f"out-{engine}-{n}.jsonl"
            print(f"{label}...", file=sys.stderr)
            start = _start_ray(n) if engine == "ray" else None
            before = _cpu()
            try:
                summary = batch.score(
                    source,
                    target,
                    workers=n,
                    engine=engine,  # type: ignore[arg-type]
                    progress=_progress(label),
                )
            finally:
                if start is not None:
                    import ray as _ray

                    _ray.shutdown()
            parent, children = (b - a for a, b in zip(before, _cpu()))
            output = target.read_bytes()
            same = reference is None or output == reference
            reference = reference or output
            rows.append(
                {
                    "engine": engine,
                    "label": label,
                    "workers": n,
                    "lines": summary.lines,
                    "failed": summary.failed,
                    "tokens": summary.tokens,
                    "seconds": summary.seconds,
                    "tokens_per_second": summary.tokens_per_second,
                    # CPU seconds of this process and of the pool's workers (Ray's workers are
                    # the raylet's children: not counted); their sum / (seconds x workers) is the
                    # share of the cores the run got, low when other programs use the machine
                    "cpu_main": parent,
                    "cpu_workers": children if engine == "local" else None,
                    "same_output_as_first": same,
                    # Ray is started before the timed run (as a cluster is): its start apart
                    "ray_start_seconds": start,
                }
            )
            print(f"  {summary}", file=sys.stderr)
    base = rows[0]["tokens_per_second"]
    for row in rows:
        row["speedup"] = row["tokens_per_second"] / base if base else None
        row["scaling_efficiency"] = row["speedup"] / row["workers"] if base else None
    result = {
        "tokens": tokens,
        "tokenizer": name,
        "lines": lines,
        "bytes": size,
        "cores": cores,
        "machine": {
            "cpu_count": os.cpu_count(),
            "available_cores": batch.available_cores(),
            "python": platform.python_version(),
            "platform": platform.platform(),
            "load_average": os.getloadavg() if hasattr(os, "getloadavg") else None,
        },
        "rows": rows,
    }
    if out is not None:
        out.mkdir(parents=True, exist_ok=True)
        (out / "batch.json").write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
    return result


def format_table(result: dict[str, Any]) -> str:
    """The result as a table: tokens/s, speed-up and scaling efficiency per setup."""
    lines = [
        f"batch: {result['tokens']:,} tokens in {result['lines']:,} lines "
        f"({result['bytes'] / 1e6:.1f} MB JSONL, {result['tokenizer']}), "
        f"{result['machine']['available_cores']} cores",
        f"{'setup':<24} {'seconds':>8} {'tokens/s':>10} {'speed-up':>9} {'efficiency':>10} "
        f"{'cpu main':>9} {'cpu workers':>11} {'cores got':>9}  same rows",
    ]
    for r in result["rows"]:
        got = None
        if r["cpu_workers"] is not None:
            got = (r["cpu_main"] + r["cpu_workers"]) / r["seconds"]
        lines.append(
            f"{r['label']:<24} {r['seconds']:>8.2f} {r['tokens_per_second']:>10,.0f} "
            f"{r['speedup']:>8.2f}x {r['scaling_efficiency']:>9.0%} "
            f"{r['cpu_main']:>9.2f} {_maybe(r['cpu_workers'], '11.2f')} {_maybe(got, '9.2f')}  "
            f"{'yes' if r['same_output_as_first'] else 'NO'}"
        )
    for r in result["rows"]:
        if r.get("ray_start_seconds") is not None:
            lines.append(f"(starting the local Ray took {r['ray_start_seconds']:.1f} s more)")
    return "\n".join(lines)


def _maybe(value: float | None, spec: str) -> str:
    width = int(spec.split(".")[0])
    return "n/a".rjust(width) if value is None else format(value, spec)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks.batch", description=__doc__.split("\n")[0]
    )
    parser.add_argument("--tokens", type=int, default=DEFAULT_TOKENS, help="tokens in the JSONL")
    parser.add_argument("--workers", type=int, help="N (default: every core)")
    parser.add_argument("--no-ray", action="store_true", help="skip the Ray row")
    parser.add_argument(
        "--tokenizer",
        choices=("auto", "cl100k", "bytes"),
        default="auto",
        help="cl100k (needs ../shared/data), the seeded byte splitter, or auto",
    )
    parser.add_argument("--out", help="folder for batch.json")
    args = parser.parse_args(argv)
    result = run(
        args.tokens,
        workers=args.workers,
        ray=not args.no_ray,
        out=Path(args.out) if args.out else None,
        tokenizer=args.tokenizer,
    )
    print(format_table(result))
    return 0 if all(r["same_output_as_first"] for r in result["rows"]) else 1


if __name__ == "__main__":
    raise SystemExit(main())
