// y[r, off + i] = sum_k W[i, k] * x[r, k] for a batch of rows (prefill). A workgroup covers 64
// output features and 32 rows: each thread decodes the chunks of one weight row and applies them
// to 32 rows of x staged in shared memory, so each weight is read once per 32 rows.

// Writes output feature i of rows r..r+3 (those in the batch).
fn store4(v: vec4<f32>, r: u32, i: u32) {
    for (var k = 0u; k < 4u; k++) {
        if r + k < p.rows {
            y[(r + k) * p.y_stride + p.out_off + i] = v[k];
        }
    }
}

@compute @workgroup_size(WG)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) tid: u32) {
    let i = wid.x * WG + tid;
    let r0 = wid.y * TILE_ROWS;
    // Rows 4b..4b+3 of the tile in acc[b]; indexed by constants only, so they stay in registers.
    var acc: array<vec4<f32>, 8>;
    let row_byte = min(i, p.m - 1u) * p.row_bytes;
    for (var c = 0u; c < p.k / 32u; c++) {
        for (var e = tid; e < TILE_ROWS * 8u; e += WG) {
            let r = r0 + e / 8u;
            var v = vec4<f32>(0.0);
            if r < p.rows {
                v = x[(r * p.x_stride + c * 32u) / 4u + e % 8u];
            }
            xs[e / 8u][e % 8u] = v;
        }
        workgroupBarrier();
        let at = chunk_at(row_byte, c);
        let s = chunk_scale(at.x, at.y);
        for (var q = 0u; q < 8u; q++) {
            let sq = select(s.zw, s.xy, q < 4u);
            let w = sq.x * chunk_q4(at.x, at.y, q) + sq.y;
            acc[0] += rows4(w, 0u, q);
            acc[1] += rows4(w, 4u, q);
            acc[2] += rows4(w, 8u, q);
            acc[3] += rows4(w, 12u, q);
            acc[4] += rows4(w, 16u, q);
            acc[5] += rows4(w, 20u, q);
            acc[6] += rows4(w, 24u, q);
            acc[7] += rows4(w, 28u, q);
        }
        workgroupBarrier();
    }
    if i < p.m {
        store4(acc[0], r0, i);
        store4(acc[1], r0 + 4u, i);
        store4(acc[2], r0 + 8u, i);
        store4(acc[3], r0 + 12u, i);
        store4(acc[4], r0 + 16u, i);
        store4(acc[5], r0 + 20u, i);
        store4(acc[6], r0 + 24u, i);
        store4(acc[7], r0 + 28u, i);
    }
}
