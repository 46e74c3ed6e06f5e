// The most likely token of each logits row (greedy decoding on the GPU, so a step reads back a
// token instead of the vocabulary's logits): `partial` finds the largest value and its first
// index in each chunk of ARGMAX_CHUNK columns, `merge` the largest of a row's chunks. Ties go to
// the lower index, as the CPU's argmax; NaN never wins. A row of only NaN gives token 0.
struct Params {
    n: u32,        // columns (the vocabulary)
    stride: u32,   // floats between rows
    chunks: u32,   // partial workgroups per row: ceil(n / ARGMAX_CHUNK)
    pad: u32,
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> logits: array<f32>;
// Per (row, chunk): the largest value's bits and its index.
@group(0) @binding(2) var<storage, read_write> partials: array<vec2<u32>>;
@group(0) @binding(3) var<storage, read_write> tokens: array<u32>;

// No index yet: loses to any value, NaN aside.
const NONE: u32 = 0xffffffffu;

var<workgroup> best_v: array<f32, WG>;
var<workgroup> best_i: array<u32, WG>;

// Whether (v, i) beats (w, j).
fn better(v: f32, i: u32, w: f32, j: u32) -> bool {
    return i != NONE && (j == NONE || v > w || (v == w && i < j));
}

// The workgroup's best of each thread's (v, i); every thread gets it.
fn reduce(v: f32, i: u32, tid: u32) -> vec2<u32> {
    best_v[tid] = v;
    best_i[tid] = i;
    workgroupBarrier();
    for (var s = WG / 2u; s > 0u; s /= 2u) {
        if tid < s && better(best_v[tid + s], best_i[tid + s], best_v[tid], best_i[tid]) {
            best_v[tid] = best_v[tid + s];
            best_i[tid] = best_i[tid + s];
        }
        workgroupBarrier();
    }
    return vec2<u32>(bitcast<u32>(best_v[0]), best_i[0]);
}

@compute @workgroup_size(WG)
fn partial(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) tid: u32) {
    let c = wid.x;
    let row = wid.y;
    let end = min(p.n, (c + 1u) * ARGMAX_CHUNK);
    var v = 0.0;
    var i = NONE;
    // Columns in increasing order per thread: strictly larger values win, so ties keep the first.
    for (var k = c * ARGMAX_CHUNK + tid; k < end; k += WG) {
        let x = logits[row * p.stride + k];
        if x > v || (i == NONE && x == x) {
            v = x;
            i = k;
        }
    }
    let b = reduce(v, i, tid);
    if tid == 0u {
        partials[row * p.chunks + c] = b;
    }
}

@compute @workgroup_size(WG)
fn merge(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) tid: u32) {
    let row = wid.y;
    var v = 0.0;
    var i = NONE;
    for (var c = tid; c < p.chunks; c += WG) {
        let b = partials[row * p.chunks + c];
        if better(bitcast<f32>(b.x), b.y, v, i) {
            v = bitcast<f32>(b.x);
            i = b.y;
        }
    }
    let b = reduce(v, i, tid);
    if tid == 0u {
        tokens[row] = select(b.y, 0u, b.y == NONE);
    }
}
