//! The metric table: every reported metric's name, unit, the workload figure it needs and
//! the sense it has as an objective. Counts and sizes elsewhere (statistics, the GPU's
//! partial rows) are derived from this table; a new metric is one row here, one variant of
//! [`Metric`] and its formula in `model::formulas`.

use super::Workload;
use std::fmt;

/// Every reported metric, in the order of the spec's table (v2 metrics last).
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
    PeakPflops,
    NpvCostUsd,
    LevelizedUsdPerEflop,
    UsdPerGpuHour,
}

/// Which workload figure a metric needs to exist.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MetricNeeds {
    Nothing,
    TrainFlop,
    ModelParams,
}

/// One row of the metric table.
#[derive(Clone, Copy, Debug)]
pub struct MetricInfo {
    pub metric: Metric,
    pub name: &'static str,
    pub unit: &'static str,
    pub needs: MetricNeeds,
    /// The sense as an objective when a scenario names none (`None`: it must say).
    pub sense: Option<super::Sense>,
}

use super::Sense::{Max, Min};
use Metric as M;
use MetricNeeds::{ModelParams, Nothing, TrainFlop};

const fn row(
    metric: Metric,
    name: &'static str,
    unit: &'static str,
    needs: MetricNeeds,
    sense: Option<super::Sense>,
) -> MetricInfo {
    MetricInfo {
        metric,
        name,
        unit,
        needs,
        sense,
    }
}

/// The metric table, in [`Metric`]'s order (the order of every report's columns).
pub const METRICS: &[MetricInfo] = &[
    row(M::ClockFactor, "clock_factor", "", Nothing, None),
    row(M::Goodput, "goodput", "", Nothing, None),
    row(
        M::ThroughputPflops,
        "throughput_pflops",
        "PFLOP/s",
        Nothing,
        Some(Max),
    ),
    row(M::ItMw, "it_mw", "MW", Nothing, None),
    row(
        M::FacilityMw,
        "facility_mw",
        "MW provisioned",
        Nothing,
        None,
    ),
    row(M::AvgFacilityMw, "avg_facility_mw", "MW", Nothing, None),
    row(M::EnergyGwh, "energy_gwh", "GWh", Nothing, None),
    row(M::CapexUsd, "capex_usd", "$", Nothing, None),
    row(M::TcoUsd, "tco_usd", "$", Nothing, Some(Min)),
    row(M::TotalEflop, "total_eflop", "EFLOP", Nothing, None),
    row(
        M::UsdPerEflop,
        "usd_per_eflop",
        "$/EFLOP",
        Nothing,
        Some(Min),
    ),
    row(M::GflopsPerW, "gflops_per_w", "GFLOP/J", Nothing, Some(Max)),
    row(M::Homes, "homes", "US homes", Nothing, None),
    row(M::Co2T, "co2_t", "t CO2e", Nothing, None),
    row(M::TrainDays, "train_days", "days", TrainFlop, Some(Min)),
    row(
        M::TrainGpuHours,
        "train_gpu_hours",
        "accelerator-hours",
        TrainFlop,
        None,
    ),
    row(
        M::TrainEnergyMwh,
        "train_energy_mwh",
        "MWh",
        TrainFlop,
        None,
    ),
    row(M::TrainCostUsd, "train_cost_usd", "$", TrainFlop, None),
    row(M::TrainCo2T, "train_co2_t", "t CO2e", TrainFlop, None),
    row(M::TokensPerS, "tokens_per_s", "tokens/s", ModelParams, None),
    row(M::PeakPflops, "peak_pflops", "PFLOP/s", Nothing, None),
    row(
        M::NpvCostUsd,
        "npv_cost_usd",
        "$ (present)",
        Nothing,
        Some(Min),
    ),
    row(
        M::LevelizedUsdPerEflop,
        "levelized_usd_per_eflop",
        "$/EFLOP (levelized)",
        Nothing,
        Some(Min),
    ),
    row(
        M::UsdPerGpuHour,
        "usd_per_gpu_hour",
        "$/accelerator-hour",
        Nothing,
        None,
    ),
];

/// Number of metrics.
pub const METRIC_COUNT: usize = METRICS.len();

impl Metric {
    /// Every metric, in the table's order.
    pub const ALL: [Metric; METRIC_COUNT] = {
        let mut all = [Metric::ClockFactor; METRIC_COUNT];
        let mut i = 0;
        while i < METRIC_COUNT {
            all[i] = METRICS[i].metric;
            i += 1;
        }
        all
    };

    pub fn info(self) -> &'static MetricInfo {
        // METRICS is in enum order (checked by a unit test).
        &METRICS[self as usize]
    }

    pub fn name(self) -> &'static str {
        self.info().name
    }

    pub fn unit(self) -> &'static str {
        self.info().unit
    }

    pub fn needs(self) -> MetricNeeds {
        self.info().needs
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
        METRICS.iter().find(|m| m.name == s).map(|m| m.metric)
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_table_is_in_enum_order_and_names_are_unique() {
        for (i, info) in METRICS.iter().enumerate() {
            assert_eq!(info.metric as usize, i, "{}", info.name);
            assert_eq!(Metric::from_name(info.name), Some(info.metric));
            assert_eq!(Metric::ALL[i], info.metric);
        }
    }
}
