//! The heatmap of a sweep as reported: the two axes (values, labels, whether log-spaced)
//! and per cell the feasible count and the best configuration's index and objective,
//! re-evaluated in f64 with the model (a GPU's f32 objective is never reported; under
//! uncertainty the objective is the scenario's statistic over draws from the f64 Monte
//! Carlo kernel). Built from
//! the heatmap cells of [`Reductions`]; `heatmap.csv` is written from it.

use crate::model::evaluate;
use crate::params::{Param, ParamKind};
use crate::plan::SweepPlan;
use crate::reduce::Reductions;

/// One axis of the heatmap.
#[derive(Clone, Debug, PartialEq)]
pub struct HeatAxis {
    pub param: Param,
    /// Raw values (codes for categorical parameters).
    pub values: Vec<f64>,
    /// Values as written in reports (catalog ids for accelerators).
    pub labels: Vec<String>,
    /// The values are positive and evenly spaced in log (ratio) but not linearly, e.g. an
    /// axis written with `scale = "log"`.
    pub log: bool,
}

/// One heatmap cell.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct HeatCellReport {
    pub feasible: u64,
    /// The best feasible configuration's flat index and objective (f64), if any.
    pub best: Option<(u64, f64)>,
}

/// A sweep's heatmap: cells row-major over (x, y), `x * y.len() + y`.
#[derive(Clone, Debug, PartialEq)]
pub struct Heatmap {
    pub x: HeatAxis,
    pub y: HeatAxis,
    pub cells: Vec<HeatCellReport>,
}

impl Heatmap {
    /// The cell at positions (x, y).
    pub fn cell(&self, x: usize, y: usize) -> &HeatCellReport {
        &self.cells[x * self.y.values.len() + y]
    }
}

/// Whether positive values lie on a geometric sequence from the first to the last (each
/// within 1e-6 relative, or half a unit for an integer axis, whose values are rounded)
/// and not on an arithmetic one.
pub fn is_log_spaced(v: &[f64], integer: bool) -> bool {
    let n = v.len();
    if n < 3 || v.iter().any(|&x| !(x > 0.0 && x.is_finite())) {
        return false;
    }
    let (a, b) = (v[0], v[n - 1]);
    let fits = |ideal: &dyn Fn(f64) -> f64| {
        v.iter().enumerate().all(|(i, &x)| {
            let want = ideal(i as f64 / (n - 1) as f64);
            (x - want).abs() <= if integer { 0.5 } else { 0.0 } + 1e-6 * want.abs()
        })
    };
    fits(&|t| a * (b / a).powf(t)) && !fits(&|t| a + (b - a) * t)
}

fn axis(plan: &SweepPlan, k: usize) -> HeatAxis {
    let a = &plan.scenario.axes[k];
    let labels = a
        .values
        .iter()
        .map(|&v| match a.param.kind() {
            ParamKind::Categorical => plan.scenario.label(a.param, v),
            _ => crate::format::fmt_num(v),
        })
        .collect();
    HeatAxis {
        param: a.param,
        values: a.values.clone(),
        labels,
        log: a.param.kind() != ParamKind::Categorical
            && is_log_spaced(&a.values, a.param.kind() == ParamKind::Integer),
    }
}

/// The heatmap of a sweep, its reported cells re-evaluated in f64 (`None` without one).
pub fn heatmap(plan: &SweepPlan, r: &Reductions) -> Option<Heatmap> {
    let h = plan.heatmap?;
    if r.heatmap.len() != plan.heatmap_cells() {
        // Reductions made for another heatmap (e.g. shard partials merged under the
        // default axes): nothing to report rather than cells in the wrong places.
        return None;
    }
    let s = &plan.scenario;
    let cells = r
        .heatmap
        .iter()
        .map(|c| HeatCellReport {
            feasible: c.feasible,
            best: c.best.map(|b| {
                if s.uncertainty.is_some() {
                    // The scenario's statistic over draws, as the (f64, CPU-only) Monte
                    // Carlo kernel computed it.
                    return (b.index, b.objective);
                }
                let (cfg, acc) = s.resolve(&plan.values_at(b.index));
                let e = evaluate(&cfg, acc, &s.workload);
                (b.index, e.metrics[s.objective.metric.index()])
            }),
        })
        .collect();
    Some(Heatmap {
        x: axis(plan, h.x),
        y: axis(plan, h.y),
        cells,
    })
}

#[cfg(test)]
mod tests {
    use super::is_log_spaced;

    #[test]
    fn log_spacing_is_recognised() {
        assert!(is_log_spaced(&[1.0, 10.0, 100.0, 1000.0], false));
        assert!(is_log_spaced(&[0.001, 0.01, 0.1, 1.0], false));
        // Rounded to integers (the default scenario's fleet sizes start like this).
        assert!(is_log_spaced(&[20000.0, 43089.0, 92832.0, 200000.0], true));
        assert!(!is_log_spaced(
            &[20000.0, 43089.0, 92832.0, 200000.0],
            false
        ));
        assert!(!is_log_spaced(&[1.0, 2.0, 3.0, 4.0], true));
        assert!(!is_log_spaced(&[0.6, 0.8, 1.0], false));
        assert!(!is_log_spaced(&[0.0, 1.0, 10.0], false));
        assert!(!is_log_spaced(&[1.0, 10.0], false));
    }
}
