// Causal attention for prefill chunks: one workgroup per (head, tile of 8 batch rows, split), so
// each key and value the tile's rows see is loaded once for all 8 rather than once per row; the
// keys a run of rows sees are divided among n_splits workgroups. Rows of a tile may belong to
// different sequences (the scheduler packs several prompts into one chunk): the tile is walked in
// runs of rows with the same KV-cache slot. Per block of WG keys, thread t scores key t against
// the run's rows, the rows' running max and sum are updated (flash-attention style), and each
// thread accumulates its head dims over the block's values. The 8 rows are carried as two vec4
// lanes (rows 0-3, 4-7) so every per-row quantity stays in registers. Writes the unnormalised
// partials (max, sum, output) of `attention`, so `attention_combine` finishes both.
const MAX_PAIRS: u32 = 128u;  // head_dim <= 256
const NONE: f32 = -3.0e38;

struct Params {
    n_heads: u32,
    n_kv_heads: u32,
    head_dim: u32,
    ctx: u32,
    window: u32,     // 0: unlimited
    scale: f32,
    q_stride: u32,
    n_splits: u32,
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> step: Step;
@group(0) @binding(2) var<storage, read> q: array<f32>;
@group(0) @binding(5) var<storage, read_write> partial: array<f32>;

// Per head-dim pair: x of rows 0-3, x of rows 4-7, y of rows 0-3, y of rows 4-7 (scaled q).
var<workgroup> qs: array<array<vec4<f32>, 4>, MAX_PAIRS>;
// Per key of the block: scores, then probabilities, of rows 0-3 and 4-7.
var<workgroup> sc: array<array<vec4<f32>, 2>, WG>;
// Running max of rows 0-3 and 4-7, and this block's rescaling of the earlier sums and outputs.
var<workgroup> mx: array<vec4<f32>, 2>;
var<workgroup> corr: array<vec4<f32>, 2>;

fn lane(v: array<vec4<f32>, 2>, i: u32) -> f32 {
    return select(v[1], v[0], i < 4u)[i % 4u];
}

@compute @workgroup_size(WG)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) tid: u32) {
    let h = wid.x % p.n_heads;
    let split = wid.x / p.n_heads;
    let r0 = wid.y * 8u;
    let pairs = p.head_dim / 2u;
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
                let qb = (start + i) * p.q_stride + h * p.head_dim + 2u * d;
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
        if tid == 0u {
            mx[0] = vec4<f32>(NONE);
            mx[1] = vec4<f32>(NONE);
        }
        let cache_base = (slot * p.n_kv_heads + kvh) * p.ctx * pairs;
        var l = array<vec4<f32>, 2>(vec4<f32>(0.0), vec4<f32>(0.0));  // used by thread 0
        var acc0: array<vec4<f32>, 4>;  // pair tid: x rows 0-3, 4-7, y rows 0-3, 4-7
        var acc1: array<vec4<f32>, 4>;  // pair tid + WG
        workgroupBarrier();
        for (var t0 = k_lo; t0 < k_hi; t0 += WG) {
            let t = t0 + tid;
            var s0 = vec4<f32>(0.0);
            var s1 = vec4<f32>(0.0);
            if t < k_hi {
                let kb = cache_base + t * pairs;
                for (var d = 0u; d < pairs; d++) {
                    let kk = load_k2(kb + d);
                    let qd = qs[d];
                    s0 += qd[0] * kk.x + qd[2] * kk.y;
                    s1 += qd[1] * kk.x + qd[3] * kk.y;
                }
            }
            let tv = vec4<u32>(t);
            let in_range = t < k_hi;
            let vis0 = live0 & (tv <= pos[0]) & (tv >= lo[0]) & vec4<bool>(in_range);
            let vis1 = live1 & (tv <= pos[1]) & (tv >= lo[1]) & vec4<bool>(in_range);
            sc[tid][0] = select(vec4<f32>(NONE), s0, vis0);
            sc[tid][1] = select(vec4<f32>(NONE), s1, vis1);
            workgroupBarrier();
            if tid == 0u {
                var m0 = mx[0];
                var m1 = mx[1];
                let o0 = m0;
                let o1 = m1;
                for (var j = 0u; j < WG; j++) {
                    m0 = max(m0, sc[j][0]);
                    m1 = max(m1, sc[j][1]);
                }
                corr[0] = select(exp(o0 - m0), vec4<f32>(1.0), o0 == m0);
                corr[1] = select(exp(o1 - m1), vec4<f32>(1.0), o1 == m1);
                mx[0] = m0;
                mx[1] = m1;
            }
            workgroupBarrier();
            let m0 = mx[0];
            let m1 = mx[1];
            let p0 = select(vec4<f32>(0.0), exp(sc[tid][0] - m0), vis0);
            let p1 = select(vec4<f32>(0.0), exp(sc[tid][1] - m1), vis1);
            workgroupBarrier();
            sc[tid][0] = p0;
            sc[tid][1] = p1;
            workgroupBarrier();
            let c0 = corr[0];
            let c1 = corr[1];
            if tid == 0u {
                var sum0 = vec4<f32>(0.0);
                var sum1 = vec4<f32>(0.0);
                for (var j = 0u; j < WG; j++) {
                    sum0 += sc[j][0];
                    sum1 += sc[j][1];
                }
                l[0] = l[0] * c0 + sum0;
                l[1] = l[1] * c1 + sum1;
            }
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
            if tid < pairs {
                for (var j = 0u; j < nk; j++) {
                    let pr = sc[j];
                    let vb = cache_base + (t0 + j) * pairs + tid;
                    let v0 = load_v2(vb);
                    acc0[0] += pr[0] * v0.x;
                    acc0[1] += pr[1] * v0.x;
                    acc0[2] += pr[0] * v0.y;
                    acc0[3] += pr[1] * v0.y;
                    if has1 {
                        let v1 = load_v2(vb + WG);
                        acc1[0] += pr[0] * v1.x;
                        acc1[1] += pr[1] * v1.x;
                        acc1[2] += pr[0] * v1.y;
                        acc1[3] += pr[1] * v1.y;
                    }
                }
            }
            workgroupBarrier();
        }
        let stride = p.head_dim + 2u;
        let ms = array<vec4<f32>, 2>(mx[0], mx[1]);
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
