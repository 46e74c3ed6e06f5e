//! `wick serve`: the OpenAI-compatible HTTP server.

use std::path::PathBuf;

use anyhow::{Context, Result, bail};
use clap::Args;
use wick_backends::RuntimeConfig;
use wick_server::chat::template::ChatTemplate;
use wick_server::{ServeConfig, ServedModel};

use crate::load;

#[derive(Args)]
pub struct ServeArgs {
    /// GGUF model file (default: the Gemma 3 270M model installed by the README's set-up).
    #[arg(short, long)]
    model: Option<PathBuf>,
    /// Address to listen on. Anything but a loopback address exposes the model to the network:
    /// set --api-key then.
    #[arg(long, default_value = "127.0.0.1")]
    host: String,
    /// Port to listen on (0: any free port, printed at start).
    #[arg(long, default_value_t = 8080)]
    port: u16,
    /// Requests decoded together, each in its own KV-cache slot; more requests wait in a queue.
    #[arg(short = 'n', long, visible_alias = "np", default_value_t = 4)]
    parallel: u32,
    /// Context size of each slot in tokens (prompt plus generated).
    #[arg(short, long, default_value_t = 8192)]
    ctx_size: u32,
    /// Most tokens per forward step (prompt chunks plus the slots' decoded tokens; rounded up to
    /// a power of two).
    #[arg(short, long, default_value_t = 512)]
    batch_size: u32,
    /// Require `Authorization: Bearer KEY` on every /v1/* request (also read from
    /// $WICK_API_KEY).
    #[arg(long, env = "WICK_API_KEY", hide_env_values = true)]
    api_key: Option<String>,
    /// Model name clients use and /v1/models lists (default: the file name without .gguf).
    #[arg(long)]
    alias: Option<String>,
}

pub fn serve(args: ServeArgs) -> Result<()> {
    if args.parallel == 0 {
        bail!("--parallel must be at least 1");
    }
    if args.ctx_size < 2 {
        bail!("--ctx-size must be at least 2, got {}", args.ctx_size);
    }
    let max_batch = args.batch_size.max(args.parallel).next_power_of_two();
    let path = load::model_path(args.model)?;
    let model_id = match args.alias {
        Some(a) => a,
        None => path
            .file_stem()
            .map(|s| s.to_string_lossy().into_owned())
            .unwrap_or_else(|| "model".into()),
    };
    let cfg = RuntimeConfig {
        max_batch,
        max_seqs: args.parallel,
        ctx: args.ctx_size,
    };
    let m = load::load(&path, cfg)?;
    let Some(tokenizer) = m.tokenizer else {
        bail!(
            "{} has no vocabulary (tokenizer model `none`): the server needs one to read \
             messages",
            path.display()
        );
    };
    let meta = m.file.metadata();
    let tokens = meta
        .get_str_array("tokenizer.ggml.tokens")
        .with_context(|| path.display().to_string())?;
    let text_of = |id: Option<u32>| {
        id.and_then(|i| tokens.get(i as usize).copied())
            .unwrap_or("")
    };
    let template = ChatTemplate::new(
        meta.opt_str("tokenizer.chat_template")?,
        m.hparams.arch.name(),
        text_of(tokenizer.bos_id()),
        text_of(tokenizer.eos_id()),
    )
    .with_context(|| format!("the chat template of {}", path.display()))?;
    let served = ServedModel {
        forward: m.runtime,
        tokenizer,
        template,
    };
    let config = ServeConfig {
        host: args.host,
        port: args.port,
        api_key: args.api_key,
        model_id: model_id.clone(),
        parallel: args.parallel as usize,
        ctx: args.ctx_size as usize,
    };
    let (parallel, ctx) = (config.parallel, config.ctx);
    wick_server::serve(served, config, |addr| {
        tracing::info!(
            "listening on http://{addr}/v1 (model `{model_id}`, {parallel} slots of {ctx} tokens)"
        );
    })
    .with_context(|| format!("serving on port {}", args.port))
}
