//! The `wick` command.

mod bench;
mod info;
mod load;
mod run;
mod serve;

use std::io::IsTerminal;
use std::process::ExitCode;

use clap::{Parser, Subcommand};

#[derive(Parser)]
#[command(
    name = "wick",
    version,
    about = "Run GGUF language models on the GPU through WebGPU (Metal, Vulkan)"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Complete a prompt (raw completion, no chat template); generated text goes to stdout.
    Run(run::RunArgs),
    /// Serve a model over an OpenAI-compatible HTTP API (/v1/chat/completions, /v1/completions,
    /// /v1/models, /health).
    Serve(serve::ServeArgs),
    /// Measure prompt processing and generation speed at several depths (llama-bench's pp and
    /// tg), with time to first token, context scaling, bandwidth use and GPU memory.
    Bench(bench::BenchArgs),
    /// Print a GGUF file's architecture, hyperparameters, tensor types and size.
    Info(info::InfoArgs),
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Run(args) => run::run(args),
        Command::Info(args) => info::info(args),
        Command::Bench(args) => bench::bench(args),
        Command::Serve(args) => {
            // wgpu's adapter probing logs errors for backends that are absent (EGL on a
            // headless Linux): keep its crates to warnings and up unless RUST_LOG asks.
            tracing_subscriber::fmt()
                .with_writer(std::io::stderr)
                .with_ansi(std::io::stderr().is_terminal())
                .with_env_filter(
                    tracing_subscriber::EnvFilter::try_from_default_env()
                        .unwrap_or_else(|_| "info,wgpu_hal=off,wgpu_core=warn".into()),
                )
                .init();
            serve::serve(args)
        }
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}
