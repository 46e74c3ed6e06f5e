// Weights bound as u32 words (q5_0, q6_K, q8_0): their blocks are 22, 210 and 34 bytes, so half
// of them sit 2 bytes off a word boundary.
@group(0) @binding(1) var<storage, read> weights: array<u32>;

// The 4 bytes at even byte offset b, put together from two loads when b is 2 bytes off.
fn load_u32_even(b: u32) -> u32 {
    let i = b >> 2u;
    let lo = weights[i];
    let hi = weights[i + 1u];
    return select(lo, (lo >> 16u) | (hi << 16u), (b & 2u) != 0u);
}

// The f16 at even byte offset b (never straddles a word).
fn load_f16_even(b: u32) -> f32 {
    return unpack2x16float(weights[b >> 2u] >> (8u * (b & 2u))).x;
}
