//! Rendering a [`Calibration`]: the text table, the `clustersweep.calibration/1` JSON
//! document, the held-out comparison, and the TOML snippets to paste into a scenario (point
//! estimates for `[accelerators.ID]`, distributions for `[accelerators.ID.uncertain]`).

use super::fit::{Estimate, GAMMA_BOUNDS};
use super::holdout::{HeldOut, PLANNING_BAND};
use super::read::RateKind;
use super::{Calibration, FitReport};
use serde_json::{json, Value};
use std::fmt::Write;

/// Schema name of the JSON document.
pub const CALIBRATION_SCHEMA: &str = "clustersweep.calibration/1";

/// `v` rounded to `digits` significant decimal digits.
pub fn significant(v: f64, digits: i32) -> f64 {
    if v == 0.0 || !v.is_finite() {
        return v;
    }
    let scale = 10f64.powi(digits - 1 - v.abs().log10().floor() as i32);
    (v * scale).round() / scale
}

fn estimate_text(e: &Estimate, digits: i32) -> String {
    let v = significant(e.value, digits);
    match (e.fixed, e.at_bound, e.se) {
        (true, _, _) => format!("{v} (fixed)"),
        (_, true, _) => format!("{v} (bound)"),
        (_, _, Some(se)) => format!("{v} ± {}", significant(se, 2)),
        (_, _, None) => format!("{v} (no error)"),
    }
}

fn estimate_json(e: &Estimate) -> Value {
    json!({ "value": e.value, "se": e.se, "at_bound": e.at_bound, "fixed": e.fixed })
}

/// The table of fits, one line per group and one for the pooled fit.
pub fn table(c: &Calibration) -> String {
    let mut s = String::new();
    let cols = &c.columns;
    let rate = match cols.rate_kind {
        RateKind::Throughput => format!("throughput `{}`", cols.rate),
        RateKind::Time => format!("time `{}` (throughput = 1 / time)", cols.rate),
    };
    let power = cols
        .power
        .as_ref()
        .map_or_else(String::new, |p| format!(", average power `{p}`"));
    let form = c.headline().fitted.form;
    let _ = writeln!(
        s,
        "{}: TDP {} W; columns: limit `{}`, {rate}{power}; clock factor: {}",
        c.file,
        c.tdp_w,
        cols.limit,
        form.name()
    );
    let knee = c.headline().fitted.uncapped_w.is_some();
    let _ = write!(
        s,
        "{:<40} {:>6}  {:<18} {:<18} ",
        "group", "points", "dvfs_exponent", "idle_w (W)"
    );
    if knee {
        let _ = write!(s, "{:<18} ", "uncapped_w (W)");
    }
    let _ = writeln!(s, "{:>7} {:>8} {:>7}  load_frac", "rmse", "max err", "R^2");
    let mut line = |r: &FitReport, label: &str| {
        let f = &r.fitted;
        let _ = write!(
            s,
            "{:<40} {:>6}  {:<18} {:<18} ",
            label,
            f.points,
            estimate_text(&f.gamma, 4),
            estimate_text(&f.idle_w, 4)
        );
        if let Some(u) = &f.uncapped_w {
            let _ = write!(s, "{:<18} ", estimate_text(u, 4));
        }
        let lf = r.load_frac.as_ref().map_or_else(
            || "-".to_string(),
            |l| {
                format!(
                    "{} (draw at {} W: {:.0}% of it)",
                    estimate_text(&l.estimate, 3),
                    l.highest_limit_w,
                    l.at_highest_limit * 100.0
                )
            },
        );
        let _ = writeln!(
            s,
            "{:>7.4} {:>8.4} {:>7.4}  {lf}",
            f.rmse, f.max_error, f.r2
        );
    };
    for g in &c.groups {
        line(g, &g.name);
    }
    if let Some(p) = &c.pooled {
        line(p, &format!("pooled ({} groups)", c.groups.len()));
    }
    let _ = writeln!(
        s,
        "(± one standard error; rmse and max err in relative throughput, 1 = throughput at TDP; \
         `bound`: stopped on a bound, no error given)"
    );
    s
}

/// The held-out comparison as a table.
pub fn comparison_table(rows: &[HeldOut]) -> String {
    let mut s = String::new();
    let _ = writeln!(
        s,
        "held-out comparison (each point held out once, same folds per form; errors in relative throughput):"
    );
    let _ = writeln!(
        s,
        "{:<10} {:>6} {:>8} {:>8}   {:>11} {:>9} {:>9}   {:>12} {:>13}",
        "form",
        "points",
        "rmse",
        "max err",
        format!(
            "{:.0}-{:.0}% pts",
            PLANNING_BAND.0 * 100.0,
            PLANNING_BAND.1 * 100.0
        ),
        "rmse",
        "max err",
        "bias lowest",
        "bias highest"
    );
    for h in rows {
        let _ = writeln!(
            s,
            "{:<10} {:>6} {:>8.4} {:>8.4}   {:>11} {:>9.4} {:>9.4}   {:>+12.4} {:>+13.4}",
            h.form.name(),
            h.points,
            h.rmse,
            h.max_error,
            h.band_points,
            h.band_rmse,
            h.band_max_error,
            h.bias_lowest,
            h.bias_highest
        );
    }
    s
}

/// The held-out comparison as JSON.
pub fn comparison_json(rows: &[HeldOut]) -> Value {
    Value::Array(
        rows.iter()
            .map(|h| {
                json!({
                    "form": h.form.name(),
                    "points": h.points,
                    "rmse": h.rmse,
                    "max_error": h.max_error,
                    "band": [PLANNING_BAND.0, PLANNING_BAND.1],
                    "band_points": h.band_points,
                    "band_rmse": h.band_rmse,
                    "band_max_error": h.band_max_error,
                    "bias_lowest_limit": h.bias_lowest,
                    "bias_highest_limit": h.bias_highest,
                })
            })
            .collect(),
    )
}

fn fit_json(r: &FitReport) -> Value {
    let f = &r.fitted;
    json!({
        "name": r.name,
        "form": f.form.name(),
        "points": f.points,
        "params": f.params,
        "dvfs_exponent": estimate_json(&f.gamma),
        "idle_w": estimate_json(&f.idle_w),
        "uncapped_w": f.uncapped_w.as_ref().map(estimate_json),
        "rmse": f.rmse,
        "max_error": f.max_error,
        "r2": f.r2,
        "load_frac": r.load_frac.as_ref().map(|l| json!({
            "value": l.estimate.value,
            "se": l.estimate.se,
            "rmse_w": l.rmse_w,
            "draw_at_highest_limit_frac": l.at_highest_limit,
            "highest_limit_w": l.highest_limit_w,
        })),
        "groups": r.groups.iter().zip(&f.residuals).zip(&f.scales).map(|(((name, pts), res), a)| json!({
            "name": name,
            "scale": estimate_json(a),
            "points": pts.iter().zip(res).map(|(&(p, y), e)| json!({
                "limit_w": p, "relative_throughput": y, "residual": e
            })).collect::<Vec<_>>(),
        })).collect::<Vec<_>>(),
    })
}

/// The whole document.
pub fn json(c: &Calibration, snippets: &Snippets, comparison: Option<&[HeldOut]>) -> Value {
    json!({
        "schema": CALIBRATION_SCHEMA,
        "file": c.file,
        "tdp_w": c.tdp_w,
        "columns": {
            "limit": c.columns.limit,
            "rate": c.columns.rate,
            "rate_kind": match c.columns.rate_kind { RateKind::Throughput => "throughput", RateKind::Time => "time" },
            "power": c.columns.power,
            "group": c.columns.group,
        },
        "groups": c.groups.iter().map(fit_json).collect::<Vec<_>>(),
        "pooled": c.pooled.as_ref().map(fit_json),
        "skipped": c.skipped.iter().map(|e| e.to_string()).collect::<Vec<_>>(),
        "toml": { "point": snippets.point, "uncertain": snippets.uncertain },
        "comparison": comparison.map(comparison_json),
    })
}

/// TOML to paste into a scenario.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Snippets {
    /// `[accelerators.ID]` with the point estimates.
    pub point: String,
    /// `[accelerators.ID.uncertain]` with distributions from the standard errors.
    pub uncertain: String,
}

/// A distribution for a fitted value: `normal = [m, se]` (the spec truncates it to
/// m +/- 3 se), or, where that interval leaves the parameter's valid range `[lo, hi)`, a
/// triangular one clipped to the range.
fn distribution(name: &str, e: &Estimate, lo: f64, hi: f64, digits: i32) -> String {
    let Some(se) = e.se.filter(|se| *se > 0.0) else {
        return format!(
            "# {name}: not drawn (the fit gives no standard error: {})\n",
            if e.fixed {
                "held fixed"
            } else {
                "at a bound or not identified"
            }
        );
    };
    let m = significant(e.value, digits);
    let sd = significant(se, 2);
    if m - 3.0 * sd >= lo && m + 3.0 * sd < hi {
        format!("{name} = {{ normal = [{m}, {sd}] }}\n")
    } else {
        let a = significant((m - 3.0 * sd).max(lo), digits);
        // Below an exclusive upper bound by a small margin.
        let b = if m + 3.0 * sd < hi {
            significant(m + 3.0 * sd, digits)
        } else {
            significant(hi - (hi - m) * 0.01, digits).min(hi - f64::EPSILON * hi.abs())
        };
        format!(
            "{name} = {{ triangular = [{a}, {m}, {b}] }}   # normal = [{m}, {sd}] would leave the valid range\n"
        )
    }
}

/// The snippets for accelerator `id` from fit `r`; `min_power_w` (the accelerator's, when
/// known) bounds the drawn `idle_w`.
pub fn snippets(r: &FitReport, id: &str, min_power_w: Option<f64>) -> Snippets {
    let f = &r.fitted;
    let mut point = format!(
        "[accelerators.{id}]   # clustersweep calibrate: {} fit, {} points, rmse {:.4}\n",
        f.form.name(),
        f.points,
        f.rmse
    );
    let _ = writeln!(point, "dvfs_exponent = {}", significant(f.gamma.value, 4));
    let idle = significant(f.idle_w.value, 4);
    let idle_fits = min_power_w.is_none_or(|m| idle < m);
    match min_power_w {
        Some(m) if !idle_fits => {
            let _ = writeln!(
                point,
                "# idle_w = {idle}   (left out: not below {id}'s min_power_w {m} W; hold it with --idle-w)"
            );
        }
        _ => {
            let _ = writeln!(point, "idle_w = {idle}");
        }
    }
    if let Some(l) = &r.load_frac {
        let _ = writeln!(
            point,
            "load_frac = {}",
            significant(l.estimate.value.clamp(0.0, 1.0), 3)
        );
    }
    if let Some(u) = &f.uncapped_w {
        let _ = writeln!(
            point,
            "# uncapped_w = {}   (knee form; not a model parameter: see docs/calibration.md)",
            significant(u.value, 4)
        );
    }
    let mut uncertain = format!("[accelerators.{id}.uncertain]\n");
    uncertain.push_str(&distribution(
        "dvfs_exponent",
        &f.gamma,
        GAMMA_BOUNDS.0,
        GAMMA_BOUNDS.1 + f64::EPSILON,
        4,
    ));
    if idle_fits {
        uncertain.push_str(&distribution(
            "idle_w",
            &f.idle_w,
            0.0,
            min_power_w.unwrap_or(f64::INFINITY),
            4,
        ));
    } else {
        uncertain.push_str("# idle_w: not drawn (the fitted value is not below min_power_w)\n");
    }
    if let Some(l) = &r.load_frac {
        uncertain.push_str(&distribution("load_frac", &l.estimate, 0.0, 1.0 + 1e-12, 3));
    }
    Snippets { point, uncertain }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn significant_digits() {
        assert_eq!(significant(1.23456, 3), 1.23);
        assert_eq!(significant(61.349, 3), 61.3);
        assert_eq!(significant(0.0012345, 2), 0.0012);
        assert_eq!(significant(0.0, 3), 0.0);
    }

    fn est(value: f64, se: Option<f64>) -> Estimate {
        Estimate {
            value,
            se,
            at_bound: false,
            fixed: false,
        }
    }

    #[test]
    fn a_narrow_error_gives_a_normal_and_a_wide_one_a_clipped_triangle() {
        assert_eq!(
            distribution("dvfs_exponent", &est(1.5, Some(0.1)), 0.5, 10.0, 4),
            "dvfs_exponent = { normal = [1.5, 0.1] }\n"
        );
        let t = distribution("dvfs_exponent", &est(1.0, Some(0.3)), 0.5, 10.0, 4);
        assert!(
            t.starts_with("dvfs_exponent = { triangular = [0.5, 1, 1.9] }"),
            "{t}"
        );
        let none = distribution("idle_w", &est(10.0, None), 0.0, 100.0, 4);
        assert!(none.starts_with("# idle_w: not drawn"), "{none}");
    }
}
