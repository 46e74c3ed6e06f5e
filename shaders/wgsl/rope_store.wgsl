// Rotary position embedding of q in place, and of k into the layer's f16 KV cache with v beside
// it, at each row's (slot, pos) (bindings and layout in rope_head.wgsl). Pair i of the first n_rot dims of each head rotates by pos * freqs[i]
// (computed on the CPU: base^(-2i / n_rot) scaled, or YaRN's blend), with cos and sin times
// mscale: pairs (2i, 2i+1) in normal mode, (i, i + n_rot/2) in NeoX mode. A thread takes a pair
// of q or a cache word (two dims of one head) of k and v. k is left as it was.
struct Params {
    n_heads: u32,
    n_kv_heads: u32,
    dims: u32,       // head_dim | n_rot << 16 | neox << 31
    mscale: f32,
    ctx: u32,
    q_stride: u32,   // floats per row of each tensor
    k_stride: u32,
    v_stride: u32,
}

@group(0) @binding(0) var<uniform> p: Params;

// Dim d of the k head starting at kb, rotated.
fn k_rotated(kb: u32, d: u32, pos: u32, n_rot: u32, neox: bool) -> f32 {
    if d >= n_rot {
        return k[kb + d];
    }
    let half_rot = n_rot / 2u;
    if neox {
        let cs = rotation(pos, d % half_rot);
        if d < half_rot {
            return k[kb + d] * cs.x - k[kb + d + half_rot] * cs.y;
        }
        return k[kb + d - half_rot] * cs.y + k[kb + d] * cs.x;
    }
    let cs = rotation(pos, d / 2u);
    if d % 2u == 0u {
        return k[kb + d] * cs.x - k[kb + d + 1u] * cs.y;
    }
    return k[kb + d - 1u] * cs.y + k[kb + d] * cs.x;
}

@compute @workgroup_size(WG)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
        @builtin(local_invocation_index) tid: u32) {
    let id = flat_group(wid, nwg) * WG + tid;
    let head_dim = p.dims & 0xffffu;
    let n_rot = (p.dims >> 16u) & 0x7fffu;
    let neox = (p.dims >> 31u) != 0u;
    let half_rot = n_rot / 2u;
    let pairs = head_dim / 2u;
    let q_per_row = p.n_heads * half_rot;
    let per_row = q_per_row + p.n_kv_heads * pairs;
    let r = id / per_row;
    if r >= step.n_rows {
        return;
    }
    let info = step.rows[r];
    let j = id % per_row;
    if j < q_per_row {
        let h = j / half_rot;
        let i = j % half_rot;
        let cs = rotation(info.pos, i);
        let base = r * p.q_stride + h * head_dim;
        var a = base + 2u * i;
        var b = a + 1u;
        if neox {
            a = base + i;
            b = a + half_rot;
        }
        let x0 = q[a];
        let x1 = q[b];
        q[a] = x0 * cs.x - x1 * cs.y;
        q[b] = x0 * cs.y + x1 * cs.x;
        return;
    }
    let w = j - q_per_row;
    let h = w / pairs;
    let d = 2u * (w % pairs);
    let kb = r * p.k_stride + h * head_dim;
    let vs = r * p.v_stride + h * head_dim + d;
    let dst = ((info.slot * p.n_kv_heads + h) * p.ctx + info.pos) * pairs + d / 2u;
    k_cache[dst] = pack2x16float(vec2<f32>(k_rotated(kb, d, info.pos, n_rot, neox),
                                           k_rotated(kb, d + 1u, info.pos, n_rot, neox)));
    v_cache[dst] = pack2x16float(vec2<f32>(v[vs], v[vs + 1u]));
}
