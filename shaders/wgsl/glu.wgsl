// Gated activations: y = act(gate) * up, elementwise over the batch (gpt-oss's variant also
// clamps and offsets). y has rows of `cols`; gate and up have their own row strides, so both may
// be views of one stacked matmul's output. Each thread takes 4 elements of y: of a row (the
// workgroup row's) or, with q8_k set, of the rows end to end, where the 8 threads of a 32-element
// block also write it quantized to 8 bits, in rows of q8_k (which divides cols), for the matvec
// after it.
struct Params {
    n: u32,
    cols: u32,
    gate_stride: u32,
    up_stride: u32,
    q8_k: u32,
    pad0: u32,
    pad1: u32,
    pad2: u32,
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> gate_in: array<f32>;
@group(0) @binding(2) var<storage, read> up_in: array<f32>;
@group(0) @binding(3) var<storage, read_write> y: array<f32>;
@group(0) @binding(4) var<storage, read_write> q8_out: array<u32>;

// Element c of row r of the gate and of the up projection.
fn gate(r: u32, c: u32) -> f32 {
    return gate_in[r * p.gate_stride + c];
}

fn up(r: u32, c: u32) -> f32 {
    return up_in[r * p.up_stride + c];
}

// Element c of row r of y (activations in `glu_act.wgsl`).
fn act(kind: u32, r: u32, c: u32) -> f32 {
    return glu_value(kind, gate(r, c), up(r, c));
}

// A block's per-thread largest magnitudes, then code sums.
var<workgroup> amax_part: array<f32, WG>;
var<workgroup> sum_part: array<i32, WG>;

fn run(kind: u32, wid: vec3<u32>, nwg: vec3<u32>, tid: u32) {
    if p.q8_k == 0u {
        // Row wid.y, elements c..c+3 (`glu_groups` in Rust).
        let r = wid.y;
        let c = 4u * (wid.x * WG + tid);
        for (var j = c; j < min(c + 4u, p.cols); j++) {
            y[r * p.cols + j] = act(kind, r, j);
        }
        return;
    }
    let i = flat_group(wid, nwg) * WG + tid;
    // Elements e..e+3; blocks do not cross rows (q8_k, a multiple of 32, divides cols). Threads
    // past the end stay for the barriers.
    let e = 4u * i;
    let live = e < p.n;
    var v = vec4<f32>(0.0);
    if live {
        let r = e / p.cols;
        let c = e % p.cols;
        v = vec4<f32>(act(kind, r, c), act(kind, r, c + 1u), act(kind, r, c + 2u),
                      act(kind, r, c + 3u));
        y[e] = v.x;
        y[e + 1u] = v.y;
        y[e + 2u] = v.z;
        y[e + 3u] = v.w;
    }
    let first = tid - tid % 8u;
    amax_part[tid] = q8_amax4(v);
    workgroupBarrier();
    var amax = 0.0;
    for (var j = 0u; j < 8u; j++) {
        amax = max(amax, amax_part[first + j]);
    }
    let q = q8_codes4(v, q8_inv(amax));
    sum_part[tid] = (q.x + q.y) + (q.z + q.w);
    workgroupBarrier();
    if live {
        let at = q8_row_word(e / p.q8_k, p.q8_k);
        let b = e % p.q8_k / 32u;
        q8_out[at + 8u * b + tid % 8u] = pack4xI8(q);
        if tid % 8u == 0u {
            var sum = 0;
            for (var j = 0u; j < 8u; j++) {
                sum += sum_part[first + j];
            }
            q8_write_scales(at, b, p.q8_k, amax, sum);
        }
    }
}

@compute @workgroup_size(WG)
fn geglu(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
         @builtin(local_invocation_index) tid: u32) {
    run(GELU, wid, nwg, tid);
}

@compute @workgroup_size(WG)
fn swiglu(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
          @builtin(local_invocation_index) tid: u32) {
    run(SILU, wid, nwg, tid);
}

@compute @workgroup_size(WG)
fn swiglu_oai(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
              @builtin(local_invocation_index) tid: u32) {
    run(SILU_OAI, wid, nwg, tid);
}
