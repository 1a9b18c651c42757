//! `report.html`: one self-contained page per sweep (no scripts, no network: styles inline
//! and plots as inline SVG) for planners: what to buy (the best configuration with every
//! parameter, where each value came from, and every metric), the leaders per group with
//! their feasible counts, the plots (with `--sensitivity` the tornado and a table of every
//! input; under uncertainty the best's objective over its draws), the statistics, every assumption (axes, fixed values, defaults with their
//! sources, constraints, the catalog figures of the accelerators in play with their
//! citations), and the backend and timing.

use super::plots::{short, Plot};
use crate::catalog::Catalog;
use crate::distribution::Distribution;
use crate::model::{Accelerator, Metric};
use crate::params::{Param, ParamDefault, ParamKind, PARAMS};
use crate::plan::SweepPlan;
use crate::scenario::{Scenario, Source};
use crate::sensitivity::{Sensitivity, Setting};
use crate::summary::{Reported, Summary};
use std::fmt::Write;

/// Text escaped for HTML.
pub fn esc(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// A number for the page: thousands separators up to 1e12, engineering suffixes beyond,
/// scientific for tiny values.
pub fn num(x: f64) -> String {
    if !x.is_finite() {
        return crate::format::fmt_num(x);
    }
    let a = x.abs();
    if a >= 1e12 || (a != 0.0 && a < 1e-3) {
        return if a >= 1e12 {
            short(x)
        } else {
            format!("{x:.3e}")
        };
    }
    let decimals = if a >= 1000.0 {
        0
    } else if a >= 10.0 {
        2
    } else {
        4
    };
    let s = format!("{:.*}", decimals, a);
    let (int, frac) = s.split_once('.').unwrap_or((&s, ""));
    let mut grouped = String::new();
    for (i, c) in int.chars().enumerate() {
        if i > 0 && (int.len() - i) % 3 == 0 {
            grouped.push(',');
        }
        grouped.push(c);
    }
    let frac = frac.trim_end_matches('0');
    let sign = if x < 0.0 { "-" } else { "" };
    if frac.is_empty() {
        format!("{sign}{grouped}")
    } else {
        format!("{sign}{grouped}.{frac}")
    }
}

const STYLE: &str = "body{font-family:'DejaVu Sans',Helvetica,Arial,sans-serif;margin:0 auto;max-width:1100px;padding:24px;color:#222;line-height:1.45}
h1{margin-bottom:4px}h2{border-bottom:2px solid #ddd;padding-bottom:4px;margin-top:36px}
table{border-collapse:collapse;margin:8px 0 16px;font-size:14px}th,td{border:1px solid #ddd;padding:4px 8px;text-align:left;vertical-align:top}
th{background:#f3f3f3}td.n{text-align:right;font-variant-numeric:tabular-nums;white-space:nowrap}
.verdict{background:#eef6ee;border:1px solid #9c9;padding:12px 16px;border-radius:6px;font-size:17px}
.notice{background:#fff6e0;border:1px solid #e0c060;padding:8px 12px;border-radius:6px}
figure{margin:16px 0 28px}figure svg{max-width:100%;height:auto;border:1px solid #eee}figcaption{font-size:14px;color:#444;max-width:960px}
.muted{color:#666;font-size:13px}nav a{margin-right:14px}";

/// The whole page.
pub fn report(
    plan: &SweepPlan,
    s: &Summary,
    plots: &[Plot],
    d: &Distribution,
    catalog: Option<&Catalog>,
    tornado: Option<&Sensitivity>,
) -> String {
    let sc = &plan.scenario;
    let mut h = String::new();
    let _ = write!(
        h,
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n<title>clustersweep: {}</title>\n<style>{STYLE}</style>\n</head>\n<body>\n",
        esc(&s.scenario_name)
    );
    let _ = write!(
        h,
        "<h1>{}</h1>\n<p class=\"muted\">Scenario file {} &middot; clustersweep {} &middot; {} configurations</p>\n<p>{}</p>\n",
        esc(&s.scenario_name),
        esc(&s.scenario_file),
        env!("CARGO_PKG_VERSION"),
        num(s.size as f64),
        esc(&s.description).replace("\n\n", "</p><p>")
    );
    h.push_str("<nav><a href=\"#best\">Best</a><a href=\"#groups\">Per group</a><a href=\"#plots\">Plots</a><a href=\"#stats\">Statistics</a><a href=\"#assumptions\">Assumptions</a><a href=\"#run\">Run</a></nav>\n");
    for n in &s.notices {
        let _ = writeln!(h, "<p class=\"notice\">Notice: {}</p>", esc(n));
    }

    // What to buy.
    h.push_str("<h2 id=\"best\">What to buy</h2>\n");
    let obj = s.objective;
    match &s.best {
        None => {
            let _ = writeln!(
                h,
                "<p class=\"verdict\">No configuration of the {} evaluated is feasible: every one is invalid ({}) or breaks a constraint. See the assumptions below.</p>",
                num(s.evaluated as f64),
                num(s.invalid as f64)
            );
        }
        Some(b) => {
            let axes: Vec<String> = sc
                .axes
                .iter()
                .filter_map(|a| b.params.iter().find(|(p, _)| *p == a.param))
                .map(|(p, v)| format!("{} = <b>{}</b>", p.name(), esc(&param_text(v))))
                .collect();
            let _ = writeln!(
                h,
                "<p class=\"verdict\">Best {} ({}): <b>{} {}</b> with {}.<br>Provisioned facility power {} MW, TCO ${}. Chosen among {} feasible configurations of {}.</p>",
                obj.metric.name(),
                obj.sense.name(),
                num(b.metric(obj.metric)),
                esc(obj.metric.unit()),
                axes.join(", "),
                num(b.metric(Metric::FacilityMw)),
                num(b.metric(Metric::TcoUsd)),
                num(s.feasible as f64),
                num(s.size as f64)
            );
            best_breakdown(&mut h, sc, b, catalog);
        }
    }

    // Leaders per group.
    h.push_str("<h2 id=\"groups\">Leaders per group</h2>\n");
    if s.group_by.is_empty() {
        h.push_str("<p>No groups (no <code>--group-by</code> axis).</p>\n");
    } else {
        let names: Vec<&str> = s.group_by.iter().map(|p| p.name()).collect();
        let _ = write!(h, "<table><tr>");
        for n in &names {
            let _ = write!(h, "<th>{}</th>", esc(n));
        }
        let cols = [obj.metric, Metric::FacilityMw, Metric::TcoUsd];
        for m in cols {
            let _ = write!(h, "<th>{}</th>", esc(&with_unit(m)));
        }
        let _ = writeln!(
            h,
            "<th>configuration</th><th>index</th><th>feasible configurations</th></tr>"
        );
        for g in &s.best_by {
            h.push_str("<tr>");
            for (_, v) in &g.group {
                let _ = write!(h, "<td>{}</td>", esc(&param_text(v)));
            }
            for m in cols {
                let _ = write!(h, "<td class=\"n\">{}</td>", num(g.best.metric(m)));
            }
            let axes: Vec<String> = sc
                .axes
                .iter()
                .filter(|a| !s.group_by.contains(&a.param))
                .filter_map(|a| g.best.params.iter().find(|(p, _)| *p == a.param))
                .map(|(p, v)| format!("{}={}", p.name(), param_text(v)))
                .collect();
            let _ = writeln!(
                h,
                "<td>{}</td><td class=\"n\">{}</td><td class=\"n\">{}</td></tr>",
                esc(&axes.join(", ")),
                g.best.index,
                num(g.feasible as f64)
            );
        }
        for group in &s.empty_groups {
            h.push_str("<tr>");
            for (_, v) in group {
                let _ = write!(h, "<td>{}</td>", esc(&param_text(v)));
            }
            let _ = writeln!(
                h,
                "<td colspan=\"{}\">nothing feasible</td><td class=\"n\">0</td></tr>",
                cols.len() + 2
            );
        }
        h.push_str("</table>\n");
    }

    // Plots.
    h.push_str("<h2 id=\"plots\">Plots</h2>\n");
    if plots.is_empty() {
        h.push_str("<p>Nothing feasible to plot.</p>\n");
    }
    for p in plots {
        let _ = writeln!(
            h,
            "<figure id=\"plot-{}\" class=\"plot\">\n<h3>{}</h3>\n{}\n<figcaption>{} Also written as {}.svg and {}.png.</figcaption>\n</figure>",
            p.stem,
            esc(&p.title),
            strip_xml_declaration(&p.svg),
            esc(&p.caption),
            p.stem,
            p.stem
        );
    }
    match tornado {
        Some(t) => sensitivity_table(&mut h, t),
        None => h.push_str(
            "<p class=\"muted\">Tornado (how far each input moves the best decision's objective, and where the decision changes): not made; run <code>sweep --sensitivity</code> to add it.</p>\n",
        ),
    }

    // Statistics.
    h.push_str("<h2 id=\"stats\">Statistics</h2>\n");
    let _ = writeln!(
        h,
        "<table><tr><th>configurations</th><th>evaluated</th><th>invalid</th><th>feasible</th></tr><tr><td class=\"n\">{}</td><td class=\"n\">{}</td><td class=\"n\">{}</td><td class=\"n\">{}</td></tr></table>",
        num(s.size as f64),
        num(s.evaluated as f64),
        num(s.invalid as f64),
        num(s.feasible as f64)
    );
    if !s.stats.is_empty() {
        h.push_str("<p>Over every feasible configuration (exact, from the sweep):</p>\n<table><tr><th>metric</th><th>unit</th><th>min</th><th>mean</th><th>max</th></tr>\n");
        for r in &s.stats {
            let _ = writeln!(
                h,
                "<tr><td>{}</td><td>{}</td><td class=\"n\">{}</td><td class=\"n\">{}</td><td class=\"n\">{}</td></tr>",
                r.metric.name(),
                esc(r.metric.unit()),
                num(r.min),
                num(r.mean),
                num(r.max)
            );
        }
        h.push_str("</table>\n");
    }
    if !d.values.is_empty() {
        let mut v = d.values.clone();
        v.sort_by(f64::total_cmp);
        let q = |p: f64| v[((v.len() - 1) as f64 * p).round() as usize];
        let _ = writeln!(
            h,
            "<p>{} over {} feasible configurations {}: 10th percentile {}, median {}, 90th percentile {} {}.</p>",
            obj.metric.name(),
            num(v.len() as f64),
            if d.exact {
                "(the whole grid)".to_string()
            } else {
                format!("in a uniform random sample of {} (fixed seed)", num(d.drawn as f64))
            },
            num(q(0.1)),
            num(q(0.5)),
            num(q(0.9)),
            esc(obj.metric.unit())
        );
    }

    assumptions(&mut h, plan, catalog);

    // Backend and timing.
    h.push_str("<h2 id=\"run\">Backend and timing</h2>\n<table>\n");
    let b = &s.backend;
    let rows = [
        ("backend", format!("{} ({})", b.name, b.kind)),
        ("API", b.api.clone().unwrap_or_else(|| "-".into())),
        (
            "device type",
            b.device_type.clone().unwrap_or_else(|| "-".into()),
        ),
        ("driver", b.driver.clone().unwrap_or_else(|| "-".into())),
        ("elapsed", format!("{:.3} s", s.elapsed_s)),
        (
            "rate",
            format!("{} configurations/s", num(s.configs_per_s.round())),
        ),
    ];
    for (k, v) in rows {
        let _ = writeln!(h, "<tr><th>{k}</th><td>{}</td></tr>", esc(&v));
    }
    h.push_str("</table>\n");
    if s.notices.is_empty() {
        h.push_str("<p class=\"muted\">No notices.</p>\n");
    }
    h.push_str("</body>\n</html>\n");
    h
}

fn param_text(v: &crate::summary::ParamValue) -> String {
    match v {
        crate::summary::ParamValue::Real(x) => num(*x),
        crate::summary::ParamValue::Int(i) => num(*i as f64),
        other => other.to_string(),
    }
}

fn with_unit(m: Metric) -> String {
    if m.unit().is_empty() {
        m.name().to_string()
    } else {
        format!("{} ({})", m.name(), m.unit())
    }
}

/// The citation of an accelerator's catalog figure.
fn citation(catalog: Option<&Catalog>, a: &Accelerator, field: &str) -> String {
    catalog
        .and_then(|c| c.sources.get(&a.id))
        .and_then(|f| f.get(field))
        .cloned()
        .unwrap_or_else(|| format!("{} (the entry's source)", a.source))
}

/// Where a parameter's value comes from, for accelerator `a`.
fn provenance(sc: &Scenario, p: Param, a: &Accelerator, catalog: Option<&Catalog>) -> String {
    let info = p.info();
    let default = || match info.default {
        ParamDefault::Value(_) => format!("spec default ({})", info.default_source),
        ParamDefault::FromAccelerator(f) => format!(
            "catalog figure {} of {}: {}",
            f.name(),
            a.id,
            citation(catalog, a, f.name())
        ),
        ParamDefault::Required => "required".into(),
        ParamDefault::Unset => "not set".into(),
    };
    match sc.sources[p.index()] {
        Source::Axis(k) => format!("axis ({} values)", sc.axes[k].values.len()),
        Source::Fixed(_) => "fixed in the scenario".into(),
        Source::FixedTimes(x) => format!("{x} times the {}", default()),
        Source::Default if a.param_values[p.index()].is_some() => {
            format!("the scenario's [accelerators.{}] value", a.id)
        }
        Source::Default => default(),
    }
}

fn best_breakdown(h: &mut String, sc: &Scenario, b: &Reported, catalog: Option<&Catalog>) {
    let (_, acc) = sc.resolve(&sc.values_at_index(b.index));
    let _ = writeln!(
        h,
        "<h3>The best configuration (index {}), every parameter</h3>\n<table><tr><th>parameter</th><th>value</th><th>unit</th><th>where the value comes from</th></tr>",
        b.index
    );
    for (p, v) in &b.params {
        let _ = writeln!(
            h,
            "<tr><td>{}</td><td class=\"n\">{}</td><td>{}</td><td>{}</td></tr>",
            p.name(),
            esc(&param_text(v)),
            esc(p.info().unit),
            esc(&provenance(sc, *p, acc, catalog))
        );
    }
    h.push_str("</table>\n<h3>Its metrics</h3>\n<table><tr><th>metric</th><th>value</th><th>unit</th></tr>\n");
    for (m, v) in &b.metrics {
        let _ = writeln!(
            h,
            "<tr><td>{}</td><td class=\"n\">{}</td><td>{}</td></tr>",
            m.name(),
            num(*v),
            esc(m.unit())
        );
    }
    h.push_str("</table>\n");
}

fn assumptions(h: &mut String, plan: &SweepPlan, catalog: Option<&Catalog>) {
    let sc = &plan.scenario;
    h.push_str("<h2 id=\"assumptions\">Assumptions</h2>\n");
    let _ = writeln!(
        h,
        "<p>Objective: {} {} ({}).</p>",
        sc.objective.sense.name(),
        sc.objective.metric.name(),
        esc(sc.objective.metric.unit())
    );
    let bounds = sc.constraints.bounds();
    if bounds.is_empty() {
        h.push_str("<p>No constraints.</p>\n");
    } else {
        h.push_str("<table><tr><th>constraint</th><th>bound</th><th>unit</th></tr>\n");
        for (m, v, upper) in bounds {
            let _ = writeln!(
                h,
                "<tr><td>{} {} </td><td class=\"n\">{}</td><td>{}</td></tr>",
                m.name(),
                if upper { "&le;" } else { "&ge;" },
                num(v),
                esc(m.unit())
            );
        }
        h.push_str("</table>\n");
    }
    if let Some(f) = sc.workload.train_flop {
        let _ = writeln!(h, "<p>Workload: a training run of {} FLOP.</p>", num(f));
    }
    if let Some(p) = sc.workload.model_params {
        let _ = writeln!(h, "<p>Model size: {} parameters.</p>", num(p));
    }
    h.push_str("<h3>Every parameter</h3>\n<table><tr><th>parameter</th><th>unit</th><th>values</th><th>source</th></tr>\n");
    for info in PARAMS {
        let p = info.param;
        let (values, source) = match sc.sources[p.index()] {
            Source::Axis(k) => {
                let a = &sc.axes[k];
                let text = if p.kind() == ParamKind::Categorical {
                    a.values
                        .iter()
                        .map(|&c| sc.label(p, c))
                        .collect::<Vec<_>>()
                        .join(", ")
                } else {
                    let lo = a.values.iter().copied().fold(f64::INFINITY, f64::min);
                    let hi = a.values.iter().copied().fold(f64::NEG_INFINITY, f64::max);
                    format!(
                        "{} values, {} to {}{}",
                        a.values.len(),
                        num(lo),
                        num(hi),
                        if crate::heatmap::is_log_spaced(&a.values, p.kind() == ParamKind::Integer)
                        {
                            " (log-spaced)"
                        } else {
                            ""
                        }
                    )
                };
                (
                    text,
                    if a.times {
                        "axis of multipliers".to_string()
                    } else {
                        "axis".to_string()
                    },
                )
            }
            Source::Fixed(x) => (
                if p.kind() == ParamKind::Categorical {
                    sc.label(p, x)
                } else {
                    num(x)
                },
                "fixed in the scenario".into(),
            ),
            Source::FixedTimes(x) => (format!("{x} x default"), "fixed multiplier".into()),
            Source::Default => match info.default {
                ParamDefault::Value(v) => (
                    if p.kind() == ParamKind::Categorical {
                        sc.label(p, v)
                    } else {
                        num(v)
                    },
                    format!("spec default ({})", info.default_source),
                ),
                ParamDefault::FromAccelerator(f) => (
                    format!("per accelerator: catalog {}", f.name()),
                    "catalog figure (table below)".into(),
                ),
                ParamDefault::Required => ("-".into(), "required".into()),
                ParamDefault::Unset => ("-".into(), "not set".into()),
            },
        };
        let _ = writeln!(
            h,
            "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
            p.name(),
            esc(info.unit),
            esc(&values),
            esc(&source)
        );
    }
    h.push_str("</table>\n");

    // The accelerators in play and their catalog figures with citations.
    let codes: Vec<usize> = match sc.sources[Param::Accelerator.index()] {
        Source::Axis(k) => sc.axes[k].values.iter().map(|&c| c as usize).collect(),
        Source::Fixed(c) => vec![c as usize],
        _ => (0..sc.accelerators.len()).collect(),
    };
    h.push_str("<h3>Accelerators in this sweep: catalog figures and their sources</h3>\n");
    for c in codes {
        let Some(a) = sc.accelerators.get(c) else {
            continue;
        };
        let _ = writeln!(
            h,
            "<h4>{} ({}, {})</h4>\n<table><tr><th>figure</th><th>value</th><th>source</th></tr>",
            esc(&a.id),
            esc(&a.name),
            esc(&a.vendor)
        );
        let mut row = |field: &str, value: String| {
            let _ = writeln!(
                h,
                "<tr><td>{}</td><td class=\"n\">{}</td><td>{}</td></tr>",
                field,
                esc(&value),
                esc(&citation(catalog, a, field))
            );
        };
        let peaks: Vec<String> = ["fp4", "fp8", "bf16"]
            .iter()
            .zip(a.peak_tflops)
            .filter_map(|(n, v)| v.map(|v| format!("{n} {}", num(v))))
            .collect();
        row("peak_tflops", peaks.join(", "));
        for (field, v) in [
            ("tdp_w", a.tdp_w),
            ("idle_w", a.idle_w),
            ("min_power_w", a.min_power_w),
            ("dvfs_exponent", a.dvfs_exponent),
            ("host_w", a.host_w),
            ("mtbf_hours", a.mtbf_hours),
            ("price_usd", a.price_usd),
            ("host_capex_usd", a.host_capex_usd),
            ("hbm_gb", a.hbm_gb),
        ] {
            row(field, num(v));
        }
        h.push_str("</table>\n");
    }
    let _ = writeln!(
        h,
        "<p class=\"muted\">Catalog: {}. Formulas: the model specification (docs/model.md).</p>",
        esc(catalog.map_or("as recorded in the scenario", |c| c.file.as_str()))
    );
}

/// Every input of the tornado: its settings, the base best decision's objective at each,
/// the swing and the break-evens (the plot draws the largest swings only).
fn sensitivity_table(h: &mut String, t: &Sensitivity) {
    use super::sensitivity::{decision_text, input_name, objective_text, with_factor};
    let obj = t.objective.metric;
    let _ = writeln!(
        h,
        "<h3 id=\"sensitivity\">Sensitivity: every input</h3>\n<p>Base best decision: {} (index {}), {} {} {} with every uncertain input at its median; {} grid sweeps on {} in {:.2} s.</p>",
        esc(&decision_text(Some(&t.decision))),
        t.decision.index,
        obj.name(),
        num(t.best.metric(obj)),
        esc(obj.unit()),
        t.sweeps,
        esc(&t.backend.name),
        t.elapsed_s
    );
    let _ = writeln!(
        h,
        "<table><tr><th>input</th><th>setting</th><th>low</th><th>high</th><th>{} at low &rarr; high (or at each alternative)</th><th>swing</th><th>break-even</th></tr>",
        esc(obj.name())
    );
    for r in &t.rows {
        let (setting, low, high, objectives) = match r.setting {
            Setting::Alternatives => (
                "alternatives",
                String::new(),
                String::new(),
                r.ends
                    .iter()
                    .map(|e| format!("{}: {}", e.value, objective_text(e)))
                    .collect::<Vec<_>>()
                    .join(", "),
            ),
            s => (
                if s == Setting::Uncertain {
                    "p10 / p90"
                } else {
                    "0.9x / 1.1x"
                },
                with_factor(&r.ends[0].value, r.ends[0].factor),
                with_factor(&r.ends[1].value, r.ends[1].factor),
                format!(
                    "{} &rarr; {}",
                    esc(&objective_text(&r.ends[0])),
                    esc(&objective_text(&r.ends[1]))
                ),
            ),
        };
        let objectives = if r.setting == Setting::Alternatives {
            esc(&objectives)
        } else {
            objectives
        };
        let breaks = if r.break_even.is_empty() {
            "none in the range".to_string()
        } else {
            r.break_even
                .iter()
                .map(|b| {
                    esc(&format!(
                        "{} (the base holds at {}): {}",
                        with_factor(&b.value, b.factor),
                        with_factor(&b.holds, b.holds_factor),
                        decision_text(b.takes_over.as_ref())
                    ))
                })
                .collect::<Vec<_>>()
                .join("<br>")
        };
        let _ = writeln!(
            h,
            "<tr><td>{}{}</td><td>{setting}</td><td class=\"n\">{}</td><td class=\"n\">{}</td><td>{objectives}</td><td class=\"n\">{}</td><td>{breaks}</td></tr>",
            esc(&input_name(r)),
            r.distribution
                .as_ref()
                .map_or(String::new(), |d| format!("<br><span class=\"muted\">{}</span>", esc(d))),
            esc(&low),
            esc(&high),
            num(r.swing)
        );
    }
    h.push_str("</table>\n");
}

/// The report's files for `--out`: each plot as `<stem>.svg` and `<stem>.png`, then
/// `report.html` (names and contents, for writing as one set).
pub fn report_files(
    plan: &SweepPlan,
    s: &Summary,
    catalog: Option<&Catalog>,
    tornado: Option<&Sensitivity>,
) -> Result<Vec<(String, Vec<u8>)>, super::plots::PlotError> {
    let d = crate::distribution::sample(plan, crate::distribution::SAMPLE);
    let mut plots = super::plots::plots(plan, s, &d)?;
    plots.extend(super::uncertainty_plots::draws(s)?);
    if let Some(t) = tornado {
        plots.extend(super::uncertainty_plots::tornado(t)?);
    }
    let mut files = Vec::new();
    for p in &plots {
        files.push((format!("{}.svg", p.stem), p.svg.clone().into_bytes()));
        files.push((format!("{}.png", p.stem), p.png.clone()));
    }
    files.push((
        "report.html".into(),
        report(plan, s, &plots, &d, catalog, tornado).into_bytes(),
    ));
    Ok(files)
}

/// An SVG document without its XML declaration, for inlining in HTML.
fn strip_xml_declaration(svg: &str) -> &str {
    match svg.strip_prefix("<?xml") {
        Some(rest) => rest.split_once("?>").map_or(svg, |(_, r)| r.trim_start()),
        None => svg,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_have_thousands_separators_and_suffixes_past_a_trillion() {
        assert_eq!(num(37_999_952_550.0), "37,999,952,550");
        assert_eq!(num(38e9), "38,000,000,000");
        assert_eq!(num(1.23e12), "1.23T");
        assert_eq!(num(0.4), "0.4");
        assert_eq!(num(-1234.6), "-1,235");
        assert_eq!(num(12.345), "12.35");
        assert_eq!(num(0.0), "0");
    }

    #[test]
    fn html_is_escaped() {
        assert_eq!(esc("a<b & \"c\""), "a&lt;b &amp; &quot;c&quot;");
    }
}
