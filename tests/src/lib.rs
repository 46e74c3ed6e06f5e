//! End-to-end tests live in tests/; this holds what they share.

use std::path::{Path, PathBuf};

use wick_backends::{Gpu, Runtime, RuntimeConfig};
use wick_core::gguf::GgufFile;

/// The repository's root.
pub fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// The tiny model `name` as `scripts/make_tiny_models.py` writes it: under `$WICK_TINY_MODELS`,
/// else target/tiny-models.
pub fn tiny_model(name: &str) -> PathBuf {
    let dir = std::env::var_os("WICK_TINY_MODELS")
        .map_or_else(|| root().join("target/tiny-models"), PathBuf::from);
    let path = dir.join(format!("{name}.gguf"));
    assert!(
        path.exists(),
        "{} is missing: run python3 scripts/make_tiny_models.py {}",
        path.display(),
        dir.display()
    );
    path
}

/// A runtime for the model at `path` on the first GPU adapter (lavapipe in CI).
pub fn runtime(path: &Path, cfg: RuntimeConfig) -> Runtime {
    let file = GgufFile::open(path).unwrap_or_else(|e| panic!("{e}"));
    let graph = wick_core::arch::build(&file)
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()))
        .graph;
    let gpu = Gpu::new().expect("a GPU adapter (lavapipe in CI)");
    Runtime::new(gpu, &file, graph, cfg, |_, _| {}).expect("runtime")
}
