//! Decode attention lab: times wick's decode attention for one row of llama8b's shape (32 query
//! heads, 8 KV heads, head_dim 128) at several positions, as a decode step runs it (below
//! `ATTENTION_SHALLOW_POSITIONS` one split per KV head writing the output, past it the runtime's
//! splits and their merge), beside candidate kernels, and checks each output against wick's.
//!
//! ```sh
//! cargo build --release -p wick-benches --example attlab
//! target/release/examples/attlab base old.wgsl@WG=64,LANES=32
//! ```
//!
//! Each argument is `base` (wick's kernel) or `FILE.wgsl[@NAME=VALUE,...]`: FILE in place of
//! `attention.wgsl` in wick's decode attention module (`WG` and `LANES` included in what NAME
//! may set). Timing repeats the step's dispatches LAB_REPS times (200) in one compute pass and
//! prints us per step, the median of five; the repeats find the KV cache in the GPU's caches
//! where it fits. Environment: LAB_POS, the positions (31,100,1000,4096,16383).

use half::f16;
use wick_backends::standalone::{self, Dispatch, Stopwatch};
use wick_backends::{
    ATTENTION_SHALLOW_POSITIONS, AttentionLaunch, Gpu, Kernel, attention_kernel, cache_ctx,
};
use wick_core::graph::AttentionParams;
use wick_shaders::{
    ATTENTION_DIRECT, Family, Variant, attention_combine_dims, attention_combine_groups,
    attention_groups,
};

const ATTENTION: &str = include_str!("../../shaders/wgsl/attention.wgsl");
const N_HEADS: u32 = 32;
const N_KV_HEADS: u32 = 8;
const HEAD_DIM: u32 = 128;

fn family() -> Family {
    Family::Attention(Some(HEAD_DIM))
}

/// The decode attention module with `spec`'s kernel and constants.
fn source(gpu: &Gpu, spec: &str) -> String {
    let base = Variant::new(family(), gpu.caps.subgroups).source();
    if spec == "base" {
        return base;
    }
    let (file, opts) = spec.split_once('@').unwrap_or((spec, ""));
    let body = std::fs::read_to_string(file).unwrap_or_else(|e| panic!("{file}: {e}"));
    let mut out = base.replace(ATTENTION, &body);
    for kv in opts.split(',').filter(|kv| !kv.is_empty()) {
        let (name, v) = kv.split_once('=').expect("NAME=VALUE");
        let prefix = format!("const {name}: u32 = ");
        let at = out
            .find(&prefix)
            .unwrap_or_else(|| panic!("{spec}: no const {name}"));
        let end = at + out[at..].find(';').unwrap();
        out.replace_range(at..=end, &format!("{prefix}{v}u;"));
    }
    out
}

fn values(n: usize, seed: usize) -> Vec<f32> {
    (0..n)
        .map(|i| (((i + seed) * 7919 % 1013) as f32 / 1013.0 - 0.5) * 2.0)
        .collect()
}

fn f32s(gpu: &Gpu, v: &[f32]) -> wgpu::Buffer {
    standalone::storage(gpu, bytemuck::cast_slice(v))
}

/// One decode step's attention at `pos` with `kernel` (and wick's merge past the shallow
/// positions), and the buffer its output lands in.
fn step(gpu: &Gpu, kernel: &Kernel, combine: &Kernel, pos: u32) -> (Vec<Dispatch>, wgpu::Buffer) {
    let shape = AttentionParams {
        layer: 0,
        n_heads: N_HEADS,
        n_kv_heads: N_KV_HEADS,
        head_dim: HEAD_DIM,
        scale: 1.0 / (HEAD_DIM as f32).sqrt(),
        window: 0,
        sinks: None,
    };
    let ctx = cache_ctx(pos + 1);
    let AttentionLaunch { groups, splits, .. } = attention_kernel(&gpu.caps, 1, &shape, ctx);
    let halves: Vec<u16> = values((N_KV_HEADS * ctx * HEAD_DIM) as usize, 0)
        .into_iter()
        .map(|v| f16::from_f32(v).to_bits())
        .collect();
    let k_cache = standalone::storage(gpu, bytemuck::cast_slice(&halves));
    let v_cache = standalone::storage(gpu, bytemuck::cast_slice(&halves[1..]));
    let width = (N_HEADS * HEAD_DIM) as usize;
    let q = f32s(gpu, &values(width, 3));
    let partials = f32s(
        gpu,
        &vec![0.0; (N_HEADS * splits * (HEAD_DIM + 2)) as usize],
    );
    let y = f32s(gpu, &vec![0.0; width]);
    let q8 = standalone::storage(gpu, &vec![0; width * 2]);
    let rows = standalone::step(gpu, 1, 1, &[[0, pos, 0, 0]]);
    let shallow = pos < ATTENTION_SHALLOW_POSITIONS;
    let split_word = if shallow {
        1 | ATTENTION_DIRECT
    } else {
        splits
    };
    let params = [
        N_HEADS,
        N_KV_HEADS,
        HEAD_DIM,
        ctx,
        0,
        shape.scale.to_bits(),
        width as u32,
        split_word,
    ];
    let attend_groups = if shallow {
        (attention_groups(N_HEADS, N_KV_HEADS, 1), 1)
    } else {
        groups
    };
    let mut dispatches = vec![Dispatch::new(
        gpu,
        kernel,
        0,
        params,
        &[&rows, &q, &k_cache, &v_cache, &partials, &y, &q8],
        attend_groups,
    )];
    if !shallow {
        let dims = attention_combine_dims(1, HEAD_DIM);
        dispatches.push(Dispatch::new(
            gpu,
            combine,
            0,
            [N_HEADS, HEAD_DIM, splits, width as u32, 0, 0, dims, 0],
            &[&rows, &partials, &rows, &y, &q8],
            (attention_combine_groups(N_HEADS, HEAD_DIM, dims), 1),
        ));
    }
    (dispatches, y)
}

fn main() {
    let gpu = Gpu::new().expect("no GPU");
    let specs: Vec<String> = std::env::args().skip(1).collect();
    let positions: Vec<u32> = std::env::var("LAB_POS")
        .unwrap_or_else(|_| "31,100,1000,4096,16383".into())
        .split(',')
        .map(|p| p.parse().expect("LAB_POS: positions"))
        .collect();
    let reps: usize = std::env::var("LAB_REPS").map_or(200, |r| r.parse().expect("LAB_REPS"));
    let combine = Kernel::build(
        &gpu,
        &Variant::new(Family::AttentionCombine, gpu.caps.subgroups),
    );
    let stopwatch = Stopwatch::new(&gpu);
    let base = Kernel::build(&gpu, &Variant::new(family(), gpu.caps.subgroups));
    println!("{} ({reps} steps per timing)", gpu.caps.adapter);
    for &pos in &positions {
        let (dispatches, y) = step(&gpu, &base, &combine, pos);
        standalone::submit(&gpu, &dispatches.iter().collect::<Vec<_>>());
        let want: Vec<f32> = standalone::download(&gpu, &y).expect("read back");
        for spec in &specs {
            let variant = Variant::new(family(), gpu.caps.subgroups);
            let kernel = Kernel::build_source(&gpu, &variant, &source(&gpu, spec));
            let (dispatches, y) = step(&gpu, &kernel, &combine, pos);
            let all: Vec<&Dispatch> = (0..reps).flat_map(|_| dispatches.iter()).collect();
            stopwatch.time(&gpu, &all).expect("warm-up");
            let mut times: Vec<f64> = (0..5)
                .map(|_| stopwatch.time(&gpu, &all).expect("timing").as_secs_f64())
                .collect();
            times.sort_by(f64::total_cmp);
            let got: Vec<f32> = standalone::download(&gpu, &y).expect("read back");
            let worst = got
                .iter()
                .zip(&want)
                .map(|(a, b)| (a - b).abs())
                .fold(
                    0.0f32,
                    |m, e| if e.is_nan() { f32::INFINITY } else { m.max(e) },
                );
            println!(
                "pos {pos:>6} {:>8.2} us  max |diff| {worst:.2e}  {spec}",
                times[2] * 1e6 / reps as f64
            );
        }
    }
}
