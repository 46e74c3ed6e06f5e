// f32 decode matvec (MoE routers, small projections): y[r, off + i] = sum_k W[i, k] x[r, k] for
// up to 4 batch rows. The lanes of a row read consecutive 16-byte words of it and of x, four
// words of each of its two rows per step.
@group(0) @binding(1) var<storage, read> weights: array<vec4<f32>>;

@compute @workgroup_size(WG)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
        @builtin(local_invocation_index) tid: u32) {
    let i = first_row(wid, nwg, tid) + tid / LANES * 2u;
    let lane = tid % LANES;
    var acc0 = vec4<f32>(0.0);
    var acc1 = vec4<f32>(0.0);
    if i < p.m {
        let n4 = p.k / 4u;
        let base0 = row_index(i) * n4;
        let base1 = row_index(min(i + 1u, p.m - 1u)) * n4;
        for (var c = lane; c < n4; c += 4u * LANES) {
            // Words past the row's end are clamped to it and masked out.
            let c1 = min(c + LANES, n4 - 1u);
            let c2 = min(c + 2u * LANES, n4 - 1u);
            let c3 = min(c + 3u * LANES, n4 - 1u);
            let m = vec4<f32>(vec4<u32>(c) + vec4<u32>(0u, 1u, 2u, 3u) * LANES < vec4<u32>(n4));
            let w00 = weights[base0 + c];
            let w01 = weights[base1 + c];
            let w10 = weights[base0 + c1] * m.y;
            let w11 = weights[base1 + c1] * m.y;
            let w20 = weights[base0 + c2] * m.z;
            let w21 = weights[base1 + c2] * m.z;
            let w30 = weights[base0 + c3] * m.w;
            let w31 = weights[base1 + c3] * m.w;
            for (var r = 0u; r < p.rows; r++) {
                let xr = x_base(r);
                let x0 = x[xr + c];
                let x1 = x[xr + c1];
                let x2 = x[xr + c2];
                let x3 = x[xr + c3];
                let oh = onehot(r);
                acc0 += oh * ((dot(w00, x0) + dot(w10, x1)) + (dot(w20, x2) + dot(w30, x3)));
                acc1 += oh * ((dot(w01, x0) + dot(w11, x1)) + (dot(w21, x2) + dot(w31, x3)));
            }
        }
    }
    store_pair(acc0, acc1, i, tid);
}
