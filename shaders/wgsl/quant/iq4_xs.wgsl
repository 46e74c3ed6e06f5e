// iq4_xs: 256 elements in 8 sub-blocks of 32: f16 d, u16 scales_h, 4 bytes scales_l, 128 bytes of
// nibbles. Sub-block j's 6-bit scale ls has its low nibble in scales_l[j / 2] (high nibble for
// odd j) and its top bits at bit 2j of scales_h; its codes are bytes 16j..16j+15, placed as in
// q4_0. x = d * (ls - 32) * kvalues_iq4nl[q].
fn chunk_scale(b: u32, j: u32) -> vec4<f32> {
    let lo = (load_u8(b + 4u + j / 2u) >> (4u * (j % 2u))) & 0xfu;
    let hi = (load_u32(b + 2u) >> (2u * j)) & 3u;
    let s = load_f16(b) * f32(i32(lo | (hi << 4u)) - 32);
    return vec4<f32>(s, 0.0, s, 0.0);
}

fn chunk_q4(b: u32, j: u32, q: u32) -> vec4<f32> {
    let w = load_u32(b + 8u + 16u * j + 4u * (q % 4u)) >> (4u * (q / 4u));
    return kvalues4(KVALUES_IQ4NL, bytes4(w) & vec4<u32>(0xfu));
}
