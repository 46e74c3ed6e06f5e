// q5_K decode matvec: y[r, off + i] = sum_k W[i, k] x[r, k] for up to 4 batch rows.
//
// A q5_K super-block (256 weights, 176 bytes) is eleven 16-byte words: the q4_K header (f16 d,
// f16 dmin, 12 bytes of 6-bit scales and mins), 32 bytes qh of fifth bits (weight l of sub-block
// j takes bit j of qh[l]), then 128 bytes of nibbles placed as in q4_K. Rows are whole
// super-blocks, so the weights bind as vec4<u32> and every load is a 16-byte one.
//
// As in q4_K, eight lanes share a super-block: lane v loads the header, nibble word v (16 weights
// of sub-block 2(v / 2) and 16 of the next, at l = 16(v % 2)..) and the qh word of the same l,
// and takes two super-blocks of each of its two rows per step (twelve 16-byte loads in flight).
// x = d sc q - dmin m.
@group(0) @binding(1) var<storage, read> weights: array<vec4<u32>>;

// x of one lane's part of a super-block: four vec4 against the low nibbles, four against the
// high ones, and their sums.
struct XPart {
    a0: vec4<f32>,
    a1: vec4<f32>,
    a2: vec4<f32>,
    a3: vec4<f32>,
    b0: vec4<f32>,
    b1: vec4<f32>,
    b2: vec4<f32>,
    b3: vec4<f32>,
    sa: vec4<f32>,
    sb: vec4<f32>,
}

// The lane's x from vec4 index b (elements 64g + 16h..+15 and 32 on).
fn load_x(b: u32) -> XPart {
    var o: XPart;
    o.a0 = x[b];
    o.a1 = x[b + 1u];
    o.a2 = x[b + 2u];
    o.a3 = x[b + 3u];
    o.b0 = x[b + 8u];
    o.b1 = x[b + 9u];
    o.b2 = x[b + 10u];
    o.b3 = x[b + 11u];
    o.sa = (o.a0 + o.a1) + (o.a2 + o.a3);
    o.sb = (o.b0 + o.b1) + (o.b2 + o.b3);
    return o;
}

// (d sc, dmin m) of sub-blocks 2g and 2g + 1 from header h: scale_min_k4 on all four bytes of
// the word that holds them.
fn q5k_scales(h: vec4<u32>, g: u32) -> vec4<f32> {
    let low = g < 2u;
    let sc = select((h.w & 0x0f0f0f0fu) | ((h.y >> 2u) & 0x30303030u), h.y & 0x3f3f3f3fu, low);
    let mn = select(((h.w >> 4u) & 0x0f0f0f0fu) | ((h.z >> 2u) & 0x30303030u), h.z & 0x3f3f3f3fu, low);
    let sh = 16u * (g & 1u);
    let dm = unpack2x16float(h.x);
    let s = vec2<f32>(f32((sc >> sh) & 0xffu), f32((sc >> (sh + 8u)) & 0xffu)) * dm.x;
    let m = vec2<f32>(f32((mn >> sh) & 0xffu), f32((mn >> (sh + 8u)) & 0xffu)) * dm.y;
    return vec4<f32>(s.x, m.x, s.y, m.y);
}

// One row's sum over the lane's 32 weights of a super-block (header h, nibbles q, fifth bits qh).
fn q5k_dot(h: vec4<u32>, q: vec4<u32>, qh: vec4<u32>, g: u32, xp: XPart) -> f32 {
    let s = q5k_scales(h, g);
    let lo = (q & vec4<u32>(0x0f0f0f0fu)) | (((qh >> vec4<u32>(2u * g)) & vec4<u32>(0x01010101u)) << vec4<u32>(4u));
    let hi = ((q >> vec4<u32>(4u)) & vec4<u32>(0x0f0f0f0fu))
        | (((qh >> vec4<u32>(2u * g + 1u)) & vec4<u32>(0x01010101u)) << vec4<u32>(4u));
    let fa = bytes_f32(lo.x) * xp.a0 + bytes_f32(lo.y) * xp.a1 + bytes_f32(lo.z) * xp.a2 + bytes_f32(lo.w) * xp.a3;
    let fb = bytes_f32(hi.x) * xp.b0 + bytes_f32(hi.y) * xp.b1 + bytes_f32(hi.z) * xp.b2 + bytes_f32(hi.w) * xp.b3;
    let t = s.x * fa - s.y * xp.sa + s.z * fb - s.w * xp.sb;
    return (t.x + t.y) + (t.z + t.w);
}

@compute @workgroup_size(WG)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
        @builtin(local_invocation_index) tid: u32) {
    let i = first_row(wid, nwg, tid) + tid / LANES * 2u;
    let lane = tid % LANES;
    let v = lane % 8u;
    let g = v / 2u;
    let xo = 16u * g + 4u * (v % 2u);
    let step = LANES / 8u;
    var acc0 = vec4<f32>(0.0);
    var acc1 = vec4<f32>(0.0);
    if i < p.m {
        let nsb = p.k / 256u;
        let base0 = row_index(i) * (p.row_bytes / 16u);
        let base1 = row_index(min(i + 1u, p.m - 1u)) * (p.row_bytes / 16u);
        for (var sb = lane / 8u; sb < nsb; sb += 2u * step) {
            // The second super-block is clamped to the row and masked out past its end.
            let sb1 = min(sb + step, nsb - 1u);
            let m1 = select(0.0, 1.0, sb + step < nsb);
            let h00 = weights[base0 + 11u * sb];
            let e00 = weights[base0 + 11u * sb + 1u + (v & 1u)];
            let q00 = weights[base0 + 11u * sb + 3u + v];
            let h01 = weights[base1 + 11u * sb];
            let e01 = weights[base1 + 11u * sb + 1u + (v & 1u)];
            let q01 = weights[base1 + 11u * sb + 3u + v];
            let h10 = weights[base0 + 11u * sb1];
            let e10 = weights[base0 + 11u * sb1 + 1u + (v & 1u)];
            let q10 = weights[base0 + 11u * sb1 + 3u + v];
            let h11 = weights[base1 + 11u * sb1];
            let e11 = weights[base1 + 11u * sb1 + 1u + (v & 1u)];
            let q11 = weights[base1 + 11u * sb1 + 3u + v];
            for (var r = 0u; r < p.rows; r++) {
                let xr = x_base(r) + xo;
                let x0 = load_x(xr + 64u * sb);
                let x1 = load_x(xr + 64u * sb1);
                let oh = onehot(r);
                acc0 += oh * (q5k_dot(h00, q00, e00, g, x0) + m1 * q5k_dot(h10, q10, e10, g, x1));
                acc1 += oh * (q5k_dot(h01, q01, e01, g, x0) + m1 * q5k_dot(h11, q11, e11, g, x1));
            }
        }
    }
    store_pair(acc0, acc1, i, tid);
}
