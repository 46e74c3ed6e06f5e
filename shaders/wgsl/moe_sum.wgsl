// The experts' outputs of each row combined: out[r, c] = sum_j weight[r, j] * y[r, j, c], with
// the weights after the k ids in each route row.
struct Params {
    n: u32,      // columns of out
    k: u32,
    total: u32,  // rows * n
    pad0: u32,
    pad1: u32,
    pad2: u32,
    pad3: u32,
    pad4: u32,
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> y: array<f32>;
@group(0) @binding(2) var<storage, read> route: array<f32>;
@group(0) @binding(3) var<storage, read_write> out: array<f32>;

@compute @workgroup_size(WG)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
        @builtin(local_invocation_index) tid: u32) {
    let i = flat_group(wid, nwg) * WG + tid;
    if i >= p.total {
        return;
    }
    let r = i / p.n;
    let c = i % p.n;
    var s = 0.0;
    for (var j = 0u; j < p.k; j++) {
        s += route[r * 2u * p.k + p.k + j] * y[(r * p.k + j) * p.n + c];
    }
    out[i] = s;
}
