use thiserror::Error;

#[derive(Debug, Error)]
pub enum BackendError {
    #[error("no GPU adapter found (on Linux, install a Vulkan driver such as mesa-vulkan-drivers)")]
    NoAdapter,
    #[error("could not open the GPU device: {0}")]
    Device(String),
    #[error("{0}")]
    Unsupported(String),
    #[error("{what} needs {bytes} bytes in one buffer, more than the adapter allows ({limit})")]
    TooLarge {
        what: String,
        bytes: u64,
        limit: u64,
    },
    #[error(
        "batch of {rows} rows with {outputs} outputs exceeds the runtime's {max_rows} rows / {max_outputs} outputs"
    )]
    BatchTooLarge {
        rows: usize,
        outputs: usize,
        max_rows: u32,
        max_outputs: u32,
    },
    #[error("row {row}: {what}")]
    BadRow { row: usize, what: String },
    #[error("greedy steps in flight: {0}")]
    InFlight(&'static str),
    #[error("GPU error: {0}")]
    Gpu(String),
}
