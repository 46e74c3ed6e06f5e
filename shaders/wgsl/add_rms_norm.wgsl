// The residual add and the RMS norm after it in one pass: sum = a + b, y = sum / sqrt(mean(sum^2)
// + eps) * w, one workgroup per row of n elements (a multiple of 4, read as vec4).
struct Params {
    n: u32,
    rows: u32,
    eps: f32,
    pad: u32,
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> w: array<vec4<f32>>;
@group(0) @binding(2) var<storage, read> a: array<vec4<f32>>;
@group(0) @binding(3) var<storage, read> b: array<vec4<f32>>;
@group(0) @binding(4) var<storage, read_write> sum: array<vec4<f32>>;
@group(0) @binding(5) var<storage, read_write> y: array<vec4<f32>>;

@compute @workgroup_size(WG)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
        @builtin(local_invocation_index) tid: u32) {
    let g = flat_group(wid, nwg);
    if g >= p.rows {
        return;
    }
    let n4 = p.n / 4u;
    let base = g * n4;
    var ss = 0.0;
    for (var i = tid; i < n4; i += WG) {
        let v = a[base + i] + b[base + i];
        sum[base + i] = v;
        ss += dot(v, v);
    }
    let inv = inverseSqrt(block_sum(ss, tid) / f32(p.n) + p.eps);
    for (var i = tid; i < n4; i += WG) {
        y[base + i] = sum[base + i] * inv * w[i];
    }
}
