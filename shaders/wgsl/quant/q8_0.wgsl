// q8_0: f16 d, 32 x i8 q; x = d * q.
fn chunk_scale(b: u32, j: u32) -> vec4<f32> {
    let d = load_f16(b);
    return vec4<f32>(d, 0.0, d, 0.0);
}

fn chunk_q4(b: u32, j: u32, q: u32) -> vec4<f32> {
    let w = bitcast<vec4<i32>>(vec4<u32>(load_u32(b + 2u + 4u * q)) << vec4<u32>(24u, 16u, 8u, 0u)) >> vec4<u32>(24u);
    return vec4<f32>(w);
}
