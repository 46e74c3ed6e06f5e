// iq4_nl: f16 d, 16 bytes of nibbles placed as in q4_0; x = d * kvalues_iq4nl[q].
fn chunk_scale(b: u32, j: u32) -> vec4<f32> {
    let d = load_f16(b);
    return vec4<f32>(d, 0.0, d, 0.0);
}

fn chunk_q4(b: u32, j: u32, q: u32) -> vec4<f32> {
    let w = load_u32(b + 2u + 4u * (q % 4u)) >> (4u * (q / 4u));
    return kvalues4(KVALUES_IQ4NL, bytes4(w) & vec4<u32>(0xfu));
}
