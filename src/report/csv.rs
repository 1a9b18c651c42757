//! CSV output: `best_by.csv` (one row per group) and `pareto.csv` (one row per frontier
//! point), each with the index, every parameter and every metric.

use crate::summary::{Reported, Summary};

fn header(first: &[String], r: &Reported) -> Vec<String> {
    let mut h: Vec<String> = first.to_vec();
    h.push("index".into());
    h.extend(r.params.iter().map(|(p, _)| p.name().to_string()));
    h.extend(r.metrics.iter().map(|(m, _)| m.name().to_string()));
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
    let mut rows = Vec::new();
    if let Some(first) = s.best_by.first() {
        let names: Vec<String> = first
            .group
            .iter()
            .map(|(p, _)| format!("group_{}", p.name()))
            .collect();
        rows.push(header(&names, &first.best));
        for g in &s.best_by {
            rows.push(row(
                g.group.iter().map(|(_, v)| v.to_string()).collect(),
                &g.best,
            ));
        }
    } else {
        rows.push(vec!["index".into()]);
    }
    to_bytes(rows)
}

/// `pareto.csv`: index, parameters, metrics, ordered by facility power.
pub fn pareto(s: &Summary) -> Result<Vec<u8>, csv::Error> {
    let mut rows = Vec::new();
    if let Some(first) = s.pareto.first() {
        rows.push(header(&[], first));
        for p in &s.pareto {
            rows.push(row(Vec::new(), p));
        }
    } else {
        rows.push(vec!["index".into()]);
    }
    to_bytes(rows)
}
