// The 6-bit scale and min of sub-block j (0..7) packed in the 12 bytes at `s` (q4_K, q5_K).
fn scale_min_k4(s: u32, j: u32) -> vec2<f32> {
    if j < 4u {
        return vec2<f32>(f32(load_u8(s + j) & 63u), f32(load_u8(s + j + 4u) & 63u));
    }
    let sc = (load_u8(s + j + 4u) & 0xfu) | ((load_u8(s + j - 4u) >> 6u) << 4u);
    let mn = (load_u8(s + j + 4u) >> 4u) | ((load_u8(s + j) >> 6u) << 4u);
    return vec2<f32>(f32(sc), f32(mn));
}
