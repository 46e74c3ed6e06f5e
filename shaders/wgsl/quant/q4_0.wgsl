// q4_0: f16 d, 16 bytes of nibbles: element e takes byte e % 16, low nibble for e < 16, high
// for e >= 16; x = d * (q - 8).
fn chunk_scale(b: u32, j: u32) -> vec4<f32> {
    let d = load_f16(b);
    return vec4<f32>(d, 0.0, d, 0.0);
}

fn chunk_q4(b: u32, j: u32, q: u32) -> vec4<f32> {
    let w = load_u32(b + 2u + 4u * (q % 4u)) >> (4u * (q / 4u));
    return vec4<f32>(bytes4(w) & vec4<u32>(0xfu)) - 8.0;
}
