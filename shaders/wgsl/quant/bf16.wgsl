// bf16: the top 16 bits of an f32; kernels see 32-element pseudo-blocks.
fn chunk_scale(b: u32, j: u32) -> vec4<f32> {
    return vec4<f32>(1.0, 0.0, 1.0, 0.0);
}

fn chunk_q4(b: u32, j: u32, q: u32) -> vec4<f32> {
    let o = b + 8u * q;
    let w0 = load_u32(o);
    let w1 = load_u32(o + 4u);
    return bitcast<vec4<f32>>(vec4<u32>(w0 << 16u, w0 & 0xffff0000u, w1 << 16u, w1 & 0xffff0000u));
}
