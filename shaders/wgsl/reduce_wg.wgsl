// Workgroup reductions through shared memory, for adapters without subgroup operations.
// Must be called from uniform control flow by all WG threads.
var<workgroup> red: array<f32, WG>;

fn block_sum(v: f32, tid: u32) -> f32 {
    red[tid] = v;
    workgroupBarrier();
    for (var s = WG / 2u; s > 0u; s = s / 2u) {
        if tid < s {
            red[tid] = red[tid] + red[tid + s];
        }
        workgroupBarrier();
    }
    let total = red[0];
    workgroupBarrier();
    return total;
}

fn block_max(v: f32, tid: u32) -> f32 {
    red[tid] = v;
    workgroupBarrier();
    for (var s = WG / 2u; s > 0u; s = s / 2u) {
        if tid < s {
            red[tid] = max(red[tid], red[tid + s]);
        }
        workgroupBarrier();
    }
    let total = red[0];
    workgroupBarrier();
    return total;
}

// Sum over each aligned group of LANES threads, through shared memory.
var<workgroup> red4: array<vec4<f32>, WG>;

fn lanes_sum(v: vec4<f32>, tid: u32) -> vec4<f32> {
    red4[tid] = v;
    workgroupBarrier();
    for (var s = LANES / 2u; s > 0u; s = s / 2u) {
        if tid % LANES < s {
            red4[tid] = red4[tid] + red4[tid + s];
        }
        workgroupBarrier();
    }
    return red4[tid - tid % LANES];
}

// block_sum and block_max of four values at once (one per vec4 lane).
fn block_sum4(v: vec4<f32>, tid: u32) -> vec4<f32> {
    red4[tid] = v;
    workgroupBarrier();
    for (var s = WG / 2u; s > 0u; s = s / 2u) {
        if tid < s {
            red4[tid] = red4[tid] + red4[tid + s];
        }
        workgroupBarrier();
    }
    let total = red4[0];
    workgroupBarrier();
    return total;
}

fn block_max4(v: vec4<f32>, tid: u32) -> vec4<f32> {
    red4[tid] = v;
    workgroupBarrier();
    for (var s = WG / 2u; s > 0u; s = s / 2u) {
        if tid < s {
            red4[tid] = max(red4[tid], red4[tid + s]);
        }
        workgroupBarrier();
    }
    let total = red4[0];
    workgroupBarrier();
    return total;
}
