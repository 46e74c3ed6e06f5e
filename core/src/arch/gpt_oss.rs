//! gpt-oss: attention with q/k/v/output biases and a learned per-head sink logit, alternating
//! sliding-window (even layers) and full layers, NeoX RoPE with YaRN, and mixture-of-experts
//! feed-forwards: a biased router, softmax over the chosen experts' logits, biased experts and
//! the clamped SwiGLU.

use super::builder::Builder;
use super::{ArchError, HParams};
use crate::gguf::GgufFile;
use crate::graph::{Glu, Graph, Op, RopeParams, Rows};

pub fn graph(file: &GgufFile, hp: &HParams) -> Result<Graph, ArchError> {
    let moe = hp
        .moe
        .ok_or_else(|| ArchError::Invalid("gpt-oss without experts".into()))?;
    let swa_base = file
        .metadata()
        .opt_f32("gpt-oss.rope.freq_base_swa")?
        .unwrap_or(hp.rope_base);
    let mut b = Builder::new(file);
    let n_embd = hp.n_embd;
    let table = b.matrix("token_embd.weight", hp.n_vocab, n_embd)?;
    let mut x = b.tensor(Rows::Batch, n_embd);
    b.g.ops.push(Op::Embed {
        table,
        scale: 1.0,
        out: x,
    });
    // Each residual add is fused with the norm after it (`add_rms_norm`, `block_end`).
    let mut h = b.rms_norm("blk.0.attn_norm.weight", x, n_embd, hp.eps)?;
    for il in 0..hp.n_layer {
        let local = hp.sliding_window > 0 && il % 2 == 0;
        let rope = RopeParams {
            n_heads: hp.n_head,
            head_dim: hp.head_dim,
            n_rot: hp.n_rot,
            neox: true,
            freq_base: if local { swa_base } else { hp.rope_base },
            freq_scale: hp.rope_scale,
            yarn: hp.yarn,
        };
        let window = if local { hp.sliding_window } else { 0 };
        let o = b.self_attention(il, h, hp, false, rope, window)?;
        let post = format!("blk.{il}.post_attention_norm.weight");
        let (x1, h1) = b.add_rms_norm(o, x, &post, hp.eps)?;
        let ffn = b.experts(il, h1, n_embd, moe, true, Glu::SiluOai)?;
        (x, h) = b.block_end(il, ffn, x1, hp)?;
    }
    b.g.logits = b.head(x, n_embd, hp.n_vocab, hp.eps)?;
    Ok(b.g)
}
