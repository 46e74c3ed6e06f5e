//! Dispatches per decoded token of the tiny models (a greedy step of one row, as `wick bench`'s
//! tg runs), in a shallow step and a deep one: each fusion the plan makes shows in these counts, so a change that loses one (a
//! fused op back in a dispatch of its own) fails here although every output stays right.
//!
//! tiny-llama-fused's 41, for example (4 layers): the embedding and layer 0's attention norm
//! (2); per layer the q/k projection and the v projection, each rotating and storing into the
//! KV cache (matvec_rope: their formats differ), attention and the merge of its splits, the
//! output projection, the residual add with the feed-forward norm, the gate/up projection
//! writing the gated activation (matvec_glu) and the down projection (8, so 32); the residual
//! add with the next layer's attention norm (3); the last add with the pick of the output rows
//! and the output norm (1); the output projection and the greedy pick's two passes (3). In the
//! first ATTENTION_SHALLOW_POSITIONS positions attention writes its output itself: 37, no merges.

use wick_backends::{ATTENTION_SHALLOW_POSITIONS, RuntimeConfig};
use wick_tests::{runtime, tiny_model};

/// Dispatches of a greedy decode step at position 0 (shallow: attention writes its output from
/// one split) and at ATTENTION_SHALLOW_POSITIONS (split, then merged).
fn decode_dispatches(name: &str) -> (usize, usize) {
    let cfg = RuntimeConfig {
        max_batch: 4,
        max_seqs: 1,
        ctx: 2 * ATTENTION_SHALLOW_POSITIONS,
    };
    let mut rt = runtime(&tiny_model(name), cfg);
    (
        rt.dispatches(1, 0, 1, true),
        rt.dispatches(1, ATTENTION_SHALLOW_POSITIONS, 1, true),
    )
}

#[test]
fn fusions_keep_decode_dispatch_counts() {
    for (name, want) in [
        ("tiny-llama", (53, 57)),
        // Its formats take every fused matvec (see above).
        ("tiny-llama-fused", (37, 41)),
        // The residual adds and the norms after them inside the output and down projections
        // (matvec_add_norm): 45 without.
        ("tiny-llama-q4km", (34, 38)),
        ("tiny-qwen2", (65, 69)),
        // q/k/v and gate/up stacked into one product each (and their biases); the output
        // projection adds the residual and does the feed-forward norm (matvec_add_norm: the
        // gate/up product reads its 8-bit copy).
        ("tiny-qwen2-stacked", (37, 41)),
        // QK-norm, RoPE and the KV store in one dispatch.
        ("tiny-qwen3", (53, 57)),
        // The routed experts' sum inside the next add_rms_norm.
        ("tiny-qwen3moe", (62, 66)),
        // And each layer's gate and up experts as one product.
        ("tiny-qwen3moe-stacked", (54, 58)),
        ("tiny-qwen2moe", (109, 113)),
        // The post-attention and post-feed-forward norms inside the add_rms_norm after them.
        ("tiny-gemma3", (90, 97)),
        // Attention sinks: its merge stays in shallow steps.
        ("tiny-gpt-oss", (98, 98)),
    ] {
        assert_eq!(decode_dispatches(name), want, "{name}");
    }
}
