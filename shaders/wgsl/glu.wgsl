// Gated activations: y = act(gate) * up, elementwise over the batch (gpt-oss's variant also
// clamps and offsets). y has rows of `cols`; gate and up have their own row strides, so both may
// be views of one stacked matmul's output.
struct Params {
    n: u32,
    cols: u32,
    gate_stride: u32,
    up_stride: u32,
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> gate_in: array<f32>;
@group(0) @binding(2) var<storage, read> up_in: array<f32>;
@group(0) @binding(3) var<storage, read_write> y: array<f32>;

fn gate(i: u32) -> f32 {
    return gate_in[i / p.cols * p.gate_stride + i % p.cols];
}

fn up(i: u32) -> f32 {
    return up_in[i / p.cols * p.up_stride + i % p.cols];
}

// GELU, tanh approximation (as Gemma and llama.cpp use it).
fn gelu(x: f32) -> f32 {
    let c = 0.7978845608028654;
    let t = tanh(clamp(c * (x + 0.044715 * x * x * x), -15.0, 15.0));
    return 0.5 * x * (1.0 + t);
}

fn silu(x: f32) -> f32 {
    return x / (1.0 + exp(-x));
}

@compute @workgroup_size(WG)
fn geglu(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
         @builtin(local_invocation_index) tid: u32) {
    let i = flat_group(wid, nwg) * WG + tid;
    if i < p.n {
        y[i] = gelu(gate(i)) * up(i);
    }
}

@compute @workgroup_size(WG)
fn swiglu(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
          @builtin(local_invocation_index) tid: u32) {
    let i = flat_group(wid, nwg) * WG + tid;
    if i < p.n {
        y[i] = silu(gate(i)) * up(i);
    }
}

// gpt-oss: the gate clamped above and the up projection on both sides at 7, a sigmoid of
// 1.702 * gate, and up offset by 1.
@compute @workgroup_size(WG)
fn swiglu_oai(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
              @builtin(local_invocation_index) tid: u32) {
    let i = flat_group(wid, nwg) * WG + tid;
    if i < p.n {
        let g = min(gate(i), 7.0);
        let u = clamp(up(i), -7.0, 7.0);
        y[i] = g / (1.0 + exp(-1.702 * g)) * (u + 1.0);
    }
}
