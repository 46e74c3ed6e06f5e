// Shared by every kernel: the per-step batch description and dispatch helpers.

// One row of the batch: the token it holds, its position in its sequence, the KV-cache slot of
// that sequence, and (for the first n_out rows) the index of a row whose logits are wanted.
struct RowInfo {
    token: u32,
    pos: u32,
    slot: u32,
    out_row: u32,
}

// Written by the CPU before each step; the plan's dispatches are sized for the bucket, and only
// kernels that write state or read positions look at the real row count.
struct Step {
    n_rows: u32,
    n_out: u32,
    pad0: u32,
    pad1: u32,
    rows: array<RowInfo>,
}

const WG: u32 = 64u;
// Threads that share one weight row in matvec (see `lanes_sum`).
const LANES: u32 = 32u;

// Dispatches wider than 65535 workgroups fold into a second dimension.
fn flat_group(wid: vec3<u32>, nwg: vec3<u32>) -> u32 {
    return wid.x + wid.y * nwg.x;
}
