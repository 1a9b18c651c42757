//! Sensitivity of a scenario's best decision (spec v2 "sensitivity"): the tornado. Owns
//! choosing the inputs to move and their settings, the objective of the best configuration
//! at each setting, the re-sweeps of the grid and the bisection for the break-even value.
//!
//! The base is the scenario's deterministic best (uncertain inputs at their medians): its
//! decision is its axis values. One input at a time, everything else at its base value:
//! - an uncertain input goes to its distribution's p10 and p90;
//! - any other numeric parameter that is not an axis (fixed, per-accelerator, the
//!   accelerator's figure or the default) to 0.9x and 1.1x of its value on each
//!   accelerator, clipped to its valid range there;
//! - a categorical parameter that is not an axis to each alternative.
//!
//! Every setting is a modified [`Scenario`] in which the input is one plain value per
//! accelerator (a `[accelerators.ID]` value) or a `[fixed]` code, so the plan and its traced
//! tape fold it into constants: a re-sweep costs what the base sweep costs. Rendering is
//! [`crate::report::sensitivity`]'s.

use crate::backend::{Backend, BackendError, BackendInfo};
use crate::model::{evaluate, is_feasible, Accelerator, Objective};
use crate::params::{round_integer, Bound, Param, ParamKind, PARAMS};
use crate::plan::{PlanError, SweepPlan};
use crate::scenario::{Scenario, Source};
use crate::summary::{describe, ParamValue, Reported};
use crate::sweep::run_sweep;
use crate::uncertain::{UncertainInput, Uncertainty};
use std::time::Instant;

/// Multipliers of the low and high settings of a numeric input that is not uncertain.
pub const SCALE: (f64, f64) = (0.9, 1.1);
/// Quantiles of the low and high settings of an uncertain input.
pub const QUANTILES: (f64, f64) = (0.1, 0.9);
/// The bisection stops when the bracket of a break-even is at most this share of the
/// input's range (the range between its low and high settings).
pub const BISECTION_TOLERANCE: f64 = 0.01;

/// A decision: the axis values of one configuration of the grid.
#[derive(Clone, Debug, PartialEq)]
pub struct Decision {
    /// The configuration's flat index (the same grid in every re-sweep).
    pub index: u64,
    /// Each axis's value at that index (codes as names; a `times` axis its multiplier).
    pub axes: Vec<(Param, ParamValue)>,
}

/// How an input's settings were chosen.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Setting {
    /// An uncertain input, at its distribution's p10 and p90.
    Uncertain,
    /// A numeric input at 0.9x and 1.1x, clipped to its valid range.
    Scaled,
    /// A categorical input at each alternative.
    Alternatives,
}

impl Setting {
    pub fn name(self) -> &'static str {
        match self {
            Setting::Uncertain => "uncertain",
            Setting::Scaled => "scaled",
            Setting::Alternatives => "alternatives",
        }
    }
}

/// One setting of an input and what it does.
#[derive(Clone, Debug, PartialEq)]
pub struct End {
    /// The input's value: on the input's own accelerator for a per-accelerator input, else
    /// on the base best's accelerator.
    pub value: ParamValue,
    /// The multiplier of the base value (scaled inputs and `times` uncertain inputs).
    pub factor: Option<f64>,
    /// The objective of the base best configuration (its decision) at this setting.
    pub objective: f64,
    pub valid: bool,
    pub feasible: bool,
    /// The whole grid's best decision at this setting; `None` when nothing is feasible.
    pub best: Option<Decision>,
}

/// A value of an input, between its base and one of its settings, at which the whole
/// grid's best decision changes.
#[derive(Clone, Debug, PartialEq)]
pub struct BreakEven {
    /// The value at which the new decision is the best (the end of the final bracket away
    /// from the base).
    pub value: ParamValue,
    pub factor: Option<f64>,
    /// The other end of the final bracket: the base decision is still the best there.
    pub holds: ParamValue,
    pub holds_factor: Option<f64>,
    /// The decision that takes over; `None` when nothing is feasible there.
    pub takes_over: Option<Decision>,
}

/// One input of the tornado.
#[derive(Clone, Debug, PartialEq)]
pub struct Row {
    pub param: Param,
    /// The accelerator of a per-accelerator uncertain input.
    pub accelerator: Option<String>,
    pub setting: Setting,
    /// An uncertain input's distribution, as written in the scenario.
    pub distribution: Option<String>,
    /// The input at its base value (the objective is the base best's).
    pub base: End,
    /// [low, high] for numeric inputs; one per alternative for categorical ones.
    pub ends: Vec<End>,
    /// |objective at high - objective at low|; for categorical inputs the spread of the
    /// objective over the base value and the alternatives. NaN when an end has none.
    pub swing: f64,
    /// Where the best decision changes: at most one below and one above the base value for
    /// numeric inputs; each alternative that changes it for categorical ones. Empty: none
    /// in the range.
    pub break_even: Vec<BreakEven>,
}

/// The tornado of a scenario.
#[derive(Clone, Debug)]
pub struct Sensitivity {
    pub scenario_name: String,
    pub scenario_file: String,
    pub objective: Objective,
    /// The base best configuration, described in full.
    pub best: Reported,
    pub decision: Decision,
    /// Sorted by swing, largest first (NaN swings last).
    pub rows: Vec<Row>,
    /// Number of whole-grid sweeps run (the base one included).
    pub sweeps: u64,
    pub backend: BackendInfo,
    pub elapsed_s: f64,
    /// Things the user should know about how the sweeps went (e.g. a GPU fallback).
    pub notices: Vec<String>,
}

/// Why a tornado could not be made.
#[derive(Debug, thiserror::Error)]
pub enum SensitivityError {
    /// The base sweep found no feasible configuration.
    #[error("scenario `{scenario}` has no feasible configuration, so no best decision to start the sensitivity from")]
    NoBest { scenario: String },
    #[error(transparent)]
    Plan(#[from] PlanError),
    /// A sweep's plan has a value the f32 GPU kernels cannot represent, and the GPU has no
    /// fallback (`--backend gpu`): bad input, found before the sweep runs.
    #[error("sweep {sweep} of the sensitivity: {what} cannot be represented in f32 (non-zero magnitudes from 1.2e-38 to 3.4e38), which the GPU kernels compute in")]
    OutsideF32 { sweep: u64, what: String },
    /// A re-sweep failed (the GPU, with no fallback).
    #[error("sweep {sweep} of the sensitivity failed: {source}")]
    Sweep {
        sweep: u64,
        #[source]
        source: BackendError,
    },
}

/// Runs whole-grid sweeps of modified scenarios and keeps count.
struct Resweeps<'b> {
    primary: &'b dyn Backend,
    fallback: Option<&'b dyn Backend>,
    count: u64,
    notices: Vec<String>,
}

impl Resweeps<'_> {
    /// The flat index of the best feasible configuration of `s`'s grid, if any.
    fn best(&mut self, s: &Scenario) -> Result<Option<u64>, SensitivityError> {
        let plan = SweepPlan::new(s.clone(), Some(&[]))?;
        self.count += 1;
        // The f32 GPU kernels (the inexact backend) refuse such a plan; with no fallback to
        // run it that is the input's fault, not the GPU's.
        if self.fallback.is_none() && !self.primary.exact() {
            if let Some(what) = crate::backend::gpu::f32_range::outside_f32(&plan) {
                return Err(SensitivityError::OutsideF32 {
                    sweep: self.count,
                    what,
                });
            }
        }
        let summary = run_sweep(&plan, self.primary, self.fallback, &|_| {}).map_err(|e| {
            SensitivityError::Sweep {
                sweep: self.count,
                source: e,
            }
        })?;
        for n in summary.notices {
            if !self.notices.contains(&n) {
                self.notices.push(n);
            }
        }
        Ok(summary.best.map(|b| b.index))
    }
}

/// What moving one input does to a scenario, as a function of one number `t` (a multiplier
/// for scaled inputs and `times` uncertain inputs, the value for plain uncertain inputs,
/// the code for categorical inputs).
#[derive(Clone, Debug)]
struct Lever {
    param: Param,
    kind: LeverKind,
}

#[derive(Clone, Debug)]
enum LeverKind {
    /// Each accelerator's effective value times `t`, clipped to its valid range there.
    Scaled { effective: Vec<f64> },
    /// Uncertain input `input` at value `t` (of its distribution), on the accelerators in
    /// `on` (those it acts on), whose values would otherwise be `base`.
    Uncertain {
        input: UncertainInput,
        base: Vec<f64>,
        on: Vec<bool>,
    },
    /// The `[fixed]` code `t`.
    Categorical,
}

impl Lever {
    /// The input's value on accelerator `a` at `t`.
    fn value_on(&self, a: usize, acc: &Accelerator, t: f64) -> f64 {
        match &self.kind {
            LeverKind::Scaled { effective } => {
                clip(self.param, acc, t * effective[a], effective[a])
            }
            LeverKind::Uncertain { input, base, .. } => uncertain_value(input, t, base[a]),
            LeverKind::Categorical => t,
        }
    }

    /// `s` with the input at `t`.
    fn apply(&self, s: &Scenario, t: f64) -> Scenario {
        let mut out = s.clone();
        let p = self.param;
        match &self.kind {
            LeverKind::Categorical => {
                out.sources[p.index()] = Source::Fixed(t);
                for acc in &mut out.accelerators {
                    acc.param_values[p.index()] = None;
                }
            }
            LeverKind::Scaled { .. } => {
                out.sources[p.index()] = Source::Default;
                for (a, acc) in out.accelerators.iter_mut().enumerate() {
                    let v = self.value_on(a, acc, t);
                    acc.param_values[p.index()] = Some(v);
                }
            }
            LeverKind::Uncertain { on, .. } => {
                for (a, acc) in out.accelerators.iter_mut().enumerate() {
                    if on[a] {
                        let v = self.value_on(a, acc, t);
                        acc.param_values[p.index()] = Some(v);
                    }
                }
            }
        }
        out
    }

    /// Whether `t` leaves the input's value unchanged on every accelerator in `used`
    /// (then the grid's best is the base one, with no sweep).
    fn changes_nothing(&self, s: &Scenario, used: &[usize], t: f64, t_base: f64) -> bool {
        if let LeverKind::Categorical = self.kind {
            return t == t_base;
        }
        used.iter().all(|&a| {
            if let LeverKind::Uncertain { on, .. } = &self.kind {
                if !on[a] {
                    return true;
                }
            }
            let acc = &s.accelerators[a];
            let (x, y) = (self.value_on(a, acc, t), self.value_on(a, acc, t_base));
            x == y || (x.is_nan() && y.is_nan())
        })
    }

    /// The accelerator whose value is reported: the input's own, else the best's (or, for
    /// a table-wide input that the best's accelerator overrides with its own, the first
    /// accelerator of the grid it acts on).
    fn shown_on(&self, best_acc: usize, used: &[usize]) -> usize {
        match &self.kind {
            LeverKind::Uncertain { input, on, .. } => match input.accelerator {
                Some(a) => a,
                None if on[best_acc] => best_acc,
                None => used.iter().copied().find(|&a| on[a]).unwrap_or(best_acc),
            },
            _ => best_acc,
        }
    }

    /// The accelerator of a per-accelerator uncertain input.
    fn accelerator(&self) -> Option<usize> {
        match &self.kind {
            LeverKind::Uncertain { input, .. } => input.accelerator,
            _ => None,
        }
    }

    fn factor(&self, t: f64) -> Option<f64> {
        match &self.kind {
            LeverKind::Scaled { .. } => Some(t),
            LeverKind::Uncertain { input, .. } if input.times => Some(t),
            _ => None,
        }
    }
}

/// The value parameter `p` takes on accelerator `acc` when it is not an axis: the
/// `[fixed]` value (or multiple), else the per-accelerator value, figure or default.
fn effective(s: &Scenario, p: Param, acc: &Accelerator) -> f64 {
    match s.sources[p.index()] {
        Source::Fixed(x) => x,
        Source::FixedTimes(x) => x * acc.base(p),
        Source::Default => acc.base(p),
        Source::Axis(_) => f64::NAN,
    }
}

/// The closed interval of values `p` may take on `acc` (the table's range, with open
/// bounds moved one step inside, and the accelerator's own rules for `power_w`,
/// `power_frac` and `idle_w`).
pub fn valid_interval(p: Param, acc: &Accelerator) -> (f64, f64) {
    let v = p.info().valid;
    let mut lo = match v.lo {
        Bound::Open => f64::NEG_INFINITY,
        Bound::Incl(b) => b,
        Bound::Excl(b) => b.next_up(),
    };
    let mut hi = match v.hi {
        Bound::Open => f64::INFINITY,
        Bound::Incl(b) => b,
        Bound::Excl(b) => b.next_down(),
    };
    match p {
        Param::PowerW => {
            lo = acc.min_power_w;
            hi = acc.tdp_w;
        }
        Param::PowerFrac => {
            let mut f = acc.min_power_w / acc.tdp_w;
            if f * acc.tdp_w < acc.min_power_w {
                f = f.next_up();
            }
            lo = lo.max(f);
        }
        Param::IdleW => hi = hi.min(acc.min_power_w.next_down()),
        _ => {}
    }
    if v.integer {
        (lo.ceil(), hi.floor())
    } else {
        (lo, hi)
    }
}

/// `x` (a scaled value of `p` on `acc`, whose base value is `base`) rounded as the
/// parameter is and clipped to its valid range there. A base value already outside the
/// range (a configuration the model counts as invalid) is left unclipped, so scaling
/// never makes an invalid configuration valid.
pub fn clip(p: Param, acc: &Accelerator, x: f64, base: f64) -> f64 {
    let x = if p.kind() == ParamKind::Integer {
        round_integer(x)
    } else {
        x
    };
    let (lo, hi) = valid_interval(p, acc);
    if lo <= base && base <= hi {
        x.clamp(lo, hi)
    } else {
        x
    }
}

/// A numeric value as reported (integers as integers).
fn number(p: Param, x: f64) -> ParamValue {
    if p.kind() == ParamKind::Integer && x.fract() == 0.0 && x.abs() < 9e15 {
        ParamValue::Int(x as i64)
    } else {
        ParamValue::Real(x)
    }
}

/// A parameter's raw value (code or number) as reported.
fn shown(s: &Scenario, p: Param, x: f64) -> ParamValue {
    if p.kind() == ParamKind::Categorical {
        ParamValue::Text(s.label(p, x))
    } else {
        number(p, x)
    }
}

/// The decision (axis values) at a flat index of `s`'s grid.
pub fn decision(s: &Scenario, index: u64) -> Decision {
    let grid = s.grid();
    let mut digits = vec![0; grid.lens.len()];
    grid.decode(index, &mut digits);
    Decision {
        index,
        axes: s
            .axes
            .iter()
            .zip(&digits)
            .map(|(a, &d)| (a.param, shown(s, a.param, a.values[d as usize])))
            .collect(),
    }
}

/// The objective of the configuration at `index` of `s`, whether it is valid and feasible.
fn outcome(s: &Scenario, index: u64) -> (f64, bool, bool) {
    let (cfg, acc) = s.resolve(&s.values_at_index(index));
    let e = evaluate(&cfg, acc, &s.workload);
    (
        e.metrics[s.objective.metric as usize],
        e.valid,
        is_feasible(&e, &s.constraints),
    )
}

/// The value uncertain input `i` gives on an accelerator whose value would otherwise be
/// `base` when its distribution's value is `t` (a `times` input multiplies; an integer
/// parameter is rounded, as draws are).
fn uncertain_value(i: &UncertainInput, t: f64, base: f64) -> f64 {
    let t = if i.param.kind() == ParamKind::Integer {
        round_integer(t)
    } else {
        t
    };
    if i.times {
        t * base
    } else {
        t
    }
}

/// Per accelerator, the uncertain input that acts on `p` there (its own, else the
/// table-wide one), by position in `u.inputs`.
fn acting_inputs(s: &Scenario, u: &Uncertainty, p: Param) -> Vec<Option<usize>> {
    (0..s.accelerators.len())
        .map(|a| {
            let own = u
                .inputs
                .iter()
                .position(|i| i.param == p && i.accelerator == Some(a));
            own.or_else(|| {
                u.inputs
                    .iter()
                    .position(|i| i.param == p && i.accelerator.is_none())
            })
        })
        .collect()
}

/// The deterministic base of a scenario: every uncertain input at its median (as a
/// per-accelerator value), and no uncertainty left.
pub fn deterministic_base(s: &Scenario) -> Scenario {
    let mut out = s.clone();
    let Some(u) = out.uncertainty.take() else {
        return out;
    };
    out.statistic = Default::default();
    out.confidence = 1.0;
    for info in PARAMS {
        let p = info.param;
        let acting = acting_inputs(s, &u, p);
        for (a, input) in acting.iter().enumerate() {
            if let Some(k) = input {
                let i = &u.inputs[*k];
                let base = s.accelerators[a].base(p);
                out.accelerators[a].param_values[p.index()] =
                    Some(uncertain_value(i, i.dist.median(), base));
            }
        }
    }
    out
}

/// Accelerators the grid uses (the axis's values, or the fixed one).
fn used_accelerators(s: &Scenario) -> Vec<usize> {
    let mut v: Vec<usize> = match s.sources[Param::Accelerator.index()] {
        Source::Axis(k) => s.axes[k].values.iter().map(|&c| c as usize).collect(),
        Source::Fixed(c) => vec![c as usize],
        _ => (0..s.accelerators.len()).collect(),
    };
    v.sort_unstable();
    v.dedup();
    v
}

/// The inputs of the tornado, each with its low, base and high lever settings (for
/// categorical inputs: the base code and the alternatives).
/// `original` is the scenario as given (with its uncertainty), `s` its deterministic base.
fn levers(
    original: &Scenario,
    s: &Scenario,
    best_acc: usize,
) -> Vec<(Lever, Setting, f64, Vec<f64>)> {
    let mut out = Vec::new();
    let uncertainty = original.uncertainty.as_ref();
    if let Some(u) = uncertainty {
        for (k, input) in u.inputs.iter().enumerate() {
            let p = input.param;
            let acting = acting_inputs(original, u, p);
            let q = |x: f64| input.dist.quantile(x);
            out.push((
                Lever {
                    param: p,
                    kind: LeverKind::Uncertain {
                        input: input.clone(),
                        base: original.accelerators.iter().map(|a| a.base(p)).collect(),
                        on: acting.iter().map(|&i| i == Some(k)).collect(),
                    },
                },
                Setting::Uncertain,
                q(0.5),
                vec![q(QUANTILES.0), q(QUANTILES.1)],
            ));
        }
    }
    let from_frac = s.power_from_frac() || uncertainty.is_some_and(|u| u.draws(Param::PowerFrac));
    for info in PARAMS {
        let p = info.param;
        if uncertainty.is_some_and(|u| u.draws(p)) {
            continue;
        }
        if s.axis_of(p).is_some()
            || (p == Param::PowerW && from_frac)
            || (p == Param::PowerFrac && !from_frac)
        {
            continue;
        }
        if info.kind == ParamKind::Categorical {
            let base = effective(s, p, &s.accelerators[best_acc]);
            let count = match p {
                Param::Accelerator => s.accelerators.len(),
                Param::Precision => crate::params::Precision::ALL.len(),
                _ => crate::params::CostModel::ALL.len(),
            };
            let alternatives = (0..count)
                .map(|c| c as f64)
                .filter(|&c| c != base)
                .collect();
            out.push((
                Lever {
                    param: p,
                    kind: LeverKind::Categorical,
                },
                Setting::Alternatives,
                base,
                alternatives,
            ));
            continue;
        }
        let effective: Vec<f64> = s.accelerators.iter().map(|a| effective(s, p, a)).collect();
        if effective[best_acc].is_nan() {
            continue;
        }
        out.push((
            Lever {
                param: p,
                kind: LeverKind::Scaled { effective },
            },
            Setting::Scaled,
            1.0,
            vec![SCALE.0, SCALE.1],
        ));
    }
    out
}

/// Make the tornado of `scenario`, re-sweeping on `primary` (with `fallback` finishing
/// what a failing primary leaves, as in [`run_sweep`]).
pub fn tornado(
    scenario: &Scenario,
    primary: &dyn Backend,
    fallback: Option<&dyn Backend>,
) -> Result<Sensitivity, SensitivityError> {
    let start = Instant::now();
    let base = deterministic_base(scenario);
    let mut sweeps = Resweeps {
        primary,
        fallback,
        count: 0,
        notices: Vec::new(),
    };
    let best_index = sweeps
        .best(&base)?
        .ok_or_else(|| SensitivityError::NoBest {
            scenario: base.name.clone(),
        })?;
    let best_values = base.values_at_index(best_index);
    let best_acc = best_values[Param::Accelerator.index()] as usize;
    let used = used_accelerators(&base);
    let base_decision = decision(&base, best_index);
    let (base_objective, base_valid, base_feasible) = outcome(&base, best_index);

    let mut rows = Vec::new();
    for (lever, setting, t_base, settings) in levers(scenario, &base, best_acc) {
        let p = lever.param;
        let on = lever.shown_on(best_acc, &used);
        let show = |t: f64| {
            let x = lever.value_on(on, &base.accelerators[on], t);
            shown(&base, p, x)
        };
        // The grid's best at `t`, without a sweep when nothing changes.
        let mut best_at = |t: f64| -> Result<Option<u64>, SensitivityError> {
            if lever.changes_nothing(&base, &used, t, t_base) {
                Ok(Some(best_index))
            } else {
                sweeps.best(&lever.apply(&base, t))
            }
        };
        let mut ends = Vec::new();
        let mut bests = Vec::new();
        for &t in &settings {
            let modified = lever.apply(&base, t);
            let (objective, valid, feasible) = outcome(&modified, best_index);
            let grid_best = best_at(t)?;
            bests.push(grid_best);
            ends.push(End {
                value: show(t),
                factor: lever.factor(t),
                objective,
                valid,
                feasible,
                best: grid_best.map(|i| decision(&base, i)),
            });
        }
        let mut break_even = Vec::new();
        if setting == Setting::Alternatives {
            for (k, &t) in settings.iter().enumerate() {
                if bests[k] != Some(best_index) {
                    break_even.push(BreakEven {
                        value: show(t),
                        factor: None,
                        holds: show(t_base),
                        holds_factor: None,
                        takes_over: ends[k].best.clone(),
                    });
                }
            }
        } else {
            let tolerance = BISECTION_TOLERANCE * (settings[1] - settings[0]).abs();
            for (k, &t_end) in settings.iter().enumerate() {
                if bests[k] == Some(best_index) {
                    continue;
                }
                // best_at(a) is the base decision, best_at(b) is not.
                let (mut a, mut b, mut at_b) = (t_base, t_end, bests[k]);
                while (b - a).abs() > tolerance {
                    let mid = 0.5 * (a + b);
                    let d = best_at(mid)?;
                    if d == Some(best_index) {
                        a = mid;
                    } else {
                        b = mid;
                        at_b = d;
                    }
                }
                break_even.push(BreakEven {
                    value: show(b),
                    factor: lever.factor(b),
                    holds: show(a),
                    holds_factor: lever.factor(a),
                    takes_over: at_b.map(|i| decision(&base, i)),
                });
            }
        }
        let swing = if setting == Setting::Alternatives {
            let all = std::iter::once(base_objective).chain(ends.iter().map(|e| e.objective));
            let (lo, hi) = all
                .filter(|x| !x.is_nan())
                .fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), x| {
                    (lo.min(x), hi.max(x))
                });
            if lo <= hi {
                hi - lo
            } else {
                f64::NAN
            }
        } else {
            (ends[1].objective - ends[0].objective).abs()
        };
        rows.push(Row {
            param: p,
            accelerator: lever.accelerator().map(|a| base.accelerators[a].id.clone()),
            distribution: match &lever.kind {
                LeverKind::Uncertain { input, .. } => Some(if input.times {
                    format!("times = {{ {} }}", input.dist.describe())
                } else {
                    input.dist.describe()
                }),
                _ => None,
            },
            setting,
            base: End {
                value: show(t_base),
                factor: lever.factor(t_base),
                objective: base_objective,
                valid: base_valid,
                feasible: base_feasible,
                best: Some(base_decision.clone()),
            },
            ends,
            swing,
            break_even,
        });
    }
    // Largest swing first; NaN last; ties keep the table's order.
    rows.sort_by(|x, y| match (x.swing.is_nan(), y.swing.is_nan()) {
        (false, false) => y.swing.total_cmp(&x.swing),
        (a, b) => a.cmp(&b),
    });
    Ok(Sensitivity {
        scenario_name: base.name.clone(),
        scenario_file: base.file.clone(),
        objective: base.objective,
        best: describe(&base, best_index, &best_values),
        decision: base_decision,
        rows,
        sweeps: sweeps.count,
        backend: primary.info(),
        elapsed_s: start.elapsed().as_secs_f64(),
        notices: sweeps.notices,
    })
}
