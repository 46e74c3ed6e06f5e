//! The original ggml block formats: 32 weights per block with one f16 scale (and an f16 minimum
//! for the `_1` variants). Quantizers follow ggml's reference (round-to-nearest) quantizers, so
//! their bytes match ggml's for the same input, down to a scale beyond the f16 range becoming
//! infinite.

use bytemuck::{Pod, Zeroable};
use half::f16;

use super::Block;

const QK: usize = 32;

/// The 4-bit codes in element order: byte `j` holds element `j` low and element `j + 16` high.
pub(super) fn unpack_nibbles(qs: &[u8; QK / 2]) -> [u8; QK] {
    std::array::from_fn(|i| {
        if i < QK / 2 {
            qs[i] & 0x0F
        } else {
            qs[i - QK / 2] >> 4
        }
    })
}

/// Inverse of [`unpack_nibbles`]; keeps the low four bits of each code.
pub(super) fn pack_nibbles(q: &[u8; QK]) -> [u8; QK / 2] {
    std::array::from_fn(|j| (q[j] & 0x0F) | (q[j + QK / 2] << 4))
}

/// The 5-bit codes: the nibbles plus bit `i` of the little-endian `qh` word as bit 4.
fn unpack_5bit(qh: [u8; 4], qs: &[u8; QK / 2]) -> [u8; QK] {
    let high = u32::from_le_bytes(qh);
    let low = unpack_nibbles(qs);
    std::array::from_fn(|i| low[i] | ((((high >> i) & 1) as u8) << 4))
}

/// Bit 4 of every code, gathered into the `qh` word.
fn pack_high_bits(q: &[u8; QK]) -> [u8; 4] {
    let word = q
        .iter()
        .enumerate()
        .fold(0u32, |w, (i, &c)| w | (u32::from(c >> 4 & 1) << i));
    word.to_le_bytes()
}

/// `1 / d`, or 0 when `d` is 0 (a zero or constant block): every code then decodes to that value.
fn inverse(d: f32) -> f32 {
    if d != 0.0 { 1.0 / d } else { 0.0 }
}

/// The value of largest magnitude, with its sign; the first one wins ties, as in ggml.
fn signed_absmax(values: &[f32]) -> f32 {
    let mut amax = 0.0f32;
    let mut max = 0.0f32;
    for &v in values {
        if amax < v.abs() {
            amax = v.abs();
            max = v;
        }
    }
    max
}

fn min_max(values: &[f32]) -> (f32, f32) {
    values
        .iter()
        .fold((f32::MAX, -f32::MAX), |(lo, hi), &v| (lo.min(v), hi.max(v)))
}

/// Q4_0: 4.5 bits per weight. `x = d * (q - 8)`, q in 0..16.
#[repr(C)]
#[derive(Clone, Copy, Pod, Zeroable)]
pub(super) struct BlockQ4_0 {
    d: f16,
    qs: [u8; QK / 2],
}
const _: () = assert!(size_of::<BlockQ4_0>() == 18);

impl Block for BlockQ4_0 {
    const ELEMS: usize = QK;

    fn decode(&self, out: &mut [f32]) {
        let d = self.d.to_f32();
        for (y, q) in out.iter_mut().zip(unpack_nibbles(&self.qs)) {
            *y = d * (i32::from(q) - 8) as f32;
        }
    }

    /// The extreme value maps to code 0 exactly; its opposite end clips at code 15.
    fn encode(values: &[f32]) -> Self {
        let d = signed_absmax(values) / -8.0;
        let id = inverse(d);
        let q = std::array::from_fn(|i| ((values[i] * id + 8.5) as u8).min(15));
        BlockQ4_0 {
            d: f16::from_f32(d),
            qs: pack_nibbles(&q),
        }
    }
}

/// Q4_1: 5 bits per weight. `x = d * q + m`, q in 0..16.
#[repr(C)]
#[derive(Clone, Copy, Pod, Zeroable)]
pub(super) struct BlockQ4_1 {
    d: f16,
    m: f16,
    qs: [u8; QK / 2],
}
const _: () = assert!(size_of::<BlockQ4_1>() == 20);

impl Block for BlockQ4_1 {
    const ELEMS: usize = QK;

    fn decode(&self, out: &mut [f32]) {
        let (d, m) = (self.d.to_f32(), self.m.to_f32());
        for (y, q) in out.iter_mut().zip(unpack_nibbles(&self.qs)) {
            *y = d * f32::from(q) + m;
        }
    }

    fn encode(values: &[f32]) -> Self {
        let (min, max) = min_max(values);
        let d = (max - min) / 15.0;
        let id = inverse(d);
        let q = std::array::from_fn(|i| (((values[i] - min) * id + 0.5) as u8).min(15));
        BlockQ4_1 {
            d: f16::from_f32(d),
            m: f16::from_f32(min),
            qs: pack_nibbles(&q),
        }
    }
}

/// Q5_0: 5.5 bits per weight. `x = d * (q - 16)`, q in 0..32, bit 4 of q from `qh`.
#[repr(C)]
#[derive(Clone, Copy, Pod, Zeroable)]
pub(super) struct BlockQ5_0 {
    d: f16,
    qh: [u8; 4],
    qs: [u8; QK / 2],
}
const _: () = assert!(size_of::<BlockQ5_0>() == 22);

impl Block for BlockQ5_0 {
    const ELEMS: usize = QK;

    fn decode(&self, out: &mut [f32]) {
        let d = self.d.to_f32();
        for (y, q) in out.iter_mut().zip(unpack_5bit(self.qh, &self.qs)) {
            *y = d * (i32::from(q) - 16) as f32;
        }
    }

    fn encode(values: &[f32]) -> Self {
        let d = signed_absmax(values) / -16.0;
        let id = inverse(d);
        let q = std::array::from_fn(|i| ((values[i] * id + 16.5) as u8).min(31));
        BlockQ5_0 {
            d: f16::from_f32(d),
            qh: pack_high_bits(&q),
            qs: pack_nibbles(&q),
        }
    }
}

/// Q5_1: 6 bits per weight. `x = d * q + m`, q in 0..32, bit 4 of q from `qh`.
#[repr(C)]
#[derive(Clone, Copy, Pod, Zeroable)]
pub(super) struct BlockQ5_1 {
    d: f16,
    m: f16,
    qh: [u8; 4],
    qs: [u8; QK / 2],
}
const _: () = assert!(size_of::<BlockQ5_1>() == 24);

impl Block for BlockQ5_1 {
    const ELEMS: usize = QK;

    fn decode(&self, out: &mut [f32]) {
        let (d, m) = (self.d.to_f32(), self.m.to_f32());
        for (y, q) in out.iter_mut().zip(unpack_5bit(self.qh, &self.qs)) {
            *y = d * f32::from(q) + m;
        }
    }

    fn encode(values: &[f32]) -> Self {
        let (min, max) = min_max(values);
        let d = (max - min) / 31.0;
        let id = inverse(d);
        let q = std::array::from_fn(|i| (((values[i] - min) * id + 0.5) as u8).min(31));
        BlockQ5_1 {
            d: f16::from_f32(d),
            m: f16::from_f32(min),
            qh: pack_high_bits(&q),
            qs: pack_nibbles(&q),
        }
    }
}

/// Q8_0: 8.5 bits per weight. `x = d * q`, q a signed byte.
#[repr(C)]
#[derive(Clone, Copy, Pod, Zeroable)]
pub(super) struct BlockQ8_0 {
    d: f16,
    qs: [i8; QK],
}
const _: () = assert!(size_of::<BlockQ8_0>() == 34);

impl Block for BlockQ8_0 {
    const ELEMS: usize = QK;

    fn decode(&self, out: &mut [f32]) {
        let d = self.d.to_f32();
        for (y, &q) in out.iter_mut().zip(&self.qs) {
            *y = f32::from(q) * d;
        }
    }

    /// Rounds half away from zero, as C's `roundf` in ggml's reference.
    fn encode(values: &[f32]) -> Self {
        let amax = values.iter().fold(0.0f32, |a, v| a.max(v.abs()));
        let d = amax / 127.0;
        let id = inverse(d);
        BlockQ8_0 {
            d: f16::from_f32(d),
            qs: std::array::from_fn(|i| (values[i] * id).round() as i8),
        }
    }
}
