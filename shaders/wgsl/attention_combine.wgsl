// Merges the split-K partials of `attention`: for each (head, row), rescales every split's
// output and sum to the largest split max and normalises. Empty splits carry max -3e38, sum 0
// and zero outputs; the output loop stops after the last non-empty split (at shallow depths most
// decode splits are empty).
// With sinks, each head's sink logit joins the softmax's sum (and max) but adds no value.
const MAX_SPLITS: u32 = 256u;

struct Params {
    n_heads: u32,
    head_dim: u32,
    n_splits: u32,
    y_stride: u32,
    has_sinks: u32,
    q8: u32,         // also write y quantized to 8 bits (rows of y_stride; head_dim % 32 == 0)
    pad1: u32,
    pad2: u32,
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> step: Step;
@group(0) @binding(2) var<storage, read> partial: array<f32>;
@group(0) @binding(3) var<storage, read> sinks: array<f32>;
@group(0) @binding(4) var<storage, read_write> y: array<f32>;
@group(0) @binding(5) var<storage, read_write> q8_out: array<u32>;

fn y4(i: u32) -> vec4<f32> {
    return vec4<f32>(y[i], y[i + 1u], y[i + 2u], y[i + 3u]);
}

// Each split's factor exp(max - overall max).
var<workgroup> factor: array<f32, MAX_SPLITS>;

@compute @workgroup_size(WG)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) tid: u32) {
    let h = wid.x;
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
    for (var d = tid; d < p.head_dim; d += WG) {
        let b = base + 2u + d;
        var o = 0.0;
        var s = 0u;
        for (; s + 4u <= n; s += 4u) {
            let o0 = partial[b + s * stride];
            let o1 = partial[b + (s + 1u) * stride];
            let o2 = partial[b + (s + 2u) * stride];
            let o3 = partial[b + (s + 3u) * stride];
            o += o0 * factor[s] + o1 * factor[s + 1u] + o2 * factor[s + 2u] + o3 * factor[s + 3u];
        }
        for (; s < n; s++) {
            o += partial[b + s * stride] * factor[s];
        }
        y[r * p.y_stride + h * p.head_dim + d] = o / l;
    }
    if p.q8 != 0u {
        // The head's blocks, which other threads wrote.
        storageBarrier();
        if tid < p.head_dim / 32u {
            let at = r * p.y_stride + h * p.head_dim + 32u * tid;
            q8_write(r, (h * p.head_dim) / 32u + tid, p.y_stride, y4(at), y4(at + 4u), y4(at + 8u),
                     y4(at + 12u), y4(at + 16u), y4(at + 20u), y4(at + 24u), y4(at + 28u));
        }
    }
}
