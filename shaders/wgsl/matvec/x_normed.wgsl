// x quantized to 8 bits by matvec_add_norm (add_norm.wgsl): a residual sum times its RMS norm's
// weight, the norm's 1 / rms still missing. The 8-bit copy is the same for any positive multiple
// of x, so the kernel scales its sums instead, by 1 / sqrt of the sum of `norm_parts` (each
// 32-element block's share of the mean square and of eps, a vec4 over the batch rows). The
// variant declares `norm_parts` at the side's next binding.
var<private> x_parts: vec4<f32>;

// Starts this lane's loads of the shares, before the product.
fn x_begin(tid: u32) {
    var s = vec4<f32>(0.0);
    for (var b = tid % LANES; b < p.k / 32u; b += LANES) {
        s += norm_parts[b];
    }
    x_parts = s;
}

// Each batch row's 1 / rms. Called from uniform control flow after a `lanes_sum`.
fn x_scale(tid: u32) -> vec4<f32> {
    workgroupBarrier();
    let ms = lanes_sum(x_parts, tid);
    return select(vec4<f32>(1.0), inverseSqrt(ms), ms > vec4<f32>(0.0));
}
