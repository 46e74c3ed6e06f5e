//! wick's wgpu runtime.
