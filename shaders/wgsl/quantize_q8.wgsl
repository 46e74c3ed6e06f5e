// x rows quantized to 8 bits for the integer-dot matvec kernels (`q8_write.wgsl`), for inputs
// whose producer does not write them so itself. One thread per 32-element block; x holds `rows`
// rows of k (a multiple of 32) `x_stride` apart.
struct Params {
    k: u32,
    rows: u32,
    x_stride: u32,
    pad: u32,
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> x: array<vec4<f32>>;
@group(0) @binding(2) var<storage, read_write> q8_out: array<u32>;

@compute @workgroup_size(WG)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
        @builtin(local_invocation_index) tid: u32) {
    let nb = p.k / 32u;
    let id = flat_group(wid, nwg) * WG + tid;
    if id >= nb * p.rows {
        return;
    }
    let r = id / nb;
    let b = id % nb;
    let at = (r * p.x_stride + 32u * b) / 4u;
    q8_write(r, b, p.k, x[at], x[at + 1u], x[at + 2u], x[at + 3u], x[at + 4u], x[at + 5u],
             x[at + 6u], x[at + 7u]);
}
