// y = x / sqrt(mean(x^2) + eps) * w over groups of n elements (a whole row, or one head for
// QK-norm); n is a multiple of 4, read as vec4 so a decode row takes few loads per thread. One
// workgroup per group.
struct Params {
    n: u32,
    groups: u32,      // groups in the batch (rows x groups per row)
    eps: f32,
    pad: u32,
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> w: array<vec4<f32>>;
@group(0) @binding(2) var<storage, read> x: array<vec4<f32>>;
@group(0) @binding(3) var<storage, read_write> y: array<vec4<f32>>;

@compute @workgroup_size(WG)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
        @builtin(local_invocation_index) tid: u32) {
    let g = flat_group(wid, nwg);
    if g >= p.groups {
        return;
    }
    let n4 = p.n / 4u;
    let base = g * n4;
    // Four vec4 per thread in flight per step (a decode row is one workgroup: latency-bound).
    var ss = 0.0;
    for (var i = tid; i < n4; i += 4u * WG) {
        let v0 = x[base + i];
        var v1 = vec4<f32>(0.0);
        var v2 = vec4<f32>(0.0);
        var v3 = vec4<f32>(0.0);
        if i + WG < n4 {
            v1 = x[base + i + WG];
        }
        if i + 2u * WG < n4 {
            v2 = x[base + i + 2u * WG];
        }
        if i + 3u * WG < n4 {
            v3 = x[base + i + 3u * WG];
        }
        ss += dot(v0, v0) + dot(v1, v1) + dot(v2, v2) + dot(v3, v3);
    }
    let inv = inverseSqrt(block_sum(ss, tid) / f32(p.n) + p.eps);
    for (var i = tid; i < n4; i += WG) {
        y[base + i] = x[base + i] * inv * w[i];
    }
}
