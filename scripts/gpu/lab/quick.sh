#!/usr/bin/env bash
# A short same-run check of one shape at depth 0: wick's pp512 and tg128 first (a call cut short
# keeps them), then llama-bench built there (about 100 s) on the same file, then wick again.
# After prepare.sh (.gpu/wick.gz, the llama.cpp sources and gguf-py), on the device with carry
# [".gpu"]:   MODEL=llama8b BANDWIDTH=3350 bash .gpu/lab/quick.sh
set -uo pipefail
exec > >(tee "$OUT/log.txt") 2>&1
source .gpu/vulkan-env.sh
source .gpu/lab/models.sh
gunzip -kf .gpu/wick.gz && chmod +x .gpu/wick
nvidia-smi --query-gpu=name,driver_version --format=csv,noheader
mkdir -p /tmp/g && tar xzf .gpu/gguf-py.tar.gz -C /tmp/g --strip-components=1 llama.cpp/gguf-py
PYTHONPATH=/tmp/g/gguf-py python3 .gpu/gen_models.py /tmp/models "$MODEL" >/dev/null
m=/tmp/models/$(file "$MODEL").gguf
w() {
  echo "== wick bench -m $(basename "$m") -p 512 -n 128 -r 3 --bandwidth $BANDWIDTH"
  .gpu/wick bench -m "$m" -p 512 -n 128 -r 3 --bandwidth "$BANDWIDTH" 2>&1 | grep -v "^wick bench:"
}
w
B=$(bash .gpu/llama-bench-vulkan.sh .gpu/llama-cpp-src.tar.gz) || { tail -20 /tmp/llama-bench-vk.build.log; exit 1; }
echo "== llama-bench -m $(basename "$m") -ngl 99 -fa 1 -p 512 -n 128 -r 5 -o md"
$B -m "$m" -ngl 99 -fa 1 -p 512 -n 128 -r 5 -o md 2>/dev/null | grep -E "^\|"
w
