//! `wick bench`: prompt processing and generation speed at several depths, as llama-bench
//! measures them, plus what it leaves out: time to first token, context scaling (CSR), decode
//! bandwidth use (BUE), GPU memory, dispatches and CPU time per decoded token.

use std::path::PathBuf;
use std::time::{Duration, Instant};

use anyhow::{Result, bail};
use clap::{Args, ValueEnum};
use indicatif::{ProgressBar, ProgressStyle};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use serde_json::json;
use wick_backends::{ATTENTION_SHALLOW_POSITIONS, DispatchCount, Runtime, RuntimeConfig};
use wick_core::generate::{BatchRow, Forward, prefill};
use wick_core::sampling::argmax;

use crate::load;
use crate::run::print_profile;

/// Steps whose dispatches `--profile` times alone, each in a pass of its own.
const ALONE_REPS: u32 = 10;
/// Least time the untimed warm-up passes take: an idle GPU runs slow until its clocks rise (on
/// a freshly started H100, a first 32-token decode after 8 warm-up tokens read 143 tokens/s where
/// the same build decodes at 285).
const WARM_UP: Duration = Duration::from_millis(500);

#[derive(Args)]
pub struct BenchArgs {
    /// GGUF model file (default: the default model). Files without a vocabulary work: the
    /// tests use random token ids.
    #[arg(short, long)]
    model: Option<PathBuf>,
    /// Prompt tokens of each prompt-processing test (pp); 0 skips them.
    #[arg(short = 'p', long, default_value_t = 512)]
    n_prompt: u32,
    /// Tokens generated greedily in each generation test (tg; picked on the GPU, each step
    /// submitted before the previous one's token is read, as the server does for greedy
    /// requests); 0 skips them.
    #[arg(short = 'n', long, default_value_t = 128)]
    n_gen: u32,
    /// Depths: tokens already in the KV cache when a test starts, comma-separated.
    #[arg(short, long, value_delimiter = ',', default_value = "0")]
    depth: Vec<u32>,
    /// Repetitions of each test, after at least 0.5 s of untimed warm-up passes; the median is
    /// reported with the range.
    #[arg(short, long, default_value_t = 5)]
    repetitions: u32,
    /// Prompt tokens per step (rounded up to a power of two).
    #[arg(short, long, default_value_t = 512)]
    batch_size: u32,
    /// Output format of the results on stdout.
    #[arg(short, long, value_enum, default_value_t = Format::Md)]
    output: Format,
    /// Generation tests read each token's logits back and pick it on the CPU, as sampled
    /// requests (and llama-bench) do, instead of the GPU picking it.
    #[arg(long)]
    logits: bool,
    /// The GPU's memory bandwidth in GB/s: reports BUE, the share of it decode uses.
    #[arg(long)]
    bandwidth: Option<f64>,
    /// Also time every kernel of one generation test and of one prompt-processing test at the
    /// deepest depth on the GPU (timestamp queries) and print the totals per kernel, largest
    /// first, on stderr; the decode table also gives each kernel's time and weight GB/s alone
    /// (a step's dispatches each in a compute pass of its own, timed by the pass, without the
    /// timestamps that slow small kernels in a profiled step).
    #[arg(long)]
    profile: bool,
}

#[derive(Clone, Copy, PartialEq, Eq, ValueEnum)]
enum Format {
    Md,
    Json,
}

/// One test at one depth, over its repetitions.
struct Result1 {
    test: String,
    depth: u32,
    /// Tokens per second of each repetition.
    tps: Vec<f64>,
    /// pp: median time to the first generated token's logits, in ms.
    ttft_ms: Option<f64>,
    /// tg: bytes one decode step reads at the test's middle depth.
    decode_bytes: Option<u64>,
}

fn median(v: &[f64]) -> f64 {
    let mut s = v.to_vec();
    s.sort_by(f64::total_cmp);
    let n = s.len();
    if n % 2 == 1 {
        s[n / 2]
    } else {
        (s[n / 2 - 1] + s[n / 2]) / 2.0
    }
}

fn range(v: &[f64]) -> (f64, f64) {
    let lo = v.iter().copied().fold(f64::INFINITY, f64::min);
    let hi = v.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    (lo, hi)
}

pub fn bench(args: BenchArgs) -> Result<()> {
    if args.repetitions == 0 {
        bail!("--repetitions must be at least 1");
    }
    if args.n_prompt == 0 && args.n_gen == 0 {
        bail!("nothing to measure: both -p and -n are 0");
    }
    if let Some(b) = args.bandwidth
        && (b.is_nan() || b <= 0.0)
    {
        bail!("--bandwidth must be a positive number of GB/s, got {b}");
    }
    let mut depths = args.depth.clone();
    depths.sort_unstable();
    depths.dedup();
    let max_depth = *depths.last().unwrap_or(&0);
    let path = load::model_path(args.model)?;
    let cfg = RuntimeConfig {
        max_batch: args.batch_size.max(1).next_power_of_two(),
        max_seqs: 1,
        ctx: max_depth + args.n_prompt.max(args.n_gen) + 1,
    };
    let mut m = load::load(&path, cfg)?;
    let rt = &mut m.runtime;
    let file_bytes = std::fs::metadata(&path).map(|f| f.len()).unwrap_or(0);
    eprintln!(
        "wick bench: {} ({}, {} layers) on {}",
        path.display(),
        m.hparams.arch.name(),
        m.hparams.n_layer,
        rt.gpu.caps
    );

    // Compile every plan the tests use before timing anything.
    let chunk = cfg.max_batch as usize;
    // Steps of a few rows take another plan past the shallow positions.
    for rows in [chunk, args.n_prompt as usize % chunk, 1] {
        for last_pos in [0, ATTENTION_SHALLOW_POSITIONS] {
            if rows > 0 {
                rt.dispatches(rows, last_pos, 1, false);
            }
        }
    }
    let greedy = !args.logits;
    let shallow_dispatches = rt.dispatches(1, 0, 1, greedy);
    let per_token_dispatches = rt.dispatches(1, ATTENTION_SHALLOW_POSITIONS, 1, greedy);
    let mut rng = StdRng::seed_from_u64(42);
    let n_vocab = rt.n_vocab() as u32;
    let mut tokens =
        |n: u32| -> Vec<u32> { (0..n).map(|_| rng.random_range(0..n_vocab)).collect() };
    // Untimed passes of each test warm caches, the driver and the GPU's clocks.
    let warm_up = Instant::now();
    while warm_up.elapsed() < WARM_UP {
        if args.n_prompt > 0 {
            prefill(rt, &tokens(args.n_prompt), 0, 0)?;
        }
        if args.n_gen > 0 {
            decode(rt, tokens(1)[0], 0, args.n_gen.min(32), args.logits)?;
        }
    }

    let per_depth =
        u64::from(args.repetitions) * (u64::from(args.n_prompt > 0) + u64::from(args.n_gen > 0));
    let bar = ProgressBar::new(per_depth * depths.len() as u64).with_style(
        ProgressStyle::with_template("bench {msg} [{bar:30}] {pos}/{len} tests")
            .expect("static template")
            .progress_chars("=> "),
    );
    let mut results = Vec::new();
    let mut cpu_busy = 0.0;
    let mut decoded = 0u64;
    for &d in &depths {
        bar.set_message(format!("depth {d}"));
        // Fill the cache up to the depth; the tests then write from there on.
        if d > 0 {
            prefill(rt, &tokens(d), 0, 0)?;
        }
        if args.n_prompt > 0 {
            let mut tps = Vec::new();
            let mut ms = Vec::new();
            for _ in 0..args.repetitions {
                let prompt = tokens(args.n_prompt);
                let start = Instant::now();
                prefill(rt, &prompt, 0, d)?;
                let t = start.elapsed().as_secs_f64();
                tps.push(f64::from(args.n_prompt) / t);
                ms.push(t * 1e3);
                bar.inc(1);
            }
            results.push(Result1 {
                test: format!("pp{}", args.n_prompt),
                depth: d,
                ttft_ms: Some(median(&ms)),
                tps,
                decode_bytes: None,
            });
        }
        if args.n_gen > 0 {
            let mut tps = Vec::new();
            rt.take_cpu_time();
            for _ in 0..args.repetitions {
                let first = tokens(1)[0];
                let start = Instant::now();
                decode(rt, first, d, args.n_gen, args.logits)?;
                tps.push(f64::from(args.n_gen) / start.elapsed().as_secs_f64());
                bar.inc(1);
            }
            let cpu = rt.take_cpu_time();
            cpu_busy += cpu.busy.as_secs_f64();
            decoded += cpu.steps;
            results.push(Result1 {
                test: format!("tg{}", args.n_gen),
                depth: d,
                tps,
                ttft_ms: None,
                decode_bytes: Some(rt.decode_bytes(u64::from(d + args.n_gen / 2))),
            });
        }
    }
    bar.finish_and_clear();

    let csr = {
        let pp: Vec<&Result1> = results.iter().filter(|r| r.ttft_ms.is_some()).collect();
        match (pp.first(), pp.last()) {
            (Some(a), Some(b)) if pp.len() > 1 => Some(median(&b.tps) / median(&a.tps)),
            _ => None,
        }
    };
    let summary = Summary {
        model: path.display().to_string(),
        file_bytes,
        gpu: rt.gpu.caps.to_string(),
        gpu_bytes: rt.allocated_bytes(),
        dispatches: per_token_dispatches,
        shallow_dispatches,
        cpu_us: cpu_busy * 1e6 / decoded.max(1) as f64,
        csr,
        bandwidth: args.bandwidth,
    };
    match args.output {
        Format::Md => print_md(&summary, &results),
        Format::Json => print_json(&summary, &results),
    }

    if args.profile {
        rt.enable_profiling()?;
        if args.n_gen > 0 {
            decode(rt, tokens(1)[0], max_depth, args.n_gen, args.logits)?;
            eprintln!(
                "GPU time per kernel over {} decoded tokens at depth {max_depth}:",
                args.n_gen
            );
            rt.time_alone(1, max_depth, 1, greedy, ALONE_REPS)?;
            let profile = rt.take_profile();
            print_profile(&profile);
            // The unprofiled step, from the tg test at the same depth.
            let step_us = results
                .iter()
                .find(|r| r.ttft_ms.is_none() && r.depth == max_depth)
                .map(|r| 1e6 / median(&r.tps));
            if let (Some(alone), Some(step)) = (profile.alone_step_us, step_us) {
                eprintln!(
                    "a step's dispatches alone (each in a pass of its own, mean of {ALONE_REPS} \
                     steps): {alone:.1} us in all, against {step:.1} us for an unprofiled step (tg \
                     at depth {max_depth})"
                );
            }
        }
        if args.n_prompt > 0 {
            prefill(rt, &tokens(args.n_prompt), 0, max_depth)?;
            eprintln!(
                "GPU time per kernel over one {}-token prompt at depth {max_depth}:",
                args.n_prompt
            );
            print_profile(&rt.take_profile());
        }
    }
    Ok(())
}

/// Generates `n` tokens greedily from `token` at position `depth`, as the server does for a
/// greedy request: the GPU picks each token, and each step is submitted before the previous
/// one's token is read back (the step takes its token from the GPU's pick), so only that read
/// and no wait lies between steps. With `logits`, each token's logits are read back and the CPU
/// picks, one step at a time.
fn decode(rt: &mut Runtime, token: u32, depth: u32, n: u32, logits: bool) -> Result<()> {
    let row = |i: u32, token: u32| {
        [BatchRow {
            token,
            pos: depth + i,
            seq: 0,
        }]
    };
    if logits {
        let mut token = token;
        for i in 0..n {
            token = argmax(&rt.forward(&row(i, token), &[0])?) as u32;
        }
        return Ok(());
    }
    for i in 0..n {
        let token = if i == 0 { token } else { BatchRow::PICKED };
        rt.submit_greedy(&row(i, token), &[0])?;
        if i > 0 {
            rt.finish_greedy()?;
        }
    }
    if n > 0 {
        rt.finish_greedy()?;
    }
    Ok(())
}

struct Summary {
    model: String,
    file_bytes: u64,
    gpu: String,
    gpu_bytes: u64,
    dispatches: DispatchCount,
    /// Dispatches per decoded token in the first [`ATTENTION_SHALLOW_POSITIONS`] positions.
    shallow_dispatches: DispatchCount,
    cpu_us: f64,
    csr: Option<f64>,
    bandwidth: Option<f64>,
}

/// Bytes as GiB, or MiB below one GiB.
fn size(bytes: u64) -> String {
    let mib = bytes as f64 / (1u64 << 20) as f64;
    if mib < 1024.0 {
        format!("{mib:.1} MiB")
    } else {
        format!("{:.2} GiB", mib / 1024.0)
    }
}

impl Result1 {
    /// Decode GB/s: bytes read per token times tokens per second.
    fn gbps(&self) -> Option<f64> {
        self.decode_bytes
            .map(|b| b as f64 * median(&self.tps) / 1e9)
    }
}

fn print_md(s: &Summary, results: &[Result1]) {
    println!("| model | size | test | depth | t/s | range | TTFT ms | decode GB/s | BUE |");
    println!("|---|---:|---|---:|---:|---:|---:|---:|---:|");
    let name = std::path::Path::new(&s.model)
        .file_name()
        .map_or(s.model.clone(), |n| n.to_string_lossy().into_owned());
    for r in results {
        let (lo, hi) = range(&r.tps);
        let gbps = r.gbps();
        let bue = gbps.zip(s.bandwidth).map(|(g, b)| g / b);
        println!(
            "| {name} | {} | {} | {} | {:.2} | {lo:.2}-{hi:.2} | {} | {} | {} |",
            size(s.file_bytes),
            r.test,
            r.depth,
            median(&r.tps),
            r.ttft_ms.map_or(String::new(), |t| format!("{t:.1}")),
            gbps.map_or(String::new(), |g| format!("{g:.1}")),
            bue.map_or(String::new(), |b| format!("{:.1}%", b * 100.0)),
        );
    }
    println!();
    println!("GPU: {}", s.gpu);
    println!("GPU memory allocated: {}", size(s.gpu_bytes));
    println!(
        "per decoded token: {} dispatches, {} behind a barrier ({} and {} in the first \
         {ATTENTION_SHALLOW_POSITIONS} positions), {:.0} us of CPU (encode + submit)",
        s.dispatches.dispatches,
        s.dispatches.barriers,
        s.shallow_dispatches.dispatches,
        s.shallow_dispatches.barriers,
        s.cpu_us
    );
    if let Some(csr) = s.csr {
        println!("CSR (pp at the deepest depth / pp at the shallowest): {csr:.3}");
    }
}

fn print_json(s: &Summary, results: &[Result1]) {
    let rows: Vec<_> = results
        .iter()
        .map(|r| {
            let (lo, hi) = range(&r.tps);
            json!({
                "test": r.test,
                "depth": r.depth,
                "tokens_per_second": median(&r.tps),
                "min": lo,
                "max": hi,
                "samples": r.tps,
                "ttft_ms": r.ttft_ms,
                "decode_bytes_per_token": r.decode_bytes,
                "decode_gbps": r.gbps(),
                "bue": r.gbps().zip(s.bandwidth).map(|(g, b)| g / b),
            })
        })
        .collect();
    let out = json!({
        "model": s.model,
        "file_bytes": s.file_bytes,
        "gpu": s.gpu,
        "gpu_bytes_allocated": s.gpu_bytes,
        "dispatches_per_token": s.dispatches.dispatches,
        "dispatches_per_token_shallow": s.shallow_dispatches.dispatches,
        "barriers_per_token": s.dispatches.barriers,
        "barriers_per_token_shallow": s.shallow_dispatches.barriers,
        "cpu_us_per_token": s.cpu_us,
        "csr": s.csr,
        "results": rows,
    });
    println!("{out:#}");
}
