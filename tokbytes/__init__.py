"""tokbytes: exact text and trustworthy text-level scores from LLM token logprobs.

>>> import tokbytes
>>> doc = tokbytes.decode([{"token": "\\\\xec\\\\x9a", "bytes": [236, 154], "logprob": -0.25},
...                        {"token": "\\\\xb8", "bytes": [184], "logprob": -0.5}])
>>> doc.text, doc.chars[0].logprob
('울', -0.75)
"""

from . import batch as batch
from ._speedups import compiled as compiled
from .decoded import Decoded as Decoded
from .decoded import TokenSequence as TokenSequence
from .decoded import decode as decode
from .errors import DecodeError as DecodeError
from .errors import InputError as InputError
from .errors import RangeError as RangeError
from .errors import TokbytesError as TokbytesError
from .json_fields import JsonError as JsonError
from .json_fields import JsonField as JsonField
from .json_fields import field_alternatives as field_alternatives
from .measures import AlternativeText as AlternativeText
from .measures import DocumentSummary as DocumentSummary
from .records import Alternative as Alternative
from .records import Problem as Problem
from .records import Token as Token
from .records import Unit as Unit
from .segmentation import WordSegmenter as WordSegmenter
from .segmentation import word_kinds as word_kinds
from .segmentation import word_spans as word_spans
from .sources import Extracted as Extracted
from .sources import extract as extract
from .stream import StreamDecoder as StreamDecoder
from .stream import astream_units as astream_units
from .stream import stream_units as stream_units
from .units import UnitSequence as UnitSequence

__version__ = "0.1.0"

__all__ = [
    "Alternative",
    "AlternativeText",
    "DecodeError",
    "Decoded",
    "DocumentSummary",
    "Extracted",
    "InputError",
    "JsonError",
    "JsonField",
    "Problem",
    "RangeError",
    "StreamDecoder",
    "TokbytesError",
    "Token",
    "TokenSequence",
    "Unit",
    "UnitSequence",
    "WordSegmenter",
    "__version__",
    "astream_units",
    "compiled",
    "decode",
    "extract",
    "field_alternatives",
    "stream_units",
    "word_kinds",
    "word_spans",
]
