// q3_K: 256 elements in 16 sub-blocks of 16: 32 bytes hmask, 64 bytes of 2-bit codes placed as in
// q2_K, 12 bytes of 6-bit scales, f16 d. Element l of chunk j takes its third bit from bit j of
// hmask[l] (clear means the code is 4 lower). Scale s has its low nibble in byte s % 8 (high
// nibble for s >= 8) and its top two bits at bit 2(s / 4) of byte 8 + s % 4.
// x = d * (sc - 32) * (q - 4).
fn q3_K_scale(b: u32, s: u32) -> f32 {
    let lo = (load_u8(b + 96u + s % 8u) >> (4u * (s / 8u))) & 0xfu;
    let hi = (load_u8(b + 104u + s % 4u) >> (2u * (s / 4u))) & 3u;
    return f32(i32(lo | (hi << 4u)) - 32);
}

fn chunk_scale(b: u32, j: u32) -> vec4<f32> {
    let d = load_f16(b + 108u);
    return vec4<f32>(d * q3_K_scale(b, 2u * j), 0.0, d * q3_K_scale(b, 2u * j + 1u), 0.0);
}

fn chunk_q4(b: u32, j: u32, q: u32) -> vec4<f32> {
    let lo = bytes4(load_u32(b + 32u + 32u * (j / 4u) + 4u * q) >> (2u * (j % 4u))) & vec4<u32>(3u);
    let hi = bytes4(load_u32(b + 4u * q) >> j) & vec4<u32>(1u);
    return vec4<f32>(lo | (hi << vec4<u32>(2u))) - 4.0;
}
