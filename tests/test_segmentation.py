"""segmentation: uax29, icu and callable word segmenters, through decode and StreamDecoder.

Oracles: the Unicode 17 test files (both segmenters must give their boundaries), ICU's own break
iterator read here code unit by code unit (``words="icu"`` must give its words on real cl100k
tokens), and batch ``decode`` for streaming (every chunking, ``icu`` and a callable).
"""

from __future__ import annotations

import json
import math
import os
import subprocess
import sys
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any
from unittest import mock

import pytest
import regex
from hypothesis import example, given, settings
from hypothesis import strategies as st

import tokbytes
from tests.hypothesis_profile import scaled
from tests.shared_data import cl100k_encoding, require_shared
from tests.test_stream import batch, streamed
from tests.test_units import one_byte_per_token, unicode_cases
from tests.texts import logprobs as logprob_values
from tests.texts import records, splits
from tokbytes import _uax29_repair, segmentation
from tokbytes.segmentation import UAX29_CONFORMANT, WordSegmenter, word_kinds, word_spans
from tokbytes.strategies import payloads, stream_chunkings

try:
    import icu4py.breakers as icu
except ImportError:  # the uax29 and callable tests still run
    icu = None
needs_icu = pytest.mark.skipif(
    icu is None, reason='icu4py is not installed (pip install "tokbytes[icu]")'
)

SEGMENTERS = ("uax29", pytest.param("icu", marks=needs_icu))

# One sentence per script ICU segments with a dictionary, with Latin, digits and punctuation.
SENTENCES = {
    "zh": "我们明天下午去图书馆学习机器学习模型，然后在2026年发布。",
    "ja": "私は毎朝コーヒーを飲みます。東京タワーへ行きましょう！",
    "th": "ภาษาไทยไม่มีการเว้นวรรคระหว่างคำ สวัสดีครับ",
    "lo": "ພາສາລາວເປັນພາສາທີ່ສວຍງາມ ຂອບໃຈຫຼາຍ",
    "km": "ភាសាខ្មែរគឺជាភាសាផ្លូវការរបស់កម្ពុជា។",
    "my": "မြန်မာဘာသာစကားသည် လှပသောဘာသာစကားဖြစ်သည်။",
    "mixed": "GPT-4 说：“机器学习很有趣” 🙂 and ไทย 3.14% ok",
}


def icu_words(text: str) -> list[tuple[int, int]]:
    """ICU's word segments of ``text`` as code point spans, converted one code unit at a time,
    without whitespace-only segments and without whitespace at their edges."""
    code_point_at: dict[int, int] = {}
    units = 0
    for index, char in enumerate(text):
        code_point_at[units] = index
        units += 2 if ord(char) > 0xFFFF else 1
    code_point_at[units] = len(text)
    out = []
    for start16, end16 in icu.WordBreaker(text, "").segments():
        start, end = code_point_at[start16], code_point_at[end16]
        piece = text[start:end]
        if piece.strip():
            out.append(
                (start + len(piece) - len(piece.lstrip()), end - len(piece) + len(piece.rstrip()))
            )
    return out


def cl100k_records(text: str, logprob: float = -0.1) -> list[dict[str, object]]:
    encoding = cl100k_encoding()
    parts = [encoding.decode_single_token_bytes(t) for t in encoding.encode(text)]
    return records(parts, [logprob * (1 + i % 7) for i in range(len(parts))])


# -- the Unicode 17 test files ---------------------------------------------------------------------


@pytest.mark.parametrize("repair", [False, True], ids=["as installed", "repair forced"])
@pytest.mark.parametrize("words", SEGMENTERS)
def test_words_of_both_segmenters_follow_unicode_word_break_test(words: str, repair: bool) -> None:
    """Every line, with the regex installed (an old one is repaired: Python 3.10) and with the
    repair forced on whatever regex is installed (on a conformant one it must change nothing)."""
    if repair and words != "uax29":
        pytest.skip("the repair is of regex's UAX #29 boundaries only")
    cases = unicode_cases(require_shared("unicode/ucd-17.0.0/WordBreakTest.txt"))
    agree = 0
    with mock.patch.object(segmentation, "UAX29_CONFORMANT", UAX29_CONFORMANT and not repair):
        for text, breaks in cases:
            assert WordSegmenter(words).bounds(text) == breaks  # type: ignore[arg-type]
            expected = []
            for a, b in zip(breaks, breaks[1:]):
                piece = text[a:b]
                if piece.strip():
                    expected.append(
                        (a + len(piece) - len(piece.lstrip()), b - len(piece) + len(piece.rstrip()))
                    )
            if any("\ud800" <= c <= "\udfff" for c in text):
                assert word_spans(text, words) == expected
            else:  # through tokbytes: one token per byte
                doc = tokbytes.decode(_bytes_records(text), words=words)
                assert [(w.start, w.end) for w in doc.words] == expected
            agree += 1
    assert agree == len(cases) == 1944


def test_the_regex_probe_tells_a_conformant_regex() -> None:
    """The probes agree with the release notes: regex fixed these word breaks in 2026.11.19."""
    version = tuple(int(part) for part in regex.__version__.split(".")[:3])
    assert (version >= (2026, 11, 19)) == UAX29_CONFORMANT


def test_an_old_regex_is_repaired_where_everyday_text_shows_it() -> None:
    """What regex 2026.9.29 (Python 3.10) gets wrong: a leading apostrophe joins the word."""
    text = "'Tis 'hello' and a:\u0308b\n\u0301x 🇫🇷🇩🇪x"
    words = ["'", "Tis", "'", "hello", "'", "and", "a:\u0308b", "\u0301", "x", "🇫🇷", "🇩🇪", "x"]
    assert [text[a:b] for a, b in word_spans(text)] == words
    with mock.patch.object(segmentation, "UAX29_CONFORMANT", False):
        assert [text[a:b] for a, b in word_spans(text)] == words


@pytest.mark.parametrize(
    ("text", "old", "conformant"),
    [
        # WB15/16: the second regional indicator of a pair, after Extend and ZWJ
        ("🇦\u0308\u200d🇦🇦🇦", [0, 5, 6], [0, 4, 6]),
        # WB7b/c: Hebrew letter " Hebrew letter, through Extend and Format
        ('\u200d\ufb1f\u0354"\u05d0\U0001d175', [0, 1, 4, 6], [0, 1, 6]),
    ],
)
def test_the_repair_of_what_random_texts_found(
    text: str, old: list[int], conformant: list[int]
) -> None:
    """Boundaries regex 2026.9.29 gives (``old``) and 2026.12.2 (``conformant``): the repair
    takes the first to the second and leaves the second alone."""
    assert _uax29_repair.repaired(text, old) == conformant
    assert _uax29_repair.repaired(text, conformant) == conformant
    if UAX29_CONFORMANT:
        assert WordSegmenter("uax29").bounds(text) == conformant


# Characters of the word break classes the repair is about, and their neighbours.
TRICKY = [
    "a",
    "B",
    "א",
    "1",
    "'",
    "\u2019",
    ".",
    ":",
    ",",
    " ",
    "\n",
    "\u0308",
    "\u200d",
    "\u00ad",
    '"',
    "ש",
    "🇦",
    "🇧",
    "😀",
    "_",
    "ア",
    "字",
]


@settings(max_examples=scaled(200), deadline=None)
@given(st.lists(st.sampled_from(TRICKY), max_size=12).map("".join))
def test_the_repair_changes_nothing_on_a_conformant_regex(text: str) -> None:
    if not UAX29_CONFORMANT:
        pytest.skip(
            f"regex {regex.__version__} is not conformant (WordBreakTest checks the repair)"
        )
    bounds = WordSegmenter("uax29").bounds(text)
    assert _uax29_repair.repaired(text, bounds) == bounds


@settings(max_examples=scaled(60), deadline=None)
@given(st.lists(st.sampled_from(TRICKY), max_size=12).map("".join), st.data())
def test_repaired_words_stream_as_they_decode(text: str, data: st.DataObject) -> None:
    tokens = _bytes_records(text)
    sizes = data.draw(st.lists(st.integers(1, 4), max_size=len(tokens)))
    with mock.patch.object(segmentation, "UAX29_CONFORMANT", False):
        _check_stream(tokens, sizes, "uax29")


def _bytes_records(text: str) -> list[dict[str, object]]:
    data = text.encode()
    return records([bytes([b]) for b in data], [-0.01] * len(data))


def test_graphemes_follow_every_line_of_unicode_grapheme_break_test() -> None:
    cases = unicode_cases(require_shared("unicode/ucd-17.0.0/GraphemeBreakTest.txt"))
    agree = 0
    for text, breaks in cases:
        doc = one_byte_per_token(text)
        agree += [g.start for g in doc.graphemes] + [len(text)] == breaks
        # ICU's character break iterator agrees on every line too (it counts UTF-16 units)
        if icu is not None and (text.isascii() or max(text) <= "\uffff"):
            assert [0, *(e for _, e in icu.CharacterBreaker(text, "").segments())] == breaks
    assert agree == len(cases) == 766


def test_gb9c_virama_without_a_consonant_before_it_does_not_link() -> None:
    # GraphemeBreakTest 17.0 lines 171, 172, 781, 782 (regex's \X joins them)
    for text, clusters in [
        ("\u094d\u0915", ["\u094d", "\u0915"]),
        ("\u094d\u0308\u0915", ["\u094d\u0308", "\u0915"]),
        ("a\u094d\u0924", ["a\u094d", "\u0924"]),
        ("?\u094d\u0924", ["?\u094d", "\u0924"]),
        ("\u0915\u094d\u0924", ["\u0915\u094d\u0924"]),  # GB9c: ka + virama + ta is one
        ("हिन्दी", ["हि", "न्दी"]),
    ]:
        doc = one_byte_per_token(text)
        assert [g.text for g in doc.graphemes] == clusters
        assert [
            u.text for u in tokbytes.stream_units(_bytes_records(text), level="grapheme")
        ] == clusters


# -- icu against ICU itself, on real cl100k tokens -------------------------------------------------


@needs_icu
@pytest.mark.parametrize("language", sorted(SENTENCES))
def test_icu_words_equal_icu_breaks_on_cl100k_tokens(language: str) -> None:
    text = SENTENCES[language]
    doc = tokbytes.decode(cl100k_records(text), words="icu")
    assert doc.text == text
    assert [(w.start, w.end) for w in doc.words] == icu_words(text)
    assert [(w.start, w.end) for w in doc.words] != [
        (w.start, w.end) for w in tokbytes.decode(cl100k_records(text)).words
    ]  # the dictionary changes the words of every one of these sentences
    # and a word's tokens and score are those of the tokens carrying its bytes
    for word in doc.words:
        span = doc.span(word.start, word.end)
        assert (span.tokens, span.logprob) == (word.tokens, word.logprob)


@needs_icu
def test_icu_gives_dictionary_words_uax29_gives_characters() -> None:
    assert [w.text for w in tokbytes.decode(cl100k_records("机器学习模型"), words="icu").words] == [
        "机器",
        "学习",
        "模型",
    ]
    assert len(tokbytes.decode(cl100k_records("机器学习模型")).words) == 6
    thai = tokbytes.decode(cl100k_records("สวัสดีครับ"), words="icu")
    assert thai.words.texts() == ["สวัสดี", "ครับ"]
    assert thai.segmenter.name == "icu"


@needs_icu
def test_icu_offsets_are_code_points_after_astral_characters() -> None:
    text = "👍🏽 hi 𠀀学习 ok"
    assert [text[a:b] for a, b in word_spans(text, "icu")] == ["👍🏽", "hi", "𠀀", "学习", "ok"]
    assert word_spans("a\ud800b", "icu") == [(0, 1), (1, 2), (2, 3)]  # lone surrogate: U+FFFD


@needs_icu
def test_icu_locale_is_passed_and_checked() -> None:
    text = "ภาษาไทย"
    assert word_spans(text, "icu", locale="th") == word_spans(text, "icu")
    assert tokbytes.decode(
        cl100k_records(text), words=WordSegmenter("icu", locale="th")
    ).words.texts() == [
        "ภาษา",
        "ไทย",
    ]
    with pytest.raises(tokbytes.InputError, match="locale applies only"):
        WordSegmenter("uax29", locale="th")


def test_missing_icu4py_raises_import_error_naming_the_extra() -> None:
    with mock.patch.dict(sys.modules, {"icu4py.breakers": None}):
        with pytest.raises(ImportError, match=r'pip install "tokbytes\[icu\]"'):
            tokbytes.decode(cl100k_records("hi"), words="icu")
        with pytest.raises(ImportError, match=r'pip install "tokbytes\[icu\]"'):
            tokbytes.StreamDecoder("word", words="icu")


# -- callables ----------------------------------------------------------------------------------------


def test_a_callable_gives_the_words_and_scores_work_the_same() -> None:
    text = "东京大学 ok"
    doc = tokbytes.decode(cl100k_records(text), words=lambda t: [(0, 2), (2, 4), (5, 7)])
    assert doc.words.texts() == ["东京", "大学", "ok"]
    assert doc.segmenter.name == "custom"
    for word in doc.words:
        assert (word.tokens, word.logprob) == (
            doc.span(word.start, word.end).tokens,
            doc.span(word.start, word.end).logprob,
        )


@pytest.mark.parametrize(
    ("spans", "message"),
    [
        ([(0, 3), (2, 4)], "overlap"),
        ([(0, 9)], "outside the text"),
        ([(2, 1)], "outside the text"),
        ([(0.5, 1)], "outside the text"),
        ([3], r"\(start, end\) pairs"),
    ],
)
def test_bad_callable_spans_raise_input_error(spans: list[Any], message: str) -> None:
    with pytest.raises(tokbytes.InputError, match=message):
        _ = tokbytes.decode(cl100k_records("abcd"), words=lambda t: spans).words


def test_callable_spans_are_sorted_empty_ones_skipped_and_trimmed() -> None:
    assert word_spans("ab cd", lambda t: [(3, 5), (2, 2), (0, 3)]) == [(0, 2), (3, 5)]


@pytest.mark.parametrize("bad", ["icu4", 3, None])
def test_bad_words_option_raises_input_error(bad: Any) -> None:
    with pytest.raises(tokbytes.InputError, match="words must be"):
        tokbytes.decode(cl100k_records("a"), words=bad)
    with pytest.raises(tokbytes.InputError, match="words must be"):
        tokbytes.StreamDecoder("word", words=bad)


# -- whitespace inside a segment (issue 14, item 7) -----------------------------------------------


@pytest.mark.parametrize("words", SEGMENTERS)
@pytest.mark.parametrize("attribution", ["cover", "split"])
def test_a_whitespace_token_at_a_segment_edge_belongs_to_no_word(
    words: str, attribution: str
) -> None:
    # " " + U+0308 is one UAX #29 segment (WB4); the space is not part of the word.
    tokens = records([b"a", b" ", "\u0308".encode(), b"b"], [-0.5, -1.0, -0.25, -0.125])
    doc = tokbytes.decode(tokens, words=words, attribution=attribution)
    assert [(w.text, w.start, w.end, w.tokens) for w in doc.words] == [
        ("a", 0, 1, (0,)),
        ("\u0308", 2, 3, (2,)),
        ("b", 3, 4, (3,)),
    ]
    assert doc.words.logprobs() == [-0.5, -0.25, -0.125]  # the space's -1.0 is in no word
    assert [
        w for w in tokbytes.stream_units(tokens, level="word", attribution=attribution, words=words)
    ] == list(doc.words)


def test_whitespace_inside_a_segment_stays_in_its_word() -> None:
    tokens = records([b"1", "\u202f".encode(), b"000"], [-0.5, -1.0, -0.25])  # French 1 000
    doc = tokbytes.decode(tokens)
    assert [(w.text, w.tokens, w.logprob) for w in doc.words] == [("1\u202f000", (0, 1, 2), -1.75)]


# -- streaming == batch ---------------------------------------------------------------------------

PIECES = [
    *SENTENCES.values(),
    "机器",
    "学习",
    "模型",
    "。",
    "私",
    "コーヒー",
    "ー",
    "ไทย",
    "สวัสดี",
    "ຂອບໃຈ",
    "ខ្មែរ",
    "မြန်မာ",
    "한국어",
    " ",
    "\n",
    "a",
    "don't",
    "3.14",
    ",",
    "\u0308",
    "\u200d",
    "🙂",
    "🇰🇷",
    "𠀀",
]


def _callable_words(text: str) -> Iterable[tuple[int, int]]:
    """A whole-text segmenter (like jieba): pairs of characters, broken at spaces."""
    for match in regex.finditer(r"\S+", text):
        for start in range(match.start(), match.end(), 2):
            yield start, min(start + 2, match.end())


def _check_stream(tokens: Sequence[Any], chunk_sizes: list[int], words: Any) -> None:
    chunks, start = [], 0
    for size in chunk_sizes:
        chunks.append(tokens[start : start + size])
        start += size
    chunks.append(tokens[start:])
    for attribution in ("cover", "split"):
        expected = batch(tokens, "word", attribution=attribution, words=words)
        assert streamed(chunks, "word", attribution=attribution, words=words) == expected
        assert streamed(tokens, "word", attribution=attribution, words=words) == expected


@needs_icu
@settings(max_examples=scaled(60), deadline=None)
@given(st.lists(st.sampled_from(PIECES), max_size=10).map("".join), st.data())
def test_icu_stream_equals_batch_for_every_chunking(text: str, data: st.DataObject) -> None:
    parts = data.draw(splits(text.encode()))
    tokens = records(
        parts, data.draw(st.lists(logprob_values, min_size=len(parts), max_size=len(parts)))
    )
    sizes = data.draw(st.lists(st.integers(0, 4), max_size=len(parts)))
    _check_stream(tokens, sizes, "icu")


@settings(max_examples=scaled(40), deadline=None)
@given(st.lists(st.sampled_from(PIECES), max_size=10).map("".join), st.data())
def test_callable_stream_equals_batch_for_every_chunking(text: str, data: st.DataObject) -> None:
    parts = data.draw(splits(text.encode()))
    tokens = records(
        parts, data.draw(st.lists(logprob_values, min_size=len(parts), max_size=len(parts)))
    )
    sizes = data.draw(st.lists(st.integers(0, 4), max_size=len(parts)))
    _check_stream(tokens, sizes, _callable_words)


@needs_icu
@pytest.mark.parametrize("language", sorted(SENTENCES))
def test_icu_stream_of_cl100k_tokens_one_at_a_time_equals_batch(language: str) -> None:
    tokens = cl100k_records(SENTENCES[language] * 3)
    _check_stream(tokens, [1] * len(tokens), "icu")


@needs_icu
def test_icu_words_wait_until_the_dictionary_run_ends() -> None:
    decoder = tokbytes.StreamDecoder("word", words="icu")
    assert decoder.feed(records([b"ok "], [-0.1])) == []
    emitted = decoder.feed(records(["机器学".encode()], [-0.2]))
    assert [w.text for w in emitted] == ["ok"]  # 机器学… may still become 机器|学习
    assert decoder.feed(records(["习模型".encode()], [-0.3])) == []
    emitted = decoder.feed(records(["。 a".encode()], [-0.4]))
    assert [w.text for w in emitted] == ["机器", "学习", "模型", "。"]  # the run has ended
    assert [w.text for w in decoder.close()] == ["a"]


def test_callable_words_come_at_close() -> None:
    decoder = tokbytes.StreamDecoder("word", words=_callable_words)
    assert decoder.feed(records([b"abcd efgh"], [-0.1])) == []
    assert [w.text for w in decoder.close()] == ["ab", "cd", "ef", "gh"]


# -- word kinds ---------------------------------------------------------------------------------------


@needs_icu
def test_word_kinds_column_for_both_segmenters() -> None:
    text = "ICU 说：机器学习 3.14 コーヒー 🙂 ok!"
    expected = {
        "uax29": [
            "letters",
            "ideographs",
            "punctuation",
            "ideographs",
            "ideographs",
            "ideographs",
            "ideographs",
            "numbers",
            "kana",
            "emoji",
            "letters",
            "punctuation",
        ],
        "icu": [
            "letters",
            "ideographs",
            "punctuation",
            "ideographs",
            "ideographs",
            "numbers",
            "kana",
            "emoji",
            "letters",
            "punctuation",
        ],
    }
    for words, kinds in expected.items():
        doc = tokbytes.decode(cl100k_records(text), words=words)
        assert doc.words.kinds() == kinds
        assert word_kinds(doc.words.texts()) == kinds
        assert len(kinds) == len(doc.words)


@given(st.text(max_size=20))
@example("0\U00013460")
def test_word_kinds_are_one_of_the_documented_kinds(word: str) -> None:
    assert word_kinds([word])[0] in tokbytes.segmentation.WORD_KINDS
    # by regex's Unicode (17), as tokbytes reads it: Python's unicodedata may be older (3.11: 14,
    # where U+13460, a letter since 16, is unassigned)
    if regex.search(r"\p{N}", word) and not regex.search(r"\p{L}", word):
        assert word_kinds([word]) == ["numbers"]


@needs_icu
def test_icu_split_scores_add_up_to_the_in_word_logprobs() -> None:
    tokens = cl100k_records(SENTENCES["zh"])
    doc = tokbytes.decode(tokens, words="icu", attribution="split")
    total = sum(t["logprob"] for t in tokens)  # every byte of this sentence is in a word
    assert math.isclose(sum(doc.words.logprobs()), total, rel_tol=1e-9)


# -- the CLI ----------------------------------------------------------------------------------------


def _cli(*args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k not in ("NO_COLOR", "COLORTERM", "TERM")}
    return subprocess.run(
        [sys.executable, "-m", "tokbytes", *args],
        capture_output=True,
        text=True,
        encoding="utf-8",
        env={**env, "PYTHONIOENCODING": "utf-8"},
        timeout=120,
    )


def _listed_words(out: str) -> list[str]:
    lines = out.splitlines()
    header = next(i for i, line in enumerate(lines) if line.split()[:2] == ["#", "word"])
    return [line.split()[1] for line in lines[header + 1 :] if line.strip()]


@needs_icu
def test_cli_words_icu_lists_dictionary_words_and_leaves_punctuation_out(tmp_path: Path) -> None:
    tokens = cl100k_records("我们明天去图书馆。")
    for token in tokens:  # the full stop is the least certain token
        token["logprob"] = -2.0 if token["bytes"] == list("。".encode()) else -0.05
    path = tmp_path / "zh.json"
    path.write_text(json.dumps(tokens), encoding="utf-8")
    icu_run = _cli("show", str(path), "--words", "icu", "--threshold", "0.99", "--sort", "position")
    assert icu_run.returncode == 0, icu_run.stderr
    listed = _listed_words(icu_run.stdout)
    assert listed == ["我们", "明天", "去", "图书", "馆"]  # ICU's words; the 。 is left out
    with_punctuation = _listed_words(
        _cli(
            "show",
            str(path),
            "--words",
            "icu",
            "--threshold",
            "0.99",
            "--punctuation",
            "--sort",
            "position",
        ).stdout
    )
    assert with_punctuation == [*listed, "。"]
    uax29 = _listed_words(_cli("show", str(path), "--threshold", "0.99").stdout)
    assert "明" in uax29 and "明天" not in uax29


def test_cli_without_icu4py_fails_with_one_line_naming_the_extra(tmp_path: Path) -> None:
    path = tmp_path / "a.json"
    path.write_text(json.dumps(cl100k_records("hi")), encoding="utf-8")
    blocker = tmp_path / "block"
    blocker.mkdir()
    (blocker / "icu4py").mkdir()
    (blocker / "icu4py" / "__init__.py").write_text("raise ImportError('blocked for the test')")
    env = {**os.environ, "PYTHONPATH": f"{blocker}{os.pathsep}{os.environ.get('PYTHONPATH', '')}"}
    result = subprocess.run(
        [sys.executable, "-m", "tokbytes", "show", str(path), "--words", "icu"],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
    )
    assert result.returncode == 2
    assert result.stderr.splitlines() == [
        'tokbytes: error: words="icu" needs icu4py: pip install "tokbytes[icu]"'
    ]


@needs_icu
@settings(max_examples=scaled(40), deadline=None)
@given(st.data())
def test_icu_stream_equals_batch_on_any_payload_and_chunking(data: st.DataObject) -> None:
    payload = data.draw(payloads(top_logprobs=0, max_token_bytes=6))
    chunks = data.draw(stream_chunkings(payload))
    for attribution in ("cover", "split"):
        expected = batch(payload.tokens, "word", attribution=attribution, words="icu")
        assert streamed(chunks, "word", attribution=attribution, words="icu") == expected


@needs_icu
def test_readme_chinese_words_block_prints_what_the_readme_shows(capsys: Any) -> None:
    readme = (Path(__file__).resolve().parents[1] / "README.md").read_text(encoding="utf-8")
    section = readme.split("## Words in every script", 1)[1]
    block, shown = regex.search(
        r"```python\n(.*?)```\n\nprints\n\n```text\n(.*?)```", section, regex.S
    ).groups()
    assert 'words="icu"' in block
    exec(compile(block, "<README.md words block>", "exec"), {})
    assert capsys.readouterr().out == shown


@settings(max_examples=scaled(40), deadline=None)
@given(st.lists(st.sampled_from(PIECES), max_size=10).map("".join), st.data())
def test_callable_declaring_independent_text_streams_early_and_equals_batch(
    text: str, data: st.DataObject
) -> None:
    parts = data.draw(splits(text.encode()))
    tokens = records(
        parts, data.draw(st.lists(logprob_values, min_size=len(parts), max_size=len(parts)))
    )
    sizes = data.draw(st.lists(st.integers(0, 4), max_size=len(parts)))
    # _callable_words pairs characters inside runs of non-whitespace: the text after any
    # whitespace character is segmented on its own.
    _check_stream(tokens, sizes, WordSegmenter(_callable_words, final_after=r"\s"))


def test_callable_declaring_independent_lines_emits_each_line_once_the_next_begins() -> None:
    decoder = tokbytes.StreamDecoder(
        "word", words=WordSegmenter(_callable_words, final_after=r"\n")
    )
    assert decoder.feed(records([b"abcd ef\n"], [-0.1])) == []  # the line may not have ended
    assert [w.text for w in decoder.feed(records([b"gh"], [-0.2]))] == ["ab", "cd", "ef"]
    assert [w.text for w in decoder.close()] == ["gh"]
    with pytest.raises(tokbytes.InputError, match="final_after must be a regular expression"):
        WordSegmenter(_callable_words, final_after="(")
    with pytest.raises(tokbytes.InputError, match="final_after applies only to a callable"):
        WordSegmenter("uax29", final_after=r"\n")
