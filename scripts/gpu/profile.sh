#!/usr/bin/env bash
# Run on the GPU machine from the tree's root, with ../shared/gpu and a release wick copied into .gpu/
# (mkdir -p .gpu && cp -r ../shared/gpu/. .gpu/ && cp target/release/wick .gpu/; bash ../shared/gpu/prepare-llama-src.sh .gpu).
set -uo pipefail
source .gpu/vulkan-env.sh
if [ ! -f /tmp/models/llama8b-q4km.gguf ]; then
  mkdir -p /tmp/llama-cpp-src && tar xzf .gpu/llama-cpp-src.tar.gz -C /tmp/llama-cpp-src --strip-components=1 llama.cpp/gguf-py
  PYTHONPATH=/tmp/llama-cpp-src/gguf-py python3 .gpu/gen_models.py /tmp/models llama8b tiny270m >/dev/null
fi
for m in tiny270m-q8_0 llama8b-q4km; do
  echo "== $m, 8-token prompt, 64 tokens, --profile"
  .gpu/wick run -m /tmp/models/$m.gguf --tokens 1,2,3,4,5,6,7,8 -n 64 --temp 0 -c 1024 --profile 2>&1 >/dev/null | grep -v "^wick:"
done
