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
    DvfsExponent,
    IdleW,
    RampYears,
    DiscountRate,
    ResidualFrac,
    PriceDecline,
    FacilityBasis,
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
    FromAccelerator(Figure),
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
    /// The code the model computes with.
    pub fn code(self) -> f64 {
        self as u8 as f64
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
    /// The code the model computes with.
    pub fn code(self) -> f64 {
        self as u8 as f64
    }
    pub fn from_code(code: f64) -> CostModel {
        if code as u32 == 1 {
            CostModel::Rent
        } else {
            CostModel::Own
        }
    }
}

/// What the facility of an owned cluster is built for (spec v2 "time and money").
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum FacilityBasis {
    /// The accelerators' TDP (v1).
    Tdp = 0,
    /// The operating power limit `P`.
    Limit = 1,
}

impl FacilityBasis {
    pub const ALL: [FacilityBasis; 2] = [FacilityBasis::Tdp, FacilityBasis::Limit];
    pub fn name(self) -> &'static str {
        match self {
            FacilityBasis::Tdp => "tdp",
            FacilityBasis::Limit => "limit",
        }
    }
    pub fn from_name(s: &str) -> Option<FacilityBasis> {
        FacilityBasis::ALL.into_iter().find(|b| b.name() == s)
    }
    /// The code the model computes with.
    pub fn code(self) -> f64 {
        self as u8 as f64
    }
    pub fn from_code(code: f64) -> FacilityBasis {
        if code as u32 == 1 {
            FacilityBasis::Limit
        } else {
            FacilityBasis::Tdp
        }
    }
}

/// A bound of a valid range.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Bound {
    /// No bound on this side.
    Open,
    /// `x >= b` (lower) or `x <= b` (upper).
    Incl(f64),
    /// `x > b` (lower) or `x < b` (upper).
    Excl(f64),
}

/// The range of values a numeric parameter may take by itself (the checks that also need
/// the accelerator, like `min_power_w <= P <= tdp_w`, are in the model's formulas and
/// described by [`Valid::extra`]).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Valid {
    pub lo: Bound,
    pub hi: Bound,
    /// Whole numbers only.
    pub integer: bool,
    /// The accelerator-dependent part of the rule, as text ("" when none).
    pub extra: &'static str,
}

impl Valid {
    /// Whether `x` passes the range (and integrality) by itself.
    #[inline]
    pub fn contains(&self, x: f64) -> bool {
        let lo = match self.lo {
            Bound::Open => !x.is_nan(),
            Bound::Incl(b) => x >= b,
            Bound::Excl(b) => x > b,
        };
        let hi = match self.hi {
            Bound::Open => !x.is_nan(),
            Bound::Incl(b) => x <= b,
            Bound::Excl(b) => x < b,
        };
        lo && hi && (!self.integer || x.fract() == 0.0)
    }

    /// The rule as people read it, e.g. `integer, 1 <= x <= 1e8` or `0 < x <= 1`.
    pub fn text(&self) -> String {
        let num = |b: f64| {
            if b != 0.0 && (b.abs() >= 1e6 || b.abs() < 1e-3) {
                format!("{b:e}")
            } else {
                format!("{b}")
            }
        };
        let side = |b: Bound| match b {
            Bound::Open => None,
            Bound::Incl(b) => Some((num(b), "<=")),
            Bound::Excl(b) => Some((num(b), "<")),
        };
        let (lo, hi) = (side(self.lo), side(self.hi));
        let mut range = match (lo, hi) {
            (Some((l, lop)), Some((h, hop))) => format!("{l} {lop} x {hop} {h}"),
            (Some((l, "<=")), None) => format!(">= {l}"),
            (Some((l, _)), None) => format!("> {l}"),
            (None, Some((h, "<="))) => format!("<= {h}"),
            (None, Some((h, _))) => format!("< {h}"),
            (None, None) => String::new(),
        };
        if self.integer {
            range = if range.is_empty() {
                "integer".into()
            } else {
                format!("integer, {range}")
            };
        }
        match (range.is_empty(), self.extra.is_empty()) {
            (true, _) => self.extra.to_string(),
            (false, true) => range,
            (false, false) => format!("{range}; {}", self.extra),
        }
    }
}

/// An accelerator figure a parameter can default to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Figure {
    TdpW,
    MinPowerW,
    IdleW,
    DvfsExponent,
    HostW,
    MtbfHours,
    PriceUsd,
    HostCapexUsd,
}

impl Figure {
    /// The figure's name in the catalog.
    pub fn name(self) -> &'static str {
        match self {
            Figure::TdpW => "tdp_w",
            Figure::MinPowerW => "min_power_w",
            Figure::IdleW => "idle_w",
            Figure::DvfsExponent => "dvfs_exponent",
            Figure::HostW => "host_w",
            Figure::MtbfHours => "mtbf_hours",
            Figure::PriceUsd => "price_usd",
            Figure::HostCapexUsd => "host_capex_usd",
        }
    }
}

/// Static description of one parameter: one row of [`PARAMS`].
#[derive(Clone, Copy, Debug)]
pub struct ParamInfo {
    pub param: Param,
    pub name: &'static str,
    pub unit: &'static str,
    pub kind: ParamKind,
    pub default: ParamDefault,
    /// Where the default comes from (a section of docs/sources.md, or the catalog).
    pub default_source: &'static str,
    pub valid: Valid,
}

use Bound::{Excl, Incl, Open};
use Param as P;
use ParamDefault as D;
use ParamKind as K;

const fn range(lo: Bound, hi: Bound) -> Valid {
    Valid {
        lo,
        hi,
        integer: false,
        extra: "",
    }
}
const NON_NEGATIVE: Valid = range(Incl(0.0), Open);
const POSITIVE: Valid = range(Excl(0.0), Open);
const FRACTION: Valid = range(Excl(0.0), Incl(1.0));
const SHARE: Valid = range(Incl(0.0), Incl(1.0));
const ANY: Valid = range(Open, Open);
const SPEC: &str = "spec model.md";
const CATALOG: &str = "the accelerator's catalog figure";

#[allow(clippy::too_many_arguments)]
const fn row(
    param: Param,
    name: &'static str,
    unit: &'static str,
    kind: ParamKind,
    default: ParamDefault,
    default_source: &'static str,
    valid: Valid,
) -> ParamInfo {
    ParamInfo {
        param,
        name,
        unit,
        kind,
        default,
        default_source,
        valid,
    }
}

/// The parameter table, in the spec's order (also the order of `params` in every report).
/// Adding a parameter is one row here, one variant of [`Param`] and its use in
/// `model::formulas`.
pub const PARAMS: &[ParamInfo] = &[
    row(
        P::Accelerator,
        "accelerator",
        "catalog id",
        K::Categorical,
        D::Required,
        "",
        Valid {
            extra: "known id",
            ..ANY
        },
    ),
    row(
        P::Precision,
        "precision",
        "",
        K::Categorical,
        D::Value(Precision::Bf16 as u8 as f64),
        SPEC,
        Valid {
            extra: "fp4 | fp8 | bf16 with a peak on the accelerator",
            ..ANY
        },
    ),
    row(
        P::CostModel,
        "cost_model",
        "",
        K::Categorical,
        D::Value(0.0),
        SPEC,
        Valid {
            extra: "own | rent",
            ..ANY
        },
    ),
    row(
        P::GpuCount,
        "gpu_count",
        "accelerators",
        K::Integer,
        D::Required,
        "",
        Valid {
            integer: true,
            ..range(Incl(1.0), Incl(1e8))
        },
    ),
    row(
        P::PowerW,
        "power_w",
        "W",
        K::Real,
        D::FromAccelerator(Figure::TdpW),
        CATALOG,
        Valid {
            extra: "min_power_w <= P <= tdp_w",
            ..ANY
        },
    ),
    row(
        P::PowerFrac,
        "power_frac",
        "of tdp_w",
        K::Real,
        D::Unset,
        "",
        Valid {
            extra: "P = power_frac * tdp_w within min_power_w ..= tdp_w",
            ..FRACTION
        },
    ),
    row(
        P::Utilization,
        "utilization",
        "",
        K::Real,
        D::Value(0.4),
        SPEC,
        FRACTION,
    ),
    row(
        P::LoadFrac,
        "load_frac",
        "",
        K::Real,
        D::Value(0.8),
        SPEC,
        SHARE,
    ),
    row(
        P::Pue,
        "pue",
        "",
        K::Real,
        D::Value(1.2),
        SPEC,
        range(Incl(1.0), Incl(3.0)),
    ),
    row(
        P::HostW,
        "host_w",
        "W",
        K::Real,
        D::FromAccelerator(Figure::HostW),
        CATALOG,
        NON_NEGATIVE,
    ),
    row(
        P::JobGpus,
        "job_gpus",
        "accelerators",
        K::Integer,
        D::Value(0.0),
        SPEC,
        Valid {
            integer: true,
            extra: "0 = whole cluster",
            ..NON_NEGATIVE
        },
    ),
    row(
        P::MtbfHours,
        "mtbf_hours",
        "h",
        K::Real,
        D::FromAccelerator(Figure::MtbfHours),
        CATALOG,
        POSITIVE,
    ),
    row(
        P::CheckpointS,
        "checkpoint_s",
        "s",
        K::Real,
        D::Value(30.0),
        SPEC,
        NON_NEGATIVE,
    ),
    row(
        P::RestartS,
        "restart_s",
        "s",
        K::Real,
        D::Value(300.0),
        SPEC,
        NON_NEGATIVE,
    ),
    row(
        P::Years,
        "years",
        "years",
        K::Real,
        D::Value(5.0),
        SPEC,
        POSITIVE,
    ),
    row(
        P::ElectricityUsdPerKwh,
        "electricity_usd_per_kwh",
        "$/kWh",
        K::Real,
        D::Value(0.08),
        SPEC,
        NON_NEGATIVE,
    ),
    row(
        P::GpuPriceUsd,
        "gpu_price_usd",
        "$",
        K::Real,
        D::FromAccelerator(Figure::PriceUsd),
        CATALOG,
        NON_NEGATIVE,
    ),
    row(
        P::HostCapexUsd,
        "host_capex_usd",
        "$",
        K::Real,
        D::FromAccelerator(Figure::HostCapexUsd),
        CATALOG,
        NON_NEGATIVE,
    ),
    row(
        P::FacilityUsdPerW,
        "facility_usd_per_w",
        "$/W",
        K::Real,
        D::Value(12.0),
        SPEC,
        NON_NEGATIVE,
    ),
    row(
        P::GpuHourUsd,
        "gpu_hour_usd",
        "$/h",
        K::Real,
        D::Value(0.0),
        SPEC,
        NON_NEGATIVE,
    ),
    row(
        P::CarbonKgPerKwh,
        "carbon_kg_per_kwh",
        "kg/kWh",
        K::Real,
        D::Value(0.4),
        SPEC,
        NON_NEGATIVE,
    ),
    row(
        P::DvfsExponent,
        "dvfs_exponent",
        "",
        K::Real,
        D::FromAccelerator(Figure::DvfsExponent),
        CATALOG,
        range(Incl(0.5), Incl(10.0)),
    ),
    row(
        P::IdleW,
        "idle_w",
        "W",
        K::Real,
        D::FromAccelerator(Figure::IdleW),
        CATALOG,
        Valid {
            extra: "idle_w < min_power_w",
            ..NON_NEGATIVE
        },
    ),
    // v2 "time and money": every default leaves the v1 results as they are.
    row(
        P::RampYears,
        "ramp_years",
        "years",
        K::Real,
        D::Value(0.0),
        SPEC,
        Valid {
            extra: "ramp_years <= years",
            ..NON_NEGATIVE
        },
    ),
    row(
        P::DiscountRate,
        "discount_rate",
        "per year",
        K::Real,
        D::Value(0.0),
        SPEC,
        SHARE,
    ),
    row(
        P::ResidualFrac,
        "residual_frac",
        "",
        K::Real,
        D::Value(0.0),
        SPEC,
        SHARE,
    ),
    row(
        P::PriceDecline,
        "price_decline",
        "per year",
        K::Real,
        D::Value(0.0),
        SPEC,
        range(Incl(0.0), Excl(1.0)),
    ),
    row(
        P::FacilityBasis,
        "facility_basis",
        "",
        K::Categorical,
        D::Value(0.0),
        SPEC,
        Valid {
            extra: "tdp | limit",
            ..ANY
        },
    ),
];

/// Number of parameters.
pub const PARAM_COUNT: usize = PARAMS.len();

impl Param {
    /// Every parameter, in the spec's order.
    pub fn all() -> impl Iterator<Item = Param> {
        PARAMS.iter().map(|i| i.param)
    }
    pub fn info(self) -> &'static ParamInfo {
        // PARAMS is in enum order (checked by a unit test).
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_table_is_in_enum_order_and_names_are_unique() {
        for (i, info) in PARAMS.iter().enumerate() {
            assert_eq!(info.param as usize, i, "{}", info.name);
            assert_eq!(Param::from_name(info.name), Some(info.param));
        }
    }

    #[test]
    fn valid_ranges_read_as_written() {
        assert_eq!(
            Param::GpuCount.info().valid.text(),
            "integer, 1 <= x <= 1e8"
        );
        assert_eq!(Param::Utilization.info().valid.text(), "0 < x <= 1");
        assert_eq!(Param::HostW.info().valid.text(), ">= 0");
        assert_eq!(Param::MtbfHours.info().valid.text(), "> 0");
        assert_eq!(
            Param::IdleW.info().valid.text(),
            ">= 0; idle_w < min_power_w"
        );
        let v = Param::Pue.info().valid;
        assert!(v.contains(1.0) && v.contains(3.0) && !v.contains(0.99) && !v.contains(f64::NAN));
        let n = Param::GpuCount.info().valid;
        assert!(n.contains(1.0) && !n.contains(10.5) && !n.contains(0.0));
    }
}
