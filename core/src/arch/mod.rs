//! Architectures: each reads its hyperparameters from GGUF metadata and describes the model as a
//! [`Graph`] over GGUF-named weights. No device code and no KV cache here.

mod builder;
mod gemma3;
mod gpt_oss;
mod llama;

use crate::gguf::{GgufError, GgufFile, Metadata};
use crate::graph::{Graph, Yarn};
use thiserror::Error;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Arch {
    Llama,
    Qwen2,
    Qwen3,
    Qwen2Moe,
    Qwen3Moe,
    GptOss,
    Gemma3,
}

impl Arch {
    /// The only mapping from `general.architecture` strings.
    pub fn from_name(name: &str) -> Option<Arch> {
        match name {
            "llama" => Some(Arch::Llama),
            "qwen2" => Some(Arch::Qwen2),
            "qwen3" => Some(Arch::Qwen3),
            "qwen2moe" => Some(Arch::Qwen2Moe),
            "qwen3moe" => Some(Arch::Qwen3Moe),
            "gpt-oss" => Some(Arch::GptOss),
            "gemma3" => Some(Arch::Gemma3),
            _ => None,
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            Arch::Llama => "llama",
            Arch::Qwen2 => "qwen2",
            Arch::Qwen3 => "qwen3",
            Arch::Qwen2Moe => "qwen2moe",
            Arch::Qwen3Moe => "qwen3moe",
            Arch::GptOss => "gpt-oss",
            Arch::Gemma3 => "gemma3",
        }
    }
}

pub const SUPPORTED: &str = "llama, qwen2, qwen3, qwen2moe, qwen3moe, gpt-oss, gemma3";

#[derive(Debug, Error)]
pub enum ArchError {
    #[error("unsupported architecture {0:?} (wick supports {SUPPORTED})")]
    Unsupported(String),
    #[error(transparent)]
    Metadata(#[from] GgufError),
    #[error("missing tensor {0}")]
    MissingTensor(String),
    #[error("tensor {name} has shape {found:?}, expected {expected:?}")]
    TensorShape {
        name: String,
        expected: Vec<u64>,
        found: Vec<u64>,
    },
    #[error("{0}")]
    Invalid(String),
}

/// Hyperparameters common to the transformer architectures wick runs.
#[derive(Clone, Debug, PartialEq)]
pub struct HParams {
    pub arch: Arch,
    pub n_embd: u64,
    pub n_layer: usize,
    pub n_head: u32,
    pub n_head_kv: u32,
    pub head_dim: u32,
    pub n_ff: u64,
    pub n_vocab: u64,
    pub eps: f32,
    pub n_rot: u32,
    pub rope_base: f32,
    pub rope_scale: f32,
    pub ctx_train: u32,
    /// Sliding-window size of local layers (0: none).
    pub sliding_window: u32,
    /// The experts of mixture-of-experts feed-forwards.
    pub moe: Option<MoeParams>,
    /// YaRN RoPE scaling (`rope.scaling.type` = yarn).
    pub yarn: Option<Yarn>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct MoeParams {
    pub n_expert: u32,
    /// Experts each token is routed to.
    pub n_used: u32,
    /// Hidden size of one expert.
    pub n_ff_exp: u64,
    /// Hidden size of the shared expert, where the architecture has one.
    pub n_ff_shexp: u64,
}

impl HParams {
    pub fn from_metadata(meta: &Metadata, n_vocab: u64) -> Result<HParams, ArchError> {
        let arch_name = meta.get_str("general.architecture")?;
        let arch = Arch::from_name(arch_name)
            .ok_or_else(|| ArchError::Unsupported(arch_name.to_string()))?;
        let key = |k: &str| format!("{arch_name}.{k}");
        meta.require(&[
            &key("embedding_length"),
            &key("block_count"),
            &key("attention.head_count"),
            &key("attention.layer_norm_rms_epsilon"),
        ])?;
        let n_ff = meta.opt_u32(&key("feed_forward_length"))?;
        let n_embd = u64::from(meta.get_u32(&key("embedding_length"))?);
        let n_head = meta.get_u32(&key("attention.head_count"))?;
        if n_head == 0 {
            return Err(ArchError::Invalid(format!(
                "{} is 0",
                key("attention.head_count")
            )));
        }
        let n_head_kv = meta
            .opt_u32(&key("attention.head_count_kv"))?
            .unwrap_or(n_head);
        if n_head_kv == 0 || !n_head.is_multiple_of(n_head_kv) {
            return Err(ArchError::Invalid(format!(
                "{} = {n_head_kv} does not divide the {n_head} attention heads",
                key("attention.head_count_kv")
            )));
        }
        let head_dim = match meta.opt_u32(&key("attention.key_length"))? {
            Some(d) => d,
            None => u32::try_from(n_embd / u64::from(n_head)).unwrap_or(0),
        };
        let scaling = meta.opt_str(&key("rope.scaling.type"))?.unwrap_or("linear");
        let rope_scale = match meta.opt_f32(&key("rope.scaling.factor"))? {
            Some(f) if f > 0.0 && scaling != "none" => 1.0 / f,
            _ => 1.0,
        };
        let ctx_train = meta.opt_u32(&key("context_length"))?.unwrap_or(4096);
        let yarn = match scaling {
            "none" | "linear" => None,
            "yarn" => Some(yarn_params(meta, arch_name, ctx_train)?),
            other => {
                return Err(ArchError::Invalid(format!(
                    "{} = {other:?} is not supported (wick supports none, linear and yarn)",
                    key("rope.scaling.type")
                )));
            }
        };
        let mut hp = HParams {
            arch,
            n_embd,
            n_layer: meta.get_u32(&key("block_count"))? as usize,
            n_head,
            n_head_kv,
            head_dim,
            n_ff: u64::from(n_ff.unwrap_or(0)),
            n_vocab,
            eps: meta.get_f32(&key("attention.layer_norm_rms_epsilon"))?,
            n_rot: meta
                .opt_u32(&key("rope.dimension_count"))?
                .unwrap_or(head_dim),
            rope_base: meta.opt_f32(&key("rope.freq_base"))?.unwrap_or(10000.0),
            rope_scale,
            ctx_train,
            yarn,
            sliding_window: meta.opt_u32(&key("attention.sliding_window"))?.unwrap_or(0),
            moe: None,
        };
        if matches!(arch, Arch::Qwen2Moe | Arch::Qwen3Moe | Arch::GptOss) {
            hp.moe = Some(moe_params(meta, arch_name, n_ff)?);
        } else if n_ff.is_none() {
            meta.require(&[&key("feed_forward_length")])?;
        }
        // Kernels read heads as vec4 and rotate pairs.
        if hp.head_dim == 0
            || !hp.head_dim.is_multiple_of(4)
            || hp.n_rot > hp.head_dim
            || !hp.n_rot.is_multiple_of(2)
        {
            return Err(ArchError::Invalid(format!(
                "head dimension {} with {} rotary dims is not supported",
                hp.head_dim, hp.n_rot
            )));
        }
        Ok(hp)
    }
}

/// YaRN's parameters with llama.cpp's defaults. With no `yarn_log_multiplier`, llama.cpp's
/// attention factor cancels to `rope.scaling.attn_factor` (default 1).
fn yarn_params(meta: &Metadata, arch: &str, ctx_train: u32) -> Result<Yarn, ArchError> {
    let key = |k: &str| format!("{arch}.rope.scaling.{k}");
    if meta.opt_f32(&key("yarn_log_multiplier"))?.unwrap_or(0.0) != 0.0 {
        return Err(ArchError::Invalid(format!(
            "{} is not supported",
            key("yarn_log_multiplier")
        )));
    }
    Ok(Yarn {
        orig_ctx: meta
            .opt_u32(&key("original_context_length"))?
            .unwrap_or(ctx_train),
        beta_fast: meta.opt_f32(&key("yarn_beta_fast"))?.unwrap_or(32.0),
        beta_slow: meta.opt_f32(&key("yarn_beta_slow"))?.unwrap_or(1.0),
        ext_factor: meta.opt_f32(&key("yarn_ext_factor"))?.unwrap_or(1.0),
        attn_factor: meta.opt_f32(&key("attn_factor"))?.unwrap_or(1.0),
    })
}

/// Expert counts and sizes from `<arch>.expert_*`; an expert's hidden size falls back to
/// `feed_forward_length` / experts used, as llama.cpp does.
fn moe_params(meta: &Metadata, arch: &str, n_ff: Option<u32>) -> Result<MoeParams, ArchError> {
    let key = |k: &str| format!("{arch}.{k}");
    meta.require(&[&key("expert_count"), &key("expert_used_count")])?;
    let n_expert = meta.get_u32(&key("expert_count"))?;
    let n_used = meta.get_u32(&key("expert_used_count"))?;
    if n_used == 0 || n_used > n_expert || n_expert > MAX_EXPERTS {
        return Err(ArchError::Invalid(format!(
            "{} = {n_used} of {} = {n_expert}: wick routes to 1..=experts of at most {MAX_EXPERTS}",
            key("expert_used_count"),
            key("expert_count")
        )));
    }
    let n_ff_exp = match meta.opt_u32(&key("expert_feed_forward_length"))? {
        Some(n) => u64::from(n),
        None => match n_ff {
            Some(n) => u64::from(n / n_used),
            None => {
                meta.require(&[&key("expert_feed_forward_length")])?;
                0
            }
        },
    };
    let n_ff_shexp = meta
        .opt_u32(&key("expert_shared_feed_forward_length"))?
        .or(n_ff)
        .map_or(0, u64::from);
    Ok(MoeParams {
        n_expert,
        n_used,
        n_ff_exp,
        n_ff_shexp,
    })
}

/// Most experts a router may choose among (the routing kernel keeps one row's logits in
/// workgroup memory).
pub const MAX_EXPERTS: u32 = 512;

/// A model's hyperparameters and graph.
#[derive(Clone, Debug)]
pub struct Model {
    pub hparams: HParams,
    pub graph: Graph,
}

/// Reads the architecture of `file` and builds its graph, checking every weight's shape.
pub fn build(file: &GgufFile) -> Result<Model, ArchError> {
    let arch_name = file.metadata().get_str("general.architecture")?;
    if Arch::from_name(arch_name).is_none() {
        return Err(ArchError::Unsupported(arch_name.to_string()));
    }
    let embd = file
        .tensor("token_embd.weight")
        .ok_or_else(|| ArchError::MissingTensor("token_embd.weight".into()))?;
    let n_vocab = embd.dims.get(1).copied().unwrap_or(0);
    let hparams = HParams::from_metadata(file.metadata(), n_vocab)?;
    let graph = match hparams.arch {
        Arch::Llama | Arch::Qwen2 | Arch::Qwen3 | Arch::Qwen2Moe | Arch::Qwen3Moe => {
            llama::graph(file, &hparams)?
        }
        Arch::Gemma3 => gemma3::graph(file, &hparams)?,
        Arch::GptOss => gpt_oss::graph(file, &hparams)?,
    };
    Ok(Model { hparams, graph })
}
