// x as it came: the sums need no scale (see x_normed.wgsl).
fn x_begin(tid: u32) {}

fn x_scale(tid: u32) -> vec4<f32> {
    return vec4<f32>(1.0);
}
