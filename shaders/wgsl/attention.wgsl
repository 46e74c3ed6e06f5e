// Causal attention with GQA over the f16 KV cache, as a tiled online softmax: one workgroup per
// (head, row, split); each tile of WG cache positions gets one score per thread, then the running
// max, sum and output are rescaled (flash-attention style), so memory stays O(head_dim).
// A row's visible positions are divided among n_splits workgroups (split-K, so a decode step
// with few rows still fills the GPU); each writes its unnormalised partial (max, sum, output)
// and `attention_combine` merges them. Sliding-window layers see only positions p with
// pos - p < window.
const MAX_PAIRS: u32 = 2u;   // head_dim <= 2 * 2 * WG

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
// Per (row, head, split): max, sum, then head_dim unnormalised outputs.
@group(0) @binding(5) var<storage, read_write> partial: array<f32>;

var<workgroup> qs: array<vec2<f32>, 128>;
var<workgroup> probs: array<f32, WG>;

@compute @workgroup_size(WG)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) tid: u32) {
    let h = wid.x % p.n_heads;
    let split = wid.x / p.n_heads;
    let r = wid.y;
    if r >= step.n_rows {
        return;
    }
    let info = step.rows[r];
    let pairs = p.head_dim / 2u;
    let kvh = h / (p.n_heads / p.n_kv_heads);
    let cache_base = (info.slot * p.n_kv_heads + kvh) * p.ctx * pairs;
    let qb = r * p.q_stride + h * p.head_dim;
    for (var d = tid; d < pairs; d += WG) {
        qs[d] = vec2<f32>(q[qb + 2u * d], q[qb + 2u * d + 1u]) * p.scale;
    }
    workgroupBarrier();

    var lo = 0u;
    if p.window > 0u && info.pos + 1u > p.window {
        lo = info.pos + 1u - p.window;
    }
    // This split's share of [lo, pos], whole tiles except the last.
    let per = ((info.pos + 1u - lo + p.n_splits - 1u) / p.n_splits + WG - 1u) / WG * WG;
    lo = min(lo + split * per, info.pos + 1u);
    let hi = min(lo + per, info.pos + 1u);
    var m = -3.0e38;
    var l = 0.0;
    var acc: array<vec2<f32>, MAX_PAIRS>;
    for (var t0 = lo; t0 < hi; t0 += WG) {
        let t = t0 + tid;
        var s = -3.0e38;
        if t < hi {
            var dot = 0.0;
            let kb = cache_base + t * pairs;
            for (var d = 0u; d < pairs; d++) {
                let kk = load_k2(kb + d);
                dot += qs[d].x * kk.x + qs[d].y * kk.y;
            }
            s = dot;
        }
        let m_new = max(m, block_max(s, tid));
        let pr = select(0.0, exp(s - m_new), t < hi);
        let corr = exp(m - m_new);
        l = l * corr + block_sum(pr, tid);
        probs[tid] = pr;
        workgroupBarrier();
        let n = min(WG, hi - t0);
        for (var i = 0u; i < MAX_PAIRS; i++) {
            let d = tid + i * WG;
            if d < pairs {
                var a = acc[i] * corr;
                for (var j = 0u; j < n; j++) {
                    a += probs[j] * load_v2(cache_base + (t0 + j) * pairs + d);
                }
                acc[i] = a;
            }
        }
        m = m_new;
        workgroupBarrier();
    }
    let pb = ((r * p.n_heads + h) * p.n_splits + split) * (p.head_dim + 2u);
    if tid == 0u {
        partial[pb] = m;
        partial[pb + 1u] = l;
    }
    for (var i = 0u; i < MAX_PAIRS; i++) {
        let d = tid + i * WG;
        if d < pairs {
            partial[pb + 2u + 2u * d] = acc[i].x;
            partial[pb + 3u + 2u * d] = acc[i].y;
        }
    }
}
