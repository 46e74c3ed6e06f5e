//! K-quants: 256-weight super-blocks whose sub-block scales are themselves quantized against
//! f16 super-scales.
//!
//! The quantizers here are simple, not ggml's search-based ones. A sub-block's codes span
//! `[min(0, lo), hi]` (Q4_K, Q5_K) or `[-absmax, absmax]` (Q6_K), and every scale is rounded
//! *up* (offsets to whole multiples of `dmin`, sub-block scales to whole multiples of `d`, `d`
//! and `dmin` to the next f16), so no value clips and each lands within half a step of its
//! sub-block. With `qmax` the largest code:
//! - Q4_K, Q5_K: `step ≤ (hi - min(0, lo) + dmin) / qmax + d`, where `dmin ≈ max(-lo) / 63`
//!   and `d ≈ max(hi + offset) / (63 qmax)` over the sub-blocks;
//! - Q6_K: `step ≤ absmax / 31 + d`, where `d ≈ max absmax / (31 · 127)`.
//!
//! The round-trip tests check these bounds. Super-scales saturate at the largest finite f16, so
//! finite input never yields NaN or infinity; values beyond a saturated scale's reach clip.

use bytemuck::{Pod, Zeroable};
use half::f16;

use super::Block;

const QK_K: usize = 256;

/// The smallest f16 that is at least `x` (for `x ≥ 0`), saturating at the largest finite f16.
fn f16_at_least(x: f32) -> f16 {
    if x.is_nan() || x >= f16::MAX.to_f32() {
        return f16::MAX;
    }
    let h = f16::from_f32(x);
    if h.to_f32() < x {
        f16::from_bits(h.to_bits() + 1)
    } else {
        h
    }
}

/// The fewest `step`s that reach `x`, at most `max`; 0 when `step` is 0.
fn steps_to_reach(x: f32, step: f32, max: u8) -> u8 {
    if step > 0.0 {
        (x / step).ceil().min(f32::from(max)) as u8
    } else {
        0
    }
}

/// The 6-bit scale and min of sub-block `j` from the 12 packed bytes: sub-blocks 0..4 keep
/// theirs in the low six bits of bytes 0..4 and 4..8; sub-blocks 4..8 split theirs between a
/// nibble of bytes 8..12 and the top two bits of bytes 0..8.
fn unpack_scale_min(scales: &[u8; 12], j: usize) -> (u8, u8) {
    if j < 4 {
        (scales[j] & 0x3F, scales[j + 4] & 0x3F)
    } else {
        (
            (scales[j + 4] & 0x0F) | ((scales[j - 4] >> 6) << 4),
            (scales[j + 4] >> 4) | ((scales[j] >> 6) << 4),
        )
    }
}

/// Inverse of [`unpack_scale_min`] for 6-bit `sc` and `m`.
fn pack_scale_min(sc: &[u8; 8], m: &[u8; 8]) -> [u8; 12] {
    let mut out = [0u8; 12];
    for j in 0..4 {
        out[j] = sc[j] | ((sc[j + 4] >> 4) << 6);
        out[j + 4] = m[j] | ((m[j + 4] >> 4) << 6);
        out[j + 8] = (sc[j + 4] & 0x0F) | ((m[j + 4] & 0x0F) << 4);
    }
    out
}

/// Scales and codes of a Q4_K/Q5_K super-block: `x ≈ d * sc[j] * q - dmin * m[j]` for element
/// `i` of sub-block `j = i / 32`, with `q = codes[i]` in `0..=qmax`.
struct AffineCodes {
    d: f16,
    dmin: f16,
    sc: [u8; 8],
    m: [u8; 8],
    codes: [u8; QK_K],
}

fn quantize_affine(values: &[f32], qmax: u8) -> AffineCodes {
    let qmax_f = f32::from(qmax);
    let mut lo = [0.0f32; 8];
    let mut hi = [0.0f32; 8];
    for (j, sub) in values.chunks_exact(32).enumerate() {
        // The offset `dmin * m` is never negative, so the lowest code is at zero or below.
        lo[j] = sub.iter().fold(0.0, |a, &v| a.min(v));
        hi[j] = sub.iter().fold(lo[j], |a, &v| a.max(v));
    }
    let dmin = f16_at_least(lo.iter().fold(0.0f32, |a, &l| a.max(-l)) / 63.0);
    let dmin_f = dmin.to_f32();
    let m = lo.map(|l| steps_to_reach(-l, dmin_f, 63));
    // Rounding the offset up raises the bottom of the range, so the top needs that much more.
    let need: [f32; 8] = std::array::from_fn(|j| hi[j] + dmin_f * f32::from(m[j]));
    let d = f16_at_least(need.iter().fold(0.0f32, |a, &n| a.max(n)) / (63.0 * qmax_f));
    let d_f = d.to_f32();
    let sc = need.map(|n| steps_to_reach(n, d_f * qmax_f, 63));
    let codes = std::array::from_fn(|i| {
        let j = i / 32;
        let step = d_f * f32::from(sc[j]);
        let offset = dmin_f * f32::from(m[j]);
        if step > 0.0 {
            ((values[i] + offset) / step).round().clamp(0.0, qmax_f) as u8
        } else {
            0
        }
    });
    AffineCodes {
        d,
        dmin,
        sc,
        m,
        codes,
    }
}

/// Q4_K: 4.5 bits per weight. Eight sub-blocks of 32 with 6-bit scale `sc` and min `m`:
/// `x = d * sc * q - dmin * m`, q in 0..16. Bytes `32k..32k+32` of `qs` hold sub-block `2k` in
/// their low nibbles and `2k + 1` in their high nibbles.
#[repr(C)]
#[derive(Clone, Copy, Pod, Zeroable)]
pub(super) struct BlockQ4K {
    d: f16,
    dmin: f16,
    scales: [u8; 12],
    qs: [u8; QK_K / 2],
}
const _: () = assert!(size_of::<BlockQ4K>() == 144);

impl Block for BlockQ4K {
    const ELEMS: usize = QK_K;

    fn decode(&self, out: &mut [f32]) {
        let (d, dmin) = (self.d.to_f32(), self.dmin.to_f32());
        for (j, sub) in out.chunks_exact_mut(32).enumerate() {
            let (sc, m) = unpack_scale_min(&self.scales, j);
            let (step, offset) = (d * f32::from(sc), dmin * f32::from(m));
            let shift = 4 * (j % 2);
            for (y, &b) in sub.iter_mut().zip(&self.qs[32 * (j / 2)..]) {
                *y = step * f32::from((b >> shift) & 0x0F) - offset;
            }
        }
    }

    fn encode(values: &[f32]) -> Self {
        let c = quantize_affine(values, 15);
        let mut qs = [0u8; QK_K / 2];
        for (i, &q) in c.codes.iter().enumerate() {
            let j = i / 32;
            qs[32 * (j / 2) + i % 32] |= q << (4 * (j % 2));
        }
        BlockQ4K {
            d: c.d,
            dmin: c.dmin,
            scales: pack_scale_min(&c.sc, &c.m),
            qs,
        }
    }
}

/// Q5_K: 5.5 bits per weight. As Q4_K with q in 0..32, bit 4 of q for sub-block `j` being bit
/// `j` of `qh[i % 32]`.
#[repr(C)]
#[derive(Clone, Copy, Pod, Zeroable)]
pub(super) struct BlockQ5K {
    d: f16,
    dmin: f16,
    scales: [u8; 12],
    qh: [u8; QK_K / 8],
    qs: [u8; QK_K / 2],
}
const _: () = assert!(size_of::<BlockQ5K>() == 176);

impl Block for BlockQ5K {
    const ELEMS: usize = QK_K;

    fn decode(&self, out: &mut [f32]) {
        let (d, dmin) = (self.d.to_f32(), self.dmin.to_f32());
        for (j, sub) in out.chunks_exact_mut(32).enumerate() {
            let (sc, m) = unpack_scale_min(&self.scales, j);
            let (step, offset) = (d * f32::from(sc), dmin * f32::from(m));
            let shift = 4 * (j % 2);
            let low = &self.qs[32 * (j / 2)..];
            for ((y, &b), &h) in sub.iter_mut().zip(low).zip(&self.qh) {
                let q = ((b >> shift) & 0x0F) | (((h >> j) & 1) << 4);
                *y = step * f32::from(q) - offset;
            }
        }
    }

    fn encode(values: &[f32]) -> Self {
        let c = quantize_affine(values, 31);
        let mut qs = [0u8; QK_K / 2];
        let mut qh = [0u8; QK_K / 8];
        for (i, &q) in c.codes.iter().enumerate() {
            let j = i / 32;
            qs[32 * (j / 2) + i % 32] |= (q & 0x0F) << (4 * (j % 2));
            qh[i % 32] |= (q >> 4) << j;
        }
        BlockQ5K {
            d: c.d,
            dmin: c.dmin,
            scales: pack_scale_min(&c.sc, &c.m),
            qh,
            qs,
        }
    }
}

/// Q6_K: 6.5625 bits per weight. Sixteen sub-blocks of 16 with signed 8-bit scales:
/// `x = d * scales[i / 16] * (q - 32)`, q in 0..64. Each 128-weight half `h` takes its low
/// nibbles from `ql[64h..64h+64]` (quarter `k` of the half from bytes `32 (k % 2)` on, high
/// nibble when `k ≥ 2`) and its top two bits from bits `2k..2k+2` of `qh[32h..32h+32]`.
#[repr(C)]
#[derive(Clone, Copy, Pod, Zeroable)]
pub(super) struct BlockQ6K {
    ql: [u8; QK_K / 2],
    qh: [u8; QK_K / 4],
    scales: [i8; QK_K / 16],
    d: f16,
}
const _: () = assert!(size_of::<BlockQ6K>() == 210);

/// Where element `i` of a Q6_K block keeps its bits: (`ql` index, nibble shift, `qh` index,
/// 2-bit shift).
fn q6k_position(i: usize) -> (usize, u32, usize, u32) {
    let (h, k, l) = (i / 128, (i % 128) / 32, i % 32);
    (
        64 * h + 32 * (k % 2) + l,
        4 * (k / 2) as u32,
        32 * h + l,
        2 * k as u32,
    )
}

impl Block for BlockQ6K {
    const ELEMS: usize = QK_K;

    fn decode(&self, out: &mut [f32]) {
        let d = self.d.to_f32();
        for (i, y) in out.iter_mut().enumerate() {
            let (l, ls, h, hs) = q6k_position(i);
            let q = ((self.ql[l] >> ls) & 0x0F) | (((self.qh[h] >> hs) & 0x03) << 4);
            *y = d * f32::from(self.scales[i / 16]) * (i32::from(q) - 32) as f32;
        }
    }

    /// Symmetric: codes use -31..=31 around the offset of 32 so each sub-block's scale can be
    /// positive and rounded up.
    fn encode(values: &[f32]) -> Self {
        let amax: [f32; 16] = std::array::from_fn(|s| {
            values[16 * s..16 * s + 16]
                .iter()
                .fold(0.0f32, |a, v| a.max(v.abs()))
        });
        let d = f16_at_least(amax.iter().fold(0.0f32, |a, &m| a.max(m)) / (31.0 * 127.0));
        let d_f = d.to_f32();
        let sc = amax.map(|m| steps_to_reach(m, 31.0 * d_f, 127));
        // Scales are at most 127, so they fit the signed byte unchanged.
        let scales = sc.map(|s| s as i8);
        let mut block = BlockQ6K {
            ql: [0; QK_K / 2],
            qh: [0; QK_K / 4],
            scales,
            d,
        };
        for (i, &v) in values.iter().enumerate() {
            let step = d_f * f32::from(sc[i / 16]);
            let q = if step > 0.0 {
                (v / step).round().clamp(-32.0, 31.0) as i32
            } else {
                0
            };
            // q + 32 is in 0..64, so it fits a byte.
            let code = (q + 32) as u8;
            let (l, ls, h, hs) = q6k_position(i);
            block.ql[l] |= (code & 0x0F) << ls;
            block.qh[h] |= (code >> 4) << hs;
        }
        block
    }
}
