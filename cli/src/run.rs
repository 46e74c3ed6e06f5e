//! `wick run`: raw completion of a prompt, streamed to stdout.

use std::io::Write;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use clap::Args;
use wick_backends::{ATTENTION_SHALLOW_POSITIONS, RuntimeConfig};
use wick_core::sampling::SamplingParams;
use wick_core::scheduler::{Event, Request, Scheduler, Sink};
use wick_core::tokenizer::{StreamDecoder, Tokenizer};

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
    if args.n_predict == 0 {
        bail!("-n must be at least 1");
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
    let sampling = SamplingParams {
        temperature: args.temp,
        top_k: args.top_k,
        top_p: args.top_p,
        min_p: args.min_p,
        seed,
        ..Default::default()
    };
    eprintln!(
        "wick: {} ({}, {} layers) on {}, seed {seed}",
        path.display(),
        m.hparams.arch.name(),
        m.hparams.n_layer,
        m.runtime.gpu.caps
    );
    // Compile the plans before timing, so the speeds exclude shader compilation.
    // Only the last chunk has an output row, so only it can pick greedily.
    let greedy = sampling.is_greedy();
    let chunks = prompt.chunks(cfg.max_batch as usize);
    let n_chunks = chunks.len();
    for (i, chunk) in chunks.enumerate() {
        let last_pos = (i * cfg.max_batch as usize + chunk.len() - 1) as u32;
        m.runtime
            .dispatches(chunk.len(), last_pos, 1, greedy && i + 1 == n_chunks);
    }
    let per_token = m.runtime.dispatches(1, prompt.len() as u32, 1, greedy);
    // Past the shallow positions decode steps take another plan.
    m.runtime
        .dispatches(1, ATTENTION_SHALLOW_POSITIONS, 1, greedy);
    m.runtime.take_cpu_time();
    if args.profile {
        m.runtime.enable_profiling()?;
    }
    // One request on a one-slot scheduler: the server's engine with a single sequence.
    let tokenizer = m.tokenizer.take().map(Arc::new);
    let eog = tokenizer.clone();
    let mut engine = Scheduler::new(m.runtime, 1, args.ctx_size as usize, move |t| {
        eog.as_ref().is_some_and(|tok| tok.is_eog(t))
    });
    let times = Arc::new(Mutex::new(Times::default()));
    let prompt_tokens = prompt.len();
    engine.submit(Request {
        prompt,
        max_tokens: args.n_predict,
        sampling,
        sink: Box::new(Printer {
            decoder: tokenizer.map(StreamDecoder::new),
            times: times.clone(),
        }),
    });
    let start = Instant::now();
    while engine.busy() {
        engine.step();
    }
    let t = std::mem::take(&mut *times.lock().expect("printer lock"));
    match t.write_error {
        // The reader went away (`wick run ... | head`): stop quietly, as other tools do.
        Some(e) if e.kind() == std::io::ErrorKind::BrokenPipe => return Ok(()),
        Some(e) => return Err(e).context("writing to stdout"),
        None => {}
    }
    if let Some(e) = t.failed {
        bail!("generation failed: {e}");
    }
    let runtime = engine.model();
    let cpu = runtime.take_cpu_time();
    let prompt_time = t.first.map_or(start.elapsed(), |f| f - start);
    let gen_time = t.first.zip(t.last).map_or(Duration::ZERO, |(f, l)| l - f);
    eprintln!(
        "prompt: {prompt_tokens} tokens, {:.1} tokens/s | generation: {} tokens, {:.1} tokens/s | \
         {} dispatches ({} behind a barrier) and {:.0} us of CPU (encode + submit) per step",
        prompt_tokens as f64 / prompt_time.as_secs_f64().max(1e-9),
        t.generated,
        t.generated.saturating_sub(1) as f64 / gen_time.as_secs_f64().max(1e-9),
        per_token.dispatches,
        per_token.barriers,
        cpu.busy.as_secs_f64() * 1e6 / cpu.steps.max(1) as f64
    );
    if args.profile {
        print_profile(&runtime.take_profile());
    }
    Ok(())
}

/// When the tokens came, and what went wrong, as the printer saw it.
#[derive(Default)]
struct Times {
    first: Option<Instant>,
    last: Option<Instant>,
    generated: usize,
    failed: Option<String>,
    write_error: Option<std::io::Error>,
}

/// Streams the generated text to stdout (token ids for files without a vocabulary).
struct Printer {
    decoder: Option<StreamDecoder<Arc<Tokenizer>>>,
    times: Arc<Mutex<Times>>,
}

impl Printer {
    fn write(&self, text: &str) -> std::io::Result<()> {
        let mut out = std::io::stdout().lock();
        out.write_all(text.as_bytes()).and_then(|_| out.flush())
    }
}

impl Sink for Printer {
    fn send(&mut self, event: Event) -> bool {
        let mut times = self.times.lock().expect("printer lock");
        let text = match event {
            Event::Started { .. } => return true,
            Event::Token(t) => {
                let now = Instant::now();
                times.first.get_or_insert(now);
                times.last = Some(now);
                times.generated += 1;
                match self.decoder.as_mut() {
                    Some(d) => d.push(t),
                    None => format!("{t} "),
                }
            }
            Event::Finished(_) => {
                let rest = self.decoder.as_mut().map(|d| d.flush()).unwrap_or_default();
                rest + "\n"
            }
            Event::Failed(e) => {
                times.failed = Some(e);
                return false;
            }
        };
        match self.write(&text) {
            Ok(()) => true,
            Err(e) => {
                times.write_error = Some(e);
                false
            }
        }
    }

    fn is_closed(&self) -> bool {
        false
    }
}

/// Prints a profile, kernels largest first; where its dispatches were also timed alone, two more
/// columns give each kernel's time and weight bandwidth so, without the profiled steps'
/// timestamps.
pub(crate) fn print_profile(profile: &wick_backends::Profile) {
    let rows = &profile.kernels;
    let total: f64 = rows.iter().map(|r| r.total_ms).sum();
    let alone = profile.alone_step_us.is_some();
    let alone_head = if alone {
        format!(" {:>9} {:>10}", "alone us", "alone GB/s")
    } else {
        String::new()
    };
    eprintln!(
        "{:<36} {:>10} {:>10} {:>8} {:>14} {:>12}{alone_head}",
        "kernel", "dispatches", "total ms", "share", "us / dispatch", "weight GB/s"
    );
    let gbps = |g: Option<f64>| g.map_or(String::new(), |g| format!("{g:.0}"));
    for r in rows {
        let us = 1e3 * r.total_ms / r.dispatches.max(1) as f64;
        let alone_cols = if alone {
            format!(
                " {:>9} {:>10}",
                r.alone_us.map_or(String::new(), |us| format!("{us:.1}")),
                gbps(r.alone_gbps())
            )
        } else {
            String::new()
        };
        eprintln!(
            "{:<36} {:>10} {:>10.2} {:>7.1}% {:>14.1} {:>12}{alone_cols}",
            r.kernel,
            r.dispatches,
            r.total_ms,
            100.0 * r.total_ms / total.max(1e-9),
            us,
            gbps(r.weight_gbps()),
        );
    }
    eprintln!(
        "{:<36} {:>10} {:>10.2}",
        "all",
        rows.iter().map(|r| r.dispatches).sum::<u64>(),
        total
    );
    if profile.steps > 0 {
        eprintln!(
            "GPU span per step (first to last timestamp, kernels and the gaps between them): {:.1} us",
            1e3 * profile.span_ms / profile.steps as f64
        );
    }
}
