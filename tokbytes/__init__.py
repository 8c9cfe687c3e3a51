"""tokbytes: exact text and trustworthy text-level scores from LLM token logprobs.

>>> import tokbytes
>>> doc = tokbytes.decode([{"token": "\\\\xec\\\\x9a", "bytes": [236, 154], "logprob": -0.25},
...                        {"token": "\\\\xb8", "bytes": [184], "logprob": -0.5}])
>>> doc.text, doc.chars[0].logprob
('울', -0.75)
"""

from . import batch as batch
from .decoded import Decoded as Decoded
from .decoded import TokenSequence as TokenSequence
from .decoded import decode as decode
from .errors import DecodeError as DecodeError
from .errors import InputError as InputError
from .errors import TokbytesError as TokbytesError
from .json_fields import JsonError as JsonError
from .json_fields import JsonField as JsonField
from .json_fields import field_alternatives as field_alternatives
from .records import Alternative as Alternative
from .records import Problem as Problem
from .records import Token as Token
from .records import Unit as Unit
from .sources import Extracted as Extracted
from .sources import extract as extract
from .stream import StreamDecoder as StreamDecoder
from .stream import astream_units as astream_units
from .stream import stream_units as stream_units
from .units import UnitSequence as UnitSequence

__version__ = "0.1.0"

__all__ = [
    "Alternative",
    "DecodeError",
    "Decoded",
    "Extracted",
    "InputError",
    "JsonError",
    "JsonField",
    "Problem",
    "StreamDecoder",
    "TokbytesError",
    "Token",
    "TokenSequence",
    "Unit",
    "UnitSequence",
    "__version__",
    "astream_units",
    "decode",
    "extract",
    "field_alternatives",
    "stream_units",
]
