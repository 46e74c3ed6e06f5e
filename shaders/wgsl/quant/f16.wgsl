// f16: IEEE half floats; kernels see 32-element pseudo-blocks.
fn chunk_scale(b: u32, j: u32) -> vec4<f32> {
    return vec4<f32>(1.0, 0.0, 1.0, 0.0);
}

fn chunk_q4(b: u32, j: u32, q: u32) -> vec4<f32> {
    let o = b + 8u * q;
    return vec4<f32>(unpack2x16float(load_u32(o)), unpack2x16float(load_u32(o + 4u)));
}
