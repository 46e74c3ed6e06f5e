// The 6-bit scale and min of sub-block j (0..7) packed in the 12 bytes from word w (q4_K, q5_K:
// their 144- and 176-byte blocks keep them on words). Sub-block j < 4 has them in bytes j and
// 4 + j; j >= 4 has its low 4 bits in byte 4 + j and its high 2 in the top bits of j - 4 and j.
fn scale_min_k4(w: u32, j: u32) -> vec2<f32> {
    let sh = 8u * (j % 4u);
    let a = (weights[w] >> sh) & 0xffu;
    let m = (weights[w + 1u] >> sh) & 0xffu;
    let c = (weights[w + 2u] >> sh) & 0xffu;
    if j < 4u {
        return vec2<f32>(f32(a & 63u), f32(m & 63u));
    }
    return vec2<f32>(f32((c & 0xfu) | ((a >> 6u) << 4u)), f32((c >> 4u) | ((m >> 6u) << 4u)));
}
