//! clustersweep: estimate the compute throughput, power, energy and cost of AI clusters,
//! and sweep huge grids of cluster configurations on the GPU (WGSL through wgpu) or the CPU.
//!
//! Data flows one way: scenario TOML → [`scenario::Scenario`] → [`plan::SweepPlan`] →
//! [`backend::Backend::run`] over ranges of flat indices (driven by [`sweep::run_sweep`]) →
//! mergeable [`reduce::Reductions`] → [`summary::Summary`] (reported configurations
//! re-evaluated with the f64 [`model`]) → [`report`] exporters.

pub mod backend;
pub mod bench;
pub mod bench_collect;
pub mod bench_compare;
pub mod calibrate;
pub mod catalog;
pub mod checkpoint;
pub mod checks;
pub mod diff;
pub mod distribution;
pub mod document;
pub mod draws;
pub mod exact_sum;
pub mod format;
pub mod grid;
pub mod heatmap;
pub mod input;
pub mod json_float;
pub mod machine;
pub mod model;
pub mod output;
pub mod params;
pub mod plan;
pub mod progress;
pub mod provenance;
pub mod reduce;
pub mod rent;
pub mod report;
pub mod scenario;
pub mod schema;
pub mod sensitivity;
pub mod shard;
pub mod summary;
pub mod sweep;
pub mod timing_stats;
pub mod uncertain;
pub mod validate;
