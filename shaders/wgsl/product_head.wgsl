// The parameters and bindings of the weight products that share the generic decoders: the
// generic matvec, matmul and matmul_coop (one layout, filled by `plan.rs` for all three).

struct Params {
    k: u32,          // columns (input features), a multiple of 32
    m: u32,          // output features held by this weight part
    row_bytes: u32,  // bytes per weight row
    out_off: u32,    // first output feature of this part
    rows: u32,       // batch rows (the bucket)
    x_stride: u32,
    y_stride: u32,
    pad: u32,
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> weights: array<u32>;
@group(0) @binding(2) var<storage, read> x: array<vec4<f32>>;
@group(0) @binding(3) var<storage, read_write> y: array<f32>;
