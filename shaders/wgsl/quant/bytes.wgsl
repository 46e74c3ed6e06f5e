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

// Elements 4q..4q+3 of the 32-element chunk `c` of a row that starts at byte `row_byte`. Decoders
// work on four elements at a time so no kernel needs a private array.
fn load_row4(row_byte: u32, c: u32, q: u32) -> vec4<f32> {
    let per_block = BLOCK_ELEMS / 32u;
    return dequant4(row_byte + (c / per_block) * BLOCK_BYTES, c % per_block, q);
}
