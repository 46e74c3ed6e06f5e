// q5_0 decode matvec: y[r, off + i] = sum_k W[i, k] x[r, k] for up to 4 batch rows.
//
// A q5_0 block (32 weights, 22 bytes) is f16 d, the weights' fifth bits (u32 qh, bit e for
// weight e), then 16 bytes of nibbles, byte j holding weight j (low) and j + 16 (high); weight
// = d (q - 16). Four lanes share a block, lane t taking weights 8t..8t+7 (the low or high
// nibbles of 8 bytes, put together from three aligned loads, and 8 bits of qh), so neighbouring
// lanes read neighbouring x; each lane takes four blocks of each of its two rows per step, as
// q8_0's kernel does.
struct Q5Part {
    w0: u32,  // the nibbles of weights 8t..8t+3, one per byte
    w1: u32,  // and of 8t+4..8t+7
    hb: u32,  // their fifth bits, bit j for weight 8t + j
    d: f32,
}

fn q5_load(o: u32, t: u32) -> Q5Part {
    let q = o + 6u + 8u * (t % 2u);
    let i = q >> 2u;
    let a0 = weights[i];
    let a1 = weights[i + 1u];
    let a2 = weights[i + 2u];
    let odd = (q & 2u) != 0u;
    let sh = 4u * (t / 2u);
    var s: Q5Part;
    s.w0 = (select(a0, (a0 >> 16u) | (a1 << 16u), odd) >> sh) & 0x0f0f0f0fu;
    s.w1 = (select(a1, (a1 >> 16u) | (a2 << 16u), odd) >> sh) & 0x0f0f0f0fu;
    s.hb = load_u32_even(o + 2u) >> (8u * t);
    s.d = load_f16_even(o);
    return s;
}

// Four weights' codes minus 16 as floats: nibbles one per byte of w, fifth bits the low four of
// hb.
fn q5_f32(w: u32, hb: u32) -> vec4<f32> {
    let n = (vec4<u32>(w) >> vec4<u32>(0u, 8u, 16u, 24u)) & vec4<u32>(0xfu);
    let h = (vec4<u32>(hb) >> vec4<u32>(0u, 1u, 2u, 3u)) & vec4<u32>(1u);
    return vec4<f32>(n | (h << vec4<u32>(4u))) - 16.0;
}

fn q5_dot(s: Q5Part, x0: vec4<f32>, x1: vec4<f32>) -> f32 {
    return s.d * (dot(q5_f32(s.w0, s.hb), x0) + dot(q5_f32(s.w1, s.hb >> 4u), x1));
}

@compute @workgroup_size(WG)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
        @builtin(local_invocation_index) tid: u32) {
    let i = first_row(wid, nwg) + tid / LANES * 2u;
    let lane = tid % LANES;
    let t = lane % 4u;
    let step = LANES / 4u;
    var acc0 = vec4<f32>(0.0);
    var acc1 = vec4<f32>(0.0);
    if i < p.m {
        let nb = p.k / 32u;
        let base0 = row_index(i) * p.row_bytes;
        let base1 = row_index(min(i + 1u, p.m - 1u)) * p.row_bytes;
        for (var b = lane / 4u; b < nb; b += 4u * step) {
            // Blocks past the row's end are clamped to it and masked out.
            let b1 = min(b + step, nb - 1u);
            let b2 = min(b + 2u * step, nb - 1u);
            let b3 = min(b + 3u * step, nb - 1u);
            let m1 = select(0.0, 1.0, b + step < nb);
            let m2 = select(0.0, 1.0, b + 2u * step < nb);
            let m3 = select(0.0, 1.0, b + 3u * step < nb);
            let w00 = q5_load(base0 + 22u * b, t);
            let w01 = q5_load(base1 + 22u * b, t);
            let w10 = q5_load(base0 + 22u * b1, t);
            let w11 = q5_load(base1 + 22u * b1, t);
            let w20 = q5_load(base0 + 22u * b2, t);
            let w21 = q5_load(base1 + 22u * b2, t);
            let w30 = q5_load(base0 + 22u * b3, t);
            let w31 = q5_load(base1 + 22u * b3, t);
            for (var r = 0u; r < p.rows; r++) {
                let xr = x_base(r) + 2u * t;
                let x00 = x[xr + 8u * b];
                let x01 = x[xr + 8u * b + 1u];
                let x10 = x[xr + 8u * b1];
                let x11 = x[xr + 8u * b1 + 1u];
                let x20 = x[xr + 8u * b2];
                let x21 = x[xr + 8u * b2 + 1u];
                let x30 = x[xr + 8u * b3];
                let x31 = x[xr + 8u * b3 + 1u];
                let oh = onehot(r);
                acc0 += oh * (q5_dot(w00, x00, x01) + m1 * q5_dot(w10, x10, x11)
                    + m2 * q5_dot(w20, x20, x21) + m3 * q5_dot(w30, x30, x31));
                acc1 += oh * (q5_dot(w01, x00, x01) + m1 * q5_dot(w11, x10, x11)
                    + m2 * q5_dot(w21, x20, x21) + m3 * q5_dot(w31, x30, x31));
            }
        }
    }
    store_pair(acc0, acc1, i, tid);
}
