// Workgroup reductions with subgroup operations: one shared-memory slot per subgroup.
// Must be called from uniform control flow by all WG threads; works for any subgroup size.
var<workgroup> red: array<f32, WG>;

fn block_sum(v: f32, tid: u32) -> f32 {
    let s = subgroupAdd(v);
    let n = subgroupAdd(1u);
    if tid % n == 0u {
        red[tid / n] = s;
    }
    workgroupBarrier();
    var total = 0.0;
    for (var i = 0u; i < WG / n; i++) {
        total += red[i];
    }
    workgroupBarrier();
    return total;
}

fn block_max(v: f32, tid: u32) -> f32 {
    let s = subgroupMax(v);
    let n = subgroupAdd(1u);
    if tid % n == 0u {
        red[tid / n] = s;
    }
    workgroupBarrier();
    var total = red[0];
    for (var i = 1u; i < WG / n; i++) {
        total = max(total, red[i]);
    }
    workgroupBarrier();
    return total;
}

// Sum over each aligned group of LANES threads: butterfly shuffles inside each subgroup, then
// shared memory across the subgroups of a group when subgroups are narrower than LANES (8 on
// lavapipe, 32 on NVIDIA and Apple, 64 on some AMD).
var<workgroup> red4: array<vec4<f32>, WG>;

fn lanes_sum(v: vec4<f32>, tid: u32) -> vec4<f32> {
    let step = min(subgroupAdd(1u), LANES);
    var s = v;
    for (var off = 1u; off < step; off = off * 2u) {
        s += subgroupShuffleXor(s, off);
    }
    red4[tid] = s;
    workgroupBarrier();
    var total = vec4<f32>(0.0);
    for (var k = 0u; k < LANES; k += step) {
        total += red4[tid - tid % LANES + k];
    }
    workgroupBarrier();
    return total;
}

// block_sum and block_max of four values at once (one per vec4 lane).
fn block_sum4(v: vec4<f32>, tid: u32) -> vec4<f32> {
    let s = subgroupAdd(v);
    let n = subgroupAdd(1u);
    if tid % n == 0u {
        red4[tid / n] = s;
    }
    workgroupBarrier();
    var total = red4[0];
    for (var i = 1u; i < WG / n; i++) {
        total += red4[i];
    }
    workgroupBarrier();
    return total;
}

fn block_max4(v: vec4<f32>, tid: u32) -> vec4<f32> {
    let s = subgroupMax(v);
    let n = subgroupAdd(1u);
    if tid % n == 0u {
        red4[tid / n] = s;
    }
    workgroupBarrier();
    var total = red4[0];
    for (var i = 1u; i < WG / n; i++) {
        total = max(total, red4[i]);
    }
    workgroupBarrier();
    return total;
}
