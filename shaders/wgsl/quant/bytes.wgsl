// Byte-addressed reads of GGUF block data bound as `weights: array<u32>`. GGUF blocks (18, 22, 34,
// 210 bytes, ...) are not multiples of 4, so fields sit at arbitrary byte offsets.

fn load_u32(b: u32) -> u32 {
    let i = b >> 2u;
    let s = (b & 3u) * 8u;
    if s == 0u {
        return weights[i];
    }
    return (weights[i] >> s) | (weights[i + 1u] << (32u - s));
}

fn load_u8(b: u32) -> u32 {
    return (weights[b >> 2u] >> ((b & 3u) * 8u)) & 0xffu;
}

fn load_f16(b: u32) -> f32 {
    return unpack2x16float(load_u32(b) & 0xffffu).x;
}

// The four bytes of w as unsigned values.
fn bytes4(w: u32) -> vec4<u32> {
    return (vec4<u32>(w) >> vec4<u32>(0u, 8u, 16u, 24u)) & vec4<u32>(0xffu);
}

// Each decoder splits a 32-element chunk j of the block at byte b into a scale and offset
// (`chunk_scale`: (scale, offset) for elements 0..15, then for 16..31) and quantized values four
// at a time (`chunk_q4`, q = 0..7), so kernels can hoist the scale out of their inner loops and no
// kernel needs a private array. Element value = scale * value + offset.

// Byte offset of the block holding chunk `c` of a row starting at `row_byte`, and the chunk's
// index within that block.
fn chunk_at(row_byte: u32, c: u32) -> vec2<u32> {
    let per_block = BLOCK_ELEMS / 32u;
    return vec2<u32>(row_byte + (c / per_block) * BLOCK_BYTES, c % per_block);
}

// Elements 4q..4q+3 of chunk `c` of a row, dequantized.
fn load_row4(row_byte: u32, c: u32, q: u32) -> vec4<f32> {
    let at = chunk_at(row_byte, c);
    let s = chunk_scale(at.x, at.y);
    let p = select(s.zw, s.xy, q < 4u);
    return p.x * chunk_q4(at.x, at.y, q) + p.y;
}
