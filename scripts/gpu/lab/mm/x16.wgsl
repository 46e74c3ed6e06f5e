// Lab (mvlab `x16=1`): matmul_coop with x already in f16 in its buffer (`x: array<f16>`, row r
// at r * x_stride), its matrices loaded straight from there instead of staged in shared memory.
// Only the weights are staged. PREFETCH = 1 loads the next chunk's A matrices while this chunk's
// multiply; 0 loads them right before use. The weights' raw words are loaded DEPTH (1 or 2)
// chunks ahead and decoded when staged. q4_K and S = 16 only (PER_THREAD = 4). Needs rows padded
// to the tile (mvlab's 512 are).

const NO_ROW: u32 = 0xffffffffu;
const TILE: u32 = 8u * S;
const STRIDE: u32 = 40u;
const PER_THREAD: u32 = TILE * 8u / WG;
const PREFETCH: u32 = 1u;
const DEPTH: u32 = 1u;

var<workgroup> ws: array<f16, TILE * STRIDE>;
var<workgroup> edge: array<f32, 8u * S * S>;

fn put4(dst: u32, v: vec4<f32>) {
    let h = vec4<f16>(clamp(v, vec4<f32>(-65504.0), vec4<f32>(65504.0)));
    ws[dst] = h.x;
    ws[dst + 1u] = h.y;
    ws[dst + 2u] = h.z;
    ws[dst + 3u] = h.w;
}

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
    let rq = (sg / 2u) * 2u * S;
    let iq = (sg % 2u) * 4u * S;
    let wr = tid / (8u / PER_THREAD);
    let q0 = tid % (8u / PER_THREAD) * PER_THREAD;
    let row_byte = weight_row(min(i0 + wr, p.m - 1u)) * p.row_bytes;
    let xs = p.x_stride;
    // x index of this subgroup's first and second S rows.
    let xa0 = (wid.y * TILE + rq) * xs;
    let xa1 = xa0 + S * xs;
    var c00 = TileC();
    var c01 = TileC();
    var c02 = TileC();
    var c03 = TileC();
    var c10 = TileC();
    var c11 = TileC();
    var c12 = TileC();
    var c13 = TileC();
    let chunks = p.k / 32u;
    // The raw words of the chunk to stage next, and (DEPTH 2) of the one after.
    var r1 = raw_at(row_byte, 0u, q0);
    var r2 = raw_at(row_byte, min(1u, chunks - 1u), q0);
    var a00 = coopLoadT<TileA>(&x[xa0], xs);
    var a10 = coopLoadT<TileA>(&x[xa1], xs);
    let xa0s = xa0 + S;
    let xa1s = xa1 + S;
    var a01 = coopLoadT<TileA>(&x[xa0s], xs);
    var a11 = coopLoadT<TileA>(&x[xa1s], xs);
    for (var c = 0u; c < chunks; c++) {
        let w = decode(r1);
        put4(wr * STRIDE + q0 * 4u, w.w0);
        put4(wr * STRIDE + q0 * 4u + 4u, w.w1);
        put4(wr * STRIDE + q0 * 4u + 8u, w.w2);
        put4(wr * STRIDE + q0 * 4u + 12u, w.w3);
        workgroupBarrier();
        // Past the last chunk the loads repeat it: harmless, and no branch.
        if DEPTH == 2u {
            r1 = r2;
            r2 = raw_at(row_byte, min(c + 2u, chunks - 1u), q0);
        } else {
            r1 = raw_at(row_byte, min(c + 1u, chunks - 1u), q0);
        }
        var b0 = coopLoad<TileB>(&ws[(iq + 0u * S) * STRIDE], STRIDE);
        var b1 = coopLoad<TileB>(&ws[(iq + 1u * S) * STRIDE], STRIDE);
        var b2 = coopLoad<TileB>(&ws[(iq + 2u * S) * STRIDE], STRIDE);
        var b3 = coopLoad<TileB>(&ws[(iq + 3u * S) * STRIDE], STRIDE);
        if PREFETCH == 0u {
            let k0 = c * 32u;
            let p00 = xa0 + k0;
            let p10 = xa1 + k0;
            let p01 = p00 + S;
            let p11 = p10 + S;
            a00 = coopLoadT<TileA>(&x[p00], xs);
            a10 = coopLoadT<TileA>(&x[p10], xs);
            a01 = coopLoadT<TileA>(&x[p01], xs);
            a11 = coopLoadT<TileA>(&x[p11], xs);
        }
        c00 = coopMultiplyAdd(a00, b0, c00);
        c01 = coopMultiplyAdd(a00, b1, c01);
        c02 = coopMultiplyAdd(a00, b2, c02);
        c03 = coopMultiplyAdd(a00, b3, c03);
        c10 = coopMultiplyAdd(a10, b0, c10);
        c11 = coopMultiplyAdd(a10, b1, c11);
        c12 = coopMultiplyAdd(a10, b2, c12);
        c13 = coopMultiplyAdd(a10, b3, c13);
        b0 = coopLoad<TileB>(&ws[(iq + 0u * S) * STRIDE + S], STRIDE);
        b1 = coopLoad<TileB>(&ws[(iq + 1u * S) * STRIDE + S], STRIDE);
        b2 = coopLoad<TileB>(&ws[(iq + 2u * S) * STRIDE + S], STRIDE);
        b3 = coopLoad<TileB>(&ws[(iq + 3u * S) * STRIDE + S], STRIDE);
        c00 = coopMultiplyAdd(a01, b0, c00);
        c01 = coopMultiplyAdd(a01, b1, c01);
        c02 = coopMultiplyAdd(a01, b2, c02);
        c03 = coopMultiplyAdd(a01, b3, c03);
        c10 = coopMultiplyAdd(a11, b0, c10);
        c11 = coopMultiplyAdd(a11, b1, c11);
        c12 = coopMultiplyAdd(a11, b2, c12);
        c13 = coopMultiplyAdd(a11, b3, c13);
        if PREFETCH == 1u {
            // The last chunk loads its own again: the call stays in uniform control flow.
            let k1 = min(c + 1u, chunks - 1u) * 32u;
            let n00 = xa0 + k1;
            let n10 = xa1 + k1;
            let n01 = n00 + S;
            let n11 = n10 + S;
            a00 = coopLoadT<TileA>(&x[n00], xs);
            a10 = coopLoadT<TileA>(&x[n10], xs);
            a01 = coopLoadT<TileA>(&x[n01], xs);
            a11 = coopLoadT<TileA>(&x[n11], xs);
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
