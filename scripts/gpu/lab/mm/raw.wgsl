// Lab (mvlab): matmul_coop with the weights' raw words loaded DEPTH (1 or 2) chunks ahead and
// decoded when staged (x staged as in wick's). q4_K and S = 16 only (PER_THREAD = 4).

const DEPTH: u32 = 2u;
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
// Chunk c's raw q4_K words as one thread decodes them (its parts q0..q0 + 3: PER_THREAD = 4):
// d and dmin, the 12 bytes of scales, its four words of nibbles, and the sub-block.
struct Raw {
    dm: u32,
    s0: u32,
    s1: u32,
    s2: u32,
    q: vec4<u32>,
    j: u32,
}

fn raw_at(row_byte: u32, c: u32, q0: u32) -> Raw {
    let at = chunk_at(row_byte, c);
    let w = at.x / 4u;
    let qw = (at.x + 16u + 32u * (at.y / 2u) + 4u * q0) / 4u;
    return Raw(weights[w], weights[w + 1u], weights[w + 2u], weights[w + 3u],
               vec4<u32>(weights[qw], weights[qw + 1u], weights[qw + 2u], weights[qw + 3u]), at.y);
}

struct W4 {
    w0: vec4<f32>,
    w1: vec4<f32>,
    w2: vec4<f32>,
    w3: vec4<f32>,
}

fn decode(r: Raw) -> W4 {
    let sh = 8u * (r.j % 4u);
    let a = (r.s0 >> sh) & 0xffu;
    let m = (r.s1 >> sh) & 0xffu;
    let c = (r.s2 >> sh) & 0xffu;
    var sm = vec2<f32>(f32(a & 63u), f32(m & 63u));
    if r.j >= 4u {
        sm = vec2<f32>(f32((c & 0xfu) | ((a >> 6u) << 4u)), f32((c >> 4u) | ((m >> 6u) << 4u)));
    }
    let dm = unpack2x16float(r.dm);
    let scale = dm.x * sm.x;
    let off = -dm.y * sm.y;
    let q = r.q >> vec4<u32>(4u * (r.j % 2u));
    return W4(scale * vec4<f32>(bytes4(q.x) & vec4<u32>(0xfu)) + off,
              scale * vec4<f32>(bytes4(q.y) & vec4<u32>(0xfu)) + off,
              scale * vec4<f32>(bytes4(q.z) & vec4<u32>(0xfu)) + off,
              scale * vec4<f32>(bytes4(q.w) & vec4<u32>(0xfu)) + off);
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
    var x0 = x4(0u, tid);
    var x1 = x4(0u, tid + WG);
    var x2 = vec4<f32>(0.0);
    var x3 = vec4<f32>(0.0);
    x2 = x4(0u, tid + 2u * WG);
    x3 = x4(0u, tid + 3u * WG);
    let chunks = p.k / 32u;
    var r1 = raw_at(row_byte, 0u, q0);
    var r2 = raw_at(row_byte, min(1u, chunks - 1u), q0);
    for (var c = 0u; c < chunks; c++) {
        put4(tid / 8u * STRIDE + tid % 8u * 4u, x0, false);
        put4((tid + WG) / 8u * STRIDE + tid % 8u * 4u, x1, false);
        let w = decode(r1);
        put4(wr * STRIDE + q0 * 4u, w.w0, true);
        put4(wr * STRIDE + q0 * 4u + 4u, w.w1, true);
        put4((tid + 2u * WG) / 8u * STRIDE + tid % 8u * 4u, x2, false);
        put4((tid + 3u * WG) / 8u * STRIDE + tid % 8u * 4u, x3, false);
        put4(wr * STRIDE + q0 * 4u + 8u, w.w2, true);
        put4(wr * STRIDE + q0 * 4u + 12u, w.w3, true);
        workgroupBarrier();
        if c + 1u < chunks {
            x0 = x4(c + 1u, tid);
            x1 = x4(c + 1u, tid + WG);
            x2 = x4(c + 1u, tid + 2u * WG);
            x3 = x4(c + 1u, tid + 3u * WG);
        }
        if DEPTH == 2u {
            r1 = r2;
            r2 = raw_at(row_byte, min(c + 2u, chunks - 1u), q0);
        } else {
            r1 = raw_at(row_byte, min(c + 1u, chunks - 1u), q0);
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
