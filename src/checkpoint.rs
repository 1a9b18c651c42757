//! Checkpoints: a sweep that survives interruption. The range is evaluated in segments;
//! every few seconds the completed prefix and its reductions are saved to the checkpoint
//! file (`clustersweep.checkpoint/1`, written through an exclusive temporary that is synced
//! and renamed). Rerunning the same command reads the file, checks that it belongs to the
//! same scenario, catalog, grouping, heatmap, range and tool version, and resumes after the
//! saved prefix. SIGINT and SIGTERM are caught while a checkpointed sweep runs: the segment
//! in flight finishes (segments are sized to about a quarter of a second), the checkpoint
//! is saved, and the caller exits 130 or 143.
//!
//! Segments merge in index order, so a resumed run ends with the counts, best index,
//! leaders, Pareto and heatmap of an uninterrupted one, and with its metric sums to the last
//! bit (they are exact, [`crate::exact_sum`]): the summary is byte-identical outside `run`.
//! `Saving::segment` and `Saving::stop_after_segments` (hidden `--chunk` and
//! `--stop-after-segments`) fix the segments and stop after some, for tests.

use crate::backend::{Backend, BackendError, BackendInfo};
use crate::output::OutputError;
use crate::plan::SweepPlan;
use crate::reduce::Reductions;
use crate::shard::IndexRange;
use crate::sweep::{sweep_range, RangeResult};
use serde::{Deserialize, Serialize};
use std::ops::Range;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicI32, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// Schema name of a checkpoint file.
pub const CHECKPOINT_SCHEMA: &str = "clustersweep.checkpoint/1";

/// The checkpoint as [`crate::document`] reads it back.
const CHECKPOINT_DOCUMENT: crate::document::Kind = crate::document::Kind {
    schema: CHECKPOINT_SCHEMA,
    what: "checkpoint",
    hints: &[],
};

/// Largest checkpoint file read (bytes).
pub const MAX_CHECKPOINT_BYTES: u64 = 256 << 20;

/// How often the checkpoint is saved while the sweep runs.
pub const SAVE_EVERY: Duration = Duration::from_secs(5);

/// The wall time a segment aims at: a stop request waits at most for the segment in flight.
pub const SEGMENT_TARGET: Duration = Duration::from_millis(250);

/// Configurations in the first segment (it measures the rate the next ones are sized by).
pub const FIRST_SEGMENT: u64 = 1 << 12;

/// What a checkpoint was made from: a resumed run must match it field for field.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct CheckpointKey {
    /// The tool version that wrote it (reductions are not portable across versions).
    pub tool_version: String,
    pub scenario_sha256: String,
    pub catalog_sha256: String,
    /// The grouping axes (positions in the scenario's axes).
    pub group_axes: Vec<usize>,
    /// The heatmap axes (positions), if any.
    pub heatmap: Option<(usize, usize)>,
    pub grid_size: u64,
    /// The range the run covers (the whole grid, or a shard's part).
    pub range: IndexRange,
}

impl CheckpointKey {
    /// The key of a run of `range` of `plan` by this binary.
    pub fn of(plan: &SweepPlan, range: &Range<u64>) -> CheckpointKey {
        CheckpointKey {
            tool_version: crate::provenance::build_info().version,
            scenario_sha256: plan.scenario.sha256.clone(),
            catalog_sha256: plan.scenario.catalog_sha256.clone(),
            group_axes: plan.group_axes.clone(),
            heatmap: plan.heatmap.as_ref().map(|h| (h.x, h.y)),
            grid_size: plan.grid.size,
            range: IndexRange {
                start: range.start,
                end: range.end,
            },
        }
    }

    /// The first field in which `self` (the saved key) differs from `run`, as
    /// (what, saved, now).
    fn mismatch(&self, run: &CheckpointKey) -> Option<(&'static str, String, String)> {
        let pair = |what, a: String, b: String| (a != b).then_some((what, a, b));
        pair(
            "tool version",
            self.tool_version.clone(),
            run.tool_version.clone(),
        )
        .or_else(|| {
            pair(
                "scenario (SHA-256)",
                self.scenario_sha256.clone(),
                run.scenario_sha256.clone(),
            )
        })
        .or_else(|| {
            pair(
                "catalog (SHA-256)",
                self.catalog_sha256.clone(),
                run.catalog_sha256.clone(),
            )
        })
        .or_else(|| {
            pair(
                "--group-by axes",
                format!("{:?}", self.group_axes),
                format!("{:?}", run.group_axes),
            )
        })
        .or_else(|| {
            pair(
                "--heatmap axes",
                format!("{:?}", self.heatmap),
                format!("{:?}", run.heatmap),
            )
        })
        .or_else(|| {
            pair(
                "grid size",
                self.grid_size.to_string(),
                run.grid_size.to_string(),
            )
        })
        .or_else(|| {
            pair(
                "range (--shard)",
                format!("{}..{}", self.range.start, self.range.end),
                format!("{}..{}", run.range.start, run.range.end),
            )
        })
    }
}

/// The `clustersweep.checkpoint/1` document.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Checkpoint {
    pub schema: String,
    pub key: CheckpointKey,
    /// Indices `key.range.start..done` are evaluated and reduced.
    pub done: u64,
    /// Run time spent so far, over every run that contributed.
    pub elapsed_s: f64,
    /// The backend that evaluated the last segment.
    pub backend: Option<BackendInfo>,
    pub notices: Vec<String>,
    pub reductions: Reductions,
}

/// A checkpoint that cannot be used, or a run that failed.
#[derive(Debug, thiserror::Error)]
pub enum CheckpointError {
    /// The file is not a checkpoint (or is damaged): bad input.
    #[error("--checkpoint {file}: not a {CHECKPOINT_SCHEMA} file: {reason}")]
    NotCheckpoint { file: String, reason: String },
    /// The file belongs to another run: bad input, nothing resumed.
    #[error("--checkpoint {file}: it was saved for another {what} ({saved} there, {now} now); remove it or give another file to start afresh")]
    Foreign {
        file: String,
        what: &'static str,
        saved: String,
        now: String,
    },
    /// Reading or saving the file failed.
    #[error("--checkpoint {0}")]
    Io(String),
    /// The backend failed.
    #[error(transparent)]
    Backend(#[from] BackendError),
}

impl From<OutputError> for CheckpointError {
    fn from(e: OutputError) -> Self {
        CheckpointError::Io(e.to_string())
    }
}

/// Which signal asked the run to stop (0: none).
#[derive(Clone, Default)]
pub struct StopRequest(Arc<AtomicI32>);

impl StopRequest {
    /// Catch SIGINT and SIGTERM from now on: the first of each records the signal; a second
    /// one of either terminates the process at once (the checkpoint saved last stays).
    pub fn catch_signals() -> Result<StopRequest, CheckpointError> {
        use signal_hook::consts::{SIGINT, SIGTERM};
        let stop = StopRequest::default();
        let pending = Arc::new(std::sync::atomic::AtomicBool::new(false));
        for signal in [SIGINT, SIGTERM] {
            signal_hook::flag::register_conditional_shutdown(signal, 128 + signal, pending.clone())
                .and_then(|_| signal_hook::flag::register(signal, pending.clone()))
                .map_err(|e| CheckpointError::Io(format!("cannot catch signal {signal}: {e}")))?;
            let record = stop.0.clone();
            // SAFETY: the handler only stores into an atomic, which is async-signal-safe.
            unsafe {
                signal_hook::low_level::register(signal, move || {
                    let _ = record.compare_exchange(0, signal, Ordering::SeqCst, Ordering::SeqCst);
                })
            }
            .map_err(|e| CheckpointError::Io(format!("cannot catch signal {signal}: {e}")))?;
        }
        Ok(stop)
    }

    /// Ask the run to stop as if `signal` had arrived.
    pub fn request(&self, signal: i32) {
        let _ = self
            .0
            .compare_exchange(0, signal, Ordering::SeqCst, Ordering::SeqCst);
    }

    /// The signal that asked to stop, if any.
    pub fn signal(&self) -> Option<i32> {
        match self.0.load(Ordering::SeqCst) {
            0 => None,
            s => Some(s),
        }
    }
}

/// How a checkpointed run ended.
pub enum CheckpointOutcome {
    /// The whole range is done; the checkpoint file has been removed.
    Finished {
        result: Box<RangeResult>,
        /// Run time over every run that contributed.
        elapsed_s: f64,
        /// Configurations that were already done when this run started.
        resumed_from: u64,
    },
    /// A stop was requested: the checkpoint holds `done` of `total` configurations.
    Stopped { signal: i32, done: u64, total: u64 },
}

/// Read the checkpoint at `path`, if there is one, and check it against `key`.
pub fn load(path: &Path, key: &CheckpointKey) -> Result<Option<Checkpoint>, CheckpointError> {
    let file = path.display().to_string();
    match std::fs::symlink_metadata(path) {
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(CheckpointError::Io(format!("{file}: {e}"))),
        Ok(_) => {}
    }
    let text = crate::input::read_text_file(path, "checkpoint", MAX_CHECKPOINT_BYTES)
        .map_err(|e| CheckpointError::Io(e.to_string()))?;
    let not = |reason: String| CheckpointError::NotCheckpoint {
        file: file.clone(),
        reason,
    };
    let v = CHECKPOINT_DOCUMENT.read(&text).map_err(not)?;
    let c: Checkpoint = serde_json::from_value(v).map_err(|e| not(e.to_string()))?;
    if let Some((what, saved, now)) = c.key.mismatch(key) {
        return Err(CheckpointError::Foreign {
            file,
            what,
            saved,
            now,
        });
    }
    if c.done < c.key.range.start
        || c.done > c.key.range.end
        || c.reductions.evaluated != c.done - c.key.range.start
    {
        return Err(not(format!(
            "{} configurations reduced for the done range {}..{}",
            c.reductions.evaluated, c.key.range.start, c.done
        )));
    }
    Ok(Some(c))
}

fn save(path: &Path, c: &Checkpoint) -> Result<(), CheckpointError> {
    let mut text = serde_json::to_vec(c).map_err(|e| CheckpointError::Io(e.to_string()))?;
    text.push(b'\n');
    crate::output::write_file(path, &text)?;
    Ok(())
}

/// The next segment's size: about [`SEGMENT_TARGET`] at the rate the last one ran, at most
/// four times the last, at least one configuration, and never past the end.
fn next_segment(last: u64, took: Duration, left: u64) -> u64 {
    let took = took.as_secs_f64().max(1e-6);
    let scaled = (last as f64 * SEGMENT_TARGET.as_secs_f64() / took) as u64;
    scaled.clamp(1, last.saturating_mul(4).max(1)).min(left)
}

/// Where the segment that starts at `done` ends: after about `segment` configurations, or,
/// on an inexact backend (the GPU's f32 sums), on the next multiple of the grid's summation
/// tile from there ([`crate::backend::gpu::sum_tile`]), so that segments do not split a
/// workgroup's f32 sums and the summary does not depend on where segments were cut.
fn segment_end(plan: &SweepPlan, primary: &dyn Backend, done: u64, segment: u64, end: u64) -> u64 {
    let want = done.saturating_add(segment.max(1)).min(end);
    if primary.exact() {
        return want;
    }
    let tile = crate::backend::gpu::sum_tile(&plan.grid.lens);
    let next = (done / tile).saturating_add(1).saturating_mul(tile);
    (want / tile * tile).max(next).min(end)
}

/// Where a checkpoint is saved and how often.
pub struct Saving<'a> {
    pub path: &'a Path,
    /// The interval between saves ([`SAVE_EVERY`] by default; zero saves after every segment).
    pub every: Duration,
    /// Fixed segments of this many configurations (`None`: sized by time).
    pub segment: Option<u64>,
    /// Testing: stop as if by SIGINT after this many segments of this run.
    pub stop_after_segments: Option<u64>,
}

/// Evaluate `range` of `plan` with checkpoints saved as `saving` says, resuming from the
/// file when it holds a checkpoint of the same run. `stop` is polled between segments.
pub fn run_checkpointed(
    plan: &SweepPlan,
    range: Range<u64>,
    primary: &dyn Backend,
    fallback: Option<&dyn Backend>,
    progress: &(dyn Fn(u64) + Sync),
    saving: &Saving<'_>,
    stop: &StopRequest,
) -> Result<CheckpointOutcome, CheckpointError> {
    let path = saving.path;
    let key = CheckpointKey::of(plan, &range);
    let mut state = match load(path, &key)? {
        Some(c) => c,
        None => Checkpoint {
            schema: CHECKPOINT_SCHEMA.to_string(),
            key,
            done: range.start,
            elapsed_s: 0.0,
            backend: None,
            notices: Vec::new(),
            reductions: Reductions::empty(plan),
        },
    };
    let resumed_from = state.done - range.start;
    progress(resumed_from);
    let started = Instant::now();
    let spent_before = state.elapsed_s;
    let mut last_save = Instant::now();
    let mut segment = saving.segment.unwrap_or(FIRST_SEGMENT);
    let mut segments = 0u64;
    while state.done < range.end {
        if saving.stop_after_segments == Some(segments) {
            stop.request(2);
        }
        if let Some(signal) = stop.signal() {
            state.elapsed_s = spent_before + started.elapsed().as_secs_f64();
            save(path, &state)?;
            return Ok(CheckpointOutcome::Stopped {
                signal,
                done: state.done - range.start,
                total: range.end - range.start,
            });
        }
        let size = segment_end(plan, primary, state.done, segment, range.end) - state.done;
        let t = Instant::now();
        let r = sweep_range(
            plan,
            state.done..state.done + size,
            primary,
            fallback,
            progress,
        )?;
        let took = t.elapsed();
        state
            .reductions
            .merge(&r.reductions, &plan.scenario.objective);
        for n in r.notices {
            if !state.notices.contains(&n) {
                state.notices.push(n);
            }
        }
        state.backend = Some(r.backend);
        state.done += size;
        segments += 1;
        if saving.segment.is_none() {
            segment = next_segment(size, took, range.end - state.done);
        }
        if last_save.elapsed() >= saving.every && state.done < range.end {
            state.elapsed_s = spent_before + started.elapsed().as_secs_f64();
            save(path, &state)?;
            last_save = Instant::now();
        }
    }
    let elapsed_s = spent_before + started.elapsed().as_secs_f64();
    remove_file(path)?;
    let backend = match state.backend {
        Some(b) => b,
        None => primary.info(),
    };
    Ok(CheckpointOutcome::Finished {
        result: Box::new(RangeResult {
            reductions: state.reductions,
            backend,
            notices: state.notices,
            draws: Default::default(),
        }),
        elapsed_s,
        resumed_from,
    })
}

/// Remove a finished run's checkpoint (a later edit of the scenario then starts afresh
/// instead of being refused).
fn remove_file(path: &Path) -> Result<(), CheckpointError> {
    match std::fs::remove_file(path) {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
        Err(e) => Err(CheckpointError::Io(format!("{}: {e}", path.display()))),
    }
}

/// `--checkpoint` as a path: a folder is refused before any work.
pub fn check_path(path: &Path) -> Result<PathBuf, CheckpointError> {
    if path.is_dir() {
        return Err(CheckpointError::Io(format!(
            "{}: is a folder (give a file)",
            path.display()
        )));
    }
    Ok(path.to_path_buf())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn segments_aim_at_the_target_and_grow_at_most_fourfold() {
        // Far too fast: grows fourfold, not more.
        assert_eq!(next_segment(1000, Duration::from_millis(1), u64::MAX), 4000);
        // Twice the target: halves.
        assert_eq!(next_segment(1000, SEGMENT_TARGET * 2, u64::MAX), 500);
        // Never past the end, never zero.
        assert_eq!(next_segment(1000, Duration::from_millis(1), 7), 7);
        assert_eq!(next_segment(1, Duration::from_secs(100), u64::MAX), 1);
    }

    #[test]
    fn a_stop_request_keeps_the_first_signal() {
        let s = StopRequest::default();
        assert_eq!(s.signal(), None);
        s.request(15);
        s.request(2);
        assert_eq!(s.signal(), Some(15));
    }
}
