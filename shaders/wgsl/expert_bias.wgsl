// Adds each routed pair's expert bias in place: y[r, j, i] += bias[e, i] with e = route[r, j].
struct Params {
    m: u32,      // bias length (rows of one expert)
    k: u32,      // experts per row
    total: u32,  // rows * k * m
    pad0: u32,
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> route: array<u32>;
@group(0) @binding(2) var<storage, read> bias: array<f32>;
@group(0) @binding(3) var<storage, read_write> y: array<f32>;

@compute @workgroup_size(WG)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
        @builtin(local_invocation_index) tid: u32) {
    let n = flat_group(wid, nwg) * WG + tid;
    if n >= p.total {
        return;
    }
    let a = n / p.m;
    let e = route[(a / p.k) * 2u * p.k + a % p.k];
    y[n] += bias[e * p.m + n % p.m];
}
