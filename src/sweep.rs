//! The sweep driver: runs a backend over the whole grid of a plan, lets an optional
//! fallback backend finish the remaining indices if the first one fails, and re-runs the
//! sweep exactly (f64) when an inexact backend reported a configuration the f64 model finds
//! infeasible; then hands the reductions to [`summarise`].

use crate::backend::cpu::CpuBackend;
use crate::backend::{Backend, BackendError};
use crate::draws::over_draws;
use crate::model::{evaluate, is_feasible};
use crate::plan::SweepPlan;
use crate::reduce::Reductions;
use crate::summary::{summarise_known, KnownDraws, Summary};
use rayon::prelude::*;
use std::time::Instant;

/// What a range of the grid gave: its reductions, the backend that produced them (the exact
/// one when the sweep was re-run), notices about how the run went, and the reported
/// configurations' draws that the f64 re-check already evaluated (for the summary).
pub struct RangeResult {
    pub reductions: Reductions,
    pub backend: crate::backend::BackendInfo,
    pub notices: Vec<String>,
    pub draws: KnownDraws,
}

/// Run `primary` over the whole grid; if it fails part-way and a `fallback` is given, the
/// fallback evaluates what remains (and a notice says so).
pub fn run_sweep(
    plan: &SweepPlan,
    primary: &dyn Backend,
    fallback: Option<&dyn Backend>,
    progress: &(dyn Fn(u64) + Sync),
) -> Result<Summary, BackendError> {
    let start = Instant::now();
    let r = sweep_range(plan, 0..plan.grid.size, primary, fallback, progress)?;
    let elapsed_s = start.elapsed().as_secs_f64();
    let mut summary = summarise_known(plan, &r.reductions, r.backend, elapsed_s, &r.draws);
    summary.notices = r.notices;
    Ok(summary)
}

/// Evaluate `range` of the grid with `primary` (the fallback finishing what a failed primary
/// left), and re-run it exactly when an inexact backend reported a configuration the f64
/// model finds infeasible. Shards and checkpoints run ranges; [`run_sweep`] the whole grid.
pub fn sweep_range(
    plan: &SweepPlan,
    range: std::ops::Range<u64>,
    primary: &dyn Backend,
    fallback: Option<&dyn Backend>,
    progress: &(dyn Fn(u64) + Sync),
) -> Result<RangeResult, BackendError> {
    let mut notices = Vec::new();
    // The backend that evaluated the range: the fallback when the primary did nothing
    // (e.g. a plan the GPU kernels refuse).
    let mut info = primary.info();
    let reductions = match primary.run(plan, range.clone(), progress) {
        Ok(r) => r,
        Err(err) => match fallback {
            None => return Err(err),
            Some(fb) => {
                notices.push(format!(
                    "{} failed ({}); the remaining {} configurations ran on {}",
                    primary.info().name,
                    err.message,
                    err.remaining.end - err.remaining.start,
                    fb.info().name
                ));
                let mut done = err
                    .done
                    .map(|b| *b)
                    .unwrap_or_else(|| Reductions::empty(plan));
                if err.remaining == range {
                    info = fb.info();
                }
                let rest = fb.run(plan, err.remaining.clone(), progress)?;
                done.merge(&rest, &plan.scenario.objective);
                done
            }
        },
    };
    let mut reductions = reductions;
    if reductions.on_cpu > 0 {
        notices.push(format!(
            "{} configurations in GPU summation tiles with more than {} configurations within {:.1e} (relative) of a constraint bound were evaluated on the CPU",
            reductions.on_cpu,
            crate::backend::gpu::BAND_CAP,
            crate::backend::gpu::CONSTRAINT_SLACK
        ));
    }
    let mut draws = KnownDraws::new();
    if !primary.exact() {
        let (infeasible, known) = first_infeasible_candidate(plan, &reductions);
        draws = known;
        if let Some(index) = infeasible {
            // The device's f32 constraint check admitted a configuration that the f64 model
            // puts just outside a bound: the reductions may then miss the true best, so
            // evaluate the range again exactly.
            let cpu;
            let exact: &dyn Backend = match fallback {
                Some(fb) if fb.exact() => fb,
                _ => {
                    cpu = CpuBackend::new(0)?;
                    &cpu
                }
            };
            notices.push(format!(
                "configuration {index}, reported by {}, is just outside a constraint bound in f64 (f32 rounding); the sweep was re-run on {}",
                info.name,
                exact.info().name
            ));
            reductions = exact.run(plan, range, progress)?;
            info = exact.info();
        }
    }
    Ok(RangeResult {
        reductions,
        backend: info,
        notices,
        draws,
    })
}

/// The first reported configuration (best, group leader, Pareto bin or heatmap cell leader)
/// that the f64 model finds infeasible, if any (checked in parallel on rayon's global pool),
/// and, under uncertainty, every candidate's draws (each check evaluates them all; the
/// summary reuses them).
pub fn first_infeasible_candidate(plan: &SweepPlan, r: &Reductions) -> (Option<u64>, KnownDraws) {
    let s = &plan.scenario;
    let candidates: Vec<u64> = r
        .best
        .iter()
        .chain(r.best_by.iter().flatten())
        .chain(r.pareto.iter().flatten())
        .chain(r.heatmap.iter().filter_map(|c| c.best.as_ref()))
        .map(|c| c.index)
        .collect();
    if s.uncertainty.is_some() {
        let draws: Vec<(u64, crate::draws::DrawStats)> = candidates
            .into_par_iter()
            .map(|i| (i, over_draws(s, &plan.values_at(i), None)))
            .collect();
        let first = draws.iter().find(|(_, d)| !d.feasible(s)).map(|(i, _)| *i);
        return (first, draws.into_iter().collect());
    }
    let first = candidates.into_par_iter().find_first(|&i| {
        let (cfg, acc) = s.resolve(&plan.values_at(i));
        !is_feasible(&evaluate(&cfg, acc, &s.workload), &s.constraints)
    });
    (first, KnownDraws::new())
}
