// LAB (mvlab `base:q4_K@body=...`, never built into wick): wick's q4_K decode matvec with four
// super-blocks of each row per step instead of two (16 loads in flight per thread).
// q4_K decode matvec: y[r, off + i] = sum_k W[i, k] x[r, k] for up to 4 batch rows.
//
// A q4_K super-block (256 weights, 144 bytes) is nine 16-byte words: (f16 d, f16 dmin, 12 bytes
// of 6-bit scales and mins), then 128 bytes of nibbles, bytes 32g..32g+31 holding sub-block 2g in
// their low nibbles and 2g + 1 in their high ones. Rows are whole super-blocks, so the weights
// bind as vec4<u32> and every load is a 16-byte one.
//
// Eight lanes share a super-block: lane v loads the header and nibble word v, which holds 16
// weights of sub-block 2(v / 2) and 16 of the next, and takes two super-blocks of each of its two
// rows per step (eight 16-byte loads in flight). x comes quantized to 8 bits (`x_q8.wgsl`), so
// the nibbles meet it in integer dot products: weight = d sc q - dmin m and x = dx qx, so a block
// adds d sc dx (q . qx) - dmin m (dx sum qx), the last factor stored with x.
@group(0) @binding(1) var<storage, read> weights: array<vec4<u32>>;

// (d sc, dmin m) of sub-blocks 2g and 2g + 1 from header h: scale_min_k4 on all four bytes of
// the word that holds them.
fn q4k_scales(h: vec4<u32>, g: u32) -> vec4<f32> {
    let low = g < 2u;
    let sc = select((h.w & 0x0f0f0f0fu) | ((h.y >> 2u) & 0x30303030u), h.y & 0x3f3f3f3fu, low);
    let mn = select(((h.w >> 4u) & 0x0f0f0f0fu) | ((h.z >> 2u) & 0x30303030u), h.z & 0x3f3f3f3fu, low);
    let sh = 16u * (g & 1u);
    let dm = unpack2x16float(h.x);
    let s = vec2<f32>(f32((sc >> sh) & 0xffu), f32((sc >> (sh + 8u)) & 0xffu)) * dm.x;
    let m = vec2<f32>(f32((mn >> sh) & 0xffu), f32((mn >> (sh + 8u)) & 0xffu)) * dm.y;
    return vec4<f32>(s.x, m.x, s.y, m.y);
}

// One row's sum over the lane's 32 weights of a super-block (header h, nibbles q): x codes a
// (low nibbles) and b (high), scales xs of their two blocks. The blocks' mins (times the x sums)
// are taken whole by the lane of the first half (hm = 1) of each pair of lanes.
fn q4k_dot(h: vec4<u32>, q: vec4<u32>, g: u32, a: vec4<u32>, b: vec4<u32>, xs: vec4<f32>, hm: f32) -> f32 {
    let s = q4k_scales(h, g);
    let lo = q & vec4<u32>(0x0f0f0f0fu);
    let hi = (q >> vec4<u32>(4u)) & vec4<u32>(0x0f0f0f0fu);
    let ia = (dot4I8Packed(lo.x, a.x) + dot4I8Packed(lo.y, a.y)) + (dot4I8Packed(lo.z, a.z) + dot4I8Packed(lo.w, a.w));
    let ib = (dot4I8Packed(hi.x, b.x) + dot4I8Packed(hi.y, b.y)) + (dot4I8Packed(hi.z, b.z) + dot4I8Packed(hi.w, b.w));
    return s.x * xs.x * f32(ia) + s.z * xs.z * f32(ib) - hm * (s.y * xs.y + s.w * xs.w);
}

@compute @workgroup_size(WG)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
        @builtin(local_invocation_index) tid: u32) {
    let i = first_row(wid, nwg, tid) + tid / LANES * 2u;
    let lane = tid % LANES;
    let v = lane % 8u;
    let g = v / 2u;
    let xo = 64u * g + 16u * (v % 2u);
    let hm = select(0.0, 1.0, v % 2u == 0u);
    let step = LANES / 8u;
    var acc0 = vec4<f32>(0.0);
    var acc1 = vec4<f32>(0.0);
    if i < p.m {
        let nsb = p.k / 256u;
        let base0 = row_index(i) * (p.row_bytes / 16u);
        let base1 = row_index(min(i + 1u, p.m - 1u)) * (p.row_bytes / 16u);
        for (var sb = lane / 8u; sb < nsb; sb += 4u * step) {
            // Super-blocks 2 and 3 of the step are clamped to the row and masked out past its end.
            let sb1 = min(sb + step, nsb - 1u);
            let sb2 = min(sb + 2u * step, nsb - 1u);
            let sb3 = min(sb + 3u * step, nsb - 1u);
            let m1 = select(0.0, 1.0, sb + step < nsb);
            let m2 = select(0.0, 1.0, sb + 2u * step < nsb);
            let m3 = select(0.0, 1.0, sb + 3u * step < nsb);
            let h00 = weights[base0 + 9u * sb];
            let q00 = weights[base0 + 9u * sb + 1u + v];
            let h01 = weights[base1 + 9u * sb];
            let q01 = weights[base1 + 9u * sb + 1u + v];
            let h10 = weights[base0 + 9u * sb1];
            let q10 = weights[base0 + 9u * sb1 + 1u + v];
            let h11 = weights[base1 + 9u * sb1];
            let q11 = weights[base1 + 9u * sb1 + 1u + v];
            let h20 = weights[base0 + 9u * sb2];
            let q20 = weights[base0 + 9u * sb2 + 1u + v];
            let h21 = weights[base1 + 9u * sb2];
            let q21 = weights[base1 + 9u * sb2 + 1u + v];
            let h30 = weights[base0 + 9u * sb3];
            let q30 = weights[base0 + 9u * sb3 + 1u + v];
            let h31 = weights[base1 + 9u * sb3];
            let q31 = weights[base1 + 9u * sb3 + 1u + v];
            for (var r = 0u; r < p.rows; r++) {
                let xr = x_row(r);
                let a0 = q8_codes(xr, 256u * sb + xo);
                let b0 = q8_codes(xr, 256u * sb + xo + 32u);
                let s0 = q8_scales(xr, 8u * sb + 2u * g);
                let a1 = q8_codes(xr, 256u * sb1 + xo);
                let b1 = q8_codes(xr, 256u * sb1 + xo + 32u);
                let s1 = q8_scales(xr, 8u * sb1 + 2u * g);
                let a2 = q8_codes(xr, 256u * sb2 + xo);
                let b2 = q8_codes(xr, 256u * sb2 + xo + 32u);
                let s2 = q8_scales(xr, 8u * sb2 + 2u * g);
                let a3 = q8_codes(xr, 256u * sb3 + xo);
                let b3 = q8_codes(xr, 256u * sb3 + xo + 32u);
                let s3 = q8_scales(xr, 8u * sb3 + 2u * g);
                let oh = onehot(r);
                acc0 += oh * ((q4k_dot(h00, q00, g, a0, b0, s0, hm) + m1 * q4k_dot(h10, q10, g, a1, b1, s1, hm))
                    + (m2 * q4k_dot(h20, q20, g, a2, b2, s2, hm) + m3 * q4k_dot(h30, q30, g, a3, b3, s3, hm)));
                acc1 += oh * ((q4k_dot(h01, q01, g, a0, b0, s0, hm) + m1 * q4k_dot(h11, q11, g, a1, b1, s1, hm))
                    + (m2 * q4k_dot(h21, q21, g, a2, b2, s2, hm) + m3 * q4k_dot(h31, q31, g, a3, b3, s3, hm)));
            }
        }
    }
    store_pair(acc0, acc1, i, tid);
}
