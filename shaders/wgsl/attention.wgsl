// Decode attention over the f16 KV cache, split-K: one workgroup per (KV head, chunk of up to four
// of its query heads, split, row). The chunk's heads are the four lanes of a vec4, so each K and V
// load serves them all (GQA). A row's visible positions are divided among n_splits workgroups,
// each walking its share in tiles of WG positions with an online softmax (flash-attention style),
// and writes unnormalised partials (max, sum, output) per head; `attention_combine` merges them
// (or, in shallow steps, one split writes the output itself: DIRECT below).
// Sliding-window layers see only positions p with pos - p < window.
// Tiles of WG / LANES positions. Scores: LANES threads per position, each taking every LANES-th
// 16-byte word of its K row (all of a thread's words in flight together up to head_dim 128)
// against the chunk's queries in workgroup memory, then summed across the LANES threads. Output:
// WG / (head_dim / 2) groups of threads, a thread per pair of dimensions in each, take every
// group-th run of 8 positions (their V loads issued before their arithmetic); the groups' sums
// meet in workgroup memory at the end. head_dim is a multiple of 16 and at most 256.

// Shallow decode steps (n_splits 1 with DIRECT in its high bits): the one split normalises its
// outputs and writes them to y (rows of n_heads * head_dim) and, with Q8, their 8-bit copy, so
// no attention_combine follows. Bits as `ATTENTION_DIRECT` and `ATTENTION_DIRECT_Q8` in Rust.
const DIRECT: u32 = 0x10000u;
const Q8: u32 = 0x20000u;

// The caches as f16 pairs: K read as 16-byte words (8 halves), V as 4-byte words (2 halves).
@group(0) @binding(3) var<storage, read> k_cache: array<vec4<u32>>;
@group(0) @binding(4) var<storage, read> v_cache: array<u32>;
@group(0) @binding(6) var<storage, read_write> y: array<f32>;
@group(0) @binding(7) var<storage, read_write> q8_out: array<u32>;

// Dims o..o + 3 of the chunk's head j, staged in qs (the outputs, unpadded).
fn out4(o: u32, j: u32) -> vec4<f32> {
    return vec4<f32>(qs[o][j], qs[o + 1u][j], qs[o + 2u][j], qs[o + 3u][j]);
}

// Positions per tile.
const TILE: u32 = WG / LANES;

// The chunk's queries, scaled, by dimension (lane j is query head j of the chunk): the 8 dims of
// K word w at 9 w.., so the LANES threads of a position, reading words w, w + 1, ... together,
// meet different banks.
var<workgroup> qs: array<vec4<f32>, 288>;
var<workgroup> probs: array<vec4<f32>, WG>;

// Dot of K word w (8 halves) with the chunk's queries at its dimensions.
fn dot8(k: vec4<u32>, w: u32) -> vec4<f32> {
    let d = 9u * w;
    let a = unpack2x16float(k.x);
    let b = unpack2x16float(k.y);
    let c = unpack2x16float(k.z);
    let e = unpack2x16float(k.w);
    return qs[d] * a.x + qs[d + 1u] * a.y + qs[d + 2u] * b.x + qs[d + 3u] * b.y
        + qs[d + 4u] * c.x + qs[d + 5u] * c.y + qs[d + 6u] * e.x + qs[d + 7u] * e.y;
}

// Pair j of V (x and y halves, each a vec4 over the chunk's heads) summed over 8 cache rows
// from position b, weighted by probs[i..i + 8]; rows past `last` (probability 0) read row last.
// All 8 loads are issued before their arithmetic.
fn weighted_v8(row0: u32, b: u32, last: u32, j: u32, i: u32) -> array<vec4<f32>, 2> {
    let pairs = head_dim() / 2u;
    let v0 = unpack2x16float(v_cache[(row0 + min(b, last)) * pairs + j]);
    let v1 = unpack2x16float(v_cache[(row0 + min(b + 1u, last)) * pairs + j]);
    let v2 = unpack2x16float(v_cache[(row0 + min(b + 2u, last)) * pairs + j]);
    let v3 = unpack2x16float(v_cache[(row0 + min(b + 3u, last)) * pairs + j]);
    let v4 = unpack2x16float(v_cache[(row0 + min(b + 4u, last)) * pairs + j]);
    let v5 = unpack2x16float(v_cache[(row0 + min(b + 5u, last)) * pairs + j]);
    let v6 = unpack2x16float(v_cache[(row0 + min(b + 6u, last)) * pairs + j]);
    let v7 = unpack2x16float(v_cache[(row0 + min(b + 7u, last)) * pairs + j]);
    let p0 = probs[i];
    let p1 = probs[i + 1u];
    let p2 = probs[i + 2u];
    let p3 = probs[i + 3u];
    let p4 = probs[i + 4u];
    let p5 = probs[i + 5u];
    let p6 = probs[i + 6u];
    let p7 = probs[i + 7u];
    return array<vec4<f32>, 2>(
        p0 * v0.x + p1 * v1.x + p2 * v2.x + p3 * v3.x + p4 * v4.x + p5 * v5.x + p6 * v6.x + p7 * v7.x,
        p0 * v0.y + p1 * v1.y + p2 * v2.y + p3 * v3.y + p4 * v4.y + p5 * v5.y + p6 * v6.y + p7 * v7.y,
    );
}

@compute @workgroup_size(WG)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) tid: u32) {
    let r = wid.y;
    if r >= step.n_rows {
        return;
    }
    let group = p.n_heads / p.n_kv_heads;
    let chunks = (group + 3u) / 4u;
    let c = wid.x % chunks;
    let kvh = (wid.x / chunks) % p.n_kv_heads;
    let split = wid.x / (chunks * p.n_kv_heads);
    let first = kvh * group + c * 4u;
    let heads = min(4u, group - c * 4u);
    let info = step.rows[r];
    let d = head_dim();
    let pairs = d / 2u;
    let row0 = (info.slot * p.n_kv_heads + kvh) * p.ctx;
    let stride = d + 2u;

    var lo = 0u;
    if p.window > 0u && info.pos + 1u > p.window {
        lo = info.pos + 1u - p.window;
    }
    // This split's share of [lo, pos], a multiple of 16 positions: at shallow depths more
    // splits get a short share each rather than a few a whole tile.
    let n_splits = p.n_splits & 0xffffu;
    let per = ((info.pos + 1u - lo + n_splits - 1u) / n_splits + 15u) / 16u * 16u;
    lo = min(lo + split * per, info.pos + 1u);
    let hi = min(lo + per, info.pos + 1u);
    // The splits with positions come first: after them `attention_combine` reads only the max
    // and sum (shallow decode steps leave most splits empty).
    if lo == hi {
        if tid < heads {
            let pb = ((r * p.n_heads + first + tid) * n_splits + split) * stride;
            partial[pb] = -3.0e38;
            partial[pb + 1u] = 0.0;
        }
        return;
    }

    for (var i = tid; i < d; i += WG) {
        var v = vec4<f32>(0.0);
        let qb = r * p.q_stride + first * d + i;
        v.x = q[qb];
        if heads > 1u { v.y = q[qb + d]; }
        if heads > 2u { v.z = q[qb + 2u * d]; }
        if heads > 3u { v.w = q[qb + 3u * d]; }
        qs[i + i / 8u] = v * p.scale;
    }
    workgroupBarrier();

    var m = vec4<f32>(-3.0e38);
    var l = vec4<f32>(0.0);
    // This thread's output pair j in position group g, x and y halves, each a vec4 over the
    // chunk's heads (threads past the groups idle).
    let groups = WG / pairs;
    let j = tid % pairs;
    let g = tid / pairs;
    var ax = vec4<f32>(0.0);
    var ay = vec4<f32>(0.0);
    // This thread's position in a tile, and its first word of the position's K row.
    let kp = tid / LANES;
    let kl = tid % LANES;
    let words = d / 8u;
    for (var t0 = lo; t0 < hi; t0 += TILE) {
        let t = t0 + kp;
        // Past the split's end the thread reads the last visible row and discards the score.
        let kb = (row0 + min(t, hi - 1u)) * words;
        var s = vec4<f32>(0.0);
        for (var w = kl; w < words; w += 4u * LANES) {
            // Words past the row read its last word and count nothing.
            let w1 = w + LANES;
            let w2 = w + 2u * LANES;
            let w3 = w + 3u * LANES;
            let k0 = k_cache[kb + w];
            let k1 = k_cache[kb + min(w1, words - 1u)];
            let k2 = k_cache[kb + min(w2, words - 1u)];
            let k3 = k_cache[kb + min(w3, words - 1u)];
            s += dot8(k0, w);
            if w1 < words {
                s += dot8(k1, w1);
            }
            if w2 < words {
                s += dot8(k2, w2);
            }
            if w3 < words {
                s += dot8(k3, w3);
            }
        }
        s = select(vec4<f32>(-3.0e38), lanes_sum(s, tid), t < hi);
        let m_new = max(m, block_max4(s, tid));
        let pr = select(vec4<f32>(0.0), exp(s - m_new), t < hi);
        let corr = exp(m - m_new);
        // One thread of each position counts its probability.
        l = l * corr + block_sum4(select(vec4<f32>(0.0), pr, kl == 0u), tid);
        m = m_new;
        if kl == 0u {
            probs[kp] = pr;
        }
        workgroupBarrier();
        ax *= corr;
        ay *= corr;
        let n = min(TILE, hi - t0);
        let last = hi - 1u;
        if g < groups {
            for (var i = 8u * g; i < n; i += 8u * groups) {
                let a = weighted_v8(row0, t0 + i, last, j, i);
                ax += a[0];
                ay += a[1];
            }
        }
        workgroupBarrier();
    }
    // The groups' sums into group 0's threads, x halves then y halves through probs.
    probs[tid] = ax;
    workgroupBarrier();
    for (var k = 1u; k < groups; k++) {
        ax += select(vec4<f32>(0.0), probs[k * pairs + j], g == 0u);
    }
    workgroupBarrier();
    probs[tid] = ay;
    workgroupBarrier();
    for (var k = 1u; k < groups; k++) {
        ay += select(vec4<f32>(0.0), probs[k * pairs + j], g == 0u);
    }

    if (p.n_splits & DIRECT) != 0u {
        let inv = 1.0 / l;
        if tid < pairs {
            qs[2u * tid] = ax * inv;
            qs[2u * tid + 1u] = ay * inv;
        }
        workgroupBarrier();
        let width = p.n_heads * d;
        for (var e = tid; e < heads * d; e += WG) {
            y[r * width + (first + e / d) * d + e % d] = qs[e % d][e / d];
        }
        if (p.n_splits & Q8) != 0u {
            let blocks = d / 32u;
            for (var t = tid; t < heads * blocks; t += WG) {
                let j = t / blocks;
                let o = 32u * (t % blocks);
                q8_write(r, ((first + j) * d + o) / 32u, width, out4(o, j), out4(o + 4u, j),
                         out4(o + 8u, j), out4(o + 12u, j), out4(o + 16u, j), out4(o + 20u, j),
                         out4(o + 24u, j), out4(o + 28u, j));
            }
        }
        return;
    }
    for (var h = 0u; h < heads; h++) {
        let pb = ((r * p.n_heads + first + h) * n_splits + split) * stride;
        if tid == 0u {
            partial[pb] = lane(m, h);
            partial[pb + 1u] = lane(l, h);
        }
        if tid < pairs {
            partial[pb + 2u + 2u * tid] = lane(ax, h);
            partial[pb + 3u + 2u * tid] = lane(ay, h);
        }
    }
}

// Lane h of v. (Indexed by a variable, a vector local went to local memory on the H100, and with
// it every update in the kernel's loops.)
fn lane(v: vec4<f32>, h: u32) -> f32 {
    return select(select(v.x, v.y, h == 1u), select(v.z, v.w, h == 3u), h >= 2u);
}
