#!/usr/bin/env python3
"""Writes a tiny hand-built qwen2 GGUF whose greedy output is scripted, for tool-calling tests.

    pip install numpy gguf==0.19.0
    bash scripts/fetch-vocabs.sh target/vocab            # provides ggml-vocab-qwen2.gguf
    python3 scripts/make_tool_model.py [OUTDIR]          # OUTDIR defaults to target/tiny-models
    python3 scripts/check_tool_model.py [OUTDIR]         # verifies it with llama-cpp-python

Output: OUTDIR/tool-qwen2.gguf (21848704 bytes, deterministic: no randomness anywhere).

Vocabulary and template
-----------------------
All `tokenizer.*` keys of llama.cpp's `ggml-vocab-qwen2.gguf` are copied verbatim (gpt2 model, qwen2
pre-tokenizer, 151936 tokens, token types, merges, bos/eos/padding ids = 151643; no add_bos key,
so no BOS is added), except `tokenizer.chat_template`, which is replaced by CHAT_TEMPLATE below: our
own ChatML template with Hermes-style tools (a `# Tools` system section listing each tool as one
`tojson` line inside <tools></tools>, assistant tool calls as `<tool_call>\\n{"name": ...,
"arguments": ...}\\n</tool_call>`, tool results as a user turn `<tool_response>\\n...\\n
</tool_response>`, generation prompt `<|im_start|>assistant\\n`). In this (Qwen1.5) vocabulary
`<tool_call>` and `<tool_response>` are plain text, e.g. `<tool_response>` = `<` `tool` `_response` `>`.

Scripted behaviour (greedy)
---------------------------
The prediction depends only on the last two tokens and on whether the token `_response` (9655,
part of `<tool_response>`) occurs anywhere in the context. After the generation prompt (last
token "\\n" = 198) the model writes

  * no `_response` in the context (a fresh question):
      <tool_call>\\n{"name": "get_weather", "arguments": {"city": "Paris"}}\\n</tool_call>
    as the 26 tokens of TOOL_CALL_PIECES, then <|im_end|> (151645, end of generation);
  * `_response` present (a tool result came back):
      It is sunny.
    as the 4 tokens of ANSWER_PIECES, then <|im_end|>.

The token sequence of the tool call is not the tokenizer's canonical one: it was chosen so that
every step is decided by (previous token, current token). The canonical tokens would repeat the
pair (`tool`, `_call`) with different successors, so the closing tag is spelled `</` `t` `ool`
`_call` `>`, and (`":`, ` "`) would be followed by `get` and by `Paris`, so the city value is
spelled `":` ` ` `"` `Paris`. The detokenized text is exactly the string above.

Architecture (qwen2, 1 layer): n_embd 64, 2 heads / 2 kv heads, head_dim 32, n_ff 64, rope
freq_base 1e6 (NEOX), rms eps 1e-6, context_length 4096, untied output. token_embd is Q8_0
(vocab x 64: 10.3 MB), output Q4_0 (5.5 MB; exact for its values 0, +-3, 6, checked on write),
everything else F32; the copied vocabulary adds ~6 MB.

Residual stream (64 dims): dim 0 = 1 for every token (a constant); dims 1..27 one-hot code of the
27 tokens that occur as inputs of the script ("\\n" plus the script tokens; every other token has
only the constant); dim 28 = 1 on `_response`; dims 29..35 "previous token was w" for the 7
tokens w that disambiguate a step; dim 36 the tool-response flag. attn_norm weights are
sqrt(2/64), so a token's active dims are ~1 after the norm.

  * Head 0, previous-token head: q and k are constants (attn_q.bias / attn_k.bias, zero weights),
    so the score depends only on the distance d = i - j through RoPE: pair p contributes
    r_p^2 cos((d - 1) theta_p) / sqrt(32) (k's phase is theta_p). The amplitudes r_p^2 (PREV_AMP,
    pairs 0..8, found by a small max-min optimisation) make the score at d = 1 at least
    0.22 * 60 = 13 above any other distance 0..4096, so >99.99% of the weight is on the previous
    token. Its value copies the codes of the 7 disambiguating tokens into dims 29..35.
  * Head 1, flag head: q = constant on the lowest-frequency pair 15 (theta = 2.4e-6, no rotation
    to speak of), k = large only on `_response`: those positions score ~25, all others 0, so the
    head attends to the `_response` tokens if there are any (value 1 -> dim 36) and otherwise
    spreads uniformly over values that are all 0 (flag exactly 0).
  * FFN weights are zero; output_norm weights are 1.
  * Output: logit(v) = A * [v follows the current token in the script] + B * [v follows the
    current token after the previous token w] (dims 29..35), where A = 6, B = 3 per unit of the
    normalised stream (logits ~x4.6). After "\\n" both `<` (the tool call) and `It` (the answer)
    get A; `It` also gets Bf * (2 * flag - const), Bf = 3, i.e. -Bf without a tool response and
    +Bf with one. All other tokens have an all-zero output row (logit 0). scripts/check_tool_model.py
    reports the smallest top-1 / top-2 logit gap over the scripted steps (~13 in llama.cpp).
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import gguf
from gguf import GGMLQuantizationType as T
from gguf import GGUFValueType as VT
from gguf import quants

REPO = Path(__file__).resolve().parent.parent
VOCAB = REPO / "target" / "vocab" / "ggml-vocab-qwen2.gguf"

N_EMBD, N_HEAD, HEAD_DIM, N_FF = 64, 2, 32, 64
FREQ_BASE, RMS_EPS, N_CTX = 1.0e6, 1.0e-6, 4096

NEWLINE = "\n"  # last token of the generation prompt `<|im_start|>assistant\n`
TOOL_CALL_PIECES = [
    "<", "tool", "_call", ">\n",
    '{"', "name", '":', ' "', "get", "_weather", '",',
    ' "', "arguments", '":', ' {"', "city", '":', " ", '"', "Paris", '"}}\n',
    "</", "t", "ool", "_call", ">",
]
ANSWER_PIECES = ["It", " is", " sunny", "."]
END = "<|im_end|>"
RESPONSE_PIECE = "_response"

A, B, BF = 6.0, 3.0, 3.0          # output weights (see docstring)
PREV_SCALE = 60.0                 # head 0: sum of r_p^2 / sqrt(head_dim), in score units
PREV_AMP = [0.481, 0.090, 0.081, 0.069, 0.065, 0.066, 0.035, 0.054, 0.060]  # r_p^2 shares, pairs 0..8
FLAG_SCORE = 25.0                 # head 1: score of a `_response` position

CHAT_TEMPLATE = (
    "{%- if messages and messages[0].role == 'system' %}"
    "{%- set system_message = messages[0].content %}"
    "{%- else %}{%- set system_message = '' %}{%- endif %}"
    "{%- if tools %}"
    "{{- '<|im_start|>system\\n' }}"
    "{%- if system_message %}{{- system_message + '\\n\\n' }}{%- endif %}"
    "{{- '# Tools\\n\\nYou may call one or more functions to help with the request. Their signatures"
    " are listed one per line between <tools></tools> XML tags:\\n<tools>' }}"
    "{%- for tool in tools %}{{- '\\n' }}{{- tool | tojson }}{%- endfor %}"
    "{{- '\\n</tools>\\n\\nFor each function call, return a json object with the function name and"
    " its arguments within <tool_call></tool_call> XML tags:\\n<tool_call>\\n{\"name\":"
    " <function-name>, \"arguments\": <args-json-object>}\\n</tool_call><|im_end|>\\n' }}"
    "{%- elif system_message %}"
    "{{- '<|im_start|>system\\n' + system_message + '<|im_end|>\\n' }}"
    "{%- endif %}"
    "{%- for message in messages %}"
    "{%- if loop.first and message.role == 'system' %}"
    "{%- elif message.role == 'tool' %}"
    "{{- '<|im_start|>user\\n<tool_response>\\n' + message.content"
    " + '\\n</tool_response><|im_end|>\\n' }}"
    "{%- elif message.role == 'assistant' and message.tool_calls %}"
    "{{- '<|im_start|>assistant\\n' }}"
    "{%- if message.content %}{{- message.content + '\\n' }}{%- endif %}"
    "{%- for tool_call in message.tool_calls %}"
    "{%- if tool_call.function is defined %}{%- set tool_call = tool_call.function %}{%- endif %}"
    "{%- if not loop.first %}{{- '\\n' }}{%- endif %}"
    "{{- '<tool_call>\\n{\"name\": \"' + tool_call.name + '\", \"arguments\": ' }}"
    "{%- if tool_call.arguments is string %}{{- tool_call.arguments }}"
    "{%- else %}{{- tool_call.arguments | tojson }}{%- endif %}"
    "{{- '}\\n</tool_call>' }}"
    "{%- endfor %}"
    "{{- '<|im_end|>\\n' }}"
    "{%- else %}"
    "{{- '<|im_start|>' + message.role + '\\n' + (message.content or '') + '<|im_end|>\\n' }}"
    "{%- endif %}"
    "{%- endfor %}"
    "{%- if add_generation_prompt %}{{- '<|im_start|>assistant\\n' }}{%- endif %}"
)


def _byte_to_unicode() -> dict[int, str]:
    """GPT-2's byte -> printable character map, used by the vocabulary's token strings."""
    bs = list(range(ord("!"), ord("~") + 1)) + list(range(ord("¡"), ord("¬") + 1)) \
        + list(range(ord("®"), ord("ÿ") + 1))
    cs = bs[:]
    n = 0
    for b in range(256):
        if b not in bs:
            bs.append(b)
            cs.append(256 + n)
            n += 1
    return {b: chr(c) for b, c in zip(bs, cs)}


def read_vocab(path: Path) -> tuple[list[tuple[str, object, VT, VT | None]], list[str]]:
    r = gguf.GGUFReader(str(path))
    kvs = []
    for key, field in r.fields.items():
        if not key.startswith("tokenizer.") or key == "tokenizer.chat_template":
            continue
        vtype = field.types[0]
        sub = field.types[1] if vtype == VT.ARRAY else None
        kvs.append((key, field.contents(), vtype, sub))
    tokens = r.fields["tokenizer.ggml.tokens"].contents()
    return kvs, tokens


def build(out_path: Path) -> Path:
    kvs, tokens = read_vocab(VOCAB)
    V = len(tokens)
    b2u = _byte_to_unicode()
    ids = {t: i for i, t in enumerate(tokens)}

    def tid(piece: str) -> int:
        s = piece if piece == END else "".join(b2u[b] for b in piece.encode())
        return ids[s]

    nl, end, resp = tid(NEWLINE), tid(END), tid(RESPONSE_PIECE)
    tool_seq = [tid(p) for p in TOOL_CALL_PIECES] + [end]
    answer_seq = [tid(p) for p in ANSWER_PIECES] + [end]
    assert "".join(TOOL_CALL_PIECES) == \
        '<tool_call>\n{"name": "get_weather", "arguments": {"city": "Paris"}}\n</tool_call>'

    for seq in (tool_seq, answer_seq):
        assert nl not in seq and resp not in seq, "the script may not contain \\n or _response"
    # (prev, cur) -> next over both scripts; the first step (cur = "\n") is decided by the flag.
    steps: dict[int, dict[int, int]] = {}   # cur -> {prev: next}
    for seq in (tool_seq, answer_seq):
        full = [None, nl] + seq
        for i in range(2, len(full)):
            prev, cur, nxt = full[i - 2], full[i - 1], full[i]
            if cur == nl:
                continue
            old = steps.setdefault(cur, {}).setdefault(prev, nxt)
            assert old == nxt, f"ambiguous step after ({prev}, {cur})"
    inputs = [nl] + sorted(steps)
    disamb = sorted({p for nexts in steps.values() if len(set(nexts.values())) > 1 for p in nexts})
    code = {t: 1 + i for i, t in enumerate(inputs)}
    d_resp = 1 + len(inputs)
    prev_dim = {t: d_resp + 1 + i for i, t in enumerate(disamb)}
    d_flag = d_resp + 1 + len(disamb)
    assert d_flag < N_EMBD and len(disamb) <= HEAD_DIM

    # Token embeddings: constant + one-hot code (+ the `_response` feature).
    emb = np.zeros((V, N_EMBD), np.float32)
    emb[:, 0] = 1.0
    for t, d in code.items():
        emb[t, d] = 1.0
    emb[resp, d_resp] = 1.0

    # Output head.
    out = np.zeros((V, N_EMBD), np.float32)
    for cur, nexts in steps.items():
        for nxt in set(nexts.values()):
            out[nxt, code[cur]] += A
        if len(set(nexts.values())) > 1:
            for prev, nxt in nexts.items():
                out[nxt, prev_dim[prev]] += B
    out[tool_seq[0], code[nl]] += A
    out[answer_seq[0], code[nl]] += A
    out[answer_seq[0], d_flag] += 2 * BF
    out[answer_seq[0], 0] -= BF

    D, half = HEAD_DIM, HEAD_DIM // 2
    wq = np.zeros((N_EMBD, N_EMBD), np.float32)
    wk = np.zeros((N_EMBD, N_EMBD), np.float32)
    wv = np.zeros((N_EMBD, N_EMBD), np.float32)
    wo = np.zeros((N_EMBD, N_EMBD), np.float32)
    bq = np.zeros(N_EMBD, np.float32)
    bk = np.zeros(N_EMBD, np.float32)
    bv = np.zeros(N_EMBD, np.float32)

    # Head 0 (rows 0..31): previous-token head. NEOX pairs are (p, p + 16).
    amp = np.array(PREV_AMP) / sum(PREV_AMP) * PREV_SCALE * np.sqrt(D)
    theta = FREQ_BASE ** (-2.0 * np.arange(half) / D)
    for p, a in enumerate(amp):
        r = np.sqrt(a)
        bq[p] = r
        bk[p], bk[p + half] = r * np.cos(theta[p]), r * np.sin(theta[p])
    for k, t in enumerate(disamb):
        wv[k, code[t]] = 1.0
        wo[prev_dim[t], k] = 1.0

    # Head 1 (rows 32..63): flag head on the slowest pair (15, 31).
    qk = np.sqrt(FLAG_SCORE * np.sqrt(D))
    bq[D + half - 1] = qk
    wk[D + half - 1, d_resp] = qk
    wv[D, d_resp] = 1.0
    wo[d_flag, D] = 1.0

    w = gguf.GGUFWriter(str(out_path), "qwen2")
    w.add_name("tool-qwen2")
    w.add_context_length(N_CTX)
    w.add_embedding_length(N_EMBD)
    w.add_block_count(1)
    w.add_feed_forward_length(N_FF)
    w.add_head_count(N_HEAD)
    w.add_head_count_kv(N_HEAD)
    w.add_key_length(D)
    w.add_value_length(D)
    w.add_rope_dimension_count(D)
    w.add_rope_freq_base(FREQ_BASE)
    w.add_layer_norm_rms_eps(RMS_EPS)
    for key, val, vtype, sub in kvs:
        w.add_key_value(key, val, vtype, sub_type=sub)
    w.add_chat_template(CHAT_TEMPLATE)

    def add(name: str, x: np.ndarray, qtype: T = T.F32) -> None:
        x = np.ascontiguousarray(x, dtype=np.float32)
        if qtype == T.F32:
            w.add_tensor(name, x)
            return
        data = quants.quantize(x, qtype)
        err = np.abs(quants.dequantize(data, qtype).reshape(x.shape) - x).max()
        assert err <= 1e-3 * np.abs(x).max(), f"{name}: {qtype.name} error {err}"
        w.add_tensor(name, data, raw_dtype=qtype)

    add("token_embd.weight", emb, T.Q8_0)
    add("blk.0.attn_norm.weight", np.full(N_EMBD, np.sqrt(2.0 / N_EMBD)))
    add("blk.0.attn_q.weight", wq)
    add("blk.0.attn_k.weight", wk)
    add("blk.0.attn_v.weight", wv)
    add("blk.0.attn_q.bias", bq)
    add("blk.0.attn_k.bias", bk)
    add("blk.0.attn_v.bias", bv)
    add("blk.0.attn_output.weight", wo)
    add("blk.0.ffn_norm.weight", np.ones(N_EMBD))
    add("blk.0.ffn_gate.weight", np.zeros((N_FF, N_EMBD)))
    add("blk.0.ffn_up.weight", np.zeros((N_FF, N_EMBD)))
    add("blk.0.ffn_down.weight", np.zeros((N_EMBD, N_FF)))
    add("output_norm.weight", np.ones(N_EMBD))
    add("output.weight", out, T.Q4_0)

    w.write_header_to_file()
    w.write_kv_data_to_file()
    w.write_tensors_to_file()
    w.close()
    return out_path


def main(argv: list[str]) -> None:
    out_dir = Path(argv[1]) if len(argv) > 1 else REPO / "target" / "tiny-models"
    out_dir.mkdir(parents=True, exist_ok=True)
    path = build(out_dir / "tool-qwen2.gguf")
    print(f"wrote {path} ({path.stat().st_size} bytes)")


if __name__ == "__main__":
    main(sys.argv)
