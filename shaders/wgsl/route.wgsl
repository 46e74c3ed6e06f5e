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

var<workgroup> row: array<f32, MAX_EXPERTS>;

@compute @workgroup_size(WG)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
        @builtin(local_invocation_index) tid: u32) {
    let r = flat_group(wid, nwg);
    if r >= p.rows {
        return;
    }
    var m = NONE;
    for (var e = tid; e < p.n_expert; e += WG) {
        let v = logits[r * p.n_expert + e];
        row[e] = v;
        m = max(m, v);
    }
    let top = block_max(m, tid);
    var s = 0.0;
    for (var e = tid; e < p.n_expert; e += WG) {
        s += exp(row[e] - top);
    }
    let total = block_sum(s, tid);
    // Bit i: expert tid + i * WG was chosen.
    var taken = 0u;
    var sum = 0.0;
    let base = r * 2u * p.k;
    for (var j = 0u; j < p.k; j++) {
        var best = NONE;
        var best_id = MAX_EXPERTS;
        for (var e = tid; e < p.n_expert; e += WG) {
            if (taken & (1u << (e / WG))) == 0u && row[e] > best {
                best = row[e];
                best_id = e;
            }
        }
        let v = block_max(best, tid);
        let id = u32(-block_max(select(-f32(MAX_EXPERTS), -f32(best_id), best == v), tid));
        if id % WG == tid {
            taken |= 1u << (id / WG);
        }
        let w = exp(v - top) / total;
        sum += w;
        if tid == 0u {
            out[base + j] = bitcast<f32>(id);
            out[base + p.k + j] = w;
        }
    }
    if p.norm != 0u && tid == 0u {
        // As llama.cpp: the sum is clamped to f16's smallest normal.
        let d = max(sum, 6.103515625e-5);
        for (var j = 0u; j < p.k; j++) {
            out[base + p.k + j] /= d;
        }
    }
}
