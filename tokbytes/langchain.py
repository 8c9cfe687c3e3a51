"""LangChain integration: finished units with scores while a chat model streams.

The only tokbytes module that imports LangChain (``pip install "tokbytes[langchain]"``).
Decoding a finished message needs nothing from here: ``tokbytes.decode(msg)`` reads
``msg.response_metadata["logprobs"]``. This module adds a callback handler for live UIs::

    from langchain_openai import ChatOpenAI
    from tokbytes.langchain import TokbytesCallbackHandler

    handler = TokbytesCallbackHandler("word", on_unit=lambda run_id, word: print(word.text, word.prob))
    llm = ChatOpenAI(model="gpt-4o-mini", streaming=True).bind(logprobs=True)
    llm.invoke("대한민국의 수도는?", config={"callbacks": [handler]})

LangChain calls ``on_llm_new_token(token, chunk=ChatGenerationChunk)`` for every streamed chunk;
the chunk's ``generation_info["logprobs"]`` holds that chunk's token records. The handler feeds
them to one :class:`~tokbytes.StreamDecoder` per run (so ``batch`` runs never mix) and closes it
at ``on_llm_end``. Notes from langchain-openai 1.x: put ``logprobs=True`` in the ``ChatOpenAI``
constructor when using ``with_structured_output`` (a ``.bind`` is dropped there); with the
Responses API LangChain drops the logprobs, so decode the raw OpenAI response instead.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any
from uuid import UUID

try:
    from langchain_core.callbacks import BaseCallbackHandler
except ImportError as exc:  # pragma: no cover - exercised only without the extra
    raise ImportError(
        'tokbytes.langchain needs LangChain: pip install "tokbytes[langchain]"'
    ) from exc

from .alignment import Errors
from .records import Unit
from .stream import StreamDecoder
from .units import Attribution, Level

__all__ = ["TokbytesCallbackHandler"]

UnitCallback = Callable[[UUID, Unit], None]


class TokbytesCallbackHandler(BaseCallbackHandler):
    """Streams finished characters, graphemes or words (with scores) out of LangChain runs.

    ``on_unit(run_id, unit)`` is called for each unit as soon as it is final; every unit is also
    kept in :attr:`units` (per run id). ``errors`` and ``attribution`` mean what they mean for
    :func:`tokbytes.decode`; the units equal ``tokbytes.decode(message).words`` (or chars,
    graphemes) of the finished message.
    """

    raise_error = True  # a decoding error must surface, not be logged and skipped

    def __init__(
        self,
        level: Level = "word",
        *,
        on_unit: UnitCallback | None = None,
        errors: Errors = "strict",
        attribution: Attribution = "cover",
    ) -> None:
        super().__init__()
        self.level: Level = level
        self.errors: Errors = errors
        self.attribution: Attribution = attribution
        self.on_unit = on_unit
        #: Units emitted so far, per LangChain run id, in order.
        self.units: dict[UUID, list[Unit]] = {}
        self._decoders: dict[UUID, StreamDecoder] = {}
        StreamDecoder(level, errors=errors, attribution=attribution)  # validate options now

    # -- run lifecycle -----------------------------------------------------------------------------

    def _decoder(self, run_id: UUID) -> StreamDecoder:
        decoder = self._decoders.get(run_id)
        if decoder is None:
            decoder = StreamDecoder(self.level, errors=self.errors, attribution=self.attribution)
            self._decoders[run_id] = decoder
            self.units.setdefault(run_id, [])
        return decoder

    def _emit(self, run_id: UUID, units: list[Unit]) -> None:
        self.units.setdefault(run_id, []).extend(units)
        if self.on_unit is not None:
            for unit in units:
                self.on_unit(run_id, unit)

    def on_chat_model_start(
        self, serialized: Any, messages: Any, *, run_id: UUID, **kwargs: Any
    ) -> None:
        self._decoder(run_id)

    def on_llm_start(self, serialized: Any, prompts: Any, *, run_id: UUID, **kwargs: Any) -> None:
        self._decoder(run_id)

    def on_llm_new_token(
        self,
        token: str | list[str | dict[str, Any]],
        *,
        chunk: Any = None,
        run_id: UUID,
        parent_run_id: UUID | None = None,
        tags: list[str] | None = None,
        **kwargs: Any,
    ) -> None:
        """Feed the records this chunk carries (``chunk.generation_info["logprobs"]``)."""
        records: Any = kwargs.get("logprobs")
        if records is None and chunk is not None:
            info = getattr(chunk, "generation_info", None) or {}
            records = info.get("logprobs")
        if not records:
            return
        if isinstance(records, dict):
            records = records.get("content") or []
        self._emit(run_id, self._decoder(run_id).feed(list(records)))

    def on_llm_end(self, response: Any, *, run_id: UUID, **kwargs: Any) -> None:
        decoder = self._decoders.pop(run_id, None)
        if decoder is not None:
            self._emit(run_id, decoder.close())

    def on_llm_error(self, error: BaseException, *, run_id: UUID, **kwargs: Any) -> None:
        self._decoders.pop(run_id, None)

    # -- reading -----------------------------------------------------------------------------------

    def text(self, run_id: UUID | None = None) -> str:
        """The text of the units of a run (the only or the last run when ``run_id`` is None)."""
        if not self.units:
            return ""
        key = run_id if run_id is not None else list(self.units)[-1]
        units = self.units.get(key, [])
        if self.level == "word":
            raise ValueError("word units leave out whitespace: use level='char' for the text")
        return "".join(u.text for u in units)
