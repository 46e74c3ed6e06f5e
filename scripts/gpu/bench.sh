#!/usr/bin/env bash
# Run on the GPU machine from the tree's root, with ../shared/gpu and a release wick copied into .gpu/
# (mkdir -p .gpu && cp -r ../shared/gpu/. .gpu/ && cp target/release/wick .gpu/; bash ../shared/gpu/prepare-llama-src.sh .gpu).
# Same-run comparison on the GPU machine: llama.cpp's llama-bench (Vulkan) and wick on synthetic models.
set -uo pipefail
source .gpu/vulkan-env.sh
B=$(bash .gpu/llama-bench-vulkan.sh .gpu/llama-cpp-src.tar.gz) || { tail -20 /tmp/llama-bench-vk.build.log; exit 1; }
[ -f /tmp/models/llama8b-q4km.gguf ] || PYTHONPATH=/tmp/llama-cpp-src/gguf-py python3 .gpu/gen_models.py /tmp/models llama8b tiny270m >/dev/null
nvidia-smi --query-gpu=name,driver_version --format=csv,noheader
T=$(python3 -c "print(','.join(str(i*7%30000+10) for i in range(512)))")
for m in tiny270m-q8_0 llama8b-q4km; do
  echo "== $m"
  $B -m /tmp/models/$m.gguf -ngl 99 -fa 1 -p 512 -n 128 -r 5 -o md 2>/dev/null | grep -E "^\|"
  for r in 1 2 3; do
    echo "wick run -m $m.gguf --tokens <512 ids> -n 128 --temp 0 -b 512 -c 1024 (run $r):"
    .gpu/wick run -m /tmp/models/$m.gguf --tokens "$T" -n 128 --temp 0 -b 512 -c 1024 2>&1 >/dev/null | grep -v XDG
  done
done
