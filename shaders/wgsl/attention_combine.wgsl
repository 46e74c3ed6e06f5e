// Merges the split-K partials of `attention`: for each (head, row), rescales every split's
// output and sum to the largest split max and normalises. Empty splits carry max -3e38 and sum 0
// and come after the others; the output loop stops after the last non-empty split, so an empty
// split's outputs are never read (at shallow depths most decode splits are empty, and decode
// attention writes no outputs for them). A workgroup takes `dims` of a head's dimensions, WG / dims threads
// per dimension each summing a share of the splits with eight loads in flight: decode steps
// give it 32 (a block of the 8-bit copy), as at depth 16384 a workgroup per head walking its 64
// splits a few loads at a time took 25 us; prefill chunks, with few splits and many rows, give
// it the whole head.
// With sinks, each head's sink logit joins the softmax's sum (and max) but adds no value.
const MAX_SPLITS: u32 = 256u;

struct Params {
    n_heads: u32,
    head_dim: u32,
    n_splits: u32,
    y_stride: u32,
    has_sinks: u32,
    q8: u32,         // also write y quantized to 8 bits (rows of y_stride; head_dim % 32 == 0)
    dims: u32,       // dimensions per workgroup: 32 or head_dim, at most WG
    pad: u32,
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> step: Step;
@group(0) @binding(2) var<storage, read> partial: array<f32>;
@group(0) @binding(3) var<storage, read> sinks: array<f32>;
@group(0) @binding(4) var<storage, read_write> y: array<f32>;
@group(0) @binding(5) var<storage, read_write> q8_out: array<u32>;

// Each split's factor exp(max - overall max).
var<workgroup> factor: array<f32, MAX_SPLITS>;
// Each thread's sum over its splits, then the workgroup's normalised outputs.
var<workgroup> sums: array<f32, WG>;

fn out4(i: u32) -> vec4<f32> {
    return vec4<f32>(sums[i], sums[i + 1u], sums[i + 2u], sums[i + 3u]);
}

@compute @workgroup_size(WG)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) tid: u32) {
    let chunks = (p.head_dim + p.dims - 1u) / p.dims;
    let h = wid.x / chunks;
    let dim0 = (wid.x % chunks) * p.dims;
    let r = wid.y;
    if r >= step.n_rows {
        return;
    }
    let stride = p.head_dim + 2u;
    let base = (r * p.n_heads + h) * p.n_splits * stride;
    var mx = -3.0e38;
    var used = 0.0;
    for (var s = tid; s < p.n_splits; s += WG) {
        mx = max(mx, partial[base + s * stride]);
        if partial[base + s * stride + 1u] > 0.0 {
            used = f32(s + 1u);
        }
    }
    if p.has_sinks != 0u {
        mx = max(mx, sinks[h]);
    }
    mx = block_max(mx, tid);
    let n = u32(block_max(used, tid));
    var l = 0.0;
    for (var s = tid; s < n; s += WG) {
        let f = exp(partial[base + s * stride] - mx);
        factor[s] = f;
        l += partial[base + s * stride + 1u] * f;
    }
    l = block_sum(l, tid);
    if p.has_sinks != 0u {
        l += exp(sinks[h] - mx);
    }
    // Thread tid sums splits lane, lane + lanes, .. of dimension dim0 + tid % dims.
    let lanes = WG / p.dims;
    let lane = tid / p.dims;
    let dim = dim0 + tid % p.dims;
    var o = 0.0;
    if dim < p.head_dim && lane < lanes {
        let b = base + 2u + dim;
        var s = lane;
        for (; s + 7u * lanes < n; s += 8u * lanes) {
            let o0 = partial[b + s * stride];
            let o1 = partial[b + (s + lanes) * stride];
            let o2 = partial[b + (s + 2u * lanes) * stride];
            let o3 = partial[b + (s + 3u * lanes) * stride];
            let o4 = partial[b + (s + 4u * lanes) * stride];
            let o5 = partial[b + (s + 5u * lanes) * stride];
            let o6 = partial[b + (s + 6u * lanes) * stride];
            let o7 = partial[b + (s + 7u * lanes) * stride];
            o += ((o0 * factor[s] + o1 * factor[s + lanes]) + (o2 * factor[s + 2u * lanes]
                + o3 * factor[s + 3u * lanes])) + ((o4 * factor[s + 4u * lanes]
                + o5 * factor[s + 5u * lanes]) + (o6 * factor[s + 6u * lanes]
                + o7 * factor[s + 7u * lanes]));
        }
        for (; s < n; s += lanes) {
            o += partial[b + s * stride] * factor[s];
        }
    }
    sums[tid] = o;
    workgroupBarrier();
    if tid < p.dims {
        var t = 0.0;
        for (var k = 0u; k < lanes; k++) {
            t += sums[tid + k * p.dims];
        }
        t /= l;
        if dim < p.head_dim {
            y[r * p.y_stride + h * p.head_dim + dim] = t;
        }
        // The lanes' sums were read by this thread alone.
        sums[tid] = t;
    }
    if p.q8 != 0u {
        // The blocks, which other threads wrote.
        workgroupBarrier();
        if tid < p.dims / 32u {
            let o = 32u * tid;
            q8_write(r, (h * p.head_dim + dim0) / 32u + tid, p.y_stride, out4(o), out4(o + 4u),
                     out4(o + 8u), out4(o + 12u), out4(o + 16u), out4(o + 20u), out4(o + 24u),
                     out4(o + 28u));
        }
    }
}
