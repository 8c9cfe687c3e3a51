"""batch on Ray Data: the same rows, in the same order, as the local engine.

One local Ray for the module, started here on 127.0.0.1 with this machine's cores (skipped when
Ray is not installed). The input is the generated mix of shapes and broken lines of
``tests/test_batch.py``.
"""

from __future__ import annotations

import json
import logging
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

import tokbytes
from benchmarks.batch import response_lines
from tokbytes import batch


@pytest.fixture(scope="module")
def ray_local() -> Iterator[object]:
    ray = pytest.importorskip("ray", reason='Ray is not installed (pip install "tokbytes[ray]")')
    pytest.importorskip("ray.data", reason="Ray Data is not installed (tokbytes[ray])")
    ray.init(
        address="local",  # a new Ray, never a cluster `ray start` left running
        num_cpus=batch.available_cores(),
        include_dashboard=False,
        _node_ip_address="127.0.0.1",
        logging_level=logging.ERROR,
        log_to_driver=False,
    )
    yield ray
    ray.shutdown()


@pytest.fixture(scope="module")
def inputs(tmp_path_factory: pytest.TempPathFactory) -> list[Path]:
    """Two files (one gzip-compressed) of a few thousand responses, broken lines among them."""
    folder = tmp_path_factory.mktemp("ray")
    lines = []
    for raw in response_lines(10**9, seed=5, sizes=(1, 30)):
        lines.append(raw)
        if len(lines) == 2500:
            break
    lines.insert(3, b'{"broken')
    first, second = folder / "a.jsonl", folder / "b.jsonl.gz"
    first.write_bytes(b"\n".join(lines[:1500]) + b"\n")
    import gzip

    second.write_bytes(gzip.compress(b"\n".join(lines[1500:]) + b"\n"))
    return [first, second]


@pytest.mark.parametrize("level", ["response", "word"])
def test_ray_rows_equal_the_local_rows(
    ray_local: object, inputs: list[Path], tmp_path: Path, level: str
) -> None:
    local = batch.score(inputs, tmp_path / "local.jsonl", workers=1, level=level)  # type: ignore[arg-type]
    on_ray = batch.score(inputs, tmp_path / "ray.jsonl", engine="ray", level=level)  # type: ignore[arg-type]
    assert (tmp_path / "ray.jsonl").read_bytes() == (tmp_path / "local.jsonl").read_bytes()
    assert (on_ray.lines, on_ray.failed, on_ray.rows, on_ray.tokens) == (
        local.lines,
        local.failed,
        local.rows,
        local.tokens,
    )
    assert local.failed > 0 and local.lines >= 2400
    rows = [json.loads(line) for line in (tmp_path / "ray.jsonl").open(encoding="utf-8")]
    assert rows[0]["source"] == f"{inputs[0]}:1" and rows[-1]["source"].startswith(str(inputs[1]))


def test_ray_writes_one_parquet_file_with_the_local_rows(
    ray_local: object, inputs: list[Path], tmp_path: Path
) -> None:
    pq = pytest.importorskip("pyarrow.parquet", reason="Parquet needs pyarrow (tokbytes[arrow])")
    batch.score(inputs, tmp_path / "local.parquet", workers=2)
    batch.score(inputs, tmp_path / "ray.parquet", engine="ray")
    assert (tmp_path / "ray.parquet").is_file()
    assert pq.read_table(tmp_path / "ray.parquet").equals(pq.read_table(tmp_path / "local.parquet"))
    assert sorted(p.name for p in tmp_path.iterdir()) == ["local.parquet", "ray.parquet"]


def test_ray_strict_stops_at_the_first_bad_line(
    ray_local: object, inputs: list[Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(inputs[0].parent)  # relative names: the sources use them as given
    with pytest.raises(batch.ScoreError) as caught:
        batch.score(["a.jsonl", "b.jsonl.gz"], tmp_path / "o.jsonl", engine="ray", strict=True)
    assert caught.value.source == "a.jsonl:4" and "invalid JSON" in str(caught.value)
    assert not list(tmp_path.iterdir())


def test_ray_reads_files_not_stdin(tmp_path: Path) -> None:
    with pytest.raises(tokbytes.InputError, match="stdin"):
        batch.score("-", tmp_path / "o.jsonl", engine="ray")


def test_without_ray_the_error_names_the_extra(
    monkeypatch: pytest.MonkeyPatch, inputs: list[Path], tmp_path: Path
) -> None:
    monkeypatch.setitem(sys.modules, "ray", None)
    with pytest.raises(ImportError, match=r'pip install "tokbytes\[ray\]"'):
        batch.score(inputs, tmp_path / "o.jsonl", engine="ray")
    assert not list(tmp_path.iterdir())


def test_cli_without_ray_says_what_to_install(inputs: list[Path], tmp_path: Path) -> None:
    code = (
        "import sys; sys.modules['ray'] = None; from tokbytes.cli import main; "
        "sys.exit(main(sys.argv[1:]))"
    )
    target = tmp_path / "o.jsonl"
    run = subprocess.run(
        [sys.executable, "-c", code, "score", str(inputs[0]), "-o", str(target), "--engine", "ray"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert run.returncode == 2
    assert run.stderr == (
        'tokbytes: error: the Ray engine needs Ray Data: pip install "tokbytes[ray]" (or use the '
        "local engine, which uses every core of this machine)\n"
    )
    assert not target.exists()


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def test_cli_joins_a_running_cluster_at_address(
    ray_local: object, inputs: list[Path], tmp_path: Path
) -> None:
    """A real one-node cluster (``ray start --head`` on 127.0.0.1, token auth off for loopback),
    joined by the console script with ``--address``: the same file as the local engine."""
    ray_cli = Path(sys.executable).with_name("ray")
    if not ray_cli.exists():
        pytest.skip("the 'ray' command is not beside this Python")
    port = _free_port()
    env = {**os.environ, "RAY_AUTH_MODE": "disabled", "PYTHONIOENCODING": "utf-8"}
    head = subprocess.Popen(
        [
            str(ray_cli),
            "start",
            "--head",
            "--block",
            f"--port={port}",
            "--num-cpus=1",
            "--node-ip-address=127.0.0.1",
            "--include-dashboard=false",
            "--disable-usage-stats",
        ],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,  # its own process group: stopped as a whole below
    )
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                assert time.monotonic() < deadline and head.poll() is None, "no cluster"
                time.sleep(0.5)
        target = tmp_path / "cluster.jsonl"
        run = subprocess.run(
            [
                sys.executable,
                "-m",
                "tokbytes",
                "score",
                str(inputs[0]),
                "-o",
                str(target),
                "--engine",
                "ray",
                "--address",
                f"127.0.0.1:{port}",
                "--quiet",
            ],
            env=env,
            capture_output=True,
            text=True,
            timeout=300,
        )
        assert run.returncode == 0, run.stderr
    finally:
        os.killpg(head.pid, signal.SIGTERM)
        try:
            head.wait(timeout=10)
        except subprocess.TimeoutExpired:  # its graceful stop can take a minute: not needed here
            os.killpg(head.pid, signal.SIGKILL)  # (its actors exit once the raylet is gone)
            head.wait(timeout=30)
    batch.score(inputs[0], tmp_path / "local.jsonl", workers=1)
    assert target.read_bytes() == (tmp_path / "local.jsonl").read_bytes()
