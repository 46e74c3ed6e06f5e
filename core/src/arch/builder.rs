//! Graph building shared by the architectures: weights checked against the file, and the small
//! compositions (linear layers, norms) every transformer uses.

use super::{ArchError, HParams, MoeParams};
use crate::gguf::GgufFile;
use crate::graph::{
    AttentionParams, Glu, Graph, KvShape, Op, RopeParams, Rows, TensorId, WeightId,
};

pub struct Builder<'a> {
    pub file: &'a GgufFile,
    pub g: Graph,
}

impl<'a> Builder<'a> {
    pub fn new(file: &'a GgufFile) -> Self {
        Builder {
            file,
            g: Graph::default(),
        }
    }

    pub fn has(&self, name: &str) -> bool {
        self.file.tensor(name).is_some()
    }

    /// A matrix weight of `rows` output features by `cols` input features (GGUF dims [cols, rows]).
    pub fn matrix(&mut self, name: &str, rows: u64, cols: u64) -> Result<WeightId, ArchError> {
        self.check(name, &[cols, rows])?;
        Ok(self.g.weight(name, 1, rows, cols))
    }

    /// `experts` stacked matrices of `rows` x `cols` (GGUF dims [cols, rows, experts]).
    pub fn expert_matrix(
        &mut self,
        name: &str,
        experts: u64,
        rows: u64,
        cols: u64,
    ) -> Result<WeightId, ArchError> {
        self.check(name, &[cols, rows, experts])?;
        Ok(self.g.weight(name, experts, rows, cols))
    }

    /// A vector weight (norm or bias) of `n` elements.
    pub fn vector(&mut self, name: &str, n: u64) -> Result<WeightId, ArchError> {
        self.check(name, &[n])?;
        Ok(self.g.weight(name, 1, 1, n))
    }

    fn check(&self, name: &str, dims: &[u64]) -> Result<(), ArchError> {
        let t = self
            .file
            .tensor(name)
            .ok_or_else(|| ArchError::MissingTensor(name.to_string()))?;
        // GGUF writers may keep trailing unit dims.
        let found: Vec<u64> = t.dims.clone();
        let mut trimmed = found.clone();
        while trimmed.len() > dims.len() && trimmed.last() == Some(&1) {
            trimmed.pop();
        }
        if trimmed != dims {
            return Err(ArchError::TensorShape {
                name: name.to_string(),
                expected: dims.to_vec(),
                found,
            });
        }
        Ok(())
    }

    pub fn tensor(&mut self, rows: Rows, cols: u64) -> TensorId {
        self.g.tensor(rows, cols)
    }

    fn rows_of(&self, t: TensorId) -> Rows {
        self.g.tensors[t].rows
    }

    /// x W^T, plus a bias when the file has `<name>.bias`.
    pub fn linear(
        &mut self,
        prefix: &str,
        x: TensorId,
        rows: u64,
        cols: u64,
    ) -> Result<TensorId, ArchError> {
        let w = self.matrix(&format!("{prefix}.weight"), rows, cols)?;
        let r = self.rows_of(x);
        let out = self.tensor(r, rows);
        self.g.ops.push(Op::MatMul { w, x, out });
        let bias_name = format!("{prefix}.bias");
        if self.has(&bias_name) {
            let bias = self.vector(&bias_name, rows)?;
            let biased = self.tensor(r, rows);
            self.g.ops.push(Op::AddBias {
                x: out,
                bias,
                out: biased,
            });
            return Ok(biased);
        }
        Ok(out)
    }

    /// RMS norm over groups of `group` columns, times the named weight.
    pub fn rms_norm(
        &mut self,
        name: &str,
        x: TensorId,
        group: u64,
        eps: f32,
    ) -> Result<TensorId, ArchError> {
        let weight = self.vector(name, group)?;
        let (r, cols) = (self.rows_of(x), self.g.tensors[x].cols);
        let out = self.tensor(r, cols);
        self.g.ops.push(Op::RmsNorm {
            x,
            weight,
            group,
            eps,
            out,
        });
        Ok(out)
    }

    /// a + b, and that sum RMS-normed over rows times the named weight: (sum, normed).
    pub fn add_rms_norm(
        &mut self,
        a: TensorId,
        b: TensorId,
        name: &str,
        eps: f32,
    ) -> Result<(TensorId, TensorId), ArchError> {
        let (r, cols) = (self.rows_of(a), self.g.tensors[a].cols);
        let weight = self.vector(name, cols)?;
        let sum = self.tensor(r, cols);
        let out = self.tensor(r, cols);
        self.g.ops.push(Op::AddRmsNorm {
            a,
            b,
            weight,
            eps,
            sum,
            out,
        });
        Ok((sum, out))
    }

    /// The end of block `layer`: its output plus the residual stream, with the next layer's
    /// attn_norm fused in; returns (residual, the next layer's normed input). After the last
    /// layer there is no next norm (the head norms after picking its rows): both are the sum.
    pub fn block_end(
        &mut self,
        layer: usize,
        out: TensorId,
        residual: TensorId,
        hp: &HParams,
    ) -> Result<(TensorId, TensorId), ArchError> {
        if layer + 1 < hp.n_layer {
            let next = format!("blk.{}.attn_norm.weight", layer + 1);
            self.add_rms_norm(out, residual, &next, hp.eps)
        } else {
            let sum = self.add(out, residual);
            Ok((sum, sum))
        }
    }

    pub fn add(&mut self, a: TensorId, b: TensorId) -> TensorId {
        let (r, cols) = (self.rows_of(a), self.g.tensors[a].cols);
        let out = self.tensor(r, cols);
        self.g.ops.push(Op::Add { a, b, out });
        out
    }

    /// Self-attention of layer `layer` on the normed input `h`, through the output projection:
    /// q, k, v projections, optional per-head RMS norm of q and k, RoPE, the KV-cache store and
    /// causal attention (over `window` positions; 0 for all).
    pub fn self_attention(
        &mut self,
        layer: usize,
        h: TensorId,
        hp: &HParams,
        qk_norm: bool,
        rope: RopeParams,
        window: u32,
    ) -> Result<TensorId, ArchError> {
        let sinks_name = format!("blk.{layer}.attn_sinks.weight");
        let sinks = if self.has(&sinks_name) {
            Some(self.vector(&sinks_name, u64::from(hp.n_head))?)
        } else {
            None
        };
        let p = format!("blk.{layer}");
        let hd = u64::from(hp.head_dim);
        let q_dim = hd * u64::from(hp.n_head);
        let kv_dim = hd * u64::from(hp.n_head_kv);
        let (q_name, k_name, v_name) = (
            format!("{p}.attn_q"),
            format!("{p}.attn_k"),
            format!("{p}.attn_v"),
        );
        let projections = [
            (&q_name[..], q_dim),
            (&k_name[..], kv_dim),
            (&v_name[..], kv_dim),
        ];
        let [q, k, v] = self.linears(&projections, h, hp.n_embd)?[..] else {
            unreachable!("one tensor per projection")
        };
        let q_rope = RopeParams {
            n_heads: hp.n_head,
            ..rope
        };
        if qk_norm {
            let q_norm = self.vector(&format!("{p}.attn_q_norm.weight"), hd)?;
            let k_norm = self.vector(&format!("{p}.attn_k_norm.weight"), hd)?;
            self.g.ops.push(Op::NormRopeStore {
                layer,
                q,
                k,
                v,
                q_norm,
                k_norm,
                eps: hp.eps,
                params: q_rope,
            });
        } else {
            self.g.ops.push(Op::RopeStore {
                layer,
                q,
                k,
                v,
                params: q_rope,
            });
        }
        let attn = self.tensor(Rows::Batch, q_dim);
        let params = AttentionParams {
            layer,
            n_heads: hp.n_head,
            n_kv_heads: hp.n_head_kv,
            head_dim: hp.head_dim,
            scale: 1.0 / (hp.head_dim as f32).sqrt(),
            window,
            sinks,
        };
        self.g.ops.push(Op::Attention {
            q,
            params,
            out: attn,
        });
        self.g.kv.push(KvShape {
            n_kv_heads: hp.n_head_kv,
            head_dim: hp.head_dim,
        });
        self.linear(&format!("{p}.attn_output"), attn, hp.n_embd, q_dim)
    }

    /// The gated feed-forward of layer `layer` on the normed input `h`.
    pub fn feed_forward(
        &mut self,
        layer: usize,
        h: TensorId,
        hp: &HParams,
        kind: Glu,
    ) -> Result<TensorId, ArchError> {
        let p = format!("blk.{layer}");
        let act = self.gated(
            &format!("{p}.ffn_gate"),
            &format!("{p}.ffn_up"),
            h,
            hp.n_ff,
            hp.n_embd,
            kind,
        )?;
        self.linear(&format!("{p}.ffn_down"), act, hp.n_embd, hp.n_ff)
    }

    /// act(x W_gate^T) * x W_up^T for the gate and up projections named by their prefixes, both
    /// `rows` x `cols` (stacked into one matmul where [`Builder::linears`] can).
    fn gated(
        &mut self,
        gate: &str,
        up: &str,
        x: TensorId,
        rows: u64,
        cols: u64,
        kind: Glu,
    ) -> Result<TensorId, ArchError> {
        let [gate, up] = self.linears(&[(gate, rows), (up, rows)], x, cols)?[..] else {
            unreachable!("one tensor per projection")
        };
        let out = self.tensor(self.rows_of(x), rows);
        self.g.ops.push(Op::Glu {
            kind,
            gate,
            up,
            out,
        });
        Ok(out)
    }

    /// x W^T (plus bias) for each projection (`prefix`, rows) of the same input, `cols` wide.
    /// Neighbouring projections of one type, all biased or none, are stacked into one weight
    /// (and one bias) so a single matmul computes them; each is a view of its output. A view
    /// must start at a multiple of 64 floats: 256 bytes, WebGPU's largest storage offset
    /// alignment.
    pub fn linears(
        &mut self,
        projections: &[(&str, u64)],
        x: TensorId,
        cols: u64,
    ) -> Result<Vec<TensorId>, ArchError> {
        let kind = |b: &Self, prefix: &str| {
            let ty = b.file.tensor(&format!("{prefix}.weight")).map(|t| t.ty);
            (ty, b.has(&format!("{prefix}.bias")))
        };
        let mut out = Vec::with_capacity(projections.len());
        let mut i = 0;
        while i < projections.len() {
            let first = kind(self, projections[i].0);
            let mut j = i + 1;
            let mut offset = projections[i].1;
            while j < projections.len()
                && first.0.is_some()
                && kind(self, projections[j].0) == first
                && offset.is_multiple_of(64)
            {
                offset += projections[j].1;
                j += 1;
            }
            let group = &projections[i..j];
            if let [(prefix, rows)] = group {
                out.push(self.linear(prefix, x, *rows, cols)?);
                i = j;
                continue;
            }
            let names = self.group_names(group, "weight", |rows| vec![cols, rows])?;
            let w = self.g.stacked_weight(&names, 1, offset, cols);
            let r = self.rows_of(x);
            let mut stacked = self.tensor(r, offset);
            self.g.ops.push(Op::MatMul { w, x, out: stacked });
            if first.1 {
                let names = self.group_names(group, "bias", |rows| vec![rows])?;
                let bias = self.g.stacked_weight(&names, 1, 1, offset);
                let biased = self.tensor(r, offset);
                self.g.ops.push(Op::AddBias {
                    x: stacked,
                    bias,
                    out: biased,
                });
                stacked = biased;
            }
            let mut at = 0;
            for (_, rows) in group {
                out.push(self.g.view(stacked, at, *rows));
                at += rows;
            }
            i = j;
        }
        Ok(out)
    }

    /// The tensor names `{prefix}.{suffix}` of a group of projections, each checked to have the
    /// dims `dims(rows)`.
    fn group_names(
        &self,
        group: &[(&str, u64)],
        suffix: &str,
        dims: impl Fn(u64) -> Vec<u64>,
    ) -> Result<Vec<String>, ArchError> {
        group
            .iter()
            .map(|(prefix, rows)| {
                let name = format!("{prefix}.{suffix}");
                self.check(&name, &dims(*rows))?;
                Ok(name)
            })
            .collect()
    }

    /// The routed experts of layer `layer` on the normed input `h`: router logits from
    /// `ffn_gate_inp`, the top experts by softmax (weights renormalised when `norm`), a gated
    /// feed-forward per chosen expert, and their weighted sum.
    pub fn experts(
        &mut self,
        layer: usize,
        h: TensorId,
        n_embd: u64,
        moe: MoeParams,
        norm: bool,
        glu: Glu,
    ) -> Result<TensorId, ArchError> {
        let p = format!("blk.{layer}");
        let (n, k, ff) = (u64::from(moe.n_expert), u64::from(moe.n_used), moe.n_ff_exp);
        let logits = self.linear(&format!("{p}.ffn_gate_inp"), h, n, n_embd)?;
        let route = self.tensor(Rows::Batch, 2 * k);
        self.g.ops.push(Op::Route {
            logits,
            k: moe.n_used,
            norm,
            out: route,
        });
        let (gate, up) = self.expert_gate_up(&p, h, route, moe, n_embd)?;
        let act = self.tensor(Rows::Batch, k * ff);
        self.g.ops.push(Op::Glu {
            kind: glu,
            gate,
            up,
            out: act,
        });
        let down = self.expert_linear(
            &format!("{p}.ffn_down_exps.weight"),
            act,
            route,
            moe,
            n_embd,
            ff,
        )?;
        let out = self.tensor(Rows::Batch, n_embd);
        self.g.ops.push(Op::MoeSum {
            y: down,
            route,
            out,
        });
        Ok(out)
    }

    /// The routed experts' gate and up projections of layer `p` (`blk.N`): one product over
    /// both, stacked per expert, where they have one type and no bias (each a view of its
    /// output, which holds all slots' gate outputs, then all slots' up outputs), else one each.
    fn expert_gate_up(
        &mut self,
        p: &str,
        h: TensorId,
        route: TensorId,
        moe: MoeParams,
        n_embd: u64,
    ) -> Result<(TensorId, TensorId), ArchError> {
        let names = [
            format!("{p}.ffn_gate_exps.weight"),
            format!("{p}.ffn_up_exps.weight"),
        ];
        let (n, k, ff) = (u64::from(moe.n_expert), u64::from(moe.n_used), moe.n_ff_exp);
        let ty = |name: &str| self.file.tensor(name).map(|t| t.ty);
        let biased = |name: &str| self.has(&name.replace(".weight", ".bias"));
        // A view starts at a multiple of 64 floats (see `linears`).
        let stack = ty(&names[0]).is_some()
            && ty(&names[0]) == ty(&names[1])
            && !names.iter().any(|name| biased(name))
            && (k * ff).is_multiple_of(64);
        if !stack {
            let gate = self.expert_linear(&names[0], h, route, moe, ff, n_embd)?;
            let up = self.expert_linear(&names[1], h, route, moe, ff, n_embd)?;
            return Ok((gate, up));
        }
        for name in &names {
            self.check(name, &[n_embd, ff, n])?;
        }
        let w = self.g.stacked_weight(&names, n, 2 * ff, n_embd);
        let out = self.tensor(Rows::Batch, 2 * k * ff);
        self.g.ops.push(Op::ExpertMatMul {
            w,
            bias: None,
            x: h,
            route,
            out,
        });
        Ok((
            self.g.view(out, 0, k * ff),
            self.g.view(out, k * ff, k * ff),
        ))
    }

    /// x W[e]^T for each routed expert e of each row: `rows` x `cols` per expert.
    fn expert_linear(
        &mut self,
        name: &str,
        x: TensorId,
        route: TensorId,
        moe: MoeParams,
        rows: u64,
        cols: u64,
    ) -> Result<TensorId, ArchError> {
        let w = self.expert_matrix(name, u64::from(moe.n_expert), rows, cols)?;
        let out = self.tensor(Rows::Batch, u64::from(moe.n_used) * rows);
        let bias_name = format!("{}.bias", name.trim_end_matches(".weight"));
        let bias = if self.has(&bias_name) {
            self.check(&bias_name, &[rows, u64::from(moe.n_expert)])?;
            Some(self.g.weight(&bias_name, 1, u64::from(moe.n_expert), rows))
        } else {
            None
        };
        self.g.ops.push(Op::ExpertMatMul {
            w,
            bias,
            x,
            route,
            out,
        });
        Ok(out)
    }

    /// The shared expert of layer `layer` (qwen2moe): a SwiGLU feed-forward of hidden size `ff`
    /// scaled by sigmoid(`ffn_gate_inp_shexp` . h).
    pub fn shared_expert(
        &mut self,
        layer: usize,
        h: TensorId,
        n_embd: u64,
        ff: u64,
    ) -> Result<TensorId, ArchError> {
        let p = format!("blk.{layer}");
        let act = self.gated(
            &format!("{p}.ffn_gate_shexp"),
            &format!("{p}.ffn_up_shexp"),
            h,
            ff,
            n_embd,
            Glu::Silu,
        )?;
        let down = self.linear(&format!("{p}.ffn_down_shexp"), act, n_embd, ff)?;
        let w = self.vector(&format!("{p}.ffn_gate_inp_shexp.weight"), n_embd)?;
        let score = self.tensor(Rows::Batch, 1);
        self.g.ops.push(Op::MatMul {
            w,
            x: h,
            out: score,
        });
        let out = self.tensor(Rows::Batch, n_embd);
        self.g.ops.push(Op::SigmoidMul {
            x: down,
            gate: score,
            out,
        });
        Ok(out)
    }

    /// The output head: final norm, then logits from `output.weight` or the tied embedding.
    pub fn head(
        &mut self,
        x: TensorId,
        n_embd: u64,
        n_vocab: u64,
        eps: f32,
    ) -> Result<TensorId, ArchError> {
        let picked = self.tensor(Rows::Outputs, n_embd);
        self.g.ops.push(Op::GatherOutputs { x, out: picked });
        let normed = self.rms_norm("output_norm.weight", picked, n_embd, eps)?;
        let name = if self.has("output.weight") {
            "output"
        } else {
            "token_embd"
        };
        self.linear(name, normed, n_vocab, n_embd)
    }
}
