//! Opening a model: the GGUF file, its architecture and tokenizer, and the GPU runtime, with a
//! progress bar on stderr while weights upload.

use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use indicatif::{ProgressBar, ProgressStyle};
use wick_backends::{Gpu, Runtime, RuntimeConfig};
use wick_core::arch::{self, HParams};
use wick_core::gguf::GgufFile;
use wick_core::tokenizer::Tokenizer;

pub struct Loaded {
    pub file: GgufFile,
    pub runtime: Runtime,
    pub tokenizer: Option<Tokenizer>,
    pub hparams: HParams,
}

/// The file named by `-m`, or the default model with a hint when it is not installed.
pub fn model_path(arg: Option<PathBuf>) -> Result<PathBuf> {
    match arg {
        Some(p) => Ok(p),
        None => wick_core::default_model::installed()
            .map_err(|e| anyhow::anyhow!("{e}, or pass -m FILE")),
    }
}

pub fn open(path: &Path) -> Result<GgufFile> {
    Ok(GgufFile::open(path)?)
}

pub fn load(path: &Path, cfg: RuntimeConfig) -> Result<Loaded> {
    let file = open(path)?;
    let model = arch::build(&file).with_context(|| path.display().to_string())?;
    let tokenizer =
        Tokenizer::from_gguf(file.metadata()).with_context(|| path.display().to_string())?;
    let gpu = Gpu::new()?;
    let bar = ProgressBar::new(0).with_style(
        ProgressStyle::with_template("loading {msg} [{bar:30}] {bytes}/{total_bytes}")
            .expect("static template")
            .progress_chars("=> "),
    );
    bar.set_message(
        path.file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default(),
    );
    let runtime = Runtime::new(gpu, &file, model.graph, cfg, |done, total| {
        bar.set_length(total);
        bar.set_position(done);
    })
    .with_context(|| path.display().to_string())?;
    bar.finish_and_clear();
    Ok(Loaded {
        file,
        runtime,
        tokenizer,
        hparams: model.hparams,
    })
}
