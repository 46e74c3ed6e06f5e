#!/usr/bin/env python3
"""Writes OUTDIR/dense-a3b-48l-q4km.gguf: a dense model with the layers of Qwen3-30B-A3B and its
active size (48 layers, n_embd 2048, 32 heads / 4 kv heads of 128, a feed-forward of 6144 = the 8
routed experts of 768, vocabulary 151936, Q4_K_M mix), through gen_models.py's dense writer.
Run on the GPU machine from the tree's root: PYTHONPATH=<gguf-py> python3 .gpu/dense_a3b.py OUTDIR
"""
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import gen_models as g  # noqa: E402

out = sys.argv[1]
os.makedirs(out, exist_ok=True)
g.dense_llama(f"{out}/dense-a3b-48l-q4km.gguf", n_layer=48, n_embd=2048, n_ff=6144, n_head=32, n_kv=4,
              hd=128, vocab=151936, theta=1000000.0, wq=g.QT.Q4_K, tied=False, qkm=True)
