// q6_K: 256 elements: 128 bytes ql (low nibbles), 64 bytes qh (2-bit highs), 16 i8 scales (one
// per 16 elements), f16 d. Each half of 128 elements uses 64 ql bytes, 32 qh bytes and 8 scales;
// its quarter r (32 elements) takes nibble r/2 of ql[l + 32 (r % 2)] and bits 2r..2r+1 of qh[l].
// x = d * sc * (q - 32).
fn dequant_chunk(b: u32, j: u32) -> array<f32, 32> {
    var out: array<f32, 32>;
    let half = j / 4u;
    let r = j % 4u;
    let ql = b + 64u * half + 32u * (r % 2u);
    let qh = b + 128u + 32u * half;
    let sc = b + 192u + 8u * half + 2u * r;
    let d = load_f16(b + 208u);
    let s0 = d * f32(extractBits(i32(load_u8(sc)), 0u, 8u));
    let s1 = d * f32(extractBits(i32(load_u8(sc + 1u)), 0u, 8u));
    let lshift = 4u * (r / 2u);
    for (var i = 0u; i < 8u; i++) {
        let lw = load_u32(ql + 4u * i) >> lshift;
        let hw = load_u32(qh + 4u * i) >> (2u * r);
        let s = select(s1, s0, i < 4u);
        for (var k = 0u; k < 4u; k++) {
            let q = ((lw >> (8u * k)) & 0xfu) | (((hw >> (8u * k)) & 3u) << 4u);
            out[4u * i + k] = s * (f32(q) - 32.0);
        }
    }
    return out;
}
