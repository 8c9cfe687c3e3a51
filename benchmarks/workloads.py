"""Deterministic long outputs, tokenized once: the inputs of every benchmark row.

Text is a seeded shuffle of a pool of sentences per language. It is tokenized by the real cl100k
tokenizer when the shared reference data sits beside the checkout (``../shared/data``, never copied
into the project), otherwise by a seeded byte splitter that cuts 1-4 byte pieces anywhere, inside
characters too. Token records are OpenAI-style dicts.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from pathlib import Path
from typing import Any

#: The shared reference data beside the checkout (absent on a user's fresh clone).
SHARED = Path(__file__).resolve().parents[1].parent / "shared" / "data"
CL100K_PATH = SHARED / "tiktoken" / "cl100k_base.tiktoken"
CL100K_SHA256 = "223921b76ee99bde995b7ff738513eef100fb51d18c93597a113bcffe865b2a7"
CL100K_PATTERN = (
    r"""'(?i:[sdmt]|ll|ve|re)|[^\r\n\p{L}\p{N}]?+\p{L}++|\p{N}{1,3}+| ?[^\s\p{L}\p{N}]++"""
    r"""[\r\n]*+|\s++$|\s*[\r\n]|\s+(?!\S)|\s"""
)

SENTENCES: dict[str, list[str]] = {
    "korean": [
        "대한민국의 수도는 서울입니다.",
        "오늘은 날씨가 맑고 바람이 선선해서 산책하기 좋은 날이에요.",
        "이 문서는 토큰 로그 확률을 정확한 글자 단위 점수로 바꾸는 방법을 설명합니다.",
        "한글 음절 하나는 UTF-8에서 세 바이트를 차지하므로 토큰 경계가 글자 중간에 올 수 있습니다.",
        "회의는 오후 세 시에 시작하니 늦지 않게 와 주세요!",
        "그녀는 도서관에서 빌린 소설을 밤새 읽었다.",
        "가격은 12,500원이며 배송비는 무료입니다.",
        "왜 그런 결정을 내렸는지 자세히 설명해 주시겠어요?",
        "봄에는 벚꽃이, 가을에는 단풍이 아름답게 핀다.",
        "모델의 확신도가 낮은 단어를 강조해서 보여 줍니다.",
        "서울특별시 종로구 세종대로 175번지에 있습니다.",
        "밥 먹었어? 아직 안 먹었으면 같이 먹자.",
    ],
    "chinese": [
        "北京是中华人民共和国的首都。",
        "今天天气晴朗，我们一起去公园散步吧！",
        "这个程序把词元的对数概率转换成精确的字符级分数。",
        "一个汉字在UTF-8中通常占用三个字节，所以词元的边界可能落在汉字中间。",
        "会议将于下午三点开始，请准时参加。",
        "他在图书馆借了一本小说，整晚都在读。",
        "价格是人民币一百二十五元，免运费。",
        "你能详细解释一下为什么做出这个决定吗？",
        "春天桃花盛开，秋天枫叶红遍山野。",
        "模型对低置信度的词语会用颜色标出来。",
        "龘靐齉爨这些生僻字很少出现在日常文本里。",
        "学而时习之，不亦说乎？有朋自远方来，不亦乐乎？",
    ],
    "japanese": [
        "日本の首都は東京です。",
        "今日はとても良い天気なので、散歩に行きましょう。",
        "このライブラリはトークンの対数確率を正確な文字単位のスコアに変換します。",
        "ひらがな、カタカナ、漢字が混在する文章はトークン化が複雑になります。",
        "会議は午後三時から始まりますので、遅れないでください。",
        "彼女は図書館で借りた小説を一晩中読んでいた。",
        "価格は１２，５００円で、送料は無料です。",
        "なぜその決定をしたのか詳しく説明していただけますか？",
        "春には桜が咲き、秋には紅葉が山を染めます。",
        "ｶﾀｶﾅの半角文字とｈａｌｆ－ｗｉｄｔｈの表記も混ざります。",
        "吾輩は猫である。名前はまだ無い。",
        "がぎぐげご、ぱぴぷぺぽ、ゔ。",
    ],
    "emoji": [
        "Great job 👍🏽🎉🎉 see you soon 😊",
        "Family: 👨‍👩‍👧‍👦 and 👩🏾‍💻 at work 💼",
        "Flags 🇰🇷 🇯🇵 🇨🇳 🇺🇸 🇫🇷 and a rainbow 🏳️‍🌈",
        "💙💚💛🧡❤️💜🖤🤍 all the hearts",
        "Keycaps 1️⃣2️⃣3️⃣ #️⃣ *️⃣ done ✅",
        "🔥🔥🔥 this is fire 🚀🌕",
        "Weather today: ☀️ then 🌧️ then ⛈️, take a ☂️",
        "Food 🍣🍜🍕🌮🥗 and drinks 🍵☕🍺",
        "🧑🏻‍🤝‍🧑🏿 friends, 🤷‍♀️ shrug, 🙆🏼‍♂️ ok",
        "Animals 🐶🐱🐭🐹🐰🦊🐻🐼🐨🐯",
        "Reactions: 😂🤣😭😍🥰😎🤔🙄😴",
        "Sports ⚽🏀🏈⚾🎾🏐🏉🎱 🏆🥇",
    ],
    "english": [
        "The quick brown fox jumps over the lazy dog.",
        "Tokens are not characters: a byte-level tokenizer may split one character over two tokens.",
        "We don't know whether it's 3.14 or 3.15, but it's close enough for now.",
        "Please send the report to alice@example.com before 5 p.m. on Friday.",
        "The meeting starts at three o'clock; don't be late!",
        "She read the novel she'd borrowed from the library all night long.",
        "Prices start at $12,500 and shipping is free within the U.S.",
        "Could you explain in detail why that decision was made?",
        "In spring the cherry trees bloom, and in autumn the maples turn red.",
        "Low-confidence words are highlighted so that reviewers can check them first.",
        "Version 2.0.1 fixed the bug reported in issue #42 (see the changelog).",
        '"Well," he said, "I suppose we could try again tomorrow."',
    ],
}
LANGUAGES: tuple[str, ...] = ("korean", "chinese", "japanese", "emoji", "english", "mixed")


def make_text(language: str, chars: int, *, seed: int = 0) -> str:
    """At least ``chars`` characters of ``language``: shuffled rounds of its sentence pool.

    ``mixed`` draws from every pool (Korean next to emoji next to English, ...).

    >>> make_text("english", 10) == make_text("english", 10)
    True
    """
    if language == "mixed":
        pool = [s for name in SENTENCES for s in SENTENCES[name]]
    else:
        pool = list(SENTENCES[language])
    rng = random.Random(f"{language}:{seed}")
    pieces: list[str] = []
    size = 0
    while size < chars:
        rng.shuffle(pool)
        for sentence in pool:
            pieces.append(sentence)
            pieces.append("\n\n" if rng.random() < 0.1 else " ")
            size += len(sentence) + 1
    return "".join(pieces)


# -- tokenizers ----------------------------------------------------------------------------------

Tokenizer = Callable[[str], list[bytes]]


def cl100k_tokenizer() -> Tokenizer | None:
    """The real cl100k_base tokenizer built offline from the shared rank file, or None."""
    if not CL100K_PATH.exists():
        return None
    try:
        import tiktoken
        from tiktoken.load import load_tiktoken_bpe
    except ImportError:
        return None
    ranks = load_tiktoken_bpe(str(CL100K_PATH), expected_hash=CL100K_SHA256)
    encoding = tiktoken.Encoding(
        "cl100k_base",
        pat_str=CL100K_PATTERN,
        mergeable_ranks=ranks,
        special_tokens={"<|endoftext|>": 100257},
    )
    by_id = {rank: piece for piece, rank in ranks.items()}

    def tokenize(text: str) -> list[bytes]:
        return list(map(by_id.__getitem__, encoding.encode_ordinary(text)))

    return tokenize


def byte_splitter(seed: int = 0) -> Tokenizer:
    """A deterministic stand-in tokenizer: 1-4 byte pieces cut anywhere, inside characters too.

    >>> pieces = byte_splitter()("서울")
    >>> b"".join(pieces).decode(), len(pieces) > 1
    ('서울', True)
    """

    def tokenize(text: str) -> list[bytes]:
        data = text.encode()
        rng = random.Random(seed)
        sizes = rng.choices((1, 2, 3, 4), weights=(3, 3, 3, 1), k=len(data) // 2 + 4)
        pieces = []
        pos = 0
        for size in sizes:
            if pos >= len(data):
                break
            pieces.append(data[pos : pos + size])
            pos += size
        if pos < len(data):
            pieces.extend(data[i : i + 1] for i in range(pos, len(data)))
        return pieces

    return tokenize


def tokenizer(kind: str = "auto") -> tuple[str, Tokenizer]:
    """``(name, tokenize)``: ``"cl100k"`` when available (or asked for), else ``"byte-splitter"``."""
    if kind in ("auto", "cl100k"):
        real = cl100k_tokenizer()
        if real is not None:
            return "cl100k", real
        if kind == "cl100k":
            raise RuntimeError(f"cl100k is not available: {CL100K_PATH} or tiktoken is missing")
    return "byte-splitter", byte_splitter()


def token_pieces(language: str, tokens: int, tokenize: Tokenizer) -> list[bytes]:
    """At least ``tokens`` token pieces of ``language`` text (generated, tokenized once)."""
    sample = tokenize(make_text(language, 2000))
    per_char = len(sample) / 2000
    chars = int(tokens / per_char * 1.05) + 200
    while True:
        pieces = tokenize(make_text(language, chars))
        if len(pieces) >= tokens:
            return pieces
        chars = int(chars * tokens / max(len(pieces), 1) * 1.05) + 200


def prefix(pieces: list[bytes], tokens: int) -> list[bytes]:
    """The first ``tokens`` pieces, or a few fewer so the prefix ends on a character boundary.

    >>> prefix([b"\\xec\\x9a", b"\\xb8", b"a"], 2)
    [b'\\xec\\x9a', b'\\xb8']
    >>> prefix([b"a", b"\\xec\\x9a", b"\\xb8"], 2)
    [b'a']
    """
    cut = min(tokens, len(pieces))
    while 0 < cut < len(pieces) and pieces[cut] and 0x80 <= pieces[cut][0] <= 0xBF:
        cut -= 1
    return pieces[:cut]


def records(pieces: list[bytes], *, seed: int = 0) -> list[dict[str, Any]]:
    """OpenAI-style token records (fresh dicts and lists, as a parsed response holds them)."""
    rng = random.Random(seed)
    return [
        {
            "token": piece.decode("utf-8", "backslashreplace"),
            "bytes": list(piece),
            "logprob": -rng.expovariate(4.0),
            "top_logprobs": [],
        }
        for piece in pieces
    ]
