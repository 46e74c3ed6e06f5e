// Writing x quantized to 8 bits (layout in `q8_layout.wgsl`) into the module's `q8_out`
// binding (an array<u32>): codes q = round(x / d) with d = max|x| / 127, stored with d and
// d * sum(q). `q8_write` takes a whole block from one thread; glu's and matvec_add_norm's threads
// share a block, with the same pieces.
fn q8_amax4(v: vec4<f32>) -> f32 {
    let a = abs(v);
    return max(max(a.x, a.y), max(a.z, a.w));
}

fn q8_codes4(v: vec4<f32>, inv: f32) -> vec4<i32> {
    return vec4<i32>(round(v * inv));
}

// The 1 / d that codes a block of largest magnitude amax.
fn q8_inv(amax: f32) -> f32 {
    return select(0.0, 127.0 / amax, amax > 0.0);
}

// The word index in q8_out of quantized row `row` (rows of k elements).
fn q8_row_word(row: u32, k: u32) -> u32 {
    return 4u * row * q8_stride(k);
}

// Writes the scales of block b of the row at word `at`: d and d * sum(q).
fn q8_write_scales(at: u32, b: u32, k: u32, amax: f32, sum: i32) {
    let d = amax / 127.0;
    let sc = at + k / 4u + 2u * b;
    q8_out[sc] = bitcast<u32>(d);
    q8_out[sc + 1u] = bitcast<u32>(d * f32(sum));
}

fn q8_write(row: u32, b: u32, k: u32, v0: vec4<f32>, v1: vec4<f32>, v2: vec4<f32>, v3: vec4<f32>,
            v4: vec4<f32>, v5: vec4<f32>, v6: vec4<f32>, v7: vec4<f32>) {
    let amax = max(max(max(q8_amax4(v0), q8_amax4(v1)), max(q8_amax4(v2), q8_amax4(v3))),
                   max(max(q8_amax4(v4), q8_amax4(v5)), max(q8_amax4(v6), q8_amax4(v7))));
    let inv = q8_inv(amax);
    let c0 = q8_codes4(v0, inv);
    let c1 = q8_codes4(v1, inv);
    let c2 = q8_codes4(v2, inv);
    let c3 = q8_codes4(v3, inv);
    let c4 = q8_codes4(v4, inv);
    let c5 = q8_codes4(v5, inv);
    let c6 = q8_codes4(v6, inv);
    let c7 = q8_codes4(v7, inv);
    let at = q8_row_word(row, k);
    let o = at + 8u * b;
    q8_out[o] = pack4xI8(c0);
    q8_out[o + 1u] = pack4xI8(c1);
    q8_out[o + 2u] = pack4xI8(c2);
    q8_out[o + 3u] = pack4xI8(c3);
    q8_out[o + 4u] = pack4xI8(c4);
    q8_out[o + 5u] = pack4xI8(c5);
    q8_out[o + 6u] = pack4xI8(c6);
    q8_out[o + 7u] = pack4xI8(c7);
    let s = ((c0 + c1) + (c2 + c3)) + ((c4 + c5) + (c6 + c7));
    q8_write_scales(at, b, k, amax, (s.x + s.y) + (s.z + s.w));
}
