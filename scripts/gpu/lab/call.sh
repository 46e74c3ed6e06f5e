#!/usr/bin/env bash
# Device calls in parts that each fit one call (about 8 minutes with the machine's start):
#   PART=1: the tree's GPU kernel tests of attention, attlab (decode attention alone: the
#           tree's kernel with other LANES and WG, and BASE's), then main before (wick-main)
#           against after (wick) on llama8b and qwen3moe12;
#   PART=2: the same-run table (same-run.sh) with wick;
#   PART=3: what each kernel family costs inside llama8b's decode steps: tg128 without its
#           dispatches (wick-mm's WICK_SKIP; the outputs are garbage, the timing is not), then
#           matvec_rope with 16, 32 and 64 lanes per row pair (WICK_ROPE_LANES);
#   PART=4: pp512 and tg128, BASE (wick-main) against the tree (wick) alternated, llama8b then
#           qwen3moe12 (`-p 512 -n 128 -r 3`), nothing else.
# Run from the tree's root after `bash scripts/gpu/lab/prepare.sh BASE`, which fills .gpu/ with
# ../shared/gpu's files, scripts/gpu/ (this folder as .gpu/lab/), the llama.cpp sources (PART=2)
# and their gguf-py, and gzipped stripped builds: wick.gz (the tree), wick-main.gz (BASE),
# wick-mm.gz (the tree with the lab patches applied), kernels-tree.gz and attlab.gz (the
# tree's kernel tests and attention lab). Everything also goes to $OUT/log.txt.
#   PART=1 bash .gpu/lab/call.sh     (device tool: carry [".gpu"], timeout 600)
set -uo pipefail
exec > >(tee "$OUT/log.txt") 2>&1
source .gpu/vulkan-env.sh
for f in .gpu/wick.gz .gpu/wick-main.gz .gpu/wick-mm.gz .gpu/kernels-tree.gz .gpu/attlab.gz .gpu/mvlab.gz; do
  if [ -f "$f" ]; then gunzip -kf "$f" && chmod +x "${f%.gz}" && rm -f "$f"; fi
done
source .gpu/lab/models.sh
nvidia-smi --query-gpu=name --format=csv,noheader
if [ "${PART:-1}" = 2 ]; then
  case "$(nvidia-smi --query-gpu=name --format=csv,noheader)" in *H100*) bw=3350 ;; *) bw=4800 ;; esac
  BANDWIDTH=$bw timeout 560 bash .gpu/same-run.sh
  exit
fi
mkdir -p /tmp/llama-cpp-src && tar xzf .gpu/gguf-py.tar.gz -C /tmp/llama-cpp-src --strip-components=1 llama.cpp/gguf-py
gen() { PYTHONPATH=/tmp/llama-cpp-src/gguf-py timeout 100 python3 .gpu/gen_models.py /tmp/models "$@" >/dev/null; }
gen llama8b
b() { # label, env, binary, model, args
  echo "$1 $4 $(env $2 timeout 120 .gpu/$3 bench -m /tmp/models/$(file $4).gguf $5 2>&1 | grep -E '^\| .*gguf' | cut -d'|' -f4-7 | tr '\n' ' ')"
}
if [ "${PART:-1}" = 3 ]; then
  # Twice over, so a run perturbed by the GPU's clocks shows.
  for s in none attention glu matvec_add_norm matvec_rope matvec_tall none attention glu; do
    b "skip-$s" WICK_SKIP=$s wick-mm llama8b "-p 0 -n 128 -r 3"
  done
  for s in none attention; do b "skip-$s" WICK_SKIP=$s wick-mm llama8b "-p 0 -n 128 -d 4096 -r 2"; done
  # The q, k, v projections (k = 4096: two steps along a row at 32 lanes, one at 64).
  for n in 32 64 16 32 64 16; do b "rope-lanes-$n" WICK_ROPE_LANES=$n wick-mm llama8b "-p 0 -n 128 -r 3"; done
  exit
fi
if [ "${PART:-1}" = 4 ]; then
  for bin in wick-main wick wick-main wick; do b $bin X=1 $bin llama8b "-p 512 -n 128 -r 3"; done
  gen qwen3moe12
  for bin in wick-main wick wick-main wick; do b $bin X=1 $bin qwen3moe12 "-p 512 -n 128 -r 3"; done
  exit
fi
echo "== kernel tests (the tree's)"
timeout 60 .gpu/kernels-tree kv_store_attention 2>&1 | grep -E "^test |test result|panicked" | head
echo "== attlab (decode attention alone, llama8b's heads): the tree's kernel, its LANES and WG, then earlier ones"
LAB_REPS=200 timeout 90 .gpu/attlab base .gpu/lab/att/v2.wgsl@LANES=2 .gpu/lab/att/v2.wgsl@LANES=8 \
  .gpu/lab/att/v2.wgsl@WG=128 .gpu/lab/att/v2.wgsl@LANES=1 .gpu/lab/att/v0.wgsl@WG=64,LANES=32
# Most wanted first: a run cut by the call's time limit loses only the last lines.
for bin in wick-main wick wick-main wick; do b $bin X=1 $bin llama8b "-p 512 -n 128 -d 0,16384 -r 2"; done
gen qwen3moe12
for bin in wick-main wick; do b $bin X=1 $bin qwen3moe12 "-p 512 -n 128 -d 0,16384 -r 2"; done
