//! Unquantized formats: one value per "block".

use half::{bf16, f16};

use super::Block;

/// F32: 32 bits per weight, stored as is.
impl Block for f32 {
    const ELEMS: usize = 1;

    fn decode(&self, out: &mut [f32]) {
        out[0] = *self;
    }

    fn encode(values: &[f32]) -> Self {
        values[0]
    }
}

/// F16: 16 bits per weight, IEEE half; widening to f32 is exact.
impl Block for f16 {
    const ELEMS: usize = 1;

    fn decode(&self, out: &mut [f32]) {
        out[0] = self.to_f32();
    }

    /// Rounds to nearest even; magnitudes beyond 65504 become infinite, as in ggml.
    fn encode(values: &[f32]) -> Self {
        f16::from_f32(values[0])
    }
}

/// BF16: 16 bits per weight, the top half of an f32; widening is exact.
impl Block for bf16 {
    const ELEMS: usize = 1;

    fn decode(&self, out: &mut [f32]) {
        out[0] = self.to_f32();
    }

    /// Rounds to nearest even and keeps NaN a NaN, as ggml's conversion does.
    fn encode(values: &[f32]) -> Self {
        bf16::from_f32(values[0])
    }
}
