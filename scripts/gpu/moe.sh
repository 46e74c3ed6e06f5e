#!/usr/bin/env bash
# Run on the GPU machine from the tree's root, set up as for bench.sh (.gpu/ with ../shared/gpu,
# the llama.cpp source tarball and a release wick). Issue 4's MoE decode check, same run for both
# engines: the synthetic Qwen3-30B-A3B (all 48 layers, 128 experts, 8 active, Q4_K experts) against
# dense models of about its active size: dense-a3b (scripts/gpu/dense_a3b.py: A3B's 48 layers
# with one 6144-wide feed-forward) and llama3b (Llama-3.2-3B shape, 28 layers), in two calls:
#   bash .gpu/moe.sh llama   # builds llama-bench, writes both models, runs llama-bench
#   bash .gpu/moe.sh wick    # wick bench on the same files, then a profile of MoE decode
set -uo pipefail
source .gpu/vulkan-env.sh
models="qwen3moe-a3b-48l-q4km dense-a3b-48l-q4km llama3b-q4km"
gen() {
  if [ ! -f /tmp/models/dense-a3b-48l-q4km.gguf ]; then
    if [ ! -d /tmp/llama-cpp-src/gguf-py ]; then
      mkdir -p /tmp/llama-cpp-src
      tar xzf .gpu/llama-cpp-src.tar.gz -C /tmp/llama-cpp-src --strip-components=1 llama.cpp/gguf-py
    fi
    PYTHONPATH=/tmp/llama-cpp-src/gguf-py python3 .gpu/gen_models.py /tmp/models qwen3moe48 llama3b >/dev/null
    PYTHONPATH=/tmp/llama-cpp-src/gguf-py python3 .gpu/dense_a3b.py /tmp/models >/dev/null
  fi
}
case "${1:-}" in
  llama)
    B=$(bash .gpu/llama-bench-vulkan.sh .gpu/llama-cpp-src.tar.gz) || { tail -20 /tmp/llama-bench-vk.build.log; exit 1; }
    gen
    nvidia-smi --query-gpu=name,driver_version --format=csv,noheader
    for m in $models; do
      echo "== llama-bench -m $m.gguf -ngl 99 -fa 1 -p 512 -n 128 -r 3 -o md"
      $B -m /tmp/models/$m.gguf -ngl 99 -fa 1 -p 512 -n 128 -r 3 -o md 2>/dev/null | grep -E "^\|"
    done ;;
  wick)
    gen
    for m in $models; do
      echo "== wick bench -m $m.gguf -p 512 -n 128 -r 3 --bandwidth 3350"
      .gpu/wick bench -m /tmp/models/$m.gguf -p 512 -n 128 -r 3 --bandwidth 3350 2>&1 | grep -v "^wick bench:"
    done
    echo "== wick bench -m qwen3moe-a3b-48l-q4km.gguf -p 0 -n 32 -r 1 --profile"
    .gpu/wick bench -m /tmp/models/qwen3moe-a3b-48l-q4km.gguf -p 0 -n 32 -r 1 --bandwidth 3350 --profile 2>&1 | grep -v "^wick bench:" ;;
  both)  # llama then wick, in one call
    bash "$0" llama; bash "$0" wick ;;
  *) echo "usage: bash .gpu/moe.sh llama|wick|both" >&2; exit 2 ;;
esac
