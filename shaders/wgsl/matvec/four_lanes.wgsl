// The main of the decode matvec kernels of 32-element blocks that four lanes share (q8_0,
// q5_0): lane t takes weights 8t..8t+7 of a block, so neighbouring lanes read neighbouring x;
// each lane takes four blocks of each of its two rows per step (a pass of the group covers 8
// blocks), which keeps about thirty loads per lane in flight. The format's file gives
// `block_load(o, t)` (lane t's part of the block at byte o) and `block_dot` (that part against
// its 8 x values); BLOCK_BYTES comes from the variant.

@compute @workgroup_size(WG)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
        @builtin(local_invocation_index) tid: u32) {
    let i = first_row(wid, nwg, tid) + tid / LANES * 2u;
    let lane = tid % LANES;
    let t = lane % 4u;
    let step = LANES / 4u;
    var acc0 = vec4<f32>(0.0);
    var acc1 = vec4<f32>(0.0);
    if i < p.m {
        let nb = p.k / 32u;
        let base0 = row_index(i) * p.row_bytes;
        let base1 = row_index(min(i + 1u, p.m - 1u)) * p.row_bytes;
        for (var b = lane / 4u; b < nb; b += 4u * step) {
            // Blocks past the row's end are clamped to it and masked out.
            let b1 = min(b + step, nb - 1u);
            let b2 = min(b + 2u * step, nb - 1u);
            let b3 = min(b + 3u * step, nb - 1u);
            let m1 = select(0.0, 1.0, b + step < nb);
            let m2 = select(0.0, 1.0, b + 2u * step < nb);
            let m3 = select(0.0, 1.0, b + 3u * step < nb);
            let w00 = block_load(base0 + BLOCK_BYTES * b, t);
            let w01 = block_load(base1 + BLOCK_BYTES * b, t);
            let w10 = block_load(base0 + BLOCK_BYTES * b1, t);
            let w11 = block_load(base1 + BLOCK_BYTES * b1, t);
            let w20 = block_load(base0 + BLOCK_BYTES * b2, t);
            let w21 = block_load(base1 + BLOCK_BYTES * b2, t);
            let w30 = block_load(base0 + BLOCK_BYTES * b3, t);
            let w31 = block_load(base1 + BLOCK_BYTES * b3, t);
            for (var r = 0u; r < p.rows; r++) {
                let xr = x_base(r) + 2u * t;
                let x00 = x[xr + 8u * b];
                let x01 = x[xr + 8u * b + 1u];
                let x10 = x[xr + 8u * b1];
                let x11 = x[xr + 8u * b1 + 1u];
                let x20 = x[xr + 8u * b2];
                let x21 = x[xr + 8u * b2 + 1u];
                let x30 = x[xr + 8u * b3];
                let x31 = x[xr + 8u * b3 + 1u];
                let oh = onehot(r);
                acc0 += oh * (block_dot(w00, x00, x01) + m1 * block_dot(w10, x10, x11)
                    + m2 * block_dot(w20, x20, x21) + m3 * block_dot(w30, x30, x31));
                acc1 += oh * (block_dot(w01, x00, x01) + m1 * block_dot(w11, x10, x11)
                    + m2 * block_dot(w21, x20, x21) + m3 * block_dot(w31, x30, x31));
            }
        }
    }
    store_pair(acc0, acc1, i, tid);
}
