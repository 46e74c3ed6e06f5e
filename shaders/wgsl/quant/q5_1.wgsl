// q5_1: f16 d, f16 m, u32 qh, 16 bytes of nibbles, bits placed as in q5_0; x = d * q + m.
fn chunk_scale(b: u32, j: u32) -> vec4<f32> {
    let dm = unpack2x16float(load_u32(b));
    return vec4<f32>(dm, dm);
}

fn chunk_q4(b: u32, j: u32, q: u32) -> vec4<f32> {
    let w = load_u32(b + 8u + 4u * (q % 4u)) >> (4u * (q / 4u));
    let hi = ((vec4<u32>(load_u32(b + 4u) >> (4u * q)) >> vec4<u32>(0u, 1u, 2u, 3u)) & vec4<u32>(1u)) << vec4<u32>(4u);
    return vec4<f32>((bytes4(w) & vec4<u32>(0xfu)) | hi);
}
