//! The sensitivity tornado ([`Sensitivity`]) rendered: the human table of `clustersweep
//! sensitivity` and its JSON object (the `clustersweep.sensitivity/1` document, also the
//! `sensitivity` section of `sweep --sensitivity --json`).

use super::json::{backend_object, num, reported};
use crate::format::fmt_num;
use crate::sensitivity::{BreakEven, Decision, End, Row, Sensitivity, Setting};
use crate::summary::ParamValue;
use serde_json::{json, Map, Value};
use std::fmt::Write;

/// Schema name of the sensitivity document.
pub const SENSITIVITY_SCHEMA: &str = "clustersweep.sensitivity/1";

fn value_json(v: &ParamValue) -> Value {
    match v {
        ParamValue::Text(s) => Value::String(s.clone()),
        ParamValue::Int(i) => json!(i),
        ParamValue::Real(x) => num(*x),
    }
}

/// `{index, axes: {name: value}}`, or null when nothing is feasible.
fn decision_json(d: Option<&Decision>) -> Value {
    match d {
        None => Value::Null,
        Some(d) => {
            let axes: Map<String, Value> = d
                .axes
                .iter()
                .map(|(p, v)| (p.name().to_string(), value_json(v)))
                .collect();
            json!({"index": d.index, "axes": axes})
        }
    }
}

fn end_json(e: &End, base_index: u64) -> Value {
    json!({
        "value": value_json(&e.value),
        "factor": e.factor.map_or(Value::Null, num),
        "objective": num(e.objective),
        "valid": e.valid,
        "feasible": e.feasible,
        "best": decision_json(e.best.as_ref()),
        "best_changes": e.best.as_ref().map(|d| d.index) != Some(base_index),
    })
}

fn break_even_json(b: &BreakEven) -> Value {
    json!({
        "value": value_json(&b.value),
        "factor": b.factor.map_or(Value::Null, num),
        "holds_at": value_json(&b.holds),
        "holds_factor": b.holds_factor.map_or(Value::Null, num),
        "takes_over": decision_json(b.takes_over.as_ref()),
    })
}

fn row_json(r: &Row, base_index: u64) -> Value {
    let mut m = Map::new();
    m.insert("param".into(), json!(r.param.name()));
    m.insert(
        "accelerator".into(),
        r.accelerator.as_ref().map_or(Value::Null, |a| json!(a)),
    );
    m.insert("setting".into(), json!(r.setting.name()));
    m.insert(
        "distribution".into(),
        r.distribution.as_ref().map_or(Value::Null, |d| json!(d)),
    );
    m.insert("base".into(), end_json(&r.base, base_index));
    if r.setting == Setting::Alternatives {
        m.insert(
            "alternatives".into(),
            r.ends.iter().map(|e| end_json(e, base_index)).collect(),
        );
    } else {
        m.insert("low".into(), end_json(&r.ends[0], base_index));
        m.insert("high".into(), end_json(&r.ends[1], base_index));
    }
    m.insert("swing".into(), num(r.swing));
    m.insert(
        "break_even".into(),
        r.break_even.iter().map(break_even_json).collect(),
    );
    Value::Object(m)
}

/// The whole sensitivity document.
pub fn json(s: &Sensitivity) -> Value {
    let base = s.decision.index;
    json!({
        "schema": SENSITIVITY_SCHEMA,
        "scenario": {"name": s.scenario_name, "file": s.scenario_file},
        "objective": {"metric": s.objective.metric.name(), "sense": s.objective.sense.name()},
        "best": reported(&s.best),
        "decision": decision_json(Some(&s.decision)),
        "rows": s.rows.iter().map(|r| row_json(r, base)).collect::<Vec<_>>(),
        "sweeps": s.sweeps,
        "backend": backend_object(&s.backend),
        "elapsed_s": num(s.elapsed_s),
        "notices": s.notices,
    })
}

pub(crate) fn decision_text(d: Option<&Decision>) -> String {
    match d {
        None => "nothing feasible".into(),
        Some(d) if d.axes.is_empty() => format!("index {}", d.index),
        Some(d) => d
            .axes
            .iter()
            .map(|(p, v)| format!("{}={v}", p.name()))
            .collect::<Vec<_>>()
            .join(" "),
    }
}

pub(crate) fn with_factor(v: &ParamValue, factor: Option<f64>) -> String {
    match factor {
        Some(f) => format!("{v} (x{})", fmt_num(f)),
        None => v.to_string(),
    }
}

/// An end's objective, marked when the base decision is not feasible there.
pub(crate) fn objective_text(e: &End) -> String {
    if e.feasible {
        fmt_num(e.objective)
    } else if e.valid {
        format!("{} (infeasible)", fmt_num(e.objective))
    } else {
        format!("{} (invalid)", fmt_num(e.objective))
    }
}

pub(crate) fn input_name(r: &Row) -> String {
    match &r.accelerator {
        Some(a) => format!("{} [{a}]", r.param.name()),
        None => r.param.name().to_string(),
    }
}

/// The human-readable tornado.
pub fn table(s: &Sensitivity) -> String {
    let obj = s.objective.metric;
    let mut out = String::new();
    let _ = writeln!(out, "sensitivity of scenario: {}", s.scenario_name);
    let _ = writeln!(
        out,
        "best decision: {} (index {}), {} {} = {} {}",
        decision_text(Some(&s.decision)),
        s.decision.index,
        s.objective.sense.name(),
        obj.name(),
        fmt_num(s.best.metric(obj)),
        obj.unit()
    );
    let _ = writeln!(
        out,
        "{} grid sweeps on {} in {:.2} s",
        s.sweeps, s.backend.name, s.elapsed_s
    );
    let _ = writeln!(
        out,
        "\n{:<28}{:<14}{:>14}{:>14}{:>14}  {} at low -> high",
        "input (sorted by swing)",
        "setting",
        "low",
        "high",
        "swing",
        obj.name()
    );
    for r in &s.rows {
        let (low, high) = if r.setting == Setting::Alternatives {
            (String::new(), String::new())
        } else {
            (r.ends[0].value.to_string(), r.ends[1].value.to_string())
        };
        let objectives = if r.setting == Setting::Alternatives {
            r.ends
                .iter()
                .map(|e| format!("{}: {}", e.value, objective_text(e)))
                .collect::<Vec<_>>()
                .join(", ")
        } else {
            format!(
                "{} -> {}",
                objective_text(&r.ends[0]),
                objective_text(&r.ends[1])
            )
        };
        let _ = writeln!(
            out,
            "{:<28}{:<14}{:>14}{:>14}{:>14}  {}",
            input_name(r),
            match r.setting {
                Setting::Uncertain => "p10/p90",
                Setting::Scaled => "0.9x/1.1x",
                Setting::Alternatives => "alternatives",
            },
            low,
            high,
            fmt_num(r.swing),
            objectives
        );
        if let Some(d) = &r.distribution {
            let _ = writeln!(out, "{:<28}uncertain: {d}, median {}", "", r.base.value);
        }
        if r.break_even.is_empty() {
            let _ = writeln!(out, "{:<28}break-even: none in the range", "");
        }
        for b in &r.break_even {
            let _ = writeln!(
                out,
                "{:<28}break-even: {} (the base decision holds at {}): {}",
                "",
                with_factor(&b.value, b.factor),
                with_factor(&b.holds, b.holds_factor),
                decision_text(b.takes_over.as_ref())
            );
        }
    }
    out
}
