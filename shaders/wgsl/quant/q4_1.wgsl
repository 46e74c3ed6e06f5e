// q4_1: f16 d, f16 m, 16 bytes of nibbles (low: elements 0..15, high: 16..31); x = d * q + m.
fn dequant_chunk(b: u32, j: u32) -> array<f32, 32> {
    var out: array<f32, 32>;
    let d = load_f16(b);
    let m = load_f16(b + 2u);
    for (var i = 0u; i < 4u; i++) {
        let w = load_u32(b + 4u + 4u * i);
        for (var k = 0u; k < 4u; k++) {
            let q = (w >> (8u * k)) & 0xffu;
            out[4u * i + k] = d * f32(q & 0xfu) + m;
            out[4u * i + k + 16u] = d * f32(q >> 4u) + m;
        }
    }
    return out;
}
