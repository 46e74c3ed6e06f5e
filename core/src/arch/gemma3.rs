//! Gemma 3: embeddings scaled by sqrt(n_embd), per-head RMS norm of q and k, NeoX RoPE with a
//! separate base for sliding-window layers (five local layers to one global), norms after the
//! attention and feed-forward blocks as well as before, and a GeGLU feed-forward.

use super::builder::Builder;
use super::{ArchError, HParams};
use crate::gguf::GgufFile;
use crate::graph::{Glu, Graph, Op, RopeParams, Rows};

/// Every sixth layer attends globally; the others use the sliding window.
const SWA_PATTERN: usize = 6;
/// RoPE base of the sliding-window layers when the file does not name one.
const DEFAULT_SWA_ROPE_BASE: f32 = 10000.0;

pub fn graph(file: &GgufFile, hp: &HParams) -> Result<Graph, ArchError> {
    let meta = file.metadata();
    let swa_base = meta
        .opt_f32("gemma3.rope.freq_base_swa")?
        .unwrap_or(DEFAULT_SWA_ROPE_BASE);
    let pattern = meta
        .opt_u32("gemma3.attention.sliding_window_pattern")?
        .map_or(SWA_PATTERN, |p| p as usize);
    let mut b = Builder::new(file);
    let n_embd = hp.n_embd;
    let table = b.matrix("token_embd.weight", hp.n_vocab, n_embd)?;
    let mut x = b.tensor(Rows::Batch, n_embd);
    b.g.ops.push(Op::Embed {
        table,
        scale: (n_embd as f32).sqrt(),
        out: x,
    });

    // Each residual add is fused with the norm after it (`add_rms_norm`, `block_end`).
    let mut h = b.rms_norm("blk.0.attn_norm.weight", x, n_embd, hp.eps)?;
    for il in 0..hp.n_layer {
        let p = format!("blk.{il}");
        let local = hp.sliding_window > 0 && (pattern == 0 || il % pattern < pattern - 1);
        let (freq_base, freq_scale) = if local {
            (swa_base, 1.0)
        } else {
            (hp.rope_base, hp.rope_scale)
        };
        let rope = RopeParams {
            n_heads: hp.n_head,
            head_dim: hp.head_dim,
            n_rot: hp.n_rot,
            neox: true,
            freq_base,
            freq_scale,
            yarn: if local { None } else { hp.yarn },
        };
        let window = if local { hp.sliding_window } else { 0 };
        let o = b.self_attention(il, h, hp, true, rope, window)?;
        let o = b.rms_norm(
            &format!("{p}.post_attention_norm.weight"),
            o,
            n_embd,
            hp.eps,
        )?;
        let (x1, h1) = b.add_rms_norm(o, x, &format!("{p}.ffn_norm.weight"), hp.eps)?;
        let down = b.feed_forward(il, h1, hp, Glu::Gelu)?;
        let down = b.rms_norm(&format!("{p}.post_ffw_norm.weight"), down, n_embd, hp.eps)?;
        (x, h) = b.block_end(il, down, x1, hp)?;
    }
    b.g.logits = b.head(x, n_embd, hp.n_vocab, hp.eps)?;
    Ok(b.g)
}
