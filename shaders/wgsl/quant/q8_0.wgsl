// q8_0: f16 d, 32 x i8 q; x = d * q.
fn dequant_chunk(b: u32, j: u32) -> array<f32, 32> {
    var out: array<f32, 32>;
    let d = load_f16(b);
    for (var i = 0u; i < 8u; i++) {
        let w = bitcast<i32>(load_u32(b + 2u + 4u * i));
        for (var k = 0u; k < 4u; k++) {
            out[4u * i + k] = d * f32(extractBits(w, 8u * k, 8u));
        }
    }
    return out;
}
