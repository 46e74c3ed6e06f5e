// y[r, off + i] = sum_k W[i, k] * x[r, k] for a batch of rows (prefill). A workgroup covers 64
// output features and 32 rows: each thread decodes the chunks of one weight row and applies them
// to 32 rows of x staged in shared memory, so each weight is read once per 32 rows.
const TILE_ROWS: u32 = 32u;

struct Params {
    k: u32,
    m: u32,
    row_bytes: u32,
    out_off: u32,
    rows: u32,
    x_stride: u32,
    y_stride: u32,
    pad: u32,
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> weights: array<u32>;
@group(0) @binding(2) var<storage, read> x: array<vec4<f32>>;
@group(0) @binding(3) var<storage, read_write> y: array<f32>;

var<workgroup> xs: array<array<vec4<f32>, 8>, TILE_ROWS>;

@compute @workgroup_size(WG)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) tid: u32) {
    let i = wid.x * WG + tid;
    let r0 = wid.y * TILE_ROWS;
    var acc: array<f32, TILE_ROWS>;
    let row_byte = min(i, p.m - 1u) * p.row_bytes;
    for (var c = 0u; c < p.k / 32u; c++) {
        for (var e = tid; e < TILE_ROWS * 8u; e += WG) {
            let r = r0 + e / 8u;
            var v = vec4<f32>(0.0);
            if r < p.rows {
                v = x[(r * p.x_stride + c * 32u) / 4u + e % 8u];
            }
            xs[e / 8u][e % 8u] = v;
        }
        workgroupBarrier();
        let at = chunk_at(row_byte, c);
        let s = chunk_scale(at.x, at.y);
        for (var q = 0u; q < 8u; q++) {
            let sq = select(s.zw, s.xy, q < 4u);
            let w = sq.x * chunk_q4(at.x, at.y, q) + sq.y;
            for (var r = 0u; r < TILE_ROWS; r++) {
                acc[r] += dot(w, xs[r][q]);
            }
        }
        workgroupBarrier();
    }
    if i < p.m {
        for (var r = 0u; r < TILE_ROWS; r++) {
            if r0 + r < p.rows {
                y[(r0 + r) * p.y_stride + p.out_off + i] = acc[r];
            }
        }
    }
}
