// Causal attention for prefill chunks: one workgroup per (head, tile of 8 batch rows, split), so
// each key and value the tile's rows see is loaded once for all 8 rather than once per row; the
// keys a run of rows sees are divided among n_splits workgroups. Rows of a tile may belong to
// different sequences (the scheduler packs several prompts into one chunk): the tile is walked in
// runs of rows with the same KV-cache slot. Per block of WG keys, thread t scores key t against
// the run's rows (16-byte loads of its K row), the rows' running max and sum are updated by
// workgroup reductions (flash-attention style), and each thread accumulates its head dims over the
// block's values, eight keys' loads in flight. The 8 rows are carried as two vec4 lanes (rows 0-3,
// 4-7) so every per-row quantity stays in registers. Writes the unnormalised partials (max, sum,
// output) of `attention`, so `attention_combine` finishes both. head_dim is a multiple of 16.
const MAX_PAIRS: u32 = 128u;  // head_dim <= 256
const NONE: f32 = -3.0e38;

// The caches as f16 pairs: K read as 16-byte words (8 halves), V as 4-byte words (2 halves).
@group(0) @binding(3) var<storage, read> k_cache: array<vec4<u32>>;
@group(0) @binding(4) var<storage, read> v_cache: array<u32>;

// Per head-dim pair: x of rows 0-3, x of rows 4-7, y of rows 0-3, y of rows 4-7 (scaled q).
var<workgroup> qs: array<array<vec4<f32>, 4>, MAX_PAIRS>;
// Per key of the block: probabilities of rows 0-3 and 4-7.
var<workgroup> sc: array<array<vec4<f32>, 2>, WG>;

// Scores of rows 0-3 (.0) and 4-7 (.1) against 4 pairs of K (one 16-byte word) at pair d.
fn score8(k: vec4<u32>, d: u32) -> array<vec4<f32>, 2> {
    var s0 = vec4<f32>(0.0);
    var s1 = vec4<f32>(0.0);
    let a = unpack2x16float(k.x);
    let b = unpack2x16float(k.y);
    let c = unpack2x16float(k.z);
    let e = unpack2x16float(k.w);
    let q0 = qs[d];
    let q1 = qs[d + 1u];
    let q2 = qs[d + 2u];
    let q3 = qs[d + 3u];
    s0 += q0[0] * a.x + q0[2] * a.y + q1[0] * b.x + q1[2] * b.y;
    s1 += q0[1] * a.x + q0[3] * a.y + q1[1] * b.x + q1[3] * b.y;
    s0 += q2[0] * c.x + q2[2] * c.y + q3[0] * e.x + q3[2] * e.y;
    s1 += q2[1] * c.x + q2[3] * c.y + q3[1] * e.x + q3[3] * e.y;
    return array<vec4<f32>, 2>(s0, s1);
}

fn lane(v: array<vec4<f32>, 2>, i: u32) -> f32 {
    return select(v[1], v[0], i < 4u)[i % 4u];
}

@compute @workgroup_size(WG)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) tid: u32) {
    let h = wid.x % p.n_heads;
    let split = wid.x / p.n_heads;
    let r0 = wid.y * 8u;
    let pairs = head_dim() / 2u;
    let kvh = h / (p.n_heads / p.n_kv_heads);
    let n_rows = min(step.n_rows, r0 + 8u);
    var start = r0;
    while start < n_rows {
        // The run of rows sharing start's slot, their positions (rows past it at 0, masked).
        let slot = step.rows[start].slot;
        var end = start + 1u;
        while end < n_rows && step.rows[end].slot == slot {
            end += 1u;
        }
        let n = end - start;
        var pos: array<vec4<u32>, 2>;
        var lo: array<vec4<u32>, 2>;
        var k_lo = 0xffffffffu;
        var k_hi = 0u;
        for (var i = 0u; i < 8u; i++) {
            if i < n {
                let ps = step.rows[start + i].pos;
                var l0 = 0u;
                if p.window > 0u && ps + 1u > p.window {
                    l0 = ps + 1u - p.window;
                }
                k_lo = min(k_lo, l0);
                k_hi = max(k_hi, ps + 1u);
                if i < 4u {
                    pos[0][i] = ps;
                    lo[0][i] = l0;
                } else {
                    pos[1][i - 4u] = ps;
                    lo[1][i - 4u] = l0;
                }
            }
        }
        let live0 = vec4<u32>(0u, 1u, 2u, 3u) < vec4<u32>(n);
        let live1 = vec4<u32>(4u, 5u, 6u, 7u) < vec4<u32>(n);
        // This split's share of the run's keys, whole blocks except the last.
        let per = ((k_hi - k_lo + p.n_splits - 1u) / p.n_splits + WG - 1u) / WG * WG;
        k_lo = min(k_lo + split * per, k_hi);
        k_hi = min(k_lo + per, k_hi);
        for (var d = tid; d < pairs; d += WG) {
            var v: array<vec4<f32>, 4>;
            for (var i = 0u; i < n; i++) {
                let qb = (start + i) * p.q_stride + h * head_dim() + 2u * d;
                let x = q[qb] * p.scale;
                let y = q[qb + 1u] * p.scale;
                if i < 4u {
                    v[0][i] = x;
                    v[2][i] = y;
                } else {
                    v[1][i - 4u] = x;
                    v[3][i - 4u] = y;
                }
            }
            qs[d] = v;
        }
        let row0 = (slot * p.n_kv_heads + kvh) * p.ctx;
        let words = head_dim() / 8u;
        var m0 = vec4<f32>(NONE);
        var m1 = vec4<f32>(NONE);
        var l0 = vec4<f32>(0.0);
        var l1 = vec4<f32>(0.0);
        var acc0: array<vec4<f32>, 4>;  // pair tid: x rows 0-3, 4-7, y rows 0-3, 4-7
        var acc1: array<vec4<f32>, 4>;  // pair tid + WG
        workgroupBarrier();
        for (var t0 = k_lo; t0 < k_hi; t0 += WG) {
            let t = t0 + tid;
            var s0 = vec4<f32>(0.0);
            var s1 = vec4<f32>(0.0);
            if t < k_hi {
                let kb = (row0 + t) * words;
                for (var w = 0u; w < words; w += 2u) {
                    let ka = score8(k_cache[kb + w], 4u * w);
                    let kc = score8(k_cache[kb + w + 1u], 4u * w + 4u);
                    s0 += ka[0] + kc[0];
                    s1 += ka[1] + kc[1];
                }
            }
            let tv = vec4<u32>(t);
            let in_range = t < k_hi;
            let vis0 = live0 & (tv <= pos[0]) & (tv >= lo[0]) & vec4<bool>(in_range);
            let vis1 = live1 & (tv <= pos[1]) & (tv >= lo[1]) & vec4<bool>(in_range);
            let n0 = max(m0, block_max4(select(vec4<f32>(NONE), s0, vis0), tid));
            let n1 = max(m1, block_max4(select(vec4<f32>(NONE), s1, vis1), tid));
            let c0 = select(exp(m0 - n0), vec4<f32>(1.0), m0 == n0);
            let c1 = select(exp(m1 - n1), vec4<f32>(1.0), m1 == n1);
            m0 = n0;
            m1 = n1;
            let p0 = select(vec4<f32>(0.0), exp(s0 - m0), vis0);
            let p1 = select(vec4<f32>(0.0), exp(s1 - m1), vis1);
            l0 = l0 * c0 + block_sum4(p0, tid);
            l1 = l1 * c1 + block_sum4(p1, tid);
            sc[tid][0] = p0;
            sc[tid][1] = p1;
            workgroupBarrier();
            let nk = min(WG, k_hi - t0);
            let has1 = tid + WG < pairs;
            acc0[0] *= c0;
            acc0[1] *= c1;
            acc0[2] *= c0;
            acc0[3] *= c1;
            acc1[0] *= c0;
            acc1[1] *= c1;
            acc1[2] *= c0;
            acc1[3] *= c1;
            let last = k_hi - 1u;
            if tid < pairs {
                for (var j = 0u; j < nk; j += 8u) {
                    // Keys past the block's end have probability 0; read a visible key instead.
                    let b = t0 + j;
                    let v0 = (row0 + min(b + 0u, last)) * pairs + tid;
                    let v1 = (row0 + min(b + 1u, last)) * pairs + tid;
                    let v2 = (row0 + min(b + 2u, last)) * pairs + tid;
                    let v3 = (row0 + min(b + 3u, last)) * pairs + tid;
                    let v4 = (row0 + min(b + 4u, last)) * pairs + tid;
                    let v5 = (row0 + min(b + 5u, last)) * pairs + tid;
                    let v6 = (row0 + min(b + 6u, last)) * pairs + tid;
                    let v7 = (row0 + min(b + 7u, last)) * pairs + tid;
                    let x0 = unpack2x16float(v_cache[v0]);
                    let x1 = unpack2x16float(v_cache[v1]);
                    let x2 = unpack2x16float(v_cache[v2]);
                    let x3 = unpack2x16float(v_cache[v3]);
                    let x4 = unpack2x16float(v_cache[v4]);
                    let x5 = unpack2x16float(v_cache[v5]);
                    let x6 = unpack2x16float(v_cache[v6]);
                    let x7 = unpack2x16float(v_cache[v7]);
                    var y0 = vec2<f32>(0.0);
                    var y1 = vec2<f32>(0.0);
                    var y2 = vec2<f32>(0.0);
                    var y3 = vec2<f32>(0.0);
                    var y4 = vec2<f32>(0.0);
                    var y5 = vec2<f32>(0.0);
                    var y6 = vec2<f32>(0.0);
                    var y7 = vec2<f32>(0.0);
                    if has1 {
                        y0 = unpack2x16float(v_cache[v0 + WG]);
                        y1 = unpack2x16float(v_cache[v1 + WG]);
                        y2 = unpack2x16float(v_cache[v2 + WG]);
                        y3 = unpack2x16float(v_cache[v3 + WG]);
                        y4 = unpack2x16float(v_cache[v4 + WG]);
                        y5 = unpack2x16float(v_cache[v5 + WG]);
                        y6 = unpack2x16float(v_cache[v6 + WG]);
                        y7 = unpack2x16float(v_cache[v7 + WG]);
                    }
                    let pk0 = sc[j + 0u];
                    let pk1 = sc[j + 1u];
                    let pk2 = sc[j + 2u];
                    let pk3 = sc[j + 3u];
                    let pk4 = sc[j + 4u];
                    let pk5 = sc[j + 5u];
                    let pk6 = sc[j + 6u];
                    let pk7 = sc[j + 7u];
                    acc0[0] += pk0[0] * x0.x + pk1[0] * x1.x + pk2[0] * x2.x + pk3[0] * x3.x
                        + pk4[0] * x4.x + pk5[0] * x5.x + pk6[0] * x6.x + pk7[0] * x7.x;
                    acc0[1] += pk0[1] * x0.x + pk1[1] * x1.x + pk2[1] * x2.x + pk3[1] * x3.x
                        + pk4[1] * x4.x + pk5[1] * x5.x + pk6[1] * x6.x + pk7[1] * x7.x;
                    acc0[2] += pk0[0] * x0.y + pk1[0] * x1.y + pk2[0] * x2.y + pk3[0] * x3.y
                        + pk4[0] * x4.y + pk5[0] * x5.y + pk6[0] * x6.y + pk7[0] * x7.y;
                    acc0[3] += pk0[1] * x0.y + pk1[1] * x1.y + pk2[1] * x2.y + pk3[1] * x3.y
                        + pk4[1] * x4.y + pk5[1] * x5.y + pk6[1] * x6.y + pk7[1] * x7.y;
                    acc1[0] += pk0[0] * y0.x + pk1[0] * y1.x + pk2[0] * y2.x + pk3[0] * y3.x
                        + pk4[0] * y4.x + pk5[0] * y5.x + pk6[0] * y6.x + pk7[0] * y7.x;
                    acc1[1] += pk0[1] * y0.x + pk1[1] * y1.x + pk2[1] * y2.x + pk3[1] * y3.x
                        + pk4[1] * y4.x + pk5[1] * y5.x + pk6[1] * y6.x + pk7[1] * y7.x;
                    acc1[2] += pk0[0] * y0.y + pk1[0] * y1.y + pk2[0] * y2.y + pk3[0] * y3.y
                        + pk4[0] * y4.y + pk5[0] * y5.y + pk6[0] * y6.y + pk7[0] * y7.y;
                    acc1[3] += pk0[1] * y0.y + pk1[1] * y1.y + pk2[1] * y2.y + pk3[1] * y3.y
                        + pk4[1] * y4.y + pk5[1] * y5.y + pk6[1] * y6.y + pk7[1] * y7.y;
                }
            }
            workgroupBarrier();
        }
        let stride = head_dim() + 2u;
        let ms = array<vec4<f32>, 2>(m0, m1);
        let l = array<vec4<f32>, 2>(l0, l1);
        for (var i = 0u; i < n; i++) {
            let pb = (((start + i) * p.n_heads + h) * p.n_splits + split) * stride;
            if tid == 0u {
                partial[pb] = lane(ms, i);
                partial[pb + 1u] = lane(l, i);
            }
            if tid < pairs {
                partial[pb + 2u + 2u * tid] = lane(array<vec4<f32>, 2>(acc0[0], acc0[1]), i);
                partial[pb + 3u + 2u * tid] = lane(array<vec4<f32>, 2>(acc0[2], acc0[3]), i);
            }
            if tid + WG < pairs {
                let d = tid + WG;
                partial[pb + 2u + 2u * d] = lane(array<vec4<f32>, 2>(acc1[0], acc1[1]), i);
                partial[pb + 3u + 2u * d] = lane(array<vec4<f32>, 2>(acc1[2], acc1[3]), i);
            }
        }
        workgroupBarrier();
        start = end;
    }
}
