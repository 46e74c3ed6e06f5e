//! quantize → dequantize on seeded random data, with a worst-case error bound per format.
//!
//! Bounds, with `eps16 = 2^-11` (f16 rounding) and per block `A = max |x|`:
//! - F32 exact; F16 `|x| 2^-11` (or `2^-25` below the normal range); BF16 `|x| 2^-8`.
//! - Q8_0 (`d = A/127`): `d/2 + 127 d eps16`.
//! - Q4_0 / Q5_0 (`d = A/8`, `A/16`): `d + qmax d eps16`: the end opposite the extreme value
//!   clips by up to a whole step, as in ggml.
//! - Q4_1 / Q5_1 (`d = (max - min)/qmax`): `d/2 + qmax d eps16 + |min| eps16`.
//! - Q2_K / Q4_K / Q5_K: half a step per sub-block, `step ≤ (range + dmin)/qmax + d`, see
//!   `expected_affine_k_bound`; Q3_K / Q6_K: `step ≤ A_sub/qmax + d`, see
//!   `expected_symmetric_k_bound`.
//! - IQ4_NL / IQ4_XS: 14 steps (values of the extreme's opposite sign clip from 127 to the
//!   table's 113), `step ≤ A/127` rounded up to f16 (IQ4_XS: `A_sub/127 + d`, its sub-block
//!   scale rounded up to a multiple of `d`).
//! - MXFP4 (`d = 2^(floor(log2 A) - 3)`, table entries 0..12 units of d): half the widest gap,
//!   `2d`, or the clipping of `A` down to `12d`, whichever is larger.
//!
//! Each bound gets a relative slack of 1e-5 of the block's magnitude for f32 rounding.

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use wick_core::quant::GgmlType;

const EPS16: f32 = 1.0 / 2048.0;
/// Ceiling to the next f16 loses at most this much, relative (normal range).
const CEIL16: f32 = 1.0 + 1.0 / 1024.0;
/// Smallest f16 subnormal step: the absolute slack where a super-scale gets that small.
const TINY16: f32 = 1.0 / 16_777_216.0;

/// Blocks of `block` values resembling weights: a random magnitude per block, some outliers,
/// and blocks that are all zero, constant, all positive or all negative.
fn weights(rng: &mut StdRng, blocks: usize, block: usize) -> Vec<f32> {
    let mut v = Vec::with_capacity(blocks * block);
    for b in 0..blocks {
        let scale = 2f32.powi(rng.random_range(-8..6));
        let kind = b % 8;
        for i in 0..block {
            let x: f32 = match kind {
                0 if b == 0 => 0.0,
                1 => scale * 0.3,
                2 => scale * rng.random_range(0.1..1.0),
                3 => -scale * rng.random_range(0.0..1.0),
                _ => scale * rng.random_range(-1.0..1.0),
            };
            // A few outliers, as real weights have.
            let outlier = kind >= 4 && i % 37 == 5;
            v.push(if outlier { x * 8.0 } else { x });
        }
    }
    v
}

fn absmax(v: &[f32]) -> f32 {
    v.iter().fold(0.0, |a, x| a.max(x.abs()))
}

fn round_trip(ty: GgmlType, values: &[f32]) -> Vec<f32> {
    let bytes = ty.quantize(values).unwrap();
    assert_eq!(
        bytes.len() as u64,
        ty.bytes_for(values.len() as u64).unwrap(),
        "{ty}: byte count"
    );
    let out = ty.dequantize_to_vec(&bytes, values.len()).unwrap();
    assert!(out.iter().all(|y| y.is_finite()), "{ty}: non-finite output");
    out
}

/// Checks `|x - y| ≤ bound(block)` per block of `block` values, with f32 slack.
fn check_blocks(ty: GgmlType, values: &[f32], block: usize, bound: impl Fn(&[f32]) -> f32) {
    let out = round_trip(ty, values);
    for (b, (xs, ys)) in values.chunks(block).zip(out.chunks(block)).enumerate() {
        let limit = bound(xs) + 1e-5 * absmax(xs);
        for (i, (x, y)) in xs.iter().zip(ys).enumerate() {
            let err = (x - y).abs();
            assert!(
                err <= limit,
                "{ty} block {b}[{i}]: {x} -> {y}, error {err} > {limit}"
            );
        }
    }
}

fn seeded(ty: GgmlType, blocks: usize) -> Vec<f32> {
    let mut rng = StdRng::seed_from_u64(0x9E37_79B9 ^ u64::from(ty.id()));
    weights(&mut rng, blocks, ty.block_elems() as usize)
}

#[test]
fn f32_round_trip_is_exact() {
    let values = seeded(GgmlType::F32, 512);
    assert_eq!(round_trip(GgmlType::F32, &values), values);
}

#[test]
fn f16_round_trip_within_half_ulp() {
    let values = seeded(GgmlType::F16, 512);
    check_blocks(GgmlType::F16, &values, 1, |x| {
        (x[0].abs() * EPS16).max(TINY16 / 2.0)
    });
}

#[test]
fn bf16_round_trip_within_half_ulp() {
    let values = seeded(GgmlType::BF16, 512);
    check_blocks(GgmlType::BF16, &values, 1, |x| x[0].abs() / 256.0);
}

#[test]
fn q8_0_round_trip_within_bound() {
    let values = seeded(GgmlType::Q8_0, 64);
    check_blocks(GgmlType::Q8_0, &values, 32, |x| {
        let d = absmax(x) / 127.0;
        d / 2.0 + 127.0 * d * EPS16
    });
}

#[test]
fn q4_0_round_trip_within_bound() {
    let values = seeded(GgmlType::Q4_0, 64);
    check_blocks(GgmlType::Q4_0, &values, 32, |x| {
        let d = absmax(x) / 8.0;
        d + 8.0 * d * EPS16
    });
}

#[test]
fn q5_0_round_trip_within_bound() {
    let values = seeded(GgmlType::Q5_0, 64);
    check_blocks(GgmlType::Q5_0, &values, 32, |x| {
        let d = absmax(x) / 16.0;
        d + 16.0 * d * EPS16
    });
}

fn affine_bound(x: &[f32], qmax: f32) -> f32 {
    let min = x.iter().fold(f32::MAX, |a, &v| a.min(v));
    let max = x.iter().fold(-f32::MAX, |a, &v| a.max(v));
    let d = (max - min) / qmax;
    d / 2.0 + qmax * d * EPS16 + min.abs() * EPS16
}

#[test]
fn q4_1_round_trip_within_bound() {
    let values = seeded(GgmlType::Q4_1, 64);
    check_blocks(GgmlType::Q4_1, &values, 32, |x| affine_bound(x, 15.0));
}

#[test]
fn q5_1_round_trip_within_bound() {
    let values = seeded(GgmlType::Q5_1, 64);
    check_blocks(GgmlType::Q5_1, &values, 32, |x| affine_bound(x, 31.0));
}

/// Worst error per value of a Q2_K/Q4_K/Q5_K super-block, per sub-block of `sub`: half of its
/// step, `step_j ≤ need_j / qmax + d` with `need_j ≤ hi_j - lo_j + dmin`, `lo_j = min(0, min x)`,
/// `dmin ≤ max(-lo) / smax` and `d ≤ max need / (smax qmax)`, each f16 ceiling rounding up at
/// most `CEIL16` or one subnormal step.
fn expected_affine_k_bound(x: &[f32], sub: usize, smax: f32, qmax: f32) -> Vec<f32> {
    let subs: Vec<(f32, f32)> = x
        .chunks(sub)
        .map(|s| {
            let lo = s.iter().fold(0.0f32, |a, &v| a.min(v));
            (lo, s.iter().fold(lo, |a, &v| a.max(v)))
        })
        .collect();
    let dmin = subs.iter().fold(0.0f32, |a, &(lo, _)| a.max(-lo)) / smax * CEIL16 + TINY16;
    let need: Vec<f32> = subs.iter().map(|&(lo, hi)| hi - lo + dmin).collect();
    let d = need.iter().fold(0.0f32, |a, &n| a.max(n)) / (smax * qmax) * CEIL16 + TINY16;
    need.iter().map(|n| (n / qmax + d) / 2.0).collect()
}

/// Worst error per value of a Q3_K/Q6_K super-block, per sub-block of `sub`: half of its step,
/// `step_j ≤ A_j / qmax + d` with `d ≤ max A / (qmax smax)` rounded up to f16.
fn expected_symmetric_k_bound(x: &[f32], sub: usize, smax: f32, qmax: f32) -> Vec<f32> {
    let amax: Vec<f32> = x.chunks(sub).map(absmax).collect();
    let d = amax.iter().fold(0.0f32, |a, &m| a.max(m)) / (qmax * smax) * CEIL16 + TINY16;
    amax.iter().map(|m| (m / qmax + d) / 2.0).collect()
}

fn check_k(ty: GgmlType, sub: usize, bound: impl Fn(&[f32]) -> Vec<f32>) {
    let values = seeded(ty, 32);
    let out = round_trip(ty, &values);
    for (b, (xs, ys)) in values.chunks(256).zip(out.chunks(256)).enumerate() {
        let limits = bound(xs);
        let slack = 1e-5 * absmax(xs);
        for (i, (x, y)) in xs.iter().zip(ys).enumerate() {
            let (err, limit) = ((x - y).abs(), limits[i / sub] + slack);
            assert!(
                err <= limit,
                "{ty} block {b}[{i}]: {x} -> {y}, error {err} > {limit}"
            );
        }
    }
}

#[test]
fn q2_k_round_trip_within_bound() {
    check_k(GgmlType::Q2_K, 16, |x| {
        expected_affine_k_bound(x, 16, 15.0, 3.0)
    });
}

#[test]
fn q3_k_round_trip_within_bound() {
    check_k(GgmlType::Q3_K, 16, |x| {
        expected_symmetric_k_bound(x, 16, 31.0, 3.0)
    });
}

#[test]
fn q4_k_round_trip_within_bound() {
    check_k(GgmlType::Q4_K, 32, |x| {
        expected_affine_k_bound(x, 32, 63.0, 15.0)
    });
}

#[test]
fn q5_k_round_trip_within_bound() {
    check_k(GgmlType::Q5_K, 32, |x| {
        expected_affine_k_bound(x, 32, 63.0, 31.0)
    });
}

#[test]
fn q6_k_round_trip_within_bound() {
    check_k(GgmlType::Q6_K, 16, |x| {
        expected_symmetric_k_bound(x, 16, 127.0, 31.0)
    });
}

#[test]
fn iq4_nl_round_trip_within_bound() {
    let values = seeded(GgmlType::IQ4_NL, 64);
    check_blocks(GgmlType::IQ4_NL, &values, 32, |x| {
        14.0 * (absmax(x) / 127.0 * CEIL16 + TINY16)
    });
}

#[test]
fn iq4_xs_round_trip_within_bound() {
    check_k(GgmlType::IQ4_XS, 32, |x| {
        let amax: Vec<f32> = x.chunks(32).map(absmax).collect();
        let d = amax.iter().fold(0.0f32, |a, &m| a.max(m)) / (127.0 * 31.0) * CEIL16 + TINY16;
        amax.iter().map(|m| 14.0 * (m / 127.0 + d)).collect()
    });
}

#[test]
fn mxfp4_round_trip_within_bound() {
    let values = seeded(GgmlType::MXFP4, 64);
    check_blocks(GgmlType::MXFP4, &values, 32, |x| {
        let a = absmax(x);
        if a == 0.0 {
            return 0.0;
        }
        let d = 2f32.powi(a.log2().floor() as i32 - 3);
        (2.0 * d).max(a - 12.0 * d)
    });
}

/// On uniform data the RMS error stays within 10% of ideal uniform quantization of the full
/// range (`step / sqrt(12)` with `levels` steps over [-1, 1]): the scales are not loose.
#[test]
fn k_quants_rms_error_is_small() {
    for (ty, levels) in [
        (GgmlType::Q2_K, 3.0),
        (GgmlType::Q3_K, 6.0),
        (GgmlType::Q4_K, 15.0),
        (GgmlType::Q5_K, 31.0),
        (GgmlType::Q6_K, 63.0),
    ] {
        let mut rng = StdRng::seed_from_u64(7);
        let values: Vec<f32> = (0..4096).map(|_| rng.random_range(-1.0f32..1.0)).collect();
        let out = round_trip(ty, &values);
        let mse = values
            .iter()
            .zip(&out)
            .map(|(x, y)| (x - y) * (x - y))
            .sum::<f32>()
            / 4096.0;
        let limit = 1.1 * (2.0 / levels) / 12f32.sqrt();
        assert!(
            mse.sqrt() < limit,
            "{ty}: rms error {} >= {limit}",
            mse.sqrt()
        );
    }
}

/// K-quant and non-linear scales saturate instead of overflowing, and underflow to zero cleanly.
#[test]
fn scaled_formats_stay_finite_on_extreme_input() {
    let patterns: [&dyn Fn(usize) -> f32; 6] = [
        &|i| if i % 2 == 0 { f32::MAX } else { -f32::MAX },
        &|i| (i as f32 - 128.0) * 1e30,
        &|i| (i as f32 - 128.0) * 1e-30,
        &|i| if i == 17 { 1e-40 } else { 0.0 },
        &|_| -65504.0 * 63.0,
        &|i| if i < 128 { 1e6 } else { -1e-6 },
    ];
    for ty in [
        GgmlType::Q2_K,
        GgmlType::Q3_K,
        GgmlType::Q4_K,
        GgmlType::Q5_K,
        GgmlType::Q6_K,
        GgmlType::IQ4_NL,
        GgmlType::IQ4_XS,
        GgmlType::MXFP4,
    ] {
        for p in patterns {
            let values: Vec<f32> = (0..256).map(p).collect();
            round_trip(ty, &values);
        }
    }
}

/// Values small enough that the scales land in f16's subnormal range still round-trip within
/// a subnormal step.
#[test]
fn k_quants_handle_tiny_values() {
    let mut rng = StdRng::seed_from_u64(11);
    let values: Vec<f32> = (0..256).map(|_| rng.random_range(-1e-3f32..1e-3)).collect();
    for ty in [GgmlType::Q4_K, GgmlType::Q5_K, GgmlType::Q6_K] {
        let out = round_trip(ty, &values);
        for (x, y) in values.iter().zip(&out) {
            assert!((x - y).abs() <= 1e-4, "{ty}: {x} -> {y}");
        }
    }
    // Fewer levels: half a step over [-1e-3, 1e-3], plus the rounded-up offset and scales.
    for (ty, levels) in [(GgmlType::Q2_K, 3.0), (GgmlType::Q3_K, 6.0)] {
        let out = round_trip(ty, &values);
        for (x, y) in values.iter().zip(&out) {
            assert!((x - y).abs() <= 1.2e-3 / levels, "{ty}: {x} -> {y}");
        }
    }
}
