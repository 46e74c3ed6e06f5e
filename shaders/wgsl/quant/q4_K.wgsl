// q4_K: 256 elements in 8 sub-blocks of 32: f16 d, f16 dmin, 12 bytes of 6-bit scales and mins,
// 128 bytes of nibbles. Sub-blocks 2g and 2g+1 share bytes 32g..32g+31 (low, then high nibbles).
// x = d * sc * q - dmin * m. Blocks are 144 bytes and rows start on words: every read is a word.
fn chunk_scale(b: u32, j: u32) -> vec4<f32> {
    let dm = unpack2x16float(weights[b / 4u]);
    let sm = scale_min_k4(b / 4u + 1u, j);
    let s = vec2<f32>(dm.x * sm.x, -dm.y * sm.y);
    return vec4<f32>(s, s);
}

fn chunk_q4(b: u32, j: u32, q: u32) -> vec4<f32> {
    let w = weights[(b + 16u + 32u * (j / 2u) + 4u * q) / 4u] >> (4u * (j % 2u));
    return vec4<f32>(bytes4(w) & vec4<u32>(0xfu));
}
