//! Per-kernel GPU time from timestamp queries written around every dispatch of a step.

use std::collections::HashMap;

use crate::plan::Plan;
use crate::{BackendError, Gpu};

/// Most dispatches a profiled step may have: two queries each, in wgpu's largest query set.
const MAX_DISPATCHES: u32 = wgpu::QUERY_SET_MAX_QUERIES / 2;

pub struct Profiler {
    queries: wgpu::QuerySet,
    resolve: wgpu::Buffer,
    readback: wgpu::Buffer,
    period_ns: f64,
    /// Per kernel variant: dispatches, total nanoseconds and weight bytes read.
    totals: HashMap<String, (u64, f64, u64)>,
    /// Steps collected and their summed spans from the first to the last timestamp.
    steps: u64,
    span_ns: f64,
}

/// The GPU time of the profiled steps: per kernel variant, and from each step's first timestamp
/// to its last (kernels plus the gaps between them).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Profile {
    pub kernels: Vec<KernelTime>,
    pub steps: u64,
    pub span_ms: f64,
}

/// One row of a profile: a kernel variant, its dispatches and their total GPU time.
#[derive(Clone, Debug, PartialEq)]
pub struct KernelTime {
    pub kernel: String,
    pub dispatches: u64,
    pub total_ms: f64,
    /// Weight bytes the dispatches read (0 for kernels without a weight matrix).
    pub weight_bytes: u64,
}

impl KernelTime {
    /// Weight bytes read per second of GPU time, in GB/s.
    pub fn weight_gbps(&self) -> Option<f64> {
        (self.weight_bytes > 0 && self.total_ms > 0.0)
            .then(|| self.weight_bytes as f64 / (self.total_ms * 1e6))
    }

    /// This row with `us` taken off each dispatch's time (none below zero).
    pub fn less(&self, us: f64) -> KernelTime {
        let per_dispatch_ms = self.total_ms / self.dispatches.max(1) as f64;
        KernelTime {
            total_ms: (per_dispatch_ms - us / 1e3).max(0.0) * self.dispatches as f64,
            ..self.clone()
        }
    }
}

impl Profile {
    /// The timestamps' estimated cost per dispatch of profiled steps of `dispatches` each, in
    /// us: the span per step (timestamps around every dispatch keep kernels from overlapping and
    /// add their own time) less the unprofiled step `step_us`, over the dispatches; None unless
    /// positive.
    pub fn timestamp_cost(&self, step_us: f64, dispatches: usize) -> Option<f64> {
        let span_us = 1e3 * self.span_ms / self.steps.max(1) as f64;
        let cost = (span_us - step_us) / dispatches.max(1) as f64;
        (self.steps > 0 && cost > 0.0).then_some(cost)
    }
}

impl Profiler {
    pub fn new(gpu: &Gpu) -> Result<Profiler, BackendError> {
        if !gpu.caps.timestamps {
            return Err(BackendError::Unsupported(format!(
                "{} cannot write timestamps inside compute passes, so it cannot be profiled",
                gpu.caps.adapter
            )));
        }
        let bytes = u64::from(2 * MAX_DISPATCHES) * 8;
        let buffer = |label, usage| {
            gpu.device.create_buffer(&wgpu::BufferDescriptor {
                label: Some(label),
                size: bytes,
                usage,
                mapped_at_creation: false,
            })
        };
        Ok(Profiler {
            queries: gpu.device.create_query_set(&wgpu::QuerySetDescriptor {
                label: Some("profile"),
                ty: wgpu::QueryType::Timestamp,
                count: 2 * MAX_DISPATCHES,
            }),
            resolve: buffer(
                "profile resolve",
                wgpu::BufferUsages::QUERY_RESOLVE | wgpu::BufferUsages::COPY_SRC,
            ),
            readback: buffer(
                "profile readback",
                wgpu::BufferUsages::MAP_READ | wgpu::BufferUsages::COPY_DST,
            ),
            period_ns: f64::from(gpu.queue.get_timestamp_period()),
            totals: HashMap::new(),
            steps: 0,
            span_ns: 0.0,
        })
    }

    /// The query set to pass to [`Plan::encode`] when the plan fits.
    pub fn queries(&self, plan: &Plan) -> Option<&wgpu::QuerySet> {
        (plan.len() as u32 <= MAX_DISPATCHES).then_some(&self.queries)
    }

    /// Records the copy of this step's timestamps, after the plan's pass.
    pub fn resolve(&self, plan: &Plan, encoder: &mut wgpu::CommandEncoder) {
        let n = 2 * plan.len() as u32;
        encoder.resolve_query_set(&self.queries, 0..n, &self.resolve, 0);
        encoder.copy_buffer_to_buffer(&self.resolve, 0, &self.readback, 0, u64::from(n) * 8);
    }

    /// Adds the step's times to the totals, once the GPU has run it.
    pub fn collect(&mut self, gpu: &Gpu, plan: &Plan) -> Result<(), BackendError> {
        let stamps: Vec<u64> = gpu.read(&self.readback, 2 * plan.len() as u64 * 8)?;
        for (i, (label, bytes)) in plan.labels().enumerate() {
            let ns = stamps[2 * i + 1].saturating_sub(stamps[2 * i]) as f64 * self.period_ns;
            let e = self.totals.entry(label.to_string()).or_default();
            e.0 += 1;
            e.1 += ns;
            e.2 += bytes;
        }
        if let (Some(first), Some(last)) = (stamps.first(), stamps.last()) {
            self.steps += 1;
            self.span_ns += last.saturating_sub(*first) as f64 * self.period_ns;
        }
        Ok(())
    }

    /// The totals so far, kernels largest first, and resets them.
    pub fn take(&mut self) -> Profile {
        let mut rows: Vec<KernelTime> = self
            .totals
            .drain()
            .map(|(kernel, (dispatches, ns, weight_bytes))| KernelTime {
                kernel,
                dispatches,
                total_ms: ns / 1e6,
                weight_bytes,
            })
            .collect();
        rows.sort_by(|a, b| b.total_ms.total_cmp(&a.total_ms));
        Profile {
            kernels: rows,
            steps: std::mem::take(&mut self.steps),
            span_ms: std::mem::take(&mut self.span_ns) / 1e6,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn profile(steps: u64, span_ms: f64) -> Profile {
        Profile {
            kernels: Vec::new(),
            steps,
            span_ms,
        }
    }

    /// Two profiled steps spanning 1000 us each against a 400 us unprofiled step of 100
    /// dispatches: 6 us per dispatch. A span no longer than the step, or no steps, gives none.
    #[test]
    fn timestamp_cost_is_the_span_over_the_step_per_dispatch() {
        assert_eq!(profile(2, 2.0).timestamp_cost(400.0, 100), Some(6.0));
        assert_eq!(profile(2, 0.6).timestamp_cost(400.0, 100), None);
        assert_eq!(profile(0, 0.0).timestamp_cost(400.0, 100), None);
    }
}
