// Expert matrix-vector products for decode: y[r, j] = W[e] x[r, j] for each routed pair (row r,
// slot j) with e = route[r, j], one pair per workgroup row (wid.y = r * n_used + j), for the
// formats without a kernel of their own (matvec/experts.wgsl has the same parameters). The weight
// part holds experts first .. first + count (word `part`); other experts' pairs skip it. x has
// one input per row or one per slot (x_stride = n_used * k); outputs go where `expert_out` says.
// Lanes share a weight row as in matvec.
const ROWS_PER_WG: u32 = WG / LANES;

struct Params {
    k: u32,             // input features, a multiple of 32
    m: u32,             // output features of one expert
    row_bytes: u32,
    part: u32,          // the part's first expert | its count of experts << 16
    rows: u32,          // 1
    x_stride: u32,
    n_used: u32,        // experts per batch row
    split: u32,         // features of each matrix stacked per expert (m when one)
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> weights: array<u32>;
@group(0) @binding(2) var<storage, read> x: array<vec4<f32>>;
@group(0) @binding(3) var<storage, read> route: array<u32>;
@group(0) @binding(4) var<storage, read_write> y: array<f32>;

@compute @workgroup_size(WG)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) tid: u32) {
    let a = wid.y;
    let r = a / p.n_used;
    let j = a % p.n_used;
    let e = route[r * 2u * p.n_used + j] - (p.part & 0xffffu);
    if e >= p.part >> 16u {
        return;
    }
    let i = wid.x * ROWS_PER_WG + tid / LANES;
    let lane = tid % LANES;
    let x_at = r * p.x_stride + select(0u, j * p.k, p.x_stride != p.k);
    var acc = vec4<f32>(0.0);
    if i < p.m {
        let row_byte = (e * p.m + i) * p.row_bytes;
        for (var c = lane; c < p.k / 32u; c += LANES) {
            let at = chunk_at(row_byte, c);
            let s = chunk_scale(at.x, at.y);
            for (var q = 0u; q < 8u; q++) {
                let w = chunk_q4(at.x, at.y, q);
                let sq = select(s.zw, s.xy, q < 4u);
                let xv = x[(x_at + c * 32u) / 4u + q];
                acc.x += sq.x * dot(w, xv) + sq.y * dot(xv, vec4<f32>(1.0));
            }
        }
    }
    let total = lanes_sum(acc, tid);
    if lane == 0u && i < p.m {
        y[expert_out(a, i, p.n_used, p.m, p.split)] = total.x;
    }
}
