// y[i, :] = x[out_row_i, :] for the rows whose logits are wanted.
struct Params {
    n: u32,        // row width
    rows: u32,     // output rows (the bucket)
    pad0: u32,
    pad1: u32,
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> step: Step;
@group(0) @binding(2) var<storage, read> x: array<f32>;
@group(0) @binding(3) var<storage, read_write> y: array<f32>;

@compute @workgroup_size(WG)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
        @builtin(local_invocation_index) tid: u32) {
    let id = flat_group(wid, nwg) * WG + tid;
    let i = id / p.n;
    if i >= p.rows {
        return;
    }
    y[id] = x[step.rows[i].out_row * p.n + id % p.n];
}
