//! criterion benchmarks of the sweep kernels on the built-in default scenario's model, over
//! the flat ranges `0..2^20` and `0..2^24` (`Throughput::Elements`, so criterion reports
//! configurations per second):
//!
//! - `cpu_kernel/eval_range_1_thread`: [`StagedKernel::eval_range`] on the calling thread,
//!   all reductions included (the model is traced once, outside the timed loop);
//! - `cpu_kernel/counts_only_1_thread`: the same kernel reducing only the counts, to show
//!   what the other reductions cost;
//! - `cpu_kernel/run_all_threads`: `CpuBackend::run` on one thread per core (the count is
//!   printed, not put in the id);
//! - `gpu_kernel/prepared_sweep`: a [`PreparedSweep`] on the first adapter wgpu picks
//!   (discrete before integrated before CPU-type ones such as lavapipe). Pipelines and
//!   tables are prepared outside the timed loop; each iteration is timed by the device's
//!   timestamp queries (summed kernel time of every pass) where it has them, by wall time
//!   otherwise (the adapter and which time are printed, not put in the id). Without an
//!   adapter the GPU benchmarks are skipped with a message. On a CPU-type adapter the 2^24
//!   case is skipped (it takes seconds per iteration there).
//!
//! Benchmark ids hold nothing of the machine (no thread count, adapter name or timing
//! method), so that `cargo bench --bench kernel -- --save-baseline NAME` on one machine and
//! `-- --baseline NAME` on another compare the same ids (docs/benchmarks.md, criterion).
//!
//! Samples are few and short (`sample_size(10)`, flat sampling) so that `cargo bench`
//! finishes in a few minutes on a 2-core machine with lavapipe. Run with
//! `cargo bench --bench kernel`; pick one with e.g. `cargo bench --bench kernel -- gpu`.

use clustersweep::backend::cpu::CpuBackend;
use clustersweep::backend::gpu::{GpuBackend, GpuOptions, PreparedSweep};
use clustersweep::backend::staged::StagedKernel;
use clustersweep::backend::Backend;
use clustersweep::catalog::Catalog;
use clustersweep::plan::SweepPlan;
use clustersweep::scenario::Scenario;
use criterion::{
    criterion_group, criterion_main, BenchmarkId, Criterion, SamplingMode, Throughput,
};
use std::hint::black_box;
use std::time::{Duration, Instant};

/// Range sizes benchmarked.
const SIZES: [u64; 2] = [1 << 20, 1 << 24];

/// Benchmark ids that are the same on every machine (the thread count, adapter and timing
/// method are printed instead).
const CPU_ALL_THREADS_ID: &str = "run_all_threads";
const GPU_ID: &str = "prepared_sweep";

fn default_plan() -> SweepPlan {
    let catalog = Catalog::builtin().expect("built-in catalog");
    let scenario = Scenario::builtin_default(&catalog).expect("built-in default scenario");
    let plan = SweepPlan::new(scenario, None).expect("plan of the default scenario");
    assert!(
        plan.grid.size >= SIZES[1],
        "default grid of {} configurations is smaller than 2^24",
        plan.grid.size
    );
    plan
}

fn cpu_kernel(c: &mut Criterion) {
    let plan = default_plan();
    let cpu = CpuBackend::new(0).expect("CPU threads");
    let kernel = StagedKernel::new(&plan);
    println!(
        "CPU benchmarks: run_all_threads uses {} threads",
        cpu.threads()
    );
    let mut g = c.benchmark_group("cpu_kernel");
    g.sample_size(10)
        .sampling_mode(SamplingMode::Flat)
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(3));
    for n in SIZES {
        g.throughput(Throughput::Elements(n));
        g.bench_with_input(BenchmarkId::new("eval_range_1_thread", n), &n, |b, &n| {
            b.iter(|| black_box(kernel.eval_range(&plan, 0..n)))
        });
        g.bench_with_input(BenchmarkId::new("counts_only_1_thread", n), &n, |b, &n| {
            b.iter(|| black_box(kernel.eval_range_counts_only(&plan, 0..n)))
        });
        g.bench_with_input(BenchmarkId::new(CPU_ALL_THREADS_ID, n), &n, |b, &n| {
            b.iter(|| match cpu.run(&plan, 0..n, &|_| {}) {
                Ok(r) => black_box(r),
                Err(e) => panic!("CPU backend failed: {}", e.message),
            })
        });
    }
    g.finish();
}

/// Time `iters` runs of `0..n`: summed kernel time when `timestamps`, else wall time.
fn timed_runs(prepared: &mut PreparedSweep<'_>, n: u64, iters: u64, timestamps: bool) -> Duration {
    let mut total = Duration::ZERO;
    for _ in 0..iters {
        let t = Instant::now();
        match prepared.run(0..n, &|_| {}) {
            Ok((r, kernel)) => {
                let wall = t.elapsed();
                black_box(r);
                total += match kernel {
                    Some(s) if timestamps => Duration::from_secs_f64(s),
                    _ => wall,
                };
            }
            Err(e) => panic!("GPU benchmark run failed: {}", e.message),
        }
    }
    total
}

fn gpu_kernel(c: &mut Criterion) {
    let gpu = match GpuBackend::open(None, true, GpuOptions::default()) {
        Ok(g) => g,
        Err(e) => {
            println!("no GPU adapter: skipping GPU benchmarks ({e})");
            return;
        }
    };
    let info = gpu.adapter_info().clone();
    let cpu_type = info.device_type == wgpu::DeviceType::Cpu;
    let timestamps = gpu.has_timestamps();
    println!(
        "GPU benchmarks on `{}` ({:?}, {:?}); timing: {}",
        info.name,
        info.backend,
        info.device_type,
        if timestamps {
            "kernel time from timestamp queries"
        } else {
            "wall time (no timestamp queries on this device)"
        }
    );
    let plan = default_plan();
    let mut prepared = match gpu.prepare(&plan) {
        Ok(p) => p,
        Err(e) => {
            println!(
                "GPU adapter `{}` cannot prepare the sweep: {e}; skipping GPU benchmarks",
                info.name
            );
            return;
        }
    };
    // Untimed warm-up: first submissions, and the adaptive chunk size settles.
    timed_runs(&mut prepared, SIZES[0], 2, timestamps);
    let mut g = c.benchmark_group("gpu_kernel");
    g.sample_size(10)
        .sampling_mode(SamplingMode::Flat)
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(3));
    for n in SIZES {
        if cpu_type && n > SIZES[0] {
            println!(
                "skipping the {n}-configuration GPU benchmark on CPU-type adapter `{}` (too slow)",
                info.name
            );
            continue;
        }
        g.throughput(Throughput::Elements(n));
        g.bench_with_input(BenchmarkId::new(GPU_ID, n), &n, |b, &n| {
            b.iter_custom(|iters| timed_runs(&mut prepared, n, iters, timestamps))
        });
    }
    g.finish();
}

criterion_group!(benches, cpu_kernel, gpu_kernel);
criterion_main!(benches);
