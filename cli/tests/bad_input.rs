//! Bad input ends with a one-line error naming the problem and a non-zero exit, never a panic.

use std::path::PathBuf;
use std::process::Command;

fn wick(args: &[&str]) -> (bool, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_wick"))
        .args(args)
        .env("RUST_BACKTRACE", "1")
        .output()
        .expect("run wick");
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

fn temp_file(name: &str, bytes: &[u8]) -> PathBuf {
    let path = std::env::temp_dir().join(format!("wick-bad-input-{}-{name}", std::process::id()));
    std::fs::write(&path, bytes).expect("write temp file");
    path
}

/// A GGUF v3 file with only `general.architecture` set.
fn gguf_with_arch(arch: &str) -> Vec<u8> {
    let mut b = b"GGUF".to_vec();
    b.extend(3u32.to_le_bytes());
    b.extend(0u64.to_le_bytes());
    b.extend(1u64.to_le_bytes());
    let key = "general.architecture";
    b.extend((key.len() as u64).to_le_bytes());
    b.extend(key.as_bytes());
    b.extend(8u32.to_le_bytes());
    b.extend((arch.len() as u64).to_le_bytes());
    b.extend(arch.as_bytes());
    b
}

fn assert_clean_failure(args: &[&str], expect: &[&str]) {
    let (ok, stderr) = wick(args);
    assert!(!ok, "{args:?} succeeded");
    let lines: Vec<&str> = stderr
        .lines()
        .filter(|l| !l.contains("XDG_RUNTIME_DIR"))
        .collect();
    assert_eq!(
        lines.len(),
        1,
        "{args:?}: expected one line, got:\n{stderr}"
    );
    assert!(lines[0].starts_with("error: "), "{args:?}: {stderr}");
    assert!(
        !stderr.contains("panicked") && !stderr.contains("stack backtrace"),
        "{args:?}: {stderr}"
    );
    for e in expect {
        assert!(
            lines[0].contains(e),
            "{args:?}: {:?} does not mention {e:?}",
            lines[0]
        );
    }
}

#[test]
fn missing_file() {
    assert_clean_failure(
        &["run", "-m", "/nonexistent/model.gguf", "-p", "hi"],
        &["/nonexistent/model.gguf"],
    );
    assert_clean_failure(
        &["info", "/nonexistent/model.gguf"],
        &["/nonexistent/model.gguf"],
    );
}

#[test]
fn text_file() {
    let path = temp_file("text.gguf", b"hello, this is not a model\n");
    let p = path.to_str().unwrap();
    assert_clean_failure(&["run", "-m", p, "-p", "hi"], &[p, "not a GGUF file"]);
    assert_clean_failure(&["info", p], &[p, "not a GGUF file"]);
    std::fs::remove_file(path).ok();
}

#[test]
fn truncated_gguf() {
    let full = gguf_with_arch("llama");
    let path = temp_file("truncated.gguf", &full[..full.len() - 3]);
    let p = path.to_str().unwrap();
    assert_clean_failure(&["run", "-m", p, "-p", "hi"], &[p, "truncated"]);
    std::fs::remove_file(path).ok();
}

#[test]
fn unsupported_architecture() {
    let path = temp_file("mamba.gguf", &gguf_with_arch("mamba"));
    let p = path.to_str().unwrap();
    assert_clean_failure(
        &["run", "-m", p, "-p", "hi"],
        &[p, "unsupported architecture", "mamba"],
    );
    std::fs::remove_file(path).ok();
}

#[test]
fn bad_flag_values() {
    assert_clean_failure(
        &["run", "-m", "/nonexistent.gguf", "-p", "x", "--temp=-1"],
        &["--temp"],
    );
}
