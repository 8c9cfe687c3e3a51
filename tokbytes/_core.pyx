# cython: language_level=3, boundscheck=False, wraparound=False, initializedcheck=False
# cython: cdivision=True, embedsignature=True
"""The compiled core: the common case of ``alignment.py`` and ``units.py`` in C.

The Python modules are the reference and stay complete; they call in here through a narrow
interface and do the work themselves whenever the core answers None ("not mine"): records that
are not plain dicts or objects with a list of ints (or ``bytes``) and a float logprob, tokens with
no bytes, logprobs that are not floats or need an error message, invalid UTF-8, recovered bytes.
What the core does take it computes with the same expressions in the same order, so results are
identical, floats bit for bit (``tests/test_core.py`` proves it against the pure path):

* a unit's cover score is its one token's logprob, or ``0.0 + lp[first] + ... + lp[last]`` left
  to right in token order when several tokens carry it (the summation rule, see
  ``docs/design.md``);
* a split score is ``0.0 + lp[j] * share / whole + ...`` over the same tokens, left to right.
"""

from cpython.array cimport array, clone, resize, resize_smart
from cpython.bytearray cimport PyByteArray_AS_STRING, PyByteArray_GET_SIZE, PyByteArray_Resize
from cpython.bytes cimport PyBytes_AS_STRING, PyBytes_FromStringAndSize, PyBytes_GET_SIZE
from cpython.dict cimport PyDict_GetItem
from cpython.float cimport PyFloat_AS_DOUBLE, PyFloat_FromDouble
from cpython.list cimport PyList_Append, PyList_New, PyList_SET_ITEM
from cpython.long cimport PyLong_FromLongLong, PyLong_FromSsize_t
from cpython.object cimport Py_TYPE, PyObject, PyTypeObject
from cpython.ref cimport Py_DECREF, Py_INCREF
from cpython.tuple cimport PyTuple_New, PyTuple_SET_ITEM
from libc.stdlib cimport free, malloc, realloc
from libc.string cimport memchr, memcmp, memcpy, memmove

from array import array as _make_array

from .records import Unit

cdef extern from "Python.h":
    Py_ssize_t PyList_GET_SIZE(object)
    long PyLong_AsLongAndOverflow(object, int*) except? -1
    PyObject* PyList_GET_ITEM(object, Py_ssize_t)
    Py_ssize_t PyTuple_GET_SIZE(object)
    PyObject* PyTuple_GET_ITEM(object, Py_ssize_t)
    object PyUnicode_Substring(object, Py_ssize_t, Py_ssize_t)
    object PyUnicode_FromOrdinal(int)
    Py_UCS4 PyUnicode_READ_CHAR(object, Py_ssize_t)
    Py_ssize_t PyUnicode_GET_LENGTH(object)
    bint PyUnicode_IS_ASCII(object)
    void* PyUnicode_DATA(object)
    bint Py_UNICODE_ISSPACE(Py_UCS4)
    Py_UCS4 Py_UNICODE_TOLOWER(Py_UCS4)
    object PyUnicode_FromKindAndData(int, const void*, Py_ssize_t)
    object PyUnicode_DecodeUTF8(const char*, Py_ssize_t, const char*)
    Py_ssize_t PyUnicode_FindChar(object, Py_UCS4, Py_ssize_t, Py_ssize_t, int) except -2
    void PyObject_GC_UnTrack(void*)
    int PyObject_GC_IsTracked(object)
    int PY_VERSION_HEX
    int PyList_SetSlice(object, Py_ssize_t, Py_ssize_t, PyObject*) except -1
    void Py_SET_SIZE(object, Py_ssize_t)
    PyObject* PyDict_GetItemWithError(object, object) except? NULL

#: Same as ``alignment.LOGPROB_TOLERANCE``: above it a logprob needs the Python path's error.
cdef double LOGPROB_TOLERANCE = 1e-6

cdef array _Q = _make_array("q")
cdef array _D = _make_array("d")
cdef object _tuple_new = tuple.__new__
cdef PyTypeObject* _UNIT = <PyTypeObject*>Unit
# Python 3.14 caches a tuple's hash in the object; a tuple made by PyType_GenericAlloc would
# start with a wrong cache, so from 3.14 on units are made through tuple.__new__.
cdef bint _GENERIC_ALLOC = PY_VERSION_HEX < 0x030E0000
# The one-character ASCII strings (the interpreter's own, as PyUnicode_FromOrdinal gives them)
cdef list _ASCII_STRS = [chr(code) for code in range(128)]


cdef inline object _char_str(Py_UCS4 code):
    """``chr(code)``, without a call for ASCII."""
    if code < 128:
        return <object>PyList_GET_ITEM(_ASCII_STRS, code)
    return PyUnicode_FromOrdinal(code)


# -- reading records ---------------------------------------------------------------------------


cdef inline Py_ssize_t _append_bytes(object raw, char** out, Py_ssize_t* size, Py_ssize_t* cap):
    """Append a token's bytes (a list or tuple of ints 0-255, or ``bytes``); -1: not mine."""
    cdef Py_ssize_t k, m
    cdef long v
    cdef int overflow
    cdef PyObject* item
    cdef bint is_list = type(raw) is list
    if is_list or type(raw) is tuple:
        m = PyList_GET_SIZE(raw) if is_list else PyTuple_GET_SIZE(raw)
    elif type(raw) is bytes:
        m = PyBytes_GET_SIZE(raw)
    else:
        return -1
    if m == 0:  # a token with no bytes: the Python path records the problem
        return -1
    if size[0] + m > cap[0]:
        cap[0] = 2 * (size[0] + m) + 64
        grown = <char*>realloc(out[0], cap[0])
        if grown == NULL:
            raise MemoryError()
        out[0] = grown
    if type(raw) is bytes:
        memcpy(out[0] + size[0], PyBytes_AS_STRING(raw), m)
    else:
        for k in range(m):
            item = PyList_GET_ITEM(raw, k) if is_list else PyTuple_GET_ITEM(raw, k)
            if type(<object>item) is not int:  # bools, floats, strings: the Python path says so
                return -1
            v = PyLong_AsLongAndOverflow(<object>item, &overflow)  # no error for huge ints
            if v < 0 or v > 255:
                return -1
            out[0][size[0] + k] = <char>v
    size[0] += m
    return m


def read_records(records):
    """``(buffer, token_ends, logprobs)`` of token records, or None when they are not plain.

    ``buffer`` is every token's bytes joined, ``token_ends`` an ``array("q")`` of the offset just
    past each token, ``logprobs`` a list of the records' own float objects. Plain records are
    dicts (exactly ``dict``) or objects with attributes, whose ``bytes`` is a non-empty list or
    tuple of ints 0-255 (or ``bytes``) and whose ``logprob`` is a float, not NaN, <= 1e-6.
    """
    if type(records) is not list and type(records) is not tuple:
        return None
    cdef Py_ssize_t n = len(records), i
    if n == 0:
        return None
    cdef array ends = clone(_Q, n, False)
    cdef long long* e = ends.data.as_longlongs
    cdef list logprobs = PyList_New(n)
    cdef PyObject* found
    cdef object record, raw, logprob
    cdef double value
    cdef Py_ssize_t size = 0, cap = 8 * n + 64
    cdef char* out = <char*>malloc(cap)
    if out == NULL:
        raise MemoryError()
    try:
        for i in range(n):
            record = records[i]
            if type(record) is dict:
                found = PyDict_GetItem(record, "bytes")
                if found == NULL:
                    return None
                raw = <object>found
                found = PyDict_GetItem(record, "logprob")
                if found == NULL:
                    return None
                logprob = <object>found
            elif isinstance(record, (dict, str, bytes, int, float, list, tuple)) or record is None:
                return None  # mappings and non-records: the Python path reads or rejects them
            else:
                raw = getattr(record, "bytes", None)
                logprob = getattr(record, "logprob", None)
            if type(logprob) is not float:  # ints stay ints in the Python path; None is an error
                return None
            value = PyFloat_AS_DOUBLE(logprob)
            if value != value or value > LOGPROB_TOLERANCE:
                return None
            if _append_bytes(raw, &out, &size, &cap) < 0:
                return None
            e[i] = size
            Py_INCREF(logprob)
            PyList_SET_ITEM(logprobs, i, logprob)
        buffer = PyBytes_FromStringAndSize(out, size)
    finally:
        free(out)
    return buffer, ends, logprobs


def char_starts(bytes buffer):
    """``array("q")`` of the byte offsets where characters of valid UTF-8 start, plus the length."""
    cdef const unsigned char* data = <const unsigned char*>PyBytes_AS_STRING(buffer)
    cdef Py_ssize_t size = PyBytes_GET_SIZE(buffer), b, count = 0
    for b in range(size):
        count += (data[b] & 0xC0) != 0x80
    cdef array out = clone(_Q, count + 1, False)
    cdef long long* o = out.data.as_longlongs
    count = 0
    for b in range(size):
        if (data[b] & 0xC0) != 0x80:
            o[count] = b
            count += 1
    o[count] = size
    return out


def left_sum(values):
    """``0.0 + values[0] + values[1] + ...``, left to right (a list of floats), or None."""
    cdef double total = 0.0
    cdef Py_ssize_t i, n
    if type(values) is not list:
        return None
    n = PyList_GET_SIZE(values)
    for i in range(n):
        if type(<object>PyList_GET_ITEM(values, i)) is not float:
            return None
    for i in range(n):
        total += PyFloat_AS_DOUBLE(<object>PyList_GET_ITEM(values, i))
    return total


def word_ranges(list pieces):
    """``(starts, ends)`` (``array("q")``) of the pieces holding a non-whitespace character,
    each trimmed of the whitespace at its edges.

    ``pieces`` is the text split at its word boundaries (``units.word_ranges`` does the same
    with ``accumulate``, ``compress`` and ``str.strip``: ``segmentation._words_of_pieces``).
    """
    cdef Py_ssize_t n = PyList_GET_SIZE(pieces), i, k, last, size, offset = 0, count = 0
    cdef array starts = clone(_Q, n, False), ends = clone(_Q, n, False)
    cdef object piece
    for i in range(n):
        piece = <object>PyList_GET_ITEM(pieces, i)
        size = PyUnicode_GET_LENGTH(piece)
        for k in range(size):
            if not Py_UNICODE_ISSPACE(PyUnicode_READ_CHAR(piece, k)):
                last = size - 1
                while Py_UNICODE_ISSPACE(PyUnicode_READ_CHAR(piece, last)):
                    last -= 1
                # a word is its segment trimmed of edge whitespace (str.strip)
                starts.data.as_longlongs[count] = offset + k
                ends.data.as_longlongs[count] = offset + last + 1
                count += 1
                break
        offset += size
    resize(starts, count)
    resize(ends, count)
    return starts, ends


# -- UAX #29 words of ASCII text ----------------------------------------------------------------

# Word_Break classes of the ASCII characters (regex's \p{WB=...}; tests/test_core.py checks the
# table against regex): everything else is Other.
cdef enum:
    AWB_OTHER, AWB_LETTER, AWB_NUMERIC, AWB_MID_LETTER, AWB_MID_NUM_LET, AWB_SINGLE_QUOTE,
    AWB_MID_NUM, AWB_EXTEND_NUM_LET, AWB_SPACE, AWB_CR, AWB_LF, AWB_NEWLINE

cdef unsigned char _WB[128]


cdef void _fill_word_classes() noexcept:
    cdef int c
    for c in range(128):
        _WB[c] = AWB_OTHER
    for c in range(ord("A"), ord("Z") + 1):
        _WB[c] = AWB_LETTER
        _WB[c + 32] = AWB_LETTER
    for c in range(ord("0"), ord("9") + 1):
        _WB[c] = AWB_NUMERIC
    _WB[ord(":")] = AWB_MID_LETTER
    _WB[ord(".")] = AWB_MID_NUM_LET
    _WB[ord("'")] = AWB_SINGLE_QUOTE
    _WB[ord(",")] = AWB_MID_NUM
    _WB[ord(";")] = AWB_MID_NUM
    _WB[ord("_")] = AWB_EXTEND_NUM_LET
    _WB[ord(" ")] = AWB_SPACE
    _WB[13] = AWB_CR
    _WB[10] = AWB_LF
    _WB[11] = AWB_NEWLINE
    _WB[12] = AWB_NEWLINE


_fill_word_classes()


def ascii_word_classes():
    """The Word_Break class the core gives each ASCII character (for the tests)."""
    names = ("Other", "ALetter", "Numeric", "MidLetter", "MidNumLet", "Single_Quote", "MidNum",
             "ExtendNumLet", "WSegSpace", "CR", "LF", "Newline")
    return [names[_WB[c]] for c in range(128)]


cdef inline bint _mid_letter(unsigned char k) noexcept:  # (MidLetter | MidNumLetQ)
    return k == AWB_MID_LETTER or k == AWB_MID_NUM_LET or k == AWB_SINGLE_QUOTE


cdef inline bint _mid_num(unsigned char k) noexcept:  # (MidNum | MidNumLetQ)
    return k == AWB_MID_NUM or k == AWB_MID_NUM_LET or k == AWB_SINGLE_QUOTE


cdef inline bint _ascii_word_break(const unsigned char* c, Py_ssize_t i, Py_ssize_t n) noexcept:
    """Whether UAX #29 puts a word boundary between ``c[i - 1]`` and ``c[i]`` (0 < i < n) of
    ASCII text: the rules WB3-WB13b that ASCII characters can meet (no Extend, Format, ZWJ,
    Hebrew letters, Katakana or regional indicators, so WB4 never applies)."""
    cdef unsigned char before = _WB[c[i - 1]], after = _WB[c[i]]
    cdef unsigned char before2 = _WB[c[i - 2]] if i >= 2 else AWB_OTHER
    cdef unsigned char after2 = _WB[c[i + 1]] if i + 1 < n else AWB_OTHER
    if before == AWB_CR and after == AWB_LF:  # WB3
        return False
    if before == AWB_CR or before == AWB_LF or before == AWB_NEWLINE:  # WB3a
        return True
    if after == AWB_CR or after == AWB_LF or after == AWB_NEWLINE:  # WB3b
        return True
    if before == AWB_SPACE and after == AWB_SPACE:  # WB3d
        return False
    if before == AWB_LETTER:
        if after == AWB_LETTER or after == AWB_NUMERIC or after == AWB_EXTEND_NUM_LET:  # WB5, 9, 13a
            return False
        if _mid_letter(after) and after2 == AWB_LETTER:  # WB6
            return False
        return True
    if before == AWB_NUMERIC:
        if after == AWB_NUMERIC or after == AWB_LETTER or after == AWB_EXTEND_NUM_LET:  # WB8, 10, 13a
            return False
        if _mid_num(after) and after2 == AWB_NUMERIC:  # WB12
            return False
        return True
    if before == AWB_EXTEND_NUM_LET:  # WB13a, WB13b
        return not (after == AWB_EXTEND_NUM_LET or after == AWB_LETTER or after == AWB_NUMERIC)
    if _mid_letter(before) and after == AWB_LETTER and before2 == AWB_LETTER:  # WB7
        return False
    if _mid_num(before) and after == AWB_NUMERIC and before2 == AWB_NUMERIC:  # WB11
        return False
    return True


cdef struct _Words:
    long long* starts
    long long* ends
    Py_ssize_t count, cap


cdef int _add_word(_Words* w, long long start, long long end) except -1:
    if w.count == w.cap:
        w.cap = 2 * w.cap + 64
        grown_starts = <long long*>realloc(w.starts, w.cap * sizeof(long long))
        if grown_starts == NULL:
            raise MemoryError()
        w.starts = grown_starts
        grown_ends = <long long*>realloc(w.ends, w.cap * sizeof(long long))
        if grown_ends == NULL:
            raise MemoryError()
        w.ends = grown_ends
    w.starts[w.count] = start
    w.ends[w.count] = end
    w.count += 1
    return 0


cdef object _words_arrays(_Words* w):
    cdef array starts = clone(_Q, w.count, False), ends = clone(_Q, w.count, False)
    if w.count:
        memcpy(starts.data.as_longlongs, w.starts, w.count * sizeof(long long))
        memcpy(ends.data.as_longlongs, w.ends, w.count * sizeof(long long))
    return starts, ends


cdef int _ascii_words(const unsigned char* c, Py_ssize_t n, long long offset, _Words* w) except -1:
    """Add the words of the ASCII text ``c[:n]`` (offsets shifted by ``offset``)."""
    cdef Py_ssize_t i, segment = 0, k, last
    for i in range(1, n + 1):
        if i < n and not _ascii_word_break(c, i, n):
            continue
        # the segment [segment, i): a word when it holds a non-whitespace character, trimmed
        k, last = segment, i - 1
        while k <= last and Py_UNICODE_ISSPACE(c[k]):
            k += 1
        if k <= last:
            while Py_UNICODE_ISSPACE(c[last]):
                last -= 1
            _add_word(w, offset + k, offset + last + 1)
        segment = i
    return 0


cdef int _piece_words(list pieces, long long offset, _Words* w) except -1:
    """Add the words of a text split at its word boundaries (as :func:`word_ranges`)."""
    cdef Py_ssize_t i, k, last, size
    for i in range(PyList_GET_SIZE(pieces)):
        piece = <object>PyList_GET_ITEM(pieces, i)
        size = PyUnicode_GET_LENGTH(piece)
        for k in range(size):
            if not Py_UNICODE_ISSPACE(PyUnicode_READ_CHAR(piece, k)):
                last = size - 1
                while Py_UNICODE_ISSPACE(PyUnicode_READ_CHAR(piece, last)):
                    last -= 1
                _add_word(w, offset + k, offset + last + 1)
                break
        offset += size
    return 0


def ascii_word_ranges(str text):
    """``word_ranges(regex.split(r"(?w)\\b", text))`` for ASCII text, in one C pass; None
    when ``text`` is not ASCII."""
    if not PyUnicode_IS_ASCII(text):
        return None
    cdef _Words w
    w.starts, w.ends, w.count, w.cap = NULL, NULL, 0, 0
    try:
        _ascii_words(<const unsigned char*>PyUnicode_DATA(text), PyUnicode_GET_LENGTH(text), 0, &w)
        return _words_arrays(&w)
    finally:
        free(w.starts)
        free(w.ends)


cdef inline bint _safe_cut(Py_UCS4 x, Py_UCS4 y) noexcept:
    """Whether there is a word boundary between the characters ``x`` and ``y`` that depends on
    them alone, and no rule deciding another boundary looks across it: both are ASCII (no WB4
    Extend/Format/ZWJ on either side) and ``x`` takes part in no joining rule (not a letter,
    digit, Mid* or ExtendNumLet: WB5-WB13b and their lookarounds need one), nor WB3 (CR LF)
    or WB3d (space space). The text either side can then be segmented alone."""
    if x >= 128 or y >= 128:
        return False
    cdef unsigned char a = _WB[x], b = _WB[y]
    if a == AWB_LETTER or a == AWB_NUMERIC or a == AWB_EXTEND_NUM_LET or _mid_letter(a) or _mid_num(a):
        return False
    return not (a == AWB_SPACE and b == AWB_SPACE or a == AWB_CR and b == AWB_LF)


def uax29_word_ranges(str text, split, Py_ssize_t min_gap=64):
    """``word_ranges(split(text))`` (``split``: ``regex``'s ``(?w)\\b`` split) for any text:
    ASCII stretches in C, the rest by ``split`` on windows around the non-ASCII characters,
    cut where the boundary is certain and no rule looks across (:func:`_safe_cut`). ASCII
    stretches shorter than ``min_gap`` between two windows go to ``split`` with them."""
    if PyUnicode_IS_ASCII(text):
        return ascii_word_ranges(text)
    cdef Py_ssize_t n = PyUnicode_GET_LENGTH(text), q = 0, ws, we, done = 0, k
    cdef Py_ssize_t window_start = -1, window_end = -1
    cdef bint found
    cdef unsigned char* buffer = <unsigned char*>malloc(n + 1)
    if buffer == NULL:
        raise MemoryError()
    cdef _Words w
    w.starts, w.ends, w.count, w.cap = NULL, NULL, 0, 0
    try:
        while True:
            while q < n and PyUnicode_READ_CHAR(text, q) < 128:
                q += 1
            found = q < n
            if found:  # the window around the non-ASCII character at q
                ws = q
                while ws > 0 and not _safe_cut(
                    PyUnicode_READ_CHAR(text, ws - 1), PyUnicode_READ_CHAR(text, ws)
                ):
                    ws -= 1
                we = q + 1
                while we < n and not _safe_cut(
                    PyUnicode_READ_CHAR(text, we - 1), PyUnicode_READ_CHAR(text, we)
                ):
                    we += 1
                q = we
                if window_start >= 0 and ws - window_end < min_gap:  # one window with the last
                    window_end = we
                    continue
            if window_start >= 0:  # the ASCII stretch before the last window, then the window
                for k in range(done, window_start):
                    buffer[k - done] = <unsigned char>PyUnicode_READ_CHAR(text, k)
                _ascii_words(buffer, window_start - done, done, &w)
                if window_end - window_start == n:  # the whole text: no copy
                    _piece_words(split(text), 0, &w)
                else:
                    _piece_words(split(PyUnicode_Substring(text, window_start, window_end)),
                                 window_start, &w)
                done = window_end
            if not found:
                break
            window_start, window_end = ws, we
        for k in range(done, n):
            buffer[k - done] = <unsigned char>PyUnicode_READ_CHAR(text, k)
        _ascii_words(buffer, n - done, done, &w)
        return _words_arrays(&w)
    finally:
        free(buffer)
        free(w.starts)
        free(w.ends)


# -- units -------------------------------------------------------------------------------------


cdef extern from *:
    """
    /* A tuple subclass instance with 8 fields, the last one None, made like tuple.__new__ makes
       it (tp_alloc is PyType_GenericAlloc) but without the argument tuple; then untracked by
       the GC: a unit's fields (strings, ints, a tuple of ints, a float) never form a cycle. */
    static PyObject* tokbytes_unit8(PyTypeObject* type, PyObject* f0, PyObject* f1,
                                    PyObject* f2, PyObject* f3, PyObject* f4, PyObject* f5,
                                    PyObject* f6) {
        PyObject* unit = PyType_GenericAlloc(type, 8);
        if (unit == NULL) return NULL;
        Py_INCREF(f0); PyTuple_SET_ITEM(unit, 0, f0);
        Py_INCREF(f1); PyTuple_SET_ITEM(unit, 1, f1);
        Py_INCREF(f2); PyTuple_SET_ITEM(unit, 2, f2);
        Py_INCREF(f3); PyTuple_SET_ITEM(unit, 3, f3);
        Py_INCREF(f4); PyTuple_SET_ITEM(unit, 4, f4);
        Py_INCREF(f5); PyTuple_SET_ITEM(unit, 5, f5);
        Py_INCREF(f6); PyTuple_SET_ITEM(unit, 6, f6);
        Py_INCREF(Py_None); PyTuple_SET_ITEM(unit, 7, Py_None);
        PyObject_GC_UnTrack(unit);
        return unit;
    }
    """
    object tokbytes_unit8(PyTypeObject*, object, object, object, object, object, object, object)


cdef extern from *:
    """
    /* A unit's first seven fields replaced in place (the eighth, replaced_bytes, stays None),
       for a unit only the caller holds (reference count 1): nobody can see the change, as when
       zip() and enumerate() reuse their result tuple. The old fields are strings, ints, a tuple
       of ints and a float: dropping them runs no Python code. */
    static PyObject* tokbytes_unit8_refill(PyObject* unit, PyObject* f0, PyObject* f1,
                                           PyObject* f2, PyObject* f3, PyObject* f4,
                                           PyObject* f5, PyObject* f6) {
        PyObject* fields[7] = {f0, f1, f2, f3, f4, f5, f6};
        PyObject* old;
        for (int k = 0; k < 7; k++) {
            old = PyTuple_GET_ITEM(unit, k);
            Py_INCREF(fields[k]);
            PyTuple_SET_ITEM(unit, k, fields[k]);
            Py_DECREF(old);
        }
        Py_INCREF(unit);
        return unit;
    }
    #ifdef Py_GIL_DISABLED
    #define TOKBYTES_REUSE 0
    #else
    #define TOKBYTES_REUSE 1
    #endif
    """
    object tokbytes_unit8_refill(object, object, object, object, object, object, object, object)
    int TOKBYTES_REUSE
    Py_ssize_t Py_REFCNT(object)
    Py_ssize_t _refcount "Py_REFCNT"(PyObject*)


cdef inline bint _refillable(PyObject* item) noexcept:
    """A unit as the core makes them: of type ``Unit`` exactly, untracked by the garbage
    collector (its fields are strings, ints, a tuple of ints and a float: dropping them runs no
    Python code), ``replaced_bytes`` None. A list returned to the caller may come back holding
    anything."""
    return (
        <PyTypeObject*>Py_TYPE(<object>item) == _UNIT
        and not PyObject_GC_IsTracked(<object>item)
        and PyTuple_GET_ITEM(<object>item, 7) == <PyObject*>None
    )


cdef inline object _make_unit(object text, long long start, long long end, long long byte_start,
                              long long byte_end, object tokens, object logprob):
    """A :class:`~tokbytes.records.Unit` (``replaced_bytes`` None)."""
    return _unit_of(
        text,
        PyLong_FromLongLong(start),
        PyLong_FromLongLong(end),
        PyLong_FromLongLong(byte_start),
        PyLong_FromLongLong(byte_end),
        tokens,
        logprob,
    )


cdef inline object _unit_of(object text, object f1, object f2, object f3, object f4,
                            object tokens, object logprob):
    if not _GENERIC_ALLOC:
        return _tuple_new(Unit, (text, f1, f2, f3, f4, tokens, logprob, None))
    return tokbytes_unit8(_UNIT, text, f1, f2, f3, f4, tokens, logprob)


cdef class Aligned:
    """An :class:`~tokbytes.alignment.Alignment` as C arrays, for scoring and making units.

    Made by :func:`aligned` (None when the alignment is not plain). Unit ranges are character
    offsets: ``starts``/``ends`` arrays (``array("q")``), or None for consecutive characters
    (unit ``i`` is character ``i``).
    """

    cdef readonly str text
    cdef readonly Py_ssize_t n_tokens
    cdef readonly Py_ssize_t n_chars
    cdef list logprobs
    cdef array _ends, _values, _bounds
    cdef const long long* ends
    cdef const double* values
    cdef const long long* bounds  # NULL for ASCII text: byte offset == character offset
    cdef long long token_base, byte_base, char_base

    cdef inline long long byte_of(self, Py_ssize_t char) noexcept:
        return self.bounds[char] if self.bounds != NULL else char

    cdef inline Py_ssize_t token_at(self, long long byte) noexcept:
        """bisect_right(ends, byte): the token holding ``byte``."""
        cdef Py_ssize_t lo = 0, hi = self.n_tokens, mid
        while lo < hi:
            mid = (lo + hi) >> 1
            if self.ends[mid] <= byte:
                lo = mid + 1
            else:
                hi = mid
        return lo

    cdef inline double score(self, Py_ssize_t first, Py_ssize_t last, long long byte_start,
                             long long byte_end, bint split, const long long* whole_of) noexcept:
        cdef double total = 0.0
        cdef Py_ssize_t j
        cdef long long token_start, token_end, share, whole
        if not split:
            if first == last:
                return self.values[first]
            for j in range(first, last + 1):
                total += self.values[j]
            return total
        for j in range(first, last + 1):
            token_start = self.ends[j - 1] if j else 0
            token_end = self.ends[j]
            share = min(byte_end, token_end) - max(byte_start, token_start)
            whole = whole_of[j] if whole_of != NULL else token_end - token_start
            if share > 0 and whole > 0:
                total += self.values[j] * share / whole
        return total

    cdef inline object score_object(self, Py_ssize_t first, Py_ssize_t last, long long byte_start,
                                    long long byte_end, bint split, const long long* whole_of):
        if not split and first == last:  # the token's own float object, as the Python path
            return <object>PyList_GET_ITEM(self.logprobs, first)
        return PyFloat_FromDouble(self.score(first, last, byte_start, byte_end, split, whole_of))

    cdef inline object token_tuple(self, Py_ssize_t first, Py_ssize_t last):
        cdef object out = PyTuple_New(last - first + 1)
        cdef Py_ssize_t j
        for j in range(first, last + 1):
            value = PyLong_FromSsize_t(j + self.token_base)
            Py_INCREF(value)
            PyTuple_SET_ITEM(out, j - first, value)
        PyObject_GC_UnTrack(<void*>out)
        return out

    cdef inline object char_text(self, Py_ssize_t start, Py_ssize_t end):
        if end - start == 1:
            return _char_str(PyUnicode_READ_CHAR(self.text, start))
        return PyUnicode_Substring(self.text, start, end)

    def logprobs_of(self, starts, ends, Py_ssize_t lo, Py_ssize_t hi, bint split, whole=None):
        """The scores of units ``lo .. hi - 1`` (a list of floats)."""
        cdef const long long* s = NULL
        cdef const long long* e = NULL
        cdef const long long* w = NULL
        cdef array a_s, a_e, a_w
        if starts is not None:
            a_s, a_e = starts, ends
            s, e = a_s.data.as_longlongs, a_e.data.as_longlongs
        if whole is not None:
            a_w = whole
            w = a_w.data.as_longlongs
        cdef list out = PyList_New(hi - lo if hi > lo else 0)
        cdef Py_ssize_t i, first, last = 0, t = -1
        cdef long long bs, be
        for i in range(lo, hi):
            bs = self.byte_of(s[i] if s != NULL else i)
            be = self.byte_of(e[i] if e != NULL else i + 1)
            if t < 0:
                t = self.token_at(bs)
            while self.ends[t] <= bs:  # units come in text order: the token pointer only moves on
                t += 1
            first = last = t
            while self.ends[last] < be:
                last += 1
            value = self.score_object(first, last, bs, be, split, w)
            Py_INCREF(value)
            PyList_SET_ITEM(out, i - lo, value)
        return out

    def units(self, starts, ends, Py_ssize_t lo, Py_ssize_t hi, bint split, whole=None):
        """An iterator making units ``lo .. hi - 1`` one at a time."""
        cdef UnitIterator it = UnitIterator.__new__(UnitIterator)
        it.al = self
        it.i, it.hi, it.split, it.t = lo, hi, split, -1
        if starts is not None:
            it._starts, it._ends = starts, ends
            it.starts, it.ends = it._starts.data.as_longlongs, it._ends.data.as_longlongs
        if whole is not None:
            it._whole = whole
            it.whole = it._whole.data.as_longlongs
        return it

    def unit(self, Py_ssize_t start, Py_ssize_t end, bint split, whole=None):
        """The unit for characters ``[start, end)`` (``start < end``, checked by the caller)."""
        cdef const long long* w = NULL
        cdef array a_w
        if whole is not None:
            a_w = whole
            w = a_w.data.as_longlongs
        cdef long long bs = self.byte_of(start), be = self.byte_of(end)
        cdef Py_ssize_t first = self.token_at(bs), last = first
        while self.ends[last] < be:
            last += 1
        return self.make(start, end, bs, be, first, last, split, w, None)

    cdef object make(self, Py_ssize_t start, Py_ssize_t end, long long bs, long long be,
                     Py_ssize_t first, Py_ssize_t last, bint split, const long long* w,
                     object tokens):
        if tokens is None:
            tokens = self.token_tuple(first, last)
        return _make_unit(
            self.char_text(start, end),
            start + self.char_base,
            end + self.char_base,
            bs + self.byte_base,
            be + self.byte_base,
            tokens,
            self.score_object(first, last, bs, be, split, w),
        )

    def word_denominators(self, starts, ends):
        """For each token, how many of its bytes lie inside the units (split scores of words)."""
        cdef array a_s = starts, a_e = ends
        cdef const long long* s = a_s.data.as_longlongs
        cdef const long long* e = a_e.data.as_longlongs
        cdef array out = clone(_Q, self.n_tokens, True)
        cdef long long* o = out.data.as_longlongs
        cdef Py_ssize_t i, j, t = -1
        cdef long long bs, be, token_start
        for i in range(len(a_s)):
            bs, be = self.byte_of(s[i]), self.byte_of(e[i])
            if t < 0:
                t = self.token_at(bs)
            while self.ends[t] <= bs:
                t += 1
            j = t
            while True:
                token_start = self.ends[j - 1] if j else 0
                o[j] += min(be, self.ends[j]) - max(bs, token_start)
                if self.ends[j] >= be:
                    break
                j += 1
        return out


cdef class UnitIterator:
    """Units made one at a time (see :meth:`Aligned.units`)."""

    cdef Aligned al
    cdef Py_ssize_t i, hi, t
    cdef bint split
    cdef array _starts, _ends, _whole
    cdef const long long* starts
    cdef const long long* ends
    cdef const long long* whole
    cdef Py_ssize_t single_token
    cdef object single  # the last one-token tuple, shared by the consecutive units of a token
    # The previous unit's end offsets and their int objects: the next unit usually starts there
    # (characters, graphemes), so its start fields share them instead of making new ints.
    cdef Py_ssize_t last_end
    cdef long long last_byte_end
    cdef object last_end_obj, last_byte_end_obj
    # The last two units returned. ``for u in units`` still holds the last one when it asks for
    # the next, but no longer the one before: when nothing else holds that one (its reference
    # count is ours alone) it is refilled in place instead of freeing one tuple and making
    # another. Only where units are made by PyType_GenericAlloc (no cached hash) and the GIL
    # makes a reference count of 1 final.
    cdef object recent, older

    def __iter__(self):
        return self

    def __next__(self):
        cdef Aligned al = self.al
        cdef Py_ssize_t i = self.i, start, end, first, last, t
        if i >= self.hi:
            raise StopIteration
        self.i = i + 1
        start = self.starts[i] if self.starts != NULL else i
        end = self.ends[i] if self.ends != NULL else i + 1
        cdef long long bs = al.byte_of(start), be = al.byte_of(end)
        t = self.t
        if t < 0:
            t = al.token_at(bs)
        while al.ends[t] <= bs:
            t += 1
        self.t = t
        first = last = t
        while al.ends[last] < be:
            last += 1
        if first == last:
            if self.single is None or self.single_token != first:
                self.single = al.token_tuple(first, first)
                self.single_token = first
            tokens = self.single
        else:
            tokens = al.token_tuple(first, last)
        if self.last_end_obj is not None and start == self.last_end:
            start_obj, byte_start_obj = self.last_end_obj, self.last_byte_end_obj
        else:
            start_obj = PyLong_FromLongLong(start + al.char_base)
            byte_start_obj = PyLong_FromLongLong(bs + al.byte_base)
        end_obj = PyLong_FromLongLong(end + al.char_base)
        if be + al.byte_base == end + al.char_base:  # ASCII so far: one int for both
            byte_end_obj = end_obj
        else:
            byte_end_obj = PyLong_FromLongLong(be + al.byte_base)
        self.last_end, self.last_end_obj = end, end_obj
        self.last_byte_end, self.last_byte_end_obj = be, byte_end_obj
        cdef object reused = self.older
        if _GENERIC_ALLOC and TOKBYTES_REUSE and reused is not None and Py_REFCNT(reused) == 2:
            # 2: self.older and the local name reused
            unit = tokbytes_unit8_refill(
                reused,
                al.char_text(start, end),
                start_obj,
                end_obj,
                byte_start_obj,
                byte_end_obj,
                tokens,
                al.score_object(first, last, bs, be, self.split, self.whole),
            )
        else:
            unit = _unit_of(
                al.char_text(start, end),
                start_obj,
                end_obj,
                byte_start_obj,
                byte_end_obj,
                tokens,
                al.score_object(first, last, bs, be, self.split, self.whole),
            )
        self.older = self.recent
        self.recent = unit
        return unit


def aligned(str text, token_ends, list logprobs, char_bounds, long long token_base,
            long long byte_base, long long char_base):
    """:class:`Aligned` over an alignment's fields, or None when a logprob is not a float.

    ``char_bounds`` is a ``range`` (ASCII: one byte per character) or an ``array("q")``.
    """
    cdef Py_ssize_t n = len(logprobs), j
    cdef Aligned al = Aligned.__new__(Aligned)
    cdef array values = clone(_D, n, False)
    for j in range(n):
        item = <object>PyList_GET_ITEM(logprobs, j)
        if type(item) is not float:
            return None
        values.data.as_doubles[j] = PyFloat_AS_DOUBLE(item)
    if type(token_ends) is not array or (<array>token_ends).ob_descr.typecode != c'q':
        token_ends = _make_array("q", token_ends)
    al._ends, al._values = token_ends, values
    al.ends, al.values = al._ends.data.as_longlongs, values.data.as_doubles
    if isinstance(char_bounds, range):
        al.bounds = NULL
    else:
        if type(char_bounds) is not array or (<array>char_bounds).ob_descr.typecode != c'q':
            char_bounds = _make_array("q", char_bounds)
        al._bounds = char_bounds
        al.bounds = al._bounds.data.as_longlongs
    al.text, al.logprobs, al.n_tokens, al.n_chars = text, logprobs, n, len(text)
    al.token_base, al.byte_base, al.char_base = token_base, byte_base, char_base
    return al


# -- the streaming decoder's per-token character path ------------------------------------------


cdef inline int _utf8_length(unsigned char lead) noexcept:
    """Bytes of the character ``lead`` starts (0: not a lead byte of valid UTF-8)."""
    if lead < 0x80:
        return 1
    if 0xC2 <= lead <= 0xDF:
        return 2
    if 0xE0 <= lead <= 0xEF:
        return 3
    if 0xF0 <= lead <= 0xF4:
        return 4
    return 0


cdef inline bint _second_ok(unsigned char lead, unsigned char b) noexcept:
    """The second byte after ``lead`` (no overlong forms, surrogates or code points > U+10FFFF)."""
    if lead == 0xE0:
        return 0xA0 <= b <= 0xBF
    if lead == 0xED:
        return 0x80 <= b <= 0x9F
    if lead == 0xF0:
        return 0x90 <= b <= 0xBF
    if lead == 0xF4:
        return 0x80 <= b <= 0x8F
    return 0x80 <= b <= 0xBF


cdef inline int _utf8_step(unsigned char b, unsigned char* h, int* hl, int* hn) noexcept:
    """Byte ``b`` added to the character being read (``h[:hl]``, ``hn`` bytes long; ``hl`` 0:
    none): -1 when ``b`` cannot continue valid UTF-8, 1 when it completes the character (then
    ``hl`` is left at ``hn``), else 0."""
    cdef int need
    if hl[0] == 0:
        need = _utf8_length(b)
        if need == 0:
            return -1
        h[0], hl[0], hn[0] = b, 1, need
    else:
        if not (_second_ok(h[0], b) if hl[0] == 1 else 0x80 <= b <= 0xBF):
            return -1
        h[hl[0]] = b
        hl[0] += 1
    return hl[0] == hn[0]


cdef inline Py_UCS4 _code_point(const unsigned char* c, int size) noexcept:
    if size == 1:
        return c[0]
    if size == 2:
        return ((c[0] & 0x1F) << 6) | (c[1] & 0x3F)
    if size == 3:
        return ((c[0] & 0x0F) << 12) | ((c[1] & 0x3F) << 6) | (c[2] & 0x3F)
    return ((c[0] & 0x07) << 18) | ((c[1] & 0x3F) << 12) | ((c[2] & 0x3F) << 6) | (c[3] & 0x3F)


# One byte per code point: 1 where a grapheme break next to it may be suppressed (units._JOINING:
# CR, Extend, ZWJ, SpacingMark, Prepend, regional indicators, Hangul jamo), set once by
# set_joining(); until then every character from U+0300 on counts as joining.
cdef bytes _joining_table = None
cdef const unsigned char* _joining = NULL


def set_joining(bytes table):
    """Install the joining table (``units.joining_flags()``, 0x110000 bytes)."""
    global _joining_table, _joining
    if len(table) != 0x110000:
        raise ValueError("the joining table has one byte per code point")
    _joining_table = table
    _joining = <const unsigned char*>PyBytes_AS_STRING(table)


def has_joining():
    return _joining != NULL


# The same flags for the code points below U+20000 only (set_joining_low(), built in 0.05 s):
# what batch grapheme boundaries use when the full table is not there. Everything from U+20000
# on then counts as joining (tag characters and variation selectors there are), so the windows
# only grow and regex decides.
cdef bytes _joining_low_table = None
cdef const unsigned char* _joining_low = NULL
cdef enum:
    _JOINING_LOW_SIZE = 0x20000


def set_joining_low(bytes table):
    """Install the flags of the code points below U+20000 (``units._joining_low_flags()``)."""
    global _joining_low_table, _joining_low
    if len(table) != _JOINING_LOW_SIZE:
        raise ValueError("the low joining table has one byte per code point below U+20000")
    _joining_low_table = table
    _joining_low = <const unsigned char*>PyBytes_AS_STRING(table)


def has_joining_low():
    return _joining_low != NULL


cdef inline bint _joins(Py_UCS4 code) noexcept:
    """In ``units._JOINING``, or above U+1FFFF without the full table (then: maybe)."""
    if _joining != NULL:
        return _joining[code] != 0
    if code < _JOINING_LOW_SIZE:
        return _joining_low[code] != 0
    return True


def grapheme_bounds(str text, findall):
    """``units.grapheme_bounds`` before its GB9c fix, in C: one offset per character, except
    in the windows around the runs of joining characters (one character either side, merged
    when they overlap), which ``findall`` (``regex`` ``\\X``'s, with pos and endpos) cuts
    into clusters. None when no character joins (every character is a cluster), or when no
    joining table is installed."""
    if _joining == NULL and _joining_low == NULL:
        return None
    cdef Py_ssize_t n = PyUnicode_GET_LENGTH(text), i = 0, k, done = 0, count = 0, pos
    cdef Py_ssize_t run_start, start = 0, end = 0, ws = -1, we = -1
    cdef bint found
    cdef array out = clone(_Q, n + 1, False)
    cdef long long* o = out.data.as_longlongs
    while True:
        while i < n and not _joins(PyUnicode_READ_CHAR(text, i)):
            i += 1
        found = i < n
        if found:
            run_start = i
            while i < n and _joins(PyUnicode_READ_CHAR(text, i)):
                i += 1
            start = run_start - 1 if run_start > 0 else 0
            end = i + 1 if i < n else n
            if ws >= 0 and start < we:  # no certain break between the two windows: merge
                we = end
                continue
        if ws >= 0:  # the last window: single characters up to it, then its clusters
            for k in range(done, ws):
                o[count] = k
                count += 1
            pos = ws
            for piece in findall(text, ws, we):
                o[count] = pos
                count += 1
                pos += PyUnicode_GET_LENGTH(piece)
            done = we
        if not found:
            break
        ws, we = start, end
    if ws < 0:
        return None
    for k in range(done, n + 1):
        o[count] = k
        count += 1
    resize(out, count)
    return out


cdef inline bint _may_join(Py_UCS4 code) noexcept:
    if code < 0x300:
        return code == 13
    return _joining == NULL or _joining[code] != 0


cdef inline Py_UCS4 _hex_digit(unsigned char value) noexcept:
    return value + 48 if value < 10 else value + 87  # 0-9, a-f (as backslashreplace writes)


cdef bint _backslashreplaced(object token, const unsigned char* data, Py_ssize_t size):
    """``token == data[:size].decode("utf-8", "backslashreplace")``, without decoding: every
    byte that does not start a valid sequence is ``\\xNN`` (lowercase), every sequence its
    character (the decoder's error ranges hold only bytes no valid sequence can start with)."""
    cdef Py_ssize_t length = PyUnicode_GET_LENGTH(token), i = 0, t = 0
    cdef int need, k
    cdef unsigned char lead
    cdef bint valid
    while i < size:
        lead = data[i]
        need = _utf8_length(lead)
        valid = need > 0 and i + need <= size
        if valid and need > 1:
            valid = _second_ok(lead, data[i + 1])
            for k in range(2, need):
                valid = valid and 0x80 <= data[i + k] <= 0xBF
        if valid:
            if t >= length or PyUnicode_READ_CHAR(token, t) != _code_point(data + i, need):
                return False
            t += 1
            i += need
        else:
            if (
                t + 4 > length
                or PyUnicode_READ_CHAR(token, t) != 0x5C
                or PyUnicode_READ_CHAR(token, t + 1) != 0x78
                or PyUnicode_READ_CHAR(token, t + 2) != _hex_digit(lead >> 4)
                or PyUnicode_READ_CHAR(token, t + 3) != _hex_digit(lead & 15)
            ):
                return False
            t += 4
            i += 1
    return t == length


cdef bint _legacy_prefix(object token) noexcept:
    """``token.startswith("bytes:")`` (legacy completions' form of partial tokens)."""
    if PyUnicode_GET_LENGTH(token) < 6:
        return False
    for k in range(6):
        if PyUnicode_READ_CHAR(token, k) != <Py_UCS4>(b"bytes:"[k]):
            return False
    return True


cdef bint _token_says(object token, const unsigned char* data, Py_ssize_t size,
                      object token_to_bytes) except -1:
    """``byte_reader.token_says``: the token string says these bytes, so no reading of it can
    change them (``recovery.doubtful`` is False). Escapes are compared without decoding when
    the bytes hold no backslash of their own and do not begin with ``bytes:`` (then the
    backslashreplace form reads back as these bytes); otherwise ``token_to_bytes`` decides."""
    cdef Py_ssize_t length = PyUnicode_GET_LENGTH(token)
    if (
        memchr(PyUnicode_DATA(token), 0x5C, length) == NULL
        if PyUnicode_IS_ASCII(token)
        else PyUnicode_FindChar(token, 0x5C, 0, length, 1) < 0
    ):
        if not _legacy_prefix(token):
            return True  # no escapes
    elif (
        memchr(data, 0x5C, size) == NULL
        and not (size >= 6 and memcmp(data, b"bytes:", 6) == 0)
        and _backslashreplaced(token, data, size)
    ):
        return True  # as OpenAI writes partial characters
    return token_to_bytes(token) == PyBytes_FromStringAndSize(<const char*>data, size)


def backslashreplaced(str token, bytes data):
    """``token == data.decode("utf-8", "backslashreplace")`` as the feeder checks it (tests)."""
    return _backslashreplaced(token, <const unsigned char*>PyBytes_AS_STRING(data), len(data))


def token_says(str token, bytes data, token_to_bytes):
    """The feeder's escape check, ``byte_reader.token_says`` (tests)."""
    return _token_says(
        token, <const unsigned char*>PyBytes_AS_STRING(data), len(data), token_to_bytes
    )


cdef struct CharInfo:
    Py_UCS4 code
    int size
    long long byte_start, byte_end  # global byte offsets
    Py_ssize_t first, last  # global indices of the tokens holding its first and last byte
    unsigned char data[4]


cdef class _Feeder:
    """What :class:`CharFeeder` and :class:`SegmentFeeder` share: the byte reader's copy they
    append to (``all_bytes``, ``all_ends``, ``all_logprobs``) and read their window from, the
    history, the incomplete last character (``head``), the text emitted since ``state()``.

    The window: the tokens from the one holding the frontier byte on, from token
    ``pend_first`` at global byte ``pend_byte``, read from the byte reader's copy (its offset
    plus ``delta`` is the global byte; a feeder arms only where the window's parts and
    logprobs are that copy's, :meth:`_adopt`), so a feed makes no ``bytes`` object for it.
    """

    cdef object history, token_to_bytes
    cdef bytearray all_bytes
    cdef array all_ends
    cdef list all_logprobs
    cdef bint graphemes
    cdef Py_ssize_t seen, reported_tokens, pend_first, inc_first
    cdef long long byte_pos, char_pos, pend_byte, inc_byte, delta
    cdef unsigned char head[4]
    cdef int head_len, head_need
    cdef unsigned char* scratch
    cdef Py_ssize_t scratch_cap
    cdef char* text
    cdef Py_ssize_t text_len, text_cap

    def __dealloc__(self):
        free(self.scratch)
        free(self.text)

    cdef bint _adopt(self, list parts, list logprobs, Py_ssize_t token_base, long long byte_base,
                     long long char_base, Py_ssize_t seen, Py_ssize_t reported_tokens,
                     list history, bytearray all_bytes, array all_ends, list all_logprobs,
                     token_to_bytes, bint graphemes) except -1:
        """Take a ``StreamDecoder``'s fields; False where its window is not the byte reader's
        copy (then the feeder cannot arm)."""
        if (<object>all_ends).typecode != "q" or len(all_ends) != seen or len(all_logprobs) != seen:
            return False
        if token_base + len(parts) != seen or len(parts) != len(logprobs):
            return False
        self.history, self.token_to_bytes, self.graphemes = history, token_to_bytes, graphemes
        self.all_bytes, self.all_ends, self.all_logprobs = all_bytes, all_ends, all_logprobs
        self.seen, self.char_pos, self.reported_tokens = seen, char_base, reported_tokens
        cdef const long long* ends = all_ends.data.as_longlongs
        cdef Py_ssize_t k, t
        cdef long long start
        self.delta = byte_base - (ends[token_base - 1] if token_base else 0)
        self.pend_first, self.pend_byte, self.byte_pos = token_base, byte_base, byte_base
        for k in range(len(parts)):
            t = token_base + k
            item, start = parts[k], ends[t - 1] if t else 0
            if (
                type(item) is not bytes
                or not item
                or type(logprobs[k]) is not float
                or type(all_logprobs[t]) is not float
                or float.hex(logprobs[k]) != float.hex(all_logprobs[t])
                or item != all_bytes[start:ends[t]]
            ):
                return False
            self.byte_pos += len(<bytes>item)
        return True

    cdef int _append_text(self, const unsigned char* data, Py_ssize_t size) except -1:
        if self.text_len + size > self.text_cap:
            self.text_cap = 2 * (self.text_len + size) + 256
            grown = <char*>realloc(self.text, self.text_cap)
            if grown == NULL:
                raise MemoryError()
            self.text = grown
        memcpy(self.text + self.text_len, data, size)
        self.text_len += size
        return 0

    cdef inline object _lp(self, Py_ssize_t t, Py_ssize_t j, object logprob):
        """Token ``t``'s logprob object, while token ``j`` (``logprob``) is being taken."""
        return logprob if t == j else <object>PyList_GET_ITEM(self.all_logprobs, t)

    cdef int _copy(self, const unsigned char* data, Py_ssize_t m, object logprob) except -1:
        """Append a taken token to the byte reader's copy."""
        cdef Py_ssize_t total_bytes = PyByteArray_GET_SIZE(self.all_bytes)
        cdef Py_ssize_t count_ends = len(self.all_ends)
        PyByteArray_Resize(self.all_bytes, total_bytes + m)
        memcpy(PyByteArray_AS_STRING(self.all_bytes) + total_bytes, data, m)
        resize_smart(self.all_ends, count_ends + 1)
        self.all_ends.data.as_longlongs[count_ends] = total_bytes + m
        PyList_Append(self.all_logprobs, logprob)
        return 0

    cdef void _move_window(self, long long frontier, Py_ssize_t j, long long pos) noexcept:
        """The window after token ``j`` (from global byte ``pos``, already in the copy): from the
        token holding byte ``frontier`` (-1: no window)."""
        cdef const long long* ends = self.all_ends.data.as_longlongs
        if frontier < 0 or frontier >= pos:  # no window, or the frontier is in this token
            self.pend_first, self.pend_byte = j, pos
            return
        while ends[self.pend_first] + self.delta <= frontier:
            self.pend_first += 1
        self.pend_byte = (ends[self.pend_first - 1] if self.pend_first else 0) + self.delta

    cdef tuple _window(self):
        """The window's parts and logprobs, as the Python path keeps them."""
        cdef const long long* ends = self.all_ends.data.as_longlongs
        cdef const char* copy = PyByteArray_AS_STRING(self.all_bytes)
        cdef Py_ssize_t t
        cdef long long start
        parts = []
        for t in range(self.pend_first, self.seen):
            start = ends[t - 1] if t else 0
            parts.append(PyBytes_FromStringAndSize(copy + start, ends[t] - start))
        return parts, self.all_logprobs[self.pend_first:self.seen]

    def feed(self, x):
        """The units record ``x`` (or a list or tuple of records) finishes, or None."""
        return self._feed(x)

    cdef object _feed(self, object x):
        return None


cdef enum:
    _SPARES = 64  # spare units a CharFeeder keeps for reuse, at most
    _WAITING = 16  # units still held by the caller when their slot was refilled, at most
    _REUSED_LIST_MAX = 256  # a longer list returned (several records) is not reused


cdef class CharFeeder(_Feeder):
    """``StreamDecoder`` characters or graphemes (cover scores) fed plain records.

    Owns the decoder's window while it is armed (``stream.py``: ``_arm``/``_flush``/``_disarm``).
    :meth:`feed` takes exactly the records ``ByteReader.take_verified`` takes (the decoder
    arms it only while that path applies: no token held, bytes as given): a dict whose
    ``bytes`` is a non-empty list of ints 2-255 not starting with ``<`` nor holding U+FFFD or
    ``▁``, whose ``logprob`` is a float <= 1e-6, and whose ``token``, when a str, says these
    bytes (``byte_reader.token_says``: no escapes, or escapes of exactly these bytes); and of those
    only the ones whose bytes continue valid UTF-8 and, for graphemes, whose characters cannot
    join a neighbour (not in ``units._JOINING``: a grapheme is then one character, see
    ``units.grapheme_bounds``). A list or tuple of such records is taken all or none.
    Like ``ByteReader.take_verified`` it appends the record to ``history`` (when kept) and the token to the
    byte reader's copy (``all_bytes``, ``all_ends``, ``all_logprobs``: the decoder's own objects).
    It returns the units the records finish, made as ``DirectWindow._next_chars`` (characters)
    and ``DirectWindow._direct`` (graphemes, the last character held back) make them, or None
    ("not mine") without changing anything.

    The window: see :class:`_Feeder`.
    """

    cdef bint has_held
    cdef CharInfo held
    cdef CharInfo* infos
    # the last unit's end offsets (shared as the next unit's start offsets, as decode() shares them)
    cdef object last_end_obj, last_byte_end_obj
    cdef long long last_end, last_byte_end
    cdef object last_single  # (t,) of the last token t with a unit of its own (held graphemes)
    cdef Py_ssize_t last_single_token
    # Unit reuse, as the unit iterator's (``Aligned``), instead of freeing one tuple per
    # character and making another. ``returned``: the list the last feed returned; once the
    # caller has let go of it (its reference count is ours alone) the next feed returns it again,
    # each unit nothing else holds refilled in place. A unit the caller still holds (the loop
    # variable keeps the last one) is replaced in the list and waits in ``waiting`` (owned
    # references) until the next feed, which makes it a spare if the caller let go of it by
    # then. ``spares``: owned units nothing else holds, for the units a list lacks.
    cdef list returned
    cdef PyObject* spares[_SPARES]
    cdef PyObject* waiting[_WAITING]
    cdef int spare_count, waiting_count

    def __dealloc__(self):
        free(self.infos)
        cdef int k
        for k in range(self.spare_count):
            Py_DECREF(<object>self.spares[k])
        for k in range(self.waiting_count):
            Py_DECREF(<object>self.waiting[k])
        self.spare_count = self.waiting_count = 0

    cdef object _feed(self, object x):
        cdef object kind = type(x), units
        if kind is not dict and kind is not list and kind is not tuple:
            return None  # chunks, SDK objects: the Python path
        cdef list reuse = self.returned
        self.returned = None
        if reuse is not None and (
            Py_REFCNT(reuse) != 1  # (the local name alone)
            or PyList_GET_SIZE(reuse) > _REUSED_LIST_MAX  # (its storage would stay that large)
        ):
            reuse = None
        if self.waiting_count:
            self._wake_waiting()
        cdef Py_ssize_t count
        if kind is dict:
            units = self._take(x, reuse)
        else:
            count = PyList_GET_SIZE(x) if kind is list else PyTuple_GET_SIZE(x)
            if count == 1:
                units = self._take(
                    <object>(PyList_GET_ITEM(x, 0) if kind is list else PyTuple_GET_ITEM(x, 0)),
                    reuse,
                )
            elif count == 0:
                units = None
            else:
                units = self._take_all(x)
        if not (_GENERIC_ALLOC and TOKBYTES_REUSE):
            return units
        if units is not None:
            self.returned = units
        elif reuse is not None:  # declined: the list stays for the feed after
            self.returned = reuse
        return units

    cdef void _wake_waiting(self) noexcept:
        """The waiting units the caller has let go of become spares; the others are dropped."""
        cdef int k
        cdef PyObject* unit
        for k in range(self.waiting_count):
            unit = self.waiting[k]
            if _refcount(unit) == 1 and self.spare_count < _SPARES:
                self.spares[self.spare_count] = unit
                self.spare_count += 1
            else:
                Py_DECREF(<object>unit)
        self.waiting_count = 0

    cdef void _release(self, PyObject* unit) noexcept:
        """Take an owned reference to an item out of a list: a spare if it is a unit of ours
        that nothing else holds, waiting if the caller holds it (while there is room), else
        dropped."""
        if not _refillable(unit):  # something the caller put in the list
            Py_DECREF(<object>unit)
            return
        if _refcount(unit) == 1:
            if self.spare_count < _SPARES:
                self.spares[self.spare_count] = unit
                self.spare_count += 1
                return
        elif self.waiting_count < _WAITING:
            self.waiting[self.waiting_count] = unit
            self.waiting_count += 1
            return
        Py_DECREF(<object>unit)

    cdef inline object _new_unit(self, object text, object start, object end, object byte_start,
                                 object byte_end, object tokens, object score):
        """A unit with these fields: a spare refilled, or a new one."""
        cdef PyObject* spare
        if self.spare_count:
            self.spare_count -= 1
            spare = self.spares[self.spare_count]
            unit = tokbytes_unit8_refill(
                <object>spare, text, start, end, byte_start, byte_end, tokens, score
            )
            Py_DECREF(<object>spare)  # (the spare's reference: refill returned a new one)
            return unit
        return _unit_of(text, start, end, byte_start, byte_end, tokens, score)

    cdef object _take_all(self, object records):
        """Several records, all or none: a record the feeder does not take (somewhere in the
        list) puts everything back as it was, and the Python path reads the whole list."""
        # The state to put back
        cdef Py_ssize_t seen = self.seen, pend_first = self.pend_first
        cdef Py_ssize_t reported_tokens = self.reported_tokens, inc_first = self.inc_first
        cdef long long byte_pos = self.byte_pos, char_pos = self.char_pos
        cdef long long pend_byte = self.pend_byte, inc_byte = self.inc_byte
        cdef unsigned char head[4]
        head[0], head[1], head[2], head[3] = self.head[0], self.head[1], self.head[2], self.head[3]
        cdef int head_len = self.head_len, head_need = self.head_need
        cdef bint has_held = self.has_held
        cdef CharInfo held = self.held
        cdef Py_ssize_t text_len = self.text_len
        cdef Py_ssize_t n_bytes = PyByteArray_GET_SIZE(self.all_bytes)
        cdef Py_ssize_t n_ends = len(self.all_ends), n_logprobs = len(self.all_logprobs)
        cdef Py_ssize_t n_history = len(self.history) if self.history is not None else 0
        cdef list units = []
        for record in records:
            found = self._take(record, None)
            if found is None:
                self.seen, self.pend_first = seen, pend_first
                self.reported_tokens, self.inc_first = reported_tokens, inc_first
                self.byte_pos, self.char_pos = byte_pos, char_pos
                self.pend_byte, self.inc_byte = pend_byte, inc_byte
                self.head[0], self.head[1], self.head[2], self.head[3] = (
                    head[0], head[1], head[2], head[3]
                )
                self.head_len, self.head_need = head_len, head_need
                self.has_held, self.held = has_held, held
                self.text_len = text_len
                PyByteArray_Resize(self.all_bytes, n_bytes)
                resize(self.all_ends, n_ends)
                del self.all_logprobs[n_logprobs:]
                if self.history is not None:
                    del self.history[n_history:]
                return None
            units += <list>found
        return units

    cdef object _take(self, object record, list reuse):
        """The units one record finishes, or None, changing nothing. ``reuse``: a list only
        the feeder holds, refilled with them (see ``returned``), or None for a new list."""
        cdef PyObject* lp_found = NULL
        cdef Py_ssize_t cap = self.scratch_cap
        cdef Py_ssize_t m = _plain_record(
            record, &self.scratch, &self.scratch_cap, self.token_to_bytes, &lp_found
        )
        if self.scratch_cap != cap:  # grown (even for a record it then declined): one
            # CharInfo per byte, and the held one
            grown_infos = <CharInfo*>realloc(self.infos, (self.scratch_cap + 1) * sizeof(CharInfo))
            if grown_infos == NULL:
                self.scratch_cap = cap  # (infos still hold cap + 1)
                raise MemoryError()
            self.infos = grown_infos
        if m < 0:
            return None
        cdef object logprob = <object>lp_found
        cdef unsigned char* data = self.scratch
        cdef Py_ssize_t k

        # Pass 1 (changes nothing): the characters the bytes complete, in order after the held
        # one; the bytes must continue valid UTF-8.
        cdef Py_ssize_t j = self.seen, count = 0, completed = 0
        cdef long long pos = self.byte_pos, inc_byte = self.inc_byte
        cdef Py_ssize_t inc_first = self.inc_first
        cdef unsigned char h[4]
        cdef int hl = self.head_len, hn = self.head_need, q, step
        cdef CharInfo* info
        h[0], h[1], h[2], h[3] = self.head[0], self.head[1], self.head[2], self.head[3]
        cdef CharInfo* infos = self.infos
        if self.has_held:
            infos[0] = self.held
            count = 1
        for k in range(m):
            if hl == 0:
                inc_first, inc_byte = j, pos + k
            step = _utf8_step(data[k], h, &hl, &hn)
            if step < 0:
                return None
            if step:
                info = &infos[count]
                info.size = hn
                for q in range(hn):
                    info.data[q] = h[q]
                info.code = _code_point(h, hn)
                if self.graphemes and _may_join(info.code):
                    return None  # clusters of several characters may form: the Python path
                info.byte_start, info.byte_end = inc_byte, pos + k + 1
                info.first, info.last = inc_first, j
                count += 1
                completed += 1
                hl = 0

        # Pass 2: the units (all characters but a held last one, for graphemes).
        cdef bint was_pending = self.head_len > 0
        cdef Py_ssize_t emit = count - 1 if self.graphemes and count else count, i, t
        cdef list units
        cdef Py_ssize_t have = 0
        cdef PyObject* slot
        if reuse is None:
            units = PyList_New(emit)
        else:
            units, have = reuse, PyList_GET_SIZE(reuse)
            if have > emit:  # the slots past the new units: spares (or waiting)
                Py_SET_SIZE(units, emit)  # (first: dropping the caller's objects may run code)
                for i in range(emit, have):
                    self._release(PyList_GET_ITEM(units, i))  # (the list's reference, taken)
                have = emit
        cdef object single = None, tokens, score, unit, end_obj, byte_end_obj, value, text
        cdef object start_obj, byte_start_obj = None
        if self.last_end_obj is not None and self.last_end == self.char_pos:
            start_obj = self.last_end_obj
        else:
            start_obj = PyLong_FromLongLong(self.char_pos)
        cdef long long ch = self.char_pos
        cdef double total
        for i in range(emit):
            info = &infos[i]
            if info.first == info.last == j:
                if single is None:
                    single = PyTuple_New(1)
                    value = PyLong_FromSsize_t(j)
                    Py_INCREF(value)
                    PyTuple_SET_ITEM(single, 0, value)
                tokens, score = single, logprob
            elif (
                info.first == info.last
                and self.last_single is not None
                and self.last_single_token == info.first
            ):  # a held grapheme of the previous token: its (t,) again
                tokens, score = self.last_single, self._lp(info.first, j, logprob)
            else:
                tokens = PyTuple_New(info.last - info.first + 1)
                for t in range(info.first, info.last + 1):
                    value = PyLong_FromSsize_t(t)
                    Py_INCREF(value)
                    PyTuple_SET_ITEM(tokens, t - info.first, value)
                if info.first == info.last:
                    score = self._lp(info.first, j, logprob)
                else:
                    total = 0.0  # the summation rule: left to right in token order, from 0.0
                    for t in range(info.first, info.last + 1):
                        total += PyFloat_AS_DOUBLE(self._lp(t, j, logprob))
                    score = PyFloat_FromDouble(total)
            if byte_start_obj is None:
                if self.last_byte_end_obj is not None and self.last_byte_end == info.byte_start:
                    byte_start_obj = self.last_byte_end_obj
                else:
                    byte_start_obj = PyLong_FromLongLong(info.byte_start)
            end_obj = PyLong_FromLongLong(ch + 1)
            if info.byte_end == ch + 1:
                byte_end_obj = end_obj
            else:
                byte_end_obj = PyLong_FromLongLong(info.byte_end)
            self._append_text(info.data, info.size)
            text = _char_str(info.code)
            if i < have:
                slot = PyList_GET_ITEM(units, i)
                if _refcount(slot) == 1 and _refillable(slot):  # only the list holds it
                    tokbytes_unit8_refill(
                        <object>slot, text, start_obj, end_obj, byte_start_obj, byte_end_obj,
                        tokens, score
                    )
                else:  # the caller holds it: a unit in its place
                    unit = self._new_unit(
                        text, start_obj, end_obj, byte_start_obj, byte_end_obj, tokens, score
                    )
                    Py_INCREF(unit)
                    PyList_SET_ITEM(units, i, unit)
                    self._release(slot)
            else:
                unit = self._new_unit(
                    text, start_obj, end_obj, byte_start_obj, byte_end_obj, tokens, score
                )
                if reuse is None:
                    Py_INCREF(unit)
                    PyList_SET_ITEM(units, i, unit)
                else:
                    PyList_Append(units, unit)
            ch += 1
            start_obj, byte_start_obj = end_obj, byte_end_obj
        if emit:
            self.last_end_obj, self.last_end = start_obj, ch
            self.last_byte_end_obj, self.last_byte_end = byte_start_obj, infos[emit - 1].byte_end
        self.last_single, self.last_single_token = single, j

        # The new state, as the Python path leaves the decoder's fields: first the byte
        # reader's copy of every token (bytes, end offset, logprob) ...
        self._copy(data, m, logprob)
        # ... then the window
        if self.graphemes:
            if emit:
                self.reported_tokens = j + 1
        elif completed or not was_pending:
            self.reported_tokens = j + 1
        self.has_held = self.graphemes and count > 0
        if self.has_held:
            self.held = infos[count - 1]
        cdef long long frontier = -1
        if self.has_held:
            frontier = self.held.byte_start
        elif hl:
            frontier = inc_byte
        self._move_window(frontier, j, pos)
        self.head[0], self.head[1], self.head[2], self.head[3] = h[0], h[1], h[2], h[3]
        self.head_len, self.head_need = hl, hn
        self.inc_first, self.inc_byte = inc_first, inc_byte
        self.seen = j + 1
        self.byte_pos = pos + m
        self.char_pos = ch
        if self.history is not None:
            PyList_Append(self.history, record)
        return units

    def state(self):
        """``(parts, logprobs, token_base, byte_base, done, char_base, seen, reported_tokens,
        text, None)``: the decoder's fields as the Python path would have left them, and the
        text emitted since the last call (handed over once); see :meth:`SegmentFeeder.state`."""
        text = PyUnicode_DecodeUTF8(self.text, self.text_len, NULL)
        self.text_len = 0
        cdef long long frontier = self.held.byte_start if self.has_held else self.inc_byte
        if self.has_held or self.head_len:
            parts, logprobs = self._window()
            return (parts, logprobs, self.pend_first, self.pend_byte, frontier - self.pend_byte,
                    self.char_pos, self.seen, self.reported_tokens, text, None)
        return ([], [], self.seen, self.byte_pos, 0, self.char_pos, self.seen,
                self.reported_tokens, text, None)


def stream_feed(self, x):
    """``StreamDecoder.feed`` (see there): the armed ``CharFeeder`` first, called from C (no
    Python frame per token), then ``StreamDecoder._feed``."""
    cdef object feeder = self._feeder, found = None
    if feeder is not None:
        if type(feeder) is CharFeeder:
            found = (<CharFeeder>feeder)._feed(x)
        elif type(feeder) is SegmentFeeder:
            found = (<SegmentFeeder>feeder)._feed(x)
        if found is not None:
            return found
    return self._feed(x)


def char_feeder(list parts, list logprobs, Py_ssize_t token_base, long long byte_base,
                Py_ssize_t done, long long char_base, Py_ssize_t seen,
                Py_ssize_t reported_tokens, list history, bytearray all_bytes, array all_ends,
                list all_logprobs, token_to_bytes, bint graphemes=False):
    """A :class:`CharFeeder` taking over a ``StreamDecoder``'s window (its fields as the Python
    path leaves them) and appending to its byte reader's copy (``all_bytes``, ``all_ends``:
    an ``array("q")``, ``all_logprobs``; ``token_to_bytes``: ``escapes.token_text_to_bytes``),
    or None when the window is not what the feeder keeps: an incomplete last character, after
    (graphemes) one held character that cannot join a neighbour."""
    cdef CharFeeder feeder = CharFeeder.__new__(CharFeeder)
    cdef bytes pending
    cdef Py_ssize_t k, size, offset
    cdef int need
    if not feeder._adopt(parts, logprobs, token_base, byte_base, char_base, seen,
                         reported_tokens, history, all_bytes, all_ends, all_logprobs,
                         token_to_bytes, graphemes):
        return None
    if not parts:
        return feeder
    pending = b"".join(parts)[done:]
    offset = done  # window offset of the character read next
    if not pending:
        return None

    def token_of(Py_ssize_t window_offset):  # global index of the window token holding it
        cdef Py_ssize_t t = 0, end = len(parts[0])
        while end <= window_offset:
            t += 1
            end += len(parts[t])
        return token_base + t

    need = _utf8_length(pending[0])
    if need == 0:
        return None
    if graphemes and need <= len(pending):  # a held character first
        for k in range(1, need):
            if not (_second_ok(pending[0], pending[k]) if k == 1 else 0x80 <= pending[k] <= 0xBF):
                return None
        feeder.held.size = need
        for k in range(need):
            feeder.held.data[k] = pending[k]
        feeder.held.code = _code_point(feeder.held.data, need)
        if _may_join(feeder.held.code):
            return None
        feeder.held.byte_start = byte_base + done
        feeder.held.byte_end = byte_base + done + need
        feeder.held.first, feeder.held.last = token_of(done), token_of(done + need - 1)
        feeder.has_held = True
        pending = pending[need:]
        offset += need
        if not pending:
            return feeder
        need = _utf8_length(pending[0])
    if need <= len(pending) or need == 0:  # more than the feeder keeps
        return None
    for k in range(1, len(pending)):
        if not (_second_ok(pending[0], pending[k]) if k == 1 else 0x80 <= pending[k] <= 0xBF):
            return None
    for k in range(len(pending)):
        feeder.head[k] = pending[k]
    feeder.head_len, feeder.head_need = len(pending), need
    feeder.inc_first, feeder.inc_byte = token_of(offset), byte_base + offset
    return feeder


# -- the streaming decoder's per-token word path -----------------------------------------------

# UAX #29 word break classes the compiled word window handles (``segmentation.word_class``
# gives them, by regex's own properties); 255: a class it hands to the Python path (Extend,
# Format, ZWJ, Regional_Indicator, Hebrew_Letter, Double_Quote: rules that look through or
# count characters), 254: not known yet.
cdef enum:
    WB_OTHER = 0
    WB_ALETTER = 1
    WB_NUMERIC = 2
    WB_MIDLETTER = 3
    WB_MIDNUM = 4
    WB_MIDNUMLET = 5
    WB_SINGLEQUOTE = 6
    WB_EXTENDNUMLET = 7
    WB_WSEGSPACE = 8
    WB_KATAKANA = 9
    WB_CR = 10
    WB_LF = 11
    WB_NEWLINE = 12
    WB_EXTEND = 13
    WB_FORMAT = 14
    WB_ZWJ = 15
    WB_RI = 16
    WB_PICT = 0x40  # added for Extended_Pictographic (WB3c)
    WB_NONE = 253  # no character (before the start of the text)
    WB_UNKNOWN = 254
    WB_HANDED_ON = 255

cdef bytearray _word_classes = None
cdef unsigned char* _word_class = NULL
cdef object _classify = None


cdef bytearray _unknown_classes():
    """A class table (one byte per code point) with every class still to look up."""
    return bytearray(b"\xfe" * 0x110000)


cdef inline int _class_in(unsigned char* table, object classify, Py_UCS4 code) except -1:
    """The class of ``code`` in ``table``, asked of ``classify(char)`` on first sight."""
    cdef int found = table[code]
    if found == WB_UNKNOWN:
        found = classify(PyUnicode_FromOrdinal(code))
        table[code] = <unsigned char>found
    return found


def set_word_classes(classify):
    """Install ``classify(char) -> int`` (``segmentation.word_class``); classes are looked up
    once per code point, on first sight."""
    global _word_classes, _word_class, _classify
    _word_classes = _unknown_classes()
    _word_class = <unsigned char*>PyByteArray_AS_STRING(_word_classes)
    _classify = classify


def has_word_classes():
    return _word_class != NULL


cdef inline int _class_of(Py_UCS4 code) except -1:
    return _class_in(_word_class, _classify, code)


cdef inline bint _ahletter(int c) noexcept:
    return c == WB_ALETTER


cdef inline bint _midnumletq(int c) noexcept:
    return c == WB_MIDNUMLET or c == WB_SINGLEQUOTE


cdef struct WordChar:
    Py_UCS4 code
    int size, cls
    long long byte_start  # global byte offset
    Py_ssize_t first, last  # global indices of the tokens holding its first and last byte
    unsigned char data[4]


cdef inline bint _efz(int c) noexcept:
    return c == WB_EXTEND or c == WB_FORMAT or c == WB_ZWJ


cdef bint _word_break(const WordChar* v, Py_ssize_t n, Py_ssize_t p) noexcept:
    """regex's ``(?w)\\b`` at position ``p`` of the text ``v[:n]`` (0 < p < n), as the
    installed ``regex`` decides it (``tests/test_core.py`` checks them against each other):
    UAX #29 with WB4's Extend/Format/ZWJ skipped on both sides (also for the second character
    before and after, and in the regional-indicator count), a break when only such characters
    lie back to the start, and no WB5a; no Hebrew letters (WB7a-c never apply, and a double
    quote is then Other)."""
    cdef Py_ssize_t left = p - 1, pos
    cdef int l = v[left].cls & 0x3F, r = v[p].cls & 0x3F, l2, r2
    if l == WB_CR and r == WB_LF:  # WB3
        return False
    if l == WB_CR or l == WB_LF or l == WB_NEWLINE:  # WB3a
        return True
    if r == WB_CR or r == WB_LF or r == WB_NEWLINE:  # WB3b
        return True
    if l == WB_ZWJ and v[p].cls & WB_PICT:  # WB3c
        return False
    if l == WB_WSEGSPACE and r == WB_WSEGSPACE:  # WB3d
        return False
    if _efz(r):  # WB4
        return False
    while _efz(l):
        if left <= 0:  # only Extend/Format/ZWJ back to the start: regex breaks
            return True
        left -= 1
        l = v[left].cls & 0x3F
    if _ahletter(l) and _ahletter(r):  # WB5
        return False
    pos = p + 1  # the characters after r and before l, through Extend/Format/ZWJ
    while pos < n and _efz(v[pos].cls & 0x3F):
        pos += 1
    r2 = v[pos].cls & 0x3F if pos < n else WB_NONE
    pos = left - 1
    while pos >= 0 and _efz(v[pos].cls & 0x3F):
        pos -= 1
    l2 = v[pos].cls & 0x3F if pos >= 0 else WB_NONE
    if _ahletter(l) and (r == WB_MIDLETTER or _midnumletq(r)) and _ahletter(r2):  # WB6
        return False
    if _ahletter(l2) and (l == WB_MIDLETTER or _midnumletq(l)) and _ahletter(r):  # WB7
        return False
    if l == WB_NUMERIC and r == WB_NUMERIC:  # WB8
        return False
    if _ahletter(l) and r == WB_NUMERIC:  # WB9
        return False
    if l == WB_NUMERIC and _ahletter(r):  # WB10
        return False
    if l2 == WB_NUMERIC and (l == WB_MIDNUM or _midnumletq(l)) and r == WB_NUMERIC:  # WB11
        return False
    if l == WB_NUMERIC and (r == WB_MIDNUM or _midnumletq(r)) and r2 == WB_NUMERIC:  # WB12
        return False
    if l == WB_KATAKANA and r == WB_KATAKANA:  # WB13
        return False
    if (_ahletter(l) or l == WB_NUMERIC or l == WB_KATAKANA or l == WB_EXTENDNUMLET) and (
        r == WB_EXTENDNUMLET
    ):  # WB13a
        return False
    if l == WB_EXTENDNUMLET and (_ahletter(r) or r == WB_NUMERIC or r == WB_KATAKANA):  # WB13b
        return False
    cdef Py_ssize_t indicators = 0
    if r == WB_RI:  # WB15, WB16: regional indicators before, through Extend/Format/ZWJ
        pos = left
        while pos >= 0:
            if v[pos].cls & 0x3F == WB_RI:
                indicators += 1
            elif not _efz(v[pos].cls & 0x3F):
                break
            pos -= 1
        if indicators % 2 == 1:
            return False
    return True  # WB999


cdef Py_ssize_t _context_start(const WordChar* v, Py_ssize_t frontier) noexcept:
    """Where ``WordSegmenter.context`` starts the text before ``frontier`` that later scans
    must see (``v[frontier]`` exists): the second-last character other than Extend/Format/ZWJ
    at or before the frontier, or the first regional indicator of the run ending there."""
    cdef Py_ssize_t last = frontier, second, start, position
    while last >= 0 and _efz(v[last].cls & 0x3F):
        last -= 1
    if last < 0:
        return 0
    second = last - 1
    while second >= 0 and _efz(v[second].cls & 0x3F):
        second -= 1
    if second < 0:
        return 0
    start, position = second, last
    while v[position].cls & 0x3F == WB_RI:
        start = min(start, position)
        position -= 1
        while position >= 0 and _efz(v[position].cls & 0x3F):
            position -= 1
        if position < 0:
            break
    return start


def word_breaks(str text):
    """The boundaries :func:`_word_break` finds inside ``text`` (tests: they must be regex's),
    or None when ``text`` holds a class handed on."""
    if _word_class == NULL:
        raise ValueError("set_word_classes() first")
    cdef Py_ssize_t n = len(text), p
    cdef WordChar* v = <WordChar*>malloc((n + 1) * sizeof(WordChar))
    try:
        for p in range(n):
            v[p].code = PyUnicode_READ_CHAR(text, p)
            v[p].cls = _class_of(v[p].code)
            if v[p].cls == WB_HANDED_ON:
                return None
        return [p for p in range(1, n) if _word_break(v, n, p)]
    finally:
        free(v)


def word_context(str text, Py_ssize_t frontier):
    """``text[_context_start(text, frontier):frontier]`` (tests: it must be
    ``WordSegmenter.context``'s), or None when ``text`` holds a class handed on."""
    if _word_class == NULL:
        raise ValueError("set_word_classes() first")
    cdef Py_ssize_t n = len(text), p
    cdef WordChar* v = <WordChar*>malloc((n + 1) * sizeof(WordChar))
    try:
        for p in range(n):
            v[p].code = PyUnicode_READ_CHAR(text, p)
            v[p].cls = _class_of(v[p].code)
            if v[p].cls == WB_HANDED_ON:
                return None
        return text[_context_start(v, frontier):frontier]
    finally:
        free(v)


# Grapheme cluster break classes (``units.grapheme_class``), GB_PICT added for
# Extended_Pictographic; 255: handed on (InCB=Consonant: GB9c looks back over a run).
cdef enum:
    GB_OTHER = 0
    GB_CR = 1
    GB_LF = 2
    GB_CONTROL = 3
    GB_EXTEND = 4
    GB_ZWJ = 5
    GB_RI = 6
    GB_PREPEND = 7
    GB_SPACINGMARK = 8
    GB_L = 9
    GB_V = 10
    GB_T = 11
    GB_LV = 12
    GB_LVT = 13
    GB_PICT = 0x40

cdef bytearray _grapheme_classes = None
cdef unsigned char* _grapheme_class = NULL
cdef object _classify_grapheme = None


def set_grapheme_classes(classify):
    """Install ``classify(char) -> int`` (``units.grapheme_class``), looked up once per code
    point, on first sight."""
    global _grapheme_classes, _grapheme_class, _classify_grapheme
    _grapheme_classes = _unknown_classes()
    _grapheme_class = <unsigned char*>PyByteArray_AS_STRING(_grapheme_classes)
    _classify_grapheme = classify


def has_grapheme_classes():
    return _grapheme_class != NULL


cdef inline int _gclass_of(Py_UCS4 code) except -1:
    return _class_in(_grapheme_class, _classify_grapheme, code)


cdef bint _grapheme_break(int left, int right, bint pict_zwj, Py_ssize_t ri_run) noexcept:
    """regex's ``\\X`` boundary between characters of classes ``left`` and ``right``
    (``pict_zwj``: the characters before ``right`` end with Extended_Pictographic Extend* ZWJ;
    ``ri_run``: regional indicators ending at ``left``), for the classes above (no
    InCB=Consonant: GB9c never applies)."""
    cdef int l = left & 0x3F, r = right & 0x3F
    if l == GB_CR and r == GB_LF:  # GB3
        return False
    if l == GB_CR or l == GB_LF or l == GB_CONTROL:  # GB4
        return True
    if r == GB_CR or r == GB_LF or r == GB_CONTROL:  # GB5
        return True
    if l == GB_L and (r == GB_L or r == GB_V or r == GB_LV or r == GB_LVT):  # GB6
        return False
    if (l == GB_LV or l == GB_V) and (r == GB_V or r == GB_T):  # GB7
        return False
    if (l == GB_LVT or l == GB_T) and r == GB_T:  # GB8
        return False
    if r == GB_EXTEND or r == GB_ZWJ or r == GB_SPACINGMARK:  # GB9, GB9a
        return False
    if l == GB_PREPEND:  # GB9b
        return False
    if l == GB_ZWJ and right & GB_PICT and pict_zwj:  # GB11
        return False
    if l == GB_RI and r == GB_RI and ri_run % 2 == 1:  # GB12, GB13
        return False
    return True  # GB999


cdef Py_ssize_t _grapheme_bounds(WordChar* chars, Py_ssize_t total, Py_ssize_t* bounds) noexcept:
    """The boundaries inside ``chars[:total]`` (which starts at a boundary) into ``bounds``."""
    cdef Py_ssize_t count = 0, p, ri = 1 if chars[0].cls & 0x3F == GB_RI else 0
    cdef int state = 1 if chars[0].cls & GB_PICT else 0  # 1: pictographic Extend*, 2: then ZWJ
    cdef int r
    for p in range(1, total):
        r = chars[p].cls
        if _grapheme_break(chars[p - 1].cls, r, state == 2, ri):
            bounds[count] = p
            count += 1
        ri = ri + 1 if r & 0x3F == GB_RI else 0
        if r & GB_PICT:
            state = 1
        elif state == 1 and r & 0x3F == GB_EXTEND:
            state = 1
        elif state == 1 and r & 0x3F == GB_ZWJ:
            state = 2
        else:
            state = 0
    return count


def grapheme_breaks(str text):
    """The boundaries :func:`_grapheme_break` finds inside ``text`` (tests: they must be
    regex's), or None when ``text`` holds a class handed on."""
    if _grapheme_class == NULL:
        raise ValueError("set_grapheme_classes() first")
    cdef Py_ssize_t n = len(text), p
    if not n:
        return []
    cdef WordChar* chars = <WordChar*>malloc(n * sizeof(WordChar))
    cdef Py_ssize_t* bounds = <Py_ssize_t*>malloc(n * sizeof(Py_ssize_t))
    try:
        for p in range(n):
            chars[p].cls = _gclass_of(PyUnicode_READ_CHAR(text, p))
            if chars[p].cls == WB_HANDED_ON:
                return None
        return [bounds[p] for p in range(_grapheme_bounds(chars, n, bounds))]
    finally:
        free(chars)
        free(bounds)


cdef Py_ssize_t _plain_record(object record, unsigned char** scratch, Py_ssize_t* cap,
                              object token_to_bytes, PyObject** logprob) except -2:
    """The bytes of a record ``ByteReader.take_verified`` takes, into ``scratch``: their
    count, or -1 ("not mine"); see :class:`CharFeeder` for the conditions."""
    if type(record) is not dict:
        return -1
    cdef PyObject* found = PyDict_GetItemWithError(record, "logprob")
    if found == NULL or type(<object>found) is not float:
        return -1
    if not PyFloat_AS_DOUBLE(<object>found) <= LOGPROB_TOLERANCE:  # NaN too
        return -1
    logprob[0] = found
    found = PyDict_GetItemWithError(record, "bytes")
    if found == NULL or type(<object>found) is not list:
        return -1
    cdef object raw = <object>found
    cdef Py_ssize_t m = PyList_GET_SIZE(raw), k
    if m == 0:
        return -1
    if m > cap[0]:
        grown = <unsigned char*>realloc(scratch[0], 2 * m)
        if grown == NULL:
            raise MemoryError()
        scratch[0], cap[0] = grown, 2 * m
    cdef unsigned char* data = scratch[0]
    cdef long v
    cdef int overflow
    cdef PyObject* item
    for k in range(m):
        item = PyList_GET_ITEM(raw, k)
        if type(<object>item) is not int:
            return -1
        v = PyLong_AsLongAndOverflow(<object>item, &overflow)  # no error for huge ints
        if v < 2 or v > 255:  # NUL and SOH: the Python path says what they are
            return -1
        data[k] = <unsigned char>v
    if data[0] == 60:  # "<": maybe a SentencePiece <0xNN> piece
        return -1
    for k in range(m - 2):
        if data[k] == 0xEF and data[k + 1] == 0xBF and data[k + 2] == 0xBD:  # U+FFFD
            return -1
        if data[k] == 0xE2 and data[k + 1] == 0x96 and data[k + 2] == 0x81:  # "▁"
            return -1
    found = PyDict_GetItemWithError(record, "token")
    if found != NULL and type(<object>found) is str:
        if not _token_says(<object>found, data, m, token_to_bytes):
            return -1
    return m


cdef class SegmentFeeder(_Feeder):
    """``StreamDecoder`` words (``uax29``) or graphemes, cover scores, fed plain records.

    Takes the records :class:`CharFeeder` takes (as a record or a one-record list) whose
    characters are of the word break classes :func:`_word_break` handles (graphemes: the
    classes of :func:`_grapheme_break`), and returns the units they finish as
    ``DirectWindow._direct_words`` (``_direct``) makes them: a word boundary is final once two
    characters other than Extend/Format/ZWJ follow it (``segmentation._final_limit``), a
    grapheme boundary once one character does; a word is a segment without its edge
    whitespace; a unit's tokens are those
    carrying its bytes, its score their logprob or left-to-right sum. Or None, changing nothing.

    The window: the complete characters from the frontier on (``chars[n_hist:]``), after the
    context the word rules look back at (``chars[:n_hist]``, ``WordSegmenter.context``), an
    incomplete last one (``head``), and the tokens from the one holding the frontier byte
    (see :class:`_Feeder`).
    """

    cdef WordChar* chars
    cdef Py_ssize_t n_chars, chars_cap, examined
    cdef Py_ssize_t* bounds
    cdef Py_UCS4* codes
    cdef Py_ssize_t n_hist  # chars[:n_hist]: the context before the frontier (words)
    cdef bint moved

    def __dealloc__(self):
        free(self.chars)
        free(self.bounds)
        free(self.codes)

    cdef int _reserve(self, Py_ssize_t size) except -1:
        if size <= self.chars_cap:
            return 0
        size = 2 * size + 16
        grown = <WordChar*>realloc(self.chars, size * sizeof(WordChar))
        if grown == NULL:
            raise MemoryError()
        self.chars = grown
        grown_bounds = <Py_ssize_t*>realloc(self.bounds, size * sizeof(Py_ssize_t))
        if grown_bounds == NULL:
            raise MemoryError()
        self.bounds = grown_bounds
        grown_codes = <Py_UCS4*>realloc(self.codes, size * sizeof(Py_UCS4))
        if grown_codes == NULL:
            raise MemoryError()
        self.codes = grown_codes
        self.chars_cap = size
        return 0

    cdef object _feed(self, object x):
        cdef object kind = type(x)
        if kind is dict:
            return self._take(x)
        if (kind is list or kind is tuple) and len(x) == 1:
            return self._take(x[0])
        return None

    cdef object _take(self, object record):
        cdef PyObject* lp_found = NULL
        cdef Py_ssize_t m = _plain_record(
            record, &self.scratch, &self.scratch_cap, self.token_to_bytes, &lp_found
        )
        if m < 0:
            return None
        cdef object logprob = <object>lp_found
        cdef unsigned char* data = self.scratch
        self._reserve(self.n_chars + m + 1)

        # Pass 1 (changes nothing): the characters the bytes complete, after chars[n_chars - 1]
        cdef Py_ssize_t j = self.seen, total = self.n_chars, k, p
        cdef long long pos = self.byte_pos, inc_byte = self.inc_byte
        cdef Py_ssize_t inc_first = self.inc_first
        cdef unsigned char h[4]
        cdef int hl = self.head_len, hn = self.head_need, q, cls, step
        cdef WordChar* c
        cdef WordChar* chars = self.chars
        h[0], h[1], h[2], h[3] = self.head[0], self.head[1], self.head[2], self.head[3]
        for k in range(m):
            if hl == 0:
                inc_first, inc_byte = j, pos + k
            step = _utf8_step(data[k], h, &hl, &hn)
            if step < 0:
                return None
            if step:
                c = &chars[total]
                c.size = hn
                for q in range(hn):
                    c.data[q] = h[q]
                c.code = _code_point(h, hn)
                cls = _gclass_of(c.code) if self.graphemes else _class_of(c.code)
                if cls == WB_HANDED_ON:
                    return None
                c.cls = cls
                c.byte_start, c.first, c.last = inc_byte, inc_first, j
                total += 1
                hl = 0

        # The final boundaries (two characters after each), and the words between them
        cdef Py_ssize_t n_bounds = 0, a, e, n_hist = self.n_hist, limit = -1, others = 0
        if self.graphemes:  # a boundary is final once the character after it came
            if total:
                n_bounds = _grapheme_bounds(chars, total, self.bounds)
        else:  # ... once two characters other than Extend/Format/ZWJ follow it
            p = total - 1
            while p >= n_hist:
                if not _efz(chars[p].cls & 0x3F):
                    others += 1
                    if others == 2:
                        limit = p
                        break
                p -= 1
            for p in range(max(self.examined, n_hist) + 1, limit + 1):
                if _word_break(chars, total, p):
                    self.bounds[n_bounds] = p
                    n_bounds += 1
        cdef list units = []
        cdef Py_ssize_t start = n_hist, end, t, first, last
        cdef double score_sum
        cdef object tokens, score, value, word
        cdef Py_UCS4* codes = self.codes
        for k in range(n_bounds):
            end = self.bounds[k]
            a, e = start, end
            if not self.graphemes:  # a word: the segment without its edge whitespace
                while a < e and Py_UNICODE_ISSPACE(chars[a].code):
                    a += 1
                while e > a and Py_UNICODE_ISSPACE(chars[e - 1].code):
                    e -= 1
            start = end
            if a == e:
                continue
            for t in range(a, e):
                codes[t - a] = chars[t].code
            word = PyUnicode_FromKindAndData(4, codes, e - a)
            first, last = chars[a].first, chars[e - 1].last
            tokens = PyTuple_New(last - first + 1)
            for t in range(first, last + 1):
                value = PyLong_FromSsize_t(t)
                Py_INCREF(value)
                PyTuple_SET_ITEM(tokens, t - first, value)
            if first == last:
                score = self._lp(first, j, logprob)
            else:
                score_sum = 0.0  # the summation rule: left to right in token order, from 0.0
                for t in range(first, last + 1):
                    score_sum += PyFloat_AS_DOUBLE(self._lp(t, j, logprob))
                score = PyFloat_FromDouble(score_sum)
            PyList_Append(units, _make_unit(
                word, self.char_pos + a - n_hist, self.char_pos + e - n_hist, chars[a].byte_start,
                chars[e - 1].byte_start + chars[e - 1].size, tokens, score
            ))

        # The new state: the byte reader's copy, then the window
        self._copy(data, m, logprob)
        cdef Py_ssize_t moved = self.bounds[n_bounds - 1] - n_hist if n_bounds else 0, shift = 0
        for k in range(n_hist, n_hist + moved):
            self._append_text(chars[k].data, chars[k].size)
        if not self.graphemes:
            self.examined = max(self.examined, limit)
        if moved:  # the new frontier, after the context the rules may look back at
            shift = n_hist + moved
            if not self.graphemes:
                shift = _context_start(chars, n_hist + moved)
            memmove(chars, chars + shift, (total - shift) * sizeof(WordChar))
            self.n_hist = n_hist + moved - shift
            self.examined -= shift
            self.moved = True
        self.n_chars = total - shift
        self.char_pos += moved
        if moved or not self.graphemes:  # (as _direct_words, and _direct once it emits)
            self.reported_tokens = j + 1
        cdef long long frontier = -1
        if self.n_chars > self.n_hist:
            frontier = chars[self.n_hist].byte_start
        elif hl:
            frontier = inc_byte
        self._move_window(frontier, j, pos)
        self.head[0], self.head[1], self.head[2], self.head[3] = h[0], h[1], h[2], h[3]
        self.head_len, self.head_need = hl, hn
        self.inc_first, self.inc_byte = inc_first, inc_byte
        self.seen = j + 1
        self.byte_pos = pos + m
        if self.history is not None:
            PyList_Append(self.history, record)
        return units

    def state(self):
        """``(parts, logprobs, token_base, byte_base, done, char_base, seen, reported_tokens,
        text, context)``: the decoder's fields as the Python path would have left them, the
        text emitted since the last call, and (words), when the frontier moved since then, the
        new ``_context`` (else None)."""
        text = PyUnicode_DecodeUTF8(self.text, self.text_len, NULL)
        self.text_len = 0
        context = None
        cdef Py_ssize_t k
        if self.moved and not self.graphemes:
            for k in range(self.n_hist):
                self.codes[k] = self.chars[k].code
            context = PyUnicode_FromKindAndData(4, self.codes, self.n_hist)
            self.moved = False
        cdef long long frontier = -1
        if self.n_chars > self.n_hist:
            frontier = self.chars[self.n_hist].byte_start
        elif self.head_len:
            frontier = self.inc_byte
        if frontier >= 0:
            parts, logprobs = self._window()
            return (parts, logprobs, self.pend_first, self.pend_byte, frontier - self.pend_byte,
                    self.char_pos, self.seen, self.reported_tokens, text, context)
        return ([], [], self.seen, self.byte_pos, 0, self.char_pos, self.seen,
                self.reported_tokens, text, context)


def segment_feeder(list parts, list logprobs, Py_ssize_t token_base, long long byte_base,
                Py_ssize_t done, long long char_base, Py_ssize_t seen,
                Py_ssize_t reported_tokens, list history, bytearray all_bytes, array all_ends,
                list all_logprobs, token_to_bytes, str context, bint graphemes=False):
    """A :class:`SegmentFeeder` taking over a ``StreamDecoder``'s word or grapheme window (its
    fields as the Python path leaves them; ``context``: its ``_context``), or None when the
    window or (words) the character before the frontier holds a class the feeder hands on."""
    if (_grapheme_class if graphemes else _word_class) == NULL:
        return None
    cdef SegmentFeeder feeder = SegmentFeeder.__new__(SegmentFeeder)
    if not feeder._adopt(parts, logprobs, token_base, byte_base, char_base, seen,
                         reported_tokens, history, all_bytes, all_ends, all_logprobs,
                         token_to_bytes, graphemes):
        return None
    cdef Py_ssize_t k
    if not graphemes:  # the context the word rules look back at (clusters need none)
        feeder._reserve(len(context) + 1)
        for k in range(len(context)):
            feeder.chars[k].code = PyUnicode_READ_CHAR(context, k)
            feeder.chars[k].cls = _class_of(feeder.chars[k].code)
            if feeder.chars[k].cls == WB_HANDED_ON:
                return None
        feeder.n_chars = feeder.n_hist = feeder.examined = len(context)
    cdef bytes pending = b"".join(parts)[done:]
    cdef Py_ssize_t size = len(pending), offset = 0, need, q
    if not parts:
        return None if done else feeder
    feeder._reserve(feeder.n_chars + size + 1)
    cdef WordChar* c
    cdef long long byte

    def token_of(long long byte):  # global index of the window token holding global byte
        cdef Py_ssize_t i = 0
        cdef long long end = byte_base + len(parts[0])
        while end <= byte:
            i += 1
            end += len(parts[i])
        return token_base + i

    while offset < size:
        need = _utf8_length(pending[offset])
        if need == 0:
            return None
        for q in range(1, min(need, size - offset)):
            if not (_second_ok(pending[offset], pending[offset + 1]) if q == 1
                    else 0x80 <= pending[offset + q] <= 0xBF):
                return None
        byte = byte_base + done + offset
        if offset + need > size:  # the incomplete last character
            for q in range(size - offset):
                feeder.head[q] = pending[offset + q]
            feeder.head_len, feeder.head_need = size - offset, need
            feeder.inc_first, feeder.inc_byte = token_of(byte), byte
            break
        c = &feeder.chars[feeder.n_chars]
        c.size = need
        for q in range(need):
            c.data[q] = pending[offset + q]
        c.code = _code_point(c.data, need)
        c.cls = _gclass_of(c.code) if graphemes else _class_of(c.code)
        if c.cls == WB_HANDED_ON:
            return None
        c.byte_start, c.first, c.last = byte, token_of(byte), token_of(byte + need - 1)
        feeder.n_chars += 1
        offset += need
    return feeder
