// The rotation of RoPE pair i at position pos, for the kernels that rotate (their Params have
// mscale, and they bind the per-pair frequencies as `freqs`).
fn rotation(pos: u32, i: u32) -> vec2<f32> {
    let theta = f32(pos) * freqs[i];
    return vec2<f32>(cos(theta), sin(theta)) * p.mscale;
}
