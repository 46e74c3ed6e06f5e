// Gated activations: y = act(gate) * up, elementwise over the batch (gpt-oss's variant also
// clamps and offsets). y has rows of `cols`; gate and up have their own row strides, so both may
// be views of one stacked matmul's output. With q8_k set, each thread takes a 32-element block
// of y instead of one element and also writes it quantized to 8 bits, in rows of q8_k (which
// divides cols), for the matvec after it.
struct Params {
    n: u32,
    cols: u32,
    gate_stride: u32,
    up_stride: u32,
    q8_k: u32,
    pad0: u32,
    pad1: u32,
    pad2: u32,
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> gate_in: array<f32>;
@group(0) @binding(2) var<storage, read> up_in: array<f32>;
@group(0) @binding(3) var<storage, read_write> y: array<f32>;
@group(0) @binding(4) var<storage, read_write> q8_out: array<u32>;

const GELU: u32 = 0u;
const SILU: u32 = 1u;
const SILU_OAI: u32 = 2u;

// Element c of row r of the gate and of the up projection.
fn gate(r: u32, c: u32) -> f32 {
    return gate_in[r * p.gate_stride + c];
}

fn up(r: u32, c: u32) -> f32 {
    return up_in[r * p.up_stride + c];
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

// Element c of row r of y; gpt-oss's variant clamps the gate above and up on both sides at 7,
// takes a sigmoid of 1.702 * gate and offsets up by 1.
fn act(kind: u32, r: u32, c: u32) -> f32 {
    switch kind {
        case GELU: {
            return gelu(gate(r, c)) * up(r, c);
        }
        case SILU: {
            return silu(gate(r, c)) * up(r, c);
        }
        default: {
            let g = min(gate(r, c), 7.0);
            let u = clamp(up(r, c), -7.0, 7.0);
            return g / (1.0 + exp(-1.702 * g)) * (u + 1.0);
        }
    }
}

// Elements c..c+3 of row r of y, written and returned.
fn act4(kind: u32, r: u32, c: u32) -> vec4<f32> {
    let v = vec4<f32>(act(kind, r, c), act(kind, r, c + 1u), act(kind, r, c + 2u),
                      act(kind, r, c + 3u));
    let i = r * p.cols + c;
    y[i] = v.x;
    y[i + 1u] = v.y;
    y[i + 2u] = v.z;
    y[i + 3u] = v.w;
    return v;
}

fn run(kind: u32, wid: vec3<u32>, nwg: vec3<u32>, tid: u32) {
    let i = flat_group(wid, nwg) * WG + tid;
    if p.q8_k == 0u {
        if i < p.n {
            y[i] = act(kind, i / p.cols, i % p.cols);
        }
        return;
    }
    if i >= p.n / 32u {
        return;
    }
    // Blocks do not cross rows (q8_k, a multiple of 32, divides cols).
    let e = 32u * i;
    let r = e / p.cols;
    let c = e % p.cols;
    q8_write(e / p.q8_k, e % p.q8_k / 32u, p.q8_k, act4(kind, r, c), act4(kind, r, c + 4u),
             act4(kind, r, c + 8u), act4(kind, r, c + 12u), act4(kind, r, c + 16u),
             act4(kind, r, c + 20u), act4(kind, r, c + 24u), act4(kind, r, c + 28u));
}

@compute @workgroup_size(WG)
fn geglu(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
         @builtin(local_invocation_index) tid: u32) {
    run(GELU, wid, nwg, tid);
}

@compute @workgroup_size(WG)
fn swiglu(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
          @builtin(local_invocation_index) tid: u32) {
    run(SILU, wid, nwg, tid);
}

@compute @workgroup_size(WG)
fn swiglu_oai(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
              @builtin(local_invocation_index) tid: u32) {
    run(SILU_OAI, wid, nwg, tid);
}
