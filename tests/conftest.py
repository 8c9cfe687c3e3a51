"""Shared fixtures: Hypothesis profiles, the loopback OpenAI-compatible server, its samples."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import hypothesis_profile  # noqa: F401  (registers and loads the Hypothesis profiles)
import pytest
from openai_server import OpenAIServer, load_samples


@pytest.fixture(scope="session")
def openai_server() -> Iterator[OpenAIServer]:
    """A real HTTP server on 127.0.0.1 speaking OpenAI's chat completions API."""
    with OpenAIServer() as server:
        yield server


@pytest.fixture(scope="session")
def cl100k_samples() -> dict[str, dict[str, Any]]:
    """The committed cl100k-tokenized answers the server serves."""
    return load_samples()
