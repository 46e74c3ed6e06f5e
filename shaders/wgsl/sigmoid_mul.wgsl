// out[r, c] = x[r, c] * sigmoid(gate[r]): a row scaled by its gate (qwen2moe's shared expert).
struct Params {
    n: u32,      // columns
    total: u32,  // rows * n
    pad0: u32,
    pad1: u32,
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read> gate: array<f32>;
@group(0) @binding(3) var<storage, read_write> out: array<f32>;

@compute @workgroup_size(WG)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
        @builtin(local_invocation_index) tid: u32) {
    let i = flat_group(wid, nwg) * WG + tid;
    if i < p.total {
        out[i] = x[i] / (1.0 + exp(-gate[i / p.n]));
    }
}
