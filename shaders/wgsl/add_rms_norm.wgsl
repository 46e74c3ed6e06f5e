// The residual add and the RMS norm after it in one pass: sum = a + b, y = sum / sqrt(mean(sum^2)
// + eps) * w, one workgroup per row of n elements (a multiple of 4, read as vec4). The variant's
// constants add modes. EXPERTS: a is the k routed experts' outputs of each row and `route` their
// weights (after the k ids of each route row), and the kernel adds their weighted sum instead
// (what moe_sum would have written). GATHER: row g of sum and y comes from the step's out_row of
// g (the rows whose logits are wanted: the last layer's residual add, the pick of the output rows
// and the output norm in one pass). PRE: a is first RMS-normed itself (eps pre_eps, times the
// weight `pre_w`): the norm after a block's output, the residual add and the norm after it in one
// pass (Gemma 3's post-attention and post-feed-forward norms). EXPERTS and PRE exclude each other
// (each says what a is).
struct Params {
    n: u32,
    rows: u32,
    eps: f32,
    q8: u32,         // also write y quantized to 8 bits (whole rows only)
    k: u32,          // experts per row in a (EXPERTS)
    pre_eps: f32,    // (PRE)
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> w: array<vec4<f32>>;
@group(0) @binding(2) var<storage, read> a: array<vec4<f32>>;
@group(0) @binding(3) var<storage, read> b: array<vec4<f32>>;
@group(0) @binding(4) var<storage, read_write> sum: array<vec4<f32>>;
@group(0) @binding(5) var<storage, read_write> y: array<vec4<f32>>;
@group(0) @binding(6) var<storage, read_write> q8_out: array<u32>;
@group(0) @binding(7) var<storage, read> route: array<f32>;
@group(0) @binding(8) var<storage, read> step: Step;
@group(0) @binding(9) var<storage, read> pre_w: array<vec4<f32>>;

// vec4 i of row g of a, or of its experts' weighted sum (summed in moe_sum's order).
fn a_at(g: u32, i: u32) -> vec4<f32> {
    let n4 = p.n / 4u;
    if !EXPERTS {
        return a[g * n4 + i];
    }
    var s = vec4<f32>(0.0);
    for (var j = 0u; j < p.k; j++) {
        s += route[g * 2u * p.k + p.k + j] * a[(g * p.k + j) * n4 + i];
    }
    return s;
}

// vec4 i of row g's a as the sum takes it: normed by pre_inv and pre_w with `pre`.
fn a_in(g: u32, i: u32, pre_inv: f32) -> vec4<f32> {
    let v = a_at(g, i);
    if !PRE {
        return v;
    }
    return v * pre_inv * pre_w[i];
}

@compute @workgroup_size(WG)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
        @builtin(local_invocation_index) tid: u32) {
    let g = flat_group(wid, nwg);
    if g >= p.rows {
        return;
    }
    let n4 = p.n / 4u;
    let base = g * n4;
    // The row of a and b this row adds.
    let src = select(g, step.rows[g].out_row, GATHER);
    let src_base = src * n4;
    var pre_inv = 1.0;
    if PRE {
        var sa = 0.0;
        for (var i = tid; i < n4; i += WG) {
            let v = a[src_base + i];
            sa += dot(v, v);
        }
        pre_inv = inverseSqrt(block_sum(sa, tid) / f32(p.n) + p.pre_eps);
    }
    // Eight vec4 per thread in flight per step: a decode row is one workgroup, so the loops'
    // load latency, not bandwidth, bounds it.
    var ss = 0.0;
    for (var i = tid; i < n4; i += 8u * WG) {
        let v0 = a_in(src, i, pre_inv) + b[src_base + i];
        var v1 = vec4<f32>(0.0);
        var v2 = vec4<f32>(0.0);
        var v3 = vec4<f32>(0.0);
        var v4 = vec4<f32>(0.0);
        var v5 = vec4<f32>(0.0);
        var v6 = vec4<f32>(0.0);
        var v7 = vec4<f32>(0.0);
        if i + 1u * WG < n4 {
            v1 = a_in(src, i + 1u * WG, pre_inv) + b[src_base + i + 1u * WG];
        }
        if i + 2u * WG < n4 {
            v2 = a_in(src, i + 2u * WG, pre_inv) + b[src_base + i + 2u * WG];
        }
        if i + 3u * WG < n4 {
            v3 = a_in(src, i + 3u * WG, pre_inv) + b[src_base + i + 3u * WG];
        }
        if i + 4u * WG < n4 {
            v4 = a_in(src, i + 4u * WG, pre_inv) + b[src_base + i + 4u * WG];
        }
        if i + 5u * WG < n4 {
            v5 = a_in(src, i + 5u * WG, pre_inv) + b[src_base + i + 5u * WG];
        }
        if i + 6u * WG < n4 {
            v6 = a_in(src, i + 6u * WG, pre_inv) + b[src_base + i + 6u * WG];
        }
        if i + 7u * WG < n4 {
            v7 = a_in(src, i + 7u * WG, pre_inv) + b[src_base + i + 7u * WG];
        }
        sum[base + i] = v0;
        if i + 1u * WG < n4 {
            sum[base + i + 1u * WG] = v1;
        }
        if i + 2u * WG < n4 {
            sum[base + i + 2u * WG] = v2;
        }
        if i + 3u * WG < n4 {
            sum[base + i + 3u * WG] = v3;
        }
        if i + 4u * WG < n4 {
            sum[base + i + 4u * WG] = v4;
        }
        if i + 5u * WG < n4 {
            sum[base + i + 5u * WG] = v5;
        }
        if i + 6u * WG < n4 {
            sum[base + i + 6u * WG] = v6;
        }
        if i + 7u * WG < n4 {
            sum[base + i + 7u * WG] = v7;
        }
        ss += dot(v0, v0) + dot(v1, v1) + dot(v2, v2) + dot(v3, v3) + dot(v4, v4) + dot(v5, v5) + dot(v6, v6) + dot(v7, v7);
    }
    let inv = inverseSqrt(block_sum(ss, tid) / f32(p.n) + p.eps);
    // Each thread reads back only what it wrote itself, so no barrier is needed.
    for (var i = tid; i < n4; i += 8u * WG) {
        let u0 = sum[base + i] * w[i];
        var u1 = vec4<f32>(0.0);
        var u2 = vec4<f32>(0.0);
        var u3 = vec4<f32>(0.0);
        var u4 = vec4<f32>(0.0);
        var u5 = vec4<f32>(0.0);
        var u6 = vec4<f32>(0.0);
        var u7 = vec4<f32>(0.0);
        if i + 1u * WG < n4 {
            u1 = sum[base + i + 1u * WG] * w[i + 1u * WG];
        }
        if i + 2u * WG < n4 {
            u2 = sum[base + i + 2u * WG] * w[i + 2u * WG];
        }
        if i + 3u * WG < n4 {
            u3 = sum[base + i + 3u * WG] * w[i + 3u * WG];
        }
        if i + 4u * WG < n4 {
            u4 = sum[base + i + 4u * WG] * w[i + 4u * WG];
        }
        if i + 5u * WG < n4 {
            u5 = sum[base + i + 5u * WG] * w[i + 5u * WG];
        }
        if i + 6u * WG < n4 {
            u6 = sum[base + i + 6u * WG] * w[i + 6u * WG];
        }
        if i + 7u * WG < n4 {
            u7 = sum[base + i + 7u * WG] * w[i + 7u * WG];
        }
        y[base + i] = u0 * inv;
        if i + 1u * WG < n4 {
            y[base + i + 1u * WG] = u1 * inv;
        }
        if i + 2u * WG < n4 {
            y[base + i + 2u * WG] = u2 * inv;
        }
        if i + 3u * WG < n4 {
            y[base + i + 3u * WG] = u3 * inv;
        }
        if i + 4u * WG < n4 {
            y[base + i + 4u * WG] = u4 * inv;
        }
        if i + 5u * WG < n4 {
            y[base + i + 5u * WG] = u5 * inv;
        }
        if i + 6u * WG < n4 {
            y[base + i + 6u * WG] = u6 * inv;
        }
        if i + 7u * WG < n4 {
            y[base + i + 7u * WG] = u7 * inv;
        }
    }
    if p.q8 != 0u {
        // Whole blocks of the row, which other threads wrote.
        storageBarrier();
        for (var blk = tid; blk < p.n / 32u; blk += WG) {
            let at = base + 8u * blk;
            q8_write(g, blk, p.n, y[at], y[at + 1u], y[at + 2u], y[at + 3u], y[at + 4u], y[at + 5u],
                     y[at + 6u], y[at + 7u]);
        }
    }
}
