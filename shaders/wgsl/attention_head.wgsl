// The parameters and bindings the attention kernels share (attention, attention_prefill and
// attention_prefill_coop: one layout, filled by `plan.rs`); each binds the f16 caches (3 and 4)
// as the words it loads.

struct Params {
    n_heads: u32,
    n_kv_heads: u32,
    head_dim: u32,
    ctx: u32,
    window: u32,     // 0: unlimited
    scale: f32,
    q_stride: u32,
    n_splits: u32,
}

@group(0) @binding(0) var<uniform> p: Params;

// The head dim: the variant's constant HEAD_DIM where it has one (then loops over a head
// unroll), else the parameter.
fn head_dim() -> u32 {
    if HEAD_DIM != 0u {
        return HEAD_DIM;
    }
    return p.head_dim;
}
@group(0) @binding(1) var<storage, read> step: Step;
@group(0) @binding(2) var<storage, read> q: array<f32>;
// Per (row, head, split): max, sum, then head_dim unnormalised outputs (the cooperative prefill
// kernel's one-split launch binds the output here instead).
@group(0) @binding(5) var<storage, read_write> partial: array<f32>;
