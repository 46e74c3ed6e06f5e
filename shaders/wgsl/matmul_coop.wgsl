// y[r, off + i] = sum_k W[i, k] * x[r, k] for a batch of rows (prefill), on cooperative matrices
// (tensor cores, simdgroup matrices). A workgroup of sixteen subgroups covers a tile of 8S rows
// of x by 8S output features: per 64-element chunk of k it stages the rows of x and the decoded
// weights in shared memory as f16, and each subgroup multiplies 2S rows by 2S features of the
// tile (4 matrices of f32 sums). While the subgroups multiply one chunk, the loads of the next
// are in flight. Chunks of 64 rather than the decoders' 32: twice the products between each pair
// of barriers (prompts' matmuls 8-10% faster on the H100, BENCHMARKS.md session 21). Sixteen
// subgroups of four matrices rather than eight of eight: fewer registers a thread (the next
// chunk's loads and the sums), twice the warps to hide the barriers (prompts 6-13% faster on
// the H100, BENCHMARKS.md session 19). S (the matrix side), TileA/B/C come from the variant.
//
// Which rows a tile takes and where they go is the side's: `coop/rows.wgsl` (matmul_coop: rows
// in order) or `coop/experts.wgsl` (matmul_id_coop: the routed pairs of one expert). A side
// gives `start_tile` (false: the tile has no rows, and the workgroup returns), `x_at` (the x
// vec4 index of a tile row, or NO_ROW past its rows), `weight_row` (the weight row of output
// feature i), `y_at` (where output i of a tile row goes, or NO_ROW to drop it) and `store_tile`
// (an S x S tile of sums into y, straight or through `store_staged`).

const NO_ROW: u32 = 0xffffffffu;
const TILE: u32 = 8u * S;
const CHUNK: u32 = 64u;
// A staged row's stride in f16: 8 more than a chunk, so the rows a matrix load reads together
// fall in different shared-memory banks.
const STRIDE: u32 = CHUNK + 8u;
// vec4s of x, and of decoded weights, each thread stages per chunk (4 when S = 16, 2 when 8).
const PER_THREAD: u32 = TILE * (CHUNK / 4u) / WG;
// Subgroups that store edge tiles at once: the staging of all sixteen would not fit beside xs and
// ws in 48 KB of shared memory when S = 16.
const EDGE_SLOTS: u32 = 8u;

var<workgroup> xs: array<f16, TILE * STRIDE>;
var<workgroup> ws: array<f16, TILE * STRIDE>;
// S x S staging for the tiles at the edges of y, a slot for each of EDGE_SLOTS subgroups.
var<workgroup> edge: array<f32, EDGE_SLOTS * S * S>;

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

// Writes the S x S tile of sums at tile row t, feature i through the subgroup's staging slot,
// output by output, EDGE_SLOTS subgroups a round. Called from uniform control flow; whether a
// subgroup stores in a round depends on the subgroup alone, so each store stays uniform within
// its subgroup as cooperative matrices need.
fn store_staged(c: TileC, t: u32, i: u32, sg: u32, lane: u32) {
    let staged = sg % EDGE_SLOTS * S * S;
    for (var round = 0u; round < WG / 32u / EDGE_SLOTS; round++) {
        let mine = sg / EDGE_SLOTS == round;
        if mine {
            coopStoreT(c, &edge[staged], S);
        }
        workgroupBarrier();
        if mine {
            for (var e = lane; e < S * S; e += 32u) {
                let ii = i + e % S;
                let at = y_at(t + e / S, ii);
                if at != NO_ROW && ii < p.m {
                    y[at] = edge[staged + e];
                }
            }
        }
        workgroupBarrier();
    }
}

// x's vec4 `e` of the tile (row e / 16, part e % 16) in chunk c; zero past the tile's rows and
// past k (whose last chunk may be half one).
fn x4(c: u32, e: u32) -> vec4<f32> {
    let at = x_at(e / 16u);
    let part = c * 16u + e % 16u;
    if at == NO_ROW || part >= p.k / 4u {
        return vec4<f32>(0.0);
    }
    return x[at + part];
}

// Where the decoders' 32-element chunk c of the weight row at row_byte lies (the last one past
// k: its values meet zeros of x), and the scale and offset of its parts q0.. (which a thread's
// parts share: they sit in one half of the chunk).
struct WChunk {
    at: vec2<u32>,
    scale: vec2<f32>,
}

fn w_chunk(row_byte: u32, c: u32, q0: u32) -> WChunk {
    let at = chunk_at(row_byte, min(c, p.k / 32u - 1u));
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
    // The weight row this thread decodes, its first part of the chunk's 16, and where that part
    // lies in the decoders' 32-element chunks (half, part qp).
    let wr = tid / (16u / PER_THREAD);
    let q0 = tid % (16u / PER_THREAD) * PER_THREAD;
    let half = q0 / 8u;
    let qp = q0 % 8u;
    let row_byte = weight_row(min(i0 + wr, p.m - 1u)) * p.row_bytes;
    var c00 = TileC();
    var c01 = TileC();
    var c10 = TileC();
    var c11 = TileC();
    // This thread's loads of the chunk to stage next; PER_THREAD is 2 or 4.
    var x0 = x4(0u, tid);
    var x1 = x4(0u, tid + WG);
    var x2 = vec4<f32>(0.0);
    var x3 = vec4<f32>(0.0);
    let first = w_chunk(row_byte, half, qp);
    var w0 = w4(first, qp);
    var w1 = w4(first, qp + 1u);
    var w2 = vec4<f32>(0.0);
    var w3 = vec4<f32>(0.0);
    if PER_THREAD == 4u {
        x2 = x4(0u, tid + 2u * WG);
        x3 = x4(0u, tid + 3u * WG);
        w2 = w4(first, qp + 2u);
        w3 = w4(first, qp + 3u);
    }
    let xo = tid % 16u * 4u;
    let wo = wr * STRIDE + q0 * 4u;
    let chunks = (p.k + CHUNK - 1u) / CHUNK;
    for (var c = 0u; c < chunks; c++) {
        put4(tid / 16u * STRIDE + xo, x0, false);
        put4((tid + WG) / 16u * STRIDE + xo, x1, false);
        put4(wo, w0, true);
        put4(wo + 4u, w1, true);
        if PER_THREAD == 4u {
            put4((tid + 2u * WG) / 16u * STRIDE + xo, x2, false);
            put4((tid + 3u * WG) / 16u * STRIDE + xo, x3, false);
            put4(wo + 8u, w2, true);
            put4(wo + 12u, w3, true);
        }
        workgroupBarrier();
        if c + 1u < chunks {
            x0 = x4(c + 1u, tid);
            x1 = x4(c + 1u, tid + WG);
            let next = w_chunk(row_byte, 2u * (c + 1u) + half, qp);
            w0 = w4(next, qp);
            w1 = w4(next, qp + 1u);
            if PER_THREAD == 4u {
                x2 = x4(c + 1u, tid + 2u * WG);
                x3 = x4(c + 1u, tid + 3u * WG);
                w2 = w4(next, qp + 2u);
                w3 = w4(next, qp + 3u);
            }
        }
        for (var kk = 0u; kk < CHUNK; kk += S) {
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
