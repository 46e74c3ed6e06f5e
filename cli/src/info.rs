//! `wick info [FILE | -m FILE]`: what a GGUF file holds.

use std::collections::BTreeMap;
use std::path::PathBuf;

use anyhow::Result;
use clap::Args;
use wick_core::arch::{Arch, HParams};
use wick_core::gguf::Value;

use crate::load;

#[derive(Args)]
pub struct InfoArgs {
    /// GGUF file (default: the Gemma 3 270M model installed by the README's set-up).
    #[arg(conflicts_with = "model")]
    file: Option<PathBuf>,
    /// The GGUF file, given as `run`, `serve` and `bench` take it.
    #[arg(short, long)]
    model: Option<PathBuf>,
}

pub fn info(args: InfoArgs) -> Result<()> {
    let path = load::model_path(args.file.or(args.model))?;
    let file = load::open(&path)?;
    let meta = file.metadata();
    let arch = meta.get_str("general.architecture").unwrap_or("(none)");
    println!("file:          {}", path.display());
    println!("GGUF version:  {}", file.version());
    if let Ok(name) = meta.get_str("general.name") {
        println!("name:          {name}");
    }
    let supported = if Arch::from_name(arch).is_some() {
        "supported"
    } else {
        "not supported by wick"
    };
    println!("architecture:  {arch} ({supported})");
    let n_vocab = file
        .tensor("token_embd.weight")
        .and_then(|t| t.dims.get(1).copied())
        .unwrap_or(0);
    let hparams = HParams::from_metadata(meta, n_vocab);
    match &hparams {
        Ok(hp) => {
            println!("layers:        {}", hp.n_layer);
            println!("embedding:     {}", hp.n_embd);
            match hp.moe {
                None => println!("feed-forward:  {}", hp.n_ff),
                Some(moe) => {
                    println!(
                        "experts:       {} ({} active per token), expert feed-forward {}",
                        moe.n_expert, moe.n_used, moe.n_ff_exp
                    );
                    if hp.arch == Arch::Qwen2Moe {
                        println!("shared expert: feed-forward {}", moe.n_ff_shexp);
                    }
                }
            }
            println!(
                "heads:         {} (kv {}), head dim {}",
                hp.n_head, hp.n_head_kv, hp.head_dim
            );
            println!(
                "rope:          base {}, {} dims, scale {}",
                hp.rope_base, hp.n_rot, hp.rope_scale
            );
            println!("norm eps:      {}", hp.eps);
            println!("context:       {} (trained)", hp.ctx_train);
            if hp.sliding_window > 0 {
                println!("sliding window: {}", hp.sliding_window);
            }
            println!("vocabulary:    {}", hp.n_vocab);
        }
        Err(e) => println!("hyperparameters: {e}"),
    }
    let tokenizer = meta.get_str("tokenizer.ggml.model").unwrap_or("(none)");
    println!("tokenizer:     {tokenizer}");
    let template = matches!(meta.get("tokenizer.chat_template"), Some(Value::String(_)));
    println!("chat template: {}", if template { "yes" } else { "no" });
    let mut by_type: BTreeMap<&str, (usize, u64, u64)> = BTreeMap::new();
    for t in file.tensors() {
        let e = by_type.entry(t.ty.name()).or_default();
        e.0 += 1;
        e.1 += t.n_bytes;
        e.2 += t.n_elems();
    }
    let params: u64 = file.tensors().iter().map(|t| t.n_elems()).sum();
    let bytes: u64 = file.tensors().iter().map(|t| t.n_bytes).sum();
    println!(
        "tensors:       {} ({:.1} M parameters, {:.1} MiB, file {:.1} MiB)",
        file.tensors().len(),
        params as f64 / 1e6,
        bytes as f64 / 1048576.0,
        file.file_size() as f64 / 1048576.0
    );
    if let Ok(HParams { moe: Some(moe), .. }) = hparams {
        // Stacked expert tensors have the experts as their third dimension; a token reads
        // n_used of them.
        let (mut active, mut active_bytes) = (0, 0);
        for t in file.tensors() {
            let (n, b) = if t.dims.get(2) == Some(&u64::from(moe.n_expert)) {
                let used = u64::from(moe.n_used);
                let all = u64::from(moe.n_expert);
                (t.n_elems() / all * used, t.n_bytes / all * used)
            } else {
                (t.n_elems(), t.n_bytes)
            };
            active += n;
            active_bytes += b;
        }
        println!(
            "active:        {:.1} M of {:.1} M parameters per token ({:.1} MiB of weights)",
            active as f64 / 1e6,
            params as f64 / 1e6,
            active_bytes as f64 / 1048576.0
        );
    }
    for (ty, (count, b, elems)) in by_type {
        println!(
            "  {ty:<8} {count:>5} tensors {:>10.1} MiB {:>6.2} bits/weight",
            b as f64 / 1048576.0,
            b as f64 * 8.0 / elems.max(1) as f64
        );
    }
    Ok(())
}
