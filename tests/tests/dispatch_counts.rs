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
//!
//! Beside each count, the dispatches wgpu puts a pipeline barrier before: all but the first,
//! except where a dispatch binds nothing that the pass used before read-write and reads only
//! what the dispatch before it read too (it may then run beside that one). tiny-llama-q4km's
//! v projections (Q6_K, after the Q4_K q/k projection) are such, in every layer: 29 of 34.
//! So are matmuls right after another of the same x, which write buffers of their own (k and
//! v after q in tiny-llama: 44 of 53, 50 without).

use wick_backends::{ATTENTION_SHALLOW_POSITIONS, RuntimeConfig};
use wick_tests::{runtime, tiny_model};

/// Dispatches of a greedy decode step, and the barriers among them, at position 0 (shallow:
/// attention writes its output from one split) and at ATTENTION_SHALLOW_POSITIONS (split,
/// then merged).
fn decode_dispatches(name: &str) -> [(usize, usize); 2] {
    let cfg = RuntimeConfig {
        max_batch: 4,
        max_seqs: 1,
        ctx: 2 * ATTENTION_SHALLOW_POSITIONS,
    };
    let mut rt = runtime(&tiny_model(name), cfg);
    [0, ATTENTION_SHALLOW_POSITIONS].map(|pos| {
        let count = rt.dispatches(1, pos, 1, true);
        (count.dispatches, count.barriers)
    })
}

#[test]
fn fusions_keep_decode_dispatch_counts() {
    for (name, want) in [
        ("tiny-llama", [(53, 44), (57, 48)]),
        // Its formats take every fused matvec (see above).
        ("tiny-llama-fused", [(37, 36), (41, 40)]),
        // The residual adds and the norms after them inside the output and down projections
        // (matvec_add_norm): 45 without. Its v projections wait behind no barrier: 32 where
        // they bound the q and K cache stand-ins that other layers bind.
        ("tiny-llama-q4km", [(34, 29), (38, 33)]),
        ("tiny-qwen2", [(65, 59), (69, 63)]),
        // q/k/v and gate/up stacked into one product each (and their biases); the output
        // projection adds the residual and does the feed-forward norm (matvec_add_norm: the
        // gate/up product reads its 8-bit copy).
        ("tiny-qwen2-stacked", [(37, 36), (41, 40)]),
        // QK-norm, RoPE and the KV store in one dispatch.
        ("tiny-qwen3", [(53, 40), (57, 44)]),
        // The routed experts' sum inside the next add_rms_norm.
        ("tiny-qwen3moe", [(62, 56), (66, 60)]),
        // And each layer's gate and up experts as one product.
        ("tiny-qwen3moe-stacked", [(54, 49), (58, 53)]),
        ("tiny-qwen2moe", [(109, 102), (113, 106)]),
        // The post-attention and post-feed-forward norms inside the add_rms_norm after them.
        ("tiny-gemma3", [(90, 75), (97, 82)]),
        // Attention sinks: its merge stays in shallow steps.
        ("tiny-gpt-oss", [(98, 95), (98, 95)]),
    ] {
        assert_eq!(decode_dispatches(name), want, "{name}");
    }
}

/// A prompt chunk of tiny-llama-q4km: each layer's v projection (Q6_K, after the Q4_K q/k
/// product) writes a buffer of its own and waits behind no barrier, as in decode steps, so its
/// workgroups may fill what the q/k product's last wave leaves idle (45 barriers when only
/// layer 0's v projection, the first to use its buffer in the pass, went without).
#[test]
fn prompt_chunks_run_the_v_projection_beside_q_and_k() {
    let cfg = RuntimeConfig {
        max_batch: 16,
        max_seqs: 1,
        ctx: 64,
    };
    let mut rt = runtime(&tiny_model("tiny-llama-q4km"), cfg);
    let count = rt.dispatches(16, 15, 1, false);
    assert_eq!((count.dispatches, count.barriers), (47, 42));
}
