// The RoPE side of the per-format kernels (see head.wgsl): a decode step's q, k and v
// projections, for models with normal (not NeoX) RoPE and no QK-norm, ending where rope_store
// would. The weight's rows [0, q_end) are q's heads, [q_end, k_end) k's and the rest v's (any of
// them may be empty: the projections may be split over weights of different formats), heads of
// head_dim. A row pair is a pair (2d, 2d + 1) of a head, so the kernel rotates it itself (the
// first n_rot dims of q and k): q's pairs go to y (rows of m), k's and v's to the layer's f16 KV
// cache at each batch row's (slot, pos), laid out as rope_head.wgsl says. Padding rows past the
// step's rows store nothing.
struct Params {
    k: u32,          // columns (input features)
    m: u32,          // rows of the weight (q, k and v's that it holds)
    row_bytes: u32,  // bytes per weight row
    rows: u32,       // batch rows (the bucket), at most 4
    ends: u32,       // q_end | k_end << 16
    dims: u32,       // head_dim | n_rot << 16
    mscale: f32,
    ctx: u32,        // positions per cache slot
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(3) var<storage, read_write> y: array<f32>;
@group(0) @binding(4) var<storage, read> step: Step;
@group(0) @binding(5) var<storage, read> freqs: array<f32>;
@group(0) @binding(6) var<storage, read_write> k_cache: array<u32>;
@group(0) @binding(7) var<storage, read_write> v_cache: array<u32>;

fn row_index(i: u32) -> u32 {
    return i;
}

// x is a whole row of k per batch row.
fn x_base(r: u32) -> u32 {
    return (r * p.k) / 4u;
}

// Reduces the pair's accumulators over each group of LANES threads, scales them by `x_scale`,
// rotates q's and k's pairs and stores them. Called from uniform control flow.
fn store_pair(acc0: vec4<f32>, acc1: vec4<f32>, i: u32, tid: u32) {
    let t0 = lanes_sum(acc0, tid);
    workgroupBarrier();
    let t1 = lanes_sum(acc1, tid);
    let sc = x_scale(tid);
    if tid % LANES != 0u || i >= p.m {
        return;
    }
    let q_end = p.ends & 0xffffu;
    let k_end = p.ends >> 16u;
    let head_dim = p.dims & 0xffffu;
    let n_rot = p.dims >> 16u;
    let start = select(select(k_end, q_end, i < k_end), 0u, i < q_end);
    let h = (i - start) / head_dim;
    let d = (i - start) % head_dim;
    // KV heads: k's rows over head_dim, or v's where this weight holds no k.
    let n_kv = select(p.m - k_end, k_end - q_end, k_end > q_end) / head_dim;
    for (var r = 0u; r < min(p.rows, step.n_rows); r++) {
        let info = step.rows[r];
        var a = t0[r] * sc[r];
        var b = t1[r] * sc[r];
        if i < k_end && d < n_rot {
            let cs = rotation(info.pos, d / 2u);
            let a0 = a;
            a = a0 * cs.x - b * cs.y;
            b = a0 * cs.y + b * cs.x;
        }
        if i < q_end {
            y[r * p.m + i] = a;
            y[r * p.m + i + 1u] = b;
        } else {
            let at = ((info.slot * n_kv + h) * p.ctx + info.pos) * (head_dim / 2u) + d / 2u;
            let word = pack2x16float(vec2<f32>(a, b));
            if i < k_end {
                k_cache[at] = word;
            } else {
                v_cache[at] = word;
            }
        }
    }
}
