//! `clustersweep bench`: measure the sweep kernel on every backend over one named workload,
//! for comparing machines and builds. Owns the workloads (`default`: the built-in default
//! scenario's grid or its first N configurations; `synthetic`: that grid with an extra outer
//! axis, as large as asked), warm-up and timed repetitions, the nominal operation count per
//! configuration, the peaks "fraction of peak" is measured against, and the
//! `clustersweep.bench/2` document. Statistics are [`crate::timing_stats`]'s, the machine
//! description [`crate::machine`]'s, comparing two documents [`crate::bench_compare`]'s, and
//! rendering [`crate::report::bench`]'s.

use crate::backend::cpu::CpuBackend;
use crate::backend::gpu::{GpuBackend, GpuError};
use crate::backend::{Backend, BackendError, BackendInfo};
use crate::catalog::Catalog;
use crate::input::InputError;
use crate::machine::{AdapterDescription, BuildDescription, Machine};
use crate::params::Param;
use crate::plan::{PlanError, SweepPlan};
use crate::scenario::{Axis, Scenario, Source};
use crate::timing_stats::{timing_stats, TimingStats};
use serde::{Deserialize, Serialize};
use std::ops::Range;
use std::time::Instant;

/// Schema name of the bench document.
pub const BENCH_SCHEMA: &str = "clustersweep.bench/2";

/// The most timed repetitions and warm-up runs `bench` accepts.
pub const MAX_REPEATS: usize = 1000;
pub const MAX_WARMUP: usize = 100;

/// What the label of the FLOP figure says it is, in the table as in the JSON.
pub const NOMINAL_GFLOPS_BASIS: &str =
    "nominal FLOPs per configuration (counted from the traced model) x configurations/s";

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
    /// Options out of range (sizes, repetitions).
    #[error("{0}")]
    Options(String),
}

/// The named workloads.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum WorkloadKind {
    /// The built-in default scenario's grid, or its first `--configs` configurations.
    Default,
    /// The default scenario's grid with an extra outer `carbon_kg_per_kwh` axis, as many
    /// configurations as `--configs` (or sized for about 1 s per repetition per backend).
    Synthetic,
}

impl WorkloadKind {
    pub fn name(self) -> &'static str {
        match self {
            WorkloadKind::Default => "default",
            WorkloadKind::Synthetic => "synthetic",
        }
    }
}

/// The workload every backend of one `bench` run measured.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct Workload {
    /// `default` or `synthetic`.
    pub name: String,
    /// Configurations per repetition, the same for every backend; null when each backend
    /// was sized for about one second (`synthetic` without `--configs`: see each result's
    /// `configs`).
    pub configs: Option<u64>,
    /// The built-in scenario it is made from, the SHA-256 of its text, and its grid size.
    pub scenario: String,
    pub scenario_sha256: String,
    pub scenario_configs: u64,
    /// What is run, in words.
    pub definition: String,
}

/// The peak a "fraction of peak" is measured against.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct Peak {
    /// GFLOP/s.
    pub gflops: f64,
    /// `f64` (the CPU kernel) or `f32` (the WGSL kernels).
    pub precision: String,
    /// How it was obtained, with the numbers put in.
    pub formula: String,
}

/// One backend's measurement.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct BenchResult {
    /// The backend object, as in the summary's `run.backend`.
    pub backend: BackendInfo,
    /// The GPU adapter (wgpu's AdapterInfo); null for the CPU backend.
    pub adapter: Option<AdapterDescription>,
    /// CPU threads the backend used (the CPU backend's pool; null for a GPU).
    pub threads_used: Option<usize>,
    /// Configurations per repetition.
    pub configs: u64,
    /// Unmeasured runs before the timed ones.
    pub warmup: usize,
    /// Wall time of every timed repetition, seconds, in the order run.
    pub wall_s: Vec<f64>,
    /// GPU kernel time of every repetition (timestamp queries); null where not measurable.
    pub kernel_s: Option<Vec<f64>>,
    /// Statistics of `wall_s` and of `kernel_s`.
    pub wall: TimingStats,
    pub kernel: Option<TimingStats>,
    /// `configs` / mean wall time.
    pub configs_per_s: f64,
    /// Nominal floating-point operations per configuration ([`ops_per_config`]).
    pub nominal_flops_per_config: f64,
    /// `nominal_flops_per_config` x `configs` / mean time x 1e-9, the time being the mean
    /// kernel time where measured, else the mean wall time (`nominal_gflops_time`).
    pub nominal_gflops: f64,
    pub nominal_gflops_time: String,
    /// What `nominal_gflops` is ([`NOMINAL_GFLOPS_BASIS`]).
    pub nominal_gflops_basis: String,
    /// The peak `peak_fraction` is measured against, where known.
    pub peak: Option<Peak>,
    /// `nominal_gflops` / `peak.gflops`.
    pub peak_fraction: Option<f64>,
}

/// A `clustersweep.bench/2` document.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct BenchReport {
    pub schema: String,
    /// UTC, ISO 8601.
    pub date: String,
    pub build: BuildDescription,
    pub machine: Machine,
    pub workload: Workload,
    /// Warm-up runs and timed repetitions per backend.
    pub warmup: usize,
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

/// How to measure.
#[derive(Clone, Debug)]
pub struct BenchOptions {
    pub workload: WorkloadKind,
    /// Configurations per repetition; `None`: the whole default grid (`default`), or sized
    /// for about one second per repetition on each backend (`synthetic`).
    pub configs: Option<u64>,
    /// Unmeasured runs before the timed ones.
    pub warmup: usize,
    /// Timed repetitions (1 ..= [`MAX_REPEATS`]).
    pub repeats: usize,
    /// CPU threads (0: one per logical core).
    pub threads: usize,
}

/// The built-in default scenario.
fn default_scenario() -> Result<Scenario, BenchError> {
    let catalog = Catalog::builtin()?;
    Ok(Scenario::builtin_default(&catalog)?)
}

/// The most configurations one repetition of `kind` can evaluate.
pub fn max_workload_configs(kind: WorkloadKind) -> Result<u64, BenchError> {
    match kind {
        WorkloadKind::Default => Ok(default_scenario()?.grid().size),
        WorkloadKind::Synthetic => max_configs(),
    }
}

/// The plan and the flat index range one repetition of the workload evaluates.
pub fn workload_plan(
    kind: WorkloadKind,
    configs: u64,
) -> Result<(SweepPlan, Range<u64>), BenchError> {
    let most = max_workload_configs(kind)?;
    if configs == 0 || configs > most {
        return Err(BenchError::Options(format!(
            "--configs: {configs} is outside 1 ..= {most} for the {} workload",
            kind.name()
        )));
    }
    let plan = match kind {
        WorkloadKind::Default => SweepPlan::new(default_scenario()?, None)?,
        WorkloadKind::Synthetic => bench_plan(configs)?,
    };
    Ok((plan, 0..configs))
}

/// The workload of a run, described for the document.
pub fn describe_workload(opts: &BenchOptions) -> Result<Workload, BenchError> {
    let s = default_scenario()?;
    let n = s.grid().size;
    let axes: Vec<String> = s
        .axes
        .iter()
        .map(|a| format!("{} ({})", a.param, a.values.len()))
        .collect();
    let grid = format!("{} = {n} configurations", axes.join(" x "));
    let name = s.name.clone();
    let definition = match (opts.workload, opts.configs) {
        (WorkloadKind::Default, None) => {
            format!("the whole grid of the built-in default scenario `{name}`: {grid}")
        }
        (WorkloadKind::Default, Some(c)) => format!(
            "the first {c} configurations (flat indices 0..{c}) of the built-in default scenario `{name}`'s grid: {grid}"
        ),
        (WorkloadKind::Synthetic, c) => format!(
            "the built-in default scenario `{name}`'s grid ({grid}) with an extra outermost axis carbon_kg_per_kwh, linear from {CARBON_FROM} to {CARBON_TO} (it changes only CO2), as many values as hold {}; flat indices 0..configs",
            c.map_or("each backend's size (about 1 s per repetition)".to_string(), |c| format!("{c} configurations"))
        ),
    };
    Ok(Workload {
        name: opts.workload.name().into(),
        configs: match opts.workload {
            WorkloadKind::Default => Some(opts.configs.unwrap_or(n)),
            WorkloadKind::Synthetic => opts.configs,
        },
        scenario: name,
        scenario_sha256: crate::provenance::sha256_hex(
            crate::scenario::DEFAULT_SCENARIO.as_bytes(),
        ),
        scenario_configs: n,
        definition,
    })
}

/// Peak GFLOP/s of this CPU's cores: threads x clock x vector lanes x 2 (FMA) x 2 FMA
/// pipes, in f64 (the CPU kernel) or f32 (twice the lanes), with the clock from
/// `/proc/cpuinfo` (`cpu MHz`); `None` where the clock is not listed.
pub fn cpu_peak(threads: usize, f32_math: bool) -> Option<Peak> {
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
    let (f64_lanes, isa) = if std::arch::is_x86_feature_detected!("avx512f") {
        (8.0, "AVX-512")
    } else if std::arch::is_x86_feature_detected!("avx2") {
        (4.0, "AVX2")
    } else {
        (2.0, "SSE2")
    };
    #[cfg(not(target_arch = "x86_64"))]
    let (f64_lanes, isa) = (2.0, "128-bit vectors");
    let lanes = if f32_math { f64_lanes * 2.0 } else { f64_lanes };
    let gflops = threads as f64 * mhz * 1e-3 * lanes * 2.0 * 2.0;
    let precision = if f32_math { "f32" } else { "f64" };
    Some(Peak {
        gflops,
        precision: precision.into(),
        formula: format!(
            "{threads} threads x {:.3} GHz (/proc/cpuinfo cpu MHz) x {lanes} {precision} lanes ({isa}) x 2 (FMA) x 2 FMA pipes = {gflops:.1} GFLOP/s",
            mhz * 1e-3
        ),
    })
}

/// The peak of a GPU adapter: a CPU-type adapter (lavapipe, SwiftShader) against the CPU's
/// f32 peak on every logical thread; a known GPU against its datasheet FP32 rate.
pub fn gpu_peak(info: &wgpu::AdapterInfo) -> Option<Peak> {
    if info.device_type == wgpu::DeviceType::Cpu {
        let threads = std::thread::available_parallelism().map_or(1, |n| n.get());
        return cpu_peak(threads, true).map(|p| Peak {
            formula: format!("a software adapter on the CPU: {}", p.formula),
            ..p
        });
    }
    let (gflops, source) = gpu_peak_gflops(&info.name)?;
    Some(Peak {
        gflops,
        precision: "f32".into(),
        formula: format!("non-tensor FP32 rate, {source}"),
    })
}

/// Peak non-tensor FP32 GFLOP/s of known GPUs (vendor datasheets), by adapter name, with
/// the datasheet.
pub fn gpu_peak_gflops(name: &str) -> Option<(f64, &'static str)> {
    let n = name.to_ascii_lowercase();
    let table: [(&str, f64, &str); 4] = [
        (
            "h100",
            66_900.0,
            "NVIDIA H100 SXM datasheet: FP32 67 TFLOPS",
        ),
        (
            "h200",
            66_900.0,
            "NVIDIA H200 SXM datasheet: FP32 67 TFLOPS",
        ),
        ("a100", 19_500.0, "NVIDIA A100 datasheet: FP32 19.5 TFLOPS"),
        ("l40s", 91_600.0, "NVIDIA L40S datasheet: FP32 91.6 TFLOPS"),
    ];
    table
        .iter()
        .find(|(k, _, _)| n.contains(k))
        .map(|(_, v, s)| (*v, *s))
}

fn calibrated(rate: f64) -> u64 {
    // About one second per repetition, a power of two, at least 2^20.
    let target = rate.max(1.0);
    let p = target.log2().round().clamp(20.0, 40.0);
    2f64.powf(p) as u64
}

/// Configurations per repetition for `opts` on a backend whose rate `probe` measures
/// (called only for `synthetic` without `--configs`).
fn size_for(
    opts: &BenchOptions,
    probe: impl FnOnce() -> Result<f64, BenchError>,
) -> Result<u64, BenchError> {
    if opts.repeats == 0 || opts.repeats > MAX_REPEATS || opts.warmup > MAX_WARMUP {
        return Err(BenchError::Options(format!(
            "--repeats must be within 1 ..= {MAX_REPEATS} and --warmup within 0 ..= {MAX_WARMUP}"
        )));
    }
    match (opts.workload, opts.configs) {
        (_, Some(n)) => Ok(n),
        (WorkloadKind::Default, None) => max_workload_configs(WorkloadKind::Default),
        (WorkloadKind::Synthetic, None) => Ok(calibrated(probe()?)),
    }
}

/// The result around measured times.
#[allow(clippy::too_many_arguments)]
fn measured(
    backend: BackendInfo,
    adapter: Option<AdapterDescription>,
    threads_used: Option<usize>,
    configs: u64,
    warmup: usize,
    wall_s: Vec<f64>,
    kernel_s: Option<Vec<f64>>,
    flops: f64,
    peak: Option<Peak>,
) -> Result<BenchResult, BenchError> {
    let none = || BenchError::Options("--repeats: no repetition was timed".into());
    let wall = timing_stats(&wall_s).ok_or_else(none)?;
    let kernel = kernel_s.as_deref().and_then(timing_stats);
    let (time, which) = match &kernel {
        Some(k) => (k.mean, "kernel"),
        None => (wall.mean, "wall"),
    };
    let nominal_gflops = flops * configs as f64 / time * 1e-9;
    Ok(BenchResult {
        backend,
        adapter,
        threads_used,
        configs,
        warmup,
        configs_per_s: configs as f64 / wall.mean,
        wall_s,
        kernel_s,
        wall,
        kernel,
        nominal_flops_per_config: flops,
        nominal_gflops,
        nominal_gflops_time: which.into(),
        nominal_gflops_basis: NOMINAL_GFLOPS_BASIS.into(),
        peak_fraction: peak.as_ref().map(|p| nominal_gflops / p.gflops),
        peak,
    })
}

/// Benchmark the CPU backend: `warmup` unmeasured runs, then `repeats` timed ones.
pub fn bench_cpu(opts: &BenchOptions) -> Result<BenchResult, BenchError> {
    let cpu = CpuBackend::new(opts.threads)?;
    let nothing = |_: u64| {};
    let configs = size_for(opts, || {
        let probe = 1u64 << 22;
        let plan = bench_plan(probe)?;
        let t = Instant::now();
        cpu.run(&plan, 0..probe, &nothing)?;
        Ok(probe as f64 / t.elapsed().as_secs_f64())
    })?;
    let (plan, range) = workload_plan(opts.workload, configs)?;
    for _ in 0..opts.warmup {
        std::hint::black_box(cpu.run(&plan, range.clone(), &nothing)?);
    }
    let mut walls = Vec::with_capacity(opts.repeats);
    for _ in 0..opts.repeats {
        let t = Instant::now();
        let r = cpu.run(&plan, range.clone(), &nothing)?;
        walls.push(t.elapsed().as_secs_f64());
        std::hint::black_box(r);
    }
    measured(
        cpu.info(),
        None,
        Some(cpu.threads()),
        configs,
        opts.warmup,
        walls,
        None,
        ops_per_config(&plan),
        cpu_peak(cpu.threads(), false),
    )
}

/// Benchmark one GPU backend: pipelines prepared and `warmup` runs made outside the timed
/// repetitions.
pub fn bench_gpu(gpu: &GpuBackend, opts: &BenchOptions) -> Result<BenchResult, BenchError> {
    let nothing = |_: u64| {};
    let configs = size_for(opts, || {
        let probe = 1u64 << 22;
        let plan = bench_plan(probe)?;
        let mut prepared = gpu.prepare(&plan)?;
        prepared.run(0..probe, &nothing)?; // compilation, first submissions
        let t = Instant::now();
        prepared.run(0..probe, &nothing)?;
        Ok(probe as f64 / t.elapsed().as_secs_f64())
    })?;
    let (plan, range) = workload_plan(opts.workload, configs)?;
    let mut prepared = gpu.prepare(&plan)?;
    for _ in 0..opts.warmup {
        std::hint::black_box(prepared.run(range.clone(), &nothing)?);
    }
    let mut walls = Vec::with_capacity(opts.repeats);
    let mut kernels = Vec::with_capacity(opts.repeats);
    for _ in 0..opts.repeats {
        let t = Instant::now();
        let (r, kernel) = prepared.run(range.clone(), &nothing)?;
        walls.push(t.elapsed().as_secs_f64());
        kernels.extend(kernel);
        std::hint::black_box(r);
    }
    let kernel_s = (kernels.len() == walls.len()).then_some(kernels);
    let info = gpu.adapter_info();
    measured(
        gpu.info(),
        Some(AdapterDescription::from_wgpu(info)),
        None,
        configs,
        opts.warmup,
        walls,
        kernel_s,
        ops_per_config(&plan),
        gpu_peak(info),
    )
}

/// The document around results.
pub fn report(
    workload: Workload,
    warmup: usize,
    repeats: usize,
    results: Vec<BenchResult>,
) -> BenchReport {
    BenchReport {
        schema: BENCH_SCHEMA.into(),
        date: crate::provenance::utc_now(),
        build: crate::machine::build_description(),
        machine: crate::machine::describe_machine(),
        workload,
        warmup,
        repeats,
        results,
    }
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
    fn workloads_are_sized_and_bounded() {
        let grid = max_workload_configs(WorkloadKind::Default).unwrap();
        let (plan, range) = workload_plan(WorkloadKind::Default, 1000).unwrap();
        assert_eq!((plan.grid.size, range), (grid, 0..1000));
        assert!(workload_plan(WorkloadKind::Default, grid + 1).is_err());
        assert!(workload_plan(WorkloadKind::Synthetic, 0).is_err());
        let (plan, range) = workload_plan(WorkloadKind::Synthetic, grid * 2).unwrap();
        assert_eq!((plan.grid.size, range), (grid * 2, 0..grid * 2));
        let opts = BenchOptions {
            workload: WorkloadKind::Default,
            configs: None,
            warmup: 1,
            repeats: 3,
            threads: 1,
        };
        let w = describe_workload(&opts).unwrap();
        assert_eq!((w.name.as_str(), w.configs), ("default", Some(grid)));
        assert_eq!(w.scenario_configs, grid);
        assert!(w.definition.contains(&grid.to_string()), "{}", w.definition);
    }
}
