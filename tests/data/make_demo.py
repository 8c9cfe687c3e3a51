"""Regenerate ``tokbytes/data/demo.json``, the sample ``tokbytes demo`` decodes.

The token splits are real: each text is tokenized with the real cl100k_base tokenizer, built
offline from the shared rank file (``../shared/data/tiktoken/cl100k_base.tiktoken``). The
logprobs and ``top_logprobs`` are made up but plausible: each word gets a probability chosen
below, its first token carries that uncertainty and the rest of its tokens are near-certain (as
real answers look); the alternatives are real cl100k tokens (other words for the first token,
other continuation bytes for partial-character tokens). A fixed seed keeps the file stable.

    python tests/data/make_demo.py          # rewrites tokbytes/data/demo.json

The Korean sample reproduces the 15 tokens the gpt-3.5-turbo API returned for
``대한민국의 수도는 서울입니다.``; the multilingual one has a ZWJ family emoji, flags and a
skin-tone modifier, all split across tokens mid-character. One alternative in the second sample
carries OpenAI's ``-9999.0`` "not in the top 20" sentinel, to show how it is displayed.
"""

from __future__ import annotations

import json
import math
import random
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))

from shared_data import cl100k_encoding  # noqa: E402

OUT = HERE.parents[1] / "tokbytes" / "data" / "demo.json"

# (piece of text, probability of the piece's first token, alternative first pieces)
KOREAN = [
    ("대한민국", 0.97, ["한국", "서울"]),
    ("의", 0.995, ["은"]),
    (" 수도", 0.99, [" 首", " 서울"]),
    ("는", 0.985, ["가"]),
    (" 서울", 0.93, [" 세종", " 부산"]),
    ("입니다", 0.82, ["이에요", "이다"]),
    (".", 0.97, ["!"]),
]

MULTI = [
    ("Family", 0.62, ["Here", "The"]),
    (" in", 0.9, [" across"]),
    (" five", 0.55, [" 5", " six", " four"]),
    (" languages", 0.98, [" tongues"]),
    (" 👨\u200d👩\u200d👧\u200d👦", 0.41, [" 🌍", " 👪"]),
    (":\n", 0.9, [":\n\n"]),
    ("- English", 0.97, ["1"]),
    (": family", 0.99, [": Family"]),
    (" 🇬🇧", 0.74, [" 🇺🇸"]),
    ("\n- Français", 0.88, ["\n- French", "\n- Español"]),
    (" : famille", 0.6, [": famille"]),
    (" 🇫🇷", 0.95, [" 🇨🇦"]),
    ("\n- 日本語", 0.7, ["\n- Japanese", "\n- 中文"]),
    (": 家族", 0.93, [": かぞく"]),
    (" 🇯🇵", 0.97, [""]),
    ("\n- Русский", 0.8, ["\n- Russian", "\n- Deutsch"]),
    (": семья", 0.9, [": Семья"]),
    (" 🇷🇺", 0.96, [""]),
    ("\n- 한국어", 0.85, ["\n- Korean"]),
    (": 가족", 0.94, [": 식구"]),
    (" 👋🏽", 0.18, [" 🇰🇷", " 👨\u200d👩\u200d👧"]),
    ("\nNaïve", 0.07, ["\nThat", "\nHope"]),
    (" café", 0.3, [" question", " cafe"]),
    ("? Ça va", 0.45, ["? Ça"]),
    ("!", 0.86, ["?"]),
    (" 👍🏿", 0.33, [" 😊", " 👍"]),
]

SAMPLES = [
    {
        "name": "korean-capital",
        "title": "Korean: the capital of South Korea",
        "prompt": "대한민국의 수도는 어디인가요?",
        "pieces": KOREAN,
    },
    {
        "name": "multilingual-emoji",
        "title": "Multilingual answer with emoji (ZWJ family, flags, skin tones)",
        "prompt": "Say 'family' in five languages, with emoji.",
        "pieces": MULTI,
    },
]


def escaped(data: bytes) -> str:
    """The token string as OpenAI writes it: invalid UTF-8 bytes as ``\\xNN``."""
    return data.decode("utf-8", "backslashreplace")


def record(data: bytes, logprob: float) -> dict[str, object]:
    return {"token": escaped(data), "logprob": round(logprob, 8), "bytes": list(data)}


def make_sample(enc, rng: random.Random, pieces, by_first_byte) -> list[dict[str, object]]:  # type: ignore[no-untyped-def]
    tokens: list[dict[str, object]] = []
    for text, prob, alternatives in pieces:
        ids = enc.encode(text)
        datas = [enc.decode_single_token_bytes(i) for i in ids]
        # the uncertainty sits on the first token carrying more than whitespace
        first = next((k for k, d in enumerate(datas) if d.strip()), 0)
        for position, data in enumerate(datas):
            if position == first:
                p = prob
                alt_bytes = [
                    enc.decode_single_token_bytes(enc.encode(a)[0]) for a in alternatives if a
                ]
            else:  # continuation of a word: near-certain
                p = 1 - rng.uniform(1e-6, 4e-3)
                # other tokens of the same length starting with the same byte (a continuation byte
                # 0x80-0xBF: any continuation bytes), so partial characters get partial rivals
                key = 0x80 if 0x80 <= data[0] <= 0xBF else data[0]
                same_start = [b for b in by_first_byte.get(key, ()) if len(b) == len(data)]
                alt_bytes = rng.sample(same_start, min(2, len(same_start)))
            chosen = record(data, math.log(p))
            top = [dict(chosen)]
            rest = 1 - p
            seen = {data}
            for alt in alt_bytes:
                if alt in seen:
                    continue
                seen.add(alt)
                share = rest * rng.uniform(0.35, 0.7)
                rest -= share
                top.append(record(alt, math.log(max(share, 1e-12))))
            chosen["top_logprobs"] = sorted(top, key=lambda a: -float(a["logprob"]))  # type: ignore[arg-type]
            tokens.append(chosen)
    return tokens


def dump(out: dict[str, object]) -> str:
    """JSON with one token record per line: small diffs, still readable."""
    lines = ["{", f' "about": {json.dumps(out["about"], ensure_ascii=False)},', ' "samples": [']
    samples = out["samples"]
    for i, sample in enumerate(samples):  # type: ignore[arg-type]
        lines.append("  {")
        for key in ("name", "title", "prompt", "text"):
            lines.append(f"   {json.dumps(key)}: {json.dumps(sample[key], ensure_ascii=False)},")
        lines.append('   "tokens": [')
        tokens = sample["tokens"]
        for j, token in enumerate(tokens):
            comma = "," if j < len(tokens) - 1 else ""
            lines.append("    " + json.dumps(token, ensure_ascii=False) + comma)
        lines.append("   ]")
        lines.append("  }" + ("," if i < len(samples) - 1 else ""))  # type: ignore[arg-type]
    lines += [" ]", "}", ""]
    return "\n".join(lines)


def build() -> str:
    """The text of ``demo.json`` (deterministic: the same bytes on every run)."""
    enc = cl100k_encoding()
    rng = random.Random(20261123)
    by_first_byte: dict[int, list[bytes]] = {}
    for token_id in range(100_000):
        try:
            data = enc.decode_single_token_bytes(token_id)
        except KeyError:
            continue
        if data and data[0] >= 0x80 and len(data) <= 3:
            continuation = all(0x80 <= b <= 0xBF for b in data)
            by_first_byte.setdefault(0x80 if continuation else data[0], []).append(data)
    for group in by_first_byte.values():
        group.sort()

    out = {
        "about": (
            "Sample answers for `tokbytes demo`: real cl100k token splits, made-up logprobs. "
            "Generated by tests/data/make_demo.py; do not edit by hand."
        ),
        "samples": [],
    }
    for sample in SAMPLES:
        text = "".join(piece for piece, _, _ in sample["pieces"])  # type: ignore[attr-defined]
        tokens = make_sample(enc, rng, sample["pieces"], by_first_byte)
        joined = b"".join(bytes(t["bytes"]) for t in tokens).decode("utf-8")  # type: ignore[arg-type]
        assert joined == text, (joined, text)
        out["samples"].append(  # type: ignore[attr-defined]
            {
                "name": sample["name"],
                "title": sample["title"],
                "prompt": sample["prompt"],
                "text": text,
                "tokens": tokens,
            }
        )
    # the "not in the top 20" sentinel, on the last alternative of the family emoji's first token
    family = out["samples"][1]["tokens"]  # type: ignore[index]
    for token in family:
        if token["token"].startswith(" \\xf0"):
            token["top_logprobs"].append(
                record(enc.decode_single_token_bytes(enc.encode(" family")[0]), -9999.0)
            )
            break
    korean = [t["token"] for t in out["samples"][0]["tokens"]]  # type: ignore[index]
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
    return dump(out)


def main() -> None:
    OUT.parent.mkdir(parents=True, exist_ok=True)
    OUT.write_text(build(), encoding="utf-8")
    print(f"wrote {OUT} ({OUT.stat().st_size} bytes)")


if __name__ == "__main__":
    main()
