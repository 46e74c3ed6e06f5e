// The plain matvec's side of the per-format kernels (see head.wgsl): rows of one weight part,
// up to 4 batch rows of x, outputs at column out_off on.
struct Params {
    k: u32,          // columns (input features)
    m: u32,          // output features held by this weight part
    row_bytes: u32,  // bytes per weight row
    out_off: u32,    // first output feature of this part
    rows: u32,       // batch rows (the bucket), at most 4
    x_stride: u32,
    y_stride: u32,
    pad: u32,
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(3) var<storage, read_write> y: array<f32>;

fn row_index(i: u32) -> u32 {
    return i;
}

fn x_base(r: u32) -> u32 {
    return (r * p.x_stride) / 4u;
}

// Reduces the two rows' accumulators over each group of LANES threads and writes them: rows i
// and i + 1 (where they exist), one component per batch row, scaled by `x_scale`. Called from
// uniform control flow.
fn store_pair(acc0: vec4<f32>, acc1: vec4<f32>, i: u32, tid: u32) {
    let t0 = lanes_sum(acc0, tid);
    workgroupBarrier();
    let t1 = lanes_sum(acc1, tid);
    let sc = x_scale(tid);
    if tid % LANES == 0u {
        for (var r = 0u; r < p.rows; r++) {
            let o = r * p.y_stride + p.out_off + i;
            if i < p.m {
                y[o] = t0[r] * sc[r];
            }
            if i + 1u < p.m {
                y[o + 1u] = t1[r] * sc[r];
            }
        }
    }
}
