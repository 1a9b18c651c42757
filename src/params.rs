//! The parameters of the cluster model (spec `model.md`, "Parameters"): their names,
//! kinds, units, defaults and valid ranges. Scenario parsing, the grid, the model and the
//! reports all name parameters through [`Param`], so a parameter exists in exactly one place.

use std::fmt;

/// Every parameter of the model, in the spec's order.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Param {
    Accelerator,
    Precision,
    CostModel,
    GpuCount,
    PowerW,
    PowerFrac,
    Utilization,
    LoadFrac,
    Pue,
    HostW,
    JobGpus,
    MtbfHours,
    CheckpointS,
    RestartS,
    Years,
    ElectricityUsdPerKwh,
    GpuPriceUsd,
    HostCapexUsd,
    FacilityUsdPerW,
    GpuHourUsd,
    CarbonKgPerKwh,
}

/// How a parameter's values are written and checked.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ParamKind {
    /// Takes names (accelerator ids, precisions, cost models).
    Categorical,
    /// A whole number; axis values are rounded half away from zero and de-duplicated.
    Integer,
    /// Any real number.
    Real,
}

/// Where a parameter's value comes from when a scenario does not set it.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum ParamDefault {
    /// The scenario must set it.
    Required,
    /// A fixed number from the spec.
    Value(f64),
    /// The figure of the configuration's accelerator (e.g. `tdp_w` for `power_w`).
    FromAccelerator,
    /// No value unless set (only `power_frac`, the alternative to `power_w`).
    Unset,
}

/// Precision whose dense peak is used.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Precision {
    Fp4 = 0,
    Fp8 = 1,
    Bf16 = 2,
}

impl Precision {
    pub const ALL: [Precision; 3] = [Precision::Fp4, Precision::Fp8, Precision::Bf16];
    pub fn name(self) -> &'static str {
        match self {
            Precision::Fp4 => "fp4",
            Precision::Fp8 => "fp8",
            Precision::Bf16 => "bf16",
        }
    }
    pub fn from_name(s: &str) -> Option<Precision> {
        Precision::ALL.into_iter().find(|p| p.name() == s)
    }
    pub fn from_code(code: f64) -> Precision {
        match code as u32 {
            0 => Precision::Fp4,
            1 => Precision::Fp8,
            _ => Precision::Bf16,
        }
    }
}

/// How the cluster is paid for.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum CostModel {
    /// Capex plus energy.
    Own = 0,
    /// Accelerator-hours at `gpu_hour_usd` (price includes power).
    Rent = 1,
}

impl CostModel {
    pub const ALL: [CostModel; 2] = [CostModel::Own, CostModel::Rent];
    pub fn name(self) -> &'static str {
        match self {
            CostModel::Own => "own",
            CostModel::Rent => "rent",
        }
    }
    pub fn from_name(s: &str) -> Option<CostModel> {
        CostModel::ALL.into_iter().find(|c| c.name() == s)
    }
    pub fn from_code(code: f64) -> CostModel {
        if code as u32 == 1 {
            CostModel::Rent
        } else {
            CostModel::Own
        }
    }
}

/// Static description of one parameter.
#[derive(Clone, Copy, Debug)]
pub struct ParamInfo {
    pub param: Param,
    pub name: &'static str,
    pub unit: &'static str,
    pub kind: ParamKind,
    pub default: ParamDefault,
    /// Human-readable valid range, as in the spec.
    pub valid: &'static str,
}

use Param as P;
use ParamDefault as D;
use ParamKind as K;

/// The parameter table, in the spec's order (also the order of `params` in every report).
pub const PARAMS: [ParamInfo; 21] = [
    info(
        P::Accelerator,
        "accelerator",
        "catalog id",
        K::Categorical,
        D::Required,
        "known id",
    ),
    info(
        P::Precision,
        "precision",
        "",
        K::Categorical,
        D::Value(Precision::Bf16 as u8 as f64),
        "fp4 | fp8 | bf16 with a peak on the accelerator",
    ),
    info(
        P::CostModel,
        "cost_model",
        "",
        K::Categorical,
        D::Value(0.0),
        "own | rent",
    ),
    info(
        P::GpuCount,
        "gpu_count",
        "accelerators",
        K::Integer,
        D::Required,
        "integer, 1 ..= 1e8",
    ),
    info(
        P::PowerW,
        "power_w",
        "W",
        K::Real,
        D::FromAccelerator,
        "min_power_w <= P <= tdp_w",
    ),
    info(
        P::PowerFrac,
        "power_frac",
        "of tdp_w",
        K::Real,
        D::Unset,
        "0 < f <= 1",
    ),
    info(
        P::Utilization,
        "utilization",
        "",
        K::Real,
        D::Value(0.4),
        "0 < u <= 1",
    ),
    info(
        P::LoadFrac,
        "load_frac",
        "",
        K::Real,
        D::Value(0.8),
        "0 <= l <= 1",
    ),
    info(P::Pue, "pue", "", K::Real, D::Value(1.2), "1 <= pue <= 3"),
    info(P::HostW, "host_w", "W", K::Real, D::FromAccelerator, ">= 0"),
    info(
        P::JobGpus,
        "job_gpus",
        "accelerators",
        K::Integer,
        D::Value(0.0),
        "integer >= 0 (0 = whole cluster)",
    ),
    info(
        P::MtbfHours,
        "mtbf_hours",
        "h",
        K::Real,
        D::FromAccelerator,
        "> 0",
    ),
    info(
        P::CheckpointS,
        "checkpoint_s",
        "s",
        K::Real,
        D::Value(30.0),
        ">= 0",
    ),
    info(
        P::RestartS,
        "restart_s",
        "s",
        K::Real,
        D::Value(300.0),
        ">= 0",
    ),
    info(P::Years, "years", "years", K::Real, D::Value(5.0), "> 0"),
    info(
        P::ElectricityUsdPerKwh,
        "electricity_usd_per_kwh",
        "$/kWh",
        K::Real,
        D::Value(0.08),
        ">= 0",
    ),
    info(
        P::GpuPriceUsd,
        "gpu_price_usd",
        "$",
        K::Real,
        D::FromAccelerator,
        ">= 0",
    ),
    info(
        P::HostCapexUsd,
        "host_capex_usd",
        "$",
        K::Real,
        D::FromAccelerator,
        ">= 0",
    ),
    info(
        P::FacilityUsdPerW,
        "facility_usd_per_w",
        "$/W",
        K::Real,
        D::Value(12.0),
        ">= 0",
    ),
    info(
        P::GpuHourUsd,
        "gpu_hour_usd",
        "$/h",
        K::Real,
        D::Value(0.0),
        ">= 0",
    ),
    info(
        P::CarbonKgPerKwh,
        "carbon_kg_per_kwh",
        "kg/kWh",
        K::Real,
        D::Value(0.4),
        ">= 0",
    ),
];

const fn info(
    param: Param,
    name: &'static str,
    unit: &'static str,
    kind: ParamKind,
    default: ParamDefault,
    valid: &'static str,
) -> ParamInfo {
    ParamInfo {
        param,
        name,
        unit,
        kind,
        default,
        valid,
    }
}

/// Number of parameters.
pub const PARAM_COUNT: usize = PARAMS.len();

impl Param {
    /// Every parameter, in the spec's order.
    pub fn all() -> impl Iterator<Item = Param> {
        PARAMS.iter().map(|i| i.param)
    }
    pub fn info(self) -> &'static ParamInfo {
        &PARAMS[self as usize]
    }
    pub fn name(self) -> &'static str {
        self.info().name
    }
    pub fn kind(self) -> ParamKind {
        self.info().kind
    }
    pub fn from_name(name: &str) -> Option<Param> {
        PARAMS.iter().find(|i| i.name == name).map(|i| i.param)
    }
    pub fn index(self) -> usize {
        self as usize
    }
}

impl fmt::Display for Param {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// Round an integer parameter's value the way the spec says: nearest, halves away from zero.
pub fn round_integer(v: f64) -> f64 {
    v.round()
}
