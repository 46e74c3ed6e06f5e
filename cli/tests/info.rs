//! `wick info` on a tiny file: the file given as an argument or with `-m`, as the other commands
//! take it.

use std::process::Command;

use wick_tests::tiny_model;

fn info(args: &[&str]) -> (bool, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_wick"))
        .arg("info")
        .args(args)
        .output()
        .expect("run wick");
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn info_takes_the_file_as_an_argument_or_with_m() {
    let model = tiny_model("tiny-llama");
    let model = model.to_str().unwrap();
    let (ok, positional, stderr) = info(&[model]);
    assert!(ok, "{stderr}");
    assert!(
        positional.contains("architecture:  llama (supported)"),
        "{positional}"
    );
    assert!(positional.contains("layers:        4"), "{positional}");
    let (ok, with_m, stderr) = info(&["-m", model]);
    assert!(ok, "{stderr}");
    assert_eq!(with_m, positional);
    // Both at once is ambiguous.
    let (ok, _, stderr) = info(&[model, "-m", model]);
    assert!(!ok);
    assert!(stderr.contains("cannot be used with"), "{stderr}");
}
