//! The CPU backend: evaluates index ranges on all cores with rayon, in f64, with memory
//! independent of grid size. The range is cut into pieces evaluated in parallel in waves;
//! each wave's reductions are merged in index order, so results do not depend on the
//! number of threads. Within a piece the grid is walked with an odometer (no division per
//! axis) and the clock factor and goodput are recomputed only when their inputs change.

use super::{Backend, BackendError, BackendInfo, Progress};
use crate::grid::{Grid, Odometer};
use crate::model::{clock_factor, evaluate_with, goodput, is_feasible, Metric};
use crate::plan::SweepPlan;
use crate::reduce::Reductions;
use rayon::prelude::*;
use std::ops::Range;

/// Configurations per piece (a unit of parallel work and of progress).
const PIECE: u64 = 1 << 18;

/// The CPU backend.
pub struct CpuBackend {
    pool: rayon::ThreadPool,
}

impl CpuBackend {
    /// A backend on `threads` threads (0 = one per core).
    pub fn new(threads: usize) -> Result<CpuBackend, BackendError> {
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(threads)
            .build()
            .map_err(|e| BackendError {
                message: format!("cannot start CPU threads: {e}"),
                done: None,
                remaining: 0..0,
            })?;
        Ok(CpuBackend { pool })
    }

    pub fn threads(&self) -> usize {
        self.pool.current_num_threads()
    }
}

/// The CPU model name from /proc/cpuinfo (or the architecture).
pub fn cpu_name() -> String {
    std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("model name"))
                .and_then(|l| l.split(':').nth(1))
                .map(|s| s.trim().to_string())
        })
        .unwrap_or_else(|| std::env::consts::ARCH.to_string())
}

impl Backend for CpuBackend {
    fn info(&self) -> BackendInfo {
        BackendInfo {
            kind: "cpu".into(),
            name: format!("{} ({} threads)", cpu_name(), self.threads()),
            api: None,
            device_type: None,
            driver: None,
        }
    }

    fn run(
        &self,
        plan: &SweepPlan,
        range: Range<u64>,
        progress: Progress<'_>,
    ) -> Result<Reductions, BackendError> {
        let mut total = Reductions::empty(plan);
        let wave = PIECE * 4 * self.threads() as u64;
        self.pool.install(|| {
            for wave_range in Grid::split(range, wave) {
                let pieces: Vec<Range<u64>> = Grid::split(wave_range, PIECE).collect();
                let parts: Vec<Reductions> = pieces
                    .into_par_iter()
                    .map(|r| {
                        let n = r.end - r.start;
                        let red = eval_range(plan, r);
                        progress(n);
                        red
                    })
                    .collect();
                for p in &parts {
                    total.merge(p, &plan.scenario.objective);
                }
            }
        });
        Ok(total)
    }
}

/// Evaluate and reduce one contiguous range on the calling thread.
pub fn eval_range(plan: &SweepPlan, range: Range<u64>) -> Reductions {
    let s = &plan.scenario;
    let objective = s.objective;
    let constraints = s.constraints;
    let mut red = Reductions::empty(plan);
    if range.is_empty() {
        return red;
    }
    let mut od = Odometer::at(&plan.grid, range.start);
    let mut vals = s.values_at(&od.digits);
    // Cached sub-expressions and the inputs they were computed from.
    let mut clock_key = (f64::NAN, usize::MAX);
    let mut clock = 0.0;
    let mut goodput_key = [f64::NAN; 5];
    let mut good = 0.0;
    for index in range.clone() {
        let (cfg, acc) = s.resolve(&vals);
        let acc_code = vals[crate::params::Param::Accelerator.index()] as usize;
        if clock_key != (cfg.power_w, acc_code) {
            clock_key = (cfg.power_w, acc_code);
            clock = clock_factor(cfg.power_w, acc);
        }
        let gk = [
            cfg.gpu_count,
            cfg.job_gpus,
            cfg.mtbf_hours,
            cfg.checkpoint_s,
            cfg.restart_s,
        ];
        if gk != goodput_key {
            goodput_key = gk;
            good = goodput(&cfg);
        }
        let e = evaluate_with(&cfg, acc, &s.workload, clock, good);
        red.evaluated += 1;
        if !e.valid {
            red.invalid += 1;
        } else if is_feasible(&e, &constraints) {
            let group = plan.group_of(&od.digits);
            let bin = plan.pareto.bin(e.metrics[Metric::FacilityMw as usize]);
            red.add_feasible(index, &e.metrics, &objective, group, bin);
        }
        if index + 1 < range.end {
            if let Some(level) = od.advance() {
                for (k, axis) in s.axes.iter().enumerate().skip(level) {
                    vals[axis.param.index()] = axis.values[od.digits[k] as usize];
                }
            }
        }
    }
    red
}
