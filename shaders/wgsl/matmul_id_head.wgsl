// The parameters and bindings of the prefill expert products, matmul_id and matmul_id_coop (one
// layout, filled by `plan.rs`): the routed pairs of a weight part's experts, grouped per expert
// by moe_group.
struct Params {
    k: u32,             // columns (input features)
    m: u32,             // output features of one expert
    row_bytes: u32,
    n_used: u32,        // experts per batch row
    x_stride: u32,      // k: one input per row; n_used * k: one per pair
    first_expert: u32,  // the part's first expert
    split: u32,         // features of each matrix stacked per expert (m when one)
    rows: u32,          // batch rows of the bucket
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> weights: array<u32>;
@group(0) @binding(2) var<storage, read> x: array<vec4<f32>>;
@group(0) @binding(3) var<storage, read> groups: array<u32>;
@group(0) @binding(4) var<storage, read_write> y: array<f32>;
