//! Spec v2 "renting is never free": finds, for a scenario, the accelerator on which some
//! configuration of the grid rents (`cost_model = "rent"`) at an effective `gpu_hour_usd`
//! of 0 (after per-accelerator values, figures, defaults and `times` multipliers; for a
//! drawn price, the lowest value its distribution can take). Such a scenario is bad input.

use crate::params::{CostModel, Param, PARAM_COUNT};
use crate::scenario::{Scenario, Source};

/// A configuration that would rent for nothing.
#[derive(Clone, Debug, PartialEq)]
pub struct FreeRent {
    /// The accelerator's id.
    pub accelerator: String,
    /// The effective price (0, or below for a drawn one).
    pub gpu_hour_usd: f64,
    /// Whether the price is the lowest value of an `[uncertain]` distribution.
    pub drawn: bool,
}

impl std::fmt::Display for FreeRent {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "cost_model = \"rent\" on {} with gpu_hour_usd = {}{}: renting is never free; set \
             gpu_hour_usd above 0 (in [fixed], as an axis, or in [accelerators.{}])",
            self.accelerator,
            self.gpu_hour_usd,
            if self.drawn {
                " (the lowest value its distribution draws)"
            } else {
                ""
            },
            self.accelerator
        )
    }
}

/// The raw values a parameter takes over the grid: one `NaN` (not set) for a default.
fn raw_values(s: &Scenario, p: Param) -> Vec<f64> {
    match s.sources[p.index()] {
        Source::Default => vec![f64::NAN],
        Source::Fixed(x) | Source::FixedTimes(x) => vec![x],
        Source::Axis(k) => s.axes[k].values.clone(),
    }
}

/// The first configuration of the grid (by accelerator, cost model, price) that rents at an
/// effective `gpu_hour_usd` of 0 or below, if any.
pub fn free_rent(s: &Scenario) -> Option<FreeRent> {
    let price = Param::GpuHourUsd;
    for acc in raw_values(s, Param::Accelerator) {
        for cost_model in raw_values(s, Param::CostModel) {
            for raw_price in raw_values(s, price) {
                let mut v = [f64::NAN; PARAM_COUNT];
                v[Param::Accelerator.index()] = acc;
                v[Param::CostModel.index()] = cost_model;
                v[price.index()] = raw_price;
                let (c, a) = s.resolve(&v);
                if CostModel::from_code(c[Param::CostModel]) != CostModel::Rent {
                    continue;
                }
                let input = s.uncertainty.as_ref().and_then(|u| {
                    let code = acc as usize;
                    u.inputs_of(price)
                        .find(|i| i.accelerator == Some(code))
                        .or_else(|| u.inputs_of(price).find(|i| i.accelerator.is_none()))
                });
                let (effective, drawn) = match input {
                    Some(i) => {
                        let lo = i.dist.support().0;
                        (if i.times { lo * a.base(price) } else { lo }, true)
                    }
                    None => (c[price], false),
                };
                // NaN (no price at all) counts as free too.
                if effective.is_nan() || effective <= 0.0 {
                    return Some(FreeRent {
                        accelerator: a.id.clone(),
                        gpu_hour_usd: if effective.is_nan() { 0.0 } else { effective },
                        drawn,
                    });
                }
            }
        }
    }
    None
}
