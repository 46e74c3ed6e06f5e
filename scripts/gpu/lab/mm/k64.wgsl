// Lab (mvlab `mm/k64.wgsl@ty=TY,coop=1`): matmul_coop staging chunks of 64 of k (two of the
// decoders' 32-element chunks) between each pair of barriers, so 16 products a subgroup per pair
// instead of 8; four vec4s of x and of weights a thread a chunk. Its 37 KB of staging leave no
// room for `edge` under 48 KB: edge tiles are stored straight (wrong at y's edges; mvlab's
// shapes have none). S = 16, k a multiple of 64.

const NO_ROW: u32 = 0xffffffffu;
const TILE: u32 = 8u * S;
// A staged row's stride in f16: 8 more than a chunk of 64, so the rows a matrix load reads
// together fall in different shared-memory banks.
const STRIDE: u32 = 72u;

var<workgroup> xs: array<f16, TILE * STRIDE>;
var<workgroup> ws: array<f16, TILE * STRIDE>;

// Stores v as f16 at dst of the staged x or weights. Values past f16's range saturate: WGSL
// leaves their conversion undefined, and an inf would turn the row's sums into NaN.
fn put4(dst: u32, v: vec4<f32>, into_w: bool) {
    let h = vec4<f16>(clamp(v, vec4<f32>(-65504.0), vec4<f32>(65504.0)));
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

// The lab stores edge tiles straight (see the header).
fn store_staged(c: TileC, t: u32, i: u32, sg: u32, lane: u32) {
    let stride = p.y_stride;
    let at = (r0 + t) * stride + p.out_off + i;
    coopStoreT(c, &y[at], stride);
}

// x's vec4 `e` of the tile (row e / 16, part e % 16) in 64-chunk c; zero past the tile's rows.
fn x4(c: u32, e: u32) -> vec4<f32> {
    let at = x_at(e / 16u);
    if at == NO_ROW {
        return vec4<f32>(0.0);
    }
    return x[at + c * 16u + e % 16u];
}

// Where chunk c of the weight row at row_byte lies, and the scale and offset of its parts
// q0.. (which a thread's parts share: they sit in one half of the chunk).
struct WChunk {
    at: vec2<u32>,
    scale: vec2<f32>,
}

fn w_chunk(row_byte: u32, c: u32, q0: u32) -> WChunk {
    let at = chunk_at(row_byte, c);
    let s = chunk_scale(at.x, at.y);
    return WChunk(at, select(s.zw, s.xy, q0 < 4u));
}

// Part q of the chunk, decoded.
fn w4(w: WChunk, q: u32) -> vec4<f32> {
    return w.scale.x * chunk_q4(w.at.x, w.at.y, q) + w.scale.y;
}

@compute @workgroup_size(WG)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) tid: u32,
        @builtin(subgroup_id) sg: u32, @builtin(subgroup_invocation_id) lane: u32) {
    let i0 = wid.x * TILE;
    if !start_tile(wid, tid) {
        return;
    }
    // This subgroup's part of the tile (a 4 x 4 grid of them): rows rq.., features iq...
    let rq = (sg / 4u) * 2u * S;
    let iq = (sg % 4u) * 2u * S;
    // The weight row this thread decodes, and its first part of 16 (one half of a 32-chunk).
    let wr = tid / 4u;
    let q0 = tid % 4u * 4u;
    let half = q0 / 8u;
    let qp = q0 % 8u;
    let row_byte = weight_row(min(i0 + wr, p.m - 1u)) * p.row_bytes;
    var c00 = TileC();
    var c01 = TileC();
    var c10 = TileC();
    var c11 = TileC();
    var x0 = x4(0u, tid);
    var x1 = x4(0u, tid + WG);
    var x2 = x4(0u, tid + 2u * WG);
    var x3 = x4(0u, tid + 3u * WG);
    let first = w_chunk(row_byte, half, qp);
    var w0 = w4(first, qp);
    var w1 = w4(first, qp + 1u);
    var w2 = w4(first, qp + 2u);
    var w3 = w4(first, qp + 3u);
    let chunks = p.k / 64u;
    for (var c = 0u; c < chunks; c++) {
        put4(tid / 16u * STRIDE + tid % 16u * 4u, x0, false);
        put4((tid + WG) / 16u * STRIDE + tid % 16u * 4u, x1, false);
        put4((tid + 2u * WG) / 16u * STRIDE + tid % 16u * 4u, x2, false);
        put4((tid + 3u * WG) / 16u * STRIDE + tid % 16u * 4u, x3, false);
        put4(wr * STRIDE + q0 * 4u, w0, true);
        put4(wr * STRIDE + q0 * 4u + 4u, w1, true);
        put4(wr * STRIDE + q0 * 4u + 8u, w2, true);
        put4(wr * STRIDE + q0 * 4u + 12u, w3, true);
        workgroupBarrier();
        if c + 1u < chunks {
            x0 = x4(c + 1u, tid);
            x1 = x4(c + 1u, tid + WG);
            x2 = x4(c + 1u, tid + 2u * WG);
            x3 = x4(c + 1u, tid + 3u * WG);
            let next = w_chunk(row_byte, 2u * (c + 1u) + half, qp);
            w0 = w4(next, qp);
            w1 = w4(next, qp + 1u);
            w2 = w4(next, qp + 2u);
            w3 = w4(next, qp + 3u);
        }
        for (var kk = 0u; kk < 64u; kk += S) {
            let a0 = coopLoadT<TileA>(&xs[(rq + 0u * S) * STRIDE + kk], STRIDE);
            let a1 = coopLoadT<TileA>(&xs[(rq + 1u * S) * STRIDE + kk], STRIDE);
            let b0 = coopLoad<TileB>(&ws[(iq + 0u * S) * STRIDE + kk], STRIDE);
            let b1 = coopLoad<TileB>(&ws[(iq + 1u * S) * STRIDE + kk], STRIDE);
            c00 = coopMultiplyAdd(a0, b0, c00);
            c01 = coopMultiplyAdd(a0, b1, c01);
            c10 = coopMultiplyAdd(a1, b0, c10);
            c11 = coopMultiplyAdd(a1, b1, c11);
        }
        workgroupBarrier();
    }
    store_tile(c00, rq + 0u * S, i0 + iq + 0u * S, wid, sg, lane);
    store_tile(c01, rq + 0u * S, i0 + iq + 1u * S, wid, sg, lane);
    store_tile(c10, rq + 1u * S, i0 + iq + 0u * S, wid, sg, lane);
    store_tile(c11, rq + 1u * S, i0 + iq + 1u * S, wid, sg, lane);
}
