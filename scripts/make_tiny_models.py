#!/usr/bin/env python3
"""Writes ten tiny random-weight GGUF models for wick's end-to-end tests.

    pip install numpy gguf==0.19.0
    python3 scripts/make_tiny_models.py [OUTDIR]      # OUTDIR defaults to target/tiny-models

Output (deterministic: fixed numpy seeds, same bytes on every run; 2.0, 2.4 and 1.8 MB):

  tiny-llama.gguf   arch `llama`: n_embd 256, 4 layers, 8 heads / 4 kv heads (GQA), head_dim 32,
                    n_ff 512, vocab 512, rope freq_base 1e4 (llama.cpp rope type NORM: adjacent
                    pairs), rms eps 1e-5, context_length 2048, untied output.
  tiny-qwen3.gguf   arch `qwen3`: n_embd 256, 4 layers, 8 heads / 2 kv heads, head_dim 64 (q dim
                    512 != n_embd), n_ff 512, vocab 512, rope freq_base 1e6 (rope type NEOX: halves),
                    rms eps 1e-6, context_length 2048, per-head attn_q_norm / attn_k_norm (64 F32),
                    untied output.
  tiny-qwen2        arch `qwen2`: n_embd 256, 4 layers, 8 heads / 2 kv heads, head_dim 32, n_ff 512,
                    vocab 512, rope freq_base 1e4 (rope type NEOX), rms eps 1e-6, context_length
                    2048, attn_q / attn_k / attn_v biases (F32, std 0.5), tied output (no
                    `output.weight`: the head is `token_embd`).
  tiny-qwen2-stacked  tiny-qwen2's shape (seed 2482) with attn_q / attn_k / attn_v all Q8_0 and
                    ffn_gate / ffn_up both Q4_K, so wick stacks them (and the biases).
  tiny-llama-fused  tiny-llama's shape (seed 1235) with attn_q / attn_k Q8_0, attn_v Q6_K,
                    attn_output Q4_K, ffn_gate / ffn_up / ffn_down Q8_0, output Q6_K: the formats
                    of wick's fused decode matvecs (RoPE and KV store, gated activation).
  tiny-llama-q4km   tiny-llama's shape (seed 1236) in a Q4_K_M-like mix: token_embd, attn_q,
                    attn_k, attn_output, ffn_gate, ffn_up Q4_K, attn_v, ffn_down and output Q6_K:
                    llama 8B Q4_K_M's decode path (the residual adds and norms inside the output
                    and down projections, matvec_add_norm, read normed by q, k, v and gate/up).

  tiny-qwen3moe     arch `qwen3moe`: n_embd 256, 4 layers, 8 heads / 4 kv heads, head_dim 64, QK-norm,
                    rope freq_base 1e6 (NEOX), vocab 512, untied output; 16 experts of 256, 4 routed
                    per token (softmax, weights renormalised). Tensors: token_embd Q5_K, attn_q
                    Q4_K, attn_k IQ4_NL, attn_v Q8_0, attn_output Q6_K, ffn_gate_exps IQ4_XS,
                    ffn_up_exps Q3_K, ffn_down_exps MXFP4, output Q6_K, router (ffn_gate_inp) F32.
  tiny-qwen3moe-stacked  tiny-qwen3moe's shape (seed 3005) with token_embd, attn_q, attn_k,
                    attn_output, ffn_gate_exps and ffn_up_exps Q4_K, attn_v, ffn_down_exps and
                    output Q6_K (a Q4_K_M-like mix): wick stacks gate and up per expert.
  tiny-qwen2moe     arch `qwen2moe`: n_embd 256, 4 layers, 8 heads / 2 kv heads, head_dim 32, q/k/v
                    biases, rope freq_base 1e4 (NEOX), vocab 512, untied output; 8 experts of 256,
                    2 routed (softmax, not renormalised), and a shared expert of 512 scaled by
                    sigmoid(ffn_gate_inp_shexp . x). Tensors: token_embd Q8_0, attn_q Q5_0, attn_k
                    Q5_1, attn_v F16, attn_output IQ4_NL, ffn_gate_exps Q2_K, ffn_up_exps MXFP4,
                    ffn_down_exps Q3_K, ffn_gate_shexp Q4_K, ffn_up_shexp Q4_0, ffn_down_shexp
                    IQ4_XS, output BF16.
  tiny-gpt-oss      arch `gpt-oss`: n_embd 256, 4 layers, 8 heads / 2 kv heads, head_dim 32, q/k/v
                    and output biases, per-head attn_sinks, even layers with a 16-position sliding
                    window, rope freq_base 150000 with YaRN (factor 32, original context 4096),
                    post_attention_norm, vocab 512, untied output; 8 experts of 256, 2 routed
                    (biased router, softmax over the chosen logits), biased experts, clamped
                    SwiGLU. Tensors: token_embd Q8_0, attn_q Q8_0, attn_k F16, attn_v Q5_0,
                    attn_output Q4_K, all experts MXFP4 (as gpt-oss ships), output Q6_K.
  tiny-gemma3       arch `gemma3`: n_embd 256, 7 layers (layers 0-4 and 6 attend through a
                    16-position sliding window with RoPE base 10000, layer 5 globally with 1e6),
                    4 heads / 2 kv heads, head_dim 64, QK-norm, post-attention and post-FFN norms,
                    GeGLU (n_ff 512), embeddings scaled by 16, vocab 512, tied output (as
                    tiny-qwen2). Tensors: token_embd Q8_0, attn_q Q4_K, attn_k Q5_0, attn_v Q6_K,
                    attn_output Q8_0, ffn_gate Q5_K, ffn_up IQ4_XS, ffn_down Q4_0.
  The MoE models write feed_forward_length 1024 besides the expert lengths, as real files do.
  Router weights have std ROUTER_STD / sqrt(n_embd), so router logits spread with std ~16: the
  reference test stops trusting a sequence at its first router near-tie (top-k boundary gap
  below 0.01), and a wide spread keeps such ties rarer. Q2_K, Q3_K, IQ4_NL and IQ4_XS, which
  gguf cannot quantize, use the simple range-based quantizers below (IQ4: nearest code of the
  non-linear table, sign of the scale chosen so the largest magnitude maps to -127).

Tensor types of the dense models (norms and biases always F32):

  tensor              tiny-llama   tiny-qwen3   tiny-qwen2
  token_embd          Q8_0         Q6_K         Q4_K (also the output head)
  attn_q              Q4_0         Q5_0         Q8_0
  attn_k              Q5_1         Q8_0         F16
  attn_v              Q8_0         F16          Q5_0
  attn_output         Q4_1         Q4_K         Q6_K
  ffn_gate            Q4_K         Q5_K         Q4_0
  ffn_up              Q5_K         Q4_1         Q5_1
  ffn_down            Q6_K         Q4_0         Q5_K
  output              F16          BF16         (tied)

The files carry no vocabulary: `tokenizer.ggml.model` = "none" plus `<arch>.vocab_size` = 512,
which llama.cpp accepts (it adds 512 dummy tokens; no BOS/EOS). Prompts are token ids.

Legacy quants (Q4_0..Q8_0), F16 and BF16 use `gguf.quants.quantize`. gguf 0.19 has no quantizer
for K-quants, so Q4_K / Q5_K / Q6_K are made by the simple min/max quantizers below (not
llama.cpp's optimising ones): per 32- (Q4_K/Q5_K) or 16-element (Q6_K) sub-block a scale (and
min) is chosen from the range, the sub-block scales are quantized to 6 bits (Q6_K: int8) against
an f16 super-block scale, and the values are rounded to the nearest level. Every quantized
tensor is checked by dequantizing it again with `gguf.quants.dequantize` (a packing error would
show as a large reconstruction error).

Weights are Gaussian with std 1/sqrt(fan_in) (embeddings std 1; output std 3.5/sqrt(n_embd) so
logits have a spread like a real model's), norm weights 1 + 0.1*N(0,1), biases 0.5*N(0,1).
Tied head (tiny-qwen2): the embedding (std 1) is the output matrix and the current token's
embedding is still a large part of the residual stream, so with positive norm weights the head
would mostly score the current token and the model would repeat it forever. Its output_norm
weights are therefore +-(1 + 0.1*N(0,1)) * 3.5/sqrt(n_embd) with random signs (logit std ~3.5,
no pull to the current token). Its seed was picked among a few for varied continuations with
few near-ties in llama.cpp's greedy runs.
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import gguf
from gguf import GGMLQuantizationType as T
from gguf import quants

REPO = Path(__file__).resolve().parent.parent
QK_K = 256


# ---------------------------------------------------------------------------------------------
# K-quant quantizers (simple, range based). Input: f32 array (rows, cols), cols % 256 == 0.
# Output: uint8 array (rows, cols // 256 * block_bytes) in ggml's block layout.
# ---------------------------------------------------------------------------------------------

def _f16(x: np.ndarray) -> np.ndarray:
    return x.astype(np.float16)


def _safe_div(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    return np.where(b > 0, a / np.where(b > 0, b, 1.0), 0.0)


def _safe_div_signed(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """a / b, 0 where b == 0 (b may be negative)."""
    return np.where(b != 0, a / np.where(b != 0, b, 1.0), 0.0)


def _pack_scale_min_k4(sc: np.ndarray, mn: np.ndarray) -> np.ndarray:
    """8 six-bit scales and 8 six-bit mins -> the 12-byte `scales` field of Q4_K/Q5_K."""
    out = np.zeros(sc.shape[:-1] + (12,), dtype=np.uint8)
    lo_sc, hi_sc = sc[..., :4], sc[..., 4:]
    lo_mn, hi_mn = mn[..., :4], mn[..., 4:]
    out[..., 0:4] = lo_sc | ((hi_sc >> 4) << 6)
    out[..., 4:8] = lo_mn | ((hi_mn >> 4) << 6)
    out[..., 8:12] = (hi_sc & 0xF) | ((hi_mn & 0xF) << 4)
    return out


def _affine_k(x: np.ndarray, nmax: int):
    """Shared part of Q4_K / Q5_K: x (nb, 8, 32) -> (d f16, dmin f16, sc u8, mq u8, q u8)."""
    mn = np.maximum(0.0, -x.min(axis=2))                     # value = d*sc*q - dmin*mq
    mx = x.max(axis=2)
    s = (mx + mn) / nmax
    d = _f16(s.max(axis=1) / 63.0)
    dmin = _f16(mn.max(axis=1) / 63.0)
    d32, dmin32 = d.astype(np.float32), dmin.astype(np.float32)
    sc = np.clip(np.rint(_safe_div(s, d32[:, None])), 0, 63).astype(np.uint8)
    mq = np.clip(np.rint(_safe_div(mn, dmin32[:, None])), 0, 63).astype(np.uint8)
    scale = d32[:, None] * sc
    offs = dmin32[:, None] * mq
    q = np.rint(_safe_div(x + offs[..., None], scale[..., None].repeat(32, axis=2)))
    q = np.clip(q, 0, nmax).astype(np.uint8)
    return d, dmin, sc, mq, q


def _nibbles_k(q: np.ndarray) -> np.ndarray:
    """q (nb, 256) values -> 128 bytes: chunk c of 64: low nibble = elem c*64+l, high = c*64+32+l."""
    q = q.reshape(-1, 4, 2, 32)
    return ((q[:, :, 0, :] & 0xF) | ((q[:, :, 1, :] & 0xF) << 4)).reshape(-1, 128).astype(np.uint8)


def quantize_q4_k(x: np.ndarray) -> np.ndarray:
    rows, cols = x.shape
    xb = x.reshape(-1, 8, 32).astype(np.float32)
    d, dmin, sc, mq, q = _affine_k(xb, 15)
    out = np.concatenate([
        d.view(np.uint8).reshape(-1, 2), dmin.view(np.uint8).reshape(-1, 2),
        _pack_scale_min_k4(sc, mq), _nibbles_k(q.reshape(-1, 256)),
    ], axis=1)
    assert out.shape[1] == 144
    return out.reshape(rows, -1)


def quantize_q5_k(x: np.ndarray) -> np.ndarray:
    rows, cols = x.shape
    xb = x.reshape(-1, 8, 32).astype(np.float32)
    d, dmin, sc, mq, q = _affine_k(xb, 31)
    q = q.reshape(-1, 4, 2, 32)                              # (nb, chunk, half, l)
    hi = (q >> 4) & 1
    qh = np.zeros((q.shape[0], 32), dtype=np.uint8)
    for c in range(4):
        qh |= (hi[:, c, 0, :] << (2 * c)).astype(np.uint8)
        qh |= (hi[:, c, 1, :] << (2 * c + 1)).astype(np.uint8)
    out = np.concatenate([
        d.view(np.uint8).reshape(-1, 2), dmin.view(np.uint8).reshape(-1, 2),
        _pack_scale_min_k4(sc, mq), qh, _nibbles_k(q.reshape(-1, 256)),
    ], axis=1)
    assert out.shape[1] == 176
    return out.reshape(rows, -1)


def quantize_q6_k(x: np.ndarray) -> np.ndarray:
    rows, cols = x.shape
    xb = x.reshape(-1, 16, 16).astype(np.float32)
    s = np.abs(xb).max(axis=2) / 31.0                        # value = d*sc*(q-32), q-32 in [-32,31]
    d = _f16(s.max(axis=1) / 127.0)
    d32 = d.astype(np.float32)
    sc = np.clip(np.rint(_safe_div(s, d32[:, None])), -128, 127).astype(np.int8)
    scale = (d32[:, None] * sc.astype(np.float32))[..., None].repeat(16, axis=2)
    q = np.clip(np.rint(_safe_div(xb, scale)), -32, 31).astype(np.int16) + 32
    q = q.reshape(-1, 2, 4, 32).astype(np.uint8)             # (nb, half, quarter, l)
    ql = np.concatenate([
        (q[:, :, 0, :] & 0xF) | ((q[:, :, 2, :] & 0xF) << 4),   # ql[64n + l]
        (q[:, :, 1, :] & 0xF) | ((q[:, :, 3, :] & 0xF) << 4),   # ql[64n + 32 + l]
    ], axis=2).reshape(-1, 128)
    qh = ((q[:, :, 0, :] >> 4) | ((q[:, :, 1, :] >> 4) << 2)
          | ((q[:, :, 2, :] >> 4) << 4) | ((q[:, :, 3, :] >> 4) << 6)).reshape(-1, 64)
    out = np.concatenate([
        ql.astype(np.uint8), qh.astype(np.uint8), sc.view(np.uint8), d.view(np.uint8).reshape(-1, 2),
    ], axis=1)
    assert out.shape[1] == 210
    return out.reshape(rows, -1)


def quantize_q2_k(x: np.ndarray) -> np.ndarray:
    """value = d*sc*q - dmin*m per 16-element sub-block; q 2 bits, sc and m 4 bits."""
    rows, cols = x.shape
    xb = x.reshape(-1, 16, 16).astype(np.float32)
    mn = np.maximum(0.0, -xb.min(axis=2))
    s = (xb.max(axis=2) + mn) / 3.0
    d = _f16(s.max(axis=1) / 15.0)
    dmin = _f16(mn.max(axis=1) / 15.0)
    d32, dmin32 = d.astype(np.float32), dmin.astype(np.float32)
    sc = np.clip(np.rint(_safe_div(s, d32[:, None])), 0, 15).astype(np.uint8)
    mq = np.clip(np.rint(_safe_div(mn, dmin32[:, None])), 0, 15).astype(np.uint8)
    scale = (d32[:, None] * sc)[..., None].repeat(16, axis=2)
    offs = (dmin32[:, None] * mq)[..., None]
    q = np.clip(np.rint(_safe_div(xb + offs, scale)), 0, 3).astype(np.uint8)
    # element 128*n + 32*j + l sits in qs[32*n + l], bits 2*j
    q = q.reshape(-1, 2, 4, 32)                              # (nb, n, j, l)
    qs = (q[:, :, 0] | (q[:, :, 1] << 2) | (q[:, :, 2] << 4) | (q[:, :, 3] << 6)).reshape(-1, 64)
    out = np.concatenate([
        (sc | (mq << 4)).astype(np.uint8), qs.astype(np.uint8),
        d.view(np.uint8).reshape(-1, 2), dmin.view(np.uint8).reshape(-1, 2),
    ], axis=1)
    assert out.shape[1] == 84
    return out.reshape(rows, -1)


def quantize_q3_k(x: np.ndarray) -> np.ndarray:
    """value = d*(sc-32)*q per 16-element sub-block; q in [-4, 3], sc 6 bits (signed via -32).

    Each sub-block's scale is signed so that its largest-magnitude element lands on -4."""
    rows, cols = x.shape
    xb = x.reshape(-1, 16, 16).astype(np.float32)
    amax_i = np.abs(xb).argmax(axis=2)
    s = -np.take_along_axis(xb, amax_i[..., None], axis=2)[..., 0] / 4.0
    d = _f16(np.abs(s).max(axis=1) / 31.0)
    d32 = d.astype(np.float32)
    sc = np.clip(np.rint(_safe_div_signed(s, d32[:, None])), -32, 31).astype(np.int16)
    scale = (d32[:, None] * sc.astype(np.float32))[..., None].repeat(16, axis=2)
    q = np.clip(np.rint(_safe_div_signed(xb, scale)), -4, 3).astype(np.int16) + 4   # 0..7
    q = q.reshape(-1, 2, 4, 32).astype(np.uint8)             # (nb, n, j, l): elem 128n+32j+l
    lo = q & 3
    qs = (lo[:, :, 0] | (lo[:, :, 1] << 2) | (lo[:, :, 2] << 4) | (lo[:, :, 3] << 6)).reshape(-1, 64)
    hi = (q >> 2) & 1                                        # set = no -4 offset
    hmask = np.zeros((q.shape[0], 32), dtype=np.uint8)
    for n in range(2):
        for j in range(4):
            hmask |= (hi[:, n, j, :] << (4 * n + j)).astype(np.uint8)
    u = (sc + 32).astype(np.uint8)                           # 16 six-bit scales
    scales = np.concatenate([
        (u[:, 0:8] & 0xF) | ((u[:, 8:16] & 0xF) << 4),
        (u[:, 0:4] >> 4) | ((u[:, 4:8] >> 4) << 2) | ((u[:, 8:12] >> 4) << 4) | ((u[:, 12:16] >> 4) << 6),
    ], axis=1)
    out = np.concatenate([
        hmask, qs.astype(np.uint8), scales.astype(np.uint8), d.view(np.uint8).reshape(-1, 2),
    ], axis=1)
    assert out.shape[1] == 110
    return out.reshape(rows, -1)


IQ4_VALUES = np.array([-127, -104, -83, -65, -49, -35, -22, -10, 1, 13, 25, 38, 53, 69, 89, 113],
                      dtype=np.float32)


def _iq4_codes(x: np.ndarray, scale: np.ndarray) -> np.ndarray:
    """Nearest IQ4 code of x / scale (scale broadcast against x); 0 where scale == 0."""
    v = _safe_div_signed(x, scale)
    return np.abs(v[..., None] - IQ4_VALUES).argmin(axis=-1).astype(np.uint8)


def _iq4_signed_scale(xb: np.ndarray) -> np.ndarray:
    """Per block (last axis) the signed scale that maps its largest-magnitude element to -127."""
    amax_i = np.abs(xb).argmax(axis=-1)
    return -np.take_along_axis(xb, amax_i[..., None], axis=-1)[..., 0] / 127.0


def quantize_iq4_nl(x: np.ndarray) -> np.ndarray:
    """Blocks of 32: f16 d, 16 bytes; value = d * IQ4_VALUES[code]; byte j = code j | code j+16 << 4."""
    rows, cols = x.shape
    xb = x.reshape(-1, 32).astype(np.float32)
    d = _f16(_iq4_signed_scale(xb))
    q = _iq4_codes(xb, d.astype(np.float32)[:, None])
    out = np.concatenate([d.view(np.uint8).reshape(-1, 2), q[:, :16] | (q[:, 16:] << 4)], axis=1)
    assert out.shape[1] == 18
    return out.reshape(rows, -1)


def quantize_iq4_xs(x: np.ndarray) -> np.ndarray:
    """Blocks of 256: f16 d, u16 scales_h, 4 bytes scales_l, 128 bytes codes; sub-block ib of 32
    has scale d * (ls - 32) with ls 6 bits (low nibble in scales_l[ib/2], high 2 bits in scales_h
    bits 2ib); codes as IQ4_NL per sub-block."""
    rows, cols = x.shape
    xb = x.reshape(-1, 8, 32).astype(np.float32)
    s = _iq4_signed_scale(xb)                                # (nb, 8)
    d = _f16(np.abs(s).max(axis=1) / 31.0)
    d32 = d.astype(np.float32)
    sc = np.clip(np.rint(_safe_div_signed(s, d32[:, None])), -32, 31).astype(np.int16)
    q = _iq4_codes(xb, (d32[:, None] * sc.astype(np.float32))[..., None])
    ls = (sc + 32).astype(np.uint16)
    scales_h = np.zeros(ls.shape[0], dtype=np.uint16)
    for ib in range(8):
        scales_h |= ((ls[:, ib] >> 4) & 3) << (2 * ib)
    scales_l = ((ls[:, 0::2] & 0xF) | ((ls[:, 1::2] & 0xF) << 4)).astype(np.uint8)
    qs = (q[:, :, :16] | (q[:, :, 16:] << 4)).reshape(-1, 128)
    out = np.concatenate([
        d.view(np.uint8).reshape(-1, 2), scales_h.view(np.uint8).reshape(-1, 2), scales_l, qs,
    ], axis=1)
    assert out.shape[1] == 136
    return out.reshape(rows, -1)


K_QUANTIZERS = {T.Q4_K: quantize_q4_k, T.Q5_K: quantize_q5_k, T.Q6_K: quantize_q6_k,
                T.Q2_K: quantize_q2_k, T.Q3_K: quantize_q3_k,
                T.IQ4_NL: quantize_iq4_nl, T.IQ4_XS: quantize_iq4_xs}

# Max relative RMS reconstruction error accepted per type (sanity check of the packing).
MAX_REL_ERR = {
    T.F32: 0.0, T.F16: 1e-3, T.BF16: 5e-3, T.Q8_0: 0.01, T.Q6_K: 0.04,
    T.Q5_0: 0.06, T.Q5_1: 0.06, T.Q5_K: 0.06, T.Q4_0: 0.12, T.Q4_1: 0.12, T.Q4_K: 0.12,
    T.IQ4_NL: 0.12, T.IQ4_XS: 0.12, T.MXFP4: 0.16, T.Q3_K: 0.22, T.Q2_K: 0.40,
}


def encode(x: np.ndarray, qtype: T) -> np.ndarray:
    """Quantize a (rows, cols) f32 array; returns what GGUFWriter.add_tensor takes."""
    x = np.ascontiguousarray(x, dtype=np.float32)
    if qtype == T.F32:
        return x
    if qtype in K_QUANTIZERS:
        data = K_QUANTIZERS[qtype](x)
    else:
        data = quants.quantize(x, qtype)
    back = quants.dequantize(data, qtype).reshape(x.shape)
    rel = float(np.sqrt(np.mean((back - x) ** 2) / np.mean(x ** 2)))
    if not rel <= MAX_REL_ERR[qtype]:
        raise AssertionError(f"{qtype.name}: relative reconstruction error {rel:.4f} too large")
    return data


# ---------------------------------------------------------------------------------------------
# Models
# ---------------------------------------------------------------------------------------------

QWEN3MOE_SEED = 3001
QWEN2MOE_SEED = 3002
GPT_OSS_SEED = 3003
GEMMA3_SEED = 3004
QWEN3MOE_STACKED_SEED = 3005
ROUTER_STD = 16.0      # router logit std for unit-rms inputs (see the docstring)
SHEXP_GATE_STD = 2.0  # qwen2moe shared-expert gate logit std

CONFIGS = {
    "tiny-llama": dict(
        arch="llama", seed=1234, n_embd=256, n_layer=4, n_head=8, n_head_kv=4, head_dim=32,
        n_ff=512, n_vocab=512, freq_base=10000.0, eps=1e-5, n_ctx=2048, qk_norm=False,
        qkv_bias=None, tied=False,
        types=dict(token_embd=T.Q8_0, attn_q=T.Q4_0, attn_k=T.Q5_1, attn_v=T.Q8_0,
                   attn_output=T.Q4_1, ffn_gate=T.Q4_K, ffn_up=T.Q5_K, ffn_down=T.Q6_K,
                   output=T.F16),
    ),
    "tiny-qwen3": dict(
        arch="qwen3", seed=4321, n_embd=256, n_layer=4, n_head=8, n_head_kv=2, head_dim=64,
        n_ff=512, n_vocab=512, freq_base=1000000.0, eps=1e-6, n_ctx=2048, qk_norm=True,
        qkv_bias=None, tied=False,
        types=dict(token_embd=T.Q6_K, attn_q=T.Q5_0, attn_k=T.Q8_0, attn_v=T.F16,
                   attn_output=T.Q4_K, ffn_gate=T.Q5_K, ffn_up=T.Q4_1, ffn_down=T.Q4_0,
                   output=T.BF16),
    ),
    "tiny-qwen2": dict(
        arch="qwen2", seed=2481, n_embd=256, n_layer=4, n_head=8, n_head_kv=2, head_dim=32,
        n_ff=512, n_vocab=512, freq_base=10000.0, eps=1e-6, n_ctx=2048, qk_norm=False,
        qkv_bias=(0.5, 0.5, 0.5), tied=True,  # bias std of q, k, v
        types=dict(token_embd=T.Q4_K, attn_q=T.Q8_0, attn_k=T.F16, attn_v=T.Q5_0,
                   attn_output=T.Q6_K, ffn_gate=T.Q4_0, ffn_up=T.Q5_1, ffn_down=T.Q5_K),
    ),
    # tiny-qwen2's shape with q/k/v of one type (and gate/up of one type): wick stacks each
    # group into one matmul, its biases into one vector, and reads the projections as views.
    "tiny-qwen2-stacked": dict(
        arch="qwen2", seed=2482, n_embd=256, n_layer=4, n_head=8, n_head_kv=2, head_dim=32,
        n_ff=512, n_vocab=512, freq_base=10000.0, eps=1e-6, n_ctx=2048, qk_norm=False,
        qkv_bias=(0.5, 0.5, 0.5), tied=True,
        types=dict(token_embd=T.Q4_K, attn_q=T.Q8_0, attn_k=T.Q8_0, attn_v=T.Q8_0,
                   attn_output=T.Q6_K, ffn_gate=T.Q4_K, ffn_up=T.Q4_K, ffn_down=T.Q5_K),
    ),
    # tiny-llama's shape with the formats of wick's own decode kernels: q and k Q8_0 (stacked),
    # v Q6_K alone, gate and up Q8_0 (stacked) over a Q8_0 down projection, so decode rotates and
    # stores q, k and v in the projections (matvec_rope) and gates in the gate/up matvec
    # (matvec_glu).
    "tiny-llama-fused": dict(
        arch="llama", seed=1235, n_embd=256, n_layer=4, n_head=8, n_head_kv=4, head_dim=32,
        n_ff=512, n_vocab=512, freq_base=10000.0, eps=1e-5, n_ctx=2048, qk_norm=False,
        qkv_bias=None, tied=False,
        types=dict(token_embd=T.Q8_0, attn_q=T.Q8_0, attn_k=T.Q8_0, attn_v=T.Q6_K,
                   attn_output=T.Q4_K, ffn_gate=T.Q8_0, ffn_up=T.Q8_0, ffn_down=T.Q8_0,
                   output=T.Q6_K),
    ),
    # tiny-llama's shape in llama 8B Q4_K_M's formats (attn_v and ffn_down all Q6_K here, not
    # every other layer): decode does each residual add and the norm after it in the output and
    # down projections (matvec_add_norm), and q/k, v and gate/up read that norm scaled.
    "tiny-llama-q4km": dict(
        arch="llama", seed=1236, n_embd=256, n_layer=4, n_head=8, n_head_kv=4, head_dim=32,
        n_ff=512, n_vocab=512, freq_base=10000.0, eps=1e-5, n_ctx=2048, qk_norm=False,
        qkv_bias=None, tied=False,
        types=dict(token_embd=T.Q4_K, attn_q=T.Q4_K, attn_k=T.Q4_K, attn_v=T.Q6_K,
                   attn_output=T.Q4_K, ffn_gate=T.Q4_K, ffn_up=T.Q4_K, ffn_down=T.Q6_K,
                   output=T.Q6_K),
    ),
    # Mixture of experts. n_ff is written as feed_forward_length only (llama.cpp sizes the
    # experts from expert_feed_forward_length, the shared expert from
    # expert_shared_feed_forward_length); it differs from both, as in real files.
    "tiny-qwen3moe": dict(
        arch="qwen3moe", seed=QWEN3MOE_SEED, n_embd=256, n_layer=4, n_head=8, n_head_kv=4, head_dim=64,
        n_ff=1024, n_vocab=512, freq_base=1000000.0, eps=1e-6, n_ctx=2048, qk_norm=True,
        qkv_bias=None, tied=False,
        moe=dict(n_expert=16, n_expert_used=4, n_ff_exp=256, n_ff_shexp=None, router_std=ROUTER_STD),
        types=dict(token_embd=T.Q5_K, attn_q=T.Q4_K, attn_k=T.IQ4_NL, attn_v=T.Q8_0,
                   attn_output=T.Q6_K, ffn_gate_exps=T.IQ4_XS, ffn_up_exps=T.Q3_K,
                   ffn_down_exps=T.MXFP4, output=T.Q6_K),
    ),
    # tiny-qwen3moe's shape in a Q4_K_M-like mix: gate and up experts of one type, so wick
    # stacks them per expert into one product.
    "tiny-qwen3moe-stacked": dict(
        arch="qwen3moe", seed=QWEN3MOE_STACKED_SEED, n_embd=256, n_layer=4, n_head=8, n_head_kv=4,
        head_dim=64, n_ff=1024, n_vocab=512, freq_base=1000000.0, eps=1e-6, n_ctx=2048,
        qk_norm=True, qkv_bias=None, tied=False,
        moe=dict(n_expert=16, n_expert_used=4, n_ff_exp=256, n_ff_shexp=None, router_std=ROUTER_STD),
        types=dict(token_embd=T.Q4_K, attn_q=T.Q4_K, attn_k=T.Q4_K, attn_v=T.Q6_K,
                   attn_output=T.Q4_K, ffn_gate_exps=T.Q4_K, ffn_up_exps=T.Q4_K,
                   ffn_down_exps=T.Q6_K, output=T.Q6_K),
    ),
    "tiny-qwen2moe": dict(
        arch="qwen2moe", seed=QWEN2MOE_SEED, n_embd=256, n_layer=4, n_head=8, n_head_kv=2, head_dim=32,
        n_ff=1024, n_vocab=512, freq_base=10000.0, eps=1e-6, n_ctx=2048, qk_norm=False,
        qkv_bias=(0.5, 0.5, 0.5), tied=False,  # llama.cpp's qwen2moe requires output.weight
        moe=dict(n_expert=8, n_expert_used=2, n_ff_exp=256, n_ff_shexp=512, router_std=ROUTER_STD),
        types=dict(token_embd=T.Q8_0, attn_q=T.Q5_0, attn_k=T.Q5_1, attn_v=T.F16,
                   attn_output=T.IQ4_NL, ffn_gate_exps=T.Q2_K, ffn_up_exps=T.MXFP4,
                   ffn_down_exps=T.Q3_K, ffn_gate_shexp=T.Q4_K, ffn_up_shexp=T.Q4_0,
                   ffn_down_shexp=T.IQ4_XS, output=T.BF16),
    ),
    # gemma3: embeddings times sqrt(n_embd), QK-norm, norms after attention and feed-forward as
    # well as before, GeGLU, five sliding-window layers (16 positions, so the prompts cross it,
    # RoPE base 10000) to one global (base 1e6), tied output.
    "tiny-gemma3": dict(
        arch="gemma3", seed=GEMMA3_SEED, n_embd=256, n_layer=7, n_head=4, n_head_kv=2, head_dim=64,
        n_ff=512, n_vocab=512, freq_base=1000000.0, eps=1e-6, n_ctx=2048, qk_norm=True,
        qkv_bias=None, tied=True, gemma=dict(sliding_window=16),
        types=dict(token_embd=T.Q8_0, attn_q=T.Q4_K, attn_k=T.Q5_0, attn_v=T.Q6_K,
                   attn_output=T.Q8_0, ffn_gate=T.Q5_K, ffn_up=T.IQ4_XS, ffn_down=T.Q4_0),
    ),
    # gpt-oss: attention biases and sinks, even layers with a 16-position sliding window (so the
    # 64-token prompts cross it), YaRN (factor 32 over an original context of 4096), a biased
    # router with softmax over the chosen experts, biased MXFP4 experts, the clamped SwiGLU.
    "tiny-gpt-oss": dict(
        arch="gpt-oss", seed=GPT_OSS_SEED, n_embd=256, n_layer=4, n_head=8, n_head_kv=2, head_dim=32,
        n_ff=1024, n_vocab=512, freq_base=150000.0, eps=1e-5, n_ctx=131072, qk_norm=False,
        qkv_bias=(0.5, 0.5, 0.5), tied=False,
        gpt_oss=dict(sliding_window=16, yarn_factor=32.0, yarn_orig_ctx=4096),
        moe=dict(n_expert=8, n_expert_used=2, n_ff_exp=256, n_ff_shexp=None, router_std=ROUTER_STD),
        types=dict(token_embd=T.Q8_0, attn_q=T.Q8_0, attn_k=T.F16, attn_v=T.Q5_0,
                   attn_output=T.Q4_K, ffn_gate_exps=T.MXFP4, ffn_up_exps=T.MXFP4,
                   ffn_down_exps=T.MXFP4, output=T.Q6_K),
    ),
}

OUTPUT_STD = 3.5  # logits std ~ OUTPUT_STD * rms(norm weights) for unit-rms hidden states


def build(name: str, out_path: Path) -> Path:
    c = CONFIGS[name]
    rng = np.random.default_rng(c["seed"])
    E, F, V, H, HKV, D = c["n_embd"], c["n_ff"], c["n_vocab"], c["n_head"], c["n_head_kv"], c["head_dim"]
    ty = c["types"]

    def mat(rows: int, cols: int, std: float) -> np.ndarray:
        # numpy (rows, cols) = ggml ne [cols, rows]: `cols` is the input dimension
        return (rng.standard_normal((rows, cols)) * std).astype(np.float32)

    def norm(n: int) -> np.ndarray:
        return (1.0 + 0.1 * rng.standard_normal(n)).astype(np.float32)

    def bias(n: int, std: float) -> np.ndarray:
        return (std * rng.standard_normal(n)).astype(np.float32)

    w = gguf.GGUFWriter(str(out_path), c["arch"])
    w.add_name(name)
    w.add_context_length(c["n_ctx"])
    w.add_embedding_length(E)
    w.add_block_count(c["n_layer"])
    w.add_feed_forward_length(F)
    w.add_head_count(H)
    w.add_head_count_kv(HKV)
    w.add_key_length(D)
    w.add_value_length(D)
    w.add_rope_dimension_count(D)
    w.add_rope_freq_base(c["freq_base"])
    w.add_layer_norm_rms_eps(c["eps"])
    w.add_vocab_size(V)
    w.add_tokenizer_model("none")
    gemma = c.get("gemma")
    if gemma:
        w.add_sliding_window(gemma["sliding_window"])
    oss = c.get("gpt_oss")
    if oss:
        w.add_sliding_window(oss["sliding_window"])
        w.add_rope_scaling_type(gguf.RopeScalingType.YARN)
        w.add_rope_scaling_factor(oss["yarn_factor"])
        w.add_rope_scaling_orig_ctx_len(oss["yarn_orig_ctx"])
    moe = c.get("moe")
    if moe:
        w.add_expert_count(moe["n_expert"])
        w.add_expert_used_count(moe["n_expert_used"])
        w.add_expert_feed_forward_length(moe["n_ff_exp"])
        if moe["n_ff_shexp"]:
            w.add_expert_shared_feed_forward_length(moe["n_ff_shexp"])

    def experts(n: int, rows: int, cols: int, std: float) -> np.ndarray:
        # numpy (n, rows, cols) = ggml ne [cols, rows, n]
        return (rng.standard_normal((n, rows, cols)) * std).astype(np.float32)

    def add(tname: str, data: np.ndarray, qtype: T) -> None:
        if data.ndim == 3:  # stacked experts: quantize row-wise, keep the expert axis
            enc = encode(data.reshape(-1, data.shape[2]), qtype)
            enc = enc.reshape(data.shape[0], data.shape[1], -1)
        else:
            enc = encode(data, qtype)
        if qtype in (T.F32, T.F16):
            w.add_tensor(tname, enc)
        else:
            w.add_tensor(tname, enc, raw_dtype=qtype)

    # Gemma scales embeddings by sqrt(n_embd): a table of std 1/sqrt(n_embd) gives unit inputs.
    embd_std = E ** -0.5 if gemma else 1.0
    add("token_embd.weight", mat(V, E, embd_std), ty["token_embd"])
    for i in range(c["n_layer"]):
        p = f"blk.{i}."
        add(p + "attn_norm.weight", norm(E), T.F32)
        add(p + "attn_q.weight", mat(H * D, E, E ** -0.5), ty["attn_q"])
        add(p + "attn_k.weight", mat(HKV * D, E, E ** -0.5), ty["attn_k"])
        add(p + "attn_v.weight", mat(HKV * D, E, E ** -0.5), ty["attn_v"])
        if c["qkv_bias"]:
            sq, sk, sv = c["qkv_bias"]
            add(p + "attn_q.bias", bias(H * D, sq), T.F32)
            add(p + "attn_k.bias", bias(HKV * D, sk), T.F32)
            add(p + "attn_v.bias", bias(HKV * D, sv), T.F32)
        if c["qk_norm"]:
            add(p + "attn_q_norm.weight", norm(D), T.F32)
            add(p + "attn_k_norm.weight", norm(D), T.F32)
        add(p + "attn_output.weight", mat(E, H * D, (H * D) ** -0.5), ty["attn_output"])
        if gemma:
            add(p + "post_attention_norm.weight", norm(E), T.F32)
        if oss:
            add(p + "attn_output.bias", bias(E, 0.5), T.F32)
            add(p + "attn_sinks.weight", bias(H, 1.0), T.F32)
            add(p + "post_attention_norm.weight", norm(E), T.F32)
        else:
            add(p + "ffn_norm.weight", norm(E), T.F32)
        if moe:
            NE, FE, FS = moe["n_expert"], moe["n_ff_exp"], moe["n_ff_shexp"]
            add(p + "ffn_gate_inp.weight", mat(NE, E, moe["router_std"] * E ** -0.5), T.F32)
            add(p + "ffn_gate_exps.weight", experts(NE, FE, E, E ** -0.5), ty["ffn_gate_exps"])
            add(p + "ffn_up_exps.weight", experts(NE, FE, E, E ** -0.5), ty["ffn_up_exps"])
            add(p + "ffn_down_exps.weight", experts(NE, E, FE, FE ** -0.5), ty["ffn_down_exps"])
            if oss:
                add(p + "ffn_gate_inp.bias", bias(NE, 1.0), T.F32)
                add(p + "ffn_gate_exps.bias", mat(NE, FE, 0.5), T.F32)
                add(p + "ffn_up_exps.bias", mat(NE, FE, 0.5), T.F32)
                add(p + "ffn_down_exps.bias", mat(NE, E, 0.5), T.F32)
            if FS:
                add(p + "ffn_gate_inp_shexp.weight", bias(E, SHEXP_GATE_STD * E ** -0.5), T.F32)
                add(p + "ffn_gate_shexp.weight", mat(FS, E, E ** -0.5), ty["ffn_gate_shexp"])
                add(p + "ffn_up_shexp.weight", mat(FS, E, E ** -0.5), ty["ffn_up_shexp"])
                add(p + "ffn_down_shexp.weight", mat(E, FS, FS ** -0.5), ty["ffn_down_shexp"])
        else:
            add(p + "ffn_gate.weight", mat(F, E, E ** -0.5), ty["ffn_gate"])
            add(p + "ffn_up.weight", mat(F, E, E ** -0.5), ty["ffn_up"])
            add(p + "ffn_down.weight", mat(E, F, F ** -0.5), ty["ffn_down"])
            if gemma:
                add(p + "post_ffw_norm.weight", norm(E), T.F32)
    if c["tied"]:
        # No output.weight: llama.cpp and wick use token_embd as the head. Random signs on the
        # final norm weights keep the head from reading back the current token's embedding
        # (which is still in the residual stream); the scale gives logits std ~OUTPUT_STD.
        sign = np.where(rng.random(E) < 0.5, -1.0, 1.0)
        scale = OUTPUT_STD * E ** -0.5 / embd_std
        add("output_norm.weight", (norm(E) * sign * scale).astype(np.float32), T.F32)
    else:
        add("output_norm.weight", norm(E), T.F32)
        add("output.weight", mat(V, E, OUTPUT_STD * E ** -0.5), ty["output"])

    w.write_header_to_file()
    w.write_kv_data_to_file()
    w.write_tensors_to_file()
    w.close()
    return out_path


def main(argv: list[str]) -> None:
    out_dir = Path(argv[1]) if len(argv) > 1 else REPO / "target" / "tiny-models"
    out_dir.mkdir(parents=True, exist_ok=True)
    for name in CONFIGS:
        path = build(name, out_dir / f"{name}.gguf")
        print(f"wrote {path} ({path.stat().st_size} bytes)")


if __name__ == "__main__":
    main(sys.argv)
