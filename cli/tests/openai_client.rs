//! Runs tests/server (pytest with the official `openai` package) against this build's
//! `wick serve`: the server's behaviour as a real client sees it.

use std::path::Path;
use std::process::Command;

#[test]
fn openai_client_suite() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("the workspace root");
    let out = Command::new("python3")
        .args([
            "-m",
            "pytest",
            "-q",
            "-p",
            "no:cacheprovider",
            "tests/server",
        ])
        .current_dir(root)
        .env("WICK_BIN", env!("CARGO_BIN_EXE_wick"))
        .output()
        .expect("running python3 -m pytest (scripts/test.sh installs pytest and openai)");
    let report = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        out.status.success(),
        "the OpenAI client tests failed:\n{report}"
    );
    eprintln!("{report}");
}
