//! The cluster model of spec `model.md`: its formulas, written once and generic over the
//! numbers they compute with ([`formulas`]), the metric table ([`metrics`]), and the scalar
//! f64 evaluation of one configuration ([`evaluate`], the formulas on f64), which every
//! kernel is held to. Validity, constraints and the objective live here too. This module
//! knows nothing of grids, backends, files or the CLI.

pub mod formulas;
pub mod metrics;

pub use formulas::{formulas, Numeric, Op, Outputs};
pub use metrics::{Metric, MetricInfo, MetricNeeds, METRICS, METRIC_COUNT};

use crate::params::{Figure, Param, ParamDefault, ParamKind, PARAMS, PARAM_COUNT};

/// Hours per year (365.25 days).
pub const HOURS_PER_YEAR: f64 = 8766.0;
/// Seconds per year (365.25 days).
pub const SECONDS_PER_YEAR: f64 = 31_557_600.0;
/// Yearly electricity use of one US home (EIA, ~10,500 kWh in 2023).
pub const HOME_KWH_PER_YEAR: f64 = 10_500.0;
/// kWh drawn in a year by one watt of average draw.
pub const KWH_PER_W_YEAR: f64 = HOURS_PER_YEAR / 1000.0;
/// US homes with the same yearly use as one watt of average draw.
pub const HOMES_PER_W: f64 = KWH_PER_W_YEAR / HOME_KWH_PER_YEAR;
/// Days per second.
pub const DAYS_PER_SECOND: f64 = 1.0 / 86400.0;

// Unit conversions below multiply by powers of ten (1e-6 ...) rather than divide: the same
// formulas, with one division fewer each in every kernel that mirrors this file.

/// One accelerator's figures (a catalog entry, possibly overridden by a scenario).
#[derive(Clone, Debug, PartialEq)]
pub struct Accelerator {
    pub id: String,
    pub name: String,
    pub vendor: String,
    /// Dense peak TFLOP/s per precision, indexed by `Precision as usize`; `None` = no peak.
    pub peak_tflops: [Option<f64>; 3],
    pub tdp_w: f64,
    pub idle_w: f64,
    pub min_power_w: f64,
    pub dvfs_exponent: f64,
    pub host_w: f64,
    pub mtbf_hours: f64,
    pub price_usd: f64,
    pub host_capex_usd: f64,
    pub hbm_gb: f64,
    pub source: String,
    /// Per-accelerator parameter values set by a scenario's `[accelerators.ID]` table
    /// (spec v2 "Per-accelerator values"), by [`Param::index`].
    pub param_values: [Option<f64>; PARAM_COUNT],
}

impl Accelerator {
    pub fn peak(&self, p: crate::params::Precision) -> Option<f64> {
        self.peak_tflops[p as usize]
    }

    /// The dense peak (TFLOP/s) at a precision code; 0 where there is none.
    pub fn peak_at(&self, code: f64) -> f64 {
        let i = if (0.0..3.0).contains(&code) {
            code as usize
        } else {
            2
        };
        self.peak_tflops[i].unwrap_or(0.0)
    }

    /// One of the accelerator's figures.
    pub fn figure(&self, f: Figure) -> f64 {
        match f {
            Figure::TdpW => self.tdp_w,
            Figure::MinPowerW => self.min_power_w,
            Figure::IdleW => self.idle_w,
            Figure::DvfsExponent => self.dvfs_exponent,
            Figure::HostW => self.host_w,
            Figure::MtbfHours => self.mtbf_hours,
            Figure::PriceUsd => self.price_usd,
            Figure::HostCapexUsd => self.host_capex_usd,
        }
    }

    /// The value parameter `p` has on this accelerator when neither an axis nor `[fixed]`
    /// sets it (spec v2 levels 2-4): the per-accelerator value, else the accelerator's
    /// figure, else the parameter's default; NaN where there is none (a required
    /// parameter, or `power_frac`, whose base is 1 so that `P = tdp_w`).
    pub fn base(&self, p: Param) -> f64 {
        if let Some(x) = self.param_values[p.index()] {
            return x;
        }
        match p.info().default {
            ParamDefault::Value(d) => d,
            ParamDefault::FromAccelerator(f) => self.figure(f),
            ParamDefault::Unset if p == Param::PowerFrac => 1.0,
            ParamDefault::Required | ParamDefault::Unset => f64::NAN,
        }
    }
}

/// The optional workload of a scenario.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct Workload {
    /// FLOP of one training run.
    pub train_flop: Option<f64>,
    /// Parameters (active, for mixture-of-experts) of the model trained.
    pub model_params: Option<f64>,
}

/// One fully resolved configuration: every parameter's effective value (codes for
/// categorical parameters), indexed by [`Param`]. `power_frac` is NaN unless it sets the
/// power (then `P = power_frac * tdp_w` and `power_w` is ignored).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Config {
    pub values: [f64; PARAM_COUNT],
}

impl Config {
    /// Every parameter at its value on accelerator `a` (levels 2-4 of spec v2): the
    /// required ones (`accelerator`, `gpu_count`) NaN, `power_frac` unset.
    pub fn base(a: &Accelerator) -> Config {
        let mut values = [f64::NAN; PARAM_COUNT];
        for info in PARAMS {
            values[info.param.index()] = a.base(info.param);
        }
        values[Param::PowerFrac.index()] =
            a.param_values[Param::PowerFrac.index()].unwrap_or(f64::NAN);
        Config { values }
    }

    /// Whether `power_frac` sets the power.
    pub fn power_from_frac(&self) -> bool {
        !self[Param::PowerFrac].is_nan()
    }

    /// The power limit in W.
    pub fn power_w(&self, a: &Accelerator) -> f64 {
        if self.power_from_frac() {
            self[Param::PowerFrac] * a.tdp_w
        } else {
            self[Param::PowerW]
        }
    }
}

impl std::ops::Index<Param> for Config {
    type Output = f64;
    fn index(&self, p: Param) -> &f64 {
        &self.values[p.index()]
    }
}

impl std::ops::IndexMut<Param> for Config {
    fn index_mut(&mut self, p: Param) -> &mut f64 {
        &mut self.values[p.index()]
    }
}

/// All metrics of one configuration, indexed by [`Metric::index`]. Metrics that do not
/// apply (no workload figure) are NaN.
pub type Metrics = [f64; METRIC_COUNT];

/// The result of evaluating one configuration.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Evaluation {
    /// Every parameter inside its valid range (spec "Validity").
    pub valid: bool,
    /// Every metric that applies is finite (neither infinite nor NaN): a feasibility test
    /// (spec "Validity, constraints, objective": a feasible configuration's metrics are
    /// finite), e.g. not where `peak_tflops = 1e308` overflows the throughput.
    pub finite: bool,
    pub metrics: Metrics,
}

/// Whether a parameter value is inside its own valid range (the parameter table's
/// [`crate::params::Valid`]); categorical parameters and `power_w`, whose range is the
/// accelerator's, always pass here.
pub fn value_in_range(p: Param, x: f64) -> bool {
    p.kind() == ParamKind::Categorical || p == Param::PowerW || p.info().valid.contains(x)
}

/// The formulas on f64 values: one configuration on one accelerator.
struct Scalar<'a> {
    c: &'a Config,
    a: &'a Accelerator,
    w: Workload,
}

impl Numeric for Scalar<'_> {
    type V = f64;
    #[inline(always)]
    fn konst(&mut self, x: f64) -> f64 {
        x
    }
    #[inline(always)]
    fn param(&mut self, p: Param) -> f64 {
        self.c[p]
    }
    #[inline(always)]
    fn figure(&mut self, f: Figure) -> f64 {
        self.a.figure(f)
    }
    #[inline(always)]
    fn peak_tflops(&mut self, precision: f64) -> f64 {
        self.a.peak_at(precision)
    }
    #[inline(always)]
    fn op(&mut self, op: Op, x: f64, y: f64) -> f64 {
        op.apply(x, y)
    }
    #[inline(always)]
    fn select(&mut self, mask: f64, a: f64, b: f64) -> f64 {
        if mask != 0.0 {
            a
        } else {
            b
        }
    }
    fn power_from_frac(&self) -> bool {
        self.c.power_from_frac()
    }
    fn workload(&self) -> Workload {
        self.w
    }
    #[inline(always)]
    fn in_range(&mut self, p: Param, x: f64) -> f64 {
        if p.info().valid.contains(x) {
            1.0
        } else {
            0.0
        }
    }
}

/// Evaluate one configuration in f64: [`formulas`] on plain numbers.
pub fn evaluate(c: &Config, a: &Accelerator, w: &Workload) -> Evaluation {
    let out = formulas(&mut Scalar { c, a, w: *w });
    let mut metrics = [f64::NAN; METRIC_COUNT];
    for (m, v) in metrics.iter_mut().zip(out.metrics) {
        if let Some(v) = v {
            *m = v;
        }
    }
    Evaluation {
        valid: out.validity.iter().all(|&t| t != 0.0),
        finite: out.metrics.iter().flatten().all(|v| v.is_finite()),
        metrics,
    }
}

/// Limits a scenario may set on feasible configurations.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct Constraints {
    pub max_facility_mw: Option<f64>,
    pub max_tco_usd: Option<f64>,
    pub max_capex_usd: Option<f64>,
    pub max_train_days: Option<f64>,
    pub min_throughput_pflops: Option<f64>,
    pub max_npv_cost_usd: Option<f64>,
}

impl Constraints {
    /// The constraint names, as written in scenarios.
    pub const NAMES: [&'static str; 6] = [
        "max_facility_mw",
        "max_tco_usd",
        "max_capex_usd",
        "max_train_days",
        "min_throughput_pflops",
        "max_npv_cost_usd",
    ];

    /// Set a constraint by name; false when the name is unknown.
    pub fn set(&mut self, name: &str, value: f64) -> bool {
        let slot = match name {
            "max_facility_mw" => &mut self.max_facility_mw,
            "max_tco_usd" => &mut self.max_tco_usd,
            "max_capex_usd" => &mut self.max_capex_usd,
            "max_train_days" => &mut self.max_train_days,
            "min_throughput_pflops" => &mut self.min_throughput_pflops,
            "max_npv_cost_usd" => &mut self.max_npv_cost_usd,
            _ => return false,
        };
        *slot = Some(value);
        true
    }

    /// The constraints that are set, as (metric, bound, is_upper_bound).
    pub fn bounds(&self) -> Vec<(Metric, f64, bool)> {
        let mut v = Vec::new();
        if let Some(x) = self.max_facility_mw {
            v.push((Metric::FacilityMw, x, true));
        }
        if let Some(x) = self.max_tco_usd {
            v.push((Metric::TcoUsd, x, true));
        }
        if let Some(x) = self.max_capex_usd {
            v.push((Metric::CapexUsd, x, true));
        }
        if let Some(x) = self.max_train_days {
            v.push((Metric::TrainDays, x, true));
        }
        if let Some(x) = self.min_throughput_pflops {
            v.push((Metric::ThroughputPflops, x, false));
        }
        if let Some(x) = self.max_npv_cost_usd {
            v.push((Metric::NpvCostUsd, x, true));
        }
        v
    }

    /// Whether metrics meet every constraint (bounds inclusive).
    pub fn met_by(&self, m: &Metrics) -> bool {
        self.bounds().iter().all(|&(metric, bound, upper)| {
            let v = m[metric as usize];
            if upper {
                v <= bound
            } else {
                v >= bound
            }
        })
    }
}

/// Why a configuration is invalid or infeasible (spec v2 "values as people read them"):
/// each failed validity test of [`formulas`] (a parameter outside its range, the power limit
/// outside the accelerator's, ...) and each failed feasibility test (throughput not
/// positive, a constraint not met), with the value and the bound. Empty when feasible.
pub fn reasons(
    c: &Config,
    a: &Accelerator,
    w: &Workload,
    constraints: &Constraints,
) -> Vec<String> {
    use crate::params::Precision;
    let out = formulas(&mut Scalar { c, a, w: *w });
    let frac = c.power_from_frac();
    let num = |x: f64| crate::format::fmt_num(x);
    // One label per validity test, in the order `formulas` pushes them.
    let mut labels: Vec<String> = PARAMS
        .iter()
        .filter(|i| formulas::has_own_range(i.param, frac))
        .map(|i| {
            format!(
                "{} = {} is outside its range ({})",
                i.param.name(),
                num(c[i.param]),
                i.valid.text()
            )
        })
        .collect();
    let power = c.power_w(a);
    let min_power = a.figure(Figure::MinPowerW);
    labels.extend([
        format!(
            "{} has no {} peak",
            a.id,
            Precision::from_code(c[Param::Precision]).name()
        ),
        format!(
            "the power limit {} W is below {}'s min_power_w {} W",
            num(power),
            a.id,
            num(min_power)
        ),
        format!(
            "the power limit {} W is above {}'s tdp_w {} W",
            num(power),
            a.id,
            num(a.tdp_w)
        ),
        format!(
            "idle_w = {} W is not below {}'s min_power_w {} W",
            num(c[Param::IdleW]),
            a.id,
            num(min_power)
        ),
        format!(
            "ramp_years = {} is above years = {}",
            num(c[Param::RampYears]),
            num(c[Param::Years])
        ),
    ]);
    debug_assert_eq!(
        labels.len(),
        out.validity.len(),
        "one label per validity test"
    );
    let mut why: Vec<String> = out
        .validity
        .iter()
        .zip(labels)
        .filter(|(t, _)| **t == 0.0)
        .map(|(_, l)| l)
        .collect();
    if !why.is_empty() {
        return why;
    }
    let e = evaluate(c, a, w);
    let tput = e.metrics[Metric::ThroughputPflops as usize];
    if tput.is_nan() || tput <= 0.0 {
        why.push(format!("throughput_pflops = {} is not positive", num(tput)));
    }
    for m in Metric::ALL.iter().filter(|m| m.applies(w)) {
        let v = e.metrics[m.index()];
        if !v.is_finite() {
            let what = if v.is_nan() { "NaN" } else { "not finite" };
            why.push(format!("{} = {} is {what}", m.name(), num(v)));
        }
    }
    for (m, bound, upper) in constraints.bounds() {
        let v = e.metrics[m as usize];
        let met = if upper { v <= bound } else { v >= bound };
        if !met {
            why.push(format!(
                "{} = {} is {} {}_{} = {}",
                m.name(),
                crate::format::fmt_value(v, m.unit()),
                if upper { "above" } else { "below" },
                if upper { "max" } else { "min" },
                m.name(),
                crate::format::fmt_value(bound, m.unit())
            ));
        }
    }
    why
}

/// Whether a configuration is feasible: valid, positive useful throughput, every metric
/// that applies finite, every constraint met.
pub fn is_feasible(e: &Evaluation, constraints: &Constraints) -> bool {
    e.valid
        && e.finite
        && e.metrics[Metric::ThroughputPflops as usize] > 0.0
        && constraints.met_by(&e.metrics)
}

/// Whether the objective is maximised or minimised.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Sense {
    Max,
    Min,
}

impl Sense {
    pub fn name(self) -> &'static str {
        match self {
            Sense::Max => "max",
            Sense::Min => "min",
        }
    }
    pub fn from_name(s: &str) -> Option<Sense> {
        match s {
            "max" => Some(Sense::Max),
            "min" => Some(Sense::Min),
            _ => None,
        }
    }
}

/// The metric a sweep optimises, and in which direction.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Objective {
    pub metric: Metric,
    pub sense: Sense,
}

impl Objective {
    /// The spec's objectives and their senses.
    pub fn spec_default_sense(metric: Metric) -> Option<Sense> {
        metric.info().sense
    }

    /// Whether objective value `a` at index `ia` beats `b` at `ib` (ties: lowest index).
    #[inline]
    pub fn beats(&self, a: f64, ia: u64, b: f64, ib: u64) -> bool {
        match self.sense {
            Sense::Max => a > b || (a == b && ia < ib),
            Sense::Min => a < b || (a == b && ia < ib),
        }
    }
}

impl Default for Objective {
    fn default() -> Self {
        Objective {
            metric: Metric::ThroughputPflops,
            sense: Sense::Max,
        }
    }
}
