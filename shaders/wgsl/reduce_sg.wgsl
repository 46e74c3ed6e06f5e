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

// Sum over each aligned group of 8 threads (LANES) with butterfly shuffles; subgroups hold at
// least 8 invocations on every adapter wick targets.
fn lanes_sum(v: vec4<f32>, tid: u32) -> vec4<f32> {
    var s = v;
    s += subgroupShuffleXor(s, 4u);
    s += subgroupShuffleXor(s, 2u);
    s += subgroupShuffleXor(s, 1u);
    return s;
}
