// The residual side of the per-format kernels (see head.wgsl): a decode matvec whose output joins
// the residual stream, which an RMS norm then feeds to the matvecs after it. The kernel does the
// add and most of the norm as it writes, so no norm dispatch runs between the matvecs. A
// workgroup takes MATVEC_ROWS = 32 rows, one block of the 8-bit copy: it writes sum = a + W x to
// y, the block of sum * w quantized to 8 bits (codes and d are the same for any positive multiple
// of a block, so the norm's 1 / rms is left out) and the block's share of mean(sum^2) + eps to
// `norm_parts` (block b, batch row r at 4b + r). The matvecs that read the copy (`x_normed.wgsl`)
// add the shares up and scale their sums by 1 / sqrt of that. m is a multiple of 32.
struct Params {
    k: u32,          // columns (input features)
    m: u32,          // rows: the residual stream's width
    row_bytes: u32,  // bytes per weight row
    rows: u32,       // batch rows (the bucket), at most 4
    x_stride: u32,
    y_stride: u32,
    a_stride: u32,
    eps: f32,
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(3) var<storage, read_write> y: array<f32>;
@group(0) @binding(4) var<storage, read> a: array<f32>;
@group(0) @binding(5) var<storage, read> w: array<f32>;
@group(0) @binding(6) var<storage, read_write> q8_out: array<u32>;
@group(0) @binding(7) var<storage, read_write> norm_parts: array<f32>;

// The residual's rows i and i + 1 (a vec4 over the batch rows) and their norm weights, loaded
// by each pair's first lane before the product.
var<private> res0: vec4<f32>;
var<private> res1: vec4<f32>;
var<private> wn: vec2<f32>;
// The block's sum * w and sum^2 by row of the block, a vec4 over the batch rows.
var<workgroup> block: array<vec4<f32>, 32>;
var<workgroup> squares: array<vec4<f32>, 32>;
// Per thread of the block's tail: its four values' largest magnitude, code sum and squares.
var<workgroup> amax_part: array<f32, 32>;
var<workgroup> sum_part: array<i32, 32>;
var<workgroup> sq_part: array<f32, 32>;

fn first_row(wid: vec3<u32>, nwg: vec3<u32>, tid: u32) -> u32 {
    let first = flat_group(wid, nwg) * MATVEC_ROWS;
    let i = first + tid / LANES * 2u;
    if tid % LANES == 0u && i < p.m {
        // Component r set by select: a private vector indexed by a variable went to local
        // memory on the H100.
        for (var r = 0u; r < p.rows; r++) {
            let at = vec4<u32>(r) == vec4<u32>(0u, 1u, 2u, 3u);
            res0 = select(res0, vec4<f32>(a[r * p.a_stride + i]), at);
            res1 = select(res1, vec4<f32>(a[r * p.a_stride + i + 1u]), at);
        }
        wn = vec2<f32>(w[i], w[i + 1u]);
    }
    return first;
}

fn row_index(i: u32) -> u32 {
    return i;
}

fn x_base(r: u32) -> u32 {
    return (r * p.x_stride) / 4u;
}

fn x_row(r: u32) -> u32 {
    return r;
}

// The block's values of batch row r, part j (of 8).
fn block4(r: u32, j: u32) -> vec4<f32> {
    return vec4<f32>(block[4u * j][r], block[4u * j + 1u][r], block[4u * j + 2u][r],
                     block[4u * j + 3u][r]);
}

// Reduces the pair's accumulators, adds the residual and writes the sums; then the first 32
// lanes write the block's 8-bit copy and share. Called from uniform control flow.
fn store_pair(acc0: vec4<f32>, acc1: vec4<f32>, i: u32, tid: u32) {
    let t0 = lanes_sum(acc0, tid);
    workgroupBarrier();
    let t1 = lanes_sum(acc1, tid);
    if tid % LANES == 0u && i < p.m {
        let s0 = t0 + res0;
        let s1 = t1 + res1;
        for (var r = 0u; r < p.rows; r++) {
            y[r * p.y_stride + i] = s0[r];
            y[r * p.y_stride + i + 1u] = s1[r];
        }
        let e = i % 32u;
        block[e] = s0 * wn.x;
        block[e + 1u] = s1 * wn.y;
        squares[e] = s0 * s0;
        squares[e + 1u] = s1 * s1;
    }
    workgroupBarrier();
    // The block's 8-bit copy and share: 8 threads per batch row r (four values each, j = 0..7),
    // as glu's threads share its blocks. The first pair's lanes: i is the block's first row.
    let r = tid / 8u;
    let j = tid % 8u;
    let mine = tid < 32u && r < p.rows && i < p.m;
    var v = vec4<f32>(0.0);
    if mine {
        v = block4(r, j);
        let s = vec4<f32>(squares[4u * j][r], squares[4u * j + 1u][r], squares[4u * j + 2u][r],
                          squares[4u * j + 3u][r]);
        sq_part[tid] = (s.x + s.y) + (s.z + s.w);
        amax_part[tid] = q8_amax4(v);
    }
    workgroupBarrier();
    var amax = 0.0;
    if mine {
        for (var e = 0u; e < 8u; e++) {
            amax = max(amax, amax_part[8u * r + e]);
        }
    }
    let q = q8_codes4(v, q8_inv(amax));
    let b = i / 32u;
    let at = q8_row_word(r, p.m);
    if mine {
        sum_part[tid] = (q.x + q.y) + (q.z + q.w);
        q8_out[at + 8u * b + j] = pack4xI8(q);
    }
    workgroupBarrier();
    if mine && j == 0u {
        var sum = 0;
        var ss = 0.0;
        for (var e = 0u; e < 8u; e++) {
            sum += sum_part[8u * r + e];
            ss += sq_part[8u * r + e];
        }
        q8_write_scales(at, b, p.m, amax, sum);
        norm_parts[4u * b + r] = ss / f32(p.m) + p.eps / f32(p.m / 32u);
    }
}
