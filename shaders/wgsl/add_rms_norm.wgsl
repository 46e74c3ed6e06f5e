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
    // Four vec4 per thread in flight per step: a decode row is one workgroup, so the loop's
    // load latency, not bandwidth, bounds it.
    var ss = 0.0;
    for (var i = tid; i < n4; i += 4u * WG) {
        let i1 = i + WG;
        let i2 = i + 2u * WG;
        let i3 = i + 3u * WG;
        let v0 = a[base + i] + b[base + i];
        var v1 = vec4<f32>(0.0);
        var v2 = vec4<f32>(0.0);
        var v3 = vec4<f32>(0.0);
        if i1 < n4 {
            v1 = a[base + i1] + b[base + i1];
        }
        if i2 < n4 {
            v2 = a[base + i2] + b[base + i2];
        }
        if i3 < n4 {
            v3 = a[base + i3] + b[base + i3];
        }
        sum[base + i] = v0;
        if i1 < n4 {
            sum[base + i1] = v1;
        }
        if i2 < n4 {
            sum[base + i2] = v2;
        }
        if i3 < n4 {
            sum[base + i3] = v3;
        }
        ss += dot(v0, v0) + dot(v1, v1) + dot(v2, v2) + dot(v3, v3);
    }
    let inv = inverseSqrt(block_sum(ss, tid) / f32(p.n) + p.eps);
    // Each thread reads back only what it wrote itself, so no barrier is needed.
    for (var i = tid; i < n4; i += WG) {
        y[base + i] = sum[base + i] * inv * w[i];
    }
}
