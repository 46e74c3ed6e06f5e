// QK-norm and RoPE in one pass: each head of a row is RMS-normed (times the per-dim weight w),
// then its first n_rot dims rotate as in rope_store.wgsl; the rest are only normed. One
// workgroup per (row, head); x rows are row_stride apart (x may be a view), y is contiguous.
struct Params {
    n_heads: u32,
    head_dim: u32,
    n_rot: u32,
    neox: u32,
    mscale: f32,
    eps: f32,
    rows: u32,
    row_stride: u32,
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> step: Step;
@group(0) @binding(2) var<storage, read> freqs: array<f32>;
@group(0) @binding(3) var<storage, read> w: array<f32>;
@group(0) @binding(4) var<storage, read> x: array<f32>;
@group(0) @binding(5) var<storage, read_write> y: array<f32>;

@compute @workgroup_size(WG)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
        @builtin(local_invocation_index) tid: u32) {
    let g = flat_group(wid, nwg);
    if g >= p.rows * p.n_heads {
        return;
    }
    let r = g / p.n_heads;
    let base = r * p.row_stride + (g % p.n_heads) * p.head_dim;
    // y is a tensor of its own: rows of n_heads x head_dim.
    let ybase = g * p.head_dim;
    var ss = 0.0;
    for (var d = tid; d < p.head_dim; d += WG) {
        let v = x[base + d];
        ss += v * v;
    }
    let inv = inverseSqrt(block_sum(ss, tid) / f32(p.head_dim) + p.eps);
    let half_rot = p.n_rot / 2u;
    let pos = f32(step.rows[r].pos);
    for (var i = tid; i < half_rot; i += WG) {
        var a = 2u * i;
        var b = a + 1u;
        if p.neox != 0u {
            a = i;
            b = i + half_rot;
        }
        let x0 = x[base + a] * inv * w[a];
        let x1 = x[base + b] * inv * w[b];
        let theta = pos * freqs[i];
        let c = cos(theta) * p.mscale;
        let s = sin(theta) * p.mscale;
        y[ybase + a] = x0 * c - x1 * s;
        y[ybase + b] = x0 * s + x1 * c;
    }
    for (var d = p.n_rot + tid; d < p.head_dim; d += WG) {
        y[ybase + d] = x[base + d] * inv * w[d];
    }
}
