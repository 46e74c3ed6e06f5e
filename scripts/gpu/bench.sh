#!/usr/bin/env bash
# Run on the GPU machine from the tree's root, with ../shared/gpu and a release wick copied into .gpu/
# (mkdir -p .gpu && cp -r ../shared/gpu/. .gpu/ && cp target/release/wick .gpu/; bash ../shared/gpu/prepare-llama-src.sh .gpu).
# Same-run comparison on the GPU machine, llama-bench (Vulkan) and wick bench on the synthetic
# models at depths 0, 4096 and 16384, in two calls that fit the per-call limit:
#   bash .gpu/bench.sh llama   # builds llama-bench, writes the models, runs llama-bench
#   bash .gpu/bench.sh wick    # wick bench on the same files, then a profile of 8B decode
set -uo pipefail
source .gpu/vulkan-env.sh
models="tiny270m-q8_0 llama8b-q4km"
case "${1:-}" in
  llama)
    B=$(bash .gpu/llama-bench-vulkan.sh .gpu/llama-cpp-src.tar.gz) || { tail -20 /tmp/llama-bench-vk.build.log; exit 1; }
    [ -f /tmp/models/llama8b-q4km.gguf ] || PYTHONPATH=/tmp/llama-cpp-src/gguf-py python3 .gpu/gen_models.py /tmp/models llama8b tiny270m >/dev/null
    nvidia-smi --query-gpu=name,driver_version --format=csv,noheader
    for m in $models; do
      echo "== llama-bench -m $m.gguf -ngl 99 -fa 1 -p 512 -n 128 -d 0,4096,16384 -r 3 -o md"
      $B -m /tmp/models/$m.gguf -ngl 99 -fa 1 -p 512 -n 128 -d 0,4096,16384 -r 3 -o md 2>/dev/null | grep -E "^\|"
    done ;;
  wick)
    if [ ! -f /tmp/models/llama8b-q4km.gguf ]; then
      mkdir -p /tmp/llama-cpp-src && tar xzf .gpu/llama-cpp-src.tar.gz -C /tmp/llama-cpp-src --strip-components=1 llama.cpp/gguf-py
      PYTHONPATH=/tmp/llama-cpp-src/gguf-py python3 .gpu/gen_models.py /tmp/models llama8b tiny270m >/dev/null
    fi
    for m in $models; do
      echo "== wick bench -m $m.gguf -p 512 -n 128 -d 0,4096,16384 -r 3 --bandwidth 3350"
      .gpu/wick bench -m /tmp/models/$m.gguf -p 512 -n 128 -d 0,4096,16384 -r 3 --bandwidth 3350 2>&1 | grep -v "^wick bench:"
    done
    echo "== wick bench -m llama8b-q4km.gguf -p 0 -n 32 -r 1 --bandwidth 3350 --profile"
    .gpu/wick bench -m /tmp/models/llama8b-q4km.gguf -p 0 -n 32 -r 1 --bandwidth 3350 --profile 2>&1 | grep -v "^wick bench:" ;;
  *) echo "usage: bash .gpu/bench.sh llama|wick" >&2; exit 2 ;;
esac
