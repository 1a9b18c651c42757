//! JSON output: the `clustersweep.summary/2` document (fields: docs/json.md) and the `eval --json` object.
//! Non-finite numbers are written as `null`.

use crate::backend::BackendInfo;
use crate::draws::DrawStats;
use crate::params::Param;
use crate::summary::{ParamValue, Reported, Summary, UncertaintySummary};
use serde_json::{json, Map, Value};

/// Schema name of the summary document.
pub const SUMMARY_SCHEMA: &str = "clustersweep.summary/2";

/// A number, or null when not finite.
pub fn num(x: f64) -> Value {
    serde_json::Number::from_f64(x).map_or(Value::Null, Value::Number)
}

fn param_value(v: &ParamValue) -> Value {
    match v {
        ParamValue::Text(s) => Value::String(s.clone()),
        ParamValue::Int(i) => json!(i),
        ParamValue::Real(x) => num(*x),
    }
}

/// `{name: value}` for parameters.
pub fn params_object(params: &[(Param, ParamValue)]) -> Value {
    let mut m = Map::new();
    for (p, v) in params {
        m.insert(p.name().to_string(), param_value(v));
    }
    Value::Object(m)
}

/// `{metric: value}` for a reported configuration.
pub fn metrics_object(r: &Reported) -> Value {
    let mut m = Map::new();
    for (k, v) in &r.metrics {
        m.insert(k.name().to_string(), num(*v));
    }
    Value::Object(m)
}

/// `{index, params, metrics}`, and `uncertainty` under uncertainty.
pub fn reported(r: &Reported) -> Value {
    let mut v =
        json!({"index": r.index, "params": params_object(&r.params), "metrics": metrics_object(r)});
    if let Some(d) = &r.spread {
        v["uncertainty"] = draws_object(d);
    }
    v
}

/// A configuration over its draws: counts, `p_feasible`, the objective's statistic and
/// histogram, and every metric's spread.
pub fn draws_object(d: &DrawStats) -> Value {
    let metrics: Map<String, Value> = d
        .metrics
        .iter()
        .map(|(m, s)| {
            (
                m.name().to_string(),
                json!({"mean": num(s.mean), "sd": num(s.sd), "min": num(s.min), "p10": num(s.p10),
                       "p50": num(s.p50), "p90": num(s.p90), "max": num(s.max)}),
            )
        })
        .collect();
    json!({
        "samples": d.samples,
        "valid": d.valid,
        "feasible": d.feasible,
        "p_feasible": num(d.p_feasible),
        "statistic": num(d.statistic),
        "metrics": metrics,
        "histogram": {"lo": num(d.histogram.lo), "hi": num(d.histogram.hi), "counts": d.histogram.counts},
    })
}

/// The scenario's uncertainty as applied.
pub fn uncertainty_object(u: &UncertaintySummary) -> Value {
    let inputs: Map<String, Value> = u
        .inputs
        .iter()
        .map(|(k, d)| (k.clone(), Value::String(d.clone())))
        .collect();
    json!({"samples": u.samples, "seed": u.seed, "statistic": u.statistic,
           "confidence": num(u.confidence), "inputs": inputs})
}

/// The `eval --json` object.
pub fn eval_object(r: &Reported) -> Value {
    let mut v = json!({"params": params_object(&r.params), "metrics": metrics_object(r), "valid": r.valid, "feasible": r.feasible, "reasons": r.reasons});
    if let Some(d) = &r.spread {
        v["uncertainty"] = draws_object(d);
    }
    v
}

/// The `backend` object.
pub fn backend_object(b: &BackendInfo) -> Value {
    json!({"kind": b.kind, "name": b.name, "api": b.api, "device_type": b.device_type, "driver": b.driver})
}

/// `{metric name: unit}` for every metric the summary reports (`""` for ratios); the
/// parameters' units are in README's table of CSV columns.
pub fn units(s: &Summary) -> Value {
    let metrics: Map<String, Value> = s
        .metric_names
        .iter()
        .map(|m| (m.name().to_string(), json!(m.unit())))
        .collect();
    Value::Object(metrics)
}

/// The whole summary document. Everything that can change between two runs of the same
/// scenario and catalog (date, build, backend, timing, notices) is under `run`; removing
/// `run` leaves what the scenario and catalog determine.
pub fn summary(s: &Summary) -> Value {
    // Every metric that applies keeps its key; nulls when nothing is feasible.
    let stats: Map<String, Value> = s
        .metric_names
        .iter()
        .map(|m| {
            let row = s.stats.iter().find(|r| r.metric == *m);
            let (min, max, mean) =
                row.map_or((f64::NAN, f64::NAN, f64::NAN), |r| (r.min, r.max, r.mean));
            (
                m.name().to_string(),
                json!({"min": num(min), "max": num(max), "mean": num(mean)}),
            )
        })
        .collect();
    let constraints: Map<String, Value> = s
        .constraints
        .bounds()
        .iter()
        .map(|&(metric, bound, upper)| {
            (
                format!("{}_{}", if upper { "max" } else { "min" }, metric.name()),
                json!({"metric": metric.name(), "bound": num(bound), "unit": metric.unit()}),
            )
        })
        .collect();
    let build = crate::provenance::build_info();
    json!({
        "schema": SUMMARY_SCHEMA,
        "scenario": {"name": s.scenario_name, "file": s.scenario_file, "description": s.description, "sha256": s.scenario_sha256},
        "catalog": {"sha256": s.catalog_sha256},
        "grid": {"size": s.size, "axes": s.axes.iter().map(|(p, len)| json!({"name": p.name(), "len": len})).collect::<Vec<_>>()},
        "counts": {"evaluated": s.evaluated, "invalid": s.invalid, "feasible": s.feasible},
        "objective": {"metric": s.objective.metric.name(), "sense": s.objective.sense.name(), "unit": s.objective.metric.unit()},
        "constraints": constraints,
        "best": s.best.as_ref().map_or(Value::Null, reported),
        "best_by": s.best_by.iter().map(|g| {
            let mut v = reported(&g.best);
            let o = v.as_object_mut().expect("reported is an object");
            o.insert("group".into(), params_object(&g.group));
            o.insert("feasible".into(), json!(g.feasible));
            v
        }).collect::<Vec<_>>(),
        "empty_groups": s.empty_groups.iter().map(|g| json!({"group": params_object(g), "feasible": 0})).collect::<Vec<_>>(),
        "pareto": s.pareto.iter().map(reported).collect::<Vec<_>>(),
        "stats": stats,
        "units": units(s),
        "uncertainty": s.uncertainty.as_ref().map_or(Value::Null, uncertainty_object),
        "run": {
            "date": s.date,
            "tool": {"name": "clustersweep", "version": build.version, "commit": build.commit, "dirty": build.dirty},
            "requested_backend": s.requested_backend,
            "backend": backend_object(&s.backend),
            "elapsed_s": num(s.elapsed_s),
            "configs_per_s": num(s.configs_per_s),
            "notices": s.notices,
        },
    })
}

/// Add the outcome of the run's checks to a summary document, as `checks`: one object per
/// check with its path, operator, bound, the value found (null when the field was null),
/// whether it passed and where it came from.
pub fn add_checks(doc: &mut Value, outcomes: &[crate::checks::CheckOutcome]) {
    let list: Vec<Value> = outcomes
        .iter()
        .map(|o| {
            json!({
                "check": o.check.to_string(),
                "path": o.check.path,
                "op": o.check.op.symbol(),
                "bound": num(o.check.bound),
                "value": o.value.map_or(Value::Null, num),
                "pass": o.pass,
                "origin": o.check.origin,
            })
        })
        .collect();
    if let Some(m) = doc.as_object_mut() {
        m.insert("checks".into(), Value::Array(list));
    }
}
