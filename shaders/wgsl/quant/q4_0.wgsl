// q4_0: f16 d, 16 bytes of nibbles: element e takes byte e % 16, low nibble for e < 16, high
// for e >= 16; x = d * (q - 8).
fn dequant4(b: u32, j: u32, q: u32) -> vec4<f32> {
    let w = load_u32(b + 2u + 4u * (q % 4u)) >> (4u * (q / 4u));
    return load_f16(b) * (vec4<f32>(bytes4(w) & vec4<u32>(0xfu)) - 8.0);
}
