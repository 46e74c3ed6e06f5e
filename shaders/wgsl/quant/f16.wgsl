// f16: IEEE half floats; kernels see 32-element pseudo-blocks.
fn dequant_chunk(b: u32, j: u32) -> array<f32, 32> {
    var out: array<f32, 32>;
    for (var i = 0u; i < 16u; i++) {
        let v = unpack2x16float(load_u32(b + 4u * i));
        out[2u * i] = v.x;
        out[2u * i + 1u] = v.y;
    }
    return out;
}
