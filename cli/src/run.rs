//! `wick run`: raw completion of a prompt, streamed to stdout.

use std::io::Write;
use std::path::PathBuf;

use anyhow::{Context, Result, bail};
use clap::Args;
use wick_backends::RuntimeConfig;
use wick_core::generate::generate;
use wick_core::sampling::{Sampler, SamplingParams};

use crate::load;

#[derive(Args)]
pub struct RunArgs {
    /// GGUF model file (default: the Gemma 3 270M model installed by the README's set-up).
    #[arg(short, long)]
    model: Option<PathBuf>,
    /// Prompt text, tokenized with BOS as the file's metadata says.
    #[arg(short, long, conflicts_with = "tokens")]
    prompt: Option<String>,
    /// Prompt as comma-separated token ids, for files without a vocabulary (tokenizer model `none`).
    #[arg(long, value_delimiter = ',')]
    tokens: Option<Vec<u32>>,
    /// Tokens to generate.
    #[arg(short = 'n', long, default_value_t = 128)]
    n_predict: usize,
    /// Sampling temperature; 0 always picks the most likely token.
    #[arg(long, default_value_t = 0.8)]
    temp: f32,
    /// Sample among the k most likely tokens (0: all).
    #[arg(long, default_value_t = 40)]
    top_k: usize,
    /// Sample among the most likely tokens whose probabilities add up to p (1: all).
    #[arg(long, default_value_t = 0.95)]
    top_p: f32,
    /// Drop tokens less likely than this times the most likely one (0: none).
    #[arg(long, default_value_t = 0.05)]
    min_p: f32,
    /// Random seed for sampling (default: from the clock; printed on stderr).
    #[arg(long)]
    seed: Option<u64>,
    /// Context size in tokens (prompt plus generated).
    #[arg(short, long, default_value_t = 4096)]
    ctx_size: u32,
    /// Prompt tokens processed per step (rounded up to a power of two).
    #[arg(short, long, default_value_t = 256)]
    batch_size: u32,
    /// Time every kernel on the GPU (timestamp queries; each step then waits for the GPU) and
    /// print the totals per kernel variant on stderr.
    #[arg(long)]
    profile: bool,
}

pub fn run(args: RunArgs) -> Result<()> {
    if args.temp.is_nan() || args.temp < 0.0 {
        bail!("--temp must be 0 or more, got {}", args.temp);
    }
    if !(0.0..=1.0).contains(&args.top_p) || args.top_p == 0.0 {
        bail!("--top-p must be in (0, 1], got {}", args.top_p);
    }
    if !(0.0..=1.0).contains(&args.min_p) {
        bail!("--min-p must be in [0, 1], got {}", args.min_p);
    }
    let path = load::model_path(args.model)?;
    let cfg = RuntimeConfig {
        max_batch: args.batch_size.max(1).next_power_of_two(),
        max_seqs: 1,
        ctx: args.ctx_size,
    };
    let mut m = load::load(&path, cfg)?;
    let prompt = match (&args.prompt, args.tokens, &m.tokenizer) {
        (_, Some(ids), _) => ids,
        (Some(text), None, Some(tok)) => tok.encode(text, true).context("tokenizing the prompt")?,
        (Some(_), None, None) => bail!(
            "{} has no vocabulary: give the prompt as --tokens",
            path.display()
        ),
        (None, None, _) => bail!("give a prompt with -p TEXT (or --tokens IDS)"),
    };
    if prompt.is_empty() {
        bail!("the prompt is empty");
    }
    if prompt.len() + args.n_predict > args.ctx_size as usize {
        bail!(
            "prompt ({} tokens) plus {} to generate exceeds the context of {} (raise --ctx-size)",
            prompt.len(),
            args.n_predict,
            args.ctx_size
        );
    }
    let seed = args.seed.unwrap_or_else(|| {
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos() as u64)
    });
    let mut sampler = Sampler::new(SamplingParams {
        temperature: args.temp,
        top_k: args.top_k,
        top_p: args.top_p,
        min_p: args.min_p,
        seed,
        ..Default::default()
    });
    eprintln!(
        "wick: {} ({}, {} layers) on {} ({}), seed {seed}",
        path.display(),
        m.hparams.arch.name(),
        m.hparams.n_layer,
        m.runtime.gpu.caps.adapter,
        m.runtime.gpu.caps.backend
    );
    // Compile the plans before timing, so the speeds exclude shader compilation.
    for chunk in prompt.chunks(cfg.max_batch as usize) {
        m.runtime.dispatches(chunk.len(), 1);
    }
    let per_token = m.runtime.dispatches(1, 1);
    m.runtime.take_cpu_time();
    if args.profile {
        m.runtime.enable_profiling()?;
    }
    let tokenizer = m.tokenizer.take();
    let mut decoder = tokenizer.as_ref().map(|t| t.stream_decoder());
    let mut stdout = std::io::stdout().lock();
    let mut write_err = None;
    let stats = generate(
        &mut m.runtime,
        &prompt,
        args.n_predict,
        0,
        &mut sampler,
        |t| tokenizer.as_ref().is_some_and(|tok| tok.is_eog(t)),
        |t| {
            let text = match decoder.as_mut() {
                Some(d) => d.push(t),
                None => format!("{t} "),
            };
            let r = stdout
                .write_all(text.as_bytes())
                .and_then(|_| stdout.flush());
            let ok = r.is_ok();
            write_err = r.err();
            ok
        },
    )?;
    if let Some(e) = write_err {
        return Err(e).context("writing to stdout");
    }
    if let Some(d) = decoder.as_mut() {
        stdout.write_all(d.flush().as_bytes())?;
    }
    writeln!(stdout)?;
    let cpu = m.runtime.take_cpu_time();
    eprintln!(
        "prompt: {} tokens, {:.1} tokens/s | generation: {} tokens, {:.1} tokens/s | \
         {per_token} dispatches and {:.0} us of CPU (encode + submit) per step",
        stats.prompt_tokens,
        stats.prompt_tps(),
        stats.generated,
        stats.gen_tps(),
        cpu.busy.as_secs_f64() * 1e6 / cpu.steps.max(1) as f64
    );
    if args.profile {
        print_profile(&m.runtime.take_profile());
    }
    Ok(())
}

pub(crate) fn print_profile(rows: &[wick_backends::KernelTime]) {
    let total: f64 = rows.iter().map(|r| r.total_ms).sum();
    eprintln!(
        "{:<28} {:>10} {:>10} {:>8} {:>14} {:>12}",
        "kernel", "dispatches", "total ms", "share", "us / dispatch", "weight GB/s"
    );
    for r in rows {
        eprintln!(
            "{:<28} {:>10} {:>10.2} {:>7.1}% {:>14.1} {:>12}",
            r.kernel,
            r.dispatches,
            r.total_ms,
            100.0 * r.total_ms / total.max(1e-9),
            1e3 * r.total_ms / r.dispatches.max(1) as f64,
            r.weight_gbps().map_or(String::new(), |g| format!("{g:.0}")),
        );
    }
    eprintln!(
        "{:<28} {:>10} {:>10.2}",
        "all",
        rows.iter().map(|r| r.dispatches).sum::<u64>(),
        total
    );
}
