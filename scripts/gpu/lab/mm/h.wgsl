// Lab (mvlab `mm/h.wgsl@ty=TY,coop=1`): main's matmul_coop (eight subgroups, the next chunk's
// loads held in registers during this chunk's products) reading x's buffer as if it held f16
// rows (half the bytes and half the registers for the x prefetch; wrong sums, for timing only:
// would x in f16 pay for a conversion dispatch?).

const NO_ROW: u32 = 0xffffffffu;
const TILE: u32 = 8u * S;
// A staged row's stride in f16: 8 more than a chunk, so the rows a matrix load reads together
// fall in different shared-memory banks.
const STRIDE: u32 = 40u;
// vec4s of x, and of decoded weights, each thread stages per chunk (4 when S = 16, 2 when 8).
const PER_THREAD: u32 = TILE * 8u / WG;

var<workgroup> xs: array<f16, TILE * STRIDE>;
var<workgroup> ws: array<f16, TILE * STRIDE>;
// Each subgroup's S x S staging for the tiles at the edges of y.
var<workgroup> edge: array<f32, 8u * S * S>;

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

// Writes the S x S tile of sums at tile row t, feature i through the subgroup's staging, output
// by output. Called from uniform control flow.
fn store_staged(c: TileC, t: u32, i: u32, sg: u32, lane: u32) {
    let staged = sg * S * S;
    coopStoreT(c, &edge[staged], S);
    workgroupBarrier();
    for (var e = lane; e < S * S; e += 32u) {
        let ii = i + e % S;
        let at = y_at(t + e / S, ii);
        if at != NO_ROW && ii < p.m {
            y[at] = edge[staged + e];
        }
    }
    workgroupBarrier();
}

// Chunk c's eight f16 of x at e (row e / 4, part e % 4) when x's buffer is read as f16, zero
// past the tile's rows.
fn x8(c: u32, e: u32) -> vec4<u32> {
    let at = x_at(e / 4u);
    if at == NO_ROW {
        return vec4<u32>(0u);
    }
    return bitcast<vec4<u32>>(x[at / 2u + c * 4u + e % 4u]);
}

fn put8(dst: u32, v: vec4<u32>) {
    let a = vec2<f16>(unpack2x16float(v.x));
    let b = vec2<f16>(unpack2x16float(v.y));
    let c = vec2<f16>(unpack2x16float(v.z));
    let d = vec2<f16>(unpack2x16float(v.w));
    xs[dst] = a.x;
    xs[dst + 1u] = a.y;
    xs[dst + 2u] = b.x;
    xs[dst + 3u] = b.y;
    xs[dst + 4u] = c.x;
    xs[dst + 5u] = c.y;
    xs[dst + 6u] = d.x;
    xs[dst + 7u] = d.y;
}

// x's vec4 `e` of the tile (row e / 8, part e % 8) in chunk c; zero past the tile's rows.
fn x4(c: u32, e: u32) -> vec4<f32> {
    let at = x_at(e / 8u);
    if at == NO_ROW {
        return vec4<f32>(0.0);
    }
    return x[at + c * 8u + e % 8u];
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
    // This subgroup's part of the tile: rows rq.., features iq...
    let rq = (sg / 2u) * 2u * S;
    let iq = (sg % 2u) * 4u * S;
    // The weight row this thread decodes, and its first part.
    let wr = tid / (8u / PER_THREAD);
    let q0 = tid % (8u / PER_THREAD) * PER_THREAD;
    let row_byte = weight_row(min(i0 + wr, p.m - 1u)) * p.row_bytes;
    var c00 = TileC();
    var c01 = TileC();
    var c02 = TileC();
    var c03 = TileC();
    var c10 = TileC();
    var c11 = TileC();
    var c12 = TileC();
    var c13 = TileC();
    // This thread's loads of the chunk to stage next; PER_THREAD is 2 or 4.
    var h0 = x8(0u, tid);
    var h1 = vec4<u32>(0u);
    let first = w_chunk(row_byte, 0u, q0);
    var w0 = w4(first, q0);
    var w1 = w4(first, q0 + 1u);
    var w2 = vec4<f32>(0.0);
    var w3 = vec4<f32>(0.0);
    if PER_THREAD == 4u {
        h1 = x8(0u, tid + WG);
        w2 = w4(first, q0 + 2u);
        w3 = w4(first, q0 + 3u);
    }
    let chunks = p.k / 32u;
    for (var c = 0u; c < chunks; c++) {
        put8(tid / 4u * STRIDE + tid % 4u * 8u, h0);
        put4(wr * STRIDE + q0 * 4u, w0, true);
        put4(wr * STRIDE + q0 * 4u + 4u, w1, true);
        if PER_THREAD == 4u {
            put8((tid + WG) / 4u * STRIDE + tid % 4u * 8u, h1);
            put4(wr * STRIDE + q0 * 4u + 8u, w2, true);
            put4(wr * STRIDE + q0 * 4u + 12u, w3, true);
        }
        workgroupBarrier();
        if c + 1u < chunks {
            h0 = x8(c + 1u, tid);
            let next = w_chunk(row_byte, c + 1u, q0);
            w0 = w4(next, q0);
            w1 = w4(next, q0 + 1u);
            if PER_THREAD == 4u {
                h1 = x8(c + 1u, tid + WG);
                w2 = w4(next, q0 + 2u);
                w3 = w4(next, q0 + 3u);
            }
        }
        for (var kk = 0u; kk < 32u; kk += S) {
            let a0 = coopLoadT<TileA>(&xs[(rq + 0u * S) * STRIDE + kk], STRIDE);
            let a1 = coopLoadT<TileA>(&xs[(rq + 1u * S) * STRIDE + kk], STRIDE);
            let b0 = coopLoad<TileB>(&ws[(iq + 0u * S) * STRIDE + kk], STRIDE);
            let b1 = coopLoad<TileB>(&ws[(iq + 1u * S) * STRIDE + kk], STRIDE);
            let b2 = coopLoad<TileB>(&ws[(iq + 2u * S) * STRIDE + kk], STRIDE);
            let b3 = coopLoad<TileB>(&ws[(iq + 3u * S) * STRIDE + kk], STRIDE);
            c00 = coopMultiplyAdd(a0, b0, c00);
            c01 = coopMultiplyAdd(a0, b1, c01);
            c02 = coopMultiplyAdd(a0, b2, c02);
            c03 = coopMultiplyAdd(a0, b3, c03);
            c10 = coopMultiplyAdd(a1, b0, c10);
            c11 = coopMultiplyAdd(a1, b1, c11);
            c12 = coopMultiplyAdd(a1, b2, c12);
            c13 = coopMultiplyAdd(a1, b3, c13);
        }
        workgroupBarrier();
    }
    store_tile(c00, rq + 0u * S, i0 + iq + 0u * S, wid, sg, lane);
    store_tile(c01, rq + 0u * S, i0 + iq + 1u * S, wid, sg, lane);
    store_tile(c02, rq + 0u * S, i0 + iq + 2u * S, wid, sg, lane);
    store_tile(c03, rq + 0u * S, i0 + iq + 3u * S, wid, sg, lane);
    store_tile(c10, rq + 1u * S, i0 + iq + 0u * S, wid, sg, lane);
    store_tile(c11, rq + 1u * S, i0 + iq + 1u * S, wid, sg, lane);
    store_tile(c12, rq + 1u * S, i0 + iq + 2u * S, wid, sg, lane);
    store_tile(c13, rq + 1u * S, i0 + iq + 3u * S, wid, sg, lane);
}
