// q6_K decode matvec: y[r, off + i] = sum_k W[i, k] x[r, k] for up to 4 batch rows.
//
// A q6_K super-block (256 weights, 210 bytes): ql[128] low nibbles, qh[64] 2-bit highs, 16 i8
// scales (one per 16 weights), f16 d. Half n (128 weights) uses ql[64n..64n+63], qh[32n..32n+31]
// and scales 8n..8n+7; its quarter s (32 weights) takes nibble s / 2 of ql[64n + 32(s % 2) + l]
// and bits 2s..2s+1 of qh[32n + l], l = 0..31. x = d sc (q - 32).
//
// Sixteen lanes share a super-block: lane (n, t) takes l = 4t..4t+3 of each quarter of half n
// (16 weights, three words and the scales' two) so that neighbouring lanes read neighbouring x,
// and two super-blocks of each of its two rows per step.
struct Q6Part {
    ql0: u32,  // ql[64n + l..], quarters 0 and 2
    ql1: u32,  // ql[64n + 32 + l..], quarters 1 and 3
    qh: u32,
    s0: u32,   // scales 8n..8n+3
    s1: u32,   // scales 8n+4..8n+7
    d: f32,
}

fn q6k_load(o: u32, n: u32, t: u32) -> Q6Part {
    var s: Q6Part;
    s.ql0 = load_u32_even(o + 64u * n + 4u * t);
    s.ql1 = load_u32_even(o + 64u * n + 32u + 4u * t);
    s.qh = load_u32_even(o + 128u + 32u * n + 4u * t);
    // Three aligned words hold both scale words whatever the offset.
    let sc = o + 192u + 8u * n;
    let w0 = weights[sc >> 2u];
    let w1 = weights[(sc >> 2u) + 1u];
    let w2 = weights[(sc >> 2u) + 2u];
    let odd = (sc & 2u) != 0u;
    s.s0 = select(w0, (w0 >> 16u) | (w1 << 16u), odd);
    s.s1 = select(w1, (w1 >> 16u) | (w2 << 16u), odd);
    s.d = load_f16_even(o + 208u);
    return s;
}

// The low byte of v as a signed value.
fn q6k_i8(v: u32) -> f32 {
    return f32(bitcast<i32>(v << 24u) >> 24u);
}

// One row's sum over a lane's 16 weights of a super-block; sh selects its scales (8 (t / 4)).
fn q6k_dot(s: Q6Part, sh: u32, x0: vec4<f32>, x1: vec4<f32>, x2: vec4<f32>, x3: vec4<f32>) -> f32 {
    let sc = s.d * vec4<f32>(q6k_i8(s.s0 >> sh), q6k_i8(s.s0 >> (sh + 16u)), q6k_i8(s.s1 >> sh),
                             q6k_i8(s.s1 >> (sh + 16u)));
    let q0 = (s.ql0 & 0x0f0f0f0fu) | ((s.qh << 4u) & 0x30303030u);
    let q1 = (s.ql1 & 0x0f0f0f0fu) | ((s.qh << 2u) & 0x30303030u);
    let q2 = ((s.ql0 >> 4u) & 0x0f0f0f0fu) | (s.qh & 0x30303030u);
    let q3 = ((s.ql1 >> 4u) & 0x0f0f0f0fu) | ((s.qh >> 2u) & 0x30303030u);
    let dv = vec4<f32>(dot(bytes_f32(q0) - 32.0, x0), dot(bytes_f32(q1) - 32.0, x1),
                       dot(bytes_f32(q2) - 32.0, x2), dot(bytes_f32(q3) - 32.0, x3));
    return dot(dv, sc);
}

@compute @workgroup_size(WG)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
        @builtin(local_invocation_index) tid: u32) {
    let i = first_row(wid, nwg) + tid / LANES * 2u;
    let lane = tid % LANES;
    let t = lane % 8u;
    let n = (lane / 8u) % 2u;
    let sh = 8u * (t / 4u);
    let step = LANES / 16u;
    var acc0 = vec4<f32>(0.0);
    var acc1 = vec4<f32>(0.0);
    if i < p.m {
        let nsb = p.k / 256u;
        let base0 = row_index(i) * p.row_bytes;
        let base1 = row_index(min(i + 1u, p.m - 1u)) * p.row_bytes;
        for (var sb = lane / 16u; sb < nsb; sb += 2u * step) {
            // The second super-block is clamped to the row and masked out past its end.
            let sb1 = min(sb + step, nsb - 1u);
            let m1 = select(0.0, 1.0, sb + step < nsb);
            let w00 = q6k_load(base0 + 210u * sb, n, t);
            let w01 = q6k_load(base1 + 210u * sb, n, t);
            let w10 = q6k_load(base0 + 210u * sb1, n, t);
            let w11 = q6k_load(base1 + 210u * sb1, n, t);
            for (var r = 0u; r < p.rows; r++) {
                let xr = x_base(r) + 32u * n + t;
                let b0 = xr + 64u * sb;
                let b1 = xr + 64u * sb1;
                let x00 = x[b0];
                let x01 = x[b0 + 8u];
                let x02 = x[b0 + 16u];
                let x03 = x[b0 + 24u];
                let x10 = x[b1];
                let x11 = x[b1 + 8u];
                let x12 = x[b1 + 16u];
                let x13 = x[b1 + 24u];
                let oh = onehot(r);
                acc0 += oh * (q6k_dot(w00, sh, x00, x01, x02, x03) + m1 * q6k_dot(w10, sh, x10, x11, x12, x13));
                acc1 += oh * (q6k_dot(w01, sh, x00, x01, x02, x03) + m1 * q6k_dot(w11, sh, x10, x11, x12, x13));
            }
        }
    }
    store_pair(acc0, acc1, i, tid);
}
