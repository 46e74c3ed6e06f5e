// q8_0 decode matvec: y[r, off + i] = sum_k W[i, k] x[r, k] for up to 4 batch rows.
//
// A q8_0 block is f16 d and 32 i8 codes (34 bytes). Four lanes share a block, lane t taking
// codes 8t..8t+7 (two words, put together from three aligned loads), so neighbouring lanes read
// neighbouring x; each lane takes four blocks of each of its two rows per step (a pass of the
// group covers 8 blocks), which keeps about thirty loads per lane in flight.
struct Q8Part {
    w0: u32,
    w1: u32,
    d: f32,
}

fn q8_load(o: u32, t: u32) -> Q8Part {
    let q = o + 2u + 8u * t;
    let i = q >> 2u;
    let a0 = weights[i];
    let a1 = weights[i + 1u];
    let a2 = weights[i + 2u];
    let odd = (q & 2u) != 0u;
    var s: Q8Part;
    s.w0 = select(a0, (a0 >> 16u) | (a1 << 16u), odd);
    s.w1 = select(a1, (a1 >> 16u) | (a2 << 16u), odd);
    s.d = load_f16_even(o);
    return s;
}

// The signed bytes of w as floats.
fn q8_f32(w: u32) -> vec4<f32> {
    return vec4<f32>(bitcast<vec4<i32>>(vec4<u32>(w) << vec4<u32>(24u, 16u, 8u, 0u)) >> vec4<u32>(24u));
}

fn q8_dot(s: Q8Part, x0: vec4<f32>, x1: vec4<f32>) -> f32 {
    return s.d * (dot(q8_f32(s.w0), x0) + dot(q8_f32(s.w1), x1));
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
            let w00 = q8_load(base0 + 34u * b, t);
            let w01 = q8_load(base1 + 34u * b, t);
            let w10 = q8_load(base0 + 34u * b1, t);
            let w11 = q8_load(base1 + 34u * b1, t);
            let w20 = q8_load(base0 + 34u * b2, t);
            let w21 = q8_load(base1 + 34u * b2, t);
            let w30 = q8_load(base0 + 34u * b3, t);
            let w31 = q8_load(base1 + 34u * b3, t);
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
                acc0 += oh * (q8_dot(w00, x00, x01) + m1 * q8_dot(w10, x10, x11)
                    + m2 * q8_dot(w20, x20, x21) + m3 * q8_dot(w30, x30, x31));
                acc1 += oh * (q8_dot(w01, x00, x01) + m1 * q8_dot(w11, x10, x11)
                    + m2 * q8_dot(w21, x20, x21) + m3 * q8_dot(w31, x30, x31));
            }
        }
    }
    store_pair(acc0, acc1, i, tid);
}
