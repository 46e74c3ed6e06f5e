// x of the kernels that take it quantized to 8 bits (layout in `q8_layout.wgsl`); `x_row(r)`
// is the quantized row of batch row r.
@group(0) @binding(2) var<storage, read> xq: array<vec4<u32>>;

// The codes of elements e..e+15 (e a multiple of 16) of quantized row `row`.
fn q8_codes(row: u32, e: u32) -> vec4<u32> {
    return xq[row * q8_stride(p.k) + e / 16u];
}

// (d, d sum(q)) of blocks b and b + 1 (b even) of quantized row `row`.
fn q8_scales(row: u32, b: u32) -> vec4<f32> {
    return bitcast<vec4<f32>>(xq[row * q8_stride(p.k) + p.k / 16u + b / 2u]);
}
