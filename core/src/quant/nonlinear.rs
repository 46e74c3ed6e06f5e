//! Non-linear 4-bit formats: each 4-bit code indexes a fixed table of 16 values, times a scale.
//! IQ4_NL and IQ4_XS use `kvalues_iq4nl`, whose steps are finer near zero, where most weights
//! are; MXFP4 uses the FP4 (E2M1) values with a power-of-two scale per 32 values.
//!
//! MXFP4's quantizer is ggml's reference one, so its bytes match ggml's. The IQ4 quantizers are
//! simple, not ggml's search-based ones: the value of largest magnitude maps to the table's
//! widest end, -127 (the scale takes the opposite sign), with the scale rounded up so nothing
//! passes it, and every value takes the nearest entry. Values of the other sign reach up to +127
//! steps, past the table's top of 113, so the worst error is 14 steps (half the widest gap is
//! 12), where `step ≤ A / 127` plus the rounding of the scales (`A` the block's largest
//! magnitude, per 32-value sub-block for IQ4_XS). Scales saturate at the largest finite f16, so
//! finite input never yields NaN or infinity.

use bytemuck::{Pod, Zeroable};
use half::f16;

use super::Block;
use super::k_quants::{f16_at_least, steps_to_reach};
use super::legacy::{pack_nibbles, unpack_nibbles};

const QK: usize = 32;
const QK_K: usize = 256;

/// ggml's `kvalues_iq4nl`.
const KVALUES_IQ4NL: [i8; 16] = [
    -127, -104, -83, -65, -49, -35, -22, -10, 1, 13, 25, 38, 53, 69, 89, 113,
];

/// ggml's `kvalues_mxfp4`: the E2M1 values (±0, 0.5, 1, 1.5, 2, 3, 4, 6) doubled, so they are
/// integers; codes 8..16 are the negatives of 0..8.
const KVALUES_MXFP4: [i8; 16] = [0, 1, 2, 3, 4, 6, 8, 12, 0, -1, -2, -3, -4, -6, -8, -12];

/// The code whose table value times `scale` is nearest `x`, the lowest on ties (as ggml's
/// `best_index_mxfp4`, whose exact arithmetic MXFP4's quantizer must repeat).
fn nearest(table: &[i8; 16], scale: f32, x: f32) -> u8 {
    let mut best = (0, (f32::from(table[0]) * scale - x).abs());
    for (code, &k) in table.iter().enumerate().skip(1) {
        let err = (f32::from(k) * scale - x).abs();
        if err < best.1 {
            best = (code, err);
        }
    }
    best.0 as u8
}

/// The value of largest magnitude, with its sign.
fn signed_absmax(values: &[f32]) -> f32 {
    values
        .iter()
        .fold(0.0f32, |m, &v| if v.abs() > m.abs() { v } else { m })
}

/// Nibbles of 32 values in Q4_0's placement, each value's nearest code at `scale`.
fn nearest_nibbles(table: &[i8; 16], scale: f32, values: &[f32]) -> [u8; QK / 2] {
    pack_nibbles(&std::array::from_fn(|i| nearest(table, scale, values[i])))
}

/// IQ4_NL: 4.5 bits per weight. As Q4_0 with the codes mapped through the table:
/// `x = d * kvalues_iq4nl[q]`.
#[repr(C)]
#[derive(Clone, Copy, Pod, Zeroable)]
pub(super) struct BlockIq4Nl {
    d: f16,
    qs: [u8; QK / 2],
}
const _: () = assert!(size_of::<BlockIq4Nl>() == 18);

impl Block for BlockIq4Nl {
    const ELEMS: usize = QK;

    fn decode(&self, out: &mut [f32]) {
        let d = self.d.to_f32();
        for (y, q) in out.iter_mut().zip(unpack_nibbles(&self.qs)) {
            *y = d * f32::from(KVALUES_IQ4NL[usize::from(q)]);
        }
    }

    fn encode(values: &[f32]) -> Self {
        let max = signed_absmax(values);
        let mut d = f16_at_least(max.abs() / 127.0);
        if max > 0.0 {
            d = -d;
        }
        BlockIq4Nl {
            d,
            qs: nearest_nibbles(&KVALUES_IQ4NL, d.to_f32(), values),
        }
    }
}

/// IQ4_XS: 4.25 bits per weight. Eight sub-blocks of 32 with 6-bit scales stored offset by 32,
/// low nibbles in `scales_l[j / 2]` (high nibble for odd `j`) and top two bits at bit `2j` of
/// `scales_h`: `x = d * (ls - 32) * kvalues_iq4nl[q]`. Sub-block `j` takes bytes `16j..16j+16`
/// of `qs`, placed as in Q4_0.
#[repr(C)]
#[derive(Clone, Copy, Pod, Zeroable)]
pub(super) struct BlockIq4Xs {
    d: f16,
    scales_h: u16,
    scales_l: [u8; QK_K / 64],
    qs: [u8; QK_K / 2],
}
const _: () = assert!(size_of::<BlockIq4Xs>() == 136);

impl Block for BlockIq4Xs {
    const ELEMS: usize = QK_K;

    fn decode(&self, out: &mut [f32]) {
        let d = self.d.to_f32();
        for (j, sub) in out.chunks_exact_mut(QK).enumerate() {
            let lo = (self.scales_l[j / 2] >> (4 * (j % 2))) & 0x0F;
            let hi = ((self.scales_h >> (2 * j)) & 0x03) as u8;
            let step = d * (i32::from(lo | (hi << 4)) - 32) as f32;
            let qs: &[u8; QK / 2] = self.qs[16 * j..16 * j + 16].try_into().unwrap();
            for (y, q) in sub.iter_mut().zip(unpack_nibbles(qs)) {
                *y = step * f32::from(KVALUES_IQ4NL[usize::from(q)]);
            }
        }
    }

    /// Scales use magnitudes up to 31 (the field also holds -32) so their sign is free to set.
    fn encode(values: &[f32]) -> Self {
        let max: [f32; 8] = std::array::from_fn(|j| signed_absmax(&values[QK * j..QK * j + QK]));
        let d = f16_at_least(max.iter().fold(0.0f32, |a, m| a.max(m.abs())) / (127.0 * 31.0));
        let d_f = d.to_f32();
        let mut block = BlockIq4Xs {
            d,
            scales_h: 0,
            scales_l: [0; QK_K / 64],
            qs: [0; QK_K / 2],
        };
        for (j, &m) in max.iter().enumerate() {
            let mag = i32::from(steps_to_reach(m.abs(), 127.0 * d_f, 31));
            let ls = if m > 0.0 { -mag } else { mag };
            // ls is in -31..=31, so ls + 32 fits the 6-bit field.
            let stored = (ls + 32) as u8;
            block.scales_l[j / 2] |= (stored & 0x0F) << (4 * (j % 2));
            block.scales_h |= u16::from(stored >> 4) << (2 * j);
            let step = d_f * ls as f32;
            let qs = nearest_nibbles(&KVALUES_IQ4NL, step, &values[QK * j..QK * j + QK]);
            block.qs[16 * j..16 * j + 16].copy_from_slice(&qs);
        }
        block
    }
}

/// MXFP4: 4.25 bits per weight. An E8M0 scale `e` (a bare exponent byte) and nibbles placed as
/// in Q4_0: `x = kvalues_mxfp4[q] * 2^(e - 128)`, the format's `2^(e - 127)` halved because the
/// table is doubled.
#[repr(C)]
#[derive(Clone, Copy, Pod, Zeroable)]
pub(super) struct BlockMxfp4 {
    e: u8,
    qs: [u8; QK / 2],
}
const _: () = assert!(size_of::<BlockMxfp4>() == 17);

/// `2^(e - 128)`, built from its bits as ggml's `ggml_e8m0_to_fp32_half`: e = 0 and 1 give
/// subnormals, which the exponent field alone cannot hold.
fn e8m0_half(e: u8) -> f32 {
    let bits = if e < 2 {
        0x0020_0000 << e
    } else {
        u32::from(e - 1) << 23
    };
    f32::from_bits(bits)
}

impl Block for BlockMxfp4 {
    const ELEMS: usize = QK;

    fn decode(&self, out: &mut [f32]) {
        let d = e8m0_half(self.e);
        for (y, q) in out.iter_mut().zip(unpack_nibbles(&self.qs)) {
            *y = f32::from(KVALUES_MXFP4[usize::from(q)]) * d;
        }
    }

    /// ggml's `quantize_row_mxfp4_ref`: the largest magnitude `A` sets the scale to
    /// `d = 2^(floor(log2 A) - 3)`, so `A` is 8 to 16 table units and the table's top, 12, clips
    /// it by up to 4 units; every value takes the nearest entry. Where ggml's cast to a byte is
    /// undefined (`A < 2^-125`), wick saturates to the smallest scale.
    fn encode(values: &[f32]) -> Self {
        let amax = values.iter().fold(0.0f32, |a, v| a.max(v.abs()));
        let e = if amax > 0.0 {
            // A float-to-int `as` saturates, so the out-of-range case gives 0.
            (amax.log2().floor() - 2.0 + 127.0) as u8
        } else {
            0
        };
        BlockMxfp4 {
            e,
            qs: nearest_nibbles(&KVALUES_MXFP4, e8m0_half(e), values),
        }
    }
}
