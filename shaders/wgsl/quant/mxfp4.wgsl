// mxfp4: an E8M0 exponent byte e, then 16 bytes of nibbles placed as in q4_0;
// x = kvalues_mxfp4[q] * 2^(e - 128) (the format's 2^(e - 127), halved for the doubled table).
fn chunk_scale(b: u32, j: u32) -> vec4<f32> {
    let e = load_u8(b);
    // 2^(e - 128) from its bits, as ggml builds it: e < 2 needs a subnormal.
    let d = bitcast<f32>(select((e - 1u) << 23u, 0x00200000u << (e & 1u), e < 2u));
    return vec4<f32>(d, 0.0, d, 0.0);
}

fn chunk_q4(b: u32, j: u32, q: u32) -> vec4<f32> {
    let w = load_u32(b + 1u + 4u * (q % 4u)) >> (4u * (q / 4u));
    return kvalues4(KVALUES_MXFP4, bytes4(w) & vec4<u32>(0xfu));
}
