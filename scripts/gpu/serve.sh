#!/usr/bin/env bash
# Run on the GPU machine from the tree's root, with ../shared/gpu and a release wick copied into .gpu/
# (see gemma.sh; the default model's four parts must already be in /tmp/m/p0..p3).
# `wick serve` on the default model: time to first token cold and with the prefix cached, and
# total decode speed with 1, 2 and 4 concurrent streams (scripts/bench_server.py), three times.
set -uo pipefail
source .gpu/vulkan-env.sh
[ -f /tmp/m/gemma.gguf ] || cat /tmp/m/p0 /tmp/m/p1 /tmp/m/p2 /tmp/m/p3 > /tmp/m/gemma.gguf
sha256sum /tmp/m/gemma.gguf
log=/tmp/serve.log
.gpu/wick serve -m /tmp/m/gemma.gguf --port 0 --parallel 4 --ctx-size 4096 2>"$log" &
pid=$!
for _ in $(seq 120); do grep -q "listening on" "$log" && break; sleep 0.5; done
url=$(grep -o "http://[0-9.]*:[0-9]*" "$log" | head -1)
echo "wick serve -m gemma-3-270m-q4_k_m.gguf --parallel 4 --ctx-size 4096 at $url"
for r in 1 2 3; do
  echo "run $r: python3 scripts/bench_server.py --url $url --prefix-words 1500 --gen 128 --streams 1,2,4"
  python3 scripts/bench_server.py --url "$url" --prefix-words 1500 --gen 128 --streams 1,2,4
done
kill $pid
grep -E "WARN|ERROR|panicked" "$log" | head
