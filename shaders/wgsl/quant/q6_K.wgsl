// q6_K: 256 elements: 128 bytes ql (low nibbles), 64 bytes qh (2-bit highs), 16 i8 scales (one
// per 16 elements), f16 d. Each half of 128 elements uses 64 ql bytes, 32 qh bytes and 8 scales;
// its quarter r (32 elements) takes nibble r/2 of ql[l + 32 (r % 2)] and bits 2r..2r+1 of qh[l].
// x = d * sc * (q - 32); a chunk's two 16-element halves have their own scale.
fn chunk_scale(b: u32, j: u32) -> vec4<f32> {
    let sc = b + 192u + 8u * (j / 4u) + 2u * (j % 4u);
    let d = load_f16(b + 208u);
    let s0 = d * f32(extractBits(i32(load_u8(sc)), 0u, 8u));
    let s1 = d * f32(extractBits(i32(load_u8(sc + 1u)), 0u, 8u));
    return vec4<f32>(s0, 0.0, s1, 0.0);
}

fn chunk_q4(b: u32, j: u32, q: u32) -> vec4<f32> {
    let half = j / 4u;
    let r = j % 4u;
    let lw = load_u32(b + 64u * half + 32u * (r % 2u) + 4u * q) >> (4u * (r / 2u));
    let hw = load_u32(b + 128u + 32u * half + 4u * q) >> (2u * r);
    return vec4<f32>((bytes4(lw) & vec4<u32>(0xfu)) | ((bytes4(hw) & vec4<u32>(3u)) << vec4<u32>(4u))) - 32.0;
}
