// Merges the split-K partials of `attention`: for each (head, row), rescales every split's
// output and sum to the largest split max and normalises. Empty splits carry max -3e38 and sum 0.
// With sinks, each head's sink logit joins the softmax's sum (and max) but adds no value.
struct Params {
    n_heads: u32,
    head_dim: u32,
    n_splits: u32,
    y_stride: u32,
    has_sinks: u32,
    pad0: u32,
    pad1: u32,
    pad2: u32,
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> step: Step;
@group(0) @binding(2) var<storage, read> partial: array<f32>;
@group(0) @binding(3) var<storage, read> sinks: array<f32>;
@group(0) @binding(4) var<storage, read_write> y: array<f32>;

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
    for (var s = 0u; s < p.n_splits; s++) {
        mx = max(mx, partial[base + s * stride]);
    }
    var l = 0.0;
    if p.has_sinks != 0u {
        mx = max(mx, sinks[h]);
        l = exp(sinks[h] - mx);
    }
    for (var s = 0u; s < p.n_splits; s++) {
        l += partial[base + s * stride + 1u] * exp(partial[base + s * stride] - mx);
    }
    for (var d = tid; d < p.head_dim; d += WG) {
        var o = 0.0;
        for (var s = 0u; s < p.n_splits; s++) {
            o += partial[base + s * stride + 2u + d] * exp(partial[base + s * stride] - mx);
        }
        y[r * p.y_stride + h * p.head_dim + d] = o / l;
    }
}
