//! Human-readable output: the sweep summary (scenario, grid, backend, speed, counts, best
//! configuration, leaders per group, a Pareto preview) and the `eval` listing. Numbers
//! follow [`crate::format`]'s one rule for money, counts and quantities.

use crate::format::{fmt_count, fmt_num, fmt_value, printable_name, COUNT_UNITS};
use crate::model::{Metric, HOME_KWH_PER_YEAR};
use crate::params::Param;
use crate::summary::{ParamValue, Reported, Summary};
use std::fmt::Write;

/// Width the scenario description is wrapped to.
const WRAP_COLUMNS: usize = 88;

/// A parameter's value with its unit, for people (a name with every control character
/// escaped, line feeds included, so that it stays on its line).
pub fn param_text(p: Param, v: &ParamValue) -> String {
    let unit = p.info().unit;
    match v {
        ParamValue::Text(t) if unit.is_empty() => printable_name(t).into_owned(),
        ParamValue::Text(t) => format!("{} {unit}", printable_name(t)),
        ParamValue::Int(i) => fmt_value(*i as f64, unit),
        ParamValue::Real(x) => fmt_value(*x, unit),
    }
}

/// A parameter's value without its unit (money keeps `$`), for compact lines (names
/// escaped as in [`param_text`]).
pub fn param_short(p: Param, v: &ParamValue) -> String {
    match v {
        ParamValue::Text(t) => printable_name(t).into_owned(),
        ParamValue::Int(i) => short(*i as f64, p.info().unit),
        ParamValue::Real(x) => short(*x, p.info().unit),
    }
}

/// A value without its unit: money as `$…` (with its `/unit`), counts and quantities bare.
pub fn short(x: f64, unit: &str) -> String {
    if unit.starts_with('$') {
        fmt_value(x, unit)
    } else if COUNT_UNITS.contains(&unit) {
        fmt_count(x)
    } else {
        fmt_num(x)
    }
}

/// What `homes` means, written next to the figure.
pub fn homes_meaning() -> String {
    format!(
        "(the average facility draw over a year, in homes using {} kWh a year each: EIA)",
        fmt_num(HOME_KWH_PER_YEAR)
    )
}

/// A metric's value with its unit, for people (`homes` says what it counts).
pub fn metric_text(m: Metric, v: f64) -> String {
    let text = fmt_value(v, m.unit());
    if m == Metric::Homes {
        format!("{text} {}", homes_meaning())
    } else {
        text
    }
}

/// Every parameter and metric of one configuration, one per line with units.
pub fn configuration(r: &Reported, indent: &str) -> String {
    let mut out = String::new();
    for (p, v) in &r.params {
        let _ = writeln!(out, "{indent}{:<26}{}", p.name(), param_text(*p, v));
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
            let _ = writeln!(out, "{indent}{:<26}{}", m.name(), metric_text(*m, *v));
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
            "{indent}{:<26}{}   (mean; p10 {}, p90 {}, sd {})",
            m.name(),
            fmt_value(sp.mean, m.unit()),
            short(sp.p10, m.unit()),
            short(sp.p90, m.unit()),
            short(sp.sd, m.unit())
        );
    }
    out
}

/// The `eval` output.
pub fn eval(scenario: &str, r: &Reported) -> String {
    let mut out = format!("scenario: {}\n", crate::format::printable_name(scenario));
    let _ = writeln!(out, "valid: {}   feasible: {}", r.valid, r.feasible);
    for why in &r.reasons {
        let _ = writeln!(out, "  because {why}");
    }
    let _ = writeln!(out, "parameters:");
    for (p, v) in &r.params {
        let _ = writeln!(out, "  {:<26}{}", p.name(), param_text(*p, v));
    }
    let _ = writeln!(out, "metrics:");
    out.push_str(&metric_lines(r, "  "));
    out
}

/// A scenario's description, whole, wrapped to [`WRAP_COLUMNS`] with every line indented
/// (paragraphs kept).
pub fn wrapped(text: &str, indent: &str) -> String {
    let options = textwrap::Options::new(WRAP_COLUMNS)
        .initial_indent(indent)
        .subsequent_indent(indent);
    let mut out = String::new();
    for paragraph in text.trim().split("\n\n") {
        if !out.is_empty() {
            out.push_str(indent.trim_end());
            out.push('\n');
        }
        let joined = paragraph.split_whitespace().collect::<Vec<_>>().join(" ");
        for line in textwrap::wrap(&joined, &options) {
            out.push_str(&line);
            out.push('\n');
        }
    }
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

/// The metrics a one-line view of a configuration shows: the objective first, then the
/// key ones (throughput, power, cost, goodput, efficiency) that `r` has.
pub fn key_metrics(r: &Reported, objective: Metric) -> Vec<Metric> {
    let mut ms: Vec<Metric> = vec![objective];
    ms.extend(KEY_METRICS.iter().filter(|m| **m != objective));
    ms.retain(|m| r.metrics.iter().any(|(k, _)| k == m));
    ms
}

fn key_line(r: &Reported, objective: Metric) -> String {
    key_metrics(r, objective)
        .iter()
        .map(|m| format!("{}={}", m.name(), short(r.metric(*m), m.unit())))
        .collect::<Vec<_>>()
        .join("  ")
}

/// The axis parameters of `r` as `name=value`, space-separated.
pub fn axis_params(s: &Summary, r: &Reported) -> String {
    r.params
        .iter()
        .filter(|(p, _)| s.axes.iter().any(|(a, _)| a == p))
        .map(|(p, v)| format!("{}={}", p.name(), param_short(*p, v)))
        .collect::<Vec<_>>()
        .join(" ")
}

/// `183,600,000 configurations = accelerator[2] x gpu_count[1000] x ...`, each axis name
/// between `quote`s, joined by `times`.
pub fn grid_text(s: &Summary, quote: &str, times: &str) -> String {
    let axes: Vec<String> = s
        .axes
        .iter()
        .map(|(p, n)| format!("{quote}{}{quote}[{n}]", p.name()))
        .collect();
    format!(
        "{} configurations = {}",
        fmt_count(s.size as f64),
        if axes.is_empty() {
            "1".into()
        } else {
            axes.join(times)
        }
    )
}

/// The sweep summary for people.
pub fn summary(s: &Summary) -> String {
    let mut o = String::new();
    let _ = writeln!(
        o,
        "scenario   {} ({})",
        crate::format::printable_name(&s.scenario_name),
        crate::format::printable_name(&s.scenario_file)
    );
    if !s.description.trim().is_empty() {
        o.push_str(&wrapped(&s.description, "           "));
    }
    let _ = writeln!(o, "grid       {}", grid_text(s, "", " x "));
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
        fmt_count(s.configs_per_s)
    );
    let _ = writeln!(
        o,
        "counts     evaluated {}, invalid {}, feasible {}",
        fmt_count(s.evaluated as f64),
        fmt_count(s.invalid as f64),
        fmt_count(s.feasible as f64)
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
    if !s.best_by.is_empty() || !s.empty_groups.is_empty() {
        let names: Vec<&str> = s.group_by.iter().map(|p| p.name()).collect();
        let _ = writeln!(o, "\nleaders by {}", names.join(", "));
        for g in &s.best_by {
            let label: Vec<String> = g.group.iter().map(|(p, v)| param_short(*p, v)).collect();
            let _ = writeln!(
                o,
                "  {:<16} #{:<12} {}",
                label.join("/"),
                g.best.index,
                key_line(&g.best, s.objective.metric)
            );
            let _ = writeln!(
                o,
                "  {:<16}  {}; {} feasible configurations",
                "",
                axis_params(s, &g.best),
                fmt_count(g.feasible as f64)
            );
        }
        for group in &s.empty_groups {
            let label: Vec<String> = group.iter().map(|(p, v)| param_short(*p, v)).collect();
            let _ = writeln!(
                o,
                "  {:<16} nothing feasible (0 configurations)",
                label.join("/")
            );
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
                short(p.metric(s.objective.metric), s.objective.metric.unit()),
                p.index
            );
        }
    }
    o
}
