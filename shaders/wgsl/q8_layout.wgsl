// Rows of x quantized to 8 bits (written by `quantize_q8.wgsl`), as 16-byte words: a row of k
// elements holds its codes (k / 16 words, 16 i8 each, in order), then per pair of 32-element
// blocks one word (d, d sum(q)) of each block as f32 bits, the last padded.
fn q8_stride(k: u32) -> u32 {
    return k / 16u + (k + 63u) / 64u;
}
