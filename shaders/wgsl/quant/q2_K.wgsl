// q2_K: 256 elements in 16 sub-blocks of 16: 16 bytes of scales (low nibble sc, high nibble m,
// one per sub-block), 64 bytes of 2-bit codes, f16 d, f16 dmin. Chunk j (32 elements) takes bits
// 2(j % 4)..2(j % 4)+1 of bytes 32(j / 4)..32(j / 4)+31; its halves are sub-blocks 2j and 2j+1.
// x = d * sc * q - dmin * m.
fn chunk_scale(b: u32, j: u32) -> vec4<f32> {
    let dm = unpack2x16float(load_u32(b + 80u)) * vec2<f32>(1.0, -1.0);
    let s = bytes4(load_u32(b + 2u * j)).xy;
    return vec4<f32>(dm * vec2<f32>(vec2<u32>(s.x & 0xfu, s.x >> 4u)),
                     dm * vec2<f32>(vec2<u32>(s.y & 0xfu, s.y >> 4u)));
}

fn chunk_q4(b: u32, j: u32, q: u32) -> vec4<f32> {
    let w = load_u32(b + 16u + 32u * (j / 4u) + 4u * q) >> (2u * (j % 4u));
    return vec4<f32>(bytes4(w) & vec4<u32>(3u));
}
