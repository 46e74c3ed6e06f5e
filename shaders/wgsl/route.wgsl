// Mixture-of-experts routing, one workgroup per batch row: softmax over the row's router logits,
// then the k most probable experts (the lowest id among equal logits) with their probabilities as
// weights, renormalised to sum 1 when `norm` is set. Writes the k ids (u32 bits), then the k
// weights.
// Sentinel below every finite logit.
const NONE: f32 = -3.0e38;

struct Params {
    n_expert: u32,
    k: u32,
    norm: u32,
    rows: u32,
    pad0: u32,
    pad1: u32,
    pad2: u32,
    pad3: u32,
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> logits: array<f32>;
@group(0) @binding(2) var<storage, read_write> out: array<f32>;

// The row's logits, four to a vector (past the last expert NONE), so the ranking loop below
// reads four per load.
var<workgroup> row: array<vec4<f32>, MAX_EXPERTS / 4u>;
// The chosen experts' ids and weights, by rank.
var<workgroup> pick_id: array<u32, MAX_EXPERTS>;
var<workgroup> pick_w: array<f32, MAX_EXPERTS>;

@compute @workgroup_size(WG)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
        @builtin(local_invocation_index) tid: u32) {
    let r = flat_group(wid, nwg);
    if r >= p.rows {
        return;
    }
    let n4 = (p.n_expert + 3u) / 4u;
    var m = NONE;
    for (var i = tid; i < n4; i += WG) {
        var v = vec4<f32>(NONE);
        for (var c = 0u; c < 4u; c++) {
            let e = 4u * i + c;
            if e < p.n_expert {
                v[c] = logits[r * p.n_expert + e];
            }
        }
        row[i] = v;
        m = max(m, max(max(v.x, v.y), max(v.z, v.w)));
    }
    let top = block_max(m, tid);
    var s = 0.0;
    for (var e = tid; e < p.n_expert; e += WG) {
        s += exp(row[e / 4u][e % 4u] - top);
    }
    let total = block_sum(s, tid);
    // Each expert's rank: the experts with a larger logit, or an equal one and a lower id. The
    // k ranked first are chosen, in rank order (no barrier per choice).
    var chosen = 0.0;
    for (var e = tid; e < p.n_expert; e += WG) {
        let v = row[e / 4u][e % 4u];
        var ranks = vec4<u32>(0u);
        for (var o = 0u; o < n4; o++) {
            let u = row[o];
            let ids = vec4<u32>(4u * o) + vec4<u32>(0u, 1u, 2u, 3u);
            ranks += select(vec4<u32>(0u), vec4<u32>(1u), u > vec4<f32>(v) | (u == vec4<f32>(v) & ids < vec4<u32>(e)));
        }
        let rank = (ranks.x + ranks.y) + (ranks.z + ranks.w);
        if rank < p.k {
            let w = exp(v - top) / total;
            chosen += w;
            pick_id[rank] = e;
            pick_w[rank] = w;
        }
    }
    var d = 1.0;
    if p.norm != 0u {
        // As llama.cpp: the sum is clamped to f16's smallest normal.
        d = max(block_sum(chosen, tid), 6.103515625e-5);
    } else {
        workgroupBarrier();
    }
    let base = r * 2u * p.k;
    for (var j = tid; j < p.k; j += WG) {
        out[base + j] = bitcast<f32>(pick_id[j]);
        out[base + p.k + j] = pick_w[j] / d;
    }
}
