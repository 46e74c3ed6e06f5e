// x of the kernels that take it as f32; `x_base(r)` is the vec4 index of batch row r.
@group(0) @binding(2) var<storage, read> x: array<vec4<f32>>;
