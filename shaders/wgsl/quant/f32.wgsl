// f32: plain little-endian floats; kernels see 32-element pseudo-blocks.
fn dequant4(b: u32, j: u32, q: u32) -> vec4<f32> {
    let o = b + 16u * q;
    return bitcast<vec4<f32>>(vec4<u32>(load_u32(o), load_u32(o + 4u), load_u32(o + 8u), load_u32(o + 12u)));
}
