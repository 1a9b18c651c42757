//! The sweep plan: a validated scenario plus everything a backend needs to evaluate index
//! ranges and reduce them identically: the grid, the group-by axes of `best_by`, and the
//! Pareto bins over facility power. Built once, before any evaluation (parse, validate,
//! then plan).

use crate::grid::Grid;
use crate::params::Param;
use crate::scenario::{Scenario, Source};

/// Number of log-spaced facility-power bins for the Pareto frontier.
pub const PARETO_BINS: usize = 512;
/// Most `best_by` groups accepted.
pub const MAX_GROUPS: u64 = 1 << 16;
/// Most heatmap cells accepted.
pub const MAX_HEATMAP_CELLS: u64 = 1 << 18;

/// Log-spaced bins of facility power (MW).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct ParetoBins {
    /// ln of the lower edge of bin 0, in MW.
    pub ln_lo: f64,
    /// Bins per unit of ln(MW).
    pub per_ln: f64,
    pub count: usize,
}

impl ParetoBins {
    /// The bin of a facility power; values outside the range go to the end bins.
    #[inline]
    pub fn bin(&self, facility_mw: f64) -> usize {
        let x = (facility_mw.ln() - self.ln_lo) * self.per_ln;
        // `as usize` saturates: NaN and negatives go to 0.
        (x as usize).min(self.count - 1)
    }

    /// Bins spanning `[lo, hi]` MW (with a little margin).
    pub fn spanning(lo: f64, hi: f64) -> ParetoBins {
        let lo = if lo.is_finite() && lo > 0.0 { lo } else { 1e-6 };
        let hi = if hi.is_finite() && hi > lo {
            hi
        } else {
            lo * 10.0
        };
        let ln_lo = lo.ln() - 1e-9;
        let ln_hi = hi.ln() + 1e-9;
        ParetoBins {
            ln_lo,
            per_ln: PARETO_BINS as f64 / (ln_hi - ln_lo),
            count: PARETO_BINS,
        }
    }
}

/// A problem building the plan (a bad `--group-by`).
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum PlanError {
    /// A `--group-by` name that is not an axis of the scenario.
    #[error(
        "--group-by: `{name}` is not an axis of scenario `{scenario}`; axes: {}",
        .axes.join(", ")
    )]
    UnknownGroupAxis {
        name: String,
        scenario: String,
        /// The scenario's axes, in order.
        axes: Vec<String>,
    },
    /// The group-by axes make more than [`MAX_GROUPS`] groups.
    #[error(
        "--group-by: {groups} groups is more than the {max} supported; group by shorter axes",
        max = MAX_GROUPS
    )]
    TooManyGroups { groups: u64 },
    /// A `--heatmap` that is not two distinct axes of the scenario, or makes too many cells.
    #[error("--heatmap: {reason}")]
    BadHeatmap { reason: String },
}

/// The two axes of the heatmap reduction (positions in `scenario.axes`). Cell numbers are
/// row-major over (x, y): `x_digit * y_len + y_digit`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct HeatmapAxes {
    pub x: usize,
    pub y: usize,
}

/// Everything a backend needs.
#[derive(Clone, Debug)]
pub struct SweepPlan {
    pub scenario: Scenario,
    pub grid: Grid,
    /// Axes whose values form `best_by` groups (positions in `scenario.axes`).
    pub group_axes: Vec<usize>,
    /// Number of groups (product of the group axes' lengths; 1 with no group axes).
    pub group_count: usize,
    pub pareto: ParetoBins,
    /// The heatmap's axes (`None`: no heatmap reduction).
    pub heatmap: Option<HeatmapAxes>,
}

impl SweepPlan {
    /// Plan a sweep. `group_by`: `None` for the default (the `accelerator` axis, else the
    /// first categorical axis, else none); `Some(list)` names axes (empty = no groups).
    pub fn new(scenario: Scenario, group_by: Option<&[String]>) -> Result<SweepPlan, PlanError> {
        let grid = scenario.grid();
        let group_axes: Vec<usize> = match group_by {
            None => scenario
                .axis_of(Param::Accelerator)
                .or_else(|| {
                    scenario
                        .axes
                        .iter()
                        .position(|a| a.param.kind() == crate::params::ParamKind::Categorical)
                })
                .into_iter()
                .collect(),
            Some(names) => {
                let mut v = Vec::new();
                for n in names.iter().filter(|n| !n.is_empty() && *n != "none") {
                    let k = Param::from_name(n)
                        .and_then(|p| scenario.axis_of(p))
                        .ok_or_else(|| PlanError::UnknownGroupAxis {
                            name: n.clone(),
                            scenario: scenario.name.clone(),
                            axes: scenario
                                .axes
                                .iter()
                                .map(|a| a.param.name().to_string())
                                .collect(),
                        })?;
                    if !v.contains(&k) {
                        v.push(k);
                    }
                }
                v
            }
        };
        let mut groups: u64 = 1;
        for &k in &group_axes {
            groups = groups.saturating_mul(grid.lens[k]);
        }
        if groups > MAX_GROUPS {
            return Err(PlanError::TooManyGroups { groups });
        }
        let (lo, hi) = facility_bounds(&scenario);
        Ok(SweepPlan {
            pareto: ParetoBins::spanning(lo, hi),
            heatmap: default_heatmap(&scenario),
            scenario,
            grid,
            group_axes,
            group_count: groups as usize,
        })
    }

    /// The same grid walked in another axis order: `order[e]` is the scenario axis at
    /// position `e`. Its flat indices are not the scenario's (the contract); a kernel on it
    /// reports configurations by their scenario index (`backend::staged`). Groups and
    /// Pareto bins are the same: the group axes keep their order.
    pub fn permuted(&self, order: &[usize]) -> SweepPlan {
        let s = &self.scenario;
        let position = |k: usize| order.iter().position(|&o| o == k).expect("a permutation");
        let mut scenario = s.clone();
        scenario.axes = order.iter().map(|&k| s.axes[k].clone()).collect();
        for src in scenario.sources.iter_mut() {
            if let Source::Axis(k) = src {
                *k = position(*k);
            }
        }
        let grid = scenario.grid();
        SweepPlan {
            scenario,
            grid,
            group_axes: self.group_axes.iter().map(|&k| position(k)).collect(),
            group_count: self.group_count,
            pareto: self.pareto,
            heatmap: self.heatmap.map(|h| HeatmapAxes {
                x: position(h.x),
                y: position(h.y),
            }),
        }
    }

    /// The plan with the heatmap over the named axes (`--heatmap X,Y`): `None` keeps the
    /// default (fleet size by power limit, when both are axes); `none` or an empty list
    /// turns it off.
    pub fn with_heatmap(mut self, names: Option<&[String]>) -> Result<SweepPlan, PlanError> {
        let Some(names) = names else {
            return Ok(self);
        };
        let names: Vec<&str> = names
            .iter()
            .map(|n| n.trim())
            .filter(|n| !n.is_empty())
            .collect();
        if names.is_empty() || names == ["none"] {
            self.heatmap = None;
            return Ok(self);
        }
        let s = &self.scenario;
        let bad = |reason: String| PlanError::BadHeatmap { reason };
        if names.len() != 2 {
            return Err(bad(format!(
                "expected two axes X,Y (or `none`), got {}",
                names.len()
            )));
        }
        let axis = |n: &str| {
            Param::from_name(n)
                .and_then(|p| s.axis_of(p))
                .ok_or_else(|| {
                    bad(format!(
                        "`{n}` is not an axis of scenario `{}`; axes: {}",
                        s.name,
                        s.axes
                            .iter()
                            .map(|a| a.param.name())
                            .collect::<Vec<_>>()
                            .join(", ")
                    ))
                })
        };
        let (x, y) = (axis(names[0])?, axis(names[1])?);
        if x == y {
            return Err(bad(format!("X and Y are the same axis `{}`", names[0])));
        }
        let cells = self.grid.lens[x].saturating_mul(self.grid.lens[y]);
        if cells > MAX_HEATMAP_CELLS {
            return Err(bad(format!(
                "{cells} cells is more than the {MAX_HEATMAP_CELLS} supported; pick shorter axes"
            )));
        }
        self.heatmap = Some(HeatmapAxes { x, y });
        Ok(self)
    }

    /// Number of heatmap cells (0 without a heatmap).
    pub fn heatmap_cells(&self) -> usize {
        self.heatmap
            .map_or(0, |h| (self.grid.lens[h.x] * self.grid.lens[h.y]) as usize)
    }

    /// The heatmap cell of per-axis positions.
    #[inline]
    pub fn heatmap_cell(&self, digits: &[u64]) -> Option<usize> {
        self.heatmap
            .map(|h| (digits[h.x] * self.grid.lens[h.y] + digits[h.y]) as usize)
    }

    /// Per axis, its multiplier in the heatmap cell number (0 for the other axes).
    pub fn heatmap_mult(&self) -> Vec<usize> {
        let mut m = vec![0usize; self.grid.lens.len()];
        if let Some(h) = self.heatmap {
            m[h.x] = self.grid.lens[h.y] as usize;
            m[h.y] = 1;
        }
        m
    }

    /// Raw parameter values of the configuration at a flat index.
    pub fn values_at(&self, index: u64) -> crate::scenario::ParamValues {
        let mut digits = vec![0; self.grid.lens.len()];
        self.grid.decode(index, &mut digits);
        self.scenario.values_at(&digits)
    }

    /// The group of per-axis positions (mixed radix over the group axes).
    #[inline]
    pub fn group_of(&self, digits: &[u64]) -> usize {
        let mut g = 0usize;
        for &k in &self.group_axes {
            g = g * self.grid.lens[k] as usize + digits[k] as usize;
        }
        g
    }

    /// Per-group-axis positions of a group number.
    pub fn group_digits(&self, mut group: usize) -> Vec<(usize, u64)> {
        let mut out = vec![(0usize, 0u64); self.group_axes.len()];
        for (slot, &k) in self.group_axes.iter().enumerate().rev() {
            let len = self.grid.lens[k] as usize;
            out[slot] = (k, (group % len) as u64);
            group /= len;
        }
        out
    }
}

/// The default heatmap: the fleet-size axis (`gpu_count`) by the power axis (`power_w`, else
/// `power_frac`), when both are axes and the cells fit.
fn default_heatmap(s: &Scenario) -> Option<HeatmapAxes> {
    let x = s.axis_of(Param::GpuCount)?;
    let y = s
        .axis_of(Param::PowerW)
        .or_else(|| s.axis_of(Param::PowerFrac))?;
    let cells = (s.axes[x].values.len() as u64).saturating_mul(s.axes[y].values.len() as u64);
    (cells <= MAX_HEATMAP_CELLS).then_some(HeatmapAxes { x, y })
}

/// Lower and upper bounds of provisioned facility power (MW) over the grid's valid
/// configurations: N * (P + host_w) * pue is monotone in each factor, so per accelerator
/// the extremes of each factor (clipped to its valid range) give the bounds.
fn facility_bounds(s: &Scenario) -> (f64, f64) {
    use crate::model::Accelerator;
    let minmax = |v: &[f64]| {
        v.iter()
            .fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), &x| {
                (lo.min(x), hi.max(x))
            })
    };
    // The effective values of `p` on accelerator `a`.
    let range = |p: Param, a: &Accelerator| -> (f64, f64) {
        let base = a.base(p);
        match s.sources[p.index()] {
            Source::Default => (base, base),
            Source::Fixed(x) => (x, x),
            Source::FixedTimes(x) => (x * base, x * base),
            Source::Axis(k) => {
                let (lo, hi) = minmax(&s.axes[k].values);
                if s.axes[k].times {
                    (lo * base, hi * base)
                } else {
                    (lo, hi)
                }
            }
        }
    };
    let accs: Vec<&Accelerator> = match s.sources[Param::Accelerator.index()] {
        Source::Axis(k) => s.axes[k]
            .values
            .iter()
            .map(|&c| &s.accelerators[c as usize])
            .collect(),
        Source::Fixed(c) => vec![&s.accelerators[c as usize]],
        _ => s.accelerators.iter().collect(),
    };
    // Only valid configurations reach the bins: clip every factor to its valid range so one
    // out-of-range axis value does not stretch the bins (and blur the frontier).
    let clip = |(lo, hi): (f64, f64), min: f64, max: f64| (lo.clamp(min, max), hi.clamp(min, max));
    let (mut lo, mut hi) = (f64::INFINITY, f64::NEG_INFINITY);
    for a in accs {
        let power = if s.power_from_frac() {
            let (f0, f1) = range(Param::PowerFrac, a);
            (f0.max(0.0) * a.tdp_w, f1 * a.tdp_w)
        } else {
            range(Param::PowerW, a)
        };
        let power = clip(power, a.min_power_w, a.tdp_w);
        let n = clip(range(Param::GpuCount, a), 1.0, 1e8);
        let host = clip(range(Param::HostW, a), 0.0, f64::MAX);
        let pue = clip(range(Param::Pue, a), 1.0, 3.0);
        lo = lo.min(n.0 * (power.0 + host.0) * pue.0 / 1e6);
        hi = hi.max(n.1 * (power.1 + host.1) * pue.1 / 1e6);
    }
    (lo, hi)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::catalog::Catalog;

    fn group_by(names: &[&str]) -> Vec<String> {
        names.iter().map(|n| n.to_string()).collect()
    }

    #[test]
    fn an_unknown_group_axis_names_the_scenario_and_its_axes() {
        let s = Scenario::builtin_default(&Catalog::builtin().unwrap()).unwrap();
        let axes: Vec<&str> = s.axes.iter().map(|a| a.param.name()).collect();
        let expected = format!(
            "--group-by: `bogus` is not an axis of scenario `{}`; axes: {}",
            s.name,
            axes.join(", ")
        );
        let e = SweepPlan::new(s, Some(&group_by(&["bogus"]))).unwrap_err();
        assert!(matches!(e, PlanError::UnknownGroupAxis { .. }), "{e:?}");
        assert_eq!(e.to_string(), expected);
    }

    #[test]
    fn too_many_groups_says_how_many_and_the_limit() {
        // The bench grid's outer carbon axis holds as many values as copies of the grid.
        let base = crate::bench::bench_plan(1).unwrap().grid.size;
        let copies = MAX_GROUPS + 1;
        let big = crate::bench::bench_plan(base * copies).unwrap();
        let e = SweepPlan::new(big.scenario, Some(&group_by(&["carbon_kg_per_kwh"]))).unwrap_err();
        assert_eq!(e, PlanError::TooManyGroups { groups: copies });
        assert_eq!(
            e.to_string(),
            format!(
                "--group-by: {copies} groups is more than the 65536 supported; group by shorter axes"
            )
        );
    }
}
