"""A real OpenAI-compatible HTTP server on 127.0.0.1 for the end-to-end tests.

It serves ``POST /v1/chat/completions`` in OpenAI's wire format, with ``logprobs``,
``top_logprobs``, ``n`` and ``stream`` (SSE, chunks of 1-4 tokens whose ``delta.content`` holds
back incomplete characters as real servers do), from the cl100k-tokenized answers in
``tests/data/cl100k_samples.json``. The reply is chosen by the last user message: a sample name
(``"korean"``), or several separated by ``|`` for the choices of ``n > 1``; any other message gets
``default``. The real ``openai`` client and LangChain's ``ChatOpenAI`` talk to it over a socket;
nothing is mocked.

    with OpenAIServer() as server:
        client = openai.OpenAI(base_url=server.base_url, api_key="test")
"""

from __future__ import annotations

import codecs
import json
import random
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

SAMPLES_PATH = Path(__file__).resolve().parent / "data" / "cl100k_samples.json"
MODEL = "gpt-4o-mini-loopback"


def load_samples() -> dict[str, dict[str, Any]]:
    """``{name: {"text": str, "tokens": [token record, ...]}}`` (the committed fixture)."""
    return json.loads(SAMPLES_PATH.read_text(encoding="utf-8"))  # type: ignore[no-any-return]


class OpenAIServer:
    """The loopback server; a context manager that starts and stops it (port chosen by the OS)."""

    def __init__(self, *, default: str = "korean", seed: int = 7) -> None:
        self.samples = load_samples()
        self.default = default
        self.seed = seed
        #: Every request body received, in order (what the client really sent).
        self.requests: list[dict[str, Any]] = []
        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), _handler_for(self))
        self._httpd.daemon_threads = True
        self._thread = threading.Thread(target=self._httpd.serve_forever, daemon=True)

    @property
    def base_url(self) -> str:
        host, port = self._httpd.server_address[:2]
        return f"http://{host}:{port}/v1"

    def start(self) -> OpenAIServer:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()
        self._thread.join(timeout=5)

    def __enter__(self) -> OpenAIServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # -- replies ---------------------------------------------------------------------------------

    def choose(self, body: dict[str, Any]) -> list[str]:
        """Sample names for the ``n`` choices of a request."""
        messages = body.get("messages") or []
        last = next((m for m in reversed(messages) if m.get("role") == "user"), {})
        content = last.get("content")
        if isinstance(content, list):  # content parts
            content = " ".join(p.get("text", "") for p in content if isinstance(p, dict))
        names = [n.strip() for n in str(content or "").split("|")]
        names = [n if n in self.samples else self.default for n in names] or [self.default]
        count = int(body.get("n") or 1)
        return [names[i % len(names)] for i in range(count)]

    def token_records(self, name: str, top_logprobs: int) -> list[dict[str, Any]]:
        records = []
        for token in self.samples[name]["tokens"]:
            record = dict(token)
            alternatives = token["top_logprobs"]
            record["top_logprobs"] = [dict(a) for a in alternatives[:top_logprobs]]
            records.append(record)
        return records

    def completion(self, body: dict[str, Any]) -> dict[str, Any]:
        choices = []
        for index, name in enumerate(self.choose(body)):
            logprobs = None
            if body.get("logprobs"):
                tokens = self.token_records(name, int(body.get("top_logprobs") or 0))
                logprobs = {"content": tokens, "refusal": None}
            choices.append(
                {
                    "index": index,
                    "message": {
                        "role": "assistant",
                        "content": self.samples[name]["text"],
                        "refusal": None,
                        "annotations": [],
                    },
                    "logprobs": logprobs,
                    "finish_reason": "stop",
                }
            )
        completion_tokens = sum(len(self.samples[n]["tokens"]) for n in self.choose(body))
        return {
            "id": "chatcmpl-loopback",
            "object": "chat.completion",
            "created": 1763769600,
            "model": MODEL,
            "system_fingerprint": "fp_loopback",
            "choices": choices,
            "usage": {
                "prompt_tokens": 9,
                "completion_tokens": completion_tokens,
                "total_tokens": 9 + completion_tokens,
            },
        }

    def chunks(self, body: dict[str, Any]) -> list[dict[str, Any]]:
        """The stream as chunk dicts: role chunk, content chunks, finish chunk(s), usage chunk."""
        rng = random.Random(self.seed)
        want_logprobs = bool(body.get("logprobs"))
        top = int(body.get("top_logprobs") or 0)
        names = self.choose(body)
        base = {
            "id": "chatcmpl-loopback",
            "object": "chat.completion.chunk",
            "created": 1763769600,
            "model": MODEL,
            "system_fingerprint": "fp_loopback",
        }

        def chunk(
            index: int, delta: dict[str, Any], tokens: list[Any] | None, finish: str | None = None
        ) -> dict[str, Any]:
            logprobs = {"content": tokens, "refusal": None} if tokens is not None else None
            return {
                **base,
                "choices": [
                    {"index": index, "delta": delta, "logprobs": logprobs, "finish_reason": finish}
                ],
            }

        out = [
            chunk(
                i,
                {"role": "assistant", "content": "", "refusal": None},
                [] if want_logprobs else None,
            )
            for i in range(len(names))
        ]
        streams = []
        for index, name in enumerate(names):
            records = self.token_records(name, top)
            pieces, position = [], 0
            decoder = codecs.getincrementaldecoder("utf-8")()
            while position < len(records):
                size = rng.randint(1, 4)
                batch = records[position : position + size]
                position += size
                # Only completed characters go into delta.content: a chunk may carry "" while
                # its logprobs hold the first bytes of a character.
                text = decoder.decode(b"".join(bytes(r["bytes"]) for r in batch))
                pieces.append(chunk(index, {"content": text}, batch if want_logprobs else None))
            streams.append(pieces)
        while any(streams):  # interleave the choices, as OpenAI does for n > 1
            for pieces in streams:
                if pieces:
                    out.append(pieces.pop(0))
        out += [chunk(i, {}, None, "stop") for i in range(len(names))]
        if (body.get("stream_options") or {}).get("include_usage"):
            total = sum(len(self.samples[n]["tokens"]) for n in names)
            out.append(
                {
                    **base,
                    "choices": [],
                    "usage": {
                        "prompt_tokens": 9,
                        "completion_tokens": total,
                        "total_tokens": 9 + total,
                    },
                }
            )
        return out


def _handler_for(server: OpenAIServer) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, format: str, *args: Any) -> None:  # quiet test output
            return

        def _send_json(self, status: int, payload: Any) -> None:
            data = json.dumps(payload, ensure_ascii=False).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def do_GET(self) -> None:
            if self.path.rstrip("/").endswith("/models"):
                self._send_json(
                    200,
                    {
                        "object": "list",
                        "data": [
                            {
                                "id": MODEL,
                                "object": "model",
                                "created": 0,
                                "owned_by": "tokbytes-tests",
                            }
                        ],
                    },
                )
            else:
                self._send_json(404, {"error": {"message": f"no route {self.path}"}})

        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            try:
                body = json.loads(self.rfile.read(length) or b"{}")
            except json.JSONDecodeError as exc:
                self._send_json(400, {"error": {"message": f"bad JSON: {exc}"}})
                return
            server.requests.append(body)
            if not self.path.rstrip("/").endswith("/chat/completions"):
                self._send_json(404, {"error": {"message": f"no route {self.path}"}})
                return
            if not body.get("stream"):
                self._send_json(200, server.completion(body))
                return
            self.send_response(200)
            self.send_header("Content-Type", "text/event-stream")
            self.send_header("Cache-Control", "no-cache")
            self.send_header("Connection", "close")
            self.end_headers()
            for item in server.chunks(body):
                self.wfile.write(
                    b"data: " + json.dumps(item, ensure_ascii=False).encode() + b"\n\n"
                )
                self.wfile.flush()
            self.wfile.write(b"data: [DONE]\n\n")
            self.wfile.flush()
            self.close_connection = True

    return Handler
