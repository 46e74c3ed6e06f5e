// q5_K: as q4_K plus 32 bytes qh of fifth bits after the scales: element l of sub-block j takes
// bit j of qh[l]. x = d * sc * q - dmin * m. Blocks are 176 bytes: every read is a word.
fn chunk_scale(b: u32, j: u32) -> vec4<f32> {
    let dm = unpack2x16float(weights[b / 4u]);
    let sm = scale_min_k4(b / 4u + 1u, j);
    let s = vec2<f32>(dm.x * sm.x, -dm.y * sm.y);
    return vec4<f32>(s, s);
}

fn chunk_q4(b: u32, j: u32, q: u32) -> vec4<f32> {
    let w = weights[(b + 48u + 32u * (j / 2u) + 4u * q) / 4u] >> (4u * (j % 2u));
    let h = (bytes4(weights[(b + 16u + 4u * q) / 4u] >> j) & vec4<u32>(1u)) << vec4<u32>(4u);
    return vec4<f32>((bytes4(w) & vec4<u32>(0xfu)) | h);
}
