#!/usr/bin/env bash
# Device calls in two parts that each fit one call (about 8 minutes with the machine's start):
#   PART=1: the GPU kernel tests (attention, every matvec, the lab matmul variants), main
#           before (wick-main) against after (wick) on the three shapes, then the labs
#           (README.md here);
#   PART=2: the same-run table (same-run.sh) with wick.
# Run from the tree's root after `bash scripts/gpu/lab/prepare.sh BASE`, which fills .gpu/ with
# ../shared/gpu's files, scripts/gpu/ (this folder as .gpu/lab/), the llama.cpp sources (PART=2)
# and their gguf-py, and gzipped stripped builds: wick.gz (the tree), wick-main.gz (BASE),
# wick-mm.gz (the tree with the lab patches applied) and kernels.gz (the kernel tests'
# binary of that lab tree). Everything also goes to $OUT/log.txt.
#   PART=1 bash .gpu/lab/call.sh     (device tool: carry [".gpu"], timeout 600)
set -uo pipefail
exec > >(tee "$OUT/log.txt") 2>&1
source .gpu/vulkan-env.sh
for f in .gpu/wick.gz .gpu/wick-main.gz .gpu/kernels.gz .gpu/wick-mm.gz; do
  if [ -f "$f" ]; then gunzip -kf "$f" && chmod +x "${f%.gz}" && rm -f "$f"; fi
done
file() { case "$1" in tiny270m) echo tiny270m-q8_0 ;; llama8b) echo llama8b-q4km ;; qwen3moe12) echo qwen3moe-a3b-12l-q4km ;; esac; }
nvidia-smi --query-gpu=name --format=csv,noheader
if [ "${PART:-1}" = 2 ]; then
  case "$(nvidia-smi --query-gpu=name --format=csv,noheader)" in *H100*) bw=3350 ;; *) bw=4800 ;; esac
  BANDWIDTH=$bw timeout 560 bash .gpu/same-run.sh
  exit
fi
mkdir -p /tmp/llama-cpp-src && tar xzf .gpu/gguf-py.tar.gz -C /tmp/llama-cpp-src --strip-components=1 llama.cpp/gguf-py
PYTHONPATH=/tmp/llama-cpp-src/gguf-py timeout 200 python3 .gpu/gen_models.py /tmp/models llama8b qwen3moe12 tiny270m >/dev/null
echo "== kernel tests"
timeout 75 .gpu/kernels kv_store_attention matvec matmul_coop 2>&1 | grep -E "^test |test result|panicked" | head
b() { # label, env, binary, model, args
  echo "$1 $4 $(env $2 timeout 120 .gpu/$3 bench -m /tmp/models/$(file $4).gguf $5 2>&1 | grep -E '^\| .*gguf' | cut -d'|' -f4-7 | tr '\n' ' ')"
}
# Most wanted first: a run cut by the call's time limit loses only the last lines.
for m in llama8b qwen3moe12 tiny270m; do
  for bin in wick-main wick wick-main wick; do b $bin X=1 $bin $m "-p 512 -n 128 -d 0,16384 -r 2"; done
done
for v in k64 w64; do
  echo "== WICK_MM=$v matmul_coop, expert_products: failures, then oks"
  WICK_MM=$v timeout 40 .gpu/kernels matmul_coop expert_products > /tmp/mm-$v.log 2>&1
  grep -c "^FAIL" /tmp/mm-$v.log; grep "^FAIL" /tmp/mm-$v.log | head -4; grep -c "^ok" /tmp/mm-$v.log
  grep -E "test result|panicked" /tmp/mm-$v.log | head -3
done
# qwen3moe12's expert matmuls: k64 read 16889 tokens/s against base's 6095 (range 5479-8339)
# in session 14's call, alternating here.
for v in base k64 base k64 w64; do b mm-$v WICK_MM=$v wick-mm qwen3moe12 "-p 512 -n 0 -r 3"; done
for n in 1 2 4; do b psplits-$n WICK_PREFILL_SPLITS=$n wick-mm llama8b "-p 512 -n 0 -d 0,16384 -r 2"; done
for n in 1 2 4 8; do b psplits-$n WICK_PREFILL_SPLITS=$n wick-mm tiny270m "-p 512 -n 0 -d 0,16384 -r 2"; done
for n in 64 128 256; do b dsplits-$n WICK_DECODE_SPLITS=$n wick-mm llama8b "-p 0 -n 128 -d 4096,16384 -r 2"; done
for sk in none matvec_add_norm attention.d matvec_rope matvec_tall; do
  b skip-$sk WICK_SKIP=$sk wick-mm llama8b "-p 0 -n 128 -r 3"
done
for v in X=1 WICK_NORM=regs X=1 WICK_NORM=regs; do b "norm-${v%=*}" $v wick-mm tiny270m "-p 512 -n 128 -r 3"; done
