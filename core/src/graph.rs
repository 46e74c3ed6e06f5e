//! A model as a graph of operations over activation tensors, built by an architecture and
//! compiled by a backend into a plan. Shapes are symbolic in the batch: every activation has
//! either one row per batch token or one row per wanted output, so one graph serves every shape
//! bucket, and a decode step of several sequences is the same graph as a prefill chunk.

/// An activation tensor: f32, row-major.
pub type TensorId = usize;
/// A weight: a GGUF tensor, referenced by index into [`Graph::weights`].
pub type WeightId = usize;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Rows {
    /// One row per token of the batch.
    Batch,
    /// One row per sequence whose next-token logits are wanted.
    Outputs,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TensorDesc {
    pub rows: Rows,
    pub cols: u64,
    /// A view: these columns of another tensor's rows (which keep that tensor's row stride),
    /// from column `offset`; the projections of one stacked matmul are views of its output.
    pub view: Option<View>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct View {
    pub of: TensorId,
    pub offset: u64,
}

#[derive(Clone, Debug, PartialEq)]
pub struct WeightDesc {
    /// The GGUF tensors whose rows make up the weight, in order: one, or several of one type and
    /// width stacked (a feed-forward's gate and up projections, computed by one matmul).
    pub names: Vec<String>,
    /// Rows (output features, of all the stacked tensors) and columns (input features), of each
    /// expert's matrix when `experts` > 1 (the matrices are stored one after another).
    pub rows: u64,
    pub cols: u64,
    /// Experts stacked in the tensor; 1 for a plain weight.
    pub experts: u64,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Glu {
    /// gelu(gate) * up (tanh approximation).
    Gelu,
    /// silu(gate) * up.
    Silu,
    /// gpt-oss's clamped SwiGLU: g = min(gate, 7), u = clamp(up, -7, 7),
    /// g * sigmoid(1.702 g) * (u + 1).
    SiluOai,
}

#[derive(Clone, Copy, Debug, PartialEq)]
pub struct RopeParams {
    pub n_heads: u32,
    pub head_dim: u32,
    pub n_rot: u32,
    pub neox: bool,
    pub freq_base: f32,
    pub freq_scale: f32,
    /// YaRN context extension, when the model was trained with it.
    pub yarn: Option<Yarn>,
}

/// YaRN (arXiv:2309.00071) as ggml applies it: each rotated pair's angle blends the scaled
/// (interpolated) and unscaled (extrapolated) frequency by a ramp over the pairs between the
/// correction dims, and cos and sin are scaled by `attn_factor * (1 + 0.1 ln(1 / freq_scale))`.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Yarn {
    /// The context the model was trained at before extension.
    pub orig_ctx: u32,
    pub beta_fast: f32,
    pub beta_slow: f32,
    pub ext_factor: f32,
    pub attn_factor: f32,
}

impl RopeParams {
    /// The angle per position of each of the `n_rot / 2` rotated pairs, and the factor on cos
    /// and sin.
    pub fn frequencies(&self) -> (Vec<f32>, f32) {
        let n = self.n_rot;
        let base = f64::from(self.freq_base);
        let scale = f64::from(self.freq_scale);
        let extrap = |i: u32| base.powf(-2.0 * f64::from(i) / f64::from(n));
        let Some(y) = self.yarn else {
            let f = (0..n / 2).map(|i| (scale * extrap(i)) as f32).collect();
            return (f, 1.0);
        };
        // ggml's correction dims: the pairs whose wavelength spans beta_fast and beta_slow
        // rotations over the original context.
        let corr = |beta: f32| {
            let turns = y.orig_ctx as f32 / (beta * 2.0 * std::f32::consts::PI);
            n as f32 * turns.ln() / (2.0 * self.freq_base.ln())
        };
        let low = corr(y.beta_fast).floor().max(0.0);
        let high = corr(y.beta_slow).ceil().min(n as f32 - 1.0);
        let f = (0..n / 2)
            .map(|i| {
                let ramp = 1.0 - ((i as f32 - low) / (high - low).max(0.001)).clamp(0.0, 1.0);
                let mix = f64::from(ramp * y.ext_factor);
                (extrap(i) * (scale * (1.0 - mix) + mix)) as f32
            })
            .collect();
        let mscale = if y.ext_factor != 0.0 {
            y.attn_factor * (1.0 + 0.1 * (1.0 / self.freq_scale).ln())
        } else {
            y.attn_factor
        };
        (f, mscale)
    }
}

#[derive(Clone, Copy, Debug, PartialEq)]
pub struct AttentionParams {
    pub layer: usize,
    pub n_heads: u32,
    pub n_kv_heads: u32,
    pub head_dim: u32,
    /// Multiplies q before the dot products.
    pub scale: f32,
    /// Sliding window in positions; 0 means the whole context.
    pub window: u32,
    /// Per-head logits of an extra "sink" position that takes part in the softmax but
    /// contributes no value (gpt-oss).
    pub sinks: Option<WeightId>,
}

#[derive(Clone, Debug, PartialEq)]
pub enum Op {
    /// out = scale * table[token] for each batch row.
    Embed {
        table: WeightId,
        scale: f32,
        out: TensorId,
    },
    /// RMS normalisation over groups of `group` columns, times a weight of that length.
    RmsNorm {
        x: TensorId,
        weight: WeightId,
        group: u64,
        eps: f32,
        out: TensorId,
    },
    /// sum = a + b (the residual stream), and out = sum normalised over rows as `RmsNorm`
    /// (one group per row) times `weight`: an add and the norm after it in one pass.
    AddRmsNorm {
        a: TensorId,
        b: TensorId,
        weight: WeightId,
        eps: f32,
        sum: TensorId,
        out: TensorId,
    },
    /// out = x W^T, W quantized as stored.
    MatMul {
        w: WeightId,
        x: TensorId,
        out: TensorId,
    },
    /// out = x + bias, the bias repeated on every row.
    AddBias {
        x: TensorId,
        bias: WeightId,
        out: TensorId,
    },
    /// Rotary embedding of q (heads of `params`) in place and of k (`kv[layer]`'s heads) into
    /// this layer's KV cache, with v stored beside it, at each row's (sequence, position).
    RopeStore {
        layer: usize,
        q: TensorId,
        k: TensorId,
        v: TensorId,
        params: RopeParams,
    },
    /// `RopeStore` with each head of q and k RMS-normed first, times the head_dim weight
    /// `q_norm` or `k_norm` (QK-norm).
    NormRopeStore {
        layer: usize,
        q: TensorId,
        k: TensorId,
        v: TensorId,
        q_norm: WeightId,
        k_norm: WeightId,
        eps: f32,
        params: RopeParams,
    },
    /// Causal attention of q over this layer's KV cache.
    Attention {
        q: TensorId,
        params: AttentionParams,
        out: TensorId,
    },
    Glu {
        kind: Glu,
        gate: TensorId,
        up: TensorId,
        out: TensorId,
    },
    Add {
        a: TensorId,
        b: TensorId,
        out: TensorId,
    },
    /// Picks the batch rows whose logits are wanted.
    GatherOutputs { x: TensorId, out: TensorId },
    /// Mixture-of-experts routing of each row from its router logits (one per expert): softmax,
    /// the `k` most probable experts, their probabilities as weights (renormalised to sum 1 when
    /// `norm`, which equals a softmax over the chosen experts' logits). `out` holds `k` expert
    /// ids (u32 bits) then the `k` weights.
    Route {
        logits: TensorId,
        k: u32,
        norm: bool,
        out: TensorId,
    },
    /// out[r, j] = x[r] W[e]^T (+ bias[e]) for each of row r's `k` routed experts
    /// e = route[r, j]; `x` has one input per row (shared by the k slots) or one per slot (`k`
    /// times the columns). The bias, when present, is an experts x rows matrix. Where the weight
    /// stacks several tensors per expert (gate and up), each tensor's outputs for the k slots
    /// come together: out[r] = (x W_gate[e_0]^T, .., x W_gate[e_k-1]^T, x W_up[e_0]^T, ..).
    ExpertMatMul {
        w: WeightId,
        bias: Option<WeightId>,
        x: TensorId,
        route: TensorId,
        out: TensorId,
    },
    /// out[r] = sum over j of route weight[r, j] * y[r, j]: the experts' outputs combined.
    MoeSum {
        y: TensorId,
        route: TensorId,
        out: TensorId,
    },
    /// out[r] = x[r] * sigmoid(gate[r]), `gate` having one column.
    SigmoidMul {
        x: TensorId,
        gate: TensorId,
        out: TensorId,
    },
}

/// Shape of one layer's KV cache per sequence.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct KvShape {
    pub n_kv_heads: u32,
    pub head_dim: u32,
}

#[derive(Clone, Debug, Default, PartialEq)]
pub struct Graph {
    pub tensors: Vec<TensorDesc>,
    pub weights: Vec<WeightDesc>,
    pub ops: Vec<Op>,
    /// One entry per layer.
    pub kv: Vec<KvShape>,
    /// The logits tensor (Outputs rows, vocabulary columns).
    pub logits: TensorId,
}

impl Graph {
    pub fn tensor(&mut self, rows: Rows, cols: u64) -> TensorId {
        self.tensors.push(TensorDesc {
            rows,
            cols,
            view: None,
        });
        self.tensors.len() - 1
    }

    /// A view of `cols` columns of tensor `of` from column `offset` (of a tensor, not a view).
    pub fn view(&mut self, of: TensorId, offset: u64, cols: u64) -> TensorId {
        let base = self.tensors[of];
        assert!(base.view.is_none() && offset + cols <= base.cols);
        self.tensors.push(TensorDesc {
            rows: base.rows,
            cols,
            view: Some(View { of, offset }),
        });
        self.tensors.len() - 1
    }

    /// The tensor whose memory `t` lies in (itself unless a view), and the column it starts at.
    pub fn storage(&self, t: TensorId) -> (TensorId, u64) {
        self.tensors[t].view.map_or((t, 0), |v| (v.of, v.offset))
    }

    /// Floats from one row of `t` to the next.
    pub fn row_stride(&self, t: TensorId) -> u64 {
        self.tensors[self.storage(t).0].cols
    }

    /// The id of a weight of `experts` stacked `rows` x `cols` matrices, adding it on first use
    /// so a tied table is uploaded once.
    pub fn weight(&mut self, name: &str, experts: u64, rows: u64, cols: u64) -> WeightId {
        self.stacked_weight(&[name], experts, rows, cols)
    }

    /// The id of a weight whose rows are those of the named tensors in order, `rows` in all.
    pub fn stacked_weight(
        &mut self,
        names: &[impl AsRef<str>],
        experts: u64,
        rows: u64,
        cols: u64,
    ) -> WeightId {
        let names: Vec<String> = names.iter().map(|n| n.as_ref().to_string()).collect();
        if let Some(i) = self.weights.iter().position(|w| w.names == names) {
            return i;
        }
        self.weights.push(WeightDesc {
            names,
            rows,
            cols,
            experts,
        });
        self.weights.len() - 1
    }

    /// Ops in order with the tensors each reads and writes, for lifetime analysis.
    pub fn uses(op: &Op) -> (Vec<TensorId>, Vec<TensorId>) {
        match *op {
            Op::Embed { out, .. } => (vec![], vec![out]),
            Op::RmsNorm { x, out, .. }
            | Op::MatMul { x, out, .. }
            | Op::AddBias { x, out, .. }
            | Op::GatherOutputs { x, out } => (vec![x], vec![out]),
            Op::RopeStore { q, k, v, .. } | Op::NormRopeStore { q, k, v, .. } => {
                (vec![q, k, v], vec![q])
            }
            Op::Attention { q, out, .. } => (vec![q], vec![out]),
            Op::Glu { gate, up, out, .. } => (vec![gate, up], vec![out]),
            Op::Add { a, b, out } => (vec![a, b], vec![out]),
            Op::AddRmsNorm { a, b, sum, out, .. } => (vec![a, b], vec![sum, out]),
            Op::Route { logits, out, .. } => (vec![logits], vec![out]),
            Op::ExpertMatMul { x, route, out, .. } => (vec![x, route], vec![out]),
            Op::MoeSum { y, route, out } => (vec![y, route], vec![out]),
            Op::SigmoidMul { x, gate, out } => (vec![x, gate], vec![out]),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rope(freq_base: f32, freq_scale: f32, yarn: Option<Yarn>) -> RopeParams {
        RopeParams {
            n_heads: 1,
            head_dim: 64,
            n_rot: 64,
            neox: true,
            freq_base,
            freq_scale,
            yarn,
        }
    }

    #[test]
    fn plain_frequencies_are_scaled_powers_of_the_base() {
        let (f, mscale) = rope(10000.0, 0.25, None).frequencies();
        assert_eq!((f.len(), mscale), (32, 1.0));
        for (i, &v) in f.iter().enumerate() {
            let want = 0.25 * 10000f64.powf(-(i as f64) / 32.0);
            assert!(
                (f64::from(v) - want).abs() <= want * 1e-7,
                "pair {i}: {v} vs {want}"
            );
        }
    }

    /// gpt-oss's YaRN (base 150000, factor 32, original context 4096, betas 32 and 1): the
    /// correction dims are pairs 8 and 18 (ggml: floor(8.09), ceil(17.4)), so pairs up to 8
    /// keep the unscaled frequency, pairs from 18 on are fully interpolated, and pairs between
    /// blend linearly; cos and sin scale by 1 + 0.1 ln 32.
    #[test]
    fn yarn_blends_extrapolated_and_interpolated_frequencies() {
        let yarn = Yarn {
            orig_ctx: 4096,
            beta_fast: 32.0,
            beta_slow: 1.0,
            ext_factor: 1.0,
            attn_factor: 1.0,
        };
        let (f, mscale) = rope(150000.0, 1.0 / 32.0, Some(yarn)).frequencies();
        assert!((mscale - (1.0 + 0.1 * 32f32.ln())).abs() < 1e-6, "{mscale}");
        let extrap = |i: usize| 150000f64.powf(-(i as f64) / 32.0);
        for (i, &v) in f.iter().enumerate() {
            let ramp = 1.0 - ((i as f64 - 8.0) / 10.0).clamp(0.0, 1.0);
            let want = extrap(i) * (ramp + (1.0 - ramp) / 32.0);
            assert!(
                (f64::from(v) - want).abs() <= want * 1e-6,
                "pair {i}: {v} vs {want}"
            );
        }
        assert_eq!(f[8], extrap(8) as f32);
        assert_eq!(f[18], (extrap(18) / 32.0) as f32);
    }
}
