//! `wick bench` on a tiny file without a vocabulary: its JSON report holds every measure.

use std::process::Command;

use wick_tests::tiny_model;

/// `wick bench -m tiny-llama.gguf -o json` with `args` (split at spaces): its JSON report and
/// its stderr.
fn bench(args: &str) -> (serde_json::Value, String) {
    let model = tiny_model("tiny-llama");
    let out = Command::new(env!("CARGO_BIN_EXE_wick"))
        .args(["bench", "-m"])
        .arg(&model)
        .args(args.split_whitespace())
        .args(["-o", "json"])
        .env("XDG_RUNTIME_DIR", std::env::temp_dir())
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert!(out.status.success(), "{stderr}");
    (serde_json::from_slice(&out.stdout).unwrap(), stderr)
}

#[test]
fn bench_reports_every_measure_as_json() {
    let (report, _) = bench("-p 24 -n 4 -d 0,40 -r 2 -b 16 --bandwidth 100");
    let results = report["results"].as_array().unwrap();
    let tests: Vec<(&str, u64)> = results
        .iter()
        .map(|r| (r["test"].as_str().unwrap(), r["depth"].as_u64().unwrap()))
        .collect();
    assert_eq!(tests, [("pp24", 0), ("tg4", 0), ("pp24", 40), ("tg4", 40)]);
    for r in results {
        let samples = r["samples"].as_array().unwrap();
        assert_eq!(samples.len(), 2);
        assert!(samples.iter().all(|s| s.as_f64().unwrap() > 0.0));
        let tps = r["tokens_per_second"].as_f64().unwrap();
        assert!(r["min"].as_f64().unwrap() <= tps && tps <= r["max"].as_f64().unwrap());
        if r["test"] == "pp24" {
            // The prompt took TTFT ms: 24 tokens at the measured rate.
            let ttft = r["ttft_ms"].as_f64().unwrap();
            assert!((ttft * tps / 1e3 - 24.0).abs() < 24.0 * 0.5, "{r}");
        } else {
            // More cached positions to read at the deeper test.
            assert!(r["decode_bytes_per_token"].as_u64().unwrap() > 0);
            assert!(r["bue"].as_f64().unwrap() > 0.0);
        }
    }
    let bytes = |i: usize| results[i]["decode_bytes_per_token"].as_u64().unwrap();
    assert!(bytes(3) > bytes(1));
    assert!(report["csr"].as_f64().unwrap() > 0.0);
    let dispatches = |key: &str| report[key].as_u64().unwrap();
    assert!(dispatches("dispatches_per_token") > 10);
    // Shallow steps run attention without the merge of its splits.
    assert!(dispatches("dispatches_per_token_shallow") < dispatches("dispatches_per_token"));
    // Every dispatch but the first reads what one before it wrote.
    assert!(dispatches("barriers_per_token") < dispatches("dispatches_per_token"));
    assert!(dispatches("barriers_per_token_shallow") > 10);
    assert!(report["gpu_bytes_allocated"].as_u64().unwrap() > 1 << 20);
    assert!(report["cpu_us_per_token"].as_f64().unwrap() > 0.0);
}

/// `--profile` times every dispatch of one generation test (4 tokens at depth 0: 4 times the
/// shallow plan's dispatches per token), and each of one step's alone, and of one prompt (matmul
/// kernels, not matvec), each as its own table, with a row per weight shape of each matrix
/// product kernel.
#[test]
fn bench_profiles_decode_and_prefill() {
    let (report, stderr) = bench("-p 24 -n 4 -r 1 --profile");
    let per_token = report["dispatches_per_token_shallow"].as_u64().unwrap();
    let (decode, prompt) = stderr
        .split_once("GPU time per kernel over one 24-token prompt at depth 0:")
        .unwrap_or_else(|| panic!("no prompt profile in:\n{stderr}"));
    let decode = decode
        .split_once("GPU time per kernel over 4 decoded tokens at depth 0:")
        .unwrap_or_else(|| panic!("no decode profile in:\n{stderr}"))
        .1;
    let total = |table: &str| -> u64 {
        let all = table.lines().find(|l| l.starts_with("all ")).unwrap();
        all.split_whitespace().nth(1).unwrap().parse().unwrap()
    };
    assert_eq!(total(decode), 4 * per_token, "{decode}");
    // Every decode kernel also timed alone (us per dispatch after the share's column and us per
    // dispatch profiled, with GB/s beside both for matrix products), the step's sum reported;
    // the prompt's table has no such column.
    assert!(
        decode.contains("alone us") && !prompt.contains("alone us"),
        "{decode}"
    );
    let rows = decode
        .lines()
        .skip_while(|l| !l.starts_with("kernel "))
        .skip(1)
        .take_while(|l| !l.starts_with("all "));
    for line in rows {
        let after_share: Vec<&str> = line
            .split_whitespace()
            .skip_while(|f| !f.ends_with('%'))
            .skip(1)
            .collect();
        let at = if after_share.len() == 2 { 1 } else { 2 };
        let alone: f64 = after_share[at].parse().unwrap();
        assert!(alone > 0.0, "{line}");
    }
    assert!(decode.contains("a step's dispatches alone"), "{decode}");
    assert!(
        decode.contains("matvec.") && !decode.contains("matmul."),
        "{decode}"
    );
    assert!(
        prompt.contains("matmul.") && !prompt.contains("matvec.q"),
        "{prompt}"
    );
    // Matrix products are told apart by their weight's shape (features x columns).
    for line in decode.lines().filter(|l| l.starts_with("matvec.")) {
        let shape = line.split_whitespace().nth(1).unwrap_or_default();
        let dims: Vec<&str> = shape.split('x').collect();
        assert!(
            dims.len() == 2 && dims.iter().all(|d| d.parse::<u32>().is_ok_and(|n| n > 0)),
            "{line}"
        );
    }
}

/// By default the GPU picks each generated token (the plan ends with the argmax's two
/// dispatches); `--logits` reads the logits back and picks on the CPU, without them.
#[test]
fn bench_logits_picks_on_the_cpu() {
    let dispatches = |args: &str| {
        let (report, _) = bench(args);
        let tg = &report["results"][0];
        assert_eq!(tg["test"], "tg4", "{report}");
        assert!(tg["tokens_per_second"].as_f64().unwrap() > 0.0);
        report["dispatches_per_token"].as_u64().unwrap()
    };
    assert_eq!(
        dispatches("-p 0 -n 4 -r 1"),
        dispatches("-p 0 -n 4 -r 1 --logits") + 2
    );
}
