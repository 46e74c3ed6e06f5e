//! wick's wgpu runtime: the adapter and its limits, weight upload (weights stay quantized on the
//! GPU, split at the binding limit), the pipeline cache, and the [`Runtime`] that compiles a model
//! graph into plans of dispatches, one per shape bucket, and replays them. [`standalone`] runs
//! single kernels outside a plan, for kernel tests and benches.

mod error;
mod gpu;
mod pipelines;
mod plan;
mod profile;
mod runtime;
pub mod standalone;
mod weights;

pub use error::BackendError;
pub use gpu::{Capabilities, Gpu};
pub use pipelines::{Kernel, Pipelines};
pub use plan::{AttentionLaunch, DispatchCount, attention_kernel, fold, glu_groups};
pub use profile::{KernelTime, Profile};
pub use runtime::{CpuTime, Runtime, RuntimeConfig, cache_ctx};
pub use weights::{GpuWeight, WeightPart};
pub use wick_shaders::ATTENTION_SHALLOW_POSITIONS;
