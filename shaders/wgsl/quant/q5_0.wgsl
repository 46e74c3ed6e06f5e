// q5_0: f16 d, u32 qh, 16 bytes of nibbles placed as in q4_0; element e's fifth bit is bit e of
// qh; x = d * (q - 16).
fn chunk_scale(b: u32, j: u32) -> vec4<f32> {
    let d = load_f16(b);
    return vec4<f32>(d, 0.0, d, 0.0);
}

fn chunk_q4(b: u32, j: u32, q: u32) -> vec4<f32> {
    let w = load_u32(b + 6u + 4u * (q % 4u)) >> (4u * (q / 4u));
    let hi = ((vec4<u32>(load_u32(b + 2u) >> (4u * q)) >> vec4<u32>(0u, 1u, 2u, 3u)) & vec4<u32>(1u)) << vec4<u32>(4u);
    return vec4<f32>((bytes4(w) & vec4<u32>(0xfu)) | hi) - 16.0;
}
