#!/usr/bin/env bash
# Run on the GPU machine from the tree's root, set up as for bench.sh (.gpu/ with ../shared/gpu,
# the llama.cpp source tarball and a release wick). Issue 5's table in one call on a fresh machine:
# llama-bench built there, the three synthetic models written, then llama-bench and wick bench on
# each at depths 0 and 16384 (llama-bench with -r 5 as the issue's reference figures: with -r 3
# its first test swung by 20% on the H100 in session 12), and profiles of llama8b decode and of a llama8b prompt at depth
# 16384. With a second binary at .gpu/wick-before, also tg128 of both alternating (before /
# after). MODELS picks gen_models.py names (default: all three; one call of all three takes
# about 7 minutes); BANDWIDTH the GPU's GB/s for BUE (default 3350, the H100's; 4800 on an
# H200).
#   bash .gpu/same-run.sh
set -uo pipefail
source .gpu/vulkan-env.sh
names="${MODELS:-tiny270m llama8b qwen3moe12}"
file() {
  case "$1" in
    tiny270m) echo tiny270m-q8_0 ;;
    llama8b) echo llama8b-q4km ;;
    qwen3moe12) echo qwen3moe-a3b-12l-q4km ;;
  esac
}
B=$(bash .gpu/llama-bench-vulkan.sh .gpu/llama-cpp-src.tar.gz) || { tail -20 /tmp/llama-bench-vk.build.log; exit 1; }
# Binaries may come gzipped (the carry limit); models already written are kept.
for f in .gpu/wick.gz .gpu/wick-before.gz; do
  if [ -f "$f" ]; then gunzip -kf "$f" && chmod +x "${f%.gz}"; fi
done
for n in $names; do
  [ -f "/tmp/models/$(file "$n").gguf" ] || PYTHONPATH=/tmp/llama-cpp-src/gguf-py python3 .gpu/gen_models.py /tmp/models "$n" >/dev/null
done
nvidia-smi --query-gpu=name,driver_version --format=csv,noheader
for n in $names; do
  m=$(file "$n")
  echo "== llama-bench -m $m.gguf -ngl 99 -fa 1 -p 512 -n 128 -d 0,16384 -r 5 -o md"
  $B -m /tmp/models/$m.gguf -ngl 99 -fa 1 -p 512 -n 128 -d 0,16384 -r 5 -o md 2>/dev/null | grep -E "^\|"
done
for n in $names; do
  m=$(file "$n")
  echo "== wick bench -m $m.gguf -p 512 -n 128 -d 0,16384 -r 3 --bandwidth ${BANDWIDTH:-3350}"
  .gpu/wick bench -m /tmp/models/$m.gguf -p 512 -n 128 -d 0,16384 -r 3 --bandwidth ${BANDWIDTH:-3350} 2>&1 | grep -v "^wick bench:"
done
if [[ " $names " == *" llama8b "* ]]; then
  echo "== wick bench -m llama8b-q4km.gguf -p 0 -n 32 -r 1 --bandwidth ${BANDWIDTH:-3350} --profile"
  .gpu/wick bench -m /tmp/models/llama8b-q4km.gguf -p 0 -n 32 -r 1 --bandwidth ${BANDWIDTH:-3350} --profile 2>&1 | grep -v "^wick bench:"
  echo "== wick bench -m llama8b-q4km.gguf -p 512 -n 0 -d 16384 -r 1 --profile"
  .gpu/wick bench -m /tmp/models/llama8b-q4km.gguf -p 512 -n 0 -d 16384 -r 1 --profile 2>&1 | grep -v "^wick bench:"
fi
if [ -x .gpu/wick-before ]; then
  echo "== tg128 before (.gpu/wick-before) / after (.gpu/wick), alternating: wick bench -p 0 -n 128 -r 3"
  for n in $names; do
    m=$(file "$n")
    for b in wick-before wick wick-before wick; do
      echo "$b $m $(.gpu/$b bench -m /tmp/models/$m.gguf -p 0 -n 128 -r 3 2>&1 | grep -E '^\| .*gguf' | cut -d'|' -f4-7 | tr '\n' ' ')"
    done
  done
fi
