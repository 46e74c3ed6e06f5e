//! wgpu validation errors come back as `BackendError`s from `Gpu::wait`, not as panics.

use wick_backends::{BackendError, Gpu};

#[test]
fn validation_errors_are_returned_not_panicked() {
    let gpu = Gpu::new().expect("a GPU adapter (lavapipe in CI)");
    gpu.wait().expect("a fresh device has no error");
    // Larger than any adapter allows: wgpu reports it through the error handler.
    let _ = gpu.device.create_buffer(&wgpu::BufferDescriptor {
        label: Some("too large"),
        size: gpu.caps.max_buffer + 4,
        usage: wgpu::BufferUsages::STORAGE,
        mapped_at_creation: false,
    });
    match gpu.wait() {
        Err(BackendError::Gpu(msg)) => {
            assert!(!msg.contains('\n'), "one line: {msg}");
            assert!(
                msg.contains("too large") || msg.to_lowercase().contains("size"),
                "{msg}"
            );
        }
        other => panic!("expected a GPU error, got {other:?}"),
    }
    gpu.wait().expect("an error is reported once");
}
