// bf16: the top 16 bits of an f32; kernels see 32-element pseudo-blocks.
fn dequant_chunk(b: u32, j: u32) -> array<f32, 32> {
    var out: array<f32, 32>;
    for (var i = 0u; i < 16u; i++) {
        let w = load_u32(b + 4u * i);
        out[2u * i] = bitcast<f32>(w << 16u);
        out[2u * i + 1u] = bitcast<f32>(w & 0xffff0000u);
    }
    return out;
}
