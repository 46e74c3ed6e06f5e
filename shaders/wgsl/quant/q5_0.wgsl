// q5_0: f16 d, u32 qh (fifth bits), 16 bytes of nibbles; element i < 16 takes the low nibble of
// byte i and bit i of qh, element i + 16 the high nibble and bit i + 16; x = d * (q - 16).
fn dequant_chunk(b: u32, j: u32) -> array<f32, 32> {
    var out: array<f32, 32>;
    let d = load_f16(b);
    let qh = load_u32(b + 2u);
    for (var i = 0u; i < 4u; i++) {
        let w = load_u32(b + 6u + 4u * i);
        for (var k = 0u; k < 4u; k++) {
            let e = 4u * i + k;
            let q = (w >> (8u * k)) & 0xffu;
            let lo = (q & 0xfu) | (((qh >> e) & 1u) << 4u);
            let hi = (q >> 4u) | (((qh >> (e + 16u)) & 1u) << 4u);
            out[e] = d * (f32(lo) - 16.0);
            out[e + 16u] = d * (f32(hi) - 16.0);
        }
    }
    return out;
}
