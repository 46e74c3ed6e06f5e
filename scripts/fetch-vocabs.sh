#!/usr/bin/env bash
# Puts llama.cpp's test vocabularies ggml-vocab-{llama-spm,llama-bpe,qwen2}.gguf into DIR
# (default target/vocab), which the tokenizer tests read (or $WICK_VOCAB_DIR).
#
# They ship inside llama-cpp-python's source distribution (vendor/llama.cpp/models), so the
# only download is that one package from PyPI (about 76 MB); only the three files are kept.
set -euo pipefail

VERSION=0.3.36
FILES=(ggml-vocab-llama-spm.gguf ggml-vocab-llama-bpe.gguf ggml-vocab-qwen2.gguf)

cd "$(dirname "$0")/.."
dir=${1:-target/vocab}
mkdir -p "$dir"

missing=()
for f in "${FILES[@]}"; do
    [[ -s "$dir/$f" ]] || missing+=("$f")
done
if [[ ${#missing[@]} -eq 0 ]]; then
    echo "vocabularies already in $dir"
    exit 0
fi

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

python3 -m pip download --quiet --no-deps --no-binary llama-cpp-python \
    "llama-cpp-python==$VERSION" -d "$tmp"
sdist="$tmp/llama_cpp_python-$VERSION.tar.gz"
prefix="llama_cpp_python-$VERSION/vendor/llama.cpp/models"
members=()
for f in "${missing[@]}"; do
    members+=("$prefix/$f")
done
tar -xzf "$sdist" -C "$tmp" "${members[@]}"
for f in "${missing[@]}"; do
    mv "$tmp/$prefix/$f" "$dir/$f"
done
echo "fetched ${missing[*]} into $dir"
