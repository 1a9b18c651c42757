//! The objective's distribution over the feasible configurations of a sweep, for the
//! report's histogram: estimated from a seeded uniform random sample of the grid's flat
//! indices (every configuration when the grid is no larger than the sample), each
//! evaluated in f64 with the model. The sweep's own statistics (min, max, mean over every
//! feasible configuration) are exact; this adds the shape between them.

use crate::model::{evaluate, is_feasible, Metric};
use crate::plan::SweepPlan;

/// Configurations evaluated for the distribution.
pub const SAMPLE: u64 = 20_000;

/// The objective over sampled feasible configurations.
#[derive(Clone, Debug, PartialEq)]
pub struct Distribution {
    pub metric: Metric,
    /// Configurations evaluated (drawn with replacement unless `exact`).
    pub drawn: u64,
    /// Every configuration of the grid was evaluated (no sampling).
    pub exact: bool,
    /// The objective of each feasible one drawn.
    pub values: Vec<f64>,
}

/// splitmix64: a small, well-mixed generator for reproducible samples.
fn splitmix(state: &mut u64) -> u64 {
    *state = state.wrapping_add(0x9E37_79B9_7F4A_7C15);
    let mut z = *state;
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// Sample the objective's distribution over the plan's feasible configurations (`n`
/// draws; the seed is fixed, so the same plan gives the same sample). Empty for a scenario
/// with uncertain inputs.
pub fn sample(plan: &SweepPlan, n: u64) -> Distribution {
    let s = &plan.scenario;
    let size = plan.grid.size;
    if s.uncertainty.is_some() {
        // Feasibility and the objective are statistics over draws there: one sample of
        // the deterministic model would misstate both, so nothing is drawn.
        return Distribution {
            metric: s.objective.metric,
            drawn: 0,
            exact: false,
            values: Vec::new(),
        };
    }
    let exact = size <= n;
    let mut state = 0x00C1_u64 ^ size;
    let mut values = Vec::new();
    let draws = if exact { size } else { n };
    for k in 0..draws {
        let index = if exact {
            k
        } else {
            ((splitmix(&mut state) as u128 * size as u128) >> 64) as u64
        };
        let (cfg, acc) = s.resolve(&plan.values_at(index));
        let e = evaluate(&cfg, acc, &s.workload);
        if is_feasible(&e, &s.constraints) {
            let v = e.metrics[s.objective.metric.index()];
            if v.is_finite() {
                values.push(v);
            }
        }
    }
    Distribution {
        metric: s.objective.metric,
        drawn: draws,
        exact,
        values,
    }
}

/// A histogram: `bins` equal bins over `[lo, hi]` (the last one closed) and their counts.
#[derive(Clone, Debug, PartialEq)]
pub struct Histogram {
    pub lo: f64,
    pub hi: f64,
    pub counts: Vec<u64>,
}

impl Distribution {
    /// The values in `bins` equal bins between their min and max (`None` when empty).
    pub fn histogram(&self, bins: usize) -> Option<Histogram> {
        let lo = self.values.iter().copied().fold(f64::INFINITY, f64::min);
        let hi = self
            .values
            .iter()
            .copied()
            .fold(f64::NEG_INFINITY, f64::max);
        if !(lo.is_finite() && hi.is_finite()) || bins == 0 {
            return None;
        }
        let mut counts = vec![0u64; bins];
        let width = (hi - lo) / bins as f64;
        for &v in &self.values {
            let b = if width > 0.0 {
                (((v - lo) / width) as usize).min(bins - 1)
            } else {
                0
            };
            counts[b] += 1;
        }
        Some(Histogram { lo, hi, counts })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn histogram_counts_every_value_once_with_the_max_in_the_last_bin() {
        let d = Distribution {
            metric: Metric::ThroughputPflops,
            drawn: 6,
            exact: true,
            values: vec![0.0, 1.0, 2.5, 5.0, 9.99, 10.0],
        };
        let h = d.histogram(4).unwrap();
        assert_eq!((h.lo, h.hi), (0.0, 10.0));
        assert_eq!(h.counts, vec![2, 1, 1, 2]);
        let empty = Distribution {
            values: vec![],
            ..d
        };
        assert_eq!(empty.histogram(4), None);
    }
}
