//! The CPU backend: evaluates index ranges on all cores with rayon, in f64, with memory
//! independent of grid size. The range is cut into pieces evaluated in parallel in waves;
//! each wave's reductions are merged in index order, so results do not depend on the
//! number of threads. The kernel itself (traced once per sweep, shared by the threads) is
//! [`super::staged`].

use super::staged::{evaluation_order, MonteCarloKernel, StagedKernel};
use super::{Backend, BackendError, BackendInfo, Progress};
use crate::grid::Grid;
use crate::plan::SweepPlan;
use crate::reduce::Reductions;
use rayon::prelude::*;
use std::ops::Range;

/// Configurations per piece (a unit of parallel work and of progress).
const PIECE: u64 = 1 << 18;

/// Evaluations (configurations x draws) per piece of a Monte Carlo sweep: about 20 ms of one
/// thread here, so that each piece's fixed work (its empty reductions, its first
/// configuration's every step, the merge) stays small beside its draws.
const MC_PIECE_EVALUATIONS: u64 = 1 << 21;

/// The CPU backend.
pub struct CpuBackend {
    pool: rayon::ThreadPool,
    /// Configurations per piece when fixed (`None`: [`PIECE`], or about as many evaluations
    /// under uncertainty). Results do not depend on it (tests/determinism.rs).
    piece: Option<u64>,
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
        Ok(CpuBackend { pool, piece: None })
    }

    /// The same backend with pieces of `piece` configurations (`None` or 0: the default).
    pub fn with_piece(mut self, piece: Option<u64>) -> CpuBackend {
        self.piece = piece.filter(|&p| p > 0);
        self
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
        if plan.scenario.uncertainty.is_some() {
            // Each configuration is `samples` evaluations: pieces of about PIECE of them.
            let kernel = MonteCarloKernel::new(plan);
            let piece = self
                .piece
                .unwrap_or((MC_PIECE_EVALUATIONS / plan.scenario.samples() as u64).max(1));
            return Ok(self.in_pieces(plan, range, piece, progress, |r, known| {
                kernel.eval_range(plan, r, known)
            }));
        }
        // The whole grid is walked in the order that makes the least work (its ranges are
        // then not ranges of scenario indices, so a part of the grid keeps the scenario's).
        let (walked, kernel) = if range == (0..plan.grid.size) {
            let (walked, kernel) = StagedKernel::in_order(plan, &evaluation_order(plan));
            (std::borrow::Cow::Owned(walked), kernel)
        } else {
            (std::borrow::Cow::Borrowed(plan), StagedKernel::new(plan))
        };
        let plan = walked.as_ref();
        let piece = self.piece.unwrap_or(PIECE);
        Ok(self.in_pieces(plan, range, piece, progress, |r, _| {
            kernel.eval_range(plan, r)
        }))
    }
}

impl CpuBackend {
    /// Evaluate `range` in pieces of `piece` indices on the pool, in waves; each wave's
    /// reductions are merged in index order. `eval` gets a piece and the reductions of the
    /// waves before it.
    fn in_pieces(
        &self,
        plan: &SweepPlan,
        range: Range<u64>,
        piece: u64,
        progress: Progress<'_>,
        eval: impl Fn(Range<u64>, &Reductions) -> Reductions + Sync,
    ) -> Reductions {
        let mut total = Reductions::empty(plan);
        let wave = piece * 4 * self.threads() as u64;
        self.pool.install(|| {
            for wave_range in Grid::split(range, wave) {
                let pieces: Vec<Range<u64>> = Grid::split(wave_range, piece).collect();
                let parts: Vec<Reductions> = pieces
                    .into_par_iter()
                    .map(|r| {
                        let n = r.end - r.start;
                        let red = eval(r, &total);
                        progress(n);
                        red
                    })
                    .collect();
                for p in &parts {
                    total.merge(p, &plan.scenario.objective);
                }
            }
        });
        total
    }
}
