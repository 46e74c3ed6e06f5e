// matvec_id's side of the per-format kernels (see head.wgsl): workgroup row wid.y is the routed
// pair a = r * n_used + j of batch row r and its j-th expert e = route[r, j]; the part holds
// experts first .. first + count (word `part`; other pairs do nothing). x has one input per row
// or one per pair (x_stride = n_used * k); the pair's m outputs go where `expert_out` says.
struct Params {
    k: u32,             // columns (input features)
    m: u32,             // output features of one expert
    row_bytes: u32,
    part: u32,          // the part's first expert | its count of experts << 16
    rows: u32,          // 1: one pair per workgroup row
    x_stride: u32,
    n_used: u32,        // experts per batch row
    split: u32,         // features of each matrix stacked per expert (m when one)
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(3) var<storage, read> route: array<u32>;
@group(0) @binding(4) var<storage, read_write> y: array<f32>;

var<private> pair: u32;
var<private> expert: u32;
var<private> x_at: u32;
var<private> x_q8_row: u32;

// Also reads the pair's expert (tid unused); past the outputs when the expert is not in this part.
fn first_row(wid: vec3<u32>, nwg: vec3<u32>, tid: u32) -> u32 {
    pair = wid.y;
    let r = pair / p.n_used;
    let j = pair % p.n_used;
    expert = route[r * 2u * p.n_used + j] - (p.part & 0xffffu);
    let per_pair = p.x_stride != p.k;
    x_at = (r * p.x_stride + select(0u, j * p.k, per_pair)) / 4u;
    x_q8_row = select(r, pair, per_pair);
    return select(p.m, wid.x * MATVEC_ROWS, expert < (p.part >> 16u));
}

fn row_index(i: u32) -> u32 {
    return expert * p.m + i;
}

fn x_base(r: u32) -> u32 {
    return x_at;
}

fn x_row(r: u32) -> u32 {
    return x_q8_row;
}

// Reduces the two rows' accumulators (batch row 0 only) and writes outputs i and i + 1 of the
// pair. Called from uniform control flow.
fn store_pair(acc0: vec4<f32>, acc1: vec4<f32>, i: u32, tid: u32) {
    let t0 = lanes_sum(acc0, tid);
    workgroupBarrier();
    let t1 = lanes_sum(acc1, tid);
    if tid % LANES == 0u {
        if i < p.m {
            y[expert_out(pair, i, p.n_used, p.m, p.split)] = t0.x;
        }
        if i + 1u < p.m {
            y[expert_out(pair, i + 1u, p.n_used, p.m, p.split)] = t1.x;
        }
    }
}
