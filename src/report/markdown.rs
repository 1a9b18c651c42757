//! The sweep summary as GitHub-flavoured markdown (`sweep`/`merge --format markdown`), for CI job
//! summaries and pull-request comments: the run, the best configuration (every parameter
//! and metric with units), the leaders per group (every group, those with nothing feasible
//! too), the Pareto frontier and the statistics. Numbers follow [`crate::format`] like the
//! table does.

use super::table::{axis_params, grid_text, key_metrics, metric_text, param_text, short};
use crate::format::fmt_count;
use crate::summary::{Reported, Summary};
use std::fmt::Write;

/// Text safe inside a table cell (pipes escaped, no line breaks).
pub(super) fn cell(text: &str) -> String {
    text.split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
        .replace('|', "\\|")
}

/// A group's axis values, one cell each.
fn group_cells(group: &[(crate::params::Param, crate::summary::ParamValue)]) -> Vec<String> {
    group
        .iter()
        .map(|(p, v)| cell(&super::table::param_short(*p, v)))
        .collect()
}

/// `` `name` (unit) ``, or `` `name` `` for a ratio.
fn titled(name: &str, unit: &str) -> String {
    if unit.is_empty() {
        format!("`{name}`")
    } else {
        format!("`{name}` ({unit})")
    }
}

fn row(o: &mut String, cells: &[String]) {
    let _ = writeln!(o, "| {} |", cells.join(" | "));
}

fn head(o: &mut String, names: &[&str]) {
    row(o, &names.iter().map(|n| n.to_string()).collect::<Vec<_>>());
    let _ = writeln!(o, "|{}", "---|".repeat(names.len()));
}

/// Every parameter and metric of one configuration, as a two-column table.
fn configuration(o: &mut String, r: &Reported) {
    head(o, &["name", "value"]);
    for (p, v) in &r.params {
        row(o, &[format!("`{}`", p.name()), cell(&param_text(*p, v))]);
    }
    for (m, v) in &r.metrics {
        row(o, &[format!("`{}`", m.name()), cell(&metric_text(*m, *v))]);
    }
}

/// The sweep summary as markdown.
pub fn summary(s: &Summary) -> String {
    let mut o = String::new();
    let _ = writeln!(o, "## clustersweep: {}\n", cell(&s.scenario_name));
    if !s.description.trim().is_empty() {
        let _ = writeln!(o, "{}\n", cell(&s.description));
    }
    head(&mut o, &["run", ""]);
    row(
        &mut o,
        &["scenario file".into(), format!("`{}`", s.scenario_file)],
    );
    row(&mut o, &["grid".into(), grid_text(s, "`", " × ")]);
    row(
        &mut o,
        &[
            "backend".into(),
            cell(&format!("{}: {}", s.backend.kind, s.backend.name)),
        ],
    );
    row(
        &mut o,
        &[
            "time".into(),
            format!(
                "{:.3} s, {} configurations/s",
                s.elapsed_s,
                fmt_count(s.configs_per_s)
            ),
        ],
    );
    row(
        &mut o,
        &[
            "configurations".into(),
            format!(
                "evaluated {}, invalid {}, feasible {}",
                fmt_count(s.evaluated as f64),
                fmt_count(s.invalid as f64),
                fmt_count(s.feasible as f64)
            ),
        ],
    );
    row(
        &mut o,
        &[
            "objective".into(),
            format!(
                "{} `{}`",
                s.objective.sense.name(),
                s.objective.metric.name()
            ),
        ],
    );
    for n in &s.notices {
        row(&mut o, &["notice".into(), cell(n)]);
    }
    match &s.best {
        None => {
            let _ = writeln!(o, "\n### No feasible configuration");
        }
        Some(b) => {
            let _ = writeln!(o, "\n### Best configuration (index {})\n", b.index);
            configuration(&mut o, b);
        }
    }
    if let Some(first) = s.best_by.first() {
        let names: Vec<&str> = s.group_by.iter().map(|p| p.name()).collect();
        let _ = writeln!(o, "\n### Leaders by {}\n", names.join(", "));
        let metrics = key_metrics(&first.best, s.objective.metric);
        let mut columns: Vec<String> = names.iter().map(|n| format!("`{n}`")).collect();
        columns.push("feasible".into());
        columns.push("index".into());
        columns.extend(metrics.iter().map(|m| titled(m.name(), m.unit())));
        columns.push("axes".into());
        let _ = writeln!(o, "| {} |", columns.join(" | "));
        let _ = writeln!(o, "|{}", "---|".repeat(columns.len()));
        for g in &s.best_by {
            let mut cells = group_cells(&g.group);
            cells.push(fmt_count(g.feasible as f64));
            cells.push(g.best.index.to_string());
            cells.extend(
                metrics
                    .iter()
                    .map(|m| cell(&short(g.best.metric(*m), m.unit()))),
            );
            cells.push(cell(&axis_params(s, &g.best)));
            row(&mut o, &cells);
        }
        for group in &s.empty_groups {
            let mut cells = group_cells(group);
            cells.push("0".into());
            cells.push("none".into());
            cells.extend(metrics.iter().map(|_| String::new()));
            cells.push("nothing feasible (0 configurations)".into());
            row(&mut o, &cells);
        }
    } else if !s.empty_groups.is_empty() {
        let names: Vec<&str> = s.group_by.iter().map(|p| p.name()).collect();
        let _ = writeln!(o, "\n### Leaders by {}\n", names.join(", "));
        let mut columns: Vec<String> = names.iter().map(|n| format!("`{n}`")).collect();
        columns.push("feasible".into());
        let _ = writeln!(o, "| {} |", columns.join(" | "));
        let _ = writeln!(o, "|{}", "---|".repeat(columns.len()));
        for group in &s.empty_groups {
            let mut cells = group_cells(group);
            cells.push("0".into());
            row(&mut o, &cells);
        }
    }
    if !s.pareto.is_empty() {
        let m = s.objective.metric;
        let _ = writeln!(
            o,
            "\n### Pareto frontier: `{}` vs `facility_mw` ({} points)\n",
            m.name(),
            s.pareto.len()
        );
        head(
            &mut o,
            &["`facility_mw` (MW)", &titled(m.name(), m.unit()), "index"],
        );
        for p in &s.pareto {
            row(
                &mut o,
                &[
                    short(p.metric(crate::model::Metric::FacilityMw), "MW"),
                    cell(&short(p.metric(m), m.unit())),
                    p.index.to_string(),
                ],
            );
        }
    }
    if !s.stats.is_empty() {
        let _ = writeln!(o, "\n### Over the feasible configurations\n");
        head(&mut o, &["metric", "unit", "min", "mean", "max"]);
        for st in &s.stats {
            let u = st.metric.unit();
            row(
                &mut o,
                &[
                    format!("`{}`", st.metric.name()),
                    cell(u),
                    cell(&short(st.min, u)),
                    cell(&short(st.mean, u)),
                    cell(&short(st.max, u)),
                ],
            );
        }
    }
    o
}

/// The checks of a run (`--check`, `--require-feasible`, a scenario's `[checks]`) as a
/// table: pass or FAIL, the check, the value found (null when the field is null), the bound
/// and where the check came from; empty text when there are none.
pub fn checks(outcomes: &[crate::checks::CheckOutcome]) -> String {
    if outcomes.is_empty() {
        return String::new();
    }
    let failed = outcomes.iter().filter(|o| !o.pass).count();
    let mut o = String::new();
    let _ = writeln!(
        o,
        "\n### Checks: {} passed, {failed} failed\n",
        outcomes.len() - failed
    );
    head(&mut o, &["result", "check", "value", "bound", "from"]);
    for c in outcomes {
        row(
            &mut o,
            &[
                if c.pass { "pass" } else { "**FAIL**" }.into(),
                format!("`{}`", cell(&c.check.to_string())),
                c.value.map_or("null".into(), crate::format::fmt_num),
                crate::format::fmt_num(c.check.bound),
                cell(&c.check.origin),
            ],
        );
    }
    o
}

/// One scenario's section of `sweep --format markdown` and of `sweep --markdown FILE`: the
/// summary (headed by the scenario's name), the tornado when one was made
/// (`--sensitivity`), and the checks when there are any.
pub fn sweep_section(
    s: &Summary,
    tornado: Option<&crate::sensitivity::Sensitivity>,
    outcomes: &[crate::checks::CheckOutcome],
) -> String {
    let mut o = summary(s);
    if let Some(t) = tornado {
        let _ = write!(
            o,
            "\n### Sensitivity\n\n```text\n{}```\n",
            super::sensitivity::table(t)
        );
    }
    o.push_str(&checks(outcomes));
    o
}

/// The `eval --format markdown` output: whether the configuration is valid and feasible
/// (with the reasons when not), then every parameter and metric (under uncertainty the
/// metrics are the means over the draws, after a line with the draws' counts).
pub fn eval(scenario: &str, r: &Reported) -> String {
    let mut o = String::new();
    let _ = writeln!(o, "## clustersweep eval: {}\n", cell(scenario));
    let yes_no = |b: bool| if b { "yes" } else { "no" };
    let _ = writeln!(
        o,
        "valid: **{}**, feasible: **{}**\n",
        yes_no(r.valid),
        yes_no(r.feasible)
    );
    for why in &r.reasons {
        let _ = writeln!(o, "- because {}", cell(why));
    }
    if !r.reasons.is_empty() {
        o.push('\n');
    }
    if let Some(d) = &r.spread {
        let _ = writeln!(
            o,
            "{} of {} draws feasible (p_feasible {}), {} valid; objective statistic {}; metrics are means over the draws\n",
            d.feasible,
            d.samples,
            crate::format::fmt_num(d.p_feasible),
            d.valid,
            crate::format::fmt_num(d.statistic)
        );
    }
    configuration(&mut o, r);
    o
}
