// q5_1: f16 d, f16 m, u32 qh, 16 bytes of nibbles, bits placed as in q5_0; x = d * q + m.
fn dequant_chunk(b: u32, j: u32) -> array<f32, 32> {
    var out: array<f32, 32>;
    let d = load_f16(b);
    let m = load_f16(b + 2u);
    let qh = load_u32(b + 4u);
    for (var i = 0u; i < 4u; i++) {
        let w = load_u32(b + 8u + 4u * i);
        for (var k = 0u; k < 4u; k++) {
            let e = 4u * i + k;
            let q = (w >> (8u * k)) & 0xffu;
            let lo = (q & 0xfu) | (((qh >> e) & 1u) << 4u);
            let hi = (q >> 4u) | (((qh >> (e + 16u)) & 1u) << 4u);
            out[e] = d * f32(lo) + m;
            out[e + 16u] = d * f32(hi) + m;
        }
    }
    return out;
}
