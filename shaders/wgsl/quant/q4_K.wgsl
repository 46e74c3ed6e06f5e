// q4_K: 256 elements in 8 sub-blocks of 32: f16 d, f16 dmin, 12 bytes of 6-bit scales and mins,
// 128 bytes of nibbles. Sub-blocks 2g and 2g+1 share bytes 32g..32g+31 (low, then high nibbles).
// x = d * sc * q - dmin * m.
fn dequant_chunk(b: u32, j: u32) -> array<f32, 32> {
    var out: array<f32, 32>;
    let sm = scale_min_k4(b + 4u, j);
    let scale = load_f16(b) * sm.x;
    let minv = load_f16(b + 2u) * sm.y;
    let qs = b + 16u + 32u * (j / 2u);
    let shift = 4u * (j % 2u);
    for (var i = 0u; i < 8u; i++) {
        let w = load_u32(qs + 4u * i) >> shift;
        for (var k = 0u; k < 4u; k++) {
            out[4u * i + k] = scale * f32((w >> (8u * k)) & 0xfu) - minv;
        }
    }
    return out;
}
