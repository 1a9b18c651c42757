//! Summary statistics of repeated timings (`clustersweep bench`): minimum, median, mean,
//! sample standard deviation and the 95% confidence interval of the mean from Student's t
//! distribution, and the rule `bench compare` uses to tell a slowdown from noise.
//!
//! The interval: for n >= 2 repetitions x_1..x_n with mean m and sample standard deviation
//! s = sqrt(sum (x_i - m)^2 / (n - 1)), the 95% confidence interval of the mean is
//! m ± t(0.975, n - 1) · s / sqrt(n), where t(0.975, df) is the two-sided 95% quantile of
//! Student's t distribution with df degrees of freedom ([`student_t_975`]). With one
//! repetition the standard deviation and the interval are undefined (null).

use serde::{Deserialize, Serialize};

/// Statistics of one set of repetition times (seconds).
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct TimingStats {
    /// Number of repetitions.
    pub n: usize,
    pub min: f64,
    pub median: f64,
    pub mean: f64,
    /// Sample standard deviation (n - 1 in the denominator); null for one repetition.
    pub sd: Option<f64>,
    /// 95% confidence interval of the mean, `[low, high]` (Student t); null for one
    /// repetition.
    pub ci95: Option<[f64; 2]>,
}

/// Two-sided 95% quantiles t(0.975, df) of Student's t distribution for df = 1..=30
/// (standard tables, e.g. NIST/SEMATECH e-Handbook of Statistical Methods, 1.3.6.7.2).
const T_975: [f64; 30] = [
    12.706205, 4.302653, 3.182446, 2.776445, 2.570582, 2.446912, 2.364624, 2.306004, 2.262157,
    2.228139, 2.200985, 2.178813, 2.160369, 2.144787, 2.131450, 2.119905, 2.109816, 2.100922,
    2.093024, 2.085963, 2.079614, 2.073873, 2.068658, 2.063899, 2.059539, 2.055529, 2.051831,
    2.048407, 2.045230, 2.042272,
];

/// The 0.975 quantile of the standard normal distribution.
const Z_975: f64 = 1.959_963_984_540_054;

/// t(0.975, df): the table for df <= 30; above, the Cornish-Fisher expansion of t in
/// powers of 1/df around the normal quantile z (Abramowitz & Stegun 26.7.5), which is
/// within 1e-5 of the exact value from df = 30 on. `df` = 0 gives NaN.
pub fn student_t_975(df: usize) -> f64 {
    match df {
        0 => f64::NAN,
        1..=30 => T_975[df - 1],
        _ => {
            let (z, d) = (Z_975, df as f64);
            let (z3, z5, z7) = (z.powi(3), z.powi(5), z.powi(7));
            z + (z3 + z) / (4.0 * d)
                + (5.0 * z5 + 16.0 * z3 + 3.0 * z) / (96.0 * d * d)
                + (3.0 * z7 + 19.0 * z5 + 17.0 * z3 - 15.0 * z) / (384.0 * d * d * d)
        }
    }
}

/// The statistics of `samples`; `None` when there are none.
pub fn timing_stats(samples: &[f64]) -> Option<TimingStats> {
    let n = samples.len();
    if n == 0 {
        return None;
    }
    let mut sorted = samples.to_vec();
    sorted.sort_by(f64::total_cmp);
    let median = if n % 2 == 1 {
        sorted[n / 2]
    } else {
        (sorted[n / 2 - 1] + sorted[n / 2]) / 2.0
    };
    let mean = samples.iter().sum::<f64>() / n as f64;
    let (sd, ci95) = if n >= 2 {
        let var = samples.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / (n - 1) as f64;
        let sd = var.sqrt();
        let half = student_t_975(n - 1) * sd / (n as f64).sqrt();
        (Some(sd), Some([mean - half, mean + half]))
    } else {
        (None, None)
    };
    Some(TimingStats {
        n,
        min: sorted[0],
        median,
        mean,
        sd,
        ci95,
    })
}

impl TimingStats {
    /// The same statistics of the samples divided by `d` (e.g. seconds per configuration
    /// from seconds per repetition).
    pub fn scaled(&self, d: f64) -> TimingStats {
        TimingStats {
            n: self.n,
            min: self.min / d,
            median: self.median / d,
            mean: self.mean / d,
            sd: self.sd.map(|s| s / d),
            ci95: self.ci95.map(|[a, b]| [a / d, b / d]),
        }
    }
}

/// How a newer timing compares with a baseline, by `bench compare`'s rule.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Verdict {
    /// Slower by more than the threshold and the 95% intervals of the means do not
    /// overlap: a regression.
    Slower,
    /// Faster by more than the threshold and the intervals do not overlap.
    Faster,
    /// Within the threshold, or the intervals overlap (the difference may be noise).
    Same,
}

/// `bench compare`'s rule. `a` is the baseline and `b` the newer time per unit of work
/// (lower is better); `threshold` is a fraction (0.05 for 5%). B is slower when
/// mean_b > mean_a · (1 + threshold) AND B's interval lies above A's (low_b > high_a);
/// faster symmetrically (mean_b < mean_a · (1 - threshold) and high_b < low_a). Where
/// either side has no interval (one repetition) the noise is unknown and only the
/// threshold decides.
pub fn verdict(a: &TimingStats, b: &TimingStats, threshold: f64) -> Verdict {
    let apart_slower = match (a.ci95, b.ci95) {
        (Some([_, ha]), Some([lb, _])) => lb > ha,
        _ => true,
    };
    let apart_faster = match (a.ci95, b.ci95) {
        (Some([la, _]), Some([_, hb])) => hb < la,
        _ => true,
    };
    if b.mean > a.mean * (1.0 + threshold) && apart_slower {
        Verdict::Slower
    } else if b.mean < a.mean * (1.0 - threshold) && apart_faster {
        Verdict::Faster
    } else {
        Verdict::Same
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn close(a: f64, b: f64, tol: f64) -> bool {
        (a - b).abs() <= tol
    }

    #[test]
    fn five_samples_by_hand() {
        // 1..5: mean 3, sd = sqrt(10 / 4) = 1.5811388, se = sd / sqrt(5) = 0.7071068,
        // t(0.975, 4) = 2.776445, half width = 1.9632432.
        let s = timing_stats(&[3.0, 1.0, 5.0, 2.0, 4.0]).unwrap();
        assert_eq!((s.n, s.min, s.median, s.mean), (5, 1.0, 3.0, 3.0));
        assert!(close(s.sd.unwrap(), 1.581_138_8, 1e-7));
        let [lo, hi] = s.ci95.unwrap();
        assert!(close(lo, 3.0 - 1.963_243_2, 1e-6), "{lo}");
        assert!(close(hi, 3.0 + 1.963_243_2, 1e-6), "{hi}");
    }

    #[test]
    fn even_count_median_and_two_samples() {
        // 2 and 4: mean 3, sd = sqrt(2) = 1.4142136, se = 1, t(0.975, 1) = 12.706205.
        let s = timing_stats(&[4.0, 2.0]).unwrap();
        assert_eq!((s.median, s.mean), (3.0, 3.0));
        assert!(close(s.sd.unwrap(), std::f64::consts::SQRT_2, 1e-12));
        let [lo, hi] = s.ci95.unwrap();
        assert!(close(lo, 3.0 - 12.706_205, 1e-6) && close(hi, 3.0 + 12.706_205, 1e-6));
    }

    #[test]
    fn one_sample_has_no_spread_and_none_has_no_stats() {
        let s = timing_stats(&[0.25]).unwrap();
        assert_eq!(
            (s.min, s.median, s.mean, s.sd, s.ci95),
            (0.25, 0.25, 0.25, None, None)
        );
        assert!(timing_stats(&[]).is_none());
    }

    #[test]
    fn t_quantiles_table_and_expansion() {
        assert_eq!(student_t_975(1), 12.706205);
        assert_eq!(student_t_975(9), 2.262157);
        assert!(student_t_975(0).is_nan());
        // Tables: t(0.975, 40) = 2.021075, t(0.975, 60) = 2.000298, t(0.975, 120) = 1.979930.
        assert!(
            close(student_t_975(40), 2.021_075, 2e-5),
            "{}",
            student_t_975(40)
        );
        assert!(
            close(student_t_975(60), 2.000_298, 2e-5),
            "{}",
            student_t_975(60)
        );
        assert!(
            close(student_t_975(120), 1.979_930, 2e-5),
            "{}",
            student_t_975(120)
        );
        // The expansion meets the table at df = 30 (2.042272).
        let d = 30.0f64;
        let z = Z_975;
        let e = z
            + (z.powi(3) + z) / (4.0 * d)
            + (5.0 * z.powi(5) + 16.0 * z.powi(3) + 3.0 * z) / (96.0 * d * d)
            + (3.0 * z.powi(7) + 19.0 * z.powi(5) + 17.0 * z.powi(3) - 15.0 * z)
                / (384.0 * d * d * d);
        assert!(close(e, 2.042_272, 2e-5), "{e}");
    }

    #[test]
    fn verdicts_need_threshold_and_separation() {
        let a = timing_stats(&[1.00, 1.02, 0.98, 1.01, 0.99]).unwrap();
        let twice = timing_stats(&[2.00, 2.02, 1.98, 2.01, 1.99]).unwrap();
        let half = timing_stats(&[0.50, 0.51, 0.49, 0.50, 0.50]).unwrap();
        let noisy = timing_stats(&[0.7, 1.6, 1.0, 1.5, 0.8]).unwrap(); // mean 1.12
        let close_by = timing_stats(&[1.030, 1.031, 1.029, 1.030, 1.030]).unwrap(); // +3%
        assert_eq!(verdict(&a, &twice, 0.05), Verdict::Slower);
        assert_eq!(verdict(&a, &half, 0.05), Verdict::Faster);
        assert_eq!(verdict(&a, &a, 0.05), Verdict::Same);
        assert_eq!(
            verdict(&a, &noisy, 0.05),
            Verdict::Same,
            "intervals overlap"
        );
        assert_eq!(verdict(&a, &close_by, 0.05), Verdict::Same, "within 5%");
        assert_eq!(verdict(&a, &close_by, 0.01), Verdict::Slower);
        // One repetition: the threshold alone decides.
        let one_a = timing_stats(&[1.0]).unwrap();
        let one_b = timing_stats(&[1.2]).unwrap();
        assert_eq!(verdict(&one_a, &one_b, 0.05), Verdict::Slower);
        assert_eq!(verdict(&one_a, &one_b, 0.25), Verdict::Same);
    }

    #[test]
    fn scaling_divides_every_statistic() {
        let s = timing_stats(&[2.0, 4.0]).unwrap().scaled(2.0);
        assert_eq!((s.min, s.median, s.mean), (1.0, 1.5, 1.5));
        assert!(close(s.sd.unwrap(), std::f64::consts::SQRT_2 / 2.0, 1e-12));
    }
}
