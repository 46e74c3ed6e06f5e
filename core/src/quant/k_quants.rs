//! K-quants: 256-weight super-blocks whose sub-block scales are themselves quantized against
//! f16 super-scales.
//!
//! The quantizers here are simple, not ggml's search-based ones. A sub-block's codes span
//! `[min(0, lo), hi]` (Q2_K, Q4_K, Q5_K) or `[-absmax, absmax]` (Q3_K, Q6_K), and every scale is
//! rounded *up* (offsets to whole multiples of `dmin`, sub-block scales to whole multiples of `d`,
//! `d` and `dmin` to the next f16), so no value clips and each lands within half a step of its
//! sub-block. With `qmax` the largest code and `smax` the largest sub-block scale (63 for the
//! 6-bit fields of Q4_K and Q5_K, 15 for Q2_K's 4-bit ones):
//! - Q2_K, Q4_K, Q5_K: `step ≤ (hi - min(0, lo) + dmin) / qmax + d`, where
//!   `dmin ≈ max(-lo) / smax` and `d ≈ max(hi + offset) / (smax qmax)` over the sub-blocks;
//! - Q3_K, Q6_K: `step ≤ absmax / qmax + d`, where `d ≈ max absmax / (qmax smax)`, with codes
//!   `-3..=3` and `smax = 31` (Q3_K) or `-31..=31` and `smax = 127` (Q6_K).
//!
//! The round-trip tests check these bounds. Super-scales saturate at the largest finite f16, so
//! finite input never yields NaN or infinity; values beyond a saturated scale's reach clip.

use bytemuck::{Pod, Zeroable};
use half::f16;

use super::Block;

const QK_K: usize = 256;

/// The smallest f16 that is at least `x` (for `x ≥ 0`), saturating at the largest finite f16.
pub(super) fn f16_at_least(x: f32) -> f16 {
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
pub(super) fn steps_to_reach(x: f32, step: f32, max: u8) -> u8 {
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

/// Scales and codes of an affine super-block of `N` sub-blocks (Q2_K, Q4_K, Q5_K):
/// `x ≈ d * sc[j] * q - dmin * m[j]` for element `i` of sub-block `j = i / (QK_K / N)`, with
/// `q = codes[i]` in `0..=qmax`.
struct AffineCodes<const N: usize> {
    d: f16,
    dmin: f16,
    sc: [u8; N],
    m: [u8; N],
    codes: [u8; QK_K],
}

/// `smax` is the largest sub-block scale and min the format's fields hold.
fn quantize_affine<const N: usize>(values: &[f32], qmax: u8, smax: u8) -> AffineCodes<N> {
    let sub = QK_K / N;
    let (qmax_f, smax_f) = (f32::from(qmax), f32::from(smax));
    let mut lo = [0.0f32; N];
    let mut hi = [0.0f32; N];
    for (j, s) in values.chunks_exact(sub).enumerate() {
        // The offset `dmin * m` is never negative, so the lowest code is at zero or below.
        lo[j] = s.iter().fold(0.0, |a, &v| a.min(v));
        hi[j] = s.iter().fold(lo[j], |a, &v| a.max(v));
    }
    let dmin = f16_at_least(lo.iter().fold(0.0f32, |a, &l| a.max(-l)) / smax_f);
    let dmin_f = dmin.to_f32();
    let m = lo.map(|l| steps_to_reach(-l, dmin_f, smax));
    // Rounding the offset up raises the bottom of the range, so the top needs that much more.
    let need: [f32; N] = std::array::from_fn(|j| hi[j] + dmin_f * f32::from(m[j]));
    let d = f16_at_least(need.iter().fold(0.0f32, |a, &n| a.max(n)) / (smax_f * qmax_f));
    let d_f = d.to_f32();
    let sc = need.map(|n| steps_to_reach(n, d_f * qmax_f, smax));
    let codes = std::array::from_fn(|i| {
        let j = i / sub;
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

/// Scales and codes of a symmetric super-block of `N` sub-blocks (Q3_K, Q6_K):
/// `x ≈ d * sc[j] * q` for element `i` of sub-block `j = i / (QK_K / N)`, with `q = codes[i]`.
struct SymmetricCodes<const N: usize> {
    d: f16,
    sc: [u8; N],
    codes: [i8; QK_K],
}

/// Codes use `-qmax..=qmax` (the format's extra negative code stays unused) so each sub-block's
/// scale can be positive and rounded up; `smax` is the largest positive sub-block scale.
fn quantize_symmetric<const N: usize>(values: &[f32], qmax: u8, smax: u8) -> SymmetricCodes<N> {
    let sub = QK_K / N;
    let (qmax_f, smax_f) = (f32::from(qmax), f32::from(smax));
    let amax: [f32; N] = std::array::from_fn(|s| {
        values[sub * s..sub * s + sub]
            .iter()
            .fold(0.0f32, |a, v| a.max(v.abs()))
    });
    let d = f16_at_least(amax.iter().fold(0.0f32, |a, &m| a.max(m)) / (qmax_f * smax_f));
    let d_f = d.to_f32();
    let sc = amax.map(|m| steps_to_reach(m, qmax_f * d_f, smax));
    let codes = std::array::from_fn(|i| {
        let step = d_f * f32::from(sc[i / sub]);
        if step > 0.0 {
            (values[i] / step).round().clamp(-qmax_f - 1.0, qmax_f) as i8
        } else {
            0
        }
    });
    SymmetricCodes { d, sc, codes }
}

/// Where element `i` of a Q2_K or Q3_K block keeps its two low bits: (`qs` index, shift). Each
/// 128-element half `h` uses 32 bytes; its quarter `k` takes bits `2k..2k+2` of them.
fn two_bit_position(i: usize) -> (usize, u32) {
    let (h, k, l) = (i / 128, (i % 128) / 32, i % 32);
    (32 * h + l, 2 * k as u32)
}

/// Q2_K: 2.625 bits per weight. Sixteen sub-blocks of 16, each with a 4-bit scale `sc` (low
/// nibble of `scales[s]`) and min `m` (high nibble): `x = d * sc * q - dmin * m`, q in 0..4,
/// placed as [`two_bit_position`] says.
#[repr(C)]
#[derive(Clone, Copy, Pod, Zeroable)]
pub(super) struct BlockQ2K {
    scales: [u8; QK_K / 16],
    qs: [u8; QK_K / 4],
    d: f16,
    dmin: f16,
}
const _: () = assert!(size_of::<BlockQ2K>() == 84);

impl Block for BlockQ2K {
    const ELEMS: usize = QK_K;

    fn decode(&self, out: &mut [f32]) {
        let (d, dmin) = (self.d.to_f32(), self.dmin.to_f32());
        for (s, sub) in out.chunks_exact_mut(16).enumerate() {
            let sc = self.scales[s];
            let (step, offset) = (d * f32::from(sc & 0x0F), dmin * f32::from(sc >> 4));
            for (l, y) in sub.iter_mut().enumerate() {
                let (at, shift) = two_bit_position(16 * s + l);
                *y = step * f32::from((self.qs[at] >> shift) & 0x03) - offset;
            }
        }
    }

    fn encode(values: &[f32]) -> Self {
        let c = quantize_affine::<16>(values, 3, 15);
        let mut qs = [0u8; QK_K / 4];
        for (i, &q) in c.codes.iter().enumerate() {
            let (at, shift) = two_bit_position(i);
            qs[at] |= q << shift;
        }
        BlockQ2K {
            scales: std::array::from_fn(|s| c.sc[s] | (c.m[s] << 4)),
            qs,
            d: c.d,
            dmin: c.dmin,
        }
    }
}

/// Q3_K: 3.4375 bits per weight. Sixteen sub-blocks of 16 with 6-bit scales stored offset by 32:
/// `x = d * (sc - 32) * (q - 4)`, q in 0..8. The two low bits of q sit as in Q2_K; bit 2 is bit
/// `i / 32` of `hmask[i % 32]`. Scale `s` keeps its low nibble in `scales[s % 8]` (the high
/// nibble when `s ≥ 8`) and its top two bits at bit `2 (s / 4)` of `scales[8 + s % 4]`.
#[repr(C)]
#[derive(Clone, Copy, Pod, Zeroable)]
pub(super) struct BlockQ3K {
    hmask: [u8; QK_K / 8],
    qs: [u8; QK_K / 4],
    scales: [u8; 12],
    d: f16,
}
const _: () = assert!(size_of::<BlockQ3K>() == 110);

/// The signed scale of Q3_K sub-block `s`.
fn q3k_scale(scales: &[u8; 12], s: usize) -> i32 {
    let lo = (scales[s % 8] >> (4 * (s / 8))) & 0x0F;
    let hi = (scales[8 + s % 4] >> (2 * (s / 4))) & 0x03;
    i32::from(lo | (hi << 4)) - 32
}

impl Block for BlockQ3K {
    const ELEMS: usize = QK_K;

    fn decode(&self, out: &mut [f32]) {
        let d = self.d.to_f32();
        for (s, sub) in out.chunks_exact_mut(16).enumerate() {
            let step = d * q3k_scale(&self.scales, s) as f32;
            for (l, y) in sub.iter_mut().enumerate() {
                let i = 16 * s + l;
                let (at, shift) = two_bit_position(i);
                let high = (self.hmask[i % 32] >> (i / 32)) & 1;
                let q = ((self.qs[at] >> shift) & 0x03) | (high << 2);
                *y = step * (i32::from(q) - 4) as f32;
            }
        }
    }

    fn encode(values: &[f32]) -> Self {
        let c = quantize_symmetric::<16>(values, 3, 31);
        let mut block = BlockQ3K {
            hmask: [0; QK_K / 8],
            qs: [0; QK_K / 4],
            scales: [0; 12],
            d: c.d,
        };
        for (s, &sc) in c.sc.iter().enumerate() {
            // sc ≤ 31, so sc + 32 fits the 6-bit field.
            let stored = sc + 32;
            block.scales[s % 8] |= (stored & 0x0F) << (4 * (s / 8));
            block.scales[8 + s % 4] |= (stored >> 4) << (2 * (s / 4));
        }
        for (i, &q) in c.codes.iter().enumerate() {
            // q is in -4..=3, so q + 4 is a 3-bit code.
            let code = (q + 4) as u8;
            let (at, shift) = two_bit_position(i);
            block.qs[at] |= (code & 0x03) << shift;
            block.hmask[i % 32] |= (code >> 2) << (i / 32);
        }
        block
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
        let c = quantize_affine::<8>(values, 15, 63);
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
        let c = quantize_affine::<8>(values, 31, 63);
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

    fn encode(values: &[f32]) -> Self {
        let c = quantize_symmetric::<16>(values, 31, 127);
        // Scales are at most 127, so they fit the signed byte unchanged.
        let mut block = BlockQ6K {
            ql: [0; QK_K / 2],
            qh: [0; QK_K / 4],
            scales: c.sc.map(|s| s as i8),
            d: c.d,
        };
        for (i, &q) in c.codes.iter().enumerate() {
            // q is in -32..=31, so q + 32 is a 6-bit code.
            let code = (q + 32) as u8;
            let (l, ls, h, hs) = q6k_position(i);
            block.ql[l] |= (code & 0x0F) << ls;
            block.qh[h] |= (code >> 4) << hs;
        }
        block
    }
}
