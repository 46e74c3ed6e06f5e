// q5_K: as q4_K plus 32 bytes qh of fifth bits after the scales: element l of sub-block j takes
// bit j of qh[l]. x = d * sc * q - dmin * m.
fn dequant_chunk(b: u32, j: u32) -> array<f32, 32> {
    var out: array<f32, 32>;
    let sm = scale_min_k4(b + 4u, j);
    let scale = load_f16(b) * sm.x;
    let minv = load_f16(b + 2u) * sm.y;
    let qh = b + 16u;
    let qs = b + 48u + 32u * (j / 2u);
    let shift = 4u * (j % 2u);
    for (var i = 0u; i < 8u; i++) {
        let w = load_u32(qs + 4u * i) >> shift;
        let h = load_u32(qh + 4u * i) >> j;
        for (var k = 0u; k < 4u; k++) {
            let q = ((w >> (8u * k)) & 0xfu) | (((h >> (8u * k)) & 1u) << 4u);
            out[4u * i + k] = scale * f32(q) - minv;
        }
    }
    return out;
}
