// q4_0: f16 d, 16 bytes of nibbles (low nibbles are elements 0..15, high 16..31); x = d * (q - 8).
fn dequant_chunk(b: u32, j: u32) -> array<f32, 32> {
    var out: array<f32, 32>;
    let d = load_f16(b);
    for (var i = 0u; i < 4u; i++) {
        let w = load_u32(b + 2u + 4u * i);
        for (var k = 0u; k < 4u; k++) {
            let q = (w >> (8u * k)) & 0xffu;
            out[4u * i + k] = d * (f32(q & 0xfu) - 8.0);
            out[4u * i + k + 16u] = d * (f32(q >> 4u) - 8.0);
        }
    }
    return out;
}
