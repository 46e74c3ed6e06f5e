// Rotary position embedding, in place, on rows of n_heads x head_dim. Pair i of the first n_rot
// dims of each head rotates by pos * freqs[i] (computed on the CPU: base^(-2i / n_rot) scaled, or
// YaRN's blend), with cos and sin times mscale: pairs (2i, 2i+1) in normal mode, (i, i + n_rot/2)
// in NeoX mode.
struct Params {
    n_heads: u32,
    head_dim: u32,
    n_rot: u32,
    neox: u32,
    mscale: f32,
    pad: u32,
    rows: u32,
    row_stride: u32,
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> step: Step;
@group(0) @binding(2) var<storage, read> freqs: array<f32>;
@group(0) @binding(3) var<storage, read_write> x: array<f32>;

@compute @workgroup_size(WG)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
        @builtin(local_invocation_index) tid: u32) {
    let id = flat_group(wid, nwg) * WG + tid;
    let half_rot = p.n_rot / 2u;
    let per_row = p.n_heads * half_rot;
    let r = id / per_row;
    if r >= p.rows {
        return;
    }
    let h = (id % per_row) / half_rot;
    let i = id % half_rot;
    let theta = f32(step.rows[r].pos) * freqs[i];
    let c = cos(theta) * p.mscale;
    let s = sin(theta) * p.mscale;
    let base = r * p.row_stride + h * p.head_dim;
    var a = base + 2u * i;
    var b = a + 1u;
    if p.neox != 0u {
        a = base + i;
        b = a + half_rot;
    }
    let x0 = x[a];
    let x1 = x[b];
    x[a] = x0 * c - x1 * s;
    x[b] = x0 * s + x1 * c;
}
