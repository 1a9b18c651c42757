//! Mergeable reductions over evaluated configurations: counts, the best configuration
//! (lowest index on ties), the best and the feasible count per group, the best per Pareto
//! bin, the best and the
//! feasible count per heatmap cell, and min/max/sum of every metric over feasible
//! configurations. Each is a monoid: threads, GPU chunks and
//! shards produce [`Reductions`] that [`Reductions::merge`] combines. Every reduction is
//! independent of how the grid was split and in what order parts merge: counts are
//! integers, the best configurations break ties by the lowest index, and metric sums are
//! exact ([`ExactSum`]), rounded once when reported.
//!
//! [`Reductions`] is (de)serializable so that shard partials and checkpoints carry every
//! reduction: a field added here flows into them; an `f64` that may be non-finite needs
//! `#[serde(with = "crate::json_float")]` to read back.

use crate::exact_sum::ExactSum;
use crate::model::{Objective, METRIC_COUNT};
use crate::plan::SweepPlan;
use serde::{Deserialize, Serialize};

/// A reported configuration: its objective value (as the backend computed it) and index.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct Candidate {
    #[serde(with = "crate::json_float")]
    pub objective: f64,
    pub index: u64,
}

/// Min, max and exact sum of one metric over feasible configurations.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct MetricStats {
    #[serde(with = "crate::json_float")]
    pub min: f64,
    #[serde(with = "crate::json_float")]
    pub max: f64,
    pub sum: ExactSum,
}

impl Default for MetricStats {
    fn default() -> Self {
        MetricStats {
            min: f64::INFINITY,
            max: f64::NEG_INFINITY,
            sum: ExactSum::default(),
        }
    }
}

impl MetricStats {
    pub fn merge(&mut self, o: &MetricStats) {
        self.min = self.min.min(o.min);
        self.max = self.max.max(o.max);
        self.sum.merge(&o.sum);
    }

    /// Add one configuration's value.
    #[inline]
    pub fn add(&mut self, x: f64) {
        self.min = self.min.min(x);
        self.max = self.max.max(x);
        self.sum.add(x);
    }
}

/// One heatmap cell: the best feasible configuration with the cell's (x, y) values (over
/// every other axis) and how many configurations of the cell are feasible.
#[derive(Clone, Copy, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct HeatCell {
    pub best: Option<Candidate>,
    pub feasible: u64,
}

impl HeatCell {
    pub fn merge(&mut self, o: &HeatCell, objective: &Objective) {
        if let Some(c) = o.best {
            offer(&mut self.best, c, objective);
        }
        self.feasible += o.feasible;
    }
}

/// Everything a backend returns for a range of flat indices.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Reductions {
    pub evaluated: u64,
    pub invalid: u64,
    pub feasible: u64,
    pub best: Option<Candidate>,
    /// Best per `best_by` group (length = the plan's group count).
    pub best_by: Vec<Option<Candidate>>,
    /// Feasible configurations per `best_by` group (length = the plan's group count; the
    /// one entry without groups is the feasible count).
    pub group_feasible: Vec<u64>,
    /// Best per Pareto bin of facility power (length = the plan's bin count).
    pub pareto: Vec<Option<Candidate>>,
    /// Per metric, indexed by `Metric::index`.
    pub stats: Vec<MetricStats>,
    /// Per heatmap cell (length = the plan's cell count; see `SweepPlan::heatmap_cell`).
    pub heatmap: Vec<HeatCell>,
    /// Configurations an inexact backend handed to the CPU as a last resort (a GPU chunk
    /// with more configurations near a constraint bound than it can hand to the host).
    pub on_cpu: u64,
}

/// Keep the better of `slot` and `c` (ties: lowest index).
#[inline]
pub fn offer(slot: &mut Option<Candidate>, c: Candidate, objective: &Objective) {
    match slot {
        Some(cur) if !objective.beats(c.objective, c.index, cur.objective, cur.index) => {}
        _ => *slot = Some(c),
    }
}

impl Reductions {
    /// Empty reductions shaped for a plan.
    pub fn empty(plan: &SweepPlan) -> Reductions {
        Reductions {
            evaluated: 0,
            invalid: 0,
            feasible: 0,
            best: None,
            best_by: vec![None; plan.group_count],
            group_feasible: vec![0; plan.group_count],
            pareto: vec![None; plan.pareto.count],
            stats: vec![MetricStats::default(); METRIC_COUNT],
            heatmap: vec![HeatCell::default(); plan.heatmap_cells()],
            on_cpu: 0,
        }
    }

    /// Combine with the reductions of another range.
    pub fn merge(&mut self, o: &Reductions, objective: &Objective) {
        self.evaluated += o.evaluated;
        self.invalid += o.invalid;
        self.feasible += o.feasible;
        self.on_cpu += o.on_cpu;
        if let Some(c) = o.best {
            offer(&mut self.best, c, objective);
        }
        for (a, b) in self.best_by.iter_mut().zip(&o.best_by) {
            if let Some(c) = b {
                offer(a, *c, objective);
            }
        }
        for (a, b) in self.group_feasible.iter_mut().zip(&o.group_feasible) {
            *a += b;
        }
        for (a, b) in self.pareto.iter_mut().zip(&o.pareto) {
            if let Some(c) = b {
                offer(a, *c, objective);
            }
        }
        for (a, b) in self.stats.iter_mut().zip(&o.stats) {
            a.merge(b);
        }
        for (a, b) in self.heatmap.iter_mut().zip(&o.heatmap) {
            a.merge(b, objective);
        }
    }
}
