// Expert matrix products for prefill: for each expert of the weight part, the (row, slot) pairs
// routed to it (from moe_group) in tiles of TILE_ROWS, so each expert's weights are read once per
// tile as in matmul. wid.y = expert * tiles + tile; tiles past an expert's count return at once.
const TILE_ROWS: u32 = 32u;

struct Params {
    cols: u32,
    m: u32,
    row_bytes: u32,
    k: u32,
    x_stride: u32,
    first_expert: u32,
    experts: u32,
    rows: u32,          // batch rows of the bucket
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> weights: array<u32>;
@group(0) @binding(2) var<storage, read> x: array<vec4<f32>>;
@group(0) @binding(3) var<storage, read> groups: array<u32>;
@group(0) @binding(4) var<storage, read_write> y: array<f32>;

var<workgroup> xs: array<array<vec4<f32>, 8>, TILE_ROWS>;
var<workgroup> pairs: array<u32, TILE_ROWS>;

@compute @workgroup_size(WG)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) tid: u32) {
    let tiles = (p.rows + TILE_ROWS - 1u) / TILE_ROWS;
    let e = wid.y / tiles;
    let t0 = (wid.y % tiles) * TILE_ROWS;
    let base = (p.first_expert + e) * (p.rows + 1u);
    let count = groups[base];
    if t0 >= count {
        return;
    }
    let n = min(count - t0, TILE_ROWS);
    if tid < n {
        pairs[tid] = groups[base + 1u + t0 + tid];
    }
    workgroupBarrier();
    let i = wid.x * WG + tid;
    var acc: array<f32, TILE_ROWS>;
    let row_byte = (e * p.m + min(i, p.m - 1u)) * p.row_bytes;
    let per_slot = p.x_stride != p.cols;
    for (var c = 0u; c < p.cols / 32u; c++) {
        for (var el = tid; el < TILE_ROWS * 8u; el += WG) {
            let t = el / 8u;
            var v = vec4<f32>(0.0);
            if t < n {
                let a = pairs[t];
                let x_at = (a / p.k) * p.x_stride + select(0u, (a % p.k) * p.cols, per_slot);
                v = x[(x_at + c * 32u) / 4u + el % 8u];
            }
            xs[t][el % 8u] = v;
        }
        workgroupBarrier();
        let at = chunk_at(row_byte, c);
        let s = chunk_scale(at.x, at.y);
        for (var q = 0u; q < 8u; q++) {
            let sq = select(s.zw, s.xy, q < 4u);
            let w = sq.x * chunk_q4(at.x, at.y, q) + sq.y;
            for (var t = 0u; t < TILE_ROWS; t++) {
                acc[t] += dot(w, xs[t][q]);
            }
        }
        workgroupBarrier();
    }
    if i < p.m {
        for (var t = 0u; t < n; t++) {
            y[pairs[t] * p.m + i] = acc[t];
        }
    }
}
