"""Write tests/data/cl100k_samples.json: multilingual answers cut by the real cl100k tokenizer.

The loopback OpenAI-compatible server of the tests serves these. Run from the repository root
with ../shared/data beside it (the rank file is read from there, never copied):

    python tests/data/make_cl100k_fixtures.py

The output is deterministic: logprobs come from a seeded generator, alternatives are other real
cl100k tokens (partial bytes too).
"""

from __future__ import annotations

import json
import random
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parents[1]))

SAMPLES = {
    "korean": "대한민국의 수도는 서울입니다.",
    "korean_long": "미국과 중국, 일본의 관계는 복잡합니다. 한국어 텍스트는 여러 토큰으로 나뉩니다.",
    "japanese": "東京は日本の首都です。ひらがなとカタカナ、そして漢字を使います。",
    "chinese": "北京是中国的首都。𠀋是一个扩展汉字，天气非常好。",
    "emoji_zwj": "Family: 👩‍👩‍👧 and flag 🏳️‍🌈 and 🇰🇷 with 👍🏽 💙",
    "combining": "Café with e\u0301 and 한\u1100\u1161\u11a8 jamo, ñ vs n\u0303.",
    "crlf": "line one\r\nline two\r\n\ttabbed — done",
    "thai": "ภาษาไทยไม่มีช่องว่างระหว่างคำ",
    "devanagari": "हिन्दी भाषा में क्षत्रिय शब्द है।",
    "arabic": "مرحبا بالعالم، كيف حالك؟",
    "mixed": "Seoul 서울 🇰🇷, Tokyo 東京 🗼, Delhi दिल्ली — 3.14 don't stop!",
    "english": "The quick brown fox jumps over the lazy dog.",
    "json": '{"capital": "서울", "country": "대한민국", "emoji": "🇰🇷"}',
}


def main() -> None:
    from tests.shared_data import SHARED

    if not (SHARED / "tiktoken" / "cl100k_base.tiktoken").exists():
        sys.exit(f"cl100k rank file not found under {SHARED}; run beside ../shared/data")
    import tiktoken
    from tiktoken.load import load_tiktoken_bpe

    pattern = (
        r"""'(?i:[sdmt]|ll|ve|re)|[^\r\n\p{L}\p{N}]?+\p{L}++|\p{N}{1,3}+| ?[^\s\p{L}\p{N}]++"""
        r"""[\r\n]*+|\s++$|\s*[\r\n]|\s+(?!\S)|\s"""
    )
    ranks = load_tiktoken_bpe(
        str(SHARED / "tiktoken" / "cl100k_base.tiktoken"),
        expected_hash="223921b76ee99bde995b7ff738513eef100fb51d18c93597a113bcffe865b2a7",
    )
    enc = tiktoken.Encoding(
        "cl100k_base", pat_str=pattern, mergeable_ranks=ranks, special_tokens={}
    )
    rng = random.Random(20261122)
    vocabulary = sorted(ranks)
    out = {}
    for name, text in SAMPLES.items():
        tokens = []
        for token_id in enc.encode(text):
            data = enc.decode_single_token_bytes(token_id)
            logprob = round(-(rng.random() ** 3) * 3, 6)
            alternatives = [
                {
                    "token": data.decode("utf-8", "backslashreplace"),
                    "bytes": list(data),
                    "logprob": logprob,
                }
            ]
            for k in range(3):
                other = rng.choice(vocabulary)
                alternatives.append(
                    {
                        "token": other.decode("utf-8", "backslashreplace"),
                        "bytes": list(other),
                        "logprob": round(logprob - 1 - k - rng.random(), 6),
                    }
                )
            tokens.append(
                {
                    "token": data.decode("utf-8", "backslashreplace"),
                    "bytes": list(data),
                    "logprob": logprob,
                    "top_logprobs": alternatives,
                }
            )
        assert b"".join(bytes(t["bytes"]) for t in tokens).decode() == text
        out[name] = {"text": text, "tokens": tokens}
    korean = [t["token"] for t in out["korean"]["tokens"]]
    assert korean == [
        "대",
        "한",
        "\\xeb\\xaf",
        "\\xbc",
        "\\xea\\xb5",
        "\\xad",
        "의",
        " 수",
        "도",
        "는",
        " 서",
        "\\xec\\x9a",
        "\\xb8",
        "입니다",
        ".",
    ], korean
    target = HERE / "cl100k_samples.json"
    target.write_text(json.dumps(out, ensure_ascii=False, indent=0) + "\n", encoding="utf-8")
    print(f"wrote {target} ({target.stat().st_size} bytes, {len(out)} samples)")


if __name__ == "__main__":
    main()
