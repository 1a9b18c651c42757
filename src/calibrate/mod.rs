//! Calibration of the power model from measurements (`clustersweep calibrate`): reads power
//! limit / throughput / average power rows ([`read`]), fits `dvfs_exponent` and `idle_w` of
//! the clock factor by bounded Levenberg-Marquardt ([`fit`]) per workload and pooled, the
//! `load_frac` that the measured average draws imply, compares clock-factor forms on held-out
//! points ([`holdout`]), and renders the results as text, JSON, TOML snippets for a scenario
//! ([`render`]) and an SVG plot ([`plot`]).

pub mod fit;
pub mod holdout;
pub mod plot;
pub mod read;
pub mod render;

pub use fit::{ClockForm, Estimate, FitSpec, Fitted};
pub use read::{ColumnChoice, Measurements, Point};

/// Why a calibration could not be made; every variant names the file, and a bad cell also
/// its line and column.
#[derive(Clone, Debug, PartialEq, thiserror::Error)]
pub enum CalibrateError {
    #[error("{file}: cannot read: {reason}")]
    Read { file: String, reason: String },
    #[error("{file}{}: not a CSV table: {reason}", line.map(|l| format!(":{l}")).unwrap_or_default())]
    Csv {
        file: String,
        line: Option<u64>,
        reason: String,
    },
    #[error("{file}: no measurements (a header line and at least one row are needed)")]
    Empty { file: String },
    #[error("{file}: no {role} column ({hint}); the columns are: {have}")]
    MissingColumn {
        file: String,
        role: String,
        hint: String,
        have: String,
    },
    #[error("{file}:{line}:{column_number}: column `{column}`: `{value}`: {why}")]
    Cell {
        file: String,
        line: u64,
        column: String,
        column_number: usize,
        value: String,
        why: String,
    },
    #[error("{file}:{line}: power limit {limit_w} W is above --tdp-w {tdp_w} W")]
    LimitAboveTdp {
        file: String,
        line: u64,
        limit_w: f64,
        tdp_w: f64,
    },
    #[error("{file}: {group}: {points} points, need at least {needed} to fit {params} parameters and estimate their errors")]
    TooFewPoints {
        file: String,
        group: String,
        points: usize,
        params: usize,
        needed: usize,
    },
    #[error("{file}: {group}: every row has the same power limit ({limit_w} W); a fit needs at least two")]
    SingleLimit {
        file: String,
        group: String,
        limit_w: f64,
    },
    #[error("{file}: --idle-w {idle_w} W must be at least 0 and below the lowest power limit, {min_limit_w} W")]
    IdleAboveLimits {
        file: String,
        idle_w: f64,
        min_limit_w: f64,
    },
    #[error("{0}")]
    Options(String),
    #[error("{file}: {group}: the fit failed: {reason}")]
    Fit {
        file: String,
        group: String,
        reason: String,
    },
    #[error("{file}: cannot draw the plot: {reason}")]
    Plot { file: String, reason: String },
}

/// What to fit.
#[derive(Clone, Copy, Debug)]
pub struct CalibrateOptions {
    /// The accelerator's TDP (W): the highest limit, where the clock factor is 1.
    pub tdp_w: f64,
    pub form: ClockForm,
    /// Hold `idle_w` fixed instead of fitting it.
    pub idle_w: Option<f64>,
}

/// `load_frac` implied by the measured average draws: `draw = idle + (P - idle) * load_frac`
/// fitted by least squares with the fit's `idle_w`.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct LoadFrac {
    pub estimate: Estimate,
    /// RMS error of the modelled draw, W.
    pub rmse_w: f64,
    /// Mean measured draw at the highest limit divided by that limit.
    pub at_highest_limit: f64,
    pub highest_limit_w: f64,
}

/// One fit (a group's or the pooled one) with what it was fitted to.
#[derive(Clone, Debug)]
pub struct FitReport {
    /// The group's name (`all` for the pooled fit).
    pub name: String,
    /// The groups in the fit, with their points: (limit W, relative throughput measured).
    pub groups: Vec<(String, Vec<(f64, f64)>)>,
    pub fitted: Fitted,
    pub load_frac: Option<LoadFrac>,
}

/// Everything `calibrate` found.
#[derive(Clone, Debug)]
pub struct Calibration {
    pub file: String,
    pub tdp_w: f64,
    pub columns: read::ColumnsUsed,
    /// One fit per group (one in all when there are no groups).
    pub groups: Vec<FitReport>,
    /// Shared `dvfs_exponent` and `idle_w` over every group (each keeps its own scale);
    /// only when more than one group was fitted.
    pub pooled: Option<FitReport>,
    /// Groups left out (too few points or a single limit), with the reason.
    pub skipped: Vec<CalibrateError>,
}

impl Calibration {
    /// The fit that the snippets report: pooled when there are groups, else the only one.
    pub fn headline(&self) -> &FitReport {
        self.pooled.as_ref().unwrap_or(&self.groups[0])
    }
}

/// The data of a set of groups, prepared for the fitter: throughput relative to each group's
/// mean throughput at its highest limit.
pub fn prepare(groups: &[(String, Vec<&Point>)]) -> Vec<(String, fit::GroupData)> {
    groups
        .iter()
        .map(|(name, pts)| {
            let top = pts.iter().map(|p| p.limit_w).fold(0.0, f64::max);
            let at_top: Vec<f64> = pts
                .iter()
                .filter(|p| p.limit_w == top)
                .map(|p| p.throughput)
                .collect();
            let norm = at_top.iter().sum::<f64>() / at_top.len() as f64;
            (
                name.clone(),
                fit::GroupData {
                    limits: pts.iter().map(|p| p.limit_w).collect(),
                    y: pts.iter().map(|p| p.throughput / norm).collect(),
                },
            )
        })
        .collect()
}

/// Check `m` against the options and fit each group and (with more than one group) all of
/// them pooled.
pub fn calibrate(m: &Measurements, opts: &CalibrateOptions) -> Result<Calibration, CalibrateError> {
    if !(opts.tdp_w.is_finite() && opts.tdp_w > 0.0) {
        return Err(CalibrateError::Options(format!(
            "--tdp-w: {} is not a positive number of watts",
            opts.tdp_w
        )));
    }
    for p in &m.points {
        if p.limit_w > opts.tdp_w * (1.0 + 1e-9) {
            return Err(CalibrateError::LimitAboveTdp {
                file: m.file.clone(),
                line: p.line,
                limit_w: p.limit_w,
                tdp_w: opts.tdp_w,
            });
        }
    }
    let min_limit = m
        .points
        .iter()
        .map(|p| p.limit_w)
        .fold(f64::INFINITY, f64::min);
    if let Some(idle) = opts.idle_w {
        if !(idle >= 0.0 && idle < min_limit) {
            return Err(CalibrateError::IdleAboveLimits {
                file: m.file.clone(),
                idle_w: idle,
                min_limit_w: min_limit,
            });
        }
    }
    let spec = FitSpec {
        form: opts.form,
        tdp_w: opts.tdp_w,
        idle_w: opts.idle_w,
    };
    let groups = m.groups();
    let mut reports = Vec::new();
    let mut fitted_groups = Vec::new();
    let mut skipped = Vec::new();
    for g in &groups {
        let one = std::slice::from_ref(g);
        match fit_groups(&m.file, &g.0, one, spec) {
            Ok(r) => {
                reports.push(r);
                fitted_groups.push(g.clone());
            }
            // With several groups, one that cannot be fitted is left out (and said so).
            Err(e @ (CalibrateError::TooFewPoints { .. } | CalibrateError::SingleLimit { .. }))
                if groups.len() > 1 =>
            {
                skipped.push(e)
            }
            Err(e) => return Err(e),
        }
    }
    if reports.is_empty() {
        return Err(skipped.remove(0));
    }
    let pooled = if fitted_groups.len() > 1 {
        Some(fit_groups(&m.file, "all", &fitted_groups, spec)?)
    } else {
        None
    };
    Ok(Calibration {
        file: m.file.clone(),
        tdp_w: opts.tdp_w,
        columns: m.columns.clone(),
        groups: reports,
        pooled,
        skipped,
    })
}

/// Check the counts and fit `groups` together.
pub fn fit_groups(
    file: &str,
    name: &str,
    groups: &[(String, Vec<&Point>)],
    spec: FitSpec,
) -> Result<FitReport, CalibrateError> {
    let points: Vec<&Point> = groups.iter().flat_map(|(_, v)| v.iter().copied()).collect();
    for (g, pts) in groups {
        let first = pts[0].limit_w;
        if pts.iter().all(|p| p.limit_w == first) {
            return Err(CalibrateError::SingleLimit {
                file: file.into(),
                group: group_label(g),
                limit_w: first,
            });
        }
    }
    let params = fit::parameter_count(&spec, groups.len());
    if points.len() <= params {
        return Err(CalibrateError::TooFewPoints {
            file: file.into(),
            group: group_label(name),
            points: points.len(),
            params,
            needed: params + 1,
        });
    }
    let data = prepare(groups);
    let fit_data: Vec<fit::GroupData> = data.iter().map(|(_, d)| d.clone()).collect();
    let fitted = fit::fit(spec, &fit_data).map_err(|e| CalibrateError::Fit {
        file: file.into(),
        group: group_label(name),
        reason: e.to_string(),
    })?;
    let load_frac = load_frac(&points, fitted.idle_w.value);
    Ok(FitReport {
        name: group_label(name),
        groups: data
            .into_iter()
            .zip(&fitted.scales)
            .map(|((n, d), a)| {
                let rel = d.limits.iter().zip(&d.y).map(|(&p, &y)| (p, y / a.value));
                (group_label(&n), rel.collect())
            })
            .collect(),
        fitted,
        load_frac,
    })
}

fn group_label(g: &str) -> String {
    if g.is_empty() {
        "all".into()
    } else {
        g.into()
    }
}

/// Least-squares `load_frac` through the fitted idle point, when every point has a power.
fn load_frac(points: &[&Point], idle: f64) -> Option<LoadFrac> {
    let pw: Vec<(f64, f64)> = points
        .iter()
        .map(|p| p.power_w.map(|d| (p.limit_w - idle, d - idle)))
        .collect::<Option<_>>()?;
    let sxx: f64 = pw.iter().map(|(x, _)| x * x).sum();
    let sxy: f64 = pw.iter().map(|(x, y)| x * y).sum();
    if sxx <= 0.0 {
        return None;
    }
    let l = sxy / sxx;
    let ssr: f64 = pw.iter().map(|(x, y)| (y - l * x).powi(2)).sum();
    let n = pw.len();
    let se = (n > 1).then(|| (ssr / (n - 1) as f64 / sxx).sqrt());
    let highest = points.iter().map(|p| p.limit_w).fold(0.0, f64::max);
    let at_top: Vec<f64> = points
        .iter()
        .filter(|p| p.limit_w == highest)
        .filter_map(|p| p.power_w)
        .collect();
    Some(LoadFrac {
        estimate: Estimate {
            value: l,
            se,
            at_bound: false,
            fixed: false,
        },
        rmse_w: (ssr / n as f64).sqrt(),
        at_highest_limit: at_top.iter().sum::<f64>() / at_top.len() as f64 / highest,
        highest_limit_w: highest,
    })
}
