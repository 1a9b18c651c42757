//! Human-readable output: the sweep summary (scenario, grid, backend, speed, counts, best
//! configuration, leaders per group, a Pareto preview) and the `eval` listing.

use crate::format::fmt_num;
use crate::model::Metric;
use crate::params::Param;
use crate::summary::{Reported, Summary};
use std::fmt::Write;

fn unit_of_param(p: Param) -> &'static str {
    p.info().unit
}

/// Every parameter and metric of one configuration, one per line with units.
pub fn configuration(r: &Reported, indent: &str) -> String {
    let mut out = String::new();
    for (p, v) in &r.params {
        let unit = unit_of_param(*p);
        let _ = writeln!(out, "{indent}{:<26}{} {}", p.name(), v, unit);
    }
    out.push_str(&metric_lines(r, indent));
    out
}

/// One line per metric: the value, or under uncertainty the mean with its p10..p90 and
/// sd over the draws, after a line with the draws' counts.
fn metric_lines(r: &Reported, indent: &str) -> String {
    let mut out = String::new();
    let Some(d) = &r.spread else {
        for (m, v) in &r.metrics {
            let _ = writeln!(out, "{indent}{:<26}{} {}", m.name(), fmt_num(*v), m.unit());
        }
        return out;
    };
    let _ = writeln!(
        out,
        "{indent}{:<26}{} of {} draws feasible (p_feasible {}), {} valid; objective statistic {}",
        "draws",
        d.feasible,
        d.samples,
        fmt_num(d.p_feasible),
        d.valid,
        fmt_num(d.statistic)
    );
    for (m, sp) in &d.metrics {
        let _ = writeln!(
            out,
            "{indent}{:<26}{} {}   (mean; p10 {}, p90 {}, sd {})",
            m.name(),
            fmt_num(sp.mean),
            m.unit(),
            fmt_num(sp.p10),
            fmt_num(sp.p90),
            fmt_num(sp.sd)
        );
    }
    out
}

/// The `eval` output.
pub fn eval(scenario: &str, r: &Reported) -> String {
    let mut out = format!("scenario: {scenario}\n");
    let _ = writeln!(out, "valid: {}   feasible: {}", r.valid, r.feasible);
    for why in &r.reasons {
        let _ = writeln!(out, "  because {why}");
    }
    let _ = writeln!(out, "parameters:");
    for (p, v) in &r.params {
        let _ = writeln!(out, "  {:<26}{} {}", p.name(), v, unit_of_param(*p));
    }
    let _ = writeln!(out, "metrics:");
    out.push_str(&metric_lines(r, "  "));
    out
}

const KEY_METRICS: [Metric; 6] = [
    Metric::ThroughputPflops,
    Metric::FacilityMw,
    Metric::TcoUsd,
    Metric::UsdPerEflop,
    Metric::Goodput,
    Metric::GflopsPerW,
];

fn key_line(r: &Reported, objective: Metric) -> String {
    let mut ms: Vec<Metric> = vec![objective];
    ms.extend(KEY_METRICS.iter().filter(|m| **m != objective));
    ms.iter()
        .filter(|m| r.metrics.iter().any(|(k, _)| k == *m))
        .map(|m| format!("{}={}", m.name(), fmt_num(r.metric(*m))))
        .collect::<Vec<_>>()
        .join("  ")
}

fn axis_params(s: &Summary, r: &Reported) -> String {
    r.params
        .iter()
        .filter(|(p, _)| s.axes.iter().any(|(a, _)| a == p))
        .map(|(p, v)| format!("{}={}", p.name(), v))
        .collect::<Vec<_>>()
        .join(" ")
}

/// The sweep summary for people.
pub fn summary(s: &Summary) -> String {
    let mut o = String::new();
    let _ = writeln!(o, "scenario   {} ({})", s.scenario_name, s.scenario_file);
    if !s.description.is_empty() {
        let _ = writeln!(
            o,
            "           {}",
            s.description.lines().next().unwrap_or("")
        );
    }
    let axes: Vec<String> = s
        .axes
        .iter()
        .map(|(p, n)| format!("{}[{}]", p.name(), n))
        .collect();
    let _ = writeln!(
        o,
        "grid       {} configurations = {}",
        s.size,
        if axes.is_empty() {
            "1".into()
        } else {
            axes.join(" x ")
        }
    );
    let _ = writeln!(
        o,
        "backend    {}: {}{}",
        s.backend.kind,
        s.backend.name,
        s.backend
            .api
            .as_ref()
            .map(|a| format!(" ({a})"))
            .unwrap_or_default()
    );
    let _ = writeln!(
        o,
        "time       {:.3} s, {} configurations/s",
        s.elapsed_s,
        fmt_num(s.configs_per_s.round())
    );
    let _ = writeln!(
        o,
        "counts     evaluated {}, invalid {}, feasible {}",
        s.evaluated, s.invalid, s.feasible
    );
    let _ = writeln!(
        o,
        "objective  {} {}",
        s.objective.sense.name(),
        s.objective.metric.name()
    );
    if let Some(u) = &s.uncertainty {
        let _ = writeln!(
            o,
            "uncertain  {} draws per configuration (seed {}, {} evaluations/s); objective statistic {}, feasible when p_feasible >= {}",
            u.samples,
            u.seed,
            fmt_num((s.configs_per_s * u.samples as f64).round()),
            u.statistic,
            u.confidence
        );
        for (key, d) in &u.inputs {
            let _ = writeln!(o, "           {key} = {{ {d} }}");
        }
    }
    for n in &s.notices {
        let _ = writeln!(o, "notice     {n}");
    }
    match &s.best {
        None => {
            let _ = writeln!(o, "\nno feasible configuration");
        }
        Some(b) => {
            let _ = writeln!(o, "\nbest configuration (index {})", b.index);
            o.push_str(&configuration(b, "  "));
        }
    }
    if !s.best_by.is_empty() {
        let names: Vec<&str> = s.best_by[0].group.iter().map(|(p, _)| p.name()).collect();
        let _ = writeln!(o, "\nleaders by {}", names.join(", "));
        for g in &s.best_by {
            let label: Vec<String> = g.group.iter().map(|(_, v)| v.to_string()).collect();
            let _ = writeln!(
                o,
                "  {:<16} #{:<12} {}",
                label.join("/"),
                g.best.index,
                key_line(&g.best, s.objective.metric)
            );
            let _ = writeln!(o, "  {:<16}  {}", "", axis_params(s, &g.best));
        }
    }
    if !s.pareto.is_empty() {
        let _ = writeln!(
            o,
            "\npareto frontier: {} vs facility_mw ({} points{})",
            s.objective.metric.name(),
            s.pareto.len(),
            if s.pareto.len() > 8 { ", 8 shown" } else { "" }
        );
        let n = s.pareto.len();
        let picks: Vec<usize> = if n <= 8 {
            (0..n).collect()
        } else {
            (0..8).map(|i| i * (n - 1) / 7).collect()
        };
        for i in picks {
            let p = &s.pareto[i];
            let _ = writeln!(
                o,
                "  facility_mw={:<12} {}={:<14} #{}",
                fmt_num(p.metric(Metric::FacilityMw)),
                s.objective.metric.name(),
                fmt_num(p.metric(s.objective.metric)),
                p.index
            );
        }
    }
    o
}
