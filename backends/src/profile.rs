//! Per-kernel GPU time from timestamp queries written around every dispatch of a step, and of
//! each dispatch of a step alone (in a compute pass of its own, timed by the pass).

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
    /// Per kernel variant: dispatches timed alone and their summed nanoseconds, over
    /// `alone_steps` steps.
    alone: HashMap<String, (u64, f64)>,
    alone_steps: u64,
}

/// The GPU time of the profiled steps: per kernel variant, and from each step's first timestamp
/// to its last (kernels plus the gaps between them).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Profile {
    pub kernels: Vec<KernelTime>,
    pub steps: u64,
    pub span_ms: f64,
    /// A step's dispatches timed alone, summed (when they were: [`crate::Runtime::time_alone`]).
    pub alone_step_us: Option<f64>,
}

/// One row of a profile: a kernel variant, its dispatches and their total GPU time.
#[derive(Clone, Debug, PartialEq)]
pub struct KernelTime {
    pub kernel: String,
    pub dispatches: u64,
    pub total_ms: f64,
    /// Weight bytes the dispatches read (0 for kernels without a weight matrix).
    pub weight_bytes: u64,
    /// Mean time of a dispatch alone, in a pass of its own: without the timestamps around it
    /// that the profiled steps write inside their pass (several us each, which small kernels'
    /// rows would otherwise count).
    pub alone_us: Option<f64>,
}

impl KernelTime {
    /// Weight bytes read per second of GPU time, in GB/s.
    pub fn weight_gbps(&self) -> Option<f64> {
        (self.weight_bytes > 0 && self.total_ms > 0.0)
            .then(|| self.weight_bytes as f64 / (self.total_ms * 1e6))
    }

    /// Weight bytes a dispatch reads per second of its time alone, in GB/s.
    pub fn alone_gbps(&self) -> Option<f64> {
        let us = self.alone_us.filter(|&us| us > 0.0)?;
        (self.weight_bytes > 0)
            .then(|| self.weight_bytes as f64 / self.dispatches.max(1) as f64 / (us * 1e3))
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
            alone: HashMap::new(),
            alone_steps: 0,
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
        let stamps = self.read_stamps(gpu, plan)?;
        for (i, (label, bytes)) in plan.labels().enumerate() {
            let ns = self.dispatch_ns(&stamps, i);
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

    /// Times each dispatch of `plan` alone: the step's dispatches in order, each in a compute
    /// pass of its own timed by the pass (the caches as the step leaves them for it, no
    /// timestamps inside), `reps` times over. They write what they would in a step: run it once
    /// the step's results are no longer needed.
    pub fn time_alone(&mut self, gpu: &Gpu, plan: &Plan, reps: u32) -> Result<(), BackendError> {
        if self.queries(plan).is_none() {
            return Ok(());
        }
        for _ in 0..reps {
            let mut encoder = gpu.device.create_command_encoder(&Default::default());
            plan.encode_passes(&mut encoder, &self.queries);
            self.resolve(plan, &mut encoder);
            gpu.queue.submit([encoder.finish()]);
            let stamps = self.read_stamps(gpu, plan)?;
            for (i, (label, _)) in plan.labels().enumerate() {
                let ns = self.dispatch_ns(&stamps, i);
                let e = self.alone.entry(label.to_string()).or_default();
                e.0 += 1;
                e.1 += ns;
            }
        }
        self.alone_steps += u64::from(reps);
        Ok(())
    }

    /// The timestamps `resolve` copied out for `plan`'s dispatches, two each.
    fn read_stamps(&self, gpu: &Gpu, plan: &Plan) -> Result<Vec<u64>, BackendError> {
        gpu.read(&self.readback, 2 * plan.len() as u64 * 8)
    }

    /// Nanoseconds between dispatch i's two timestamps.
    fn dispatch_ns(&self, stamps: &[u64], i: usize) -> f64 {
        stamps[2 * i + 1].saturating_sub(stamps[2 * i]) as f64 * self.period_ns
    }

    /// The totals so far, kernels largest first, and resets them.
    pub fn take(&mut self) -> Profile {
        let mut rows: Vec<KernelTime> = self
            .totals
            .drain()
            .map(|(kernel, (dispatches, ns, weight_bytes))| KernelTime {
                alone_us: self
                    .alone
                    .get(&kernel)
                    .map(|&(n, ns)| ns / n.max(1) as f64 / 1e3),
                kernel,
                dispatches,
                total_ms: ns / 1e6,
                weight_bytes,
            })
            .collect();
        rows.sort_by(|a, b| b.total_ms.total_cmp(&a.total_ms));
        let alone_ns: f64 = self.alone.drain().map(|(_, (_, ns))| ns).sum();
        let alone_steps = std::mem::take(&mut self.alone_steps);
        Profile {
            kernels: rows,
            steps: std::mem::take(&mut self.steps),
            span_ms: std::mem::take(&mut self.span_ns) / 1e6,
            alone_step_us: (alone_steps > 0).then(|| alone_ns / alone_steps as f64 / 1e3),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// 4 dispatches reading 2 MB each, 10 us each alone: 200 GB/s; none without weights or a
    /// time alone.
    #[test]
    fn alone_gbps_is_a_dispatch_s_weights_over_its_time_alone() {
        let row = KernelTime {
            kernel: "matvec".into(),
            dispatches: 4,
            total_ms: 1.0,
            weight_bytes: 8_000_000,
            alone_us: Some(10.0),
        };
        assert_eq!(row.alone_gbps(), Some(200.0));
        let no_weights = KernelTime {
            weight_bytes: 0,
            ..row.clone()
        };
        assert_eq!(no_weights.alone_gbps(), None);
        assert_eq!(
            KernelTime {
                alone_us: None,
                ..row
            }
            .alone_gbps(),
            None
        );
    }
}
