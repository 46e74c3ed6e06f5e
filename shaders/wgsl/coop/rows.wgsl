// matmul_coop's side (see matmul_coop.wgsl): the tile of workgroup row wid.y takes the batch
// rows from wid.y * TILE in order, x and y as `product_head.wgsl` lays them out.
var<private> r0: u32;

fn start_tile(wid: vec3<u32>, tid: u32) -> bool {
    r0 = wid.y * TILE;
    return true;
}

fn x_at(t: u32) -> u32 {
    let r = r0 + t;
    return select(NO_ROW, r * p.x_stride / 4u, r < p.rows);
}

fn weight_row(i: u32) -> u32 {
    return i;
}

fn y_at(t: u32, i: u32) -> u32 {
    let r = r0 + t;
    return select(NO_ROW, r * p.y_stride + p.out_off + i, r < p.rows);
}

// A tile inside y is stored straight. Called from uniform control flow (`wid` alone decides).
fn store_tile(c: TileC, t: u32, i: u32, wid: vec3<u32>, sg: u32, lane: u32) {
    let inside = (wid.y + 1u) * TILE <= p.rows && (wid.x + 1u) * TILE <= p.m;
    if !inside {
        store_staged(c, t, i, sg, lane);
        return;
    }
    // Computed before the call: naga's WGSL front end leaves expressions computed in the
    // coopStoreT call itself out of the SPIR-V.
    let stride = p.y_stride;
    let at = (wid.y * TILE + t) * stride + p.out_off + i;
    coopStoreT(c, &y[at], stride);
}
