//! CSV output: `best_by.csv` (one row per group) and `pareto.csv` (one row per frontier
//! point), each with the index, every parameter and every metric; `heatmap.csv` (one row
//! per heatmap cell); the same best/leader/Pareto rows on stdout for `sweep --format csv`
//! (and `merge --format csv`); one configuration's row for `eval --format csv`.
//! Numbers keep every digit.

use crate::summary::{Reported, Summary};

/// Columns: the given first ones, index, every parameter, every metric of the scenario.
fn header(first: &[String], s: &Summary) -> Vec<String> {
    let mut h: Vec<String> = first.to_vec();
    h.push("index".into());
    h.extend(crate::params::Param::all().map(|p| p.name().to_string()));
    h.extend(s.metric_names.iter().map(|m| m.name().to_string()));
    h
}

/// A parameter's value with every digit (reals as Rust's shortest round-trip form).
fn cell(x: &crate::summary::ParamValue) -> String {
    match x {
        crate::summary::ParamValue::Real(f) => format!("{f}"),
        other => other.to_string(),
    }
}

/// A metric's value with every digit; empty when not finite.
fn metric_cell(x: f64) -> String {
    if x.is_finite() {
        format!("{x}")
    } else {
        String::new()
    }
}

fn row(first: Vec<String>, r: &Reported) -> Vec<String> {
    let mut v = first;
    v.push(r.index.to_string());
    v.extend(r.params.iter().map(|(_, x)| cell(x)));
    v.extend(r.metrics.iter().map(|(_, x)| metric_cell(*x)));
    v
}

fn to_bytes(rows: Vec<Vec<String>>) -> Result<Vec<u8>, csv::Error> {
    let mut w = csv::Writer::from_writer(Vec::new());
    for r in rows {
        w.write_record(&r)?;
    }
    w.into_inner().map_err(|e| csv::Error::from(e.into_error()))
}

/// `best_by.csv`: group columns (`group_<axis>`), the group's feasible count
/// (`feasible`), then index, parameters, metrics; the groups with nothing feasible follow,
/// with `feasible` 0 and the other cells empty.
pub fn best_by(s: &Summary) -> Result<Vec<u8>, csv::Error> {
    let mut names: Vec<String> = s
        .group_by
        .iter()
        .map(|p| format!("group_{}", p.name()))
        .collect();
    names.push("feasible".into());
    let mut rows = vec![header(&names, s)];
    for g in &s.best_by {
        let mut first: Vec<String> = g.group.iter().map(|(_, v)| cell(v)).collect();
        first.push(g.feasible.to_string());
        rows.push(row(first, &g.best));
    }
    for group in &s.empty_groups {
        let mut first: Vec<String> = group.iter().map(|(_, v)| cell(v)).collect();
        first.push("0".into());
        rows.push(padded(first, rows[0].len()));
    }
    to_bytes(rows)
}

/// A row with nothing but its first cells: empty cells up to `width`.
fn padded(mut first: Vec<String>, width: usize) -> Vec<String> {
    first.resize(width, String::new());
    first
}

/// `heatmap.csv`: one row per cell, x fastest-last (the order of the cells): the x and y
/// axis values (labels for categorical axes), the feasible count, and the best feasible
/// configuration's index and objective (f64; both empty when nothing is feasible). `None`
/// without a heatmap.
pub fn heatmap(s: &Summary) -> Option<Result<Vec<u8>, csv::Error>> {
    let h = s.heatmap.as_ref()?;
    let mut rows = vec![vec![
        h.x.param.name().to_string(),
        h.y.param.name().to_string(),
        "feasible".into(),
        "best_index".into(),
        ranked_column(s),
    ]];
    let text = |a: &crate::heatmap::HeatAxis, i: usize| match a.param.kind() {
        crate::params::ParamKind::Categorical => a.labels[i].clone(),
        _ => format!("{}", a.values[i]),
    };
    for xi in 0..h.x.values.len() {
        for yi in 0..h.y.values.len() {
            let c = h.cell(xi, yi);
            let (index, obj) = match c.best {
                Some((i, v)) if v.is_finite() => (i.to_string(), format!("{v}")),
                Some((i, _)) => (i.to_string(), String::new()),
                None => (String::new(), String::new()),
            };
            rows.push(vec![
                text(&h.x, xi),
                text(&h.y, yi),
                c.feasible.to_string(),
                index,
                obj,
            ]);
        }
    }
    Some(to_bytes(rows))
}

/// The name of the column holding what the objective is ranked by: the metric's name, or
/// under uncertainty the metric and the statistic of its draws (`throughput_pflops_p10`).
fn ranked_column(s: &Summary) -> String {
    match &s.uncertainty {
        Some(u) => format!("{}_{}", s.objective.metric.name(), u.statistic),
        None => s.objective.metric.name().to_string(),
    }
}

/// `pareto.csv`: index, parameters, metrics, ordered by facility power.
pub fn pareto(s: &Summary) -> Result<Vec<u8>, csv::Error> {
    let mut rows = vec![header(&[], s)];
    for p in &s.pareto {
        rows.push(row(Vec::new(), p));
    }
    to_bytes(rows)
}

/// `sweep --format csv` on stdout: every reported configuration, one row each, with a
/// `role` column (`best`, `leader`, `pareto`), the group columns (`group_<axis>`, filled for
/// leaders) and, when grouped, `group_feasible` (the leader's group count), then index,
/// parameters and metrics as in the files; each group with nothing feasible is one
/// `empty_group` row (its group, `group_feasible` 0, the rest empty).
pub fn summary(s: &Summary) -> Result<Vec<u8>, csv::Error> {
    let grouped = !s.group_by.is_empty();
    let mut first: Vec<String> = vec!["role".into()];
    first.extend(s.group_by.iter().map(|p| format!("group_{}", p.name())));
    if grouped {
        first.push("group_feasible".into());
    }
    let blank = || vec![String::new(); s.group_by.len() + usize::from(grouped)];
    let mut rows = vec![header(&first, s)];
    let lead = |role: &str, group: Vec<String>| {
        let mut v = vec![role.to_string()];
        v.extend(group);
        v
    };
    if let Some(b) = &s.best {
        rows.push(row(lead("best", blank()), b));
    }
    for g in &s.best_by {
        let mut group: Vec<String> = g.group.iter().map(|(_, v)| cell(v)).collect();
        group.push(g.feasible.to_string());
        rows.push(row(lead("leader", group), &g.best));
    }
    for group in &s.empty_groups {
        let mut cells: Vec<String> = group.iter().map(|(_, v)| cell(v)).collect();
        cells.push("0".into());
        rows.push(padded(lead("empty_group", cells), rows[0].len()));
    }
    for p in &s.pareto {
        rows.push(row(lead("pareto", blank()), p));
    }
    to_bytes(rows)
}

/// `eval --format csv`: a header and one row: `valid`, `feasible`, `reasons` (joined with
/// `; `, empty when feasible), every parameter, then every metric that applies (under
/// uncertainty the means over the draws). Numbers keep every digit.
pub fn eval(r: &Reported) -> Result<Vec<u8>, csv::Error> {
    let mut head: Vec<String> = vec!["valid".into(), "feasible".into(), "reasons".into()];
    head.extend(r.params.iter().map(|(p, _)| p.name().to_string()));
    head.extend(r.metrics.iter().map(|(m, _)| m.name().to_string()));
    let mut first = vec![
        r.valid.to_string(),
        r.feasible.to_string(),
        r.reasons.join("; "),
    ];
    first.extend(r.params.iter().map(|(_, x)| cell(x)));
    first.extend(r.metrics.iter().map(|(_, x)| metric_cell(*x)));
    to_bytes(vec![head, first])
}
