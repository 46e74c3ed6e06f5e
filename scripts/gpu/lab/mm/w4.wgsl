// Lab (mvlab `mm/w4.wgsl@ty=TY,coop=1,WG=128` or `...,WG=256,WN=4,tile=256,rtile=128`):
// matmul_coop's tile of 8S rows by WN x 4S features taken by 2 WN subgroups of 4S x 4S each
// (16 matrices of sums, four A and four B loads per step of S along k) instead of eight of
// 2S x 4S. Each chunk's x and weights go from memory straight to shared memory (no loads held
// in registers across the products), so fewer registers: two workgroups an SM, one staging
// while the other multiplies. KC chunks of 32 are staged per pair of barriers. WG = 64 WN (one
// weight row a thread). XH=1 reads x's buffer as if it held f16 (half the bytes: wrong sums,
// for timing only). S = 16 (TILE 128 rows).

const NO_ROW: u32 = 0xffffffffu;
const TILE: u32 = 8u * S;
const KC: u32 = 1u;
const WN: u32 = 2u;
const XH: u32 = 0u;
// Features of the tile.
const FT: u32 = WN * 4u * S;
// A staged row's stride in f16: 8 more than the staged k, so the rows a matrix load reads
// together fall in different shared-memory banks.
const STRIDE: u32 = 32u * KC + 8u;

var<workgroup> xs: array<f16, TILE * STRIDE>;
var<workgroup> ws: array<f16, FT * STRIDE>;
var<workgroup> edge: array<f32, 8u * S * S>;

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
    let lo = vec2<f16>(unpack2x16float(v.x));
    let b = vec2<f16>(unpack2x16float(v.y));
    let c = vec2<f16>(unpack2x16float(v.z));
    let d = vec2<f16>(unpack2x16float(v.w));
    xs[dst] = lo.x;
    xs[dst + 1u] = lo.y;
    xs[dst + 2u] = b.x;
    xs[dst + 3u] = b.y;
    xs[dst + 4u] = c.x;
    xs[dst + 5u] = c.y;
    xs[dst + 6u] = d.x;
    xs[dst + 7u] = d.y;
}

fn x4(c: u32, e: u32) -> vec4<f32> {
    let at = x_at(e / 8u);
    if at == NO_ROW {
        return vec4<f32>(0.0);
    }
    return x[at + c * 8u + e % 8u];
}

@compute @workgroup_size(WG)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) tid: u32,
        @builtin(subgroup_id) sg: u32, @builtin(subgroup_invocation_id) lane: u32) {
    let i0 = wid.x * FT;
    if !start_tile(wid, tid) {
        return;
    }
    let rq = (sg / WN) * 4u * S;
    let iq = (sg % WN) * 4u * S;
    let row_byte = weight_row(min(i0 + tid, p.m - 1u)) * p.row_bytes;
    var c00 = TileC();
    var c01 = TileC();
    var c02 = TileC();
    var c03 = TileC();
    var c10 = TileC();
    var c11 = TileC();
    var c12 = TileC();
    var c13 = TileC();
    var c20 = TileC();
    var c21 = TileC();
    var c22 = TileC();
    var c23 = TileC();
    var c30 = TileC();
    var c31 = TileC();
    var c32 = TileC();
    var c33 = TileC();
    let chunks = p.k / 32u;
    for (var c = 0u; c < chunks; c += KC) {
        for (var h = 0u; h < KC; h++) {
            var xv: array<vec4<f32>, 8>;
            var xh: array<vec4<u32>, 4>;
            if XH == 1u {
                for (var j = 0u; j < TILE * 4u / WG; j++) {
                    xh[j] = x8(c + h, tid + j * WG);
                }
            } else {
                for (var j = 0u; j < TILE * 8u / WG; j++) {
                    xv[j] = x4(c + h, tid + j * WG);
                }
            }
            let at = chunk_at(row_byte, c + h);
            let s = chunk_scale(at.x, at.y);
            for (var q = 0u; q < 8u; q++) {
                let sc = select(s.zw, s.xy, q < 4u);
                put4(tid * STRIDE + h * 32u + q * 4u, sc.x * chunk_q4(at.x, at.y, q) + sc.y, true);
            }
            if XH == 1u {
                for (var j = 0u; j < TILE * 4u / WG; j++) {
                    let e = tid + j * WG;
                    put8(e / 4u * STRIDE + h * 32u + e % 4u * 8u, xh[j]);
                }
            } else {
                for (var j = 0u; j < TILE * 8u / WG; j++) {
                    let e = tid + j * WG;
                    put4(e / 8u * STRIDE + h * 32u + e % 8u * 4u, xv[j], false);
                }
            }
        }
        workgroupBarrier();
        for (var kk = 0u; kk < 32u * KC; kk += S) {
            let a0 = coopLoadT<TileA>(&xs[(rq + 0u * S) * STRIDE + kk], STRIDE);
            let a1 = coopLoadT<TileA>(&xs[(rq + 1u * S) * STRIDE + kk], STRIDE);
            let a2 = coopLoadT<TileA>(&xs[(rq + 2u * S) * STRIDE + kk], STRIDE);
            let a3 = coopLoadT<TileA>(&xs[(rq + 3u * S) * STRIDE + kk], STRIDE);
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
            c20 = coopMultiplyAdd(a2, b0, c20);
            c21 = coopMultiplyAdd(a2, b1, c21);
            c22 = coopMultiplyAdd(a2, b2, c22);
            c23 = coopMultiplyAdd(a2, b3, c23);
            c30 = coopMultiplyAdd(a3, b0, c30);
            c31 = coopMultiplyAdd(a3, b1, c31);
            c32 = coopMultiplyAdd(a3, b2, c32);
            c33 = coopMultiplyAdd(a3, b3, c33);
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
    store_tile(c20, rq + 2u * S, i0 + iq + 0u * S, wid, sg, lane);
    store_tile(c21, rq + 2u * S, i0 + iq + 1u * S, wid, sg, lane);
    store_tile(c22, rq + 2u * S, i0 + iq + 2u * S, wid, sg, lane);
    store_tile(c23, rq + 2u * S, i0 + iq + 3u * S, wid, sg, lane);
    store_tile(c30, rq + 3u * S, i0 + iq + 0u * S, wid, sg, lane);
    store_tile(c31, rq + 3u * S, i0 + iq + 1u * S, wid, sg, lane);
    store_tile(c32, rq + 3u * S, i0 + iq + 2u * S, wid, sg, lane);
    store_tile(c33, rq + 3u * S, i0 + iq + 3u * S, wid, sg, lane);
}
