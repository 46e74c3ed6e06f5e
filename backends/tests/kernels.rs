//! Every GPU kernel variant against a plain CPU reference, on seeded random data.
//!
//! Each variant the adapter can run (shared-memory and subgroup reductions; packed-u32 and native
//! f16 KV reads) is built from `Variant::source` with the bind-group layout `pipelines.rs` builds,
//! given the parameter words and dispatch geometry `plan.rs` gives it, and its whole output
//! buffer is compared with a reference computed here in f64 from the same inputs. Output elements
//! a dispatch must not write start as a sentinel and must keep its exact bits.
//!
//! Per-element bounds, with `u = 2^-24` the f32 unit roundoff:
//! - matvec / matmul: `2 k u · Σ_j |w_ij x_j|`, the worst-case error of summing k f32 products
//!   in any order (plus the GPU's own dequantization rounding, a few u per term). One wrongly
//!   decoded weight moves a result by about `Σ|w x| / k`, far above it for k <= 768.
//!   The decode matvecs of the formats that take x quantized to 8 bits (q4_K, q6_K) are given
//!   quantize_q8's output, and their reference uses the values it stands for; quantize_q8 is
//!   checked against a CPU quantization, and every kernel that also writes its output quantized
//!   must write the bytes quantize_q8 makes of that output.
//! - get_rows: `8 u · scale · max|row|`: decoding is `d · sc · q - dmin · m` in f32, whose
//!   rounding is a few ulps of its largest term, and no term exceeds a couple of row maxima.
//! - rms_norm: `(n + 16) u · |y|`: a sum of n squares (n u), inverseSqrt (2 ulp in Vulkan), and
//!   a few products.
//! - rope: `(|x0| + |x1|) · mscale · (2^-11 + 2 |θ| u + 8 u)`: Vulkan's absolute 2^-11 for
//!   sin/cos, θ = pos · freq rounded in f32, and the products by mscale. The frequency tables
//!   come from `RopeParams::frequencies` (tested in wick-core).
//! - attention: `4e-5` absolute. Outputs are convex combinations of V in [-1, 1], so their error
//!   is that of the probabilities: f32 scores (dot products of length <= 256, |s| < 10) and exp
//!   at 3 + 2|x| ulp, a few hundred u at most.
//!   The reference reads the f16 K/V the GPU stored, after the store (rope_store) is checked against
//!   `half::f16::from_f32` bit for bit.
//! - glu: silu `|y| (4|g| + 16) u` (exp's 3 + 2|x| ulp and a division); gelu adds
//!   `|g up| (8 + 4|z|) u` for tanh at its (clamped) argument z.
//! - add, gather_rows: exact (f32 add is correctly rounded in Vulkan; the others copy).
//!
//! Those bounds hold for any summation order, so they are loose for one wrong element among
//! hundreds; each case's NMSE must also stay under 1e-10 (1e-6 for rope), where correct f32
//! kernels give about 1e-14.
//!
//! Quantized weights come from `GgmlType::quantize`; half of the blocks then get their code and
//! sub-scale bytes scrambled (f16 and E8M0 scale fields kept), so every bit of every field is
//! exercised, including bits the quantizer never sets (negative q6_K scales, the -32 scale of
//! q3_K and iq4_xs, q3_K's code -4, high scale bits).
//!
//! Run with `-- --nocapture` to see each case's worst error relative to its bound.

use std::ops::Range;
use std::sync::OnceLock;

use half::f16;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use wick_backends::{Gpu, Kernel, fold, glu_groups, standalone};
use wick_core::generate::BatchRow;
use wick_core::graph::{RopeParams, Yarn};
use wick_core::quant::GgmlType;
use wick_shaders::{
    ARGMAX_CHUNK, ATTENTION_COOP_MAX_HEAD_DIM, ATTENTION_COOP_ROWS, ATTENTION_DECODE_MAX_SPLITS,
    ATTENTION_DIRECT, ATTENTION_DIRECT_Q8, ATTENTION_PREFILL_ROWS, CoopSize, Family,
    MATVEC_MAX_ROWS, NormModes, Variant, WEIGHT_FORMATS, WG, argmax_chunks,
    attention_combine_groups, attention_groups, attention_head_dim,
};

/// f32 unit roundoff.
const U: f64 = f32::EPSILON as f64 / 2.0;
/// Largest NMSE a case may show: RMS error 1e-5 of the reference's RMS, about 170 u. Correct f32
/// kernels land near 1e-14; this catches a small systematic error (one wrong weight among
/// thousands) that the worst-case per-element bounds leave room for.
const NMSE: f64 = 1e-10;
/// The NMSE of kernels on cooperative matrices whose operands are rounded to f16 on the way.
const COOP_NMSE: f64 = 1e-5;
/// Rope's sin and cos may be off by 2^-11 absolute (Vulkan), so its RMS error may reach 1e-3.
const ROPE_NMSE: f64 = 1e-6;
/// Fills output elements a dispatch must leave alone.
const SENTINEL: f32 = -1234.5;
/// A token no kernel writes.
const SENTINEL_TOKEN: u32 = 0xdead_beef;

/// One device for the whole file: opening lavapipe costs more than most cases.
fn gpu() -> &'static Gpu {
    static GPU: OnceLock<Gpu> = OnceLock::new();
    GPU.get_or_init(|| {
        let gpu = Gpu::new().expect("no GPU adapter; install a Vulkan driver such as lavapipe");
        eprintln!("adapter: {}", gpu.caps);
        gpu
    })
}

/// Builds `variant` with the runtime's own code, so the layouts under test are the runtime's.
fn kernel(variant: Variant) -> Kernel {
    Kernel::build(gpu(), &variant)
}

/// Every variant of `family` this adapter can run; the others are named as skipped.
fn kernels(family: Family) -> Vec<Kernel> {
    kernels_of(family, false)
}

/// The variants of `family` that read x as matvec_add_norm left it ([`Variant::normed_x`]), or
/// none where the family has no such variant.
fn normed_kernels(family: Family) -> Vec<Kernel> {
    if family.takes_normed_x() {
        kernels_of(family, true)
    } else {
        Vec::new()
    }
}

fn kernels_of(family: Family, normed_x: bool) -> Vec<Kernel> {
    let caps = &gpu().caps;
    if let Some(size) = family.coop_size()
        && caps.coop != Some(size)
    {
        eprintln!("skipped {family:?}: the device lacks {size:?} cooperative matrices");
        return Vec::new();
    }
    let mut seen: Vec<Variant> = Vec::new();
    for subgroups in [false, true] {
        let v = Variant::new(family, subgroups).with_normed_x(normed_x);
        if !seen.contains(&v) {
            seen.push(v);
        }
    }
    seen.into_iter()
        .filter(|v| {
            if v.subgroups && !caps.subgroups {
                eprintln!("skipped {v}: the device lacks SUBGROUP");
            }
            !v.subgroups || caps.subgroups
        })
        .map(kernel)
        .collect()
}

/// A storage buffer holding `bytes`, padded to whole words as `weights.rs` pads weights.
fn buffer(bytes: &[u8]) -> wgpu::Buffer {
    standalone::storage(gpu(), bytes)
}

fn buffer_f32(values: &[f32]) -> wgpu::Buffer {
    buffer(bytemuck::cast_slice(values))
}

fn read_bytes(buf: &wgpu::Buffer) -> Vec<u8> {
    standalone::download(gpu(), buf).expect("read back")
}

fn read_f32(buf: &wgpu::Buffer) -> Vec<f32> {
    bytemuck::pod_collect_to_vec(&read_bytes(buf))
}

/// Records and submits one dispatch with its own parameter block; `buffers` bind from 1 on.
fn dispatch(
    k: &Kernel,
    entry: usize,
    params: [u32; 8],
    buffers: &[&wgpu::Buffer],
    groups: (u32, u32),
) {
    let d = standalone::Dispatch::new(gpu(), k, entry, params, buffers, groups);
    standalone::submit(gpu(), &[&d]);
}

/// The Step buffer: a header (n_rows, n_out, 0, 0), then (token, pos, slot, out_row) per row.
fn step_buffer(n_rows: usize, n_out: usize, rows: &[[u32; 4]]) -> wgpu::Buffer {
    standalone::step(gpu(), n_rows, n_out, rows)
}

fn uniform_vec(rng: &mut StdRng, n: usize, lo: f32, hi: f32) -> Vec<f32> {
    (0..n).map(|_| rng.random_range(lo..hi)).collect()
}

/// Each batch row's scale in the normed-x cases: powers of two, so the reference takes x times
/// its scale exactly.
const NORM_SCALES: [f32; 4] = [0.5, 2.0, 1.0, 0.25];

/// matvec_add_norm's shares of rows of `k` as a normed-x kernel reads them: uneven per block,
/// batch row r's summing to 1 / NORM_SCALES[r]^2, so the kernel scales row r by NORM_SCALES[r].
fn norm_parts(rng: &mut StdRng, k: usize) -> wgpu::Buffer {
    let blocks = k / 32;
    let mut parts = vec![0.0f32; 4 * blocks];
    for (r, scale) in NORM_SCALES.iter().enumerate() {
        let u = uniform_vec(rng, blocks, 0.5, 1.5);
        let total: f32 = u.iter().sum();
        for (b, ub) in u.iter().enumerate() {
            parts[4 * b + r] = ub / total / (scale * scale);
        }
    }
    buffer_f32(&parts)
}

/// x as a normed-x kernel takes it: batch row r (rows `stride` apart) times NORM_SCALES[r].
fn normed_values(x: &[f32], stride: usize) -> Vec<f32> {
    assert!(
        x.len() <= stride * NORM_SCALES.len(),
        "at most 4 batch rows"
    );
    x.chunks(stride)
        .zip(NORM_SCALES)
        .flat_map(|(row, scale)| row.iter().map(move |v| v * scale))
        .collect()
}

/// The passes of a matvec test: the plain variants with x as given, then the normed-x ones
/// (where the family has them) with x as they take it, row r times NORM_SCALES[r].
fn normed_passes<'a>(
    ks: &'a [Kernel],
    normed_ks: &'a [Kernel],
    x: &[f32],
    stride: usize,
) -> Vec<(&'a [Kernel], Vec<f32>, bool)> {
    let mut passes = vec![(ks, x.to_vec(), false)];
    if !normed_ks.is_empty() {
        passes.push((normed_ks, normed_values(x, stride), true));
    }
    passes
}

/// What one output element must be.
#[derive(Clone, Copy)]
enum Want {
    /// Within `bound` of `value`.
    Near { value: f64, bound: f64 },
    /// Exactly these bits (copies, exact arithmetic, and elements that must stay untouched).
    Bits(u32),
}

fn untouched() -> Want {
    Want::Bits(SENTINEL.to_bits())
}

/// Collects every failing case of a test so one run reports all of them.
struct Failures {
    cases: Vec<String>,
    /// Bound on a case's normalised mean squared error over its Near elements.
    max_nmse: f64,
}

impl Failures {
    fn new(max_nmse: f64) -> Self {
        Failures {
            cases: Vec::new(),
            max_nmse,
        }
    }

    fn check(&mut self, label: &str, got: &[f32], want: &[Want]) {
        assert_eq!(got.len(), want.len(), "{label}: output length");
        let mut bad = 0usize;
        let mut first_bad = None;
        // Worst error relative to its bound, over the Near elements: how much margin is left.
        let mut worst = (0.0f64, None);
        let (mut err2, mut ref2) = (0.0f64, 0.0f64);
        for (i, (&g, w)) in got.iter().zip(want).enumerate() {
            let ok = match *w {
                Want::Near { value, bound } => {
                    let err = (f64::from(g) - value).abs();
                    err2 += err * err;
                    ref2 += value * value;
                    let ratio = err / bound.max(f64::MIN_POSITIVE);
                    if ratio > worst.0 || ratio.is_nan() {
                        worst = (ratio, Some(i));
                    }
                    err <= bound
                }
                Want::Bits(bits) => g.to_bits() == bits,
            };
            if !ok {
                bad += 1;
                first_bad.get_or_insert(i);
            }
        }
        let nmse = if ref2 > 0.0 { err2 / ref2 } else { 0.0 };
        let show = |i: usize| match want[i] {
            Want::Near { value, bound } => {
                format!("[{i}] got {} want {value} ± {bound:.3e}", got[i])
            }
            Want::Bits(bits) => format!(
                "[{i}] got {} ({:#010x}) want exactly {} ({bits:#010x})",
                got[i],
                got[i].to_bits(),
                f32::from_bits(bits)
            ),
        };
        if bad == 0 && nmse <= self.max_nmse {
            eprintln!(
                "ok   {label}: worst err/bound {:.3}, nmse {nmse:.2e}",
                worst.0
            );
        } else {
            let msg = format!(
                "FAIL {label}: {bad}/{} elements wrong{}{}; nmse {nmse:.2e} (max {:.0e})",
                got.len(),
                first_bad.map_or(String::new(), |i| format!("; first {}", show(i))),
                worst
                    .1
                    .map_or(String::new(), |i| format!("; worst {}", show(i))),
                self.max_nmse
            );
            eprintln!("{msg}");
            self.cases.push(msg);
        }
    }

    fn finish(self) {
        assert!(
            self.cases.is_empty(),
            "{} failing cases:\n{}",
            self.cases.len(),
            self.cases.join("\n")
        );
    }
}

/// The bytes of a block holding its f16 scales, or mxfp4's E8M0 exponent, whose larger values
/// overflow (one run in every format); the rest (codes and packed sub-scales) may take any bits.
/// None for float formats, whose random bits could be NaN.
fn scale_fields(ty: GgmlType) -> Option<Range<usize>> {
    match ty {
        GgmlType::Q8_0 | GgmlType::Q4_0 | GgmlType::Q5_0 => Some(0..2),
        GgmlType::IQ4_NL | GgmlType::IQ4_XS => Some(0..2),
        GgmlType::Q4_1 | GgmlType::Q5_1 | GgmlType::Q4_K | GgmlType::Q5_K => Some(0..4),
        GgmlType::Q6_K => Some(208..210),
        GgmlType::Q2_K => Some(80..84),
        GgmlType::Q3_K => Some(108..110),
        GgmlType::MXFP4 => Some(0..1),
        _ => None,
    }
}

/// A random `rows x k` weight in `ty`: its bytes and their CPU dequantization.
fn random_weight(rng: &mut StdRng, ty: GgmlType, rows: usize, k: usize) -> (Vec<u8>, Vec<f32>) {
    let values = uniform_vec(rng, rows * k, -1.0, 1.0);
    let mut bytes = ty.quantize(&values).expect("quantize");
    if let Some(keep) = scale_fields(ty) {
        for block in bytes.chunks_exact_mut(ty.block_bytes() as usize) {
            if rng.random_bool(0.5) {
                for (i, b) in block.iter_mut().enumerate() {
                    if !keep.contains(&i) {
                        *b ^= rng.random::<u8>();
                    }
                }
            }
        }
    }
    let deq = ty.dequantize_to_vec(&bytes, rows * k).expect("dequantize");
    assert!(deq.iter().all(|v| v.is_finite()));
    (bytes, deq)
}

/// Input width for a format: K-quants need whole 256-element super-blocks.
fn width(ty: GgmlType, k_quant: usize, other: usize) -> usize {
    if ty.block_elems() == 256 {
        k_quant
    } else {
        other
    }
}

/// `rows` random rows of `k` elements of x for a decode matvec of `ty`: the buffer, and the
/// values the kernel takes (quantized to 8 bits for the formats that take x so).
fn matvec_x(rng: &mut StdRng, ty: GgmlType, rows: usize, k: usize) -> (wgpu::Buffer, Vec<f32>) {
    let x = uniform_vec(rng, rows * k, -1.0, 1.0);
    let x_buf = buffer_f32(&x);
    if wick_shaders::matvec_takes_q8(ty) {
        quantized_x(&x_buf, rows, k, k)
    } else {
        (x_buf, x)
    }
}

/// `rows` rows of `k` elements of x (`x_stride` apart in `x_buf`) quantized to 8 bits by the
/// quantize_q8 kernel, as the decode matvecs of [`wick_shaders::matvec_takes_q8`] formats read
/// them: the buffer, and the values it stands for (d times each code) at x's own offsets.
fn quantized_x(
    x_buf: &wgpu::Buffer,
    rows: usize,
    k: usize,
    x_stride: usize,
) -> (wgpu::Buffer, Vec<f32>) {
    let row_bytes = wick_shaders::q8_row_bytes(k as u64) as usize;
    let q8 = standalone::quantize_q8(gpu(), x_buf, rows, k, x_stride);
    let bytes = read_bytes(&q8);
    let mut values = vec![0.0; rows * x_stride];
    for (r, row) in bytes.chunks_exact(row_bytes).take(rows).enumerate() {
        values[r * x_stride..][..k].copy_from_slice(&wick_shaders::q8_row_values(row, k));
    }
    (q8, values)
}

/// The 8-bit copy a kernel wrote of the first `rows` rows of its f32 output `y` (rows of `k`,
/// `y_stride` apart) into `q8`, against quantize_q8 run on that `y`: the same bytes, since both
/// put the same f32 values through the same `q8_write`. Without `rows`, `q8` (the placeholder a
/// kernel binds when it writes no copy) must still hold `Q8_UNUSED` throughout.
fn check_q8(
    f: &mut Failures,
    label: &str,
    y: &wgpu::Buffer,
    q8: &wgpu::Buffer,
    rows: Option<usize>,
    k: usize,
    y_stride: usize,
) {
    let got = read_bytes(q8);
    let ok = match rows {
        Some(rows) => {
            let want = read_bytes(&standalone::quantize_q8(gpu(), y, rows, k, y_stride));
            let n = want.len();
            got.len() >= n && got[..n] == want[..] && got[n..].iter().all(|&b| b == 0)
        }
        None => got.iter().all(|&b| b == Q8_UNUSED),
    };
    let label = format!(
        "{label} q8 ({})",
        if rows.is_some() { "written" } else { "unused" }
    );
    if ok {
        eprintln!("ok   {label}: bit-exact");
    } else {
        let msg = format!("FAIL {label}: differs from quantize_q8 of the output");
        eprintln!("{msg}");
        f.cases.push(msg);
    }
}

/// Fills the 8-bit output a kernel binds but must not write.
const Q8_UNUSED: u8 = 0xa5;

/// A zeroed buffer for `rows` rows of `k` quantized to 8 bits, or (no rows) a placeholder
/// filled with `Q8_UNUSED`.
fn q8_buffer(rows: Option<usize>, k: usize) -> wgpu::Buffer {
    match rows {
        Some(rows) => buffer(&vec![
            0;
            rows * wick_shaders::q8_row_bytes(k as u64) as usize
        ]),
        None => buffer(&[Q8_UNUSED; 64]),
    }
}

/// One product case: weight rows `[first, first + part)` of `m` total are this dispatch's part
/// and land at output columns `first..`; `rows` batch rows of x with strides as given.
struct MatCase {
    m: usize,
    first: usize,
    part: usize,
    rows: usize,
    k: usize,
    x_stride: usize,
    y_stride: usize,
}

fn run_products(family_of: impl Fn(GgmlType) -> Family, cases: impl Fn(GgmlType) -> Vec<MatCase>) {
    let mut f = Failures::new(NMSE);
    let matvec = matches!(
        family_of(GgmlType::F32),
        Family::Matvec(_) | Family::MatvecTall(_)
    );
    let mut rng = StdRng::seed_from_u64(if matvec { 1 } else { 2 });
    for ty in WEIGHT_FORMATS {
        let family = family_of(ty);
        if !family.supports() {
            continue;
        }
        let ks = kernels(family);
        if ks.is_empty() {
            continue;
        }
        let normed_ks = normed_kernels(family);
        for c in cases(ty) {
            assert!(!matvec || c.rows as u32 <= MATVEC_MAX_ROWS);
            let (bytes, w) = random_weight(&mut rng, ty, c.m, c.k);
            let rb = wick_shaders::row_bytes(ty, c.k as u64) as usize;
            assert_eq!(rb * c.m, bytes.len());
            let part = buffer(&bytes[c.first * rb..(c.first + c.part) * rb]);
            // Stride padding gets values too: reading it would show.
            let x = uniform_vec(&mut rng, c.rows * c.x_stride, -1.0, 1.0);
            let mut x_buf = buffer_f32(&x);
            let mut x = x;
            if matvec && wick_shaders::matvec_takes_q8(ty) {
                (x_buf, x) = quantized_x(&x_buf, c.rows, c.k, c.x_stride);
            }
            // The plain variants, then the normed-x ones (decode matvecs of those formats).
            let parts = norm_parts(&mut rng, c.k);
            for (ks, x, normed) in normed_passes(&ks, &normed_ks, &x, c.x_stride) {
                // Cooperative matrices take both operands as f16: the reference does too, and a
                // weight whose f32 value is a tie to f16 may round either way (2^-11 of a term).
                let coop = family.cooperative();
                let operand = |v: f32| {
                    if coop {
                        f64::from(f16::from_f32(v).to_f32())
                    } else {
                        f64::from(v)
                    }
                };
                let mut want = vec![untouched(); c.rows * c.y_stride];
                for r in 0..c.rows {
                    for i in c.first..c.first + c.part {
                        let (mut dot, mut mag, mut most) = (0.0f64, 0.0f64, 0.0f64);
                        for j in 0..c.k {
                            let t = operand(w[i * c.k + j]) * operand(x[r * c.x_stride + j]);
                            dot += t;
                            mag += t.abs();
                            most = most.max(t.abs());
                        }
                        let tie = if coop { most / 2048.0 } else { 0.0 };
                        want[r * c.y_stride + i] = Want::Near {
                            value: dot,
                            bound: 2.0 * c.k as f64 * U * mag + tie,
                        };
                    }
                }
                let params = [
                    c.k as u32,
                    c.part as u32,
                    rb as u32,
                    c.first as u32,
                    c.rows as u32,
                    c.x_stride as u32,
                    c.y_stride as u32,
                    0,
                ];
                let groups = match family.matmul_tile() {
                    Some((features, tile_rows)) => (
                        (c.part as u32).div_ceil(features),
                        (c.rows as u32).div_ceil(tile_rows),
                    ),
                    None => fold(c.part as u64, u64::from(family.matvec_rows())),
                };
                for kern in ks {
                    let y = buffer_f32(&vec![SENTINEL; c.rows * c.y_stride]);
                    let bufs = [&part, &x_buf, &y, &parts];
                    dispatch(kern, 0, params, &bufs[..3 + usize::from(normed)], groups);
                    let label = format!(
                        "{} m={} part={}..{} rows={} k={} x_stride={} y_stride={}",
                        kern.label,
                        c.m,
                        c.first,
                        c.first + c.part,
                        c.rows,
                        c.k,
                        c.x_stride,
                        c.y_stride
                    );
                    f.check(&label, &read_f32(&y), &want);
                }
            }
        }
    }
    f.finish();
}

fn whole(m: usize, rows: usize, k: usize) -> MatCase {
    MatCase {
        m,
        first: 0,
        part: m,
        rows,
        k,
        x_stride: k,
        y_stride: m,
    }
}

/// quantize_q8 against a CPU quantization of the same rows: d = max|x| / 127 within Vulkan's
/// 2.5 ulp for a division, each code round(x / d) (either neighbour where x / d is within 1e-4 of
/// a tie, since 127 / max|x| may be rounded either way), and d sum(q) as f32 from the GPU's own
/// d and codes. Three rows of 1376 (43 blocks, not a multiple of the workgroup) with a wider
/// stride, one block all zero (d = 0) and one with a single nonzero element; the padding word
/// of the scales (43 is odd) must stay untouched.
#[test]
fn quantize_q8() {
    let mut rng = StdRng::seed_from_u64(13);
    let (rows, k, x_stride) = (3usize, 1376usize, 1400usize);
    let mut x = uniform_vec(&mut rng, rows * x_stride, -3.0, 3.0);
    x[x_stride + 64..x_stride + 96].fill(0.0);
    x[2 * x_stride + 96..2 * x_stride + 128].fill(0.0);
    x[2 * x_stride + 100] = -0.25;
    let row_bytes = wick_shaders::q8_row_bytes(k as u64) as usize;
    let q8 = buffer(&vec![0xa5u8; rows * row_bytes]);
    let params = [k as u32, rows as u32, x_stride as u32, 0, 0, 0, 0, 0];
    let groups = fold((rows * k / 32) as u64, u64::from(WG));
    let kern = kernel(Variant::new(Family::QuantizeQ8, false));
    dispatch(&kern, 0, params, &[&buffer_f32(&x), &q8], groups);
    let got = read_bytes(&q8);
    let mut bad = Vec::new();
    for r in 0..rows {
        let row = &got[r * row_bytes..][..row_bytes];
        for b in 0..k / 32 {
            let xs = &x[r * x_stride + 32 * b..][..32];
            let amax = xs.iter().fold(0.0f32, |m, v| m.max(v.abs()));
            let at = k + 8 * b;
            let d = f32::from_le_bytes(row[at..at + 4].try_into().unwrap());
            let s = f32::from_le_bytes(row[at + 4..at + 8].try_into().unwrap());
            let d_want = amax / 127.0;
            if (d - d_want).abs() > 2.5 * f32::EPSILON * d_want {
                bad.push(format!("row {r} block {b}: d {d} want {d_want}"));
            }
            let mut sum = 0i32;
            for (j, &v) in xs.iter().enumerate() {
                let code = i32::from(row[32 * b + j] as i8);
                sum += code;
                let t = if amax > 0.0 {
                    f64::from(v) * 127.0 / f64::from(amax)
                } else {
                    0.0
                };
                let near_tie = (t - t.floor() - 0.5).abs() < 1e-4;
                let ok = code == t.round() as i32
                    || (near_tie && (code == t.floor() as i32 || code == t.ceil() as i32));
                if !ok {
                    bad.push(format!(
                        "row {r} element {}: code {code} for x / d = {t}",
                        32 * b + j
                    ));
                }
            }
            if s.to_bits() != (d * sum as f32).to_bits() {
                bad.push(format!(
                    "row {r} block {b}: d sum(q) {s} want {}",
                    d * sum as f32
                ));
            }
        }
        if row[row_bytes - 8..] != [0xa5; 8] {
            bad.push(format!("row {r}: the scales' padding was written"));
        }
    }
    assert!(bad.is_empty(), "{} wrong:\n{}", bad.len(), bad.join("\n"));
}

/// Decode batches of 1, 3 and 4 rows; m = 37 leaves a partial workgroup (of 2 or 4 rows, one
/// row of a pair alone in the formats with their own kernel); k = 1376
/// (43 chunks) or 1792 (56 chunks) gives the 32 lanes of a row one or two chunks each, unevenly,
/// and k = 96 leaves most lanes idle. The split case is the last of three parts: output offset
/// 200 in rows of 300.
#[test]
fn matvec() {
    run_products(Family::Matvec, matvec_cases);
}

fn matvec_cases(ty: GgmlType) -> Vec<MatCase> {
    let k_small = width(ty, 512, 96);
    let k_big = width(ty, 1792, 1376);
    vec![
        whole(37, 1, k_small),
        whole(300, 3, k_big),
        MatCase {
            m: 300,
            first: 200,
            part: 100,
            rows: 4,
            k: k_small,
            x_stride: k_small,
            y_stride: 300,
        },
    ]
}

/// matvec_tall (16 rows per workgroup) on the matvec cases: 37 rows (a partial workgroup), 300
/// and a 100-row part at offset 200 (neither a multiple of 16).
#[test]
fn matvec_tall() {
    run_products(Family::MatvecTall, matvec_cases);
}

/// matvec_add_norm: sum = a + W x into y within matvec's bound (x quantized to 8 bits for
/// q4_K and q6_K, as the matvec cases), the 8-bit copy of sum * w bit-exact against quantize_q8
/// of the kernel's own sums times w (f32 products, as the kernel's), and each block's share of
/// mean(sum^2) + eps within a relative 1e-6; the shares of batch rows past the step's stay
/// untouched. m = 64 (two workgroups), 288 (nine) and 96, batch rows 1, 3 and 4, y and a
/// strides wider than m.
#[test]
fn matvec_add_norm() {
    let mut f = Failures::new(NMSE);
    let mut rng = StdRng::seed_from_u64(15);
    let eps = 1e-5f32;
    for ty in WEIGHT_FORMATS {
        let family = Family::MatvecAddNorm(ty);
        if !family.supports() {
            continue;
        }
        let ks = kernels(family);
        for (m, rows, k) in [
            (64usize, 1usize, width(ty, 512, 96)),
            (288, 3, width(ty, 1792, 1376)),
            (96, 4, width(ty, 512, 96)),
        ] {
            let (y_stride, a_stride) = (m + 4, m + 8);
            let (bytes, w) = random_weight(&mut rng, ty, m, k);
            let rb = wick_shaders::row_bytes(ty, k as u64) as usize;
            let weights = buffer(&bytes);
            let (x_buf, x) = matvec_x(&mut rng, ty, rows, k);
            let a = uniform_vec(&mut rng, rows * a_stride, -2.0, 2.0);
            let norm_w = uniform_vec(&mut rng, m, 0.5, 1.5);
            let (a_buf, w_buf) = (buffer_f32(&a), buffer_f32(&norm_w));
            let mut want = vec![untouched(); rows * y_stride];
            for r in 0..rows {
                for i in 0..m {
                    let terms = (0..k).map(|j| f64::from(w[i * k + j]) * f64::from(x[r * k + j]));
                    let (dot, mag) = terms.fold((0.0, 0.0), |(s, g), t| (s + t, g + t.abs()));
                    let value = dot + f64::from(a[r * a_stride + i]);
                    want[r * y_stride + i] = Want::Near {
                        value,
                        bound: 2.0 * k as f64 * U * mag + 2.0 * U * value.abs(),
                    };
                }
            }
            let params = [
                k as u32,
                m as u32,
                rb as u32,
                rows as u32,
                k as u32,
                y_stride as u32,
                a_stride as u32,
                eps.to_bits(),
            ];
            let groups = fold(m as u64, u64::from(family.matvec_rows()));
            for kern in &ks {
                let y = buffer_f32(&vec![SENTINEL; rows * y_stride]);
                let q8 = q8_buffer(Some(rows), m);
                let parts = buffer_f32(&vec![SENTINEL; 4 * m / 32]);
                let bufs = [&weights, &x_buf, &y, &a_buf, &w_buf, &q8, &parts];
                dispatch(kern, 0, params, &bufs, groups);
                let label = format!("{} m={m} rows={rows} k={k}", kern.label);
                let sums = read_f32(&y);
                f.check(&label, &sums, &want);
                let times_w: Vec<f32> = (0..rows * m)
                    .map(|e| sums[e / m * y_stride + e % m] * norm_w[e % m])
                    .collect();
                check_q8(&mut f, &label, &buffer_f32(&times_w), &q8, Some(rows), m, m);
                let mut want_parts = vec![untouched(); 4 * m / 32];
                for r in 0..rows {
                    for b in 0..m / 32 {
                        let row = &sums[r * y_stride + 32 * b..][..32];
                        let ss: f64 = row.iter().map(|&v| f64::from(v) * f64::from(v)).sum();
                        let value = ss / m as f64 + f64::from(eps) * 32.0 / m as f64;
                        want_parts[4 * b + r] = Want::Near {
                            value,
                            bound: value * 1e-6,
                        };
                    }
                }
                f.check(&format!("{label} shares"), &read_f32(&parts), &want_parts);
            }
        }
    }
    f.finish();
}

/// Prefill chunks of 5, 33 and 70 rows (partial 32-row tiles); m = 37, 300 and a 100-row part
/// at offset 200 (partial 64-feature tiles); 128 rows of a 128-row part at offset 64 (whole
/// tiles). One case has an x stride wider than k.
#[test]
fn matmul() {
    run_products(Family::Matmul, matmul_cases);
}

fn matmul_cases(ty: GgmlType) -> Vec<MatCase> {
    let k_small = width(ty, 512, 64);
    let k_big = width(ty, 768, 96);
    vec![
        whole(37, 5, k_small),
        MatCase {
            x_stride: k_big + 32,
            ..whole(300, 33, k_big)
        },
        MatCase {
            m: 300,
            first: 200,
            part: 100,
            rows: 70,
            k: k_small,
            x_stride: k_small,
            y_stride: 300,
        },
        // A whole 128 x 128 tile (the cooperative kernels store those straight to y).
        MatCase {
            m: 256,
            first: 64,
            part: 128,
            rows: 128,
            k: k_small,
            x_stride: k_small,
            y_stride: 256,
        },
    ]
}

/// The cases of `matmul` on cooperative matrices of each side the device has (8 and 16 need
/// different adapters; the others are skipped, lavapipe has none).
#[test]
fn matmul_coop() {
    for size in [CoopSize::Eight, CoopSize::Sixteen] {
        run_products(|ty| Family::MatmulCoop(ty, size), matmul_cases);
    }
}

/// A 50-row table in two parts ([10, 40) and [40, 50), one dispatch each as `plan.rs` does),
/// tokens from both parts, and a token in neither (3) whose row must stay untouched. The output
/// is checked after each part, so a part that writes a token it does not hold is caught even if
/// the other part would overwrite that row. Two rows take their tokens from the previous greedy
/// step's picks (`BatchRow::PICKED | j`): picks 2 and 0, which are 25 and 40.
#[test]
fn get_rows() {
    let mut f = Failures::new(NMSE);
    let mut rng = StdRng::seed_from_u64(3);
    let n_vocab = 50;
    let parts = [(10usize, 30usize), (40, 10)];
    let tokens = [12u32, 39, 3, 40, 10, 49, 25];
    let picked = BatchRow::PICKED;
    let step_tokens = [12u32, 39, 3, picked, 10, 49, picked | 2];
    let picks = buffer(bytemuck::cast_slice(&[40u32, 7, 25, SENTINEL_TOKEN]));
    let scale = 1.7f32;
    let rows = tokens.len();
    let step_rows: Vec<[u32; 4]> = step_tokens.iter().map(|&t| [t, 0, 0, 0]).collect();
    let step = step_buffer(rows, 1, &step_rows);
    for ty in WEIGHT_FORMATS {
        let ks = kernels(Family::GetRows(ty));
        let k = width(ty, 512, 96);
        let (bytes, table) = random_weight(&mut rng, ty, n_vocab, k);
        let rb = wick_shaders::row_bytes(ty, k as u64) as usize;
        for kern in &ks {
            let y = buffer_f32(&vec![SENTINEL; rows * k]);
            let mut want = vec![untouched(); rows * k];
            for &(first, n) in &parts {
                let part = buffer(&bytes[first * rb..(first + n) * rb]);
                let params = [
                    k as u32,
                    first as u32,
                    n as u32,
                    rb as u32,
                    rows as u32,
                    k as u32,
                    scale.to_bits(),
                    0,
                ];
                dispatch(
                    kern,
                    0,
                    params,
                    &[&part, &step, &y, &picks],
                    (rows as u32, 1),
                );
                for (r, &t) in tokens.iter().enumerate() {
                    let t = t as usize;
                    if !(first..first + n).contains(&t) {
                        continue;
                    }
                    let row = &table[t * k..][..k];
                    let max = row.iter().fold(0.0f64, |a, &v| a.max(f64::from(v).abs()));
                    for (j, &v) in row.iter().enumerate() {
                        want[r * k + j] = Want::Near {
                            value: f64::from(scale) * f64::from(v),
                            bound: 8.0 * U * f64::from(scale) * max,
                        };
                    }
                }
                let label = format!(
                    "{} k={k} part={first}..{} tokens={tokens:?}",
                    kern.label,
                    first + n
                );
                f.check(&label, &read_f32(&y), &want);
            }
        }
    }
    f.finish();
}

/// Whole rows (n = 300, 36, 1000: more than one vec4 per thread, and 4100: past one step of
/// eight) and per-head groups (QK-norm: 80 of a 320-wide row).
#[test]
fn rms_norm() {
    let mut f = Failures::new(NMSE);
    let mut rng = StdRng::seed_from_u64(4);
    let ks = kernels(Family::RmsNorm);
    // (group size, batch rows, row width, eps)
    for (n, rows, row_width, eps) in [
        (300usize, 3usize, 300usize, 1e-6f32),
        (36, 2, 36, 1e-5),
        (1000, 1, 1000, 1e-6),
        (80, 3, 320, 1e-6),
        // Past one step of eight vec4 per thread, ending mid-step.
        (4100, 2, 4100, 1e-6),
        // Whole blocks of 32: also written quantized (10 blocks, and 129: past two per thread).
        (320, 3, 320, 1e-6),
        (4128, 2, 4128, 1e-6),
    ] {
        let groups = rows * row_width / n;
        let x = uniform_vec(&mut rng, rows * row_width, -2.0, 2.0);
        let w = uniform_vec(&mut rng, n, 0.5, 1.5);
        let want: Vec<Want> = (0..x.len())
            .map(|i| {
                let g = &x[i / n * n..][..n];
                let ms = g.iter().map(|&v| f64::from(v).powi(2)).sum::<f64>() / n as f64;
                let y = f64::from(x[i]) / (ms + f64::from(eps)).sqrt() * f64::from(w[i % n]);
                Want::Near {
                    value: y,
                    bound: (n as f64 + 16.0) * U * y.abs(),
                }
            })
            .collect();
        let (w_buf, x_buf) = (buffer_f32(&w), buffer_f32(&x));
        let q8_rows = (n == row_width && n % 32 == 0).then_some(rows);
        let params = [
            n as u32,
            groups as u32,
            eps.to_bits(),
            u32::from(q8_rows.is_some()),
            0,
            0,
            0,
            0,
        ];
        for kern in &ks {
            let y = buffer_f32(&vec![SENTINEL; x.len()]);
            let q8 = q8_buffer(q8_rows, n);
            dispatch(
                kern,
                0,
                params,
                &[&w_buf, &x_buf, &y, &q8],
                fold(groups as u64, 1),
            );
            let label = format!("{} n={n} groups={groups} eps={eps:e}", kern.label);
            f.check(&label, &read_f32(&y), &want);
            check_q8(&mut f, &label, &y, &q8, q8_rows, n, n);
        }
    }
    f.finish();
}

/// The residual add and norm of 3 rows of 300, a row of 1000 (more than one vec4 per thread)
/// and 2 rows of 4100 (past one step of eight vec4 per thread, ending mid-step): the sum must be
/// the f32 add bit for bit, the norm within rms_norm's bound of the norm of that sum; both
/// buffers' tails must stay untouched. Rows of whole blocks are also written quantized. Two cases
/// take a as 3 routed experts' outputs per row with their route weights (moe_sum folded in):
/// the sum is then within `(k + 1) u` of the sum of its terms' magnitudes. Three cases norm a
/// first (`pre`: eps 1e-2 and a weight of its own), within rms_norm's bound, before the add.
/// Each case also runs gathered: output row g adds and norms the step's out_row of g (here the
/// rows in reverse).
#[test]
fn add_rms_norm() {
    let mut f = Failures::new(NMSE);
    let mut rng = StdRng::seed_from_u64(14);
    // With `pre`, a is RMS-normed first (eps PRE_EPS, large enough to matter, times pre_w).
    const PRE_EPS: f32 = 1e-2;
    for (n, rows, eps, experts, pre) in [
        (300usize, 3usize, 1e-6f32, 0usize, false),
        (1000, 1, 1e-5, 0, false),
        (4100, 2, 1e-6, 0, false),
        // Whole blocks of 32: also written quantized.
        (320, 3, 1e-6, 0, false),
        (4128, 2, 1e-6, 0, false),
        (300, 3, 1e-6, 3, false),
        (2048, 2, 1e-6, 3, false),
        (300, 3, 1e-6, 0, true),
        (640, 2, 1e-6, 0, true),
        (4128, 2, 1e-6, 0, true),
    ] {
        let a = uniform_vec(&mut rng, rows * n * experts.max(1), -2.0, 2.0);
        let b = uniform_vec(&mut rng, rows * n, -2.0, 2.0);
        let w = uniform_vec(&mut rng, n, 0.5, 1.5);
        let pre_w = uniform_vec(&mut rng, n, 0.5, 1.5);
        // a as the sum takes it: normed with `pre` (within rms_norm's bound).
        let a_in: Vec<(f64, f64)> = (0..rows * n)
            .map(|i| {
                if !pre {
                    return (f64::from(a[i]), 0.0);
                }
                let row = &a[i / n * n..][..n];
                let ms = row.iter().map(|&v| f64::from(v).powi(2)).sum::<f64>() / n as f64;
                let v =
                    f64::from(a[i]) / (ms + f64::from(PRE_EPS)).sqrt() * f64::from(pre_w[i % n]);
                (v, (n as f64 + 16.0) * U * v.abs())
            })
            .collect();
        // Route rows: k expert ids (unused here), then k weights.
        let route: Vec<f32> = (0..rows)
            .flat_map(|_| {
                let weights = uniform_vec(&mut rng, experts, 0.0, 1.0);
                (0..experts)
                    .map(|e| f32::from_bits(e as u32))
                    .chain(weights)
            })
            .collect();
        // Each sum's value and bound (0 where it must be the f32 add bit for bit).
        let sums: Vec<(f64, f64)> = (0..rows * n)
            .map(|i| {
                if experts == 0 && !pre {
                    return (f64::from(a[i] + b[i]), 0.0);
                }
                if experts == 0 {
                    let (v, e) = a_in[i];
                    let s = v + f64::from(b[i]);
                    return (s, e + 2.0 * U * (v.abs() + f64::from(b[i]).abs()));
                }
                let (r, c) = (i / n, i % n);
                let terms: Vec<f64> = (0..experts)
                    .map(|j| {
                        let wt = f64::from(route[r * 2 * experts + experts + j]);
                        wt * f64::from(a[(r * experts + j) * n + c])
                    })
                    .chain([f64::from(b[i])])
                    .collect();
                let mag: f64 = terms.iter().map(|t| t.abs()).sum();
                (terms.iter().sum(), (experts + 1) as f64 * U * mag)
            })
            .collect();
        let tail = 12;
        let mut want_sum = vec![untouched(); rows * n + tail];
        let mut want_y = vec![untouched(); rows * n + tail];
        for i in 0..rows * n {
            let (value, bound) = sums[i];
            want_sum[i] = if bound == 0.0 {
                Want::Bits((value as f32).to_bits())
            } else {
                Want::Near { value, bound }
            };
            let g = &sums[i / n * n..][..n];
            let ms = g.iter().map(|&(v, _)| v.powi(2)).sum::<f64>() / n as f64;
            let y = value / (ms + f64::from(eps)).sqrt() * f64::from(w[i % n]);
            // A sum off by its bound moves the norm by as much, relatively.
            let rel = (n as f64 + 16.0) * U
                + g.iter()
                    .map(|&(v, e)| e / v.abs().max(1e-3))
                    .fold(0.0, f64::max);
            want_y[i] = Want::Near {
                value: y,
                bound: rel * y.abs() + bound / (ms + f64::from(eps)).sqrt() * f64::from(w[i % n]),
            };
        }
        let (w_buf, a_buf, b_buf) = (buffer_f32(&w), buffer_f32(&a), buffer_f32(&b));
        let pre_w_buf = buffer_f32(&pre_w);
        // Plain rows never read the route: bind the norm weight there.
        let route_buf = if experts > 0 {
            buffer_f32(&route)
        } else {
            buffer_f32(&w)
        };
        let q8_rows = (n % 32 == 0).then_some(rows);
        // Output row g of the gathered runs is row rows - 1 - g.
        let out_rows: Vec<[u32; 4]> = (0..rows)
            .map(|g| [0, 0, 0, (rows - 1 - g) as u32])
            .collect();
        let step = step_buffer(rows, rows, &out_rows);
        let gathered = |want: &[Want]| {
            let mut w: Vec<Want> = (0..rows)
                .rev()
                .flat_map(|r| want[r * n..(r + 1) * n].to_vec())
                .collect();
            w.extend_from_slice(&want[rows * n..]);
            w
        };
        for gather in [false, true] {
            let params = [
                n as u32,
                rows as u32,
                eps.to_bits(),
                u32::from(q8_rows.is_some()),
                experts as u32,
                PRE_EPS.to_bits(),
                0,
                0,
            ];
            let (want_sum, want_y) = if gather {
                (gathered(&want_sum), gathered(&want_y))
            } else {
                (want_sum.clone(), want_y.clone())
            };
            let modes = NormModes {
                experts: experts > 0,
                gather,
                pre,
            };
            for kern in &kernels(Family::AddRmsNorm(modes)) {
                let s_buf = buffer_f32(&vec![SENTINEL; rows * n + tail]);
                let y = buffer_f32(&vec![SENTINEL; rows * n + tail]);
                let q8 = q8_buffer(q8_rows, n);
                dispatch(
                    kern,
                    0,
                    params,
                    &[
                        &w_buf, &a_buf, &b_buf, &s_buf, &y, &q8, &route_buf, &step, &pre_w_buf,
                    ],
                    fold(rows as u64, 1),
                );
                let label = format!(
                    "{} n={n} rows={rows} experts={experts} gather={gather} pre={pre}",
                    kern.label
                );
                f.check(&format!("{label} sum"), &read_f32(&s_buf), &want_sum);
                f.check(&format!("{label} norm"), &read_f32(&y), &want_y);
                check_q8(&mut f, &label, &y, &q8, q8_rows, n, n);
            }
        }
    }
    f.finish();
}

/// RoPE of q in place and of k into the KV cache, v stored beside it: normal and NeoX pairing,
/// partial (n_rot < head_dim: the tail passes as it was) and full rotation, positions up to 999
/// in two slots, two frequency bases, a frequency scale and YaRN; 4 query heads over 2 KV heads,
/// rows wider than their heads (strides). The dispatch covers a padding row past the step's rows,
/// whose q must not move and which must store nothing. Bounds: rope's on each rotated value
/// (`(|x0| + |x1|) mscale (2^-11 + 2 |θ| u + 8 u)`, Vulkan's sin/cos), plus f16 rounding for the
/// cache; v and the unrotated tail of k are f16 bit for bit, other cache words untouched.
#[test]
fn rope_store() {
    rope_store_case(false);
}

/// `rope_store`'s cases with QK-norm first: each head of q and k RMS-normed times its own
/// weight, so the unrotated tail of k is only normed. Bounds add rms_norm's on the normed values.
#[test]
fn norm_rope_store() {
    rope_store_case(true);
}

/// Fills the KV cache words a kernel must leave alone (a NaN pair, never stored).
const CACHE_SENTINEL: u32 = 0x7e00_7e00;

/// Checks the K and V caches' f16 halves against what they must hold.
fn check_cache(f: &mut Failures, label: &str, caches: [(&wgpu::Buffer, &[Want]); 2]) {
    for ((buf, want), name) in caches.into_iter().zip(["k", "v"]) {
        f.check(&format!("{label} {name} cache"), &cache_halves(buf), want);
    }
}

/// A KV cache's f16 halves as f32, sentinel words kept whole (as two f32 of their bits).
fn cache_halves(buf: &wgpu::Buffer) -> Vec<f32> {
    let words: Vec<u32> = bytemuck::pod_collect_to_vec(&read_bytes(buf));
    words
        .iter()
        .flat_map(|&w| {
            if w == CACHE_SENTINEL {
                [f32::from_bits(w), f32::from_bits(w)]
            } else {
                [w as u16, (w >> 16) as u16].map(|b| f16::from_bits(b).to_f32())
            }
        })
        .collect()
}

fn rope_store_case(norm: bool) {
    let mut f = Failures::new(ROPE_NMSE);
    let mut rng = StdRng::seed_from_u64(5);
    let ks = kernels(if norm {
        Family::NormRopeStore
    } else {
        Family::RopeStore
    });
    let eps = 1e-6f32;
    let (n_heads, n_kv, head_dim, ctx, slots) = (4usize, 2usize, 64usize, 1024usize, 2usize);
    let (q_stride, k_stride, v_stride) =
        (n_heads * head_dim + 8, n_kv * head_dim + 4, n_kv * head_dim);
    let rows_sp = [(0u32, 0u32), (7, 1), (513, 0), (999, 1)];
    let rows = rows_sp.len();
    let mut step_rows: Vec<[u32; 4]> = rows_sp.iter().map(|&(p, s)| [0, p, s, 0]).collect();
    // The padding row aims at a position that must stay untouched.
    step_rows.push([0, 500, 0, 0]);
    let step = step_buffer(rows, 1, &step_rows);
    let yarn = Yarn {
        orig_ctx: 4096,
        beta_fast: 32.0,
        beta_slow: 1.0,
        ext_factor: 1.0,
        attn_factor: 1.0,
    };
    let pairs = head_dim / 2;
    // (n_rot, neox, freq_base, freq_scale, yarn)
    for (n_rot, neox, base, fscale, yarn) in [
        (32u32, false, 10000.0f32, 1.0f32, None),
        (32, true, 1e6, 0.25, None),
        (64, true, 10000.0, 1.0, None),
        (64, false, 500000.0, 0.5, None),
        (64, true, 150000.0, 1.0 / 32.0, Some(yarn)),
    ] {
        let rope = RopeParams {
            n_heads: n_heads as u32,
            head_dim: head_dim as u32,
            n_rot,
            neox,
            freq_base: base,
            freq_scale: fscale,
            yarn,
        };
        let (freqs, mscale) = rope.frequencies();
        let freq_buf = buffer_f32(&freqs);
        let ms = f64::from(mscale);
        let half_rot = n_rot as usize / 2;
        let q_w = uniform_vec(&mut rng, head_dim, 0.5, 1.5);
        let k_w = uniform_vec(&mut rng, head_dim, 0.5, 1.5);
        let norm_err = if norm {
            (head_dim as f64 + 16.0) * U
        } else {
            0.0
        };
        // Each rotated value of one head's dims at position pos, normed by weight w first with
        // QK-norm: (value, bound) per dim; bound 0 where the value passes as it was.
        let rotate = |x: &[f32], w: &[f32], pos: u32| -> Vec<(f64, f64)> {
            let inv = if norm {
                let mean = x.iter().map(|&v| f64::from(v).powi(2)).sum::<f64>() / x.len() as f64;
                1.0 / (mean + f64::from(eps)).sqrt()
            } else {
                1.0
            };
            let normed: Vec<f64> = (0..x.len())
                .map(|d| f64::from(x[d]) * if norm { inv * f64::from(w[d]) } else { 1.0 })
                .collect();
            let mut out: Vec<(f64, f64)> =
                normed.iter().map(|&v| (v, v.abs() * norm_err)).collect();
            for (i, &fr) in freqs.iter().enumerate() {
                let theta = f64::from(pos) * f64::from(fr);
                let (a, b) = if neox {
                    (i, i + half_rot)
                } else {
                    (2 * i, 2 * i + 1)
                };
                let (x0, x1) = (normed[a], normed[b]);
                let (sn, c) = theta.sin_cos();
                let angle_err = 2f64.powi(-11) + theta.abs() * 2.0 * U;
                let bound = (x0.abs() + x1.abs()) * ms * (angle_err + norm_err + 8.0 * U);
                out[a] = ((x0 * c - x1 * sn) * ms, bound);
                out[b] = ((x0 * sn + x1 * c) * ms, bound);
            }
            out
        };
        let q = uniform_vec(&mut rng, (rows + 1) * q_stride, -1.0, 1.0);
        let k = uniform_vec(&mut rng, (rows + 1) * k_stride, -1.0, 1.0);
        let v = uniform_vec(&mut rng, (rows + 1) * v_stride, -1.0, 1.0);
        let mut want_q: Vec<Want> = q.iter().map(|x| Want::Bits(x.to_bits())).collect();
        let cache_words = slots * n_kv * ctx * pairs;
        let mut want_k = vec![Want::Bits(CACHE_SENTINEL); 2 * cache_words];
        let mut want_v = vec![Want::Bits(CACHE_SENTINEL); 2 * cache_words];
        for (r, &(pos, slot)) in rows_sp.iter().enumerate() {
            for h in 0..n_heads {
                let at = r * q_stride + h * head_dim;
                for (d, (value, bound)) in rotate(&q[at..at + head_dim], &q_w, pos)
                    .into_iter()
                    .enumerate()
                {
                    if bound > 0.0 {
                        want_q[at + d] = Want::Near { value, bound };
                    }
                }
            }
            for h in 0..n_kv {
                let at = r * k_stride + h * head_dim;
                let dst = ((slot as usize * n_kv + h) * ctx + pos as usize) * head_dim;
                for (d, (value, bound)) in rotate(&k[at..at + head_dim], &k_w, pos)
                    .into_iter()
                    .enumerate()
                {
                    // The halves' words are compared as f16 values decoded to f32 below.
                    want_k[dst + d] = if bound > 0.0 {
                        Want::Near {
                            value,
                            bound: bound + value.abs() * 2f64.powi(-11),
                        }
                    } else {
                        Want::Bits(f16::from_f32(value as f32).to_f32().to_bits())
                    };
                    let vv = v[r * v_stride + h * head_dim + d];
                    want_v[dst + d] = Want::Bits(f16::from_f32(vv).to_f32().to_bits());
                }
            }
        }
        let dims = head_dim as u32 | n_rot << 16 | u32::from(neox) << 31;
        let [q_st, k_st, v_st] = [q_stride as u32, k_stride as u32, v_stride as u32];
        let (params, groups) = if norm {
            let heads = n_heads as u32 | (n_kv as u32) << 16;
            let p = [
                heads,
                dims,
                mscale.to_bits(),
                eps.to_bits(),
                ctx as u32,
                q_st,
                k_st,
                v_st,
            ];
            // A workgroup per head of q and of k in each row.
            (p, fold(((rows + 1) * (n_heads + n_kv)) as u64, 1))
        } else {
            let p = [
                n_heads as u32,
                n_kv as u32,
                dims,
                mscale.to_bits(),
                ctx as u32,
                q_st,
                k_st,
                v_st,
            ];
            // A thread per pair of q and per cache word of k and v.
            let threads = (rows + 1) * (n_heads * half_rot + n_kv * pairs);
            (p, fold(threads as u64, u64::from(WG)))
        };
        let (qw_buf, kw_buf) = (buffer_f32(&q_w), buffer_f32(&k_w));
        for kern in &ks {
            let (qb, kb, vb) = (buffer_f32(&q), buffer_f32(&k), buffer_f32(&v));
            let sentinel = vec![CACHE_SENTINEL; cache_words];
            let k_cache = buffer(bytemuck::cast_slice(&sentinel));
            let v_cache = buffer(bytemuck::cast_slice(&sentinel));
            let bufs: Vec<&wgpu::Buffer> = if norm {
                vec![
                    &step, &freq_buf, &qb, &kb, &vb, &k_cache, &v_cache, &qw_buf, &kw_buf,
                ]
            } else {
                vec![&step, &freq_buf, &qb, &kb, &vb, &k_cache, &v_cache]
            };
            dispatch(kern, 0, params, &bufs, groups);
            let label = format!(
                "{} n_rot={n_rot} neox={neox} base={base} freq_scale={fscale} yarn={}",
                kern.label,
                yarn.is_some()
            );
            f.check(&format!("{label} q"), &read_f32(&qb), &want_q);
            check_cache(&mut f, &label, [(&k_cache, &want_k), (&v_cache, &want_v)]);
            let k_bits: Vec<Want> = k.iter().map(|x| Want::Bits(x.to_bits())).collect();
            f.check(&format!("{label} k"), &read_f32(&kb), &k_bits);
        }
    }
    f.finish();
}

/// The KV store (rope_store without rotation) then attention, as one step runs them, over a
/// cache of 2 slots x 320 positions already holding earlier rows (stored by a first dispatch). The step has 13 real rows
/// (slot 0 at positions up to 300, slot 1 up to 90) in a bucket of 16 whose padding rows point at
/// unwritten cache positions: the store must skip them and attention must not write their
/// outputs. Slot 0 also holds positions after most of its queries, which causality must hide.
/// GQA over 2 KV heads with 6, 1, 2 and 4 query heads each (head_dim 64, 128, 80, 256); windows 0
/// (all), 37 and 100, so queries see 1 to 5 blocks of 64 positions, some starting mid-block.
/// Decode attention runs split-K in 1, 3 and 256 parts (at position 300, 19 splits of 16
/// positions hold keys: the merge's unrolled loop runs; many others are empty), prefill attention
/// in 1 and 8, each merged by every variant of attention_combine.
#[test]
fn kv_store_attention() {
    let mut f = Failures::new(NMSE);
    let mut rng = StdRng::seed_from_u64(6);
    // rope_store with n_rot = 0 and no q heads stores k and v as they are.
    let store = kernels(Family::RopeStore);
    let combine = kernels(Family::AttentionCombine);
    let (n_kv, slots, ctx) = (2usize, 2usize, 320usize);
    let filled = [301usize, 91]; // positions held per slot after the step
    // Two prefill tiles of 8 rows: the first holds 7 rows of slot 0 and one of slot 1, the
    // second the rest of slot 1 and 3 padding rows.
    let queries: [(u32, u32); 13] = [
        (300, 0),
        (100, 0),
        (65, 0),
        (139, 0),
        (7, 0),
        (30, 0),
        (120, 0),
        (90, 1),
        (0, 1),
        (45, 1),
        (89, 1),
        (12, 1),
        (60, 1),
    ];
    let bucket = 16;
    let mut f_coop = Failures::new(COOP_NMSE);
    // f16's largest finite half at unwritten positions: one that counts toward a row's
    // attention blows its result up. Not NaN: the cooperative kernel multiplies whole blocks of
    // 32 keys, so it reads positions past the last one written, with probability 0 (the
    // runtime's caches hold zeros or an earlier sequence's values there).
    const CACHE_SENTINEL: u16 = 0x7bff;
    // The merge takes 32 dimensions per workgroup after decode attention (head_dim 80: two and
    // a half blocks) and whole heads after prefill attention.
    const DECODE_DIMS: u32 = 32;
    // Query heads per KV head: 6 (a chunk of 4 and one of 2 in decode), 1, 2 and 4; head_dim 80
    // is a multiple of 16 but not of 32.
    for (head_dim, n_heads) in [(64usize, 12usize), (128, 2), (80, 4), (256, 8)] {
        // The variants of this head dim: compiled for it (64, 128, 256), or reading it from
        // their parameters (80).
        let dim = attention_head_dim(head_dim as u32);
        let attend = kernels(Family::Attention(dim));
        // Prefill kernels with the batch rows each workgroup takes, and whether it is the
        // cooperative one (head dims up to 128), which takes q and P as f16: its outputs are
        // checked to 2e-3 in a Failures of its own.
        let mut prefill: Vec<(Kernel, u32, bool)> = kernels(Family::AttentionPrefill(dim))
            .into_iter()
            .map(|k| (k, ATTENTION_PREFILL_ROWS, false))
            .collect();
        if head_dim <= ATTENTION_COOP_MAX_HEAD_DIM as usize {
            prefill.extend(
                kernels(Family::AttentionPrefillCoop(dim))
                    .into_iter()
                    .map(|k| (k, ATTENTION_COOP_ROWS, true)),
            );
        }
        let kv_width = n_kv * head_dim;
        let pairs = head_dim / 2;
        // Source K and V rows for every (slot, pos) that will be in the cache.
        let mut source = || -> Vec<Vec<f32>> {
            filled
                .iter()
                .map(|&n| uniform_vec(&mut rng, n * kv_width, -1.0, 1.0))
                .collect()
        };
        let (mut k_src, v_src) = (source(), source());
        // Keys grow with their position up to 140, so a row's max over later blocks passes its
        // max over the first by more than the cooperative kernel's TAU: it rescales its sums.
        // (Growing on to 300 would take its f16 probabilities past the 2e-3 bound.)
        for slot in &mut k_src {
            for (i, x) in slot.iter_mut().enumerate() {
                *x *= 1.0 + (i / kv_width).min(140) as f32 / 24.0;
            }
        }
        let cache_words = slots * n_kv * ctx * pairs;
        let sentinel_word = u32::from(CACHE_SENTINEL) * 0x10001;
        let k_cache = buffer(bytemuck::cast_slice(&vec![sentinel_word; cache_words]));
        let v_cache = buffer(bytemuck::cast_slice(&vec![sentinel_word; cache_words]));

        // Rows of one store batch: their step rows and K / V tensors (stride = width).
        let batch = |pairs_sp: &[(u32, u32)], pad_to: usize| {
            let mut rows = Vec::new();
            let (mut k, mut v) = (Vec::new(), Vec::new());
            for &(pos, slot) in pairs_sp {
                rows.push([0, pos, slot, 0]);
                let at = pos as usize * kv_width;
                k.extend_from_slice(&k_src[slot as usize][at..at + kv_width]);
                v.extend_from_slice(&v_src[slot as usize][at..at + kv_width]);
            }
            for _ in pairs_sp.len()..pad_to {
                // Padding rows aim at unwritten positions with garbage inputs.
                rows.push([0, 150, 1, 0]);
                k.extend(std::iter::repeat_n(7.0f32, kv_width));
                v.extend(std::iter::repeat_n(7.0f32, kv_width));
            }
            (rows, k, v)
        };
        let store_params = [
            0,
            n_kv as u32,
            head_dim as u32,
            1.0f32.to_bits(),
            ctx as u32,
            0,
            kv_width as u32,
            kv_width as u32,
        ];
        // Neither read: RoPE without rotated dims or q heads.
        let (no_freqs, no_q) = (buffer_f32(&[0.0; 4]), buffer_f32(&[0.0; 4]));
        let store_groups = |rows: usize| fold((rows * n_kv * pairs) as u64, u64::from(WG));

        // Earlier steps: everything but the query rows, in one batch.
        let history: Vec<(u32, u32)> = (0..slots)
            .flat_map(|s| (0..filled[s] as u32).map(move |p| (p, s as u32)))
            .filter(|ps| !queries.contains(ps))
            .collect();
        let (rows, k, v) = batch(&history, history.len());
        let step = step_buffer(rows.len(), 0, &rows);
        let (kb, vb) = (buffer_f32(&k), buffer_f32(&v));
        dispatch(
            &store[0],
            0,
            store_params,
            &[&step, &no_freqs, &no_q, &kb, &vb, &k_cache, &v_cache],
            store_groups(rows.len()),
        );

        // This step: the queries' own K / V first, then attention over the cache.
        let (rows, k, v) = batch(&queries, bucket);
        let step = step_buffer(queries.len(), 1, &rows);
        let (kb, vb) = (buffer_f32(&k), buffer_f32(&v));
        dispatch(
            &store[0],
            0,
            store_params,
            &[&step, &no_freqs, &no_q, &kb, &vb, &k_cache, &v_cache],
            store_groups(bucket),
        );

        // The cache must be the sources rounded to f16 where written and untouched elsewhere.
        let k_got: Vec<u16> = bytemuck::pod_collect_to_vec(&read_bytes(&k_cache));
        let v_got: Vec<u16> = bytemuck::pod_collect_to_vec(&read_bytes(&v_cache));
        for (name, src, got) in [("k", &k_src, &k_got), ("v", &v_src, &v_got)] {
            let mut want = vec![CACHE_SENTINEL; got.len()];
            for s in 0..slots {
                for p in 0..filled[s] {
                    for h in 0..n_kv {
                        for d in 0..head_dim {
                            let at = ((s * n_kv + h) * ctx + p) * head_dim + d;
                            want[at] =
                                f16::from_f32(src[s][p * kv_width + h * head_dim + d]).to_bits();
                        }
                    }
                }
            }
            let wrong: Vec<usize> = (0..got.len()).filter(|&i| got[i] != want[i]).collect();
            let label = format!("{} head_dim={head_dim} {name} cache", store[0].label);
            if let Some(&i) = wrong.first() {
                let msg = format!(
                    "FAIL {label}: {} of {} halves wrong; first [{i}] got {:#06x} want {:#06x}",
                    wrong.len(),
                    got.len(),
                    got[i],
                    want[i]
                );
                eprintln!("{msg}");
                f.cases.push(msg);
            } else {
                eprintln!("ok   {label}: bit-exact");
            }
        }
        let cache_val = |c: &[u16], s: usize, h: usize, t: usize, d: usize| {
            f64::from(f16::from_bits(c[((s * n_kv + h) * ctx + t) * head_dim + d]).to_f32())
        };

        let q_width = n_heads * head_dim;
        // The merge also writes its rows quantized where heads are whole blocks of 32.
        let q8_rows = (head_dim % 32 == 0).then_some(queries.len());
        let q = uniform_vec(&mut rng, bucket * q_width, -3.0, 3.0);
        let q_buf = buffer_f32(&q);
        let scale = 1.0 / (head_dim as f32).sqrt();
        // Sink logits up to 8 also exceed every score of some heads (the max path).
        let sinks = uniform_vec(&mut rng, n_heads, -2.0, 8.0);
        let sinks_buf = buffer_f32(&sinks);
        for (window, with_sinks) in [
            (0u32, false),
            (37, false),
            (100, false),
            (0, true),
            (37, true),
        ] {
            let mut want = vec![untouched(); bucket * q_width];
            for (r, &(pos, slot)) in queries.iter().enumerate() {
                let (pos, s) = (pos as usize, slot as usize);
                let lo = if window > 0 && pos + 1 > window as usize {
                    pos + 1 - window as usize
                } else {
                    0
                };
                for h in 0..n_heads {
                    let kvh = h / (n_heads / n_kv);
                    let qh = &q[r * q_width + h * head_dim..][..head_dim];
                    let scores: Vec<f64> = (lo..=pos)
                        .map(|t| {
                            (0..head_dim)
                                .map(|d| f64::from(qh[d] * scale) * cache_val(&k_got, s, kvh, t, d))
                                .sum()
                        })
                        .collect();
                    let sink = with_sinks.then(|| f64::from(sinks[h]));
                    let max = scores
                        .iter()
                        .chain(&sink)
                        .fold(f64::NEG_INFINITY, |a, &b| a.max(b));
                    let e: Vec<f64> = scores.iter().map(|s| (s - max).exp()).collect();
                    let sum: f64 = e.iter().sum::<f64>() + sink.map_or(0.0, |s| (s - max).exp());
                    for d in 0..head_dim {
                        let o: f64 = (lo..=pos)
                            .zip(&e)
                            .map(|(t, p)| p * cache_val(&v_got, s, kvh, t, d))
                            .sum::<f64>()
                            / sum;
                        want[r * q_width + h * head_dim + d] = Want::Near {
                            value: o,
                            bound: 4e-5,
                        };
                    }
                }
            }
            // The cooperative kernel's bound: it takes q and P as f16.
            let loose = |want: &[Want]| -> Vec<Want> {
                want.iter()
                    .map(|w| match *w {
                        Want::Near { value, .. } => Want::Near { value, bound: 2e-3 },
                        other => other,
                    })
                    .collect()
            };
            // The attention kernels' parameters, the last word their splits (and direct bits).
            let attention_params = |split_word: u32| {
                [
                    n_heads as u32,
                    n_kv as u32,
                    head_dim as u32,
                    ctx as u32,
                    window,
                    scale.to_bits(),
                    q_width as u32,
                    split_word,
                ]
            };
            // Decode attention kernel `kern` in `splits` splits' workgroups (`split_word`: the
            // splits and any direct bits) into a fresh output and 8-bit copy.
            let attend_once =
                |kern: &Kernel, split_word: u32, splits: u32, partials: &wgpu::Buffer| {
                    let y = buffer_f32(&vec![SENTINEL; bucket * q_width]);
                    let q8 = q8_buffer(q8_rows.map(|_| bucket), q_width);
                    dispatch(
                        kern,
                        0,
                        attention_params(split_word),
                        &[&step, &q_buf, &k_cache, &v_cache, partials, &y, &q8],
                        (
                            attention_groups(n_heads as u32, n_kv as u32, splits),
                            bucket as u32,
                        ),
                    );
                    (y, q8)
                };
            for splits in [1u32, 3, ATTENTION_DECODE_MAX_SPLITS] {
                let combine_params = [
                    n_heads as u32,
                    head_dim as u32,
                    splits,
                    q_width as u32,
                    u32::from(with_sinks),
                    u32::from(q8_rows.is_some()),
                    DECODE_DIMS,
                    0,
                ];
                let partials = buffer_f32(&vec![
                    SENTINEL;
                    bucket * n_heads * splits as usize * (head_dim + 2)
                ]);
                for (kern, comb) in attend
                    .iter()
                    .flat_map(|a| combine.iter().map(move |c| (a, c)))
                {
                    let (y, q8) = attend_once(kern, splits, splits, &partials);
                    dispatch(
                        comb,
                        0,
                        combine_params,
                        &[&step, &partials, &sinks_buf, &y, &q8],
                        (
                            attention_combine_groups(n_heads as u32, head_dim as u32, DECODE_DIMS),
                            bucket as u32,
                        ),
                    );
                    let label = format!(
                        "{} + {} head_dim={head_dim} window={window} splits={splits} sinks={with_sinks}",
                        kern.label, comb.label
                    );
                    f.check(&label, &read_f32(&y), &want);
                    check_q8(&mut f, &label, &y, &q8, q8_rows, q_width, q_width);
                }
            }
            // Shallow steps: one split writing the output and its 8-bit copy itself.
            if !with_sinks {
                let direct = 1
                    | ATTENTION_DIRECT
                    | if q8_rows.is_some() {
                        ATTENTION_DIRECT_Q8
                    } else {
                        0
                    };
                let partials = buffer_f32(&[SENTINEL; 4]);
                for kern in &attend {
                    let (y, q8) = attend_once(kern, direct, 1, &partials);
                    let label =
                        format!("{} direct head_dim={head_dim} window={window}", kern.label);
                    f.check(&label, &read_f32(&y), &want);
                    check_q8(&mut f, &label, &y, &q8, q8_rows, q_width, q_width);
                }
            }
            for splits in [1u32, 8] {
                let params = attention_params(splits);
                let combine_params = [
                    n_heads as u32,
                    head_dim as u32,
                    splits,
                    q_width as u32,
                    u32::from(with_sinks),
                    u32::from(q8_rows.is_some()),
                    head_dim as u32,
                    0,
                ];
                let partials = buffer_f32(&vec![
                    SENTINEL;
                    bucket * n_heads * splits as usize * (head_dim + 2)
                ]);
                for ((kern, tile, coop), comb) in prefill
                    .iter()
                    .flat_map(|a| combine.iter().map(move |c| (a, c)))
                {
                    let y = buffer_f32(&vec![SENTINEL; bucket * q_width]);
                    dispatch(
                        kern,
                        0,
                        params,
                        &[&step, &q_buf, &k_cache, &v_cache, &partials],
                        (n_heads as u32 * splits, (bucket as u32).div_ceil(*tile)),
                    );
                    let q8 = q8_buffer(q8_rows.map(|_| bucket), q_width);
                    dispatch(
                        comb,
                        0,
                        combine_params,
                        &[&step, &partials, &sinks_buf, &y, &q8],
                        (
                            attention_combine_groups(
                                n_heads as u32,
                                head_dim as u32,
                                head_dim as u32,
                            ),
                            bucket as u32,
                        ),
                    );
                    let label = format!(
                        "{} + {} head_dim={head_dim} window={window} splits={splits} sinks={with_sinks}",
                        kern.label, comb.label
                    );
                    let got = read_f32(&y);
                    if *coop {
                        f_coop.check(&label, &got, &loose(&want));
                    } else {
                        f.check(&label, &got, &want);
                    }
                    check_q8(&mut f, &label, &y, &q8, q8_rows, q_width, q_width);
                }
            }
            // The cooperative kernel in one split writing the output itself.
            if !with_sinks {
                for (kern, tile, _) in prefill.iter().filter(|(_, _, coop)| *coop) {
                    let y = buffer_f32(&vec![SENTINEL; bucket * q_width]);
                    dispatch(
                        kern,
                        0,
                        attention_params(1 | ATTENTION_DIRECT),
                        &[&step, &q_buf, &k_cache, &v_cache, &y],
                        (n_heads as u32, (bucket as u32).div_ceil(*tile)),
                    );
                    let label =
                        format!("{} direct head_dim={head_dim} window={window}", kern.label);
                    f_coop.check(&label, &read_f32(&y), &loose(&want));
                }
            }
        }
    }
    f.finish();
    f_coop.finish();
}

/// Every entry point over 3 rows of 300 (not a multiple of 64) and of 320, gates in [-8, 8] to
/// reach the activations' tails and up values in [-9, 9] past gpt-oss's clamps; the buffer's tail
/// past n must stay untouched. Gate and up come as two buffers, and as views of one stacked
/// tensor whose rows hold the gate's values then the up projection's (row stride twice the
/// width). Rows of 320 are also written quantized, in rows of 320 and of 160 (two per row, as
/// per-pair expert inputs are).
#[test]
fn glu() {
    let mut f = Failures::new(NMSE);
    let mut rng = StdRng::seed_from_u64(7);
    let ks = kernels(Family::Glu);
    let rows = 3;
    for (cols, q8_ks) in [(300usize, &[0usize][..]), (320, &[0, 320, 160][..])] {
        let n = rows * cols;
        let gate = uniform_vec(&mut rng, n, -8.0, 8.0);
        // Past gpt-oss's clamps at 7 on both sides.
        let up = uniform_vec(&mut rng, n, -9.0, 9.0);
        let (g_buf, u_buf) = (buffer_f32(&gate), buffer_f32(&up));
        let stacked: Vec<f32> = gate
            .chunks(cols)
            .zip(up.chunks(cols))
            .flat_map(|(g, u)| g.iter().chain(u).copied())
            .collect();
        // The up view of each stacked row starts `cols` floats in.
        let (s_gate, s_up) = (buffer_f32(&stacked), buffer_f32(&stacked[cols..]));
        let tail = 70;
        for (entry, name) in ["geglu", "swiglu", "swiglu_oai"].iter().enumerate() {
            let mut want = vec![untouched(); n + tail];
            for i in 0..n {
                let (value, bound) = glu_reference(entry, f64::from(gate[i]), f64::from(up[i]));
                want[i] = Want::Near { value, bound };
            }
            let c = cols as u32;
            for &q8_k in q8_ks {
                let q8_rows = (q8_k > 0).then(|| n / q8_k);
                for (layout, stride, g, u) in [
                    ("separate", c, &g_buf, &u_buf),
                    ("stacked", 2 * c, &s_gate, &s_up),
                ] {
                    let params = [n as u32, c, stride, stride, q8_k as u32, 0, 0, 0];
                    for kern in &ks {
                        let y = buffer_f32(&vec![SENTINEL; n + tail]);
                        let q8 = q8_buffer(q8_rows, q8_k);
                        dispatch(
                            kern,
                            entry,
                            params,
                            &[g, u, &y, &q8],
                            glu_groups(rows as u32, c, q8_k > 0),
                        );
                        let label = format!("{}.{name} {layout} n={n} q8_k={q8_k}", kern.label);
                        f.check(&label, &read_f32(&y), &want);
                        check_q8(&mut f, &label, &y, &q8, q8_rows, q8_k, q8_k);
                    }
                }
            }
        }
    }
    f.finish();
}

/// The decode matvec over a layer's q, k and v rows that rotates q and k (normal RoPE) and
/// stores k and v in the KV cache, for every format with a matvec kernel of its own: a weight
/// with q, k and v (4 and 2 heads of 32, the first 16 dims rotated), one with q and k (all dims
/// rotated, frequencies scaled by 0.5) and one with v alone. Three rows at positions up to 999 in
/// two slots run in a bucket of 4 whose padding row (aimed at position 500) must store nothing;
/// y's k and v rows, and every cache word not stored, stay untouched. Bounds: rope_store's on
/// each rotated value, plus the dot products' `2 k u Σ|w x|` carried through the rotation, plus
/// f16 rounding in the cache.
#[test]
fn matvec_rope() {
    let mut f = Failures::new(ROPE_NMSE);
    let mut rng = StdRng::seed_from_u64(12);
    let (n_heads, n_kv, head_dim, ctx, slots) = (4usize, 2usize, 32usize, 1024usize, 2usize);
    let (q_dim, kv_dim) = (n_heads * head_dim, n_kv * head_dim);
    let rows_sp = [(0u32, 0u32), (513, 1), (999, 0)];
    let mut step_rows: Vec<[u32; 4]> = rows_sp.iter().map(|&(p, s)| [0, p, s, 0]).collect();
    step_rows.push([0, 500, 0, 0]);
    let step = step_buffer(rows_sp.len(), 1, &step_rows);
    let bucket = step_rows.len();
    let cache_words = slots * n_kv * ctx * head_dim / 2;
    for ty in WEIGHT_FORMATS {
        if !Family::MatvecRope(ty).supports() {
            continue;
        }
        let ks = kernels(Family::MatvecRope(ty));
        let normed_ks = normed_kernels(Family::MatvecRope(ty));
        let k = width(ty, 512, 96);
        // (q_end, k_end, m, n_rot, freq_scale)
        for (q_end, k_end, m, n_rot, fscale) in [
            (q_dim, q_dim + kv_dim, q_dim + 2 * kv_dim, 16u32, 1.0f32),
            (q_dim, q_dim + kv_dim, q_dim + kv_dim, 32, 0.5),
            (0, 0, kv_dim, 16, 1.0),
        ] {
            let rope = RopeParams {
                n_heads: n_heads as u32,
                head_dim: head_dim as u32,
                n_rot,
                neox: false,
                freq_base: 10000.0,
                freq_scale: fscale,
                yarn: None,
            };
            let (freqs, mscale) = rope.frequencies();
            let ms = f64::from(mscale);
            let (bytes, w) = random_weight(&mut rng, ty, m, k);
            let rb = wick_shaders::row_bytes(ty, k as u64) as usize;
            let (x_buf, x) = matvec_x(&mut rng, ty, bucket, k);
            let parts = norm_parts(&mut rng, k);
            for (ks, x, normed) in normed_passes(&ks, &normed_ks, &x, k) {
                let mut want_y = vec![untouched(); bucket * m];
                let mut want_k = vec![Want::Bits(CACHE_SENTINEL); 2 * cache_words];
                let mut want_v = vec![Want::Bits(CACHE_SENTINEL); 2 * cache_words];
                for (r, &(pos, slot)) in rows_sp.iter().enumerate() {
                    let dot = |i: usize| {
                        let terms =
                            (0..k).map(|j| f64::from(w[i * k + j]) * f64::from(x[r * k + j]));
                        let (sum, mag) = terms.fold((0.0, 0.0), |(s, a), t| (s + t, a + t.abs()));
                        (sum, 2.0 * k as f64 * U * mag)
                    };
                    for i in (0..m).step_by(2) {
                        let ((x0, e0), (x1, e1)) = (dot(i), dot(i + 1));
                        let start = if i < q_end {
                            0
                        } else if i < k_end {
                            q_end
                        } else {
                            k_end
                        };
                        let (h, d) = ((i - start) / head_dim, (i - start) % head_dim);
                        let pair = if i < k_end && d < n_rot as usize {
                            let theta = f64::from(pos) * f64::from(freqs[d / 2]);
                            let (sn, c) = theta.sin_cos();
                            let angle_err = 2f64.powi(-11) + theta.abs() * 2.0 * U;
                            let bound =
                                (x0.abs() + x1.abs()) * ms * (angle_err + 8.0 * U) + ms * (e0 + e1);
                            [
                                ((x0 * c - x1 * sn) * ms, bound),
                                ((x0 * sn + x1 * c) * ms, bound),
                            ]
                        } else {
                            [(x0, e0), (x1, e1)]
                        };
                        if i < q_end {
                            for (j, (value, bound)) in pair.into_iter().enumerate() {
                                want_y[r * m + i + j] = Want::Near { value, bound };
                            }
                            continue;
                        }
                        let at = ((slot as usize * n_kv + h) * ctx + pos as usize) * head_dim + d;
                        let cache = if i < k_end { &mut want_k } else { &mut want_v };
                        for (j, (value, bound)) in pair.into_iter().enumerate() {
                            cache[at + j] = Want::Near {
                                value,
                                bound: bound + value.abs() * 2f64.powi(-11),
                            };
                        }
                    }
                }
                let params = [
                    k as u32,
                    m as u32,
                    rb as u32,
                    bucket as u32,
                    (q_end | k_end << 16) as u32,
                    head_dim as u32 | n_rot << 16,
                    mscale.to_bits(),
                    ctx as u32,
                ];
                let (weights, freq_buf) = (buffer(&bytes), buffer_f32(&freqs));
                let groups = fold(m as u64, u64::from(Family::MatvecRope(ty).matvec_rows()));
                for kern in ks {
                    let y = buffer_f32(&vec![SENTINEL; bucket * m]);
                    let sentinel = vec![CACHE_SENTINEL; cache_words];
                    let k_cache = buffer(bytemuck::cast_slice(&sentinel));
                    let v_cache = buffer(bytemuck::cast_slice(&sentinel));
                    let bufs = [
                        &weights, &x_buf, &y, &step, &freq_buf, &k_cache, &v_cache, &parts,
                    ];
                    dispatch(kern, 0, params, &bufs[..7 + usize::from(normed)], groups);
                    let label = format!(
                        "{} m={m} q_end={q_end} k_end={k_end} n_rot={n_rot}",
                        kern.label
                    );
                    f.check(&format!("{label} q"), &read_f32(&y), &want_y);
                    check_cache(&mut f, &label, [(&k_cache, &want_k), (&v_cache, &want_v)]);
                }
            }
        }
    }
    f.finish();
}

/// act(g) * u for glu entry point (or matvec_glu kind) `entry`, and the bound on its error for
/// exact g and u.
fn glu_reference(entry: usize, g: f64, u: f64) -> (f64, f64) {
    match entry {
        0 => {
            let z = 0.7978845608028654 * (g + 0.044715 * g * g * g);
            let y = 0.5 * g * (1.0 + z.tanh()) * u;
            let bound = (g * u).abs() * (8.0 + 4.0 * z.abs().min(15.0)) * U + y.abs() * 16.0 * U;
            (y, bound)
        }
        1 => {
            let y = g / (1.0 + (-g).exp()) * u;
            (y, y.abs() * (4.0 * g.abs() + 16.0) * U)
        }
        _ => {
            let (g, u) = (g.min(7.0), u.clamp(-7.0, 7.0));
            let act = g / (1.0 + (-1.702 * g).exp());
            let bound = act.abs() * (u.abs() + 1.0) * (8.0 * g.abs() + 24.0) * U;
            (act * (u + 1.0), bound)
        }
    }
}

/// The matvec that ends with the glu, for every format with a matvec kernel of its own and each
/// activation: outputs j = act(gate row j . x) * (up row j . x) of a weight stacking n gate rows
/// on n up rows. n = 37 and 19 leave a workgroup with one gate/up pair, 150 rows of k = 1792 or
/// 1376 give lanes uneven chunks, and the output rows' padding (stride n + 3) stays untouched.
/// Beyond the activation's own error, a dot product's error `2 k u Σ|w x|` moves the result by
/// at most 1.2 (|u| + 1) times the gate's and |act(g)| times the up projection's.
#[test]
fn matvec_glu() {
    let mut f = Failures::new(NMSE);
    let mut rng = StdRng::seed_from_u64(11);
    for ty in WEIGHT_FORMATS {
        if !Family::MatvecGlu(ty).supports() {
            continue;
        }
        let ks = kernels(Family::MatvecGlu(ty));
        let normed_ks = normed_kernels(Family::MatvecGlu(ty));
        let k_small = width(ty, 512, 96);
        let k_big = width(ty, 1792, 1376);
        for (n, rows, k, entry) in [
            (37usize, 1usize, k_small, 1usize),
            (150, 4, k_big, 0),
            (19, 3, k_small, 2),
        ] {
            let (bytes, w) = random_weight(&mut rng, ty, 2 * n, k);
            let rb = wick_shaders::row_bytes(ty, k as u64) as usize;
            let weights = buffer(&bytes);
            let (x_buf, x) = matvec_x(&mut rng, ty, rows, k);
            let stride = n + 3;
            let parts = norm_parts(&mut rng, k);
            for (ks, x, normed) in normed_passes(&ks, &normed_ks, &x, k) {
                let mut want = vec![untouched(); rows * stride];
                for r in 0..rows {
                    let dot = |i: usize| {
                        let terms =
                            (0..k).map(|j| f64::from(w[i * k + j]) * f64::from(x[r * k + j]));
                        let (sum, mag) = terms.fold((0.0, 0.0), |(s, m), t| (s + t, m + t.abs()));
                        (sum, 2.0 * k as f64 * U * mag)
                    };
                    for j in 0..n {
                        let ((g, eg), (u, eu)) = (dot(j), dot(n + j));
                        let (value, bound) = glu_reference(entry, g, u);
                        let (act, _) = glu_reference(entry, g, 1.0);
                        want[r * stride + j] = Want::Near {
                            value,
                            bound: bound + 1.2 * (u.abs() + 1.0) * eg + act.abs() * eu,
                        };
                    }
                }
                let params = [
                    k as u32,
                    2 * n as u32,
                    rb as u32,
                    entry as u32,
                    rows as u32,
                    k as u32,
                    stride as u32,
                    0,
                ];
                let groups = fold(2 * n as u64, u64::from(Family::MatvecGlu(ty).matvec_rows()));
                for kern in ks {
                    let y = buffer_f32(&vec![SENTINEL; rows * stride]);
                    let bufs = [&weights, &x_buf, &y, &parts];
                    dispatch(kern, 0, params, &bufs[..3 + usize::from(normed)], groups);
                    let label = format!("{} n={n} rows={rows} k={k} kind={entry}", kern.label);
                    f.check(&label, &read_f32(&y), &want);
                }
            }
        }
    }
    f.finish();
}

/// A plain add, a bias broadcast over rows of 300, and an add of 65535 x 64 + 100 elements,
/// whose dispatch folds into two dimensions (so `flat_group` is exercised).
#[test]
fn add() {
    let mut f = Failures::new(NMSE);
    let mut rng = StdRng::seed_from_u64(8);
    let ks = kernels(Family::Add);
    let big = 65535 * WG as usize + 100;
    // (n, b_len)
    for (n, b_len) in [(900usize, 900usize), (900, 300), (big, big)] {
        let a = uniform_vec(&mut rng, n, -1.0, 1.0);
        let b = uniform_vec(&mut rng, b_len, -1.0, 1.0);
        let (a_buf, b_buf) = (buffer_f32(&a), buffer_f32(&b));
        let tail = 30;
        let mut want = vec![untouched(); n + tail];
        for i in 0..n {
            want[i] = Want::Bits((a[i] + b[i % b_len]).to_bits());
        }
        let params = [n as u32, b_len as u32, 0, 0, 0, 0, 0, 0];
        let groups = fold(n as u64, u64::from(WG));
        for kern in &ks {
            let y = buffer_f32(&vec![SENTINEL; n + tail]);
            dispatch(kern, 0, params, &[&a_buf, &b_buf, &y], groups);
            let label = format!("{} n={n} b_len={b_len} groups={groups:?}", kern.label);
            f.check(&label, &read_f32(&y), &want);
        }
    }
    f.finish();
}

/// Picks output rows (one repeated, out of order) from a batch of 6 rows of 300 into a bucket
/// of 4 outputs; the output buffer's spare row must stay untouched.
#[test]
fn gather_rows() {
    let mut f = Failures::new(NMSE);
    let mut rng = StdRng::seed_from_u64(9);
    let ks = kernels(Family::GatherRows);
    let (width, batch) = (300usize, 6usize);
    let out_rows = [5u32, 0, 3, 3];
    let x = uniform_vec(&mut rng, batch * width, -1.0, 1.0);
    let x_buf = buffer_f32(&x);
    let step_rows: Vec<[u32; 4]> = (0..batch)
        .map(|r| [0, r as u32, 0, out_rows.get(r).copied().unwrap_or(0)])
        .collect();
    let step = step_buffer(batch, out_rows.len(), &step_rows);
    let mut want = vec![untouched(); (out_rows.len() + 1) * width];
    for (i, &o) in out_rows.iter().enumerate() {
        for j in 0..width {
            want[i * width + j] = Want::Bits(x[o as usize * width + j].to_bits());
        }
    }
    let outputs = out_rows.len();
    let params = [width as u32, outputs as u32, 0, 0, 0, 0, 0, 0];
    for kern in &ks {
        let y = buffer_f32(&vec![SENTINEL; want.len()]);
        dispatch(
            kern,
            0,
            params,
            &[&step, &x_buf, &y],
            fold((outputs * width) as u64, u64::from(WG)),
        );
        f.check(
            &format!("{} width={width} out_rows={out_rows:?}", kern.label),
            &read_f32(&y),
            &want,
        );
    }
    f.finish();
}

/// Rows of logits with a stride wider than the row: widths that end mid-chunk (300, 1000) and
/// a vocabulary-sized one (262144, 1024 chunks), random values with the maximum repeated
/// (ties go to the first, in another chunk than the second), NaN and -inf mixed in, a row whose
/// maximum is -inf and a row of only NaN (token 0). Tokens must be exact.
#[test]
fn argmax() {
    let mut f = Failures::new(NMSE);
    let mut rng = StdRng::seed_from_u64(13);
    let ks = kernels(Family::Argmax);
    for width in [300usize, 1000, 262144] {
        let (rows, stride) = (5usize, width + 7);
        let mut x = uniform_vec(&mut rng, rows * stride, -20.0, 20.0);
        fn row(x: &mut [f32], r: usize, stride: usize, width: usize) -> &mut [f32] {
            &mut x[r * stride..][..width]
        }
        // Row 0: its maximum twice, the second copy ARGMAX_CHUNK + 3 columns on.
        let at = rng.random_range(0..width - ARGMAX_CHUNK as usize - 3);
        row(&mut x, 0, stride, width)[at] = 25.0;
        row(&mut x, 0, stride, width)[at + ARGMAX_CHUNK as usize + 3] = 25.0;
        // Row 1: NaN before and after its maximum, -inf here and there.
        for i in (0..width).step_by(7) {
            row(&mut x, 1, stride, width)[i] = f32::NAN;
        }
        for i in (3..width).step_by(11) {
            row(&mut x, 1, stride, width)[i] = f32::NEG_INFINITY;
        }
        // Row 2: NaN, then nothing above -inf.
        row(&mut x, 2, stride, width).fill(f32::NEG_INFINITY);
        row(&mut x, 2, stride, width)[0] = f32::NAN;
        // Row 3: only NaN.
        row(&mut x, 3, stride, width).fill(f32::NAN);
        let want: Vec<u32> = (0..rows)
            .map(|r| {
                let l = &x[r * stride..][..width];
                let mut best: Option<usize> = None;
                for (i, &v) in l.iter().enumerate() {
                    if !v.is_nan() && best.is_none_or(|b| v > l[b]) {
                        best = Some(i);
                    }
                }
                best.unwrap_or(0) as u32
            })
            .collect();
        assert_eq!(want[0] as usize, at, "row 0's first maximum");
        assert_eq!(want[2], 1, "row 2's first -inf");
        let x_buf = buffer_f32(&x);
        let chunks = argmax_chunks(width as u32);
        let params = [width as u32, stride as u32, chunks, 0, 0, 0, 0, 0];
        for kern in &ks {
            let partials = buffer(&vec![0xa5; rows * chunks as usize * 8]);
            let tokens = buffer(bytemuck::cast_slice(&vec![SENTINEL_TOKEN; rows + 1]));
            let bufs = [&x_buf, &partials, &tokens];
            dispatch(kern, 0, params, &bufs, (chunks, rows as u32));
            dispatch(kern, 1, params, &bufs, (1, rows as u32));
            let got: Vec<u32> = bytemuck::pod_collect_to_vec(&read_bytes(&tokens));
            let label = format!("{} width={width}", kern.label);
            let mut want_all = want.clone();
            want_all.push(SENTINEL_TOKEN);
            if got != want_all {
                let msg = format!("FAIL {label}: tokens {got:?}, want {want_all:?}");
                eprintln!("{msg}");
                f.cases.push(msg);
            } else {
                eprintln!("ok   {label}: {got:?}");
            }
        }
    }
    f.finish();
}

/// The routing reference: softmax in f64, experts by logit (lowest id first among equals), their
/// probabilities as weights, renormalised when `norm`.
fn route_reference(logits: &[f32], k: usize, norm: bool) -> (Vec<u32>, Vec<f64>) {
    let top = logits.iter().fold(f32::MIN, |a, &b| a.max(b));
    let total: f64 = logits.iter().map(|&l| f64::from(l - top).exp()).sum();
    let mut order: Vec<usize> = (0..logits.len()).collect();
    order.sort_by(|&a, &b| logits[b].total_cmp(&logits[a]).then(a.cmp(&b)));
    let ids: Vec<u32> = order[..k].iter().map(|&e| e as u32).collect();
    let mut w: Vec<f64> = order[..k]
        .iter()
        .map(|&e| f64::from(logits[e] - top).exp() / total)
        .collect();
    if norm {
        let sum: f64 = w.iter().sum();
        w.iter_mut().for_each(|v| *v /= sum.max(6.103515625e-5));
    }
    (ids, w)
}

/// Rows of router logits over 3 to 512 experts (the most the kernel holds), k from 1 to all
/// experts, with and without renormalisation; one row repeats a logit among its top experts,
/// so the lowest id must come first. Ids must be exact; weights within 64 u relative (exp at
/// 3 + 2|x| ulp with |x| < 16, a sum and a division).
#[test]
fn route() {
    let mut f = Failures::new(NMSE);
    let mut rng = StdRng::seed_from_u64(10);
    let ks = kernels(Family::Route);
    // (experts, k, norm, rows)
    for (n, k, norm, rows) in [
        (128usize, 8usize, true, 5usize),
        (60, 4, false, 3),
        (3, 3, true, 2),
        (512, 8, false, 2),
        (100, 1, true, 1),
    ] {
        let mut logits = uniform_vec(&mut rng, rows * n, -8.0, 8.0);
        // A tie inside the top k of row 0: copy its best logit to a higher id and a lower id.
        let best = (0..n)
            .max_by(|&a, &b| logits[a].total_cmp(&logits[b]))
            .unwrap();
        logits[(best + n / 2) % n] = logits[best];
        let l_buf = buffer_f32(&logits);
        let tail = 5;
        let mut want = vec![untouched(); rows * 2 * k + tail];
        for r in 0..rows {
            let (ids, w) = route_reference(&logits[r * n..(r + 1) * n], k, norm);
            for j in 0..k {
                want[r * 2 * k + j] = Want::Bits(ids[j]);
                want[r * 2 * k + k + j] = Want::Near {
                    value: w[j],
                    bound: w[j] * 64.0 * U,
                };
            }
        }
        let params = [n as u32, k as u32, u32::from(norm), rows as u32, 0, 0, 0, 0];
        for kern in &ks {
            let out = buffer_f32(&vec![SENTINEL; want.len()]);
            dispatch(kern, 0, params, &[&l_buf, &out], fold(rows as u64, 1));
            let label = format!("{} experts={n} k={k} norm={norm} rows={rows}", kern.label);
            f.check(&label, &read_f32(&out), &want);
        }
    }
    f.finish();
}

/// A route buffer as `route.wgsl` writes it: per row, k distinct random experts (u32 bits) then
/// k weights.
fn random_route(rng: &mut StdRng, rows: usize, experts: usize, k: usize) -> (Vec<u32>, Vec<f32>) {
    use rand::seq::SliceRandom;
    let mut ids = Vec::new();
    let mut words = Vec::new();
    for _ in 0..rows {
        let mut all: Vec<u32> = (0..experts as u32).collect();
        all.shuffle(rng);
        ids.extend_from_slice(&all[..k]);
        words.extend(all[..k].iter().map(|&e| f32::from_bits(e)));
        words.extend(uniform_vec(rng, k, 0.0, 1.0));
    }
    (ids, words)
}

/// The expert products of a decode step (matvec_id) and of a prefill chunk (moe_group, then
/// matmul_id, and matmul_id_coop where the device has cooperative matrices), in every weight
/// format: 6 stacked experts of m = 37 rows, uploaded in two parts (experts 0..4 and 4..6, one
/// dispatch each as `plan.rs` does), k = 3 experts per row, x shared by the slots or one per
/// slot; and experts whose matrices stack two of 37 rows (gate and up), whose outputs for the k
/// slots of a row come together per matrix. After the first part only pairs routed to its
/// experts may be written. 300 prefill rows give each expert about 150 pairs: several tiles of
/// matmul_id's 32 rows and of the cooperative kernels' 64 or 128.
#[test]
fn expert_products() {
    let mut f = Failures::new(NMSE);
    let mut f_coop = Failures::new(COOP_NMSE);
    let mut rng = StdRng::seed_from_u64(11);
    let groupers = kernels(Family::MoeGroup);
    let (experts, split, k_used) = (6usize, 37usize, 3usize);
    let parts = [(0usize, 4usize), (4, 2)];
    for ty in WEIGHT_FORMATS {
        let cols = width(ty, 256, 96);
        let rb = wick_shaders::row_bytes(ty, cols as u64) as usize;
        for (matvec, rows) in [(true, 3usize), (false, 300)] {
            for (per_slot, stacked) in [(false, false), (true, false), (false, true)] {
                let m = if stacked { 2 * split } else { split };
                let (bytes, w) = random_weight(&mut rng, ty, experts * m, cols);
                let part_bufs: Vec<wgpu::Buffer> = parts
                    .iter()
                    .map(|&(first, n)| buffer(&bytes[first * m * rb..(first + n) * m * rb]))
                    .collect();
                let x_stride = if per_slot { k_used * cols } else { cols };
                let x = uniform_vec(&mut rng, rows * x_stride, -1.0, 1.0);
                let mut x_buf = buffer_f32(&x);
                let mut x = x;
                if matvec && wick_shaders::matvec_takes_q8(ty) {
                    // Per-slot inputs are rows of `cols` side by side.
                    (x_buf, x) = if per_slot {
                        quantized_x(&x_buf, rows * k_used, cols, cols)
                    } else {
                        quantized_x(&x_buf, rows, cols, x_stride)
                    };
                }
                let (ids, route) = random_route(&mut rng, rows, experts, k_used);
                let route_buf = buffer_f32(&route);
                // want[p][..]: the output once parts 0..=p ran; cooperative matrices take both
                // operands as f16, and so does their reference (see `run_products`).
                let want = |coop: bool| {
                    let operand = |v: f32| {
                        if coop {
                            f64::from(f16::from_f32(v).to_f32())
                        } else {
                            f64::from(v)
                        }
                    };
                    let mut want = vec![vec![untouched(); rows * k_used * m]; parts.len()];
                    for (a, &e) in ids.iter().enumerate() {
                        let (r, j, e) = (a / k_used, a % k_used, e as usize);
                        let x_at = r * x_stride + if per_slot { j * cols } else { 0 };
                        let part = parts
                            .iter()
                            .position(|&(s, n)| e >= s && e < s + n)
                            .unwrap();
                        for i in 0..m {
                            let row = &w[(e * m + i) * cols..][..cols];
                            let (mut dot, mut mag, mut most) = (0.0f64, 0.0f64, 0.0f64);
                            for (c, &wv) in row.iter().enumerate() {
                                let t = operand(wv) * operand(x[x_at + c]);
                                dot += t;
                                mag += t.abs();
                                most = most.max(t.abs());
                            }
                            let tie = if coop { most / 2048.0 } else { 0.0 };
                            // Row r's outputs: matrix i / split's for slots 0..k, in turn.
                            let at = r * k_used * m + (i / split) * k_used * split + j * split;
                            for seen in &mut want[part..] {
                                seen[at + i % split] = Want::Near {
                                    value: dot,
                                    bound: 2.0 * cols as f64 * U * mag + tie,
                                };
                            }
                        }
                    }
                    want
                };
                let groups_buf = buffer(&vec![0u8; experts * (rows + 1) * 4]);
                let families = if matvec {
                    vec![Family::MatvecId(ty)]
                } else {
                    let mut expect = Vec::new();
                    for e in 0..experts as u32 {
                        let list: Vec<u32> = (0..(rows * k_used) as u32)
                            .filter(|&a| ids[a as usize] == e)
                            .collect();
                        expect.push(list.len() as u32);
                        expect.extend(&list);
                        expect.resize((e as usize + 1) * (rows + 1), 0);
                    }
                    for g in &groupers {
                        let params = [k_used as u32, rows as u32, 0, 0, 0, 0, 0, 0];
                        dispatch(
                            g,
                            0,
                            params,
                            &[&route_buf, &groups_buf],
                            (experts as u32, 1),
                        );
                        let got: Vec<u32> = bytemuck::pod_collect_to_vec(&read_bytes(&groups_buf));
                        let want: Vec<Want> = expect.iter().map(|&v| Want::Bits(v)).collect();
                        let label = format!("{} experts={experts} k={k_used} rows={rows}", g.label);
                        let got: Vec<f32> = got.iter().map(|&v| f32::from_bits(v)).collect();
                        f.check(&label, &got, &want);
                    }
                    vec![
                        Family::MatmulId(ty),
                        Family::MatmulIdCoop(ty, CoopSize::Eight),
                        Family::MatmulIdCoop(ty, CoopSize::Sixteen),
                    ]
                };
                for family in families {
                    let ks = kernels(family);
                    if ks.is_empty() {
                        continue;
                    }
                    let coop = family.cooperative();
                    let want = want(coop);
                    let f = if coop { &mut f_coop } else { &mut f };
                    for kern in &ks {
                        let y = buffer_f32(&vec![SENTINEL; rows * k_used * m]);
                        for (p, &(first, n)) in parts.iter().enumerate() {
                            let (params, groups, extra) = if matvec {
                                let params = [
                                    cols as u32,
                                    m as u32,
                                    rb as u32,
                                    first as u32 | (n as u32) << 16,
                                    1,
                                    x_stride as u32,
                                    k_used as u32,
                                    split as u32,
                                ];
                                let groups = (
                                    (m as u32).div_ceil(Family::MatvecId(ty).matvec_rows()),
                                    (rows * k_used) as u32,
                                );
                                (params, groups, &route_buf)
                            } else {
                                let params = [
                                    cols as u32,
                                    m as u32,
                                    rb as u32,
                                    k_used as u32,
                                    x_stride as u32,
                                    first as u32,
                                    split as u32,
                                    rows as u32,
                                ];
                                let (features, tile_rows) = family.matmul_tile().expect("a matmul");
                                let groups = (
                                    (m as u32).div_ceil(features),
                                    n as u32 * (rows as u32).div_ceil(tile_rows),
                                );
                                (params, groups, &groups_buf)
                            };
                            dispatch(kern, 0, params, &[&part_bufs[p], &x_buf, extra, &y], groups);
                            let label = format!(
                                "{} experts {first}..{} rows={rows} k={k_used} m={m} cols={cols} per_slot={per_slot}",
                                kern.label,
                                first + n
                            );
                            f.check(&label, &read_f32(&y), &want[p]);
                        }
                    }
                }
            }
        }
    }
    f.finish();
    f_coop.finish();
}

/// Weighted sums of k = 3 expert outputs over rows of 300, and rows scaled by the sigmoid of
/// their gate; each output buffer's tail must stay untouched. Bounds: the sum's `2 k u Σ|w y|`;
/// the sigmoid's exp (3 + 2|g| ulp) and a division.
#[test]
fn moe_sum_and_sigmoid_mul() {
    let mut f = Failures::new(NMSE);
    let mut rng = StdRng::seed_from_u64(12);
    let (rows, n, k) = (5usize, 300usize, 3usize);
    let tail = 40;
    let y = uniform_vec(&mut rng, rows * k * n, -1.0, 1.0);
    let (_, route) = random_route(&mut rng, rows, 8, k);
    let (y_buf, route_buf) = (buffer_f32(&y), buffer_f32(&route));
    let mut want = vec![untouched(); rows * n + tail];
    for r in 0..rows {
        for c in 0..n {
            let (mut s, mut mag) = (0.0f64, 0.0f64);
            for j in 0..k {
                let t = f64::from(route[r * 2 * k + k + j]) * f64::from(y[(r * k + j) * n + c]);
                s += t;
                mag += t.abs();
            }
            want[r * n + c] = Want::Near {
                value: s,
                bound: 2.0 * k as f64 * U * mag,
            };
        }
    }
    let total = (rows * n) as u32;
    for kern in &kernels(Family::MoeSum) {
        let out = buffer_f32(&vec![SENTINEL; want.len()]);
        let params = [n as u32, k as u32, total, 0, 0, 0, 0, 0];
        let groups = fold(u64::from(total), u64::from(WG));
        dispatch(kern, 0, params, &[&y_buf, &route_buf, &out], groups);
        f.check(
            &format!("{} rows={rows} n={n} k={k}", kern.label),
            &read_f32(&out),
            &want,
        );
    }
    let x = uniform_vec(&mut rng, rows * n, -2.0, 2.0);
    let gate = uniform_vec(&mut rng, rows, -10.0, 10.0);
    let (x_buf, g_buf) = (buffer_f32(&x), buffer_f32(&gate));
    let mut want = vec![untouched(); rows * n + tail];
    for (i, w) in want.iter_mut().take(rows * n).enumerate() {
        let g = f64::from(gate[i / n]);
        let v = f64::from(x[i]) / (1.0 + (-g).exp());
        *w = Want::Near {
            value: v,
            bound: v.abs() * (2.0 * g.abs() + 16.0) * U,
        };
    }
    for kern in &kernels(Family::SigmoidMul) {
        let out = buffer_f32(&vec![SENTINEL; want.len()]);
        let params = [n as u32, total, 0, 0, 0, 0, 0, 0];
        let groups = fold(u64::from(total), u64::from(WG));
        dispatch(kern, 0, params, &[&x_buf, &g_buf, &out], groups);
        f.check(
            &format!("{} rows={rows} n={n}", kern.label),
            &read_f32(&out),
            &want,
        );
    }
    f.finish();
}

/// Expert biases added in place to 4 rows of k = 3 routed pairs of m = 70 (the bias row of
/// each pair's expert among 5); the tail past the pairs must stay untouched. f32 adds are exact
/// in Vulkan, so the result must match the f32 sum bit for bit.
#[test]
fn expert_bias() {
    let mut f = Failures::new(NMSE);
    let mut rng = StdRng::seed_from_u64(13);
    let (rows, k, m, experts) = (4usize, 3usize, 70usize, 5usize);
    let (ids, route) = random_route(&mut rng, rows, experts, k);
    let bias = uniform_vec(&mut rng, experts * m, -1.0, 1.0);
    let y0 = uniform_vec(&mut rng, rows * k * m, -1.0, 1.0);
    let (route_buf, bias_buf) = (buffer_f32(&route), buffer_f32(&bias));
    let tail = 20;
    let mut want = vec![untouched(); rows * k * m + tail];
    for (n, w) in want.iter_mut().take(rows * k * m).enumerate() {
        let e = ids[n / m] as usize;
        *w = Want::Bits((y0[n] + bias[e * m + n % m]).to_bits());
    }
    let total = (rows * k * m) as u32;
    for kern in &kernels(Family::ExpertBias) {
        let mut init = y0.clone();
        init.extend(std::iter::repeat_n(SENTINEL, tail));
        let y = buffer_f32(&init);
        let params = [m as u32, k as u32, total, 0, 0, 0, 0, 0];
        dispatch(
            kern,
            0,
            params,
            &[&route_buf, &bias_buf, &y],
            fold(u64::from(total), u64::from(WG)),
        );
        f.check(
            &format!("{} rows={rows} k={k} m={m}", kern.label),
            &read_f32(&y),
            &want,
        );
    }
    f.finish();
}

/// Every kernel family has a test above: this match has no wildcard, so a new family does not
/// compile until it is listed here (and, so listed, gets a test). New weight formats need
/// nothing: the product and get_rows tests walk `WEIGHT_FORMATS`.
#[test]
fn every_family_is_tested() {
    let tested = |f: Family| match f {
        Family::MatvecTall(ty) => Family::MatvecTall(ty).supports(),
        // `matvec_add_norm` walks the formats it supports.
        Family::MatvecAddNorm(ty) => Family::MatvecAddNorm(ty).supports(),
        Family::Matvec(ty)
        | Family::Matmul(ty)
        | Family::MatmulCoop(ty, _)
        | Family::GetRows(ty) => WEIGHT_FORMATS.contains(&ty),
        Family::MatvecId(ty) | Family::MatmulId(ty) | Family::MatmulIdCoop(ty, _) => {
            WEIGHT_FORMATS.contains(&ty)
        }
        // `matvec_glu` and `matvec_rope` walk the formats they support.
        Family::MatvecGlu(ty) | Family::MatvecRope(ty) => Family::MatvecGlu(ty).supports(),
        Family::QuantizeQ8
        | Family::RmsNorm
        | Family::AddRmsNorm(_)
        | Family::RopeStore
        | Family::NormRopeStore
        | Family::Attention(_)
        | Family::AttentionPrefill(_)
        | Family::AttentionPrefillCoop(_)
        | Family::AttentionCombine
        | Family::Glu
        | Family::Add
        | Family::GatherRows
        | Family::Argmax
        | Family::Route
        | Family::MoeGroup
        | Family::MoeSum
        | Family::SigmoidMul
        | Family::ExpertBias => true,
    };
    for v in Variant::all() {
        assert!(tested(v.family), "{v} has no test in kernels.rs");
    }
}
