// q6_K decode matvec: y[r, off + i] = sum_k W[i, k] x[r, k] for up to 4 batch rows.
//
// A q6_K super-block (256 weights, 210 bytes): ql[128] low nibbles, qh[64] 2-bit highs, 16 i8
// scales (one per 16 weights), f16 d. Half n (128 weights) uses ql[64n..64n+63], qh[32n..32n+31]
// and scales 8n..8n+7; its quarter s (32 weights) takes nibble s / 2 of ql[64n + 32(s % 2) + l]
// and bits 2s..2s+1 of qh[32n + l], l = 0..31. x = d sc (q - 32).
//
// Eight lanes share a super-block: lane (n, s, h) takes l = 16h..16h+15 of quarters s and s + 2
// of half n, whose low and high nibbles share 16 bytes of ql, and two super-blocks of each of its
// two rows per step. x comes quantized to 8 bits (`x_q8.wgsl`): a quarter is one x block, so a
// lane's 16 weights of a quarter meet their x codes in four integer dot products, scaled by
// d sc dx.
struct Q6Part {
    ql: vec4<u32>,  // ql[64n + 32s + 16h..], quarters s (low nibbles) and s + 2 (high)
    qh: vec4<u32>,  // qh[32n + 16h..]
    sc: vec2<f32>,  // d times the scales of the lane's 16 weights of quarters s and s + 2
}

// The 16 bytes at even byte offset b, from five aligned words.
fn load16_even(b: u32) -> vec4<u32> {
    let i = b >> 2u;
    let w0 = weights[i];
    let w1 = weights[i + 1u];
    let w2 = weights[i + 2u];
    let w3 = weights[i + 3u];
    let w4 = weights[i + 4u];
    let odd = (b & 2u) != 0u;
    return select(vec4<u32>(w0, w1, w2, w3),
                  vec4<u32>((w0 >> 16u) | (w1 << 16u), (w1 >> 16u) | (w2 << 16u),
                            (w2 >> 16u) | (w3 << 16u), (w3 >> 16u) | (w4 << 16u)), odd);
}

// The low byte of v as a signed value.
fn q6k_i8(v: u32) -> f32 {
    return f32(bitcast<i32>(v << 24u) >> 24u);
}

fn q6k_load(o: u32, n: u32, s: u32, h: u32) -> Q6Part {
    var p: Q6Part;
    p.ql = load16_even(o + 64u * n + 32u * s + 16u * h);
    p.qh = load16_even(o + 128u + 32u * n + 16u * h);
    // Scales 8n + 2s + h and 8n + 2s + 4 + h: bytes 2s + h of the half's two scale words.
    let sc = o + 192u + 8u * n;
    let w0 = weights[sc >> 2u];
    let w1 = weights[(sc >> 2u) + 1u];
    let w2 = weights[(sc >> 2u) + 2u];
    let odd = (sc & 2u) != 0u;
    let s0 = select(w0, (w0 >> 16u) | (w1 << 16u), odd);
    let s1 = select(w1, (w1 >> 16u) | (w2 << 16u), odd);
    let sh = 8u * (2u * s + h);
    p.sc = load_f16_even(o + 208u) * vec2<f32>(q6k_i8(s0 >> sh), q6k_i8(s1 >> sh));
    return p;
}

// Four 6-bit codes q (one per byte) as the bytes of q - 32: flipping bit 5 gives q - 32 in 6-bit
// two's complement, and bit 5 copied to bits 6 and 7 widens it to 8.
fn q6k_signed(q: vec4<u32>) -> vec4<u32> {
    let t = q ^ vec4<u32>(0x20202020u);
    return t | ((t & vec4<u32>(0x20202020u)) * 6u);
}

fn dot16(a: vec4<u32>, b: vec4<u32>) -> i32 {
    return (dot4I8Packed(a.x, b.x) + dot4I8Packed(a.y, b.y)) + (dot4I8Packed(a.z, b.z) + dot4I8Packed(a.w, b.w));
}

// One row's sum over a lane's 32 weights of a super-block: x codes a (quarter s) and b (quarter
// s + 2), their blocks' scales da and db.
fn q6k_dot(p: Q6Part, s: u32, a: vec4<u32>, b: vec4<u32>, da: f32, db: f32) -> f32 {
    let lo = (p.ql & vec4<u32>(0x0f0f0f0fu)) | (((p.qh >> vec4<u32>(2u * s)) & vec4<u32>(0x03030303u)) << vec4<u32>(4u));
    let hi = ((p.ql >> vec4<u32>(4u)) & vec4<u32>(0x0f0f0f0fu)) | (((p.qh >> vec4<u32>(2u * s + 4u)) & vec4<u32>(0x03030303u)) << vec4<u32>(4u));
    return p.sc.x * da * f32(dot16(q6k_signed(lo), a)) + p.sc.y * db * f32(dot16(q6k_signed(hi), b));
}

@compute @workgroup_size(WG)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
        @builtin(local_invocation_index) tid: u32) {
    let i = first_row(wid, nwg, tid) + tid / LANES * 2u;
    let lane = tid % LANES;
    let v = lane % 8u;
    let n = v / 4u;
    let s = (v / 2u) % 2u;
    let h = v % 2u;
    let xo = 128u * n + 32u * s + 16u * h;
    let step = LANES / 8u;
    var acc0 = vec4<f32>(0.0);
    var acc1 = vec4<f32>(0.0);
    if i < p.m {
        let nsb = p.k / 256u;
        let base0 = row_index(i) * p.row_bytes;
        let base1 = row_index(min(i + 1u, p.m - 1u)) * p.row_bytes;
        for (var sb = lane / 8u; sb < nsb; sb += 2u * step) {
            // The second super-block is clamped to the row and masked out past its end.
            let sb1 = min(sb + step, nsb - 1u);
            let m1 = select(0.0, 1.0, sb + step < nsb);
            let w00 = q6k_load(base0 + 210u * sb, n, s, h);
            let w01 = q6k_load(base1 + 210u * sb, n, s, h);
            let w10 = q6k_load(base0 + 210u * sb1, n, s, h);
            let w11 = q6k_load(base1 + 210u * sb1, n, s, h);
            for (var r = 0u; r < p.rows; r++) {
                let xr = x_row(r);
                let a0 = q8_codes(xr, 256u * sb + xo);
                let b0 = q8_codes(xr, 256u * sb + xo + 64u);
                let sa0 = q8_scales(xr, 8u * sb + 4u * n);
                let sb0 = q8_scales(xr, 8u * sb + 4u * n + 2u);
                let a1 = q8_codes(xr, 256u * sb1 + xo);
                let b1 = q8_codes(xr, 256u * sb1 + xo + 64u);
                let sa1 = q8_scales(xr, 8u * sb1 + 4u * n);
                let sb1s = q8_scales(xr, 8u * sb1 + 4u * n + 2u);
                let da0 = select(sa0.x, sa0.z, s == 1u);
                let db0 = select(sb0.x, sb0.z, s == 1u);
                let da1 = select(sa1.x, sa1.z, s == 1u);
                let db1 = select(sb1s.x, sb1s.z, s == 1u);
                let oh = onehot(r);
                acc0 += oh * (q6k_dot(w00, s, a0, b0, da0, db0) + m1 * q6k_dot(w10, s, a1, b1, da1, db1));
                acc1 += oh * (q6k_dot(w01, s, a0, b0, da0, db0) + m1 * q6k_dot(w11, s, a1, b1, da1, db1));
            }
        }
    }
    store_pair(acc0, acc1, i, tid);
}
