//! Llama-family decoders: `llama` (normal RoPE), `qwen2` (NeoX RoPE, QKV biases) and `qwen3`
//! (NeoX RoPE, per-head RMS norm of q and k). Pre-norm blocks with a SwiGLU feed-forward.

use super::builder::Builder;
use super::{Arch, ArchError, HParams};
use crate::gguf::GgufFile;
use crate::graph::{AttentionParams, Glu, Graph, KvShape, Op, RopeParams, Rows};

pub fn graph(file: &GgufFile, hp: &HParams) -> Result<Graph, ArchError> {
    let mut b = Builder::new(file);
    let (n_embd, hd) = (hp.n_embd, u64::from(hp.head_dim));
    let q_dim = hd * u64::from(hp.n_head);
    let kv_dim = hd * u64::from(hp.n_head_kv);
    let neox = hp.arch != Arch::Llama;

    let table = b.matrix("token_embd.weight", hp.n_vocab, n_embd)?;
    let mut x = b.tensor(Rows::Batch, n_embd);
    b.g.ops.push(Op::Embed {
        table,
        scale: 1.0,
        out: x,
    });

    for il in 0..hp.n_layer {
        let p = format!("blk.{il}");
        let h = b.rms_norm(&format!("{p}.attn_norm.weight"), x, n_embd, hp.eps)?;
        let mut q = b.linear(&format!("{p}.attn_q"), h, q_dim, n_embd)?;
        let mut k = b.linear(&format!("{p}.attn_k"), h, kv_dim, n_embd)?;
        let v = b.linear(&format!("{p}.attn_v"), h, kv_dim, n_embd)?;
        if hp.arch == Arch::Qwen3 {
            q = b.rms_norm(&format!("{p}.attn_q_norm.weight"), q, hd, hp.eps)?;
            k = b.rms_norm(&format!("{p}.attn_k_norm.weight"), k, hd, hp.eps)?;
        }
        let rope = |n_heads| RopeParams {
            n_heads,
            head_dim: hp.head_dim,
            n_rot: hp.n_rot,
            neox,
            freq_base: hp.rope_base,
            freq_scale: hp.rope_scale,
        };
        b.g.ops.push(Op::Rope {
            x: q,
            params: rope(hp.n_head),
        });
        b.g.ops.push(Op::Rope {
            x: k,
            params: rope(hp.n_head_kv),
        });
        b.g.ops.push(Op::KvStore { layer: il, k, v });
        let attn = b.tensor(Rows::Batch, q_dim);
        let params = AttentionParams {
            layer: il,
            n_heads: hp.n_head,
            n_kv_heads: hp.n_head_kv,
            head_dim: hp.head_dim,
            scale: 1.0 / (hp.head_dim as f32).sqrt(),
            window: 0,
        };
        b.g.ops.push(Op::Attention {
            q,
            params,
            out: attn,
        });
        b.g.kv.push(KvShape {
            n_kv_heads: hp.n_head_kv,
            head_dim: hp.head_dim,
        });
        let o = b.linear(&format!("{p}.attn_output"), attn, n_embd, q_dim)?;
        let x1 = b.add(o, x);

        let h = b.rms_norm(&format!("{p}.ffn_norm.weight"), x1, n_embd, hp.eps)?;
        let gate = b.linear(&format!("{p}.ffn_gate"), h, hp.n_ff, n_embd)?;
        let up = b.linear(&format!("{p}.ffn_up"), h, hp.n_ff, n_embd)?;
        let act = b.tensor(Rows::Batch, hp.n_ff);
        b.g.ops.push(Op::Glu {
            kind: Glu::Silu,
            gate,
            up,
            out: act,
        });
        let down = b.linear(&format!("{p}.ffn_down"), act, n_embd, hp.n_ff)?;
        x = b.add(down, x1);
    }
    b.g.logits = b.head(x, n_embd, hp.n_vocab, hp.eps)?;
    Ok(b.g)
}
