//! One configuration under its scenario's uncertainty, in f64: every draw resolved
//! (`Scenario::resolve_draw`) and evaluated with `model::evaluate`, then reduced to what
//! reports show (spec v2 "uncertain inputs"): per metric mean, sd, min, p10, p50, p90 and
//! max over the valid draws whose metrics are all finite, `p_feasible`, the objective's statistic and its histogram.
//! This is the exact reference the kernels' per-configuration statistics are held to, and
//! what `eval --samples` and every reported configuration of an uncertain sweep print.

use crate::model::{evaluate, is_feasible, Metric};
use crate::params::{Param, PARAMS};
use crate::scenario::{ParamValues, Scenario};
use crate::uncertain::{nearest_rank, percentile, Statistic};

/// Bins of the objective's histogram.
pub const HISTOGRAM_BINS: usize = 20;

/// One metric over the valid draws.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Spread {
    pub mean: f64,
    /// Population standard deviation.
    pub sd: f64,
    pub min: f64,
    pub p10: f64,
    pub p50: f64,
    pub p90: f64,
    pub max: f64,
}

impl Spread {
    /// The spread of `values` (reordered); NaN everywhere when empty.
    pub fn of(values: &mut [f64]) -> Spread {
        let n = values.len();
        if n == 0 {
            return Spread {
                mean: f64::NAN,
                sd: f64::NAN,
                min: f64::NAN,
                p10: f64::NAN,
                p50: f64::NAN,
                p90: f64::NAN,
                max: f64::NAN,
            };
        }
        // Differences from the first value: equal values give that value exactly (as the
        // kernels compute it). The sums run in the draws' order.
        let shift = values[0];
        let mean = shift + values.iter().map(|x| x - shift).sum::<f64>() / n as f64;
        let var = values.iter().map(|x| (x - mean) * (x - mean)).sum::<f64>() / n as f64;
        let (min, max) = extremes(values);
        // Order statistics by selection (no sort): the median splits the values, the p10
        // is then among those below it and the p90 among those above.
        let (r10, r50, r90) = (
            nearest_rank(10.0, n),
            nearest_rank(50.0, n),
            nearest_rank(90.0, n),
        );
        let (below, &mut p50, above) = values.select_nth_unstable_by(r50, f64::total_cmp);
        let p10 = if r10 < r50 {
            *below.select_nth_unstable_by(r10, f64::total_cmp).1
        } else {
            p50
        };
        let p90 = if r90 > r50 {
            *above
                .select_nth_unstable_by(r90 - r50 - 1, f64::total_cmp)
                .1
        } else {
            p50
        };
        Spread {
            mean,
            sd: var.sqrt(),
            min,
            p10,
            p50,
            p90,
            max,
        }
    }

    /// The named statistic (`mean` or a nearest-rank percentile of `values`, reordered).
    fn statistic(&self, s: Statistic, values: &mut [f64]) -> f64 {
        match s {
            Statistic::Mean => self.mean,
            Statistic::Percentile(q) => percentile(values, q),
        }
    }
}

/// The least and the greatest of `values` (non-empty) in `f64::total_cmp`'s order.
fn extremes(values: &[f64]) -> (f64, f64) {
    values.iter().fold((values[0], values[0]), |(lo, hi), &x| {
        (
            if x.total_cmp(&lo).is_lt() { x } else { lo },
            if x.total_cmp(&hi).is_gt() { x } else { hi },
        )
    })
}

/// A histogram with fixed bins over `[lo, hi]`.
#[derive(Clone, Debug, PartialEq)]
pub struct Histogram {
    pub lo: f64,
    pub hi: f64,
    pub counts: Vec<u64>,
}

impl Histogram {
    /// [`HISTOGRAM_BINS`] equal bins from the smallest to the largest of `values`.
    pub fn of(values: &[f64]) -> Histogram {
        let (lo, hi) = match values {
            [] => (f64::NAN, f64::NAN),
            _ => extremes(values),
        };
        let (lo, hi) = match (lo, hi) {
            (lo, hi) if lo.is_finite() && hi.is_finite() => (lo, hi),
            _ => {
                return Histogram {
                    lo: f64::NAN,
                    hi: f64::NAN,
                    counts: vec![0; HISTOGRAM_BINS],
                }
            }
        };
        let mut counts = vec![0u64; HISTOGRAM_BINS];
        let width = (hi - lo) / HISTOGRAM_BINS as f64;
        for &x in values {
            let b = if width > 0.0 {
                (((x - lo) / width) as usize).min(HISTOGRAM_BINS - 1)
            } else {
                0
            };
            counts[b] += 1;
        }
        Histogram { lo, hi, counts }
    }
}

/// A configuration over its draws.
#[derive(Clone, Debug, PartialEq)]
pub struct DrawStats {
    pub samples: u32,
    /// Draws in which the configuration is valid and every metric that applies is finite:
    /// the draws of the metric statistics ("counted draws").
    pub valid: u32,
    /// Draws in which it is valid, has positive throughput and meets every constraint.
    pub feasible: u32,
    pub p_feasible: f64,
    /// The objective's statistic (the scenario's `statistic`) over the valid draws.
    pub statistic: f64,
    /// Per metric that applies, over the valid draws.
    pub metrics: Vec<(Metric, Spread)>,
    /// The objective over the valid draws.
    pub histogram: Histogram,
}

impl DrawStats {
    pub fn metric(&self, m: Metric) -> Option<&Spread> {
        self.metrics.iter().find(|(k, _)| *k == m).map(|(_, s)| s)
    }

    /// Feasible in the scenario's sense: `p_feasible >= confidence`, with a statistic.
    pub fn feasible(&self, s: &Scenario) -> bool {
        self.valid > 0 && self.p_feasible >= s.confidence && self.statistic.is_finite()
    }
}

/// Evaluate the configuration with raw values `values` in every draw of `s`'s uncertainty
/// (`samples` overrides the scenario's count).
pub fn over_draws(s: &Scenario, values: &ParamValues, samples: Option<u32>) -> DrawStats {
    let n = samples.unwrap_or_else(|| s.samples());
    let applies: Vec<Metric> = Metric::ALL
        .iter()
        .copied()
        .filter(|m| m.applies(&s.workload))
        .collect();
    let mut per_metric: Vec<Vec<f64>> = applies
        .iter()
        .map(|_| Vec::with_capacity(n as usize))
        .collect();
    let (mut valid, mut feasible) = (0u32, 0u32);
    // Resolved once; each draw then sets the parameters drawn on this accelerator
    // (`Scenario::resolve_draw`).
    let (resolved, acc) = s.resolve(values);
    let code = values[Param::Accelerator.index()] as usize;
    let drawn: Vec<Param> = PARAMS
        .iter()
        .map(|info| info.param)
        .filter(|&p| s.drawn_value(p, code, 0).is_some())
        .collect();
    for k in 0..n {
        let mut cfg = resolved;
        for &p in &drawn {
            if let Some(x) = s.drawn_value(p, code, k) {
                cfg[p] = x;
            }
        }
        let e = evaluate(&cfg, acc, &s.workload);
        if is_feasible(&e, &s.constraints) {
            feasible += 1;
        }
        // A draw with a metric that is not finite (e.g. an overflow) is left out of the
        // statistics as an invalid one is (and is not feasible).
        if !(e.valid && e.finite) {
            continue;
        }
        valid += 1;
        for (col, m) in per_metric.iter_mut().zip(&applies) {
            col.push(e.metrics[*m as usize]);
        }
    }
    let objective = s.objective.metric;
    let mut statistic = f64::NAN;
    let mut histogram = Histogram::of(&[]);
    let metrics = applies
        .iter()
        .zip(per_metric.iter_mut())
        .map(|(&m, col)| {
            let spread = Spread::of(col);
            if m == objective {
                statistic = spread.statistic(s.statistic, col);
                histogram = Histogram::of(col);
            }
            (m, spread)
        })
        .collect();
    DrawStats {
        samples: n,
        valid,
        feasible,
        p_feasible: feasible as f64 / n as f64,
        statistic,
        metrics,
        histogram,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spread_and_histogram_of_known_values() {
        let mut v: Vec<f64> = (1..=10).map(f64::from).collect();
        let s = Spread::of(&mut v);
        assert_eq!(
            (s.min, s.p10, s.p50, s.p90, s.max),
            (1.0, 1.0, 5.0, 9.0, 10.0)
        );
        assert_eq!(s.mean, 5.5);
        assert!((s.sd - 8.25f64.sqrt()).abs() < 1e-15);
        let h = Histogram::of(&v);
        assert_eq!(h.counts.iter().sum::<u64>(), 10);
        assert_eq!(h.counts[0], 1);
        assert_eq!(h.counts[HISTOGRAM_BINS - 1], 1);
        assert!(Spread::of(&mut []).mean.is_nan());
    }
}
