// matmul_id_coop's side (see matmul_coop.wgsl): workgroup row wid.y = expert * tiles + tile takes
// up to TILE of the (row, slot) pairs `moe_group` listed for that expert of the weight part
// (experts first_expert..), gathers their x rows and writes their outputs where `expert_out`
// says (always through the staging: the pairs' rows are scattered). Tiles past an expert's count
// return at once. Parameters and bindings as matmul_id's (`matmul_id_head.wgsl`).

// The tile's pairs, of `tile_pairs`, and their expert in the part.
var<workgroup> pairs: array<u32, TILE>;
var<private> tile_pairs: u32;
var<private> expert: u32;

fn start_tile(wid: vec3<u32>, tid: u32) -> bool {
    let tiles = (p.rows + TILE - 1u) / TILE;
    expert = wid.y / tiles;
    let t0 = (wid.y % tiles) * TILE;
    let base = (p.first_expert + expert) * (p.rows + 1u);
    let count = groups[base];
    if t0 >= count {
        return false;
    }
    tile_pairs = min(count - t0, TILE);
    for (var t = tid; t < tile_pairs; t += WG) {
        pairs[t] = groups[base + 1u + t0 + t];
    }
    workgroupBarrier();
    return true;
}

fn x_at(t: u32) -> u32 {
    if t >= tile_pairs {
        return NO_ROW;
    }
    let a = pairs[t];
    let slot = select(0u, (a % p.n_used) * p.k, p.x_stride != p.k);
    return ((a / p.n_used) * p.x_stride + slot) / 4u;
}

fn weight_row(i: u32) -> u32 {
    return expert * p.m + i;
}

fn y_at(t: u32, i: u32) -> u32 {
    if t >= tile_pairs {
        return NO_ROW;
    }
    return expert_out(pairs[t], i, p.n_used, p.m, p.split);
}

fn store_tile(c: TileC, t: u32, i: u32, wid: vec3<u32>, sg: u32, lane: u32) {
    store_staged(c, t, i, sg, lane);
}
