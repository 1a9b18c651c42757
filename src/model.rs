//! The cluster model of spec `model.md` as one scalar f64 function, [`evaluate`]: the source
//! of truth for every formula. The CPU and GPU kernels are separate implementations held to
//! this one by tests. This module knows nothing of grids, backends, files or the CLI.

use crate::params::{CostModel, Param, Precision};
use std::fmt;

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
}

impl Accelerator {
    pub fn peak(&self, p: Precision) -> Option<f64> {
        self.peak_tflops[p as usize]
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

/// One fully resolved configuration: every parameter has a value (accelerator defaults
/// already applied, `power_frac` already turned into `power_w` by [`Config::power_frac`]).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Config {
    pub precision: Precision,
    pub cost_model: CostModel,
    pub gpu_count: f64,
    pub power_w: f64,
    /// Set when the power came from `power_frac` (then `power_w = power_frac * tdp_w`).
    pub power_frac: Option<f64>,
    pub utilization: f64,
    pub load_frac: f64,
    pub pue: f64,
    pub host_w: f64,
    pub job_gpus: f64,
    pub mtbf_hours: f64,
    pub checkpoint_s: f64,
    pub restart_s: f64,
    pub years: f64,
    pub electricity_usd_per_kwh: f64,
    pub gpu_price_usd: f64,
    pub host_capex_usd: f64,
    pub facility_usd_per_w: f64,
    pub gpu_hour_usd: f64,
    pub carbon_kg_per_kwh: f64,
}

/// Every reported metric, in the order of the spec's table.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Metric {
    ClockFactor,
    Goodput,
    ThroughputPflops,
    ItMw,
    FacilityMw,
    AvgFacilityMw,
    EnergyGwh,
    CapexUsd,
    TcoUsd,
    TotalEflop,
    UsdPerEflop,
    GflopsPerW,
    Homes,
    Co2T,
    TrainDays,
    TrainGpuHours,
    TrainEnergyMwh,
    TrainCostUsd,
    TrainCo2T,
    TokensPerS,
}

/// Number of metrics.
pub const METRIC_COUNT: usize = 20;

/// Which workload figure a metric needs to exist.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MetricNeeds {
    Nothing,
    TrainFlop,
    ModelParams,
}

impl Metric {
    pub const ALL: [Metric; METRIC_COUNT] = [
        Metric::ClockFactor,
        Metric::Goodput,
        Metric::ThroughputPflops,
        Metric::ItMw,
        Metric::FacilityMw,
        Metric::AvgFacilityMw,
        Metric::EnergyGwh,
        Metric::CapexUsd,
        Metric::TcoUsd,
        Metric::TotalEflop,
        Metric::UsdPerEflop,
        Metric::GflopsPerW,
        Metric::Homes,
        Metric::Co2T,
        Metric::TrainDays,
        Metric::TrainGpuHours,
        Metric::TrainEnergyMwh,
        Metric::TrainCostUsd,
        Metric::TrainCo2T,
        Metric::TokensPerS,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Metric::ClockFactor => "clock_factor",
            Metric::Goodput => "goodput",
            Metric::ThroughputPflops => "throughput_pflops",
            Metric::ItMw => "it_mw",
            Metric::FacilityMw => "facility_mw",
            Metric::AvgFacilityMw => "avg_facility_mw",
            Metric::EnergyGwh => "energy_gwh",
            Metric::CapexUsd => "capex_usd",
            Metric::TcoUsd => "tco_usd",
            Metric::TotalEflop => "total_eflop",
            Metric::UsdPerEflop => "usd_per_eflop",
            Metric::GflopsPerW => "gflops_per_w",
            Metric::Homes => "homes",
            Metric::Co2T => "co2_t",
            Metric::TrainDays => "train_days",
            Metric::TrainGpuHours => "train_gpu_hours",
            Metric::TrainEnergyMwh => "train_energy_mwh",
            Metric::TrainCostUsd => "train_cost_usd",
            Metric::TrainCo2T => "train_co2_t",
            Metric::TokensPerS => "tokens_per_s",
        }
    }

    pub fn unit(self) -> &'static str {
        match self {
            Metric::ClockFactor | Metric::Goodput => "",
            Metric::ThroughputPflops => "PFLOP/s",
            Metric::ItMw | Metric::AvgFacilityMw => "MW",
            Metric::FacilityMw => "MW provisioned",
            Metric::EnergyGwh => "GWh",
            Metric::CapexUsd | Metric::TcoUsd | Metric::TrainCostUsd => "$",
            Metric::TotalEflop => "EFLOP",
            Metric::UsdPerEflop => "$/EFLOP",
            Metric::GflopsPerW => "GFLOP/J",
            Metric::Homes => "US homes",
            Metric::Co2T | Metric::TrainCo2T => "t CO2e",
            Metric::TrainDays => "days",
            Metric::TrainGpuHours => "accelerator-hours",
            Metric::TrainEnergyMwh => "MWh",
            Metric::TokensPerS => "tokens/s",
        }
    }

    pub fn needs(self) -> MetricNeeds {
        match self {
            Metric::TrainDays
            | Metric::TrainGpuHours
            | Metric::TrainEnergyMwh
            | Metric::TrainCostUsd
            | Metric::TrainCo2T => MetricNeeds::TrainFlop,
            Metric::TokensPerS => MetricNeeds::ModelParams,
            _ => MetricNeeds::Nothing,
        }
    }

    /// Whether this metric exists for a scenario with the given workload.
    pub fn applies(self, workload: &Workload) -> bool {
        match self.needs() {
            MetricNeeds::Nothing => true,
            MetricNeeds::TrainFlop => workload.train_flop.is_some(),
            MetricNeeds::ModelParams => workload.model_params.is_some(),
        }
    }

    pub fn from_name(s: &str) -> Option<Metric> {
        Metric::ALL.into_iter().find(|m| m.name() == s)
    }

    pub fn index(self) -> usize {
        self as usize
    }
}

impl fmt::Display for Metric {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
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
    pub metrics: Metrics,
}

/// Whether a parameter value is inside the spec's valid range, for the checks that depend on
/// that value alone (the power limit and the precision also need the accelerator; see
/// [`is_valid`]). The CPU and GPU backends decide validity per axis value with this function.
pub fn value_in_range(p: Param, x: f64) -> bool {
    match p {
        Param::Accelerator | Param::Precision | Param::CostModel | Param::PowerW => true,
        Param::GpuCount => (1.0..=1e8).contains(&x) && x.fract() == 0.0,
        Param::PowerFrac | Param::Utilization => x > 0.0 && x <= 1.0,
        Param::LoadFrac => (0.0..=1.0).contains(&x),
        Param::Pue => (1.0..=3.0).contains(&x),
        Param::JobGpus => x >= 0.0 && x.fract() == 0.0,
        Param::MtbfHours | Param::Years => x > 0.0,
        Param::HostW
        | Param::CheckpointS
        | Param::RestartS
        | Param::ElectricityUsdPerKwh
        | Param::GpuPriceUsd
        | Param::HostCapexUsd
        | Param::FacilityUsdPerW
        | Param::GpuHourUsd
        | Param::CarbonKgPerKwh => x >= 0.0,
    }
}

/// Whether every parameter of `c` is inside its valid range for accelerator `a`.
pub fn is_valid(c: &Config, a: &Accelerator) -> bool {
    let values = [
        (Param::GpuCount, c.gpu_count),
        (Param::Utilization, c.utilization),
        (Param::LoadFrac, c.load_frac),
        (Param::Pue, c.pue),
        (Param::HostW, c.host_w),
        (Param::JobGpus, c.job_gpus),
        (Param::MtbfHours, c.mtbf_hours),
        (Param::CheckpointS, c.checkpoint_s),
        (Param::RestartS, c.restart_s),
        (Param::Years, c.years),
        (Param::ElectricityUsdPerKwh, c.electricity_usd_per_kwh),
        (Param::GpuPriceUsd, c.gpu_price_usd),
        (Param::HostCapexUsd, c.host_capex_usd),
        (Param::FacilityUsdPerW, c.facility_usd_per_w),
        (Param::GpuHourUsd, c.gpu_hour_usd),
        (Param::CarbonKgPerKwh, c.carbon_kg_per_kwh),
    ];
    a.peak(c.precision).is_some_and(|p| p > 0.0)
        && c.power_frac
            .is_none_or(|f| value_in_range(Param::PowerFrac, f))
        && c.power_w >= a.min_power_w
        && c.power_w <= a.tdp_w
        && values.iter().all(|&(p, x)| value_in_range(p, x))
}

/// Clock factor `s = ((P - idle_w) / (tdp_w - idle_w)) ^ (1 / dvfs_exponent)`.
#[inline]
pub fn clock_factor(power_w: f64, a: &Accelerator) -> f64 {
    ((power_w - a.idle_w) / (a.tdp_w - a.idle_w)).powf(1.0 / a.dvfs_exponent)
}

/// Goodput `g = clamp(1 - w, 0, 1)` with Young's optimal checkpoint interval:
/// `w = sqrt(2 * checkpoint_s / M) + restart_s / M`, `M = mtbf_hours * 3600 / J`.
#[inline]
pub fn goodput(c: &Config) -> f64 {
    let n = c.gpu_count;
    let j = if c.job_gpus == 0.0 {
        n
    } else {
        c.job_gpus.min(n)
    };
    // 1 / M: one division, then products.
    let inv_m = j / (c.mtbf_hours * 3600.0);
    let lost = (2.0 * c.checkpoint_s * inv_m).sqrt() + c.restart_s * inv_m;
    (1.0 - lost).clamp(0.0, 1.0)
}

/// Evaluate one configuration exactly as the spec writes it, in f64.
pub fn evaluate(c: &Config, a: &Accelerator, w: &Workload) -> Evaluation {
    let s = clock_factor(c.power_w, a);
    let g = goodput(c);
    let valid = is_valid(c, a);
    let n = c.gpu_count;
    let p = c.power_w;
    let peak = a.peak(c.precision).unwrap_or(0.0);
    let f = peak * 1e12 * c.utilization * s;
    let flops = n * f * g;

    let draw_w = a.idle_w + (p - a.idle_w) * c.load_frac;
    let it_w = n * (p + c.host_w);
    let facility_w = it_w * c.pue;
    let avg_w = n * (draw_w + c.host_w) * c.pue;
    let energy_kwh = avg_w * KWH_PER_W_YEAR * c.years;

    let (capex, tco) = match c.cost_model {
        CostModel::Own => {
            let capex = n * (c.gpu_price_usd + c.host_capex_usd)
                + n * (a.tdp_w + c.host_w) * c.pue * c.facility_usd_per_w;
            (capex, capex + energy_kwh * c.electricity_usd_per_kwh)
        }
        CostModel::Rent => (0.0, n * HOURS_PER_YEAR * c.years * c.gpu_hour_usd),
    };
    let total_flop = flops * SECONDS_PER_YEAR * c.years;
    let usd_per_eflop = if total_flop == 0.0 {
        f64::INFINITY
    } else {
        tco * 1e18 / total_flop
    };

    let mut out = [f64::NAN; METRIC_COUNT];
    out[Metric::ClockFactor as usize] = s;
    out[Metric::Goodput as usize] = g;
    out[Metric::ThroughputPflops as usize] = flops * 1e-15;
    out[Metric::ItMw as usize] = it_w * 1e-6;
    out[Metric::FacilityMw as usize] = facility_w * 1e-6;
    out[Metric::AvgFacilityMw as usize] = avg_w * 1e-6;
    out[Metric::EnergyGwh as usize] = energy_kwh * 1e-6;
    out[Metric::CapexUsd as usize] = capex;
    out[Metric::TcoUsd as usize] = tco;
    out[Metric::TotalEflop as usize] = total_flop * 1e-18;
    out[Metric::UsdPerEflop as usize] = usd_per_eflop;
    out[Metric::GflopsPerW as usize] = flops / avg_w * 1e-9;
    out[Metric::Homes as usize] = avg_w * HOMES_PER_W;
    out[Metric::Co2T as usize] = energy_kwh * c.carbon_kg_per_kwh * 1e-3;
    if let Some(train_flop) = w.train_flop {
        let days = if flops == 0.0 {
            f64::INFINITY
        } else {
            train_flop / flops * DAYS_PER_SECOND
        };
        let energy_mwh = avg_w * days * 24.0 * 1e-6;
        out[Metric::TrainDays as usize] = days;
        out[Metric::TrainGpuHours as usize] = n * days * 24.0;
        out[Metric::TrainEnergyMwh as usize] = energy_mwh;
        out[Metric::TrainCostUsd as usize] = usd_per_eflop * (train_flop * 1e-18);
        out[Metric::TrainCo2T as usize] = energy_mwh * c.carbon_kg_per_kwh;
    }
    if let Some(model_params) = w.model_params {
        out[Metric::TokensPerS as usize] = flops * (1.0 / (6.0 * model_params));
    }
    Evaluation {
        valid,
        metrics: out,
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
}

impl Constraints {
    /// The constraint names, as written in scenarios.
    pub const NAMES: [&'static str; 5] = [
        "max_facility_mw",
        "max_tco_usd",
        "max_capex_usd",
        "max_train_days",
        "min_throughput_pflops",
    ];

    /// Set a constraint by name; false when the name is unknown.
    pub fn set(&mut self, name: &str, value: f64) -> bool {
        let slot = match name {
            "max_facility_mw" => &mut self.max_facility_mw,
            "max_tco_usd" => &mut self.max_tco_usd,
            "max_capex_usd" => &mut self.max_capex_usd,
            "max_train_days" => &mut self.max_train_days,
            "min_throughput_pflops" => &mut self.min_throughput_pflops,
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

/// Whether a configuration is feasible: valid, positive useful throughput, every
/// constraint met.
pub fn is_feasible(e: &Evaluation, constraints: &Constraints) -> bool {
    e.valid && e.metrics[Metric::ThroughputPflops as usize] > 0.0 && constraints.met_by(&e.metrics)
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
        match metric {
            Metric::ThroughputPflops | Metric::GflopsPerW => Some(Sense::Max),
            Metric::UsdPerEflop | Metric::TrainDays | Metric::TcoUsd => Some(Sense::Min),
            _ => None,
        }
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
