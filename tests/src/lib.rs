//! End-to-end tests live in tests/; this holds what they share.

use std::path::{Path, PathBuf};

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
