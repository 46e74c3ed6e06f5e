// Table formats (iq4_nl, iq4_xs, mxfp4) map each 4-bit code through 16 signed byte values. A
// table is packed four bytes to a word, code c being byte c % 4 of component c / 4, so a lookup
// is a vector index and a shift: an indexed array would be copied to private memory on some
// targets at every call.

// ggml's kvalues_iq4nl: -127, -104, -83, -65, -49, -35, -22, -10, 1, 13, 25, 38, 53, 69, 89, 113.
const KVALUES_IQ4NL = vec4<u32>(0xbfad9881u, 0xf6eaddcfu, 0x26190d01u, 0x71594535u);
// ggml's kvalues_mxfp4, the E2M1 values doubled: 0, 1, 2, 3, 4, 6, 8, 12, then their negatives.
const KVALUES_MXFP4 = vec4<u32>(0x03020100u, 0x0c080604u, 0xfdfeff00u, 0xf4f8fafcu);

// The table values of four codes.
fn kvalues4(table: vec4<u32>, c: vec4<u32>) -> vec4<f32> {
    let w = vec4<u32>(table[c.x >> 2u], table[c.y >> 2u], table[c.z >> 2u], table[c.w >> 2u]);
    // Move each code's byte to the top, then shift it down arithmetically to sign-extend it.
    let top = w << (vec4<u32>(24u) - 8u * (c & vec4<u32>(3u)));
    return vec4<f32>(bitcast<vec4<i32>>(top) >> vec4<u32>(24u));
}
