// f32: plain little-endian floats; kernels see 32-element pseudo-blocks.
fn chunk_scale(b: u32, j: u32) -> vec4<f32> {
    return vec4<f32>(1.0, 0.0, 1.0, 0.0);
}

fn chunk_q4(b: u32, j: u32, q: u32) -> vec4<f32> {
    let o = b + 16u * q;
    return bitcast<vec4<f32>>(vec4<u32>(load_u32(o), load_u32(o + 4u), load_u32(o + 8u), load_u32(o + 12u)));
}
