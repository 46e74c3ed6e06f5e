// The gated side of the per-format kernels (see head.wgsl): the weight holds a feed-forward's
// gate rows (m / 2) then its up rows, and each workgroup row pair is gate row j with up row j,
// so the matvec writes y[r, j] = act(gate . x) * (up . x) (`glu_act.wgsl`) and no glu dispatch
// follows. Up to 4 batch rows.
struct Params {
    k: u32,          // columns (input features)
    m: u32,          // gate and up rows: twice the outputs
    row_bytes: u32,  // bytes per weight row
    kind: u32,       // GELU, SILU or SILU_OAI
    rows: u32,       // batch rows (the bucket), at most 4
    x_stride: u32,
    y_stride: u32,
    pad: u32,
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(3) var<storage, read_write> y: array<f32>;

// Row 2j of the kernel's rows is gate row j, row 2j + 1 up row j.
fn row_index(i: u32) -> u32 {
    return select(p.m / 2u + i / 2u, i / 2u, i % 2u == 0u);
}

fn x_base(r: u32) -> u32 {
    return (r * p.x_stride) / 4u;
}

// Reduces the pair's accumulators over each group of LANES threads, scales them by `x_scale` and
// writes act(gate) * up. Called from uniform control flow.
fn store_pair(acc0: vec4<f32>, acc1: vec4<f32>, i: u32, tid: u32) {
    let g = lanes_sum(acc0, tid);
    workgroupBarrier();
    let u = lanes_sum(acc1, tid);
    let sc = x_scale(tid);
    if tid % LANES == 0u && i < p.m {
        for (var r = 0u; r < p.rows; r++) {
            y[r * p.y_stride + i / 2u] = glu_value(p.kind, g[r] * sc[r], u[r] * sc[r]);
        }
    }
}
