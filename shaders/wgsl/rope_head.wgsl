// The bindings the RoPE kernels share (rope_store and norm_rope_store): the step, the per-pair
// frequencies, q, k and v rows and the layer's f16 KV cache, laid out
// [slot][kv_head][ctx][head_dim] and packed two halves per u32 (rotation in rope_rotation.wgsl).

@group(0) @binding(1) var<storage, read> step: Step;
@group(0) @binding(2) var<storage, read> freqs: array<f32>;
@group(0) @binding(3) var<storage, read_write> q: array<f32>;
// Read only, but bound read-write: q, k and v may be views of one stacked tensor.
@group(0) @binding(4) var<storage, read_write> k: array<f32>;
@group(0) @binding(5) var<storage, read_write> v: array<f32>;
@group(0) @binding(6) var<storage, read_write> k_cache: array<u32>;
@group(0) @binding(7) var<storage, read_write> v_cache: array<u32>;
