#!/usr/bin/env bash
# On this machine, from the tree's root: fills .gpu/ with what call.sh needs (../shared/gpu's
# files, scripts/gpu/, the llama.cpp sources and its gguf-py, and gzipped stripped builds: wick
# from the tree, wick-main from BASE, wick-mm and the kernel tests' binary from the tree with
# the lab patches applied, in this order), the tree's kernel tests (kernels-tree), attlab
# with the decode attention kernels it compares, and mvlab. The builds share target/, so each rebuilds only
# wick's own crates.
#   bash scripts/gpu/lab/prepare.sh BASE      (e.g. 0582202, main before session 14)
set -euo pipefail
base=${1:?usage: prepare.sh BASE (the commit to compare with)}
root=$(git rev-parse --show-toplevel)
cd "$root"
mkdir -p .gpu
cp -r ../shared/gpu/. .gpu/
cp -r scripts/gpu/. .gpu/
[ -f .gpu/llama-cpp-src.tar.gz ] || bash ../shared/gpu/prepare-llama-src.sh .gpu
tmp=$(mktemp -d)
trap 'git worktree remove --force "$tmp/base" 2>/dev/null; git worktree remove --force "$tmp/lab" 2>/dev/null; rm -rf "$tmp"' EXIT
tar xzf .gpu/llama-cpp-src.tar.gz -C "$tmp" llama.cpp/gguf-py
tar czf .gpu/gguf-py.tar.gz -C "$tmp" llama.cpp/gguf-py
# Builds wick in tree $1 into .gpu/$2.gz.
build() {
  (cd "$1" && CARGO_TARGET_DIR="$root/target" cargo build --release -q -p wick)
  strip -o ".gpu/$2" target/release/wick
  gzip -9f ".gpu/$2"
}
git worktree add -q --detach "$tmp/base" "$base"
build "$tmp/base" wick-main
git worktree add -q --detach "$tmp/lab" HEAD
for p in skip-dispatches add-rms-norm-registers switches; do
  (cd "$tmp/lab" && git apply "$root/scripts/gpu/lab/$p.patch")
done
build "$tmp/lab" wick-mm
kernels=$(cd "$tmp/lab" && CARGO_TARGET_DIR="$root/target" cargo test --release -p wick-backends \
  --test kernels --no-run 2>&1 | sed -n 's/.*Executable .*(\(.*\))$/\1/p')
strip -o .gpu/kernels "$kernels"
# Every kernel variant's SPIR-V and a manifest, for pipestats.c's register counts there.
cp scripts/gpu/lab/dump_spv.rs "$tmp/lab/shaders/tests/"
rm -rf .gpu/spv
(cd "$tmp/lab" && SPV_OUT="$root/.gpu/spv" CARGO_TARGET_DIR="$root/target" cargo test --release -q \
  -p wick-shaders --test dump_spv >/dev/null)
gzip -9f .gpu/kernels
build . wick
# The tree's kernel tests and labs (attlab, mvlab), and the decode attention kernels attlab compares:
# BASE's (v0) and the tree's (v2).
kernels=$(CARGO_TARGET_DIR="$root/target" cargo test --release -p wick-backends --test kernels \
  --no-run 2>&1 | sed -n 's/.*Executable .*(\(.*\))$/\1/p')
strip -o .gpu/kernels-tree "$kernels"
gzip -9f .gpu/kernels-tree
for lab in attlab mvlab; do
  cargo build --release -q -p wick-benches --example $lab
  strip -o .gpu/$lab target/release/examples/$lab
  gzip -9f .gpu/$lab
done
mkdir -p .gpu/lab/att
git show "$base:shaders/wgsl/attention.wgsl" > .gpu/lab/att/v0.wgsl
cp shaders/wgsl/attention.wgsl .gpu/lab/att/v2.wgsl
du -sh .gpu
