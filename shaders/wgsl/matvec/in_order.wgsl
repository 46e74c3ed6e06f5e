// The addressing of the matvec sides whose workgroups take the weight's rows in order (plain,
// glu, rope; see head.wgsl): workgroup g starts at row g * MATVEC_ROWS, and batch row r's x
// quantized to 8 bits is quantized row r.
fn first_row(wid: vec3<u32>, nwg: vec3<u32>, tid: u32) -> u32 {
    x_begin(tid);
    return flat_group(wid, nwg) * MATVEC_ROWS;
}

fn x_row(r: u32) -> u32 {
    return r;
}
