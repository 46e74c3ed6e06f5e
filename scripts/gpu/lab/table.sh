#!/usr/bin/env bash
# same-run.sh's table, per model in turn (llama-bench then wick), so a call cut short by its
# time limit keeps whole pairs; then llama8b's decode profile. After prepare.sh (only .gpu/wick.gz
# and the llama.cpp sources are used), on the device with carry [".gpu"]:
#   BANDWIDTH=4800 timeout 540 bash .gpu/lab/table.sh > $OUT/log.txt 2>&1   (3350 on an H100)
set -uo pipefail
source .gpu/vulkan-env.sh
source .gpu/lab/models.sh
B=$(bash .gpu/llama-bench-vulkan.sh .gpu/llama-cpp-src.tar.gz) || { tail -20 /tmp/llama-bench-vk.build.log; exit 1; }
gunzip -kf .gpu/wick.gz && chmod +x .gpu/wick
nvidia-smi --query-gpu=name,driver_version --format=csv,noheader
for n in llama8b qwen3moe12 tiny270m; do
  m=$(file "$n")
  PYTHONPATH=/tmp/llama-cpp-src/gguf-py python3 .gpu/gen_models.py /tmp/models "$n" >/dev/null
  echo "== llama-bench -m $m.gguf -ngl 99 -fa 1 -p 512 -n 128 -d 0,16384 -r 5 -o md"
  $B -m /tmp/models/$m.gguf -ngl 99 -fa 1 -p 512 -n 128 -d 0,16384 -r 5 -o md 2>/dev/null | grep -E "^\|"
  # Its first test (pp512 at depth 0) has swung by +- 20-40% in every run so far: once more,
  # after the others.
  echo "== llama-bench -m $m.gguf -ngl 99 -fa 1 -p 512 -n 0 -r 5 -o md (again)"
  $B -m /tmp/models/$m.gguf -ngl 99 -fa 1 -p 512 -n 0 -r 5 -o md 2>/dev/null | grep -E "^\| .*pp512"
  echo "== wick bench -m $m.gguf -p 512 -n 128 -d 0,16384 -r 3 --bandwidth $BANDWIDTH"
  .gpu/wick bench -m /tmp/models/$m.gguf -p 512 -n 128 -d 0,16384 -r 3 --bandwidth $BANDWIDTH 2>&1 | grep -v "^wick bench:"
done
echo "== wick bench -m llama8b-q4km.gguf -p 0 -n 32 -r 1 --bandwidth $BANDWIDTH --profile"
.gpu/wick bench -m /tmp/models/llama8b-q4km.gguf -p 0 -n 32 -r 1 --bandwidth $BANDWIDTH --profile 2>&1 | grep -v "^wick bench:"
