#!/usr/bin/env python3
"""Writes reference data for wick's CPU dequantization, made with the `gguf` Python package.

Rerun from anywhere (output goes to tests/data/quant/ beside this script's parent):

    pip install numpy gguf==0.19.0
    python3 scripts/quant_reference.py

The output is deterministic (fixed seed); core/tests/quant_reference.rs reads it. Each
`<name>.bin` (name as GGUF spells the type, e.g. q4_K) is little-endian:

    b"WQR1", u32 GGUF type id
    u32 n, u32 nbytes, nbytes raw blocks, n f32  -- gguf.quants.dequantize of the blocks
    u32 m, u32 mbytes, m f32 inputs, mbytes raw  -- gguf.quants.quantize of the inputs
                                                    (m = mbytes = 0 where gguf has no quantizer)

Raw blocks are random bytes except their f16 scale fields, which are set to finite values of
sensible magnitude (plus a zero and a subnormal) so the expected values are finite. MXFP4's
E8M0 exponent byte likewise gets exponents near 1 plus its extremes: 0 and 1 (subnormal scales),
2 (the smallest normal one) and 252 (the largest whose codes all stay finite).
"""

from __future__ import annotations

import struct
from pathlib import Path

import numpy as np
from gguf import GGML_QUANT_SIZES, GGMLQuantizationType as T
from gguf import quants

OUT_DIR = Path(__file__).resolve().parent.parent / "tests" / "data" / "quant"

# Byte offsets of the f16 scale fields in each block: (d-like, min-like) offsets.
SCALE_FIELDS: dict[T, tuple[list[int], list[int]]] = {
    T.Q4_0: ([0], []),
    T.Q4_1: ([0], [2]),
    T.Q5_0: ([0], []),
    T.Q5_1: ([0], [2]),
    T.Q8_0: ([0], []),
    T.Q4_K: ([0], [2]),
    T.Q5_K: ([0], [2]),
    T.Q6_K: ([208], []),
    T.Q2_K: ([80], [82]),
    T.Q3_K: ([108], []),
    T.IQ4_NL: ([0], []),
    T.IQ4_XS: ([0], []),
    T.MXFP4: ([], []),
}

# Byte offsets of E8M0 exponent fields.
E8M0_FIELDS: dict[T, list[int]] = {T.MXFP4: [0]}

# Types gguf can quantize; wick's quantizer must reproduce its bytes.
QUANTIZABLE = {T.F32, T.F16, T.BF16, T.Q4_0, T.Q4_1, T.Q5_0, T.Q5_1, T.Q8_0, T.MXFP4}

NAMES = {
    T.F32: "f32", T.F16: "f16", T.BF16: "bf16",
    T.Q4_0: "q4_0", T.Q4_1: "q4_1", T.Q5_0: "q5_0", T.Q5_1: "q5_1", T.Q8_0: "q8_0",
    T.Q4_K: "q4_K", T.Q5_K: "q5_K", T.Q6_K: "q6_K", T.Q2_K: "q2_K", T.Q3_K: "q3_K",
    T.IQ4_NL: "iq4_nl", T.IQ4_XS: "iq4_xs", T.MXFP4: "mxfp4",
}


def random_f16(rng: np.random.Generator, n: int, lo_exp: float, hi_exp: float) -> np.ndarray:
    """Random-signed f16 values with magnitudes log-uniform in [2**lo_exp, 2**hi_exp]."""
    mag = np.exp2(rng.uniform(lo_exp, hi_exp, n))
    sign = rng.choice([-1.0, 1.0], n)
    return (sign * mag).astype(np.float16)


def float_bits(rng: np.random.Generator, qtype: T) -> np.ndarray:
    """Raw bytes of float elements: random non-NaN bit patterns plus edge values."""
    if qtype == T.F32:
        vals = rng.standard_normal(48).astype(np.float32) * np.float32(3.0)
        edge = np.array([0.0, -0.0, np.inf, -np.inf, 1e-45, -1e-40, 3.4e38, 1.0], np.float32)
        return np.concatenate([vals, edge, rng.uniform(-1e6, 1e6, 8).astype(np.float32)]).view(np.uint8)
    bits = rng.integers(0, 1 << 16, 64, dtype=np.uint32).astype(np.uint16)
    exp_mask, man_mask = (0x7C00, 0x03FF) if qtype == T.F16 else (0x7F80, 0x007F)
    is_nan = ((bits & exp_mask) == exp_mask) & ((bits & man_mask) != 0)
    bits[is_nan] &= np.uint16(~exp_mask & 0xFFFF)  # clear the exponent: a finite value instead
    bits[:6] = [0x0000, 0x8000, exp_mask, exp_mask | 0x8000, 0x0001, 0x8001]
    return bits.view(np.uint8)


def quant_blocks(rng: np.random.Generator, qtype: T, n_blocks: int) -> np.ndarray:
    """Random blocks with controlled scales: block 0 has zero scales, block 1 subnormal ones."""
    _, type_size = GGML_QUANT_SIZES[qtype]
    blocks = rng.integers(0, 256, (n_blocks, type_size), dtype=np.uint8)
    d_offs, m_offs = SCALE_FIELDS[qtype]
    for offs, (lo, hi) in ((d_offs, (-12.0, 0.0)), (m_offs, (-8.0, 2.0))):
        for off in offs:
            vals = random_f16(rng, n_blocks, lo, hi)
            vals[0] = 0.0
            vals[1] = np.float16(2.0**-20)
            blocks[:, off:off + 2] = vals.view(np.uint8).reshape(n_blocks, 2)
    for off in E8M0_FIELDS.get(qtype, []):
        exps = rng.integers(112, 136, n_blocks, dtype=np.uint8)
        exps[:4] = [0, 1, 2, 252]
        blocks[:, off] = exps
    return blocks.reshape(-1)


def quant_inputs(rng: np.random.Generator, qtype: T) -> np.ndarray:
    """Float inputs for the quantizer: scaled noise plus blocks that probe ties and edges."""
    block_size, _ = GGML_QUANT_SIZES[qtype]
    if block_size == 1:
        vals = rng.standard_normal(56).astype(np.float32) * np.float32(100.0)
        edge = np.array([0.0, -0.0, 65504.0, 65520.0, 1e-8, 6e-8, 3e38, -1e-30], np.float32)
        return np.concatenate([vals, edge])
    rows = [rng.standard_normal((12, block_size)) * np.exp2(rng.uniform(-8, 4, (12, 1)))]
    rows.append(np.zeros((1, block_size)))
    rows.append(np.full((1, block_size), 0.75))
    tie = rng.uniform(-1, 1, (1, block_size))
    tie[0, 3], tie[0, 9] = -2.0, 2.0  # equal magnitudes: the first one sets the sign
    rows.append(tie)
    rows.append(rng.uniform(-0.5, 0.5, (1, block_size)) + 3.0)  # all positive
    return np.concatenate(rows).astype(np.float32).reshape(-1)


def write(qtype: T) -> Path:
    rng = np.random.default_rng(0x5EED + qtype.value)
    block_size, type_size = GGML_QUANT_SIZES[qtype]
    if block_size == 1:
        raw = float_bits(rng, qtype)
    else:
        raw = quant_blocks(rng, qtype, 16 if block_size == 32 else 8)
    expected = np.asarray(quants.dequantize(raw, qtype), dtype=np.float32).reshape(-1)
    assert expected.size * type_size == raw.size * block_size

    if qtype in QUANTIZABLE:
        inputs = quant_inputs(rng, qtype)
        packed = np.asarray(quants.quantize(inputs, qtype)).view(np.uint8).reshape(-1)
    else:
        inputs = np.zeros(0, np.float32)
        packed = np.zeros(0, np.uint8)

    path = OUT_DIR / f"{NAMES[qtype]}.bin"
    with path.open("wb") as f:
        f.write(b"WQR1" + struct.pack("<I", qtype.value))
        f.write(struct.pack("<II", expected.size, raw.size))
        f.write(raw.astype(np.uint8).tobytes())
        f.write(expected.astype("<f4").tobytes())
        f.write(struct.pack("<II", inputs.size, packed.size))
        f.write(inputs.astype("<f4").tobytes())
        f.write(packed.tobytes())
    return path


def main() -> None:
    OUT_DIR.mkdir(parents=True, exist_ok=True)
    with np.errstate(over="ignore"):  # f16 conversion of the deliberate out-of-range inputs
        for qtype in NAMES:
            path = write(qtype)
            print(f"{path.relative_to(OUT_DIR.parent.parent.parent)}: {path.stat().st_size} bytes")


if __name__ == "__main__":
    main()
