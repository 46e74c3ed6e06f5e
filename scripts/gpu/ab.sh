#!/usr/bin/env bash
# Run on the GPU machine from the tree's root: wick builds against each other on the synthetic
# models, alternating (before, after, before, after) so drift between calls cancels out.
# .gpu/ holds ../shared/gpu's files, gguf-py.tar.gz (llama.cpp's gguf-py, all gen_models.py
# needs: tar czf .gpu/gguf-py.tar.gz -C <llama.cpp parent> llama.cpp/gguf-py) and the stripped
# binaries named in BINS, gzipped to stay under the device tool's 64 MiB carry (strip -o
# .gpu/wick target/release/wick && gzip .gpu/wick). Every command has a time limit, so a hung
# run costs minutes, not the session's device budget.
#   BINS="wick-before wick" MODELS="llama8b" ARGS="-p 512 -n 0 -r 3" bash .gpu/ab.sh
# A build can also be compared with itself under an environment variable, e.g.
#   BINS="wick" ENVS="WICK_NO_COOP=1 WICK_NO_COOP=0" ...
set -uo pipefail
source .gpu/vulkan-env.sh
for f in .gpu/*.gz; do
  case $f in *gguf-py*) ;; *) gunzip -kf "$f" && chmod +x "${f%.gz}" ;; esac
done
file() {
  case "$1" in
    tiny270m) echo tiny270m-q8_0 ;;
    llama8b) echo llama8b-q4km ;;
    qwen3moe12) echo qwen3moe-a3b-12l-q4km ;;
  esac
}
models="${MODELS:-llama8b}"
mkdir -p /tmp/llama-cpp-src
tar xzf .gpu/gguf-py.tar.gz -C /tmp/llama-cpp-src --strip-components=1 llama.cpp/gguf-py
PYTHONPATH=/tmp/llama-cpp-src/gguf-py timeout 300 python3 .gpu/gen_models.py /tmp/models $models >/dev/null
for n in $models; do
  m=$(file "$n")
  for round in 1 2; do
    for b in $BINS; do
      for e in ${ENVS:-WICK_AB=0}; do
        line=$(env "$e" timeout "${LIMIT:-120}" ".gpu/$b" bench -m "/tmp/models/$m.gguf" ${ARGS:--p 512 -n 128 -r 3} 2>&1 \
          | grep -E '^\| .*gguf' | cut -d'|' -f4-7 | tr '\n' ' ')
        echo "$b $e $m $line"
      done
    done
  done
done
