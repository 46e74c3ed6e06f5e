// y = a + b elementwise; b repeats every b_len elements (b_len = n for a plain add, the row
// width for a bias).
struct Params {
    n: u32,
    b_len: u32,
    pad0: u32,
    pad1: u32,
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> a: array<f32>;
@group(0) @binding(2) var<storage, read> b: array<f32>;
@group(0) @binding(3) var<storage, read_write> y: array<f32>;

@compute @workgroup_size(WG)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
        @builtin(local_invocation_index) tid: u32) {
    let i = flat_group(wid, nwg) * WG + tid;
    if i < p.n {
        y[i] = a[i] + b[i % p.b_len];
    }
}
