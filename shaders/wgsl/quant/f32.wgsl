// f32: plain little-endian floats; kernels see 32-element pseudo-blocks.
fn dequant_chunk(b: u32, j: u32) -> array<f32, 32> {
    var out: array<f32, 32>;
    for (var i = 0u; i < 32u; i++) {
        out[i] = bitcast<f32>(load_u32(b + 4u * i));
    }
    return out;
}
