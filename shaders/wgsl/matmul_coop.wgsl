// y[r, off + i] = sum_k W[i, k] * x[r, k] for a batch of rows (prefill), on cooperative matrices
// (tensor cores, simdgroup matrices). A workgroup of four subgroups covers a tile of 4S rows of x
// by 4S output features: per 32-element chunk of k it stages the rows of x and the decoded
// weights in shared memory as f16, and each subgroup multiplies a 2S x 2S quarter of the tile
// with f32 accumulators. S (the matrix side), TileA/B/C come from the variant.

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

const TILE: u32 = 4u * S;
// A staged row's stride in f16: 8 more than the chunk, so the rows a matrix load reads together
// fall in different shared-memory banks.
const STRIDE: u32 = 40u;

var<workgroup> xs: array<f16, TILE * STRIDE>;
var<workgroup> ws: array<f16, TILE * STRIDE>;
// Each subgroup's S x S staging for the tiles at the edges of y.
var<workgroup> edge: array<f32, 4u * S * S>;

fn put4(dst: u32, v: vec4<f32>, into_w: bool) {
    let h = vec4<f16>(v);
    if into_w {
        ws[dst] = h.x;
        ws[dst + 1u] = h.y;
        ws[dst + 2u] = h.z;
        ws[dst + 3u] = h.w;
    } else {
        xs[dst] = h.x;
        xs[dst + 1u] = h.y;
        xs[dst + 2u] = h.z;
        xs[dst + 3u] = h.w;
    }
}

// Writes an S x S tile at rows r, features i of y, through the subgroup's staging where the
// tile crosses the edge of y. `full` is the same for the whole workgroup.
fn store(c: TileC, r: u32, i: u32, full: bool, sg: u32, lane: u32) {
    // Computed before the branch: naga's WGSL front end leaves expressions computed in the
    // coopStoreT call itself out of the SPIR-V.
    let stride = p.y_stride;
    let at = r * stride + p.out_off + i;
    let staged = sg * S * S;
    if full {
        coopStoreT(c, &y[at], stride);
        return;
    }
    coopStoreT(c, &edge[staged], S);
    workgroupBarrier();
    for (var e = lane; e < S * S; e += 32u) {
        let rr = r + e / S;
        let ii = i + e % S;
        if rr < p.rows && ii < p.m {
            y[rr * stride + p.out_off + ii] = edge[staged + e];
        }
    }
    workgroupBarrier();
}

@compute @workgroup_size(WG)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) tid: u32,
        @builtin(subgroup_id) sg: u32, @builtin(subgroup_invocation_id) lane: u32) {
    let i0 = wid.x * TILE;
    let r0 = wid.y * TILE;
    // This subgroup's quarter: rows rq.., features iq.. of the tile.
    let rq = (sg / 2u) * 2u * S;
    let iq = (sg % 2u) * 2u * S;
    // The weight row and chunk half (elements 16h..16h+15) this thread decodes.
    let wr = tid / 2u;
    let h = tid % 2u;
    let row_byte = min(i0 + wr, p.m - 1u) * p.row_bytes;
    var c00 = TileC();
    var c01 = TileC();
    var c10 = TileC();
    var c11 = TileC();
    for (var c = 0u; c < p.k / 32u; c++) {
        for (var e = tid; e < TILE * 8u; e += WG) {
            let r = r0 + e / 8u;
            var v = vec4<f32>(0.0);
            if r < p.rows {
                v = x[(r * p.x_stride + c * 32u) / 4u + e % 8u];
            }
            put4((e / 8u) * STRIDE + (e % 8u) * 4u, v, false);
        }
        if wr < TILE {
            let at = chunk_at(row_byte, c);
            let s = chunk_scale(at.x, at.y);
            let sh = select(s.zw, s.xy, h == 0u);
            for (var q = 4u * h; q < 4u * h + 4u; q++) {
                put4(wr * STRIDE + q * 4u, sh.x * chunk_q4(at.x, at.y, q) + sh.y, true);
            }
        }
        workgroupBarrier();
        for (var kk = 0u; kk < 32u; kk += S) {
            let a0 = coopLoadT<TileA>(&xs[rq * STRIDE + kk], STRIDE);
            let a1 = coopLoadT<TileA>(&xs[(rq + S) * STRIDE + kk], STRIDE);
            let b0 = coopLoad<TileB>(&ws[iq * STRIDE + kk], STRIDE);
            let b1 = coopLoad<TileB>(&ws[(iq + S) * STRIDE + kk], STRIDE);
            c00 = coopMultiplyAdd(a0, b0, c00);
            c01 = coopMultiplyAdd(a0, b1, c01);
            c10 = coopMultiplyAdd(a1, b0, c10);
            c11 = coopMultiplyAdd(a1, b1, c11);
        }
        workgroupBarrier();
    }
    let full = r0 + TILE <= p.rows && i0 + TILE <= p.m;
    store(c00, r0 + rq, i0 + iq, full, sg, lane);
    store(c01, r0 + rq, i0 + iq + S, full, sg, lane);
    store(c10, r0 + rq + S, i0 + iq, full, sg, lane);
    store(c11, r0 + rq + S, i0 + iq + S, full, sg, lane);
}
