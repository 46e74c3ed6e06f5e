//! GPU time of wick's hot kernels, with criterion:
//!
//! - `matvec MxK`: the quantized matrix-vector product of decode (one row), for every format in
//!   [`WEIGHT_FORMATS`], in weight GB/s (the kernel the runtime picks for M rows,
//!   [`matvec_family`]: `WICK_BENCH_M=28672` benches q4_K's matvec_tall);
//! - `matmul MxK, R rows`: the prefill matmul for q4_K, q6_K and q8_0, in weight GB/s;
//! - `attention decode`: one row's split-K attention plus the merge of its partials, at several
//!   depths, in KV-cache GB/s;
//! - `attention prefill R rows`: a prefill chunk's attention and merge, in rows per second.
//!
//! Attention runs the kernel and grid the runtime picks ([`attention_kernel`]: cooperative
//! matrices for prefill where the adapter has them).
//!
//! Each kernel runs through the runtime's own pipelines ([`Kernel::build`], the adapter's
//! variant) and parameter words, as `wick_backends::standalone` drives them. One iteration is
//! one submit, waited for; its time is the GPU time of the compute pass from timestamp queries
//! where the adapter has them (the header line says which clock), otherwise the wall-clock time
//! from submit to idle. Memory-bound benches (matvec, decode attention) cycle within the
//! iteration through copies of their weights or KV cache, `WICK_BENCH_COLD_MIB` (256) in all,
//! so the data comes from memory as in a model's decode step, not from a cache that a
//! 4096 x 4096 matrix fits in; their GB/s are comparable with `wick bench`'s decode GB/s and
//! the GPU's bandwidth. Attention has Llama 3 8B's shape: 32 query heads over 8 KV heads of 128.
//!
//! On a GPU (Metal, or Vulkan on Linux), at the default sizes (about two minutes on an H100,
//! whose q4_K matvec reads about 760 GB/s here at 4096 x 4096 and 1.1 TB/s at 14336 x 4096):
//!
//! ```sh
//! cargo bench -p wick-benches                                  # everything
//! cargo bench -p wick-benches -- matvec                        # one group (a regex on the ids)
//! cargo bench -p wick-benches -- 'matvec.*q4_K' --save-baseline before   # then --baseline before
//! ```
//!
//! Sizes come from the environment: `WICK_BENCH_K` and `WICK_BENCH_M` (weights, 4096 x 4096),
//! `WICK_BENCH_ROWS` (prefill rows, 512), `WICK_BENCH_DEPTHS` (decode depths, 512,4096,16384),
//! `WICK_BENCH_PREFILL_DEPTHS` (cached positions before the prefill chunk, 0) and
//! `WICK_BENCH_COLD_MIB`. Warm-up is 1 s and measurement 3 s per bench, 10 samples; criterion's
//! flags (`--measurement-time`, `--sample-size`, `--quick`) override them.
//!
//! On a software driver (lavapipe, with `XDG_RUNTIME_DIR=/tmp`), `cargo bench -p wick-benches
//! -- --quick` takes about three minutes on two cores at the default sizes; smaller ones are
//! quicker: `WICK_BENCH_K=1024 WICK_BENCH_M=1024 WICK_BENCH_ROWS=64 WICK_BENCH_COLD_MIB=16`.
//!
//! `cargo test` builds this target and runs each bench once as a smoke test, at small sizes
//! (512 x 512 weights, 64 rows, depth 512, no copies) unless the variables above say otherwise:
//! about two seconds on lavapipe.

use std::cell::OnceCell;
use std::sync::OnceLock;
use std::time::Duration;

use criterion::measurement::WallTime;
use criterion::{
    BenchmarkGroup, BenchmarkId, Criterion, Throughput, criterion_group, criterion_main,
};
use half::f16;
use wick_backends::standalone::{self, Dispatch, Stopwatch};
use wick_backends::{AttentionLaunch, Gpu, Kernel, attention_kernel, cache_ctx, fold};
use wick_core::graph::AttentionParams;
use wick_core::quant::GgmlType;
use wick_shaders::{
    Family, Variant, WEIGHT_FORMATS, attention_combine_dims, attention_combine_groups,
    matvec_family,
};

/// Formats of the prefill matmul benches: Q4_K_M's two and the 8-bit one.
const MATMUL_FORMATS: [GgmlType; 3] = [GgmlType::Q4_K, GgmlType::Q6_K, GgmlType::Q8_0];
/// Attention's shape, Llama 3 8B's: query heads, KV heads and head dimension.
const N_HEADS: usize = 32;
const N_KV_HEADS: usize = 8;
const HEAD_DIM: usize = 128;

/// Sizes, from the environment or the defaults of the mode criterion runs in.
struct Sizes {
    k: usize,
    m: usize,
    rows: usize,
    depths: Vec<usize>,
    prefill_depths: Vec<usize>,
    /// Bytes a memory-bound bench reads per iteration, at least, through copies of its data.
    cold_bytes: u64,
}

impl Sizes {
    fn from_env() -> Sizes {
        // As criterion decides: `cargo bench` passes --bench; `cargo test` (or `-- --test`)
        // runs each bench once, which needs no realistic size.
        let args: Vec<String> = std::env::args().collect();
        let bench = args.iter().any(|a| a == "--bench") && !args.iter().any(|a| a == "--test");
        let pick = |full: &str, smoke: &str| if bench { full } else { smoke }.to_string();
        let var = |name: &str, default: String| std::env::var(name).unwrap_or(default);
        let num = |name: &str, default: String| -> usize {
            let v = var(name, default);
            v.parse()
                .unwrap_or_else(|_| panic!("{name}={v}: not a whole number"))
        };
        let list = |name: &str, default: String| -> Vec<usize> {
            let v = var(name, default);
            v.split(',')
                .map(|d| d.trim().parse())
                .collect::<Result<_, _>>()
                .unwrap_or_else(|_| panic!("{name}={v}: not a comma-separated list of numbers"))
        };
        let sizes = Sizes {
            k: num("WICK_BENCH_K", pick("4096", "512")),
            m: num("WICK_BENCH_M", pick("4096", "512")),
            rows: num("WICK_BENCH_ROWS", pick("512", "64")),
            depths: list("WICK_BENCH_DEPTHS", pick("512,4096,16384", "512")),
            prefill_depths: list("WICK_BENCH_PREFILL_DEPTHS", pick("0", "0")),
            cold_bytes: (num("WICK_BENCH_COLD_MIB", pick("256", "0")) as u64) << 20,
        };
        assert!(
            sizes.k.is_multiple_of(256) && sizes.m > 0,
            "WICK_BENCH_K must be a multiple of 256 (the K-quants' super-block)"
        );
        assert!(
            sizes.rows > wick_shaders::MATVEC_MAX_ROWS as usize,
            "WICK_BENCH_ROWS must exceed {}: smaller batches run the matvec",
            wick_shaders::MATVEC_MAX_ROWS
        );
        assert!(sizes.depths.iter().all(|&d| d > 0), "depths start at 1");
        sizes
    }

    /// How many copies of `bytes` of data one iteration cycles through.
    fn copies(&self, bytes: u64) -> usize {
        self.cold_bytes.div_ceil(bytes).max(1) as usize
    }
}

/// What every bench shares: the device, its stopwatch and the sizes.
struct Env {
    gpu: Gpu,
    watch: Stopwatch,
    sizes: Sizes,
}

fn env() -> &'static Env {
    static ENV: OnceLock<Env> = OnceLock::new();
    ENV.get_or_init(|| {
        let gpu = Gpu::new().expect("no GPU adapter; install a Vulkan driver such as lavapipe");
        let watch = Stopwatch::new(&gpu);
        let sizes = Sizes::from_env();
        eprintln!(
            "adapter: {}; timed by {}; cold copies of {} MiB",
            gpu.caps,
            if watch.gpu_timestamps() {
                "GPU timestamps"
            } else {
                "the wall clock (no timestamp queries)"
            },
            sizes.cold_bytes >> 20
        );
        Env { gpu, watch, sizes }
    })
}

/// The variant of `family` this adapter runs, as the runtime picks it.
fn kernel(family: Family) -> Kernel {
    let gpu = &env().gpu;
    Kernel::build(gpu, &Variant::new(family, gpu.caps.subgroups))
}

/// `n` values in [-scale, scale), spread evenly and shuffled by a fixed pattern.
fn values(n: usize, scale: f32) -> Vec<f32> {
    (0..n)
        .map(|i| ((i * 7919 % 1013) as f32 / 1013.0 - 0.5) * 2.0 * scale)
        .collect()
}

fn storage_f32(values: &[f32]) -> wgpu::Buffer {
    standalone::storage(&env().gpu, bytemuck::cast_slice(values))
}

/// Adds a bench whose dispatches `setup` builds on its first run, so filtered-out benches build
/// nothing; every iteration submits them in one pass and waits.
fn bench(
    g: &mut BenchmarkGroup<WallTime>,
    id: BenchmarkId,
    throughput: Throughput,
    setup: impl FnOnce() -> Vec<Dispatch>,
) {
    let built = OnceCell::new();
    let mut setup = Some(setup);
    g.throughput(throughput);
    g.bench_function(id, |b| {
        let dispatches = built.get_or_init(|| (setup.take().expect("set up once"))());
        let dispatches: Vec<&Dispatch> = dispatches.iter().collect();
        let Env { gpu, watch, .. } = env();
        b.iter_custom(|iters| {
            (0..iters)
                .map(|_| watch.time(gpu, &dispatches).expect("the dispatches ran"))
                .sum::<Duration>()
        });
    });
}

/// Dispatches of a weight product: `copies` weight buffers of `m x k` in `ty`, each multiplied
/// by the same `rows x k` input into the same output.
fn product(family: Family, ty: GgmlType, rows: usize, copies: usize) -> Vec<Dispatch> {
    let Env { gpu, sizes, .. } = env();
    let (k, m) = (sizes.k, sizes.m);
    let kernel = kernel(family);
    let weights = ty
        .quantize(&values(m * k, 0.05))
        .expect("every weight format has a reference quantizer");
    let mut x = storage_f32(&values(rows * k, 1.0));
    if family.matmul_tile().is_none() && wick_shaders::matvec_takes_q8(ty) {
        x = standalone::quantize_q8(gpu, &x, rows, k, k);
    }
    let y = storage_f32(&vec![0.0; rows * m]);
    let params = [
        k as u32,
        m as u32,
        wick_shaders::row_bytes(ty, k as u64) as u32,
        0,
        rows as u32,
        k as u32,
        m as u32,
        0,
    ];
    let groups = match family.matmul_tile() {
        Some((features, tile_rows)) => (
            (m as u32).div_ceil(features),
            (rows as u32).div_ceil(tile_rows),
        ),
        None => fold(m as u64, u64::from(family.matvec_rows())),
    };
    (0..copies)
        .map(|_| {
            let w = standalone::storage(gpu, &weights);
            Dispatch::new(gpu, &kernel, 0, params, &[&w, &x, &y], groups)
        })
        .collect()
}

/// Weight bytes of the benched matrix in `ty`.
fn weight_bytes(ty: GgmlType) -> u64 {
    let sizes = &env().sizes;
    wick_shaders::row_bytes(ty, sizes.k as u64) * sizes.m as u64
}

fn products(c: &mut Criterion) {
    let sizes = &env().sizes;
    let (k, m, rows) = (sizes.k, sizes.m, sizes.rows);

    let mut g = c.benchmark_group(format!("matvec {m}x{k}"));
    for ty in WEIGHT_FORMATS {
        let copies = sizes.copies(weight_bytes(ty));
        bench(
            &mut g,
            BenchmarkId::from_parameter(ty),
            Throughput::BytesDecimal(weight_bytes(ty) * copies as u64),
            || product(matvec_family(ty, m as u64), ty, 1, copies),
        );
    }
    g.finish();

    // Compute-bound: the weights are read once per tile of rows, so cold copies change little.
    // The cooperative-matrix kernel is the one prefill runs where the adapter has one.
    for coop in [None].into_iter().chain(env().gpu.caps.coop.map(Some)) {
        let family = |ty| match coop {
            Some(size) => Family::MatmulCoop(ty, size),
            None => Family::Matmul(ty),
        };
        let name = family(GgmlType::Q4_K).name();
        let mut g = c.benchmark_group(format!("{name} {m}x{k}, {rows} rows"));
        for ty in MATMUL_FORMATS {
            bench(
                &mut g,
                BenchmarkId::from_parameter(ty),
                Throughput::BytesDecimal(weight_bytes(ty)),
                || product(family(ty), ty, rows, 1),
            );
        }
        g.finish();
    }
}

/// Attention of `rows` query rows at positions `depth..depth + rows` over a cache holding
/// positions `0..depth + rows`, in each of `slots` KV-cache slots (one attention and one
/// combine dispatch per slot), with the kernel and split the runtime gives a bucket of `rows`.
fn attention_dispatches(rows: usize, depth: usize, slots: usize) -> Vec<Dispatch> {
    let gpu = &env().gpu;
    let scale = 1.0 / (HEAD_DIM as f32).sqrt();
    let shape = AttentionParams {
        layer: 0,
        n_heads: N_HEADS as u32,
        n_kv_heads: N_KV_HEADS as u32,
        head_dim: HEAD_DIM as u32,
        scale,
        window: 0,
        sinks: None,
    };
    let ctx = cache_ctx((depth + rows) as u32) as usize;
    let AttentionLaunch {
        family,
        groups,
        splits,
    } = attention_kernel(&gpu.caps, rows as u32, &shape, ctx as u32);
    let (attend, combine) = (kernel(family), kernel(Family::AttentionCombine));
    let cache_len = slots * N_KV_HEADS * ctx * HEAD_DIM;
    let halves: Vec<u16> = values(cache_len, 1.0)
        .into_iter()
        .map(|v| f16::from_f32(v).to_bits())
        .collect();
    let k_cache = standalone::storage(gpu, bytemuck::cast_slice(&halves));
    let v_cache = standalone::storage(gpu, bytemuck::cast_slice(&halves));
    let q_width = N_HEADS * HEAD_DIM;
    let q = storage_f32(&values(rows * q_width, 1.0));
    let partials = storage_f32(&vec![
        0.0;
        rows * N_HEADS * splits as usize * (HEAD_DIM + 2)
    ]);
    let y = storage_f32(&vec![0.0; rows * q_width]);
    let unused_q8 = standalone::storage(gpu, &[0; 16]);
    let params = [
        N_HEADS as u32,
        N_KV_HEADS as u32,
        HEAD_DIM as u32,
        ctx as u32,
        0, // no sliding window
        scale.to_bits(),
        q_width as u32,
        splits,
    ];
    let combine_dims = attention_combine_dims(rows as u32, HEAD_DIM as u32);
    let combine_params = [
        N_HEADS as u32,
        HEAD_DIM as u32,
        splits,
        q_width as u32,
        0,
        0,
        combine_dims,
        0,
    ];
    (0..slots)
        .flat_map(|slot| {
            let step_rows: Vec<[u32; 4]> = (0..rows)
                .map(|r| [0, (depth + r) as u32, slot as u32, 0])
                .collect();
            let step = standalone::step(gpu, rows, 1, &step_rows);
            [
                Dispatch::new(
                    gpu,
                    &attend,
                    0,
                    params,
                    // Decode attention also binds the output and its 8-bit copy, which only
                    // shallow steps write.
                    &[&step, &q, &k_cache, &v_cache, &partials, &y, &unused_q8]
                        [..family.bindings().len() - 1],
                    groups,
                ),
                Dispatch::new(
                    gpu,
                    &combine,
                    0,
                    combine_params,
                    // No sinks (the step buffer fills that binding) and no 8-bit copy.
                    &[&step, &partials, &step, &y, &unused_q8],
                    (
                        attention_combine_groups(N_HEADS as u32, HEAD_DIM as u32, combine_dims),
                        rows as u32,
                    ),
                ),
            ]
        })
        .collect()
}

fn attention(c: &mut Criterion) {
    let Env { gpu, sizes, .. } = env();

    let mut g = c.benchmark_group("attention decode");
    for &depth in &sizes.depths {
        // A decode row at position depth - 1 reads `depth` positions of K and V.
        let kv_bytes = (2 * N_KV_HEADS * depth * HEAD_DIM * 2) as u64;
        // Slots are copies of the cache; each K or V buffer must fit one binding.
        let fit = (gpu.max_part_bytes() / (kv_bytes / 2)).max(1) as usize;
        let slots = sizes.copies(kv_bytes).min(fit);
        bench(
            &mut g,
            BenchmarkId::new("depth", depth),
            Throughput::BytesDecimal(kv_bytes * slots as u64),
            || attention_dispatches(1, depth - 1, slots),
        );
    }
    g.finish();

    let rows = sizes.rows;
    let mut g = c.benchmark_group(format!("attention prefill {rows} rows"));
    for &depth in &sizes.prefill_depths {
        bench(
            &mut g,
            BenchmarkId::new("depth", depth),
            Throughput::Elements(rows as u64),
            || attention_dispatches(rows, depth, 1),
        );
    }
    g.finish();
}

criterion_group! {
    name = benches;
    // GPU kernels take microseconds to milliseconds (seconds on a software driver): a short
    // warm-up and measurement keep the whole run to minutes; criterion's flags override these.
    config = Criterion::default()
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(3))
        .sample_size(10);
    targets = products, attention
}
criterion_main!(benches);
