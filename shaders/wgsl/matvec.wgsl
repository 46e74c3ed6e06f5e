// y[r, off + i] = sum_k W[i, k] * x[r, k] for up to 4 batch rows (decode). Each weight row is
// shared by LANES threads that stride over its 32-element chunks; a chunk's scale is decoded once
// and its values are applied to every batch row, and the lanes' partial sums (a vec4, one per
// batch row) are then combined with `lanes_sum`.
const ROWS_PER_WG: u32 = WG / LANES;

@compute @workgroup_size(WG)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
        @builtin(local_invocation_index) tid: u32) {
    let i = flat_group(wid, nwg) * ROWS_PER_WG + tid / LANES;
    let lane = tid % LANES;
    var acc = vec4<f32>(0.0);
    if i < p.m {
        let row_byte = i * p.row_bytes;
        for (var c = lane; c < p.k / 32u; c += LANES) {
            let at = chunk_at(row_byte, c);
            let s = chunk_scale(at.x, at.y);
            for (var q = 0u; q < 8u; q++) {
                let w = chunk_q4(at.x, at.y, q);
                let sq = select(s.zw, s.xy, q < 4u);
                for (var r = 0u; r < p.rows; r++) {
                    let xv = x[(r * p.x_stride + c * 32u) / 4u + q];
                    acc[r] += sq.x * dot(w, xv) + sq.y * dot(xv, vec4<f32>(1.0));
                }
            }
        }
    }
    let total = lanes_sum(acc, tid);
    if lane == 0u && i < p.m {
        for (var r = 0u; r < p.rows; r++) {
            y[r * p.y_stride + p.out_off + i] = total[r];
        }
    }
}
