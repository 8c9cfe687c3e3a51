"""Shared fixtures: Hypothesis profiles, the loopback OpenAI-compatible server, its samples."""

from __future__ import annotations

import os
from collections.abc import Iterator
from typing import Any

import hypothesis_profile  # noqa: F401  (registers and loads the Hypothesis profiles)
import pytest
from openai_server import OpenAIServer, load_samples

from tokbytes.segmentation import UAX29_CONFORMANT

if not UAX29_CONFORMANT:
    # Python 3.10's regex: the CLI run as a subprocess would add its one-line warning to the
    # stderr the CLI tests read line by line. The warning itself is tested in-process
    # (test_segmentation: test_cli_and_batch_say_the_regex_warning_once).
    os.environ["PYTHONWARNINGS"] = "ignore:regex:UserWarning"


@pytest.fixture(scope="session")
def openai_server() -> Iterator[OpenAIServer]:
    """A real HTTP server on 127.0.0.1 speaking OpenAI's chat completions API."""
    with OpenAIServer() as server:
        yield server


@pytest.fixture(scope="session")
def cl100k_samples() -> dict[str, dict[str, Any]]:
    """The committed cl100k-tokenized answers the server serves."""
    return load_samples()
