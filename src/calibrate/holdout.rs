//! Comparing clock-factor forms on held-out points: every point is held out once (k folds,
//! the same folds for each form), the form is refitted on the rest (shared `dvfs_exponent`,
//! `idle_w`, `uncapped_w`; a scale per group) and predicts the held-out relative throughput.

use super::fit::{self, ClockForm, FitSpec, GroupData};
use super::{fit_groups, prepare, CalibrateError, CalibrateOptions, Measurements};

/// Most folds used; with fewer points every point is its own fold (leave-one-out).
pub const MAX_FOLDS: usize = 10;

/// Lowest and highest limit, as fractions of TDP, of the band where planners operate.
pub const PLANNING_BAND: (f64, f64) = (0.5, 1.0);

/// Held-out errors of one form.
#[derive(Clone, Debug, PartialEq)]
pub struct HeldOut {
    pub form: ClockForm,
    /// Points predicted (held out once each).
    pub points: usize,
    /// RMS and largest absolute error of relative throughput over all held-out points.
    pub rmse: f64,
    pub max_error: f64,
    /// The same over the points with limits in [`PLANNING_BAND`] of TDP.
    pub band_points: usize,
    pub band_rmse: f64,
    pub band_max_error: f64,
    /// Mean signed error (measured - predicted) at the lowest and at the highest limit.
    pub bias_lowest: f64,
    pub bias_highest: f64,
}

/// The held-out comparison of `forms` on every group of `m` pooled.
pub fn compare(
    m: &Measurements,
    opts: &CalibrateOptions,
    forms: &[ClockForm],
) -> Result<Vec<HeldOut>, CalibrateError> {
    // The groups a per-group fit of every form would take (as `calibrate` leaves out the
    // others), so each form sees the same points.
    let most_params = forms
        .iter()
        .map(|&form| {
            let spec = FitSpec {
                form,
                tdp_w: opts.tdp_w,
                idle_w: opts.idle_w,
            };
            fit::parameter_count(&spec, 1)
        })
        .max()
        .unwrap_or(0);
    let mut groups = m.groups();
    if groups.len() > 1 {
        groups.retain(|(_, pts)| {
            pts.len() > most_params && pts.iter().any(|p| p.limit_w != pts[0].limit_w)
        });
    }
    let data = prepare(&groups);
    let n: usize = data.iter().map(|(_, d)| d.limits.len()).sum();
    let folds = n.min(MAX_FOLDS);
    let mut out = Vec::new();
    for &form in forms {
        let spec = FitSpec {
            form,
            tdp_w: opts.tdp_w,
            idle_w: opts.idle_w,
        };
        // Checks counts and gives the warm start.
        let full = fit_groups(&m.file, "all", &groups, spec)?.fitted;
        let mut errors: Vec<(f64, f64)> = Vec::new(); // (limit, measured - predicted)
        for fold in 0..folds {
            let mut train = Vec::new();
            let mut scale_of = Vec::new();
            let mut held: Vec<(usize, f64, f64)> = Vec::new(); // (train group, limit, y)
            let mut k = 0;
            for (g, (_, d)) in data.iter().enumerate() {
                let mut kept = GroupData {
                    limits: Vec::new(),
                    y: Vec::new(),
                };
                let mut out_here = Vec::new();
                for (&p, &y) in d.limits.iter().zip(&d.y) {
                    if k % folds == fold {
                        out_here.push((p, y));
                    } else {
                        kept.limits.push(p);
                        kept.y.push(y);
                    }
                    k += 1;
                }
                if kept.limits.is_empty() {
                    continue; // no scale for this group's held-out points
                }
                held.extend(out_here.into_iter().map(|(p, y)| (train.len(), p, y)));
                train.push(kept);
                scale_of.push(g);
            }
            let refit =
                fit::fit_warm(spec, &train, &full, &scale_of).map_err(|e| CalibrateError::Fit {
                    file: m.file.clone(),
                    group: format!("held-out fold {fold}"),
                    reason: e.to_string(),
                })?;
            for (g, p, y) in held {
                let a = refit.scales[g].value;
                errors.push((p, y / a - refit.predict(opts.tdp_w, p)));
            }
        }
        out.push(summarize(form, opts.tdp_w, &errors));
    }
    Ok(out)
}

fn summarize(form: ClockForm, tdp_w: f64, errors: &[(f64, f64)]) -> HeldOut {
    let rms = |v: &[f64]| {
        if v.is_empty() {
            f64::NAN
        } else {
            (v.iter().map(|e| e * e).sum::<f64>() / v.len() as f64).sqrt()
        }
    };
    let max_abs = |v: &[f64]| v.iter().fold(0.0_f64, |m, e| m.max(e.abs()));
    let all: Vec<f64> = errors.iter().map(|&(_, e)| e).collect();
    let band: Vec<f64> = errors
        .iter()
        .filter(|&&(p, _)| {
            p >= PLANNING_BAND.0 * tdp_w - 1e-9 && p <= PLANNING_BAND.1 * tdp_w + 1e-9
        })
        .map(|&(_, e)| e)
        .collect();
    let lowest = errors.iter().map(|&(p, _)| p).fold(f64::INFINITY, f64::min);
    let highest = errors.iter().map(|&(p, _)| p).fold(0.0, f64::max);
    let mean_at = |limit: f64| {
        let v: Vec<f64> = errors
            .iter()
            .filter(|&&(p, _)| p == limit)
            .map(|&(_, e)| e)
            .collect();
        v.iter().sum::<f64>() / v.len().max(1) as f64
    };
    HeldOut {
        form,
        points: all.len(),
        rmse: rms(&all),
        max_error: max_abs(&all),
        band_points: band.len(),
        band_rmse: rms(&band),
        band_max_error: max_abs(&band),
        bias_lowest: mean_at(lowest),
        bias_highest: mean_at(highest),
    }
}
