// Shared by the per-format matvec kernels (`matvec/<type>.wgsl`), which bind their weights
// themselves, as u32 or vec4<u32> words. `plain.wgsl` (matvec), `glu.wgsl` (matvec_glu),
// `rope.wgsl` (matvec_rope), `add_norm.wgsl` (matvec_add_norm) or `experts.wgsl` (matvec_id)
// follows with the parameters, the x and y bindings and the hooks a kernel addresses rows with:
// `first_row` (which also starts any loads the side wants before the product), `row_index` (the
// weight row of output feature i), `x_base` (the vec4 index of batch row r's x), `x_row` (its
// quantized row) and `store_pair`; plain, glu and rope share `first_row` and `x_row`
// (`in_order.wgsl`) and scale their sums by `x_scale` (`x_normed.wgsl` or `x_unscaled.wgsl`).
//
// These kernels give each group of LANES threads two weight rows, which share every x load, and
// keep several weight loads per thread in flight before any arithmetic: a decode step reads
// each weight once, so the kernels are bound by memory latency and by the work per weight.
const MATVEC_ROWS: u32 = WG / LANES * 2u;

// 1 in component r: adds batch row r's sum to an accumulator without indexing it dynamically.
fn onehot(r: u32) -> vec4<f32> {
    return vec4<f32>(vec4<u32>(r) == vec4<u32>(0u, 1u, 2u, 3u));
}

// The bytes of w as floats (exact).
fn bytes_f32(w: u32) -> vec4<f32> {
    return vec4<f32>((vec4<u32>(w) >> vec4<u32>(0u, 8u, 16u, 24u)) & vec4<u32>(0xffu));
}

