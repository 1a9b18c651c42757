//! `clustersweep bench`: measure the sweep kernel on every backend over one fixed synthetic
//! grid, for comparing machines. Owns the benchmark grid, the operation count per
//! configuration, known peak rates and the `clustersweep.bench/1` document; rendering it
//! (the table, `bench compare`) is [`crate::report::bench`]'s.

use crate::backend::cpu::{cpu_name, CpuBackend};
use crate::backend::gpu::{GpuBackend, GpuError};
use crate::backend::{Backend, BackendError, BackendInfo};
use crate::catalog::Catalog;
use crate::input::InputError;
use crate::params::Param;
use crate::plan::{PlanError, SweepPlan};
use crate::scenario::{Axis, Scenario, Source};
use serde::{Deserialize, Serialize};
use std::time::Instant;

/// Schema name of the bench document.
pub const BENCH_SCHEMA: &str = "clustersweep.bench/1";

/// Floating-point operations per configuration of a plan, counted from its tape: the
/// metrics' arithmetic steps that depend on an axis (traced with every axis varying, so
/// only fixed values and defaults fold; comparisons, selects, lookups and the validity
/// masks not counted) plus the
/// statistics (min, max and sum of each metric that applies). The rate a kernel that
/// evaluates every configuration whole would need; the kernels hoist much of it.
pub fn ops_per_config(plan: &SweepPlan) -> f64 {
    use crate::backend::tape::trace::{trace, value_ok};
    use crate::backend::tape::TapeOp;
    let traced = trace(plan, 0, &value_ok(plan));
    // The metrics' steps only (not the validity and feasibility masks).
    let mut tape = traced.tracer.clone();
    let roots: Vec<_> = traced.metrics.iter().flatten().map(|v| v.slot).collect();
    tape.keep_only(&roots);
    let model = tape
        .steps
        .iter()
        .filter(|st| matches!(st.op, TapeOp::Arith(op) if !op.is_test()))
        .count();
    let metrics = traced.metrics.iter().flatten().count();
    (model + 3 * metrics) as f64
}

/// Values of the extra outer axis that makes the benchmark grid as large as asked.
const CARBON_FROM: f64 = 0.30;
const CARBON_TO: f64 = 0.50;

/// Why a benchmark could not be measured.
#[derive(Debug, thiserror::Error)]
pub enum BenchError {
    /// The built-in catalog or default scenario behind the benchmark grid did not load.
    #[error(transparent)]
    Input(#[from] InputError),
    /// The benchmark grid could not be planned.
    #[error("bench: {0}")]
    Plan(#[from] PlanError),
    /// A backend failed while measuring.
    #[error(transparent)]
    Backend(#[from] BackendError),
    /// The GPU backend could not prepare the benchmark grid.
    #[error(transparent)]
    Gpu(#[from] GpuError),
}

/// One backend's measurement.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct BenchResult {
    /// The backend object, as in the summary's `backend`.
    pub backend: BackendInfo,
    /// Configurations per repetition.
    pub configs: u64,
    /// Median configurations per second (wall time).
    pub configs_per_s: f64,
    /// Median wall time of one repetition.
    pub wall_s: f64,
    /// Median GPU kernel time (timestamp queries); null where not measurable.
    pub kernel_s: Option<f64>,
    /// Effective GFLOP/s: [`ops_per_config`] x configurations / kernel time (or wall time).
    pub gflops: Option<f64>,
    /// `gflops` over the adapter's peak, where the peak is known.
    pub peak_fraction: Option<f64>,
}

/// The machine a benchmark ran on.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct Host {
    pub cpu: String,
    pub threads: usize,
}

/// A `clustersweep.bench/1` document.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct BenchReport {
    pub schema: String,
    pub host: Host,
    pub clustersweep_version: String,
    pub wgpu_version: String,
    pub git_commit: String,
    /// UTC, ISO 8601.
    pub date: String,
    pub ops_per_config: f64,
    pub repeats: usize,
    pub results: Vec<BenchResult>,
}

/// The most configurations [`bench_plan`] can hold: the default scenario's grid times the
/// longest axis a scenario may have.
pub fn max_configs() -> Result<u64, BenchError> {
    let catalog = Catalog::builtin()?;
    let base = Scenario::builtin_default(&catalog)?.grid().size;
    Ok(base.saturating_mul(crate::scenario::MAX_AXIS_LEN))
}

/// The benchmark grid: the built-in default scenario's model and axes, with an extra outer
/// axis (`carbon_kg_per_kwh`, which only scales CO2) long enough to hold `configs`.
pub fn bench_plan(configs: u64) -> Result<SweepPlan, BenchError> {
    let catalog = Catalog::builtin()?;
    let mut s = Scenario::builtin_default(&catalog)?;
    let base = s.grid().size;
    let copies = configs.div_ceil(base).max(1);
    if copies > 1 {
        let values = crate::scenario::range_values(CARBON_FROM, CARBON_TO, copies, false);
        for src in s.sources.iter_mut() {
            if let Source::Axis(k) = src {
                *k += 1;
            }
        }
        s.sources[Param::CarbonKgPerKwh.index()] = Source::Axis(0);
        s.axes.insert(
            0,
            Axis {
                param: Param::CarbonKgPerKwh,
                values,
                times: false,
            },
        );
    }
    s.name = format!("{} (bench)", s.name);
    Ok(SweepPlan::new(s, None)?)
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    let n = v.len();
    if n == 0 {
        return f64::NAN;
    }
    if n % 2 == 1 {
        v[n / 2]
    } else {
        (v[n / 2 - 1] + v[n / 2]) / 2.0
    }
}

/// Peak f64 GFLOP/s of this CPU (vector width x 2 for FMA x cores x clock), if known.
pub fn cpu_peak_gflops(threads: usize, f32_math: bool) -> Option<f64> {
    let mhz: f64 = std::fs::read_to_string("/proc/cpuinfo")
        .ok()?
        .lines()
        .find(|l| l.starts_with("cpu MHz"))?
        .split(':')
        .nth(1)?
        .trim()
        .parse()
        .ok()?;
    #[cfg(target_arch = "x86_64")]
    let f64_lanes = if std::arch::is_x86_feature_detected!("avx512f") {
        8.0
    } else if std::arch::is_x86_feature_detected!("avx2") {
        4.0
    } else {
        2.0
    };
    #[cfg(not(target_arch = "x86_64"))]
    let f64_lanes = 2.0;
    // Two FMA pipes, two operations per FMA.
    let per_cycle = f64_lanes * 2.0 * 2.0 * if f32_math { 2.0 } else { 1.0 };
    Some(threads as f64 * mhz * 1e-3 * per_cycle)
}

/// Peak non-tensor FP32 GFLOP/s of known GPUs (vendor datasheets), by adapter name.
pub fn gpu_peak_gflops(name: &str) -> Option<f64> {
    let n = name.to_ascii_lowercase();
    let table: [(&str, f64); 4] = [
        ("h100", 66_900.0), // NVIDIA H100 SXM datasheet: FP32 67 TFLOPS
        ("h200", 66_900.0), // NVIDIA H200 SXM datasheet: FP32 67 TFLOPS
        ("a100", 19_500.0), // NVIDIA A100 datasheet: FP32 19.5 TFLOPS
        ("l40s", 91_600.0), // NVIDIA L40S datasheet: FP32 91.6 TFLOPS
    ];
    table.iter().find(|(k, _)| n.contains(k)).map(|(_, v)| *v)
}

/// How to measure.
#[derive(Clone, Debug)]
pub struct BenchOptions {
    /// Configurations per repetition; `None` sizes each backend for ~1 s.
    pub configs: Option<u64>,
    pub repeats: usize,
    pub threads: usize,
}

fn calibrated(rate: f64) -> u64 {
    // About one second per repetition, a power of two, at least 2^20.
    let target = rate.max(1.0);
    let p = target.log2().round().clamp(20.0, 40.0);
    2f64.powf(p) as u64
}

/// Benchmark the CPU backend.
pub fn bench_cpu(opts: &BenchOptions) -> Result<BenchResult, BenchError> {
    let cpu = CpuBackend::new(opts.threads)?;
    let nothing = |_: u64| {};
    let configs = match opts.configs {
        Some(n) => n,
        None => {
            let plan = bench_plan(1 << 22)?;
            let t = Instant::now();
            cpu.run(&plan, 0..1 << 22, &nothing)?;
            calibrated((1u64 << 22) as f64 / t.elapsed().as_secs_f64())
        }
    };
    let plan = bench_plan(configs)?;
    let mut walls = Vec::new();
    for _ in 0..opts.repeats {
        let t = Instant::now();
        let r = cpu.run(&plan, 0..configs, &nothing)?;
        walls.push(t.elapsed().as_secs_f64());
        std::hint::black_box(r);
    }
    let wall = median(walls);
    let gflops = ops_per_config(&plan) * configs as f64 / wall * 1e-9;
    let peak = cpu_peak_gflops(cpu.threads(), false);
    Ok(BenchResult {
        backend: cpu.info(),
        configs,
        configs_per_s: configs as f64 / wall,
        wall_s: wall,
        kernel_s: None,
        gflops: Some(gflops),
        peak_fraction: peak.map(|p| gflops / p),
    })
}

/// Benchmark one GPU backend (pipelines prepared outside the timed repetitions).
pub fn bench_gpu(gpu: &GpuBackend, opts: &BenchOptions) -> Result<BenchResult, BenchError> {
    let nothing = |_: u64| {};
    let configs = match opts.configs {
        Some(n) => n,
        None => {
            let probe = 1u64 << 22;
            let plan = bench_plan(probe)?;
            let mut prepared = gpu.prepare(&plan)?;
            prepared.run(0..probe, &nothing)?; // warm-up: compilation, first submissions
            let t = Instant::now();
            prepared.run(0..probe, &nothing)?;
            calibrated(probe as f64 / t.elapsed().as_secs_f64())
        }
    };
    let plan = bench_plan(configs)?;
    let mut prepared = gpu.prepare(&plan)?;
    prepared.run(0..configs.min(1 << 20), &nothing)?; // warm-up
    let mut walls = Vec::new();
    let mut kernels = Vec::new();
    for _ in 0..opts.repeats {
        let t = Instant::now();
        let (r, kernel) = prepared.run(0..configs, &nothing)?;
        walls.push(t.elapsed().as_secs_f64());
        if let Some(k) = kernel {
            kernels.push(k);
        }
        std::hint::black_box(r);
    }
    let wall = median(walls);
    let kernel_s = (kernels.len() == opts.repeats && !kernels.is_empty()).then(|| median(kernels));
    let gflops = ops_per_config(&plan) * configs as f64 / kernel_s.unwrap_or(wall) * 1e-9;
    let info = gpu.info();
    let peak = if info.device_type.as_deref() == Some("Cpu") {
        cpu_peak_gflops(
            std::thread::available_parallelism().map_or(1, |n| n.get()),
            true,
        )
    } else {
        gpu_peak_gflops(&info.name)
    };
    Ok(BenchResult {
        backend: info,
        configs,
        configs_per_s: configs as f64 / wall,
        wall_s: wall,
        kernel_s,
        gflops: Some(gflops),
        peak_fraction: peak.map(|p| gflops / p),
    })
}

/// A report around results.
pub fn report(results: Vec<BenchResult>, repeats: usize) -> BenchReport {
    BenchReport {
        schema: BENCH_SCHEMA.into(),
        host: Host {
            cpu: cpu_name(),
            threads: std::thread::available_parallelism().map_or(1, |n| n.get()),
        },
        clustersweep_version: env!("CARGO_PKG_VERSION").into(),
        wgpu_version: env!("CLUSTERSWEEP_WGPU_VERSION").into(),
        git_commit: env!("CLUSTERSWEEP_GIT_COMMIT").into(),
        date: utc_now(),
        // The grid's structure does not depend on its size; a benchmark that ran has
        // already built it, so this cannot fail here.
        ops_per_config: bench_plan(1).map_or(f64::NAN, |p| ops_per_config(&p)),
        repeats,
        results,
    }
}

/// The current UTC time as `YYYY-MM-DDTHH:MM:SSZ`.
pub fn utc_now() -> String {
    let secs = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    let (days, rem) = ((secs / 86400) as i64, secs % 86400);
    // Civil date from days since 1970-01-01 (H. Hinnant's algorithm).
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}Z",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bench_grid_holds_the_requested_size_and_keeps_the_model() {
        let small = bench_plan(1000).unwrap();
        let big = bench_plan(small.grid.size * 3 + 1).unwrap();
        assert_eq!(big.grid.size, small.grid.size * 4);
        assert_eq!(big.scenario.axes[0].param, Param::CarbonKgPerKwh);
        // The first copy of the grid is the default scenario with carbon at 0.30.
        let a = small.scenario.values_at_index(12345);
        let b = big.scenario.values_at_index(12345);
        for p in Param::all().filter(|p| *p != Param::CarbonKgPerKwh) {
            let (x, y) = (a[p.index()], b[p.index()]);
            assert!(x == y || (x.is_nan() && y.is_nan()), "{p}");
        }
        assert_eq!(b[Param::CarbonKgPerKwh.index()], CARBON_FROM);
    }

    #[test]
    fn median_and_dates() {
        assert_eq!(median(vec![3.0, 1.0, 2.0]), 2.0);
        assert_eq!(median(vec![4.0, 1.0, 2.0, 3.0]), 2.5);
        let d = utc_now();
        assert_eq!(d.len(), 20);
        assert!(d.starts_with("20"), "{d}");
    }
}
