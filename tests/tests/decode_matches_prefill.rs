//! A decode step's logits against the same position's logits computed in a prefill chunk, on
//! the tiny models: the decode kernels (matvecs; attention split among workgroups and merged,
//! or in the first ATTENTION_SHALLOW_POSITIONS positions one split writing its output) against
//! the prefill ones (matmuls, prefill attention), at a shallow position and a deep one. The
//! llama.cpp reference tests decode only shallow positions (64-token prompts, 32 tokens). The
//! MoE models are left out: a router near a tie picks other experts in one path.

use wick_backends::{ATTENTION_SHALLOW_POSITIONS, Runtime, RuntimeConfig};
use wick_core::generate::{BatchRow, Forward, prefill};
use wick_tests::{runtime, tiny_model};

/// Prefill chunks: every prompt's last token falls in a chunk of more than 4 rows.
const CHUNK: u32 = 64;
/// Largest logit difference allowed: the paths round activations differently (8-bit x in the
/// matvecs, f16 in the matmuls), which moved these models' logits by up to 0.2. A decode split
/// that misses its row's own position reads 0.2 to 7.3 (gemma3's sliding window), an 8-bit
/// copy of attention's output left unwritten 6 to 11 or NaN.
const BOUND: f32 = 0.3;

/// Largest |logit difference| (infinite where either is NaN) between the two ways at position
/// `n - 1` of a `n`-token prompt: sequence 0 takes all n tokens in prefill chunks, sequence 1
/// the first n - 1 and then the last in a decode step of one row.
fn decode_against_prefill(rt: &mut Runtime, n: u32) -> f32 {
    assert!(n % CHUNK > 4, "the last chunk must be a prefill chunk");
    let vocab = rt.n_vocab() as u32;
    let prompt: Vec<u32> = (0..n).map(|i| (i * 7919 + 13) % vocab).collect();
    let whole = prefill(rt, &prompt, 0, 0).expect("prefill");
    prefill(rt, &prompt[..n as usize - 1], 1, 0).expect("prefill");
    let row = BatchRow {
        token: prompt[n as usize - 1],
        pos: n - 1,
        seq: 1,
    };
    let step = rt.forward(&[row], &[0]).expect("decode step");
    whole
        .iter()
        .zip(&step)
        .map(|(a, b)| {
            let d = (a - b).abs();
            if d.is_nan() { f32::INFINITY } else { d }
        })
        .fold(0.0, f32::max)
}

#[test]
fn decode_steps_match_prefill() {
    let shallow = ATTENTION_SHALLOW_POSITIONS / 2 + 6;
    let deep = 2 * ATTENTION_SHALLOW_POSITIONS + 6;
    let mut failures = Vec::new();
    for name in [
        "tiny-llama",
        "tiny-llama-q4km",
        "tiny-qwen2-stacked",
        "tiny-qwen3",
        "tiny-gemma3",
        "tiny-gpt-oss",
    ] {
        let cfg = RuntimeConfig {
            max_batch: CHUNK,
            max_seqs: 2,
            ctx: deep + 1,
        };
        let mut rt = runtime(&tiny_model(name), cfg);
        for n in [shallow, deep] {
            let diff = decode_against_prefill(&mut rt, n);
            println!("{name} position {}: {diff}", n - 1);
            if diff > BOUND {
                failures.push(format!("{name} at position {}: {diff}", n - 1));
            }
        }
    }
    assert!(failures.is_empty(), "{failures:#?}");
}
