// Shared by the per-format matvec kernels (`matvec/<type>.wgsl`): the parameters and the x and y
// bindings of `matvec.wgsl`; each kernel binds its weights itself, as u32 or vec4<u32> words.
//
// These kernels give each group of LANES threads two weight rows, which share every x load, and
// keep several weight loads per thread in flight before any arithmetic: a decode step reads
// each weight once, so the kernels are bound by memory latency and by the work per weight.
const MATVEC_ROWS: u32 = WG / LANES * 2u;

struct Params {
    k: u32,          // columns (input features)
    m: u32,          // output features held by this weight part
    row_bytes: u32,  // bytes per weight row
    out_off: u32,    // first output feature of this part
    rows: u32,       // batch rows (the bucket), at most 4
    x_stride: u32,
    y_stride: u32,
    pad: u32,
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(2) var<storage, read> x: array<vec4<f32>>;
@group(0) @binding(3) var<storage, read_write> y: array<f32>;

// 1 in component r: adds batch row r's sum to an accumulator without indexing it dynamically.
fn onehot(r: u32) -> vec4<f32> {
    return vec4<f32>(vec4<u32>(r) == vec4<u32>(0u, 1u, 2u, 3u));
}

// The bytes of w as floats (exact).
fn bytes_f32(w: u32) -> vec4<f32> {
    return vec4<f32>((vec4<u32>(w) >> vec4<u32>(0u, 8u, 16u, 24u)) & vec4<u32>(0xffu));
}

// Reduces the two rows' accumulators over each group of LANES threads and writes them: rows i
// and i + 1 (where they exist), one component per batch row. Called from uniform control flow.
fn store_pair(acc0: vec4<f32>, acc1: vec4<f32>, i: u32, tid: u32) {
    let t0 = lanes_sum(acc0, tid);
    workgroupBarrier();
    let t1 = lanes_sum(acc1, tid);
    if tid % LANES == 0u {
        for (var r = 0u; r < p.rows; r++) {
            let o = r * p.y_stride + p.out_off + i;
            if i < p.m {
                y[o] = t0[r];
            }
            if i + 1u < p.m {
                y[o + 1u] = t1[r];
            }
        }
    }
}
