//! Which inputs of a plan the f32 GPU kernels cannot represent: a non-zero value whose
//! magnitude is below `f32::MIN_POSITIVE` (it would become 0 or a subnormal that GPUs
//! flush) or above `f32::MAX` (it would become infinite). Checked over everything the
//! kernels read from the scenario: axis values (and a `times` axis's products), `[fixed]`
//! values, the figures, peaks and per-accelerator values of the accelerators the grid uses,
//! the workload figures, the constraint bounds, and the draws of uncertain inputs (each
//! distribution's extreme draws and the parameters the device computes them from). Such a plan is refused by the GPU
//! backend (`--backend auto` then runs it on the CPU, with a notice).

use crate::model::Accelerator;
use crate::params::{Figure, Param, PARAMS};
use crate::plan::SweepPlan;
use crate::scenario::Source;
use crate::uncertain::Distribution;

/// Whether `x` survives the conversion to f32 (0, or a normal f32 magnitude).
pub fn fits_f32(x: f64) -> bool {
    x == 0.0 || x.is_nan() || (f32::MIN_POSITIVE as f64..=f32::MAX as f64).contains(&x.abs())
}

/// The first input of `plan` the f32 kernels cannot represent, described for a message:
/// where it is set, and its value.
pub fn outside_f32(plan: &SweepPlan) -> Option<String> {
    let s = &plan.scenario;
    let bad = |x: f64| !fits_f32(x);
    let show = |x: f64| format!("{x:e}");
    let used: Vec<usize> = match s.sources[Param::Accelerator.index()] {
        Source::Axis(k) => s.axes[k].values.iter().map(|&c| c as usize).collect(),
        Source::Fixed(c) => vec![c as usize],
        _ => vec![0],
    };
    let used: Vec<&Accelerator> = used.iter().filter_map(|&c| s.accelerators.get(c)).collect();
    for a in &used {
        for info in PARAMS {
            if let Some(x) = a.param_values[info.param.index()].filter(|&x| bad(x)) {
                return Some(format!(
                    "[accelerators.{}] {} = {}",
                    a.id,
                    info.param.name(),
                    show(x)
                ));
            }
        }
        for (f, name) in [
            (Figure::TdpW, "tdp_w"),
            (Figure::MinPowerW, "min_power_w"),
            (Figure::IdleW, "idle_w"),
            (Figure::DvfsExponent, "dvfs_exponent"),
            (Figure::HostW, "host_w"),
            (Figure::MtbfHours, "mtbf_hours"),
            (Figure::PriceUsd, "price_usd"),
            (Figure::HostCapexUsd, "host_capex_usd"),
        ] {
            let x = a.figure(f);
            if bad(x) {
                return Some(format!("accelerator {} {name} = {}", a.id, show(x)));
            }
        }
        for p in crate::params::Precision::ALL {
            if let Some(x) = a.peak(p).filter(|&x| bad(x)) {
                return Some(format!(
                    "accelerator {} peak_tflops.{} = {}",
                    a.id,
                    p.name(),
                    show(x)
                ));
            }
        }
    }
    for info in PARAMS {
        let p = info.param;
        let (values, times): (Vec<f64>, bool) = match s.sources[p.index()] {
            Source::Fixed(x) => (vec![x], false),
            Source::FixedTimes(x) => (vec![x], true),
            Source::Axis(k) => (s.axes[k].values.clone(), s.axes[k].times),
            Source::Default => continue,
        };
        for x in values {
            if bad(x) {
                return Some(format!("{} = {}", p.name(), show(x)));
            }
            if times {
                for a in &used {
                    let y = x * a.base(p);
                    if bad(y) {
                        return Some(format!(
                            "{} = {} times {}'s {} = {}",
                            p.name(),
                            show(x),
                            a.id,
                            show(a.base(p)),
                            show(y)
                        ));
                    }
                }
            }
        }
    }
    if let Some(what) = uncertain_outside_f32(s, &used) {
        return Some(what);
    }
    let w = &s.workload;
    for (name, x) in [
        ("train_flop", w.train_flop),
        ("model_params", w.model_params),
    ] {
        if let Some(x) = x.filter(|&x| bad(x)) {
            return Some(format!("[workload] {name} = {}", show(x)));
        }
    }
    for (m, bound, upper) in s.constraints.bounds() {
        if bad(bound) {
            let kind = if upper { "max" } else { "min" };
            return Some(format!(
                "[constraints] {kind}_{} = {}",
                m.name(),
                show(bound)
            ));
        }
    }
    intermediate_outside_f32(plan)
}

/// A value the model computes from inputs that fit (a metric, or a step on the way) that
/// can overflow f32 somewhere on the grid, e.g. the capital cost of 10,000 accelerators at
/// 1e35 dollars: an end of its interval over the grid (`backend::tape::bounds`) that is
/// finite in f64 and beyond `f32::MAX`. Ranges that are infinite in f64 too (a division by
/// a throughput that can be 0) are the model's own and left alone. Subnormal results are
/// not looked for.
pub fn intermediate_outside_f32(plan: &SweepPlan) -> Option<String> {
    use crate::backend::tape::{bounds, trace};
    let traced = if plan.scenario.uncertainty.is_some() {
        trace::trace_draws(plan)
    } else {
        trace::trace(plan, 0, &trace::value_ok(plan))
    };
    let v = bounds::intervals(plan, &traced);
    let t = &traced.tracer;
    let beyond = |slot| {
        v[t.point_index(slot)]
            .finite_magnitude()
            .filter(|&x| x > f32::MAX as f64)
    };
    let metric = crate::model::Metric::ALL.iter().find_map(|&m| {
        let x = beyond(traced.metrics[m as usize]?.slot)?;
        Some(format!("{} (up to {x:e} on this grid)", m.name()))
    });
    metric.or_else(|| {
        t.steps.iter().find_map(|st| {
            let x = beyond(st.out)?;
            Some(format!(
                "an intermediate value of the model (up to {x:e} on this grid)"
            ))
        })
    })
}

/// The first uncertain input whose draws the f32 kernels cannot represent: a draw at
/// either end of its support (the quantiles of the generator's smallest and largest
/// uniform, so every draw lies between them; a choice's values), the product with an
/// accelerator's value for a `times` input, or a parameter the device's quantile computes
/// with (the record's, and a lognormal's factor `exp(sigma z)` at either end).
fn uncertain_outside_f32(s: &crate::scenario::Scenario, used: &[&Accelerator]) -> Option<String> {
    let u = s.uncertainty.as_ref()?;
    let show = |x: f64| format!("{x:e}");
    for input in &u.inputs {
        let key = || input.key(&s.accelerators);
        let (lo, hi) = input.dist.support();
        let mut values = match &input.dist {
            Distribution::Choice { values, .. } => values.clone(),
            _ => vec![lo, hi],
        };
        if lo != hi {
            values.extend(super::draws::parameters(&input.dist).1);
            if let Distribution::LogNormal { median, .. } = input.dist {
                values.extend([lo / median, hi / median]);
            }
        }
        if let Some(x) = values.into_iter().find(|&x| !fits_f32(x)) {
            return Some(format!(
                "{} = {{ {} }} (draws from {} to {}, computed with {})",
                key(),
                input.dist.describe(),
                show(lo),
                show(hi),
                show(x)
            ));
        }
        if input.times {
            for a in used {
                if input
                    .accelerator
                    .is_some_and(|c| s.accelerators[c].id != a.id)
                {
                    continue;
                }
                let base = a.base(input.param);
                if let Some(y) = [lo * base, hi * base].into_iter().find(|&y| !fits_f32(y)) {
                    return Some(format!(
                        "{} = {{ times = {{ {} }} }} times {}'s {} = {}",
                        key(),
                        input.dist.describe(),
                        a.id,
                        show(base),
                        show(y)
                    ));
                }
            }
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn what_fits_in_f32() {
        for x in [0.0, -0.0, 1.0, -2.5e38, 3.0e38, 1.2e-38, f32::MAX as f64] {
            assert!(fits_f32(x), "{x}");
        }
        for x in [1e-308, -1e-39, 3.5e38, 1e308, f64::INFINITY, 1e-45] {
            assert!(!fits_f32(x), "{x}");
        }
    }
}
