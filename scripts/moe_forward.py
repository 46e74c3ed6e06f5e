#!/usr/bin/env python3
"""A plain numpy forward pass of the tiny mixture-of-experts models (arch `qwen3moe`, `qwen2moe`,
`gpt-oss`).

    python3 scripts/moe_forward.py FILE.gguf [TOKEN ...]     # prints the greedy continuation

scripts/llama_reference.py uses it to find the router logits llama.cpp's graph sees (it does not
expose them) and checks its final logits against llama.cpp on the F32 copy of each model.

Every tensor is dequantized to f32 with gguf.quants.dequantize; all arithmetic is f32 (matmuls in
numpy's f32 BLAS). The graph follows llama.cpp's src/models/qwen3moe.cpp, qwen2moe.cpp and
build_moe_ffn in src/llama-graph.cpp:

  x = token_embd[tok]
  per layer:
    h = rms_norm(x) * attn_norm
    q, k, v = Wq h (+bq), Wk h (+bk), Wv h (+bv)           # biases: qwen2moe
    q, k = rms_norm(q) * attn_q_norm, rms_norm(k) * attn_k_norm  per head (qwen3moe)
    q, k = rope_neox(q), rope_neox(k)                      # pairs (i, i + head_dim/2)
    a = softmax(q k^T / sqrt(head_dim), causal) v          # GQA: head h reads kv head h // (n_head / n_head_kv)
    x = x + Wo a
    h = rms_norm(x) * ffn_norm
    r = ffn_gate_inp h                                     # router logits, n_expert
    p = softmax(r); sel = top-k of p (k = expert_used_count)
    w = p[sel]; qwen3moe: w /= max(sum(w), 6.103515625e-5)  (norm_w); qwen2moe: not renormalised
    moe = sum_j w_j * down_j(silu(gate_j h) * up_j h)      # no expert_weights_scale (0 = off)
    qwen2moe: moe += sigmoid(ffn_gate_inp_shexp . h) * down_s(silu(gate_s h) * up_s h)
    x = x + moe
  logits = output (rms_norm(x) * output_norm)

gpt-oss (src/models/openai-moe.cpp) differs: q/k/v and output biases; each head's softmax also
takes a learned sink logit (attn_sinks) that adds no value; even layers see only the last
`sliding_window` positions; RoPE is YaRN (ggml's rope_yarn: per pair a blend of the scaled and
unscaled frequency by a ramp between the correction dims, cos and sin times 1 + 0.1 ln(factor));
the second norm is post_attention_norm; the router has a bias, experts are chosen by logit and
weighted by a softmax over the chosen logits; each expert projection has a bias; the activation
is min(g, 7) * sigmoid(1.702 min(g, 7)) * (clip(u, -7, 7) + 1).
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
from gguf import GGUFReader, GGMLQuantizationType as T
from gguf import quants

ARCHS = ("qwen3moe", "qwen2moe", "gpt-oss")


class MoeModel:
    def __init__(self, path: Path | str):
        r = GGUFReader(str(path))
        arch = r.fields["general.architecture"].contents()
        if arch not in ARCHS:
            raise ValueError(f"{path}: arch {arch!r}, expected one of {ARCHS}")
        self.arch = arch

        def kv(key: str, default=None):
            f = r.fields.get(f"{arch}.{key}")
            return default if f is None else f.contents()

        self.n_embd = int(kv("embedding_length"))
        self.n_layer = int(kv("block_count"))
        self.n_head = int(kv("attention.head_count"))
        self.n_head_kv = int(kv("attention.head_count_kv"))
        self.head_dim = int(kv("attention.key_length", self.n_embd // self.n_head))
        self.n_rot = int(kv("rope.dimension_count", self.head_dim))
        self.freq_base = float(kv("rope.freq_base", 10000.0))
        self.eps = float(kv("attention.layer_norm_rms_epsilon"))
        self.n_expert = int(kv("expert_count"))
        self.n_expert_used = int(kv("expert_used_count"))
        self.norm_w = arch == "qwen3moe"
        self.oss = arch == "gpt-oss"
        self.window = int(kv("attention.sliding_window", 0)) if self.oss else 0
        assert self.n_rot == self.head_dim

        self.w: dict[str, np.ndarray] = {}
        for t in r.tensors:
            qtype = T(t.tensor_type)
            if qtype == T.F32:
                data = np.array(t.data, dtype=np.float32)
            else:
                data = quants.dequantize(t.data, qtype).astype(np.float32)
            shape = [int(n) for n in reversed(t.shape.tolist())]  # numpy order
            self.w[t.name] = np.ascontiguousarray(data.reshape(shape))
        if "output.weight" not in self.w:
            self.w["output.weight"] = self.w["token_embd.weight"]

        half = self.n_rot // 2
        # ggml: theta_i = pos * base^(-2i/n_rot), i < n_rot/2
        self.inv_freq = (self.freq_base ** (-2.0 * np.arange(half, dtype=np.float64) / self.n_rot))
        self.mscale = 1.0
        if kv("rope.scaling.type") == "yarn":
            factor = float(kv("rope.scaling.factor"))
            orig = int(kv("rope.scaling.original_context_length", kv("context_length")))
            corr = lambda beta: self.n_rot * np.log(orig / (beta * 2 * np.pi)) / (2 * np.log(self.freq_base))
            low, high = max(0.0, np.floor(corr(32.0))), min(self.n_rot - 1.0, np.ceil(corr(1.0)))
            ramp = 1.0 - np.clip((np.arange(half) - low) / max(0.001, high - low), 0.0, 1.0)
            self.inv_freq = self.inv_freq * (ramp + (1.0 - ramp) / factor)
            self.mscale = 1.0 + 0.1 * np.log(factor)

    # -----------------------------------------------------------------------------------------

    def _rms(self, x: np.ndarray, w: np.ndarray) -> np.ndarray:
        ms = np.mean(x * x, axis=-1, keepdims=True, dtype=np.float32)
        return (x / np.sqrt(ms + np.float32(self.eps))).astype(np.float32) * w

    def _rope(self, x: np.ndarray, pos: np.ndarray) -> np.ndarray:
        """x (n, heads, head_dim), NeoX: rotates (x[i], x[i + half])."""
        half = self.n_rot // 2
        ang = pos[:, None].astype(np.float64) * self.inv_freq[None, :]
        cos = (np.cos(ang) * self.mscale).astype(np.float32)[:, None, :]
        sin = (np.sin(ang) * self.mscale).astype(np.float32)[:, None, :]
        a, b = x[..., :half], x[..., half:self.n_rot]
        out = x.copy()
        out[..., :half] = a * cos - b * sin
        out[..., half:self.n_rot] = a * sin + b * cos
        return out

    @staticmethod
    def _silu(x: np.ndarray) -> np.ndarray:
        return x / (np.float32(1.0) + np.exp(-x))

    @staticmethod
    def _softmax(x: np.ndarray) -> np.ndarray:
        e = np.exp(x - x.max(axis=-1, keepdims=True))
        return e / e.sum(axis=-1, keepdims=True)

    def forward(self, tokens: list[int]) -> tuple[np.ndarray, np.ndarray]:
        """Returns (logits (n, n_vocab), router logits (n_layer, n, n_expert)), all positions."""
        w = self.w
        n = len(tokens)
        H, HKV, D = self.n_head, self.n_head_kv, self.head_dim
        pos = np.arange(n)
        x = w["token_embd.weight"][np.asarray(tokens)].astype(np.float32)
        mask = np.triu(np.full((n, n), -np.inf, dtype=np.float32), k=1)
        routers = np.zeros((self.n_layer, n, self.n_expert), dtype=np.float32)
        for il in range(self.n_layer):
            p = f"blk.{il}."
            h = self._rms(x, w[p + "attn_norm.weight"])
            q = h @ w[p + "attn_q.weight"].T
            k = h @ w[p + "attn_k.weight"].T
            v = h @ w[p + "attn_v.weight"].T
            if p + "attn_q.bias" in w:
                q = q + w[p + "attn_q.bias"]
                k = k + w[p + "attn_k.bias"]
                v = v + w[p + "attn_v.bias"]
            q = q.reshape(n, H, D)
            k = k.reshape(n, HKV, D)
            v = v.reshape(n, HKV, D)
            if p + "attn_q_norm.weight" in w:
                q = self._rms(q, w[p + "attn_q_norm.weight"])
                k = self._rms(k, w[p + "attn_k_norm.weight"])
            q, k = self._rope(q, pos), self._rope(k, pos)
            group = H // HKV
            att = np.empty((n, H, D), dtype=np.float32)
            scale = np.float32(1.0 / np.sqrt(D))
            lmask = mask
            if self.window and il % 2 == 0:
                lmask = mask + np.tril(np.full((n, n), -np.inf, dtype=np.float32), k=-self.window)
            for hh in range(H):
                kh = hh // group
                s = (q[:, hh, :] @ k[:, kh, :].T) * scale + lmask
                if self.oss:
                    sink = w[p + "attn_sinks.weight"][hh]
                    m = np.maximum(s.max(axis=-1, keepdims=True), sink)
                    e = np.exp(s - m)
                    att[:, hh, :] = (e / (e.sum(axis=-1, keepdims=True) + np.exp(sink - m))) @ v[:, kh, :]
                else:
                    att[:, hh, :] = self._softmax(s) @ v[:, kh, :]
            o = att.reshape(n, H * D) @ w[p + "attn_output.weight"].T
            if p + "attn_output.bias" in w:
                o = o + w[p + "attn_output.bias"]
            x = x + o

            h = self._rms(x, w[p + ("post_attention_norm.weight" if self.oss else "ffn_norm.weight")])
            r = h @ w[p + "ffn_gate_inp.weight"].T                        # (n, n_expert)
            if self.oss:
                r = r + w[p + "ffn_gate_inp.bias"]
            routers[il] = r
            probs = self._softmax(r)
            sel = np.argsort(-probs, axis=-1, kind="stable")[:, : self.n_expert_used]
            wts = np.take_along_axis(probs, sel, axis=-1)
            if self.oss:
                wts = self._softmax(np.take_along_axis(r, sel, axis=-1))
            if self.norm_w:
                wts = wts / np.maximum(wts.sum(axis=-1, keepdims=True), np.float32(6.103515625e-5))
            gate_e, up_e, down_e = (w[p + "ffn_gate_exps.weight"], w[p + "ffn_up_exps.weight"],
                                    w[p + "ffn_down_exps.weight"])
            moe = np.zeros_like(x)
            for t in range(n):
                for j in range(self.n_expert_used):
                    e = sel[t, j]
                    g, u = gate_e[e] @ h[t], up_e[e] @ h[t]
                    if self.oss:
                        g = np.minimum(g + w[p + "ffn_gate_exps.bias"][e], np.float32(7.0))
                        u = np.clip(u + w[p + "ffn_up_exps.bias"][e], -7.0, 7.0)
                        a = g / (np.float32(1.0) + np.exp(np.float32(-1.702) * g)) * (u + np.float32(1.0))
                        moe[t] += wts[t, j] * (down_e[e] @ a + w[p + "ffn_down_exps.bias"][e])
                    else:
                        a = self._silu(g) * u
                        moe[t] += wts[t, j] * (down_e[e] @ a)
            if p + "ffn_gate_inp_shexp.weight" in w:
                g = h @ w[p + "ffn_gate_inp_shexp.weight"]                # (n,)
                g = np.float32(1.0) / (np.float32(1.0) + np.exp(-g))
                a = self._silu(h @ w[p + "ffn_gate_shexp.weight"].T) * (h @ w[p + "ffn_up_shexp.weight"].T)
                moe = moe + g[:, None] * (a @ w[p + "ffn_down_shexp.weight"].T)
            x = x + moe
        logits = self._rms(x, w["output_norm.weight"]) @ w["output.weight"].T
        return logits.astype(np.float32), routers

    def router_margins(self, routers: np.ndarray) -> np.ndarray:
        """Per position: the smallest gap over layers between the k-th and (k+1)-th largest
        router logit (k = expert_used_count)."""
        s = -np.sort(-routers, axis=-1)
        k = self.n_expert_used
        return (s[..., k - 1] - s[..., k]).min(axis=0)


def main(argv: list[str]) -> None:
    m = MoeModel(argv[1])
    toks = [int(t) for t in argv[2:]] or [1, 2, 3]
    for _ in range(16):
        logits, _ = m.forward(toks)
        toks.append(int(np.argmax(logits[-1])))
    print(toks)


if __name__ == "__main__":
    main(sys.argv)
