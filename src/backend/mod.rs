//! Backends evaluate a range of flat indices of a [`SweepPlan`] and return mergeable
//! [`Reductions`]. The CPU backend is always there; the GPU backend runs WGSL kernels
//! through wgpu. Backends know nothing of files or the CLI.

pub mod cpu;
pub mod gpu;
pub mod staged;
pub mod tape;

use crate::plan::SweepPlan;
use crate::reduce::Reductions;
use serde::{Deserialize, Serialize};
use std::ops::Range;

/// What a backend runs on, as reported in summaries and benchmarks.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct BackendInfo {
    /// `cpu` or `gpu`.
    pub kind: String,
    /// CPU model or adapter name.
    pub name: String,
    /// Graphics API (`Vulkan`, `Metal`, ...); `None` for the CPU.
    pub api: Option<String>,
    /// wgpu device type (`DiscreteGpu`, `Cpu`, ...); `None` for the CPU.
    pub device_type: Option<String>,
    /// Driver name and version; `None` for the CPU.
    pub driver: Option<String>,
}

/// A backend failure. `done` holds the reductions of the part that completed and
/// `remaining` the indices still to evaluate, so a caller can finish elsewhere.
#[derive(Debug, thiserror::Error)]
#[error("{message}")]
pub struct BackendError {
    pub message: String,
    pub done: Option<Box<Reductions>>,
    pub remaining: Range<u64>,
}

/// Progress callback: called with the number of configurations just finished.
pub type Progress<'a> = &'a (dyn Fn(u64) + Sync);

/// A way to evaluate ranges of a plan.
pub trait Backend {
    fn info(&self) -> BackendInfo;
    /// Whether the backend decides feasibility exactly as the f64 model does. A backend
    /// that does not (the f32 GPU kernels) has its reported configurations re-checked.
    fn exact(&self) -> bool {
        true
    }
    /// Evaluate `range` (flat indices) and reduce it.
    fn run(
        &self,
        plan: &SweepPlan,
        range: Range<u64>,
        progress: Progress<'_>,
    ) -> Result<Reductions, BackendError>;
}
