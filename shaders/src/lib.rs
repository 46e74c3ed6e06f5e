//! wick's WGSL kernels.
