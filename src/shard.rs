//! Shards: splitting a sweep into N contiguous ranges of flat indices that run anywhere
//! (a Slurm job array, a Kubernetes Indexed Job, N terminals), the partial result each one
//! writes (`clustersweep.partial/1`), and merging the parts back into exactly the reductions
//! of the whole grid.
//!
//! A partial carries the scenario and catalog text it was run from (so `merge` needs nothing
//! else) with their SHA-256, the tool version, the range and every mergeable reduction
//! ([`Reductions`], serialized as a whole, metric sums exactly). Parts merge in range order;
//! counts, best indices, group and Pareto leaders and metric sums (exact, hence means) are
//! then exactly those of an unsharded run: the merged summary is byte-identical outside
//! `run` (CPU; tests/determinism.rs).

use crate::backend::BackendInfo;
use crate::catalog::Catalog;
use crate::plan::SweepPlan;
use crate::reduce::Reductions;
use crate::scenario::Scenario;
use serde::{Deserialize, Serialize};
use std::ops::Range;

/// Schema name of a partial result.
pub const PARTIAL_SCHEMA: &str = "clustersweep.partial/1";

/// The partial as [`crate::document`] reads it back.
const PARTIAL_DOCUMENT: crate::document::Kind = crate::document::Kind {
    schema: PARTIAL_SCHEMA,
    what: "partial result",
    hints: &[],
};

/// Largest partial file read (bytes).
pub const MAX_PARTIAL_BYTES: u64 = 256 << 20;

/// One shard of N: `index` in `0..count`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ShardSpec {
    pub index: u64,
    pub count: u64,
}

/// A problem with a shard specification, a partial, or a set of partials.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum ShardError {
    #[error("--shard `{0}`: {1}")]
    Spec(String, String),
    #[error("{file}: not a {PARTIAL_SCHEMA} document: {reason}")]
    NotPartial { file: String, reason: String },
    #[error("{file}: from another {what} than {first} ({found} here, {expected} there)")]
    Foreign {
        file: String,
        first: String,
        what: &'static str,
        expected: String,
        found: String,
    },
    #[error("{a} and {b} overlap (indices {start}..{end} are in both)")]
    Overlap {
        a: String,
        b: String,
        start: u64,
        end: u64,
    },
    #[error("indices {start}..{end} of {size} are in no part: a part is missing")]
    Missing { start: u64, end: u64, size: u64 },
    #[error("{file}: {reason}")]
    Invalid { file: String, reason: String },
}

impl ShardSpec {
    /// `I/N` with `0 <= I < N`.
    pub fn parse(text: &str) -> Result<ShardSpec, ShardError> {
        let bad = |why: &str| ShardError::Spec(text.to_string(), why.to_string());
        let (i, n) = text
            .split_once('/')
            .ok_or_else(|| bad("expected I/N (e.g. 0/4), `auto` or `auto/N`"))?;
        let index: u64 = i
            .trim()
            .parse()
            .map_err(|_| bad("I is not a whole number"))?;
        let count: u64 = n
            .trim()
            .parse()
            .map_err(|_| bad("N is not a whole number"))?;
        ShardSpec::new(index, count).map_err(|why| bad(&why))
    }

    fn new(index: u64, count: u64) -> Result<ShardSpec, String> {
        if count == 0 {
            return Err("N must be at least 1".into());
        }
        if index >= count {
            return Err(format!(
                "the index {index} must be below the count {count} (indices start at 0)"
            ));
        }
        Ok(ShardSpec { index, count })
    }

    /// `auto` or `auto/N`: the shard from the batch system's environment (`env` looks a
    /// variable up). A Kubernetes Indexed Job gives `JOB_COMPLETION_INDEX` and the count
    /// comes from `auto/N`; a Slurm job array gives `SLURM_ARRAY_TASK_ID`,
    /// `SLURM_ARRAY_TASK_COUNT` and `SLURM_ARRAY_TASK_MIN` (index = ID - MIN).
    pub fn from_env(
        text: &str,
        env: impl Fn(&str) -> Option<String>,
    ) -> Result<ShardSpec, ShardError> {
        let bad = |why: String| ShardError::Spec(text.to_string(), why);
        let given: Option<u64> = match text.strip_prefix("auto") {
            Some("") => None,
            Some(rest) => Some(
                rest.strip_prefix('/')
                    .and_then(|n| n.trim().parse().ok())
                    .ok_or_else(|| bad("expected `auto` or `auto/N`".into()))?,
            ),
            None => return ShardSpec::parse(text),
        };
        let var = |name: &str| -> Result<Option<u64>, ShardError> {
            match env(name) {
                None => Ok(None),
                Some(v) if v.trim().is_empty() => Ok(None),
                Some(v) => v
                    .trim()
                    .parse()
                    .map(Some)
                    .map_err(|_| bad(format!("{name}={v} is not a whole number"))),
            }
        };
        if let Some(index) = var("JOB_COMPLETION_INDEX")? {
            let count = given.ok_or_else(|| {
                bad("JOB_COMPLETION_INDEX is set (Kubernetes Indexed Job) but not the count: use --shard auto/N with N = the Job's completions".into())
            })?;
            return ShardSpec::new(index, count)
                .map_err(|why| bad(format!("JOB_COMPLETION_INDEX={index}: {why}")));
        }
        if let Some(id) = var("SLURM_ARRAY_TASK_ID")? {
            if let Some(step) = var("SLURM_ARRAY_TASK_STEP")? {
                if step != 1 {
                    return Err(bad(format!("SLURM_ARRAY_TASK_STEP={step}: a job array with a step leaves gaps; use --array=0-{} (step 1)", var("SLURM_ARRAY_TASK_COUNT")?.unwrap_or(1).saturating_sub(1))));
                }
            }
            let min = var("SLURM_ARRAY_TASK_MIN")?.unwrap_or(0);
            let count = match (var("SLURM_ARRAY_TASK_COUNT")?, given) {
                (Some(c), Some(g)) if c != g => {
                    return Err(bad(format!(
                        "SLURM_ARRAY_TASK_COUNT={c} but the command line says {g}"
                    )))
                }
                (Some(c), _) | (None, Some(c)) => c,
                (None, None) => return Err(bad(
                    "SLURM_ARRAY_TASK_ID is set but not SLURM_ARRAY_TASK_COUNT; use --shard auto/N"
                        .into(),
                )),
            };
            let index = id.checked_sub(min).ok_or_else(|| {
                bad(format!(
                    "SLURM_ARRAY_TASK_ID={id} is below SLURM_ARRAY_TASK_MIN={min}"
                ))
            })?;
            return ShardSpec::new(index, count).map_err(|why| {
                bad(format!(
                    "SLURM_ARRAY_TASK_ID={id} - SLURM_ARRAY_TASK_MIN={min}: {why}"
                ))
            });
        }
        Err(bad("neither a Slurm job array (SLURM_ARRAY_TASK_ID) nor a Kubernetes Indexed Job (JOB_COMPLETION_INDEX) is in the environment".into()))
    }

    /// This shard's contiguous range of `0..size`: the `index`-th of `count` near-equal
    /// parts, each boundary moved to the nearest multiple of `tile` (the grid's summation
    /// tile, [`crate::backend::gpu::sum_tile`], so that no GPU workgroup's f32 sums are
    /// split between shards; see [`ShardSpec::grid_range`]), at most `size`. Each boundary
    /// is within `tile / 2` of the even split; with fewer than `count` tiles in the grid
    /// some shards are empty.
    pub fn range(&self, size: u64, tile: u64) -> Range<u64> {
        let tile = tile.max(1) as u128;
        let at = |i: u64| {
            if i == self.count {
                return size;
            }
            let even = size as u128 * i as u128 / self.count as u128;
            ((even + tile / 2) / tile * tile).min(size as u128) as u64
        };
        at(self.index)..at(self.index + 1)
    }

    /// [`ShardSpec::range`] for a plan's grid and its summation tile.
    pub fn grid_range(&self, plan: &SweepPlan) -> Range<u64> {
        self.range(
            plan.grid.size,
            crate::backend::gpu::sum_tile(&plan.grid.lens),
        )
    }
}

/// Text of an input with its name and SHA-256 (as recorded in a partial).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct InputText {
    pub file: String,
    pub sha256: String,
    pub text: String,
}

impl InputText {
    /// This text, if its digest is `expected` (the digest of the text the sweep was planned
    /// from): a file changed between the two reads is an input error naming it.
    pub fn checked(
        self,
        file: &str,
        expected: &str,
    ) -> Result<InputText, crate::input::InputError> {
        if self.sha256 == expected {
            Ok(self)
        } else {
            Err(crate::input::InputError::file(
                file,
                "changed while it was being read; run again",
            ))
        }
    }
}

/// Half-open range of flat indices.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct IndexRange {
    pub start: u64,
    pub end: u64,
}

/// The `clustersweep.partial/1` document one shard writes.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Partial {
    pub schema: String,
    pub tool: crate::provenance::BuildInfo,
    pub scenario: InputText,
    pub catalog: InputText,
    /// `--group-by` as given (`None`: the default grouping).
    pub group_by: Option<Vec<String>>,
    pub grid_size: u64,
    pub shard: ShardSpec,
    pub range: IndexRange,
    pub backend: BackendInfo,
    pub elapsed_s: f64,
    pub notices: Vec<String>,
    pub reductions: Reductions,
}

/// Parts merged: the plan rebuilt from the recorded inputs and the reductions of the whole
/// grid, with what the parts said about their runs.
pub struct Merged {
    pub plan: SweepPlan,
    pub reductions: Reductions,
    pub backend: BackendInfo,
    /// Sum of the parts' run times.
    pub elapsed_s: f64,
    pub notices: Vec<String>,
}

impl Partial {
    /// Read a partial from JSON text and check its schema and shape.
    pub fn parse(file: &str, text: &str) -> Result<Partial, ShardError> {
        let not = |reason: String| ShardError::NotPartial {
            file: file.to_string(),
            reason,
        };
        let v = PARTIAL_DOCUMENT.read(text).map_err(not)?;
        let p: Partial = serde_json::from_value(v).map_err(|e| not(e.to_string()))?;
        let invalid = |reason: String| ShardError::Invalid {
            file: file.to_string(),
            reason,
        };
        if p.range.start > p.range.end || p.range.end > p.grid_size {
            return Err(invalid(format!(
                "range {}..{} is not within the grid of {}",
                p.range.start, p.range.end, p.grid_size
            )));
        }
        if p.reductions.evaluated != p.range.end - p.range.start {
            return Err(invalid(format!(
                "{} configurations evaluated for a range of {}",
                p.reductions.evaluated,
                p.range.end - p.range.start
            )));
        }
        Ok(p)
    }

    /// Rebuild the plan this partial was run with, checking the recorded digests.
    pub fn plan(&self, file: &str) -> Result<SweepPlan, ShardError> {
        let invalid = |reason: String| ShardError::Invalid {
            file: file.to_string(),
            reason,
        };
        let catalog = Catalog::parse(&self.catalog.file, &self.catalog.text)
            .map_err(|e| invalid(format!("recorded catalog: {e}")))?;
        let scenario = Scenario::parse(&self.scenario.file, &self.scenario.text, &catalog)
            .map_err(|e| invalid(format!("recorded scenario: {e}")))?;
        if scenario.sha256 != self.scenario.sha256 || catalog.sha256 != self.catalog.sha256 {
            return Err(invalid(
                "the recorded scenario or catalog text does not match its SHA-256".into(),
            ));
        }
        let plan = SweepPlan::new(scenario, self.group_by.as_deref())
            .map_err(|e| invalid(format!("recorded scenario: {e}")))?;
        if plan.grid.size != self.grid_size {
            return Err(invalid(format!(
                "the recorded scenario has {} configurations, the part says {}",
                plan.grid.size, self.grid_size
            )));
        }
        let shaped = Reductions::empty(&plan);
        if shaped.best_by.len() != self.reductions.best_by.len()
            || shaped.group_feasible.len() != self.reductions.group_feasible.len()
            || shaped.pareto.len() != self.reductions.pareto.len()
            || shaped.stats.len() != self.reductions.stats.len()
        {
            return Err(invalid(
                "its reductions do not have the shape of the scenario's".into(),
            ));
        }
        Ok(plan)
    }
}

/// Merge named parts into the reductions of the whole grid. The parts must come from the
/// same scenario, catalog, grouping and tool version (this binary's), and their ranges must
/// cover the grid exactly once.
pub fn merge(parts: &[(String, Partial)]) -> Result<Merged, ShardError> {
    let Some((first_name, first)) = parts.first() else {
        return Err(ShardError::Invalid {
            file: "merge".into(),
            reason: "no parts given".into(),
        });
    };
    let here = crate::provenance::build_info().version;
    if first.tool.version != here {
        return Err(ShardError::Foreign {
            file: first_name.clone(),
            first: format!("this clustersweep ({here})"),
            what: "tool version",
            expected: here.clone(),
            found: first.tool.version.clone(),
        });
    }
    for (name, p) in &parts[1..] {
        let foreign = |what: &'static str, expected: String, found: String| {
            Err(ShardError::Foreign {
                file: name.clone(),
                first: first_name.clone(),
                what,
                expected,
                found,
            })
        };
        if p.scenario.sha256 != first.scenario.sha256 {
            return foreign(
                "scenario",
                short(&first.scenario.sha256),
                short(&p.scenario.sha256),
            );
        }
        if p.catalog.sha256 != first.catalog.sha256 {
            return foreign(
                "catalog",
                short(&first.catalog.sha256),
                short(&p.catalog.sha256),
            );
        }
        if p.tool.version != first.tool.version {
            return foreign(
                "tool version",
                first.tool.version.clone(),
                p.tool.version.clone(),
            );
        }
        if p.group_by != first.group_by {
            return foreign(
                "--group-by",
                format!("{:?}", first.group_by),
                format!("{:?}", p.group_by),
            );
        }
    }
    let plan = first.plan(first_name)?;
    let mut order: Vec<&(String, Partial)> = parts.iter().collect();
    order.sort_by_key(|(_, p)| (p.range.start, p.range.end));
    let mut covered = 0u64;
    let mut previous: Option<&str> = None;
    let mut reductions = Reductions::empty(&plan);
    let mut elapsed_s = 0.0;
    let mut notices = Vec::new();
    for (name, p) in order {
        let r = p.range;
        if r.start < covered {
            return Err(ShardError::Overlap {
                a: previous.unwrap_or("").to_string(),
                b: name.clone(),
                start: r.start,
                end: covered.min(r.end),
            });
        }
        if r.start > covered {
            return Err(ShardError::Missing {
                start: covered,
                end: r.start,
                size: plan.grid.size,
            });
        }
        reductions.merge(&p.reductions, &plan.scenario.objective);
        covered = r.end;
        previous = Some(name);
        elapsed_s += p.elapsed_s;
        notices.extend(p.notices.iter().map(|n| format!("{name}: {n}")));
    }
    if covered < plan.grid.size {
        return Err(ShardError::Missing {
            start: covered,
            end: plan.grid.size,
            size: plan.grid.size,
        });
    }
    Ok(Merged {
        plan,
        reductions,
        backend: first.backend.clone(),
        elapsed_s,
        notices,
    })
}

/// The first 12 hex digits of a digest, for messages.
fn short(sha: &str) -> String {
    sha.chars().take(12).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env<'a>(vars: &'a [(&'a str, &'a str)]) -> impl Fn(&str) -> Option<String> + 'a {
        move |k| {
            vars.iter()
                .find(|(n, _)| *n == k)
                .map(|(_, v)| v.to_string())
        }
    }

    #[test]
    fn ranges_tile_the_grid() {
        for size in [0u64, 1, 7, 1000, 111_111, u64::MAX] {
            for count in [1u64, 2, 3, 7, 64] {
                for tile in [1u64, 64, 16_016] {
                    let mut next = 0;
                    for index in 0..count {
                        let r = ShardSpec { index, count }.range(size, tile);
                        assert_eq!(r.start, next);
                        // A boundary past the last tile multiple is the end of the grid.
                        assert!(r.start.is_multiple_of(tile) || r.start == size);
                        assert!(r.start <= r.end);
                        assert!(r.end.is_multiple_of(tile) || r.end == size);
                        // Near-equal: within half a tile of the even split.
                        let even = (size as u128 * (index + 1) as u128 / count as u128) as u64;
                        assert!(r.end.abs_diff(even) <= tile / 2, "{size} {count} {tile}");
                        next = r.end;
                    }
                    assert_eq!(next, size);
                }
            }
        }
    }

    #[test]
    fn specs_parse_and_refuse() {
        assert_eq!(
            ShardSpec::parse("2/4").unwrap(),
            ShardSpec { index: 2, count: 4 }
        );
        for bad in ["4/4", "0/0", "x/4", "1", "-1/4"] {
            assert!(ShardSpec::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn slurm_array_respects_its_minimum() {
        let vars = [
            ("SLURM_ARRAY_TASK_ID", "7"),
            ("SLURM_ARRAY_TASK_MIN", "5"),
            ("SLURM_ARRAY_TASK_COUNT", "4"),
        ];
        assert_eq!(
            ShardSpec::from_env("auto", env(&vars)).unwrap(),
            ShardSpec { index: 2, count: 4 }
        );
        let stepped = [
            ("SLURM_ARRAY_TASK_ID", "4"),
            ("SLURM_ARRAY_TASK_COUNT", "4"),
            ("SLURM_ARRAY_TASK_STEP", "2"),
        ];
        assert!(ShardSpec::from_env("auto", env(&stepped)).is_err());
        let past = [
            ("SLURM_ARRAY_TASK_ID", "4"),
            ("SLURM_ARRAY_TASK_COUNT", "4"),
        ];
        assert!(ShardSpec::from_env("auto", env(&past)).is_err());
    }

    #[test]
    fn kubernetes_index_needs_the_count() {
        let vars = [("JOB_COMPLETION_INDEX", "3")];
        assert_eq!(
            ShardSpec::from_env("auto/8", env(&vars)).unwrap(),
            ShardSpec { index: 3, count: 8 }
        );
        let e = ShardSpec::from_env("auto", env(&vars)).unwrap_err();
        assert!(e.to_string().contains("auto/N"), "{e}");
        assert!(ShardSpec::from_env("auto/3", env(&vars)).is_err());
        let e = ShardSpec::from_env("auto", env(&[])).unwrap_err();
        assert!(e.to_string().contains("SLURM_ARRAY_TASK_ID"), "{e}");
    }
}
