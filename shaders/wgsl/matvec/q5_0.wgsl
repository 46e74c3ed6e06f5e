// q5_0 decode matvec: y[r, off + i] = sum_k W[i, k] x[r, k] for up to 4 batch rows.
//
// A q5_0 block (32 weights, 22 bytes) is f16 d, the weights' fifth bits (u32 qh, bit e for
// weight e), then 16 bytes of nibbles, byte j holding weight j (low) and j + 16 (high); weight
// = d (q - 16). Lane t of the four that share a block (`four_lanes.wgsl`) takes weights
// 8t..8t+7: the low or high nibbles of 8 bytes, put together from three aligned loads, and 8
// bits of qh.
struct Q5Part {
    w0: u32,  // the nibbles of weights 8t..8t+3, one per byte
    w1: u32,  // and of 8t+4..8t+7
    hb: u32,  // their fifth bits, bit j for weight 8t + j
    d: f32,
}

fn block_load(o: u32, t: u32) -> Q5Part {
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

fn block_dot(s: Q5Part, x0: vec4<f32>, x1: vec4<f32>) -> f32 {
    return s.d * (dot(q5_f32(s.w0, s.hb), x0) + dot(q5_f32(s.w1, s.hb >> 4u), x1));
}
