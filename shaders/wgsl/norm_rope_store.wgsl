// QK-norm, RoPE and the KV-cache store in one pass: each head of a row is RMS-normed (times the
// per-dimension weight of q's or k's norm), then its first n_rot dims rotate as in
// rope_store.wgsl (the rest are only normed); q heads are written in place, k heads into the
// layer's f16 cache at the row's (slot, pos) with v stored beside them (bindings 1-7 in
// rope_head.wgsl). One workgroup per (row,
// head), the q heads of a row first; rows past the step's are left alone.
struct Params {
    heads: u32,      // n_heads | n_kv_heads << 16
    dims: u32,       // head_dim | n_rot << 16 | neox << 31
    mscale: f32,
    eps: f32,
    ctx: u32,
    q_stride: u32,   // floats per row of each tensor
    k_stride: u32,
    v_stride: u32,
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(8) var<storage, read> q_norm: array<f32>;
@group(0) @binding(9) var<storage, read> k_norm: array<f32>;

// Dim d of the k head starting at kb, normed (by inv) and rotated.
fn k_rotated(kb: u32, d: u32, inv: f32, pos: u32, n_rot: u32, neox: bool) -> f32 {
    let x = k[kb + d] * inv * k_norm[d];
    if d >= n_rot {
        return x;
    }
    let half_rot = n_rot / 2u;
    var o = d + 1u;
    var sign = -1.0;
    if neox {
        o = select(d + half_rot, d - half_rot, d >= half_rot);
        sign = select(-1.0, 1.0, d >= half_rot);
    } else if d % 2u == 1u {
        o = d - 1u;
        sign = 1.0;
    }
    let cs = rotation(pos, select(d / 2u, d % half_rot, neox));
    return x * cs.x + sign * k[kb + o] * inv * k_norm[o] * cs.y;
}

@compute @workgroup_size(WG)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
        @builtin(local_invocation_index) tid: u32) {
    let n_heads = p.heads & 0xffffu;
    let n_kv = p.heads >> 16u;
    let g = flat_group(wid, nwg);
    let r = g / (n_heads + n_kv);
    if r >= step.n_rows {
        return;
    }
    let h = g % (n_heads + n_kv);
    let is_q = h < n_heads;
    let head_dim = p.dims & 0xffffu;
    let n_rot = (p.dims >> 16u) & 0x7fffu;
    let neox = (p.dims >> 31u) != 0u;
    let half_rot = n_rot / 2u;
    let pairs = head_dim / 2u;
    let info = step.rows[r];
    let qb = r * p.q_stride + h * head_dim;
    let kh = h - n_heads;
    let kb = r * p.k_stride + kh * head_dim;

    var ss = 0.0;
    for (var d = tid; d < head_dim; d += WG) {
        var x = 0.0;
        if is_q {
            x = q[qb + d];
        } else {
            x = k[kb + d];
        }
        ss += x * x;
    }
    // Every read of q above comes before the writes below (the sum's barriers).
    let inv = inverseSqrt(block_sum(ss, tid) / f32(head_dim) + p.eps);
    if is_q {
        for (var i = tid; i < half_rot; i += WG) {
            var a = 2u * i;
            var b = a + 1u;
            if neox {
                a = i;
                b = i + half_rot;
            }
            let x0 = q[qb + a] * inv * q_norm[a];
            let x1 = q[qb + b] * inv * q_norm[b];
            let cs = rotation(info.pos, i);
            q[qb + a] = x0 * cs.x - x1 * cs.y;
            q[qb + b] = x0 * cs.y + x1 * cs.x;
        }
        for (var d = n_rot + tid; d < head_dim; d += WG) {
            q[qb + d] *= inv * q_norm[d];
        }
        return;
    }
    let vs = r * p.v_stride + kh * head_dim;
    let dst = ((info.slot * n_kv + kh) * p.ctx + info.pos) * pairs;
    for (var i = tid; i < pairs; i += WG) {
        let d = 2u * i;
        k_cache[dst + i] = pack2x16float(vec2<f32>(k_rotated(kb, d, inv, info.pos, n_rot, neox),
                                                   k_rotated(kb, d + 1u, inv, info.pos, n_rot, neox)));
        v_cache[dst + i] = pack2x16float(vec2<f32>(v[vs + d], v[vs + d + 1u]));
    }
}
