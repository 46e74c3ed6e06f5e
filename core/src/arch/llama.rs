//! Llama-family decoders: `llama` (normal RoPE), `qwen2` (NeoX RoPE, QKV biases) and `qwen3`
//! (NeoX RoPE, per-head RMS norm of q and k). Pre-norm blocks with a SwiGLU feed-forward.
//! `qwen2moe` and `qwen3moe` are `qwen2` and `qwen3` with mixture-of-experts feed-forwards:
//! qwen3moe renormalises the chosen experts' weights, qwen2moe does not and adds a shared expert
//! gated by a sigmoid.

use super::builder::Builder;
use super::{Arch, ArchError, HParams};
use crate::gguf::GgufFile;
use crate::graph::{Glu, Graph, Op, RopeParams, Rows};

pub fn graph(file: &GgufFile, hp: &HParams) -> Result<Graph, ArchError> {
    let mut b = Builder::new(file);
    let n_embd = hp.n_embd;
    let table = b.matrix("token_embd.weight", hp.n_vocab, n_embd)?;
    let mut x = b.tensor(Rows::Batch, n_embd);
    b.g.ops.push(Op::Embed {
        table,
        scale: 1.0,
        out: x,
    });
    let rope = RopeParams {
        n_heads: hp.n_head,
        head_dim: hp.head_dim,
        n_rot: hp.n_rot,
        neox: hp.arch != Arch::Llama,
        freq_base: hp.rope_base,
        freq_scale: hp.rope_scale,
        yarn: hp.yarn,
    };
    // Each residual add is fused with the norm after it (`add_rms_norm`, `block_end`).
    let mut h = b.rms_norm("blk.0.attn_norm.weight", x, n_embd, hp.eps)?;
    for il in 0..hp.n_layer {
        let qk_norm = matches!(hp.arch, Arch::Qwen3 | Arch::Qwen3Moe);
        let o = b.self_attention(il, h, hp, qk_norm, rope, 0)?;
        let (x1, h1) = b.add_rms_norm(o, x, &format!("blk.{il}.ffn_norm.weight"), hp.eps)?;
        h = h1;
        let down = match hp.moe {
            None => b.feed_forward(il, h, hp, Glu::Silu)?,
            Some(moe) => {
                let qwen3 = hp.arch == Arch::Qwen3Moe;
                let experts = b.experts(il, h, n_embd, moe, qwen3, Glu::Silu)?;
                if qwen3 {
                    experts
                } else {
                    let shared = b.shared_expert(il, h, n_embd, moe.n_ff_shexp)?;
                    b.add(experts, shared)
                }
            }
        };
        (x, h) = b.block_end(il, down, x1, hp)?;
    }
    b.g.logits = b.head(x, n_embd, hp.n_vocab, hp.eps)?;
    Ok(b.g)
}
