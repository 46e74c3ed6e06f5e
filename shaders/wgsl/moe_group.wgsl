// Groups a prefill chunk's routed (row, slot) pairs by expert, one workgroup per expert, so the
// expert matmul reads each expert's weights once per chunk. For expert e, groups[e * (rows + 1)]
// is its count and the entries after it are the pairs a = row * k + slot routed to it, in order.
struct Params {
    k: u32,
    rows: u32,
    pad0: u32,
    pad1: u32,
    pad2: u32,
    pad3: u32,
    pad4: u32,
    pad5: u32,
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> route: array<u32>;
@group(0) @binding(2) var<storage, read_write> groups: array<u32>;

var<workgroup> counts: array<u32, WG>;

fn routed(a: u32) -> u32 {
    return route[(a / p.k) * 2u * p.k + a % p.k];
}

@compute @workgroup_size(WG)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) tid: u32) {
    let e = wid.x;
    let pairs = p.rows * p.k;
    let per = (pairs + WG - 1u) / WG;
    let start = min(tid * per, pairs);
    let end = min(start + per, pairs);
    var c = 0u;
    for (var a = start; a < end; a++) {
        c += u32(routed(a) == e);
    }
    counts[tid] = c;
    workgroupBarrier();
    var at = 0u;
    for (var t = 0u; t < tid; t++) {
        at += counts[t];
    }
    let base = e * (p.rows + 1u);
    for (var a = start; a < end; a++) {
        if routed(a) == e {
            groups[base + 1u + at] = a;
            at += 1u;
        }
    }
    if tid == WG - 1u {
        groups[base] = at;
    }
}
