// Expert matrix products for prefill: for each expert of the weight part, the (row, slot) pairs
// routed to it (from moe_group) in tiles of TILE_ROWS, so each expert's weights are read once per
// tile as in matmul. wid.y = expert * tiles + tile; tiles past an expert's count return at once.
// Outputs go where `expert_out` says; parameters and bindings in `matmul_id_head.wgsl`.

var<workgroup> pairs: array<u32, TILE_ROWS>;

// Writes output feature i of the tile's pairs t..t+3 (those below n).
fn store4(v: vec4<f32>, t: u32, n: u32, i: u32) {
    for (var k = 0u; k < 4u; k++) {
        if t + k < n {
            y[expert_out(pairs[t + k], i, p.n_used, p.m, p.split)] = v[k];
        }
    }
}

@compute @workgroup_size(WG)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) tid: u32) {
    let tiles = (p.rows + TILE_ROWS - 1u) / TILE_ROWS;
    let e = wid.y / tiles;
    let t0 = (wid.y % tiles) * TILE_ROWS;
    let base = (p.first_expert + e) * (p.rows + 1u);
    let count = groups[base];
    if t0 >= count {
        return;
    }
    let n = min(count - t0, TILE_ROWS);
    if tid < n {
        pairs[tid] = groups[base + 1u + t0 + tid];
    }
    workgroupBarrier();
    let i = wid.x * WG + tid;
    // Pairs 4b..4b+3 of the tile in acc[b]; indexed by constants only, so they stay in registers.
    var acc: array<vec4<f32>, 8>;
    let row_byte = (e * p.m + min(i, p.m - 1u)) * p.row_bytes;
    let per_slot = p.x_stride != p.k;
    for (var c = 0u; c < p.k / 32u; c++) {
        for (var el = tid; el < TILE_ROWS * 8u; el += WG) {
            let t = el / 8u;
            var v = vec4<f32>(0.0);
            if t < n {
                let a = pairs[t];
                let x_at = (a / p.n_used) * p.x_stride + select(0u, (a % p.n_used) * p.k, per_slot);
                v = x[(x_at + c * 32u) / 4u + el % 8u];
            }
            xs[t][el % 8u] = v;
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
        store4(acc[0], 0u, n, i);
        store4(acc[1], 4u, n, i);
        store4(acc[2], 8u, n, i);
        store4(acc[3], 12u, n, i);
        store4(acc[4], 16u, n, i);
        store4(acc[5], 20u, n, i);
        store4(acc[6], 24u, n, i);
        store4(acc[7], 28u, n, i);
    }
}
