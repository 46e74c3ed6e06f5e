// Causal attention for prefill chunks on cooperative matrices (S = 16), one pass: one workgroup
// of four subgroups per (head, tile of 4S batch rows, split); each subgroup takes S of the rows
// and keeps their q (f16, scaled) and output sums (f32) in matrices. Per block of 2S keys a
// subgroup multiplies its q by the block's K (in shared memory) into scores, its lanes turn them
// into probabilities (two lanes per row, half the keys each) and it multiplies those by V (two
// halves of shared memory, one per block in turn) into its sums. Once every subgroup has its
// scores, the workgroup stores the next block's K and V, loaded into registers during this one.
// Scores are in log2 units (q is scaled by log2 e) and the probabilities 2^(score - m), against a
// row max m that only moves when a block's max passes it by more than TAU: then the workgroup
// rescales its sums through shared memory (all rows: the branch must be uniform). Probabilities
// stay below 2^TAU, inside f16's range.
// Rows of a tile may belong to different sequences: the tile is walked in runs of rows with the
// same KV-cache slot, as in `attention_prefill.wgsl`, whose partials (max, sum, unnormalised
// output) this writes for `attention_combine`; in one split with DIRECT set (`ATTENTION_DIRECT`
// in Rust) it writes the normalised output itself instead (rows of n_heads * head_dim), and no
// merge follows. head_dim is a multiple of S, at most 128; ctx is a multiple of 2S, so a block
// never reads past its slot's cache.
const ROWS: u32 = 4u * S;
const DIRECT: u32 = 0x10000u;
const KEYS: u32 = 2u * S;
const MAX_DIM: u32 = 128u;
// Strides of staged rows past a multiple of 32 banks, so the rows a matrix load or store
// touches together spread over the banks: q, K and V (f16) 16 bytes past, the probabilities
// (f16) 8 and the scores (f32) 16. Shared memory comes to 47.5 KB, under the 48 KB limit.
const STRIDE: u32 = MAX_DIM + 8u;
const P_STRIDE: u32 = KEYS + 4u;
const SC_STRIDE: u32 = KEYS + 4u;
// vec4s of K (and of V) per thread and block at the largest head_dim.
const PER_THREAD: u32 = KEYS * MAX_DIM / 4u / WG;
const NONE: f32 = -3.0e38;
const TAU: f32 = 11.0;
const LOG2E: f32 = 1.4426950408889634;
const LN2: f32 = 0.6931471805599453;

@group(0) @binding(3) var<storage, read> k_cache: array<vec4<f16>>;
@group(0) @binding(4) var<storage, read> v_cache: array<vec4<f16>>;

// The tile's q while a run starts, then each block's keys (its first KEYS rows).
var<workgroup> kq: array<f16, ROWS * STRIDE>;
// V of this block and of the next, alternately.
var<workgroup> vs: array<f16, 2u * KEYS * STRIDE>;
// Per subgroup: its rows' scores of a block (S x KEYS f32), also where it rescales its sums (two
// S x S matrices at a time) and writes them out (one at a time).
var<workgroup> scores: array<f32, ROWS * SC_STRIDE>;
// Per subgroup: its rows' probabilities of a block.
var<workgroup> probs: array<f16, ROWS * P_STRIDE>;
// Per subgroup: whether a row's max moved in this block.
var<workgroup> moved: array<u32, 4>;

@compute @workgroup_size(WG)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) tid: u32,
        @builtin(subgroup_id) sg: u32, @builtin(subgroup_invocation_id) lane: u32) {
    let h = wid.x % p.n_heads;
    let split = wid.x / p.n_heads;
    let n_splits = p.n_splits & 0xffffu;
    let direct = (p.n_splits & DIRECT) != 0u;
    let r0 = wid.y * ROWS;
    let kvh = h / (p.n_heads / p.n_kv_heads);
    let dim = head_dim();
    let dim4 = dim / 4u;
    let n_rows = min(step.n_rows, r0 + ROWS);
    // The row this lane scores, and which half of a block's keys.
    let row = r0 + sg * S + lane / 2u;
    let half = lane % 2u;
    // Computed before use: naga's WGSL front end leaves expressions computed in a coopStoreT
    // call itself out of the SPIR-V.
    let s_at = sg * S * SC_STRIDE;
    let s_at1 = s_at + S;
    let p_at = sg * S * P_STRIDE;
    let p_at1 = p_at + S;
    // Lane pairs walk their keys from (row + i) % S on, so the 32 lanes' reads of the scores
    // (and writes of probabilities) fall in different banks.
    let s_row = s_at + (lane / 2u) * SC_STRIDE + half * S;
    let p_row = p_at + (lane / 2u) * P_STRIDE + half * S;
    var start = r0;
    while start < n_rows {
        let slot = step.rows[start].slot;
        var end = start + 1u;
        while end < n_rows && step.rows[end].slot == slot {
            end += 1u;
        }
        // The run's keys, from a whole block, and this split's share of them.
        var k_lo = 0xffffffffu;
        var k_hi = 0u;
        for (var r = start; r < end; r++) {
            let ps = step.rows[r].pos;
            var lo = 0u;
            if p.window > 0u && ps + 1u > p.window {
                lo = ps + 1u - p.window;
            }
            k_lo = min(k_lo, lo);
            k_hi = max(k_hi, ps + 1u);
        }
        k_lo = k_lo / KEYS * KEYS;
        let per = ((k_hi - k_lo + n_splits - 1u) / n_splits + KEYS - 1u) / KEYS * KEYS;
        let s_lo = min(k_lo + split * per, k_hi);
        let s_hi = min(s_lo + per, k_hi);
        // This lane's row: the keys lo..hi it sees in the split (none when the row is not in
        // the run).
        let live = row >= start && row < end;
        var lo = 0u;
        var hi = 0u;
        if live {
            let pos = step.rows[row].pos;
            if p.window > 0u && pos + 1u > p.window {
                lo = pos + 1u - p.window;
            }
            hi = min(pos + 1u, s_hi);
        }
        lo = max(lo, s_lo);
        for (var e = tid; e < ROWS * dim; e += WG) {
            let r = r0 + e / dim;
            var v = 0.0;
            if r >= start && r < end {
                v = q[r * p.q_stride + h * dim + e % dim] * (p.scale * LOG2E);
            }
            kq[e / dim * STRIDE + e % dim] = f16(v);
        }
        workgroupBarrier();
        var q0 = coopLoadT<TileA>(&kq[sg * S * STRIDE], STRIDE);
        var q1 = TileA();
        var q2 = TileA();
        var q3 = TileA();
        var q4 = TileA();
        var q5 = TileA();
        var q6 = TileA();
        var q7 = TileA();
        if dim > S {
            q1 = coopLoadT<TileA>(&kq[sg * S * STRIDE + S], STRIDE);
        }
        if dim > 2u * S {
            q2 = coopLoadT<TileA>(&kq[sg * S * STRIDE + 2u * S], STRIDE);
        }
        if dim > 3u * S {
            q3 = coopLoadT<TileA>(&kq[sg * S * STRIDE + 3u * S], STRIDE);
        }
        if dim > 4u * S {
            q4 = coopLoadT<TileA>(&kq[sg * S * STRIDE + 4u * S], STRIDE);
        }
        if dim > 5u * S {
            q5 = coopLoadT<TileA>(&kq[sg * S * STRIDE + 5u * S], STRIDE);
        }
        if dim > 6u * S {
            q6 = coopLoadT<TileA>(&kq[sg * S * STRIDE + 6u * S], STRIDE);
        }
        if dim > 7u * S {
            q7 = coopLoadT<TileA>(&kq[sg * S * STRIDE + 7u * S], STRIDE);
        }
        let kv_row = (slot * p.n_kv_heads + kvh) * p.ctx;
        // Block s_lo straight into shared memory (once every subgroup has its q), the next
        // into registers. (The registers stay in this function: passed to helpers as a struct,
        // they went to memory and the kernel ran 3x slower on the H200.)
        workgroupBarrier();
        stage_block(kv_row + s_lo, dim4, tid, s_lo < s_hi);
        // The next block, PER_THREAD (8) vec4s of K and of V, in named registers: as arrays
        // indexed in a loop they sat in local memory on the H100.
        let r1 = kv_row + s_lo + KEYS;
        let more = s_lo + KEYS < s_hi;
        var kr0 = k4(r1, dim4, tid, more);
        var kr1 = k4(r1, dim4, tid + WG, more);
        var kr2 = k4(r1, dim4, tid + 2u * WG, more);
        var kr3 = k4(r1, dim4, tid + 3u * WG, more);
        var kr4 = k4(r1, dim4, tid + 4u * WG, more);
        var kr5 = k4(r1, dim4, tid + 5u * WG, more);
        var kr6 = k4(r1, dim4, tid + 6u * WG, more);
        var kr7 = k4(r1, dim4, tid + 7u * WG, more);
        var vr0 = v4(r1, dim4, tid, more);
        var vr1 = v4(r1, dim4, tid + WG, more);
        var vr2 = v4(r1, dim4, tid + 2u * WG, more);
        var vr3 = v4(r1, dim4, tid + 3u * WG, more);
        var vr4 = v4(r1, dim4, tid + 4u * WG, more);
        var vr5 = v4(r1, dim4, tid + 5u * WG, more);
        var vr6 = v4(r1, dim4, tid + 6u * WG, more);
        var vr7 = v4(r1, dim4, tid + 7u * WG, more);
        var vb = 0u;
        var m = NONE;
        var l = 0.0;
        var o0 = TileC();
        var o1 = TileC();
        var o2 = TileC();
        var o3 = TileC();
        var o4 = TileC();
        var o5 = TileC();
        var o6 = TileC();
        var o7 = TileC();
        for (var t0 = s_lo; t0 < s_hi; t0 += KEYS) {
            // The block's K and V are in shared memory, and everyone is done with the last.
            workgroupBarrier();
            // Scores of keys t0.. and t0 + S.. (K's rows read as columns).
            var s0 = coopMultiplyAdd(q0, coopLoad<TileB>(&kq[0], STRIDE), TileC());
            var s1 = coopMultiplyAdd(q0, coopLoad<TileB>(&kq[S * STRIDE], STRIDE), TileC());
            if dim > S {
                s0 = coopMultiplyAdd(q1, coopLoad<TileB>(&kq[S], STRIDE), s0);
                s1 = coopMultiplyAdd(q1, coopLoad<TileB>(&kq[S * STRIDE + S], STRIDE), s1);
            }
            if dim > 2u * S {
                s0 = coopMultiplyAdd(q2, coopLoad<TileB>(&kq[2u * S], STRIDE), s0);
                s1 = coopMultiplyAdd(q2, coopLoad<TileB>(&kq[S * STRIDE + 2u * S], STRIDE), s1);
            }
            if dim > 3u * S {
                s0 = coopMultiplyAdd(q3, coopLoad<TileB>(&kq[3u * S], STRIDE), s0);
                s1 = coopMultiplyAdd(q3, coopLoad<TileB>(&kq[S * STRIDE + 3u * S], STRIDE), s1);
            }
            if dim > 4u * S {
                s0 = coopMultiplyAdd(q4, coopLoad<TileB>(&kq[4u * S], STRIDE), s0);
                s1 = coopMultiplyAdd(q4, coopLoad<TileB>(&kq[S * STRIDE + 4u * S], STRIDE), s1);
            }
            if dim > 5u * S {
                s0 = coopMultiplyAdd(q5, coopLoad<TileB>(&kq[5u * S], STRIDE), s0);
                s1 = coopMultiplyAdd(q5, coopLoad<TileB>(&kq[S * STRIDE + 5u * S], STRIDE), s1);
            }
            if dim > 6u * S {
                s0 = coopMultiplyAdd(q6, coopLoad<TileB>(&kq[6u * S], STRIDE), s0);
                s1 = coopMultiplyAdd(q6, coopLoad<TileB>(&kq[S * STRIDE + 6u * S], STRIDE), s1);
            }
            if dim > 7u * S {
                s0 = coopMultiplyAdd(q7, coopLoad<TileB>(&kq[7u * S], STRIDE), s0);
                s1 = coopMultiplyAdd(q7, coopLoad<TileB>(&kq[S * STRIDE + 7u * S], STRIDE), s1);
            }
            coopStoreT(s0, &scores[s_at], SC_STRIDE);
            coopStoreT(s1, &scores[s_at1], SC_STRIDE);
            workgroupBarrier();
            // The row's max over its keys in the block; m moves to it when it passes m by TAU.
            // The lane's keys kb.. are all visible but in blocks on the causal diagonal or the
            // window's edge.
            let kb = t0 + half * S;
            let whole = kb >= lo && kb + S <= hi;
            // Read once, into registers (the loops unroll: constant indices).
            var sc: array<f32, S>;
            var bm = NONE;
            for (var i = 0u; i < S; i++) {
                let k = (i + lane / 2u) % S;
                let seen = whole | (kb + k >= lo & kb + k < hi);
                sc[i] = select(NONE, scores[s_row + k], seen);
                bm = max(bm, sc[i]);
            }
            bm = max(bm, subgroupShuffleXor(bm, 1u));
            let move_m = bm > m + TAU;
            let m_new = select(m, bm, move_m);
            let alpha = exp2(m - m_new);
            // Until the row sees a key, m is NONE and every probability 0.
            let m_e = max(m_new, 0.5 * NONE);
            var sum = 0.0;
            for (var i = 0u; i < S; i++) {
                let k = (i + lane / 2u) % S;
                // Unseen keys hold NONE: 2^(NONE - m_e) is 0.
                let pr = exp2(sc[i] - m_e);
                probs[p_row + k] = f16(pr);
                sum += pr;
            }
            l = l * alpha + sum + subgroupShuffleXor(sum, 1u);
            m = m_new;
            let any_moved = subgroupAny(move_m);
            if lane == 0u {
                moved[sg] = select(0u, 1u, any_moved);
            }
            let mv = workgroupUniformLoad(&moved);
            // Every subgroup is past its scores, so K is free: the next block goes to K and the
            // other half of V, and the one after into registers.
            let next = t0 + KEYS;
            if next < s_hi {
                let vh = KEYS * STRIDE - vb;
                put_kv(tid, dim4, kr0, vr0, vh);
                put_kv(tid + WG, dim4, kr1, vr1, vh);
                put_kv(tid + 2u * WG, dim4, kr2, vr2, vh);
                put_kv(tid + 3u * WG, dim4, kr3, vr3, vh);
                put_kv(tid + 4u * WG, dim4, kr4, vr4, vh);
                put_kv(tid + 5u * WG, dim4, kr5, vr5, vh);
                put_kv(tid + 6u * WG, dim4, kr6, vr6, vh);
                put_kv(tid + 7u * WG, dim4, kr7, vr7, vh);
                let r2 = kv_row + next + KEYS;
                let more2 = next + KEYS < s_hi;
                kr0 = k4(r2, dim4, tid, more2);
                kr1 = k4(r2, dim4, tid + WG, more2);
                kr2 = k4(r2, dim4, tid + 2u * WG, more2);
                kr3 = k4(r2, dim4, tid + 3u * WG, more2);
                kr4 = k4(r2, dim4, tid + 4u * WG, more2);
                kr5 = k4(r2, dim4, tid + 5u * WG, more2);
                kr6 = k4(r2, dim4, tid + 6u * WG, more2);
                kr7 = k4(r2, dim4, tid + 7u * WG, more2);
                vr0 = v4(r2, dim4, tid, more2);
                vr1 = v4(r2, dim4, tid + WG, more2);
                vr2 = v4(r2, dim4, tid + 2u * WG, more2);
                vr3 = v4(r2, dim4, tid + 3u * WG, more2);
                vr4 = v4(r2, dim4, tid + 4u * WG, more2);
                vr5 = v4(r2, dim4, tid + 5u * WG, more2);
                vr6 = v4(r2, dim4, tid + 6u * WG, more2);
                vr7 = v4(r2, dim4, tid + 7u * WG, more2);
            }
            if (mv[0] | mv[1] | mv[2] | mv[3]) != 0u {
                rescale2(o0, o1, s_at, lane, alpha);
                o0 = coopLoadT<TileC>(&scores[s_at], SC_STRIDE);
                o1 = coopLoadT<TileC>(&scores[s_at1], SC_STRIDE);
                if dim > 2u * S {
                    rescale2(o2, o3, s_at, lane, alpha);
                    o2 = coopLoadT<TileC>(&scores[s_at], SC_STRIDE);
                    o3 = coopLoadT<TileC>(&scores[s_at1], SC_STRIDE);
                }
                if dim > 4u * S {
                    rescale2(o4, o5, s_at, lane, alpha);
                    o4 = coopLoadT<TileC>(&scores[s_at], SC_STRIDE);
                    o5 = coopLoadT<TileC>(&scores[s_at1], SC_STRIDE);
                }
                if dim > 6u * S {
                    rescale2(o6, o7, s_at, lane, alpha);
                    o6 = coopLoadT<TileC>(&scores[s_at], SC_STRIDE);
                    o7 = coopLoadT<TileC>(&scores[s_at1], SC_STRIDE);
                }
            }
            let pa0 = coopLoadT<TileA>(&probs[p_at], P_STRIDE);
            let pa1 = coopLoadT<TileA>(&probs[p_at1], P_STRIDE);
            o0 = coopMultiplyAdd(pa0, coopLoadT<TileB>(&vs[vb], STRIDE), o0);
            o0 = coopMultiplyAdd(pa1, coopLoadT<TileB>(&vs[vb + S * STRIDE], STRIDE), o0);
            if dim > S {
                o1 = coopMultiplyAdd(pa0, coopLoadT<TileB>(&vs[vb + S], STRIDE), o1);
                o1 = coopMultiplyAdd(pa1, coopLoadT<TileB>(&vs[vb + S * STRIDE + S], STRIDE), o1);
            }
            if dim > 2u * S {
                o2 = coopMultiplyAdd(pa0, coopLoadT<TileB>(&vs[vb + 2u * S], STRIDE), o2);
                o2 = coopMultiplyAdd(pa1, coopLoadT<TileB>(&vs[vb + S * STRIDE + 2u * S], STRIDE), o2);
            }
            if dim > 3u * S {
                o3 = coopMultiplyAdd(pa0, coopLoadT<TileB>(&vs[vb + 3u * S], STRIDE), o3);
                o3 = coopMultiplyAdd(pa1, coopLoadT<TileB>(&vs[vb + S * STRIDE + 3u * S], STRIDE), o3);
            }
            if dim > 4u * S {
                o4 = coopMultiplyAdd(pa0, coopLoadT<TileB>(&vs[vb + 4u * S], STRIDE), o4);
                o4 = coopMultiplyAdd(pa1, coopLoadT<TileB>(&vs[vb + S * STRIDE + 4u * S], STRIDE), o4);
            }
            if dim > 5u * S {
                o5 = coopMultiplyAdd(pa0, coopLoadT<TileB>(&vs[vb + 5u * S], STRIDE), o5);
                o5 = coopMultiplyAdd(pa1, coopLoadT<TileB>(&vs[vb + S * STRIDE + 5u * S], STRIDE), o5);
            }
            if dim > 6u * S {
                o6 = coopMultiplyAdd(pa0, coopLoadT<TileB>(&vs[vb + 6u * S], STRIDE), o6);
                o6 = coopMultiplyAdd(pa1, coopLoadT<TileB>(&vs[vb + S * STRIDE + 6u * S], STRIDE), o6);
            }
            if dim > 7u * S {
                o7 = coopMultiplyAdd(pa0, coopLoadT<TileB>(&vs[vb + 7u * S], STRIDE), o7);
                o7 = coopMultiplyAdd(pa1, coopLoadT<TileB>(&vs[vb + S * STRIDE + 7u * S], STRIDE), o7);
            }
            vb = KEYS * STRIDE - vb;
        }
        // Where the row's outputs go, and their factor: normalised in the output, or after
        // the max and sum in the partials.
        var ob = (row * p.n_heads + h) * dim;
        var f = 1.0 / l;
        if !direct {
            let pb = ((row * p.n_heads + h) * n_splits + split) * (dim + 2u);
            if live && half == 0u {
                partial[pb] = select(m * LN2, NONE, m == NONE);
                partial[pb + 1u] = l;
            }
            ob = pb + 2u;
            f = 1.0;
        }
        store_out(o0, s_at, lane, 0u, ob, f, live);
        store_out(o1, s_at, lane, S, ob, f, live);
        store_out(o2, s_at, lane, 2u * S, ob, f, live);
        store_out(o3, s_at, lane, 3u * S, ob, f, live);
        store_out(o4, s_at, lane, 4u * S, ob, f, live);
        store_out(o5, s_at, lane, 5u * S, ob, f, live);
        store_out(o6, s_at, lane, 6u * S, ob, f, live);
        store_out(o7, s_at, lane, 7u * S, ob, f, live);
        start = end;
    }
}

// a and b side by side in the subgroup's scores with the row this lane holds (half of the 2S
// columns) times alpha, to be loaded back.
fn rescale2(a: TileC, b: TileC, at: u32, lane: u32, alpha: f32) {
    let at_b = at + S;
    workgroupBarrier();
    coopStoreT(a, &scores[at], SC_STRIDE);
    coopStoreT(b, &scores[at_b], SC_STRIDE);
    workgroupBarrier();
    let base = at + (lane / 2u) * SC_STRIDE + (lane % 2u) * S;
    for (var i = 0u; i < S; i++) {
        let k = (i + lane / 2u) % S;
        scores[base + k] *= alpha;
    }
    workgroupBarrier();
}

// K and V of the keys from cache row `row` into K's shared memory and V's first half.
fn stage_block(row: u32, dim4: u32, tid: u32, any: bool) {
    for (var i = 0u; i < PER_THREAD; i++) {
        let e = tid + i * WG;
        if any {
            put_kv(e, dim4, k4(row, dim4, e, true), v4(row, dim4, e, true), 0u);
        }
    }
}

// vec4 e of a block's K (or V) rows from cache row `row` on, zeros past the block or when not
// `any`.
fn k4(row: u32, dim4: u32, e: u32, any: bool) -> vec4<f16> {
    if any && e < KEYS * dim4 {
        return k_cache[row * dim4 + e];
    }
    return vec4<f16>();
}

fn v4(row: u32, dim4: u32, e: u32, any: bool) -> vec4<f16> {
    if any && e < KEYS * dim4 {
        return v_cache[row * dim4 + e];
    }
    return vec4<f16>();
}

// vec4 e of a block's K into K's shared memory and of its V into the half of V at v_half.
fn put_kv(e: u32, dim4: u32, k: vec4<f16>, v: vec4<f16>, v_half: u32) {
    if e < KEYS * dim4 {
        let at = e / dim4 * STRIDE + e % dim4 * 4u;
        kq[at] = k.x;
        kq[at + 1u] = k.y;
        kq[at + 2u] = k.z;
        kq[at + 3u] = k.w;
        vs[v_half + at] = v.x;
        vs[v_half + at + 1u] = v.y;
        vs[v_half + at + 2u] = v.z;
        vs[v_half + at + 3u] = v.w;
    }
}

// Copies the subgroup's output matrix of head dims d.. times f into the row this lane holds
// (half of the S dims each; its outputs from ob on, in the partials or the output), through the
// subgroup's scores.
fn store_out(o: TileC, at: u32, lane: u32, d: u32, ob: u32, f: f32, live: bool) {
    if d >= head_dim() {
        return;
    }
    workgroupBarrier();
    coopStoreT(o, &scores[at], SC_STRIDE);
    workgroupBarrier();
    if live {
        let base = at + (lane / 2u) * SC_STRIDE + (lane % 2u) * (S / 2u);
        for (var i = 0u; i < S / 2u; i++) {
            let k = (i + lane / 2u) % (S / 2u);
            partial[ob + d + (lane % 2u) * (S / 2u) + k] = scores[base + k] * f;
        }
    }
}
