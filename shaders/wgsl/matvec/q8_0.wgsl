// q8_0 decode matvec: y[r, off + i] = sum_k W[i, k] x[r, k] for up to 4 batch rows.
//
// A q8_0 block is f16 d and 32 i8 codes (34 bytes). Lane t of the four that share a block
// (`four_lanes.wgsl`) takes codes 8t..8t+7: two words, put together from three aligned loads.
struct Q8Part {
    w0: u32,
    w1: u32,
    d: f32,
}

fn block_load(o: u32, t: u32) -> Q8Part {
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

fn block_dot(s: Q8Part, x0: vec4<f32>, x1: vec4<f32>) -> f32 {
    return s.d * (dot(q8_f32(s.w0), x0) + dot(q8_f32(s.w1), x1));
}
