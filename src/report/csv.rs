//! CSV output: `best_by.csv` (one row per group) and `pareto.csv` (one row per frontier
//! point), each with the index, every parameter and every metric.

use crate::summary::{Reported, Summary};

/// Columns: the given first ones, index, every parameter, every metric of the scenario.
fn header(first: &[String], s: &Summary) -> Vec<String> {
    let mut h: Vec<String> = first.to_vec();
    h.push("index".into());
    h.extend(crate::params::Param::all().map(|p| p.name().to_string()));
    h.extend(s.metric_names.iter().map(|m| m.name().to_string()));
    h
}

fn row(first: Vec<String>, r: &Reported) -> Vec<String> {
    let mut v = first;
    v.push(r.index.to_string());
    v.extend(r.params.iter().map(|(_, x)| match x {
        crate::summary::ParamValue::Real(f) => format!("{f}"),
        other => other.to_string(),
    }));
    v.extend(r.metrics.iter().map(|(_, x)| {
        if x.is_finite() {
            format!("{x}")
        } else {
            String::new()
        }
    }));
    v
}

fn to_bytes(rows: Vec<Vec<String>>) -> Result<Vec<u8>, csv::Error> {
    let mut w = csv::Writer::from_writer(Vec::new());
    for r in rows {
        w.write_record(&r)?;
    }
    w.into_inner().map_err(|e| csv::Error::from(e.into_error()))
}

/// `best_by.csv`: group columns (`group_<axis>`), then index, parameters, metrics.
pub fn best_by(s: &Summary) -> Result<Vec<u8>, csv::Error> {
    let names: Vec<String> = s
        .group_by
        .iter()
        .map(|p| format!("group_{}", p.name()))
        .collect();
    let mut rows = vec![header(&names, s)];
    for g in &s.best_by {
        rows.push(row(
            g.group.iter().map(|(_, v)| v.to_string()).collect(),
            &g.best,
        ));
    }
    to_bytes(rows)
}

/// `pareto.csv`: index, parameters, metrics, ordered by facility power.
pub fn pareto(s: &Summary) -> Result<Vec<u8>, csv::Error> {
    let mut rows = vec![header(&[], s)];
    for p in &s.pareto {
        rows.push(row(Vec::new(), p));
    }
    to_bytes(rows)
}
