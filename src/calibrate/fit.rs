//! Bounded nonlinear least squares (Levenberg-Marquardt on nalgebra matrices) of the clock
//! factor against measured relative throughput, with standard errors from the Jacobian.
//!
//! The model for point j of group g is `y_j = A_g * s(P_j)`, where `y_j` is the measured
//! throughput divided by the group's mean throughput at its highest limit (so the residuals
//! are in units of relative throughput), `A_g` is the group's throughput at TDP on that scale
//! (a free parameter per group, so a noisy reference point does not pin the curve), and
//! `s` is the clock factor of the chosen [`ClockForm`]:
//!
//! - power law (the model's v2 form): `s = ((P - idle) / (tdp - idle)) ^ (1 / gamma)`;
//! - knee: `s = ((min(P, u) - idle) / (u - idle)) ^ (1 / gamma)`, with `u = uncapped_w`, the
//!   draw of the uncapped workload: caps at or above it cost nothing.

use nalgebra::{DMatrix, DVector};

/// Lowest and highest `dvfs_exponent` the fit may return (the spec's valid range).
pub const GAMMA_BOUNDS: (f64, f64) = (0.5, 10.0);

/// Which clock-factor formula to fit.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ClockForm {
    /// `((P - idle) / (tdp - idle)) ^ (1 / gamma)` (spec v2).
    PowerLaw,
    /// `((min(P, u) - idle) / (u - idle)) ^ (1 / gamma)` with a fitted `uncapped_w` = u.
    Knee,
}

impl ClockForm {
    /// The name used on the command line and in reports.
    pub fn name(self) -> &'static str {
        match self {
            ClockForm::PowerLaw => "power-law",
            ClockForm::Knee => "knee",
        }
    }
}

/// Clock factor of `form` at power limit `p` (W).
pub fn clock_factor(form: ClockForm, p: f64, gamma: f64, idle: f64, top: f64) -> f64 {
    let p = match form {
        ClockForm::PowerLaw => p,
        ClockForm::Knee => p.min(top),
    };
    ((p - idle) / (top - idle)).max(0.0).powf(1.0 / gamma)
}

/// One group's points as the fitter sees them.
#[derive(Clone, Debug)]
pub struct GroupData {
    /// Power limits, W.
    pub limits: Vec<f64>,
    /// Throughput relative to the group's mean throughput at its highest limit.
    pub y: Vec<f64>,
}

/// What to fit.
#[derive(Clone, Copy, Debug)]
pub struct FitSpec {
    pub form: ClockForm,
    pub tdp_w: f64,
    /// Hold `idle_w` at this value instead of fitting it.
    pub idle_w: Option<f64>,
}

/// A fitted parameter.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Estimate {
    pub value: f64,
    /// Standard error; `None` when held fixed, at a bound, or not identified by the data.
    pub se: Option<f64>,
    /// The fit stopped on a bound of this parameter.
    pub at_bound: bool,
    /// Held fixed (not fitted).
    pub fixed: bool,
}

/// The result of one fit.
#[derive(Clone, Debug)]
pub struct Fitted {
    pub form: ClockForm,
    pub gamma: Estimate,
    pub idle_w: Estimate,
    /// The knee form's `uncapped_w`.
    pub uncapped_w: Option<Estimate>,
    /// Each group's throughput at TDP on its relative scale (about 1).
    pub scales: Vec<Estimate>,
    /// Points and fitted parameters.
    pub points: usize,
    pub params: usize,
    /// Residuals in relative throughput (measured / A_g - s), in input order, group by group.
    pub residuals: Vec<Vec<f64>>,
    /// Root mean square and largest absolute residual, relative throughput.
    pub rmse: f64,
    pub max_error: f64,
    /// 1 - SSR / SST, SST about each group's mean.
    pub r2: f64,
}

impl Fitted {
    /// The upper end of the clock factor (tdp, or the knee's uncapped_w).
    pub fn top(&self, tdp_w: f64) -> f64 {
        self.uncapped_w.map_or(tdp_w, |u| u.value)
    }

    /// Fitted relative throughput at `p` (1 at TDP, or at and above the knee).
    pub fn predict(&self, tdp_w: f64, p: f64) -> f64 {
        clock_factor(
            self.form,
            p,
            self.gamma.value,
            self.idle_w.value,
            self.top(tdp_w),
        )
    }
}

/// Why a fit could not be made (the caller checks counts and limits first, so these are
/// numerical).
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum FitFailure {
    #[error("no start point gave a finite sum of squares")]
    NoFiniteStart,
}

/// The parameter layout of one problem.
struct Problem<'a> {
    spec: FitSpec,
    groups: &'a [GroupData],
    /// Index of idle in the vector, when fitted.
    idle_at: Option<usize>,
    /// Index of uncapped_w, when fitted (knee form).
    top_at: Option<usize>,
    /// Index of the first group scale.
    scale_at: usize,
    lower: Vec<f64>,
    upper: Vec<f64>,
    n: usize,
}

impl<'a> Problem<'a> {
    fn new(spec: FitSpec, groups: &'a [GroupData]) -> Problem<'a> {
        let min_limit = groups
            .iter()
            .flat_map(|g| g.limits.iter().copied())
            .fold(f64::INFINITY, f64::min);
        let max_limit = groups
            .iter()
            .flat_map(|g| g.limits.iter().copied())
            .fold(0.0, f64::max);
        let mut lower = vec![GAMMA_BOUNDS.0];
        let mut upper = vec![GAMMA_BOUNDS.1];
        let idle_at = if spec.idle_w.is_none() {
            lower.push(0.0);
            upper.push(min_limit * (1.0 - 1e-6));
            Some(lower.len() - 1)
        } else {
            None
        };
        let top_at = if spec.form == ClockForm::Knee {
            lower.push(min_limit);
            upper.push(spec.tdp_w.min(max_limit.max(min_limit)));
            Some(lower.len() - 1)
        } else {
            None
        };
        let scale_at = lower.len();
        for _ in groups {
            lower.push(1e-9);
            upper.push(f64::INFINITY);
        }
        let n = groups.iter().map(|g| g.limits.len()).sum();
        Problem {
            spec,
            groups,
            idle_at,
            top_at,
            scale_at,
            lower,
            upper,
            n,
        }
    }

    fn params(&self) -> usize {
        self.lower.len()
    }

    fn idle(&self, t: &DVector<f64>) -> f64 {
        self.idle_at
            .map_or_else(|| self.spec.idle_w.unwrap_or(0.0), |i| t[i])
    }

    fn top(&self, t: &DVector<f64>) -> f64 {
        self.top_at.map_or(self.spec.tdp_w, |i| t[i])
    }

    fn clamp(&self, t: &mut DVector<f64>) {
        for i in 0..t.len() {
            t[i] = t[i].clamp(self.lower[i], self.upper[i]);
        }
    }

    /// Residuals `y - A_g s(P)` and their Jacobian with respect to the parameters.
    fn residuals(&self, t: &DVector<f64>, with_jacobian: bool) -> (DVector<f64>, DMatrix<f64>) {
        let gamma = t[0];
        let idle = self.idle(t);
        let top = self.top(t);
        let mut r = DVector::zeros(self.n);
        let mut jac = if with_jacobian {
            DMatrix::zeros(self.n, self.params())
        } else {
            DMatrix::zeros(0, 0)
        };
        let mut row = 0;
        for (g, data) in self.groups.iter().enumerate() {
            let a = t[self.scale_at + g];
            for (&p, &y) in data.limits.iter().zip(&data.y) {
                let pe = match self.spec.form {
                    ClockForm::PowerLaw => p,
                    ClockForm::Knee => p.min(top),
                };
                let x = ((pe - idle) / (top - idle)).max(1e-300);
                let s = x.powf(1.0 / gamma);
                r[row] = y - a * s;
                if with_jacobian {
                    jac[(row, 0)] = a * s * x.ln() / (gamma * gamma);
                    let ds_dx = s / (gamma * x);
                    if let Some(i) = self.idle_at {
                        let dx = (pe - top) / ((top - idle) * (top - idle));
                        jac[(row, i)] = -a * ds_dx * dx;
                    }
                    if let Some(i) = self.top_at {
                        if p < top {
                            let dx = -(p - idle) / ((top - idle) * (top - idle));
                            jac[(row, i)] = -a * ds_dx * dx;
                        }
                    }
                    jac[(row, self.scale_at + g)] = -s;
                }
                row += 1;
            }
        }
        (r, jac)
    }

    fn ssr(&self, t: &DVector<f64>) -> f64 {
        self.residuals(t, false).0.norm_squared()
    }

    /// Levenberg-Marquardt from `t`, projected onto the bounds after each step.
    fn solve_from(&self, mut t: DVector<f64>) -> (DVector<f64>, f64) {
        self.clamp(&mut t);
        let mut ssr = self.ssr(&t);
        let mut lambda = 1e-3;
        for _ in 0..500 {
            let (r, jac) = self.residuals(&t, true);
            let jt = jac.transpose();
            let h = &jt * &jac;
            let grad = &jt * &r;
            let mut improved = false;
            while lambda < 1e14 {
                let mut damped = h.clone();
                for i in 0..damped.nrows() {
                    damped[(i, i)] += lambda * h[(i, i)].max(1e-12);
                }
                let Some(chol) = damped.cholesky() else {
                    lambda *= 10.0;
                    continue;
                };
                let step = chol.solve(&(-&grad));
                let mut next = &t + &step;
                self.clamp(&mut next);
                let next_ssr = self.ssr(&next);
                if next_ssr.is_finite() && next_ssr < ssr {
                    let moved = (&next - &t).norm() / (1.0 + t.norm());
                    let gain = ssr - next_ssr;
                    t = next;
                    ssr = next_ssr;
                    lambda = (lambda * 0.3).max(1e-12);
                    improved = gain > 1e-15 * (1.0 + ssr) && moved > 1e-12;
                    break;
                }
                lambda *= 4.0;
            }
            if !improved {
                break;
            }
        }
        (t, ssr)
    }
}

/// Fit `spec` to `groups` (each with at least one point; the caller has checked that there
/// are more points than parameters and more than one limit).
pub fn fit(spec: FitSpec, groups: &[GroupData]) -> Result<Fitted, FitFailure> {
    let prob = Problem::new(spec, groups);
    let mut best: Option<(DVector<f64>, f64)> = None;
    let idle_starts: Vec<f64> = match prob.idle_at {
        Some(i) => [0.1, 0.4, 0.7].iter().map(|f| f * prob.upper[i]).collect(),
        None => vec![f64::NAN],
    };
    let top_starts: Vec<f64> = match prob.top_at {
        Some(i) => {
            let (lo, hi) = (prob.lower[i], prob.upper[i]);
            [1.0, 0.9, 0.75, 0.6]
                .iter()
                .map(|f| lo + (hi - lo) * f)
                .collect()
        }
        None => vec![f64::NAN],
    };
    for &gamma in &[1.0, 1.5, 2.5, 4.0, 7.0] {
        for &idle in &idle_starts {
            for &top in &top_starts {
                let mut t = DVector::from_element(prob.params(), 1.0);
                t[0] = gamma;
                if let Some(i) = prob.idle_at {
                    t[i] = idle;
                }
                if let Some(i) = prob.top_at {
                    t[i] = top;
                }
                let (t, ssr) = prob.solve_from(t);
                if ssr.is_finite() && best.as_ref().is_none_or(|(_, b)| ssr < *b) {
                    best = Some((t, ssr));
                }
            }
        }
    }
    let (t, ssr) = best.ok_or(FitFailure::NoFiniteStart)?;
    Ok(summarize(&prob, &t, ssr))
}

/// Fit `spec` to `groups` with a single start at `start`'s parameters (its scales by index
/// in `scale_of`, one per group of `groups`): for refits of subsets of the data.
pub fn fit_warm(
    spec: FitSpec,
    groups: &[GroupData],
    start: &Fitted,
    scale_of: &[usize],
) -> Result<Fitted, FitFailure> {
    let prob = Problem::new(spec, groups);
    let mut t = DVector::from_element(prob.params(), 1.0);
    t[0] = start.gamma.value;
    if let Some(i) = prob.idle_at {
        t[i] = start.idle_w.value;
    }
    if let (Some(i), Some(u)) = (prob.top_at, start.uncapped_w) {
        t[i] = u.value;
    }
    for (g, &k) in scale_of.iter().enumerate() {
        t[prob.scale_at + g] = start.scales[k].value;
    }
    let (t, ssr) = prob.solve_from(t);
    if !ssr.is_finite() {
        return Err(FitFailure::NoFiniteStart);
    }
    Ok(summarize(&prob, &t, ssr))
}

/// Standard errors, residuals and goodness of fit at the solution `t`.
fn summarize(prob: &Problem<'_>, t: &DVector<f64>, ssr: f64) -> Fitted {
    let (r, jac) = prob.residuals(t, true);
    let p = prob.params();
    let at_bound: Vec<bool> = (0..p)
        .map(|i| {
            let span = (prob.upper[i] - prob.lower[i]).min(t[i].abs().max(1.0));
            (t[i] - prob.lower[i]).abs() <= 1e-6 * span
                || (prob.upper[i] - t[i]).abs() <= 1e-6 * span
        })
        .collect();
    // Covariance over the parameters that are not on a bound (those on one are held there).
    let free: Vec<usize> = (0..p).filter(|&i| !at_bound[i]).collect();
    let dof = prob.n.saturating_sub(p);
    let sigma2 = if dof > 0 { ssr / dof as f64 } else { f64::NAN };
    let mut se = vec![None; p];
    if !free.is_empty() {
        let jf = jac.select_columns(&free);
        let h = jf.transpose() * &jf;
        if let Some(inv) = h.try_inverse() {
            for (k, &i) in free.iter().enumerate() {
                let v = inv[(k, k)] * sigma2;
                if v.is_finite() && v >= 0.0 {
                    se[i] = Some(v.sqrt());
                }
            }
        }
    }
    let est = |i: usize| Estimate {
        value: t[i],
        se: se[i],
        at_bound: at_bound[i],
        fixed: false,
    };
    let idle_w = match prob.idle_at {
        Some(i) => est(i),
        None => Estimate {
            value: prob.spec.idle_w.unwrap_or(0.0),
            se: None,
            at_bound: false,
            fixed: true,
        },
    };
    let mut residuals = Vec::new();
    let mut row = 0;
    let mut sst = 0.0;
    let mut max_error: f64 = 0.0;
    let mut rel_ss = 0.0;
    for (g, data) in prob.groups.iter().enumerate() {
        let a = t[prob.scale_at + g];
        let mean = data.y.iter().sum::<f64>() / data.y.len() as f64;
        sst += data.y.iter().map(|y| (y - mean) * (y - mean)).sum::<f64>();
        let mut res = Vec::with_capacity(data.y.len());
        for _ in &data.y {
            let e = r[row] / a;
            max_error = max_error.max(e.abs());
            rel_ss += e * e;
            res.push(e);
            row += 1;
        }
        residuals.push(res);
    }
    Fitted {
        form: prob.spec.form,
        gamma: est(0),
        idle_w,
        uncapped_w: prob.top_at.map(est),
        scales: (0..prob.groups.len())
            .map(|g| est(prob.scale_at + g))
            .collect(),
        points: prob.n,
        params: p,
        residuals,
        rmse: (rel_ss / prob.n as f64).sqrt(),
        max_error,
        r2: if sst > 0.0 { 1.0 - ssr / sst } else { f64::NAN },
    }
}

/// Number of parameters `spec` fits to `groups` groups.
pub fn parameter_count(spec: &FitSpec, groups: usize) -> usize {
    1 + usize::from(spec.idle_w.is_none()) + usize::from(spec.form == ClockForm::Knee) + groups
}

#[cfg(test)]
mod tests {
    use super::*;

    fn synthetic(gamma: f64, idle: f64, tdp: f64, limits: &[f64], scale: f64) -> GroupData {
        GroupData {
            limits: limits.to_vec(),
            y: limits
                .iter()
                .map(|&p| scale * clock_factor(ClockForm::PowerLaw, p, gamma, idle, tdp))
                .collect(),
        }
    }

    #[test]
    fn exact_power_law_data_are_recovered() {
        let limits = [
            100.0, 125.0, 150.0, 175.0, 200.0, 225.0, 250.0, 275.0, 300.0,
        ];
        let g = vec![synthetic(1.6, 60.0, 300.0, &limits, 0.97)];
        let spec = FitSpec {
            form: ClockForm::PowerLaw,
            tdp_w: 300.0,
            idle_w: None,
        };
        let f = fit(spec, &g).unwrap();
        assert!((f.gamma.value - 1.6).abs() < 1e-6, "{f:?}");
        assert!((f.idle_w.value - 60.0).abs() < 1e-4, "{f:?}");
        assert!((f.scales[0].value - 0.97).abs() < 1e-8, "{f:?}");
        assert!(f.rmse < 1e-9 && f.r2 > 1.0 - 1e-12, "{f:?}");
    }

    #[test]
    fn exact_knee_data_are_recovered() {
        let limits = [150.0, 175.0, 200.0, 225.0, 250.0, 275.0, 300.0];
        let y: Vec<f64> = limits
            .iter()
            .map(|&p| clock_factor(ClockForm::Knee, p, 1.2, 40.0, 262.0))
            .collect();
        let g = vec![GroupData {
            limits: limits.to_vec(),
            y,
        }];
        let spec = FitSpec {
            form: ClockForm::Knee,
            tdp_w: 300.0,
            idle_w: None,
        };
        let f = fit(spec, &g).unwrap();
        let u = f.uncapped_w.unwrap();
        assert!((u.value - 262.0).abs() < 1e-3, "{f:?}");
        assert!((f.gamma.value - 1.2).abs() < 1e-4, "{f:?}");
        assert!(f.rmse < 1e-8, "{f:?}");
    }

    #[test]
    fn gamma_stops_at_its_upper_bound_on_flat_data_and_has_no_standard_error() {
        let limits = [100.0, 150.0, 200.0, 250.0, 300.0];
        let g = vec![GroupData {
            limits: limits.to_vec(),
            y: vec![1.0, 1.001, 0.999, 1.0, 1.0],
        }];
        let spec = FitSpec {
            form: ClockForm::PowerLaw,
            tdp_w: 300.0,
            idle_w: Some(50.0),
        };
        let f = fit(spec, &g).unwrap();
        assert_eq!(f.gamma.value, GAMMA_BOUNDS.1);
        assert!(f.gamma.at_bound && f.gamma.se.is_none(), "{f:?}");
        assert!(f.idle_w.fixed);
    }
}
