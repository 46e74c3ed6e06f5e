//! The `wick` command.

mod info;
mod load;
mod run;

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
    /// Print a GGUF file's architecture, hyperparameters, tensor types and size.
    Info(info::InfoArgs),
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Run(args) => run::run(args),
        Command::Info(args) => info::info(args),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}
