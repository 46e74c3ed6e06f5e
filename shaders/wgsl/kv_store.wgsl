// Writes the batch's K and V rows into the f16 KV cache at each row's (slot, pos). The cache is
// laid out [slot][kv_head][ctx][head_dim], packed two halves per u32.
struct Params {
    n_kv_heads: u32,
    head_dim: u32,
    ctx: u32,
    k_stride: u32,   // floats per row in the k tensor
    v_stride: u32,
    pad0: u32,
    pad1: u32,
    pad2: u32,
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> step: Step;
@group(0) @binding(2) var<storage, read> k: array<f32>;
@group(0) @binding(3) var<storage, read> v: array<f32>;
@group(0) @binding(4) var<storage, read_write> k_cache: array<u32>;
@group(0) @binding(5) var<storage, read_write> v_cache: array<u32>;

@compute @workgroup_size(WG)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
        @builtin(local_invocation_index) tid: u32) {
    let id = flat_group(wid, nwg) * WG + tid;
    let pairs = p.head_dim / 2u;
    let per_row = p.n_kv_heads * pairs;
    let r = id / per_row;
    if r >= step.n_rows {
        return;
    }
    let h = (id % per_row) / pairs;
    let d = 2u * (id % pairs);
    let info = step.rows[r];
    let dst = ((info.slot * p.n_kv_heads + h) * p.ctx + info.pos) * pairs + d / 2u;
    let ks = r * p.k_stride + h * p.head_dim + d;
    let vs = r * p.v_stride + h * p.head_dim + d;
    k_cache[dst] = pack2x16float(vec2<f32>(k[ks], k[ks + 1u]));
    v_cache[dst] = pack2x16float(vec2<f32>(v[vs], v[vs + 1u]));
}
