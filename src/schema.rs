//! The JSON Schemas (draft 2020-12) of the documents the tool writes, printed by
//! `clustersweep schema NAME`: the sweep summary (`clustersweep.summary/2`), the tornado
//! (`clustersweep.sensitivity/1`), the summary comparison (`clustersweep.diff/1`), the
//! bench results (`clustersweep.bench/2`) and their comparison
//! (`clustersweep.bench-compare/1`). They are built from the same lists the writers use (metric names,
//! parameter names, senses, backends), so a metric added to the model is in the schema at
//! once; every object is closed (`additionalProperties: false`), so a field a writer adds
//! without describing it here fails the validation tests. Field meanings: docs/json.md.

use crate::model::metrics::Metric;
use crate::params::Param;
use serde_json::{json, Map, Value};

/// The documents `clustersweep schema` describes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Document {
    /// `sweep --json`, `--out DIR/summary.json`, `merge --json`.
    Summary,
    /// `sensitivity --json` (and the summary's `sensitivity` section).
    Sensitivity,
    /// `diff OLD NEW --json`.
    Diff,
    /// `bench --json FILE`.
    Bench,
    /// `bench compare A B... --json`.
    BenchCompare,
}

impl Document {
    /// Every document, in the order `schema --help` lists them.
    pub const ALL: [Document; 5] = [
        Document::Summary,
        Document::Sensitivity,
        Document::Diff,
        Document::Bench,
        Document::BenchCompare,
    ];

    /// The name `clustersweep schema` takes.
    pub fn name(self) -> &'static str {
        match self {
            Document::Summary => "summary",
            Document::Sensitivity => "sensitivity",
            Document::Diff => "diff",
            Document::Bench => "bench",
            Document::BenchCompare => "bench-compare",
        }
    }

    /// The document's JSON Schema.
    pub fn schema(self) -> Value {
        match self {
            Document::Summary => summary(),
            Document::Sensitivity => sensitivity(),
            Document::Diff => diff(),
            Document::Bench => bench(),
            Document::BenchCompare => bench_compare(),
        }
    }
}

const DIALECT: &str = "https://json-schema.org/draft/2020-12/schema";

/// A closed object: these properties, all required unless listed in `optional`.
fn object(properties: Value, optional: &[&str]) -> Value {
    let required: Vec<&String> = properties
        .as_object()
        .map(|m| {
            m.keys()
                .filter(|k| !optional.contains(&k.as_str()))
                .collect()
        })
        .unwrap_or_default();
    json!({
        "type": "object",
        "properties": properties,
        "required": required,
        "additionalProperties": false,
    })
}

/// A map whose keys are among `names` and whose values follow `value`.
fn keyed_by(names: &[&str], value: Value) -> Value {
    json!({
        "type": "object",
        "propertyNames": {"enum": names},
        "additionalProperties": value,
    })
}

/// A number, null where the value was not finite.
fn number() -> Value {
    json!({"type": ["number", "null"]})
}

fn count() -> Value {
    json!({"type": "integer", "minimum": 0})
}

fn text() -> Value {
    json!({"type": "string"})
}

fn text_or_null() -> Value {
    json!({"type": ["string", "null"]})
}

fn sha256() -> Value {
    json!({"type": "string", "pattern": "^[0-9a-f]{64}$"})
}

/// A UTC date, `YYYY-MM-DDTHH:MM:SSZ`.
fn date() -> Value {
    json!({"type": "string", "pattern": "^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}Z$"})
}

fn metric_names() -> Vec<&'static str> {
    Metric::ALL.iter().map(|m| m.name()).collect()
}

fn param_names() -> Vec<&'static str> {
    Param::all().map(|p| p.name()).collect()
}

/// `{metric: value}` over the model's metrics.
fn metrics_map(value: Value) -> Value {
    keyed_by(&metric_names(), value)
}

/// `{parameter: value}`: a number, an integer, a name (accelerator, precision, ...) or an
/// uncertain input's distribution as written.
fn params_map() -> Value {
    keyed_by(
        &param_names(),
        json!({"type": ["string", "number", "null"]}),
    )
}

fn sense() -> Value {
    json!({"enum": ["max", "min"]})
}

/// What ran: `{kind, name, api, device_type, driver}`.
fn backend() -> Value {
    object(
        json!({
            "kind": {"enum": ["cpu", "gpu"]},
            "name": text(),
            "api": text_or_null(),
            "device_type": text_or_null(),
            "driver": text_or_null(),
        }),
        &[],
    )
}

/// A configuration over its draws.
fn draws() -> Value {
    let spread = object(
        json!({
            "mean": number(), "sd": number(), "min": number(), "p10": number(),
            "p50": number(), "p90": number(), "max": number(),
        }),
        &[],
    );
    object(
        json!({
            "samples": count(),
            "valid": count(),
            "feasible": count(),
            "p_feasible": number(),
            "statistic": number(),
            "metrics": metrics_map(spread),
            "histogram": object(
                json!({"lo": number(), "hi": number(), "counts": {"type": "array", "items": count()}}),
                &[],
            ),
        }),
        &[],
    )
}

/// `{index, params, metrics}` of a reported configuration, `uncertainty` under uncertainty,
/// plus `extra` properties.
fn reported(extra: Value, optional: &[&str]) -> Value {
    let mut p = json!({
        "index": count(),
        "params": params_map(),
        "metrics": metrics_map(number()),
        "uncertainty": draws(),
    });
    if let (Some(m), Some(e)) = (p.as_object_mut(), extra.as_object()) {
        m.extend(e.clone());
    }
    let mut optional = optional.to_vec();
    optional.push("uncertainty");
    object(p, &optional)
}

fn summary() -> Value {
    let axis = object(
        json!({"name": {"enum": param_names()}, "len": count()}),
        &[],
    );
    let constraint = object(
        json!({"metric": {"enum": metric_names()}, "bound": number(), "unit": text()}),
        &[],
    );
    let check = object(
        json!({
            "check": text(),
            "path": text(),
            "op": {"enum": ["<", "<=", ">", ">=", "==", "!="]},
            "bound": number(),
            "value": number(),
            "pass": {"type": "boolean"},
            "origin": text(),
        }),
        &[],
    );
    let mut schema = json!({
        "$schema": DIALECT,
        "$id": "https://clustersweep.invalid/schema/summary-2.json",
        "title": "clustersweep.summary/2",
        "description": "The summary of a sweep (docs/json.md). Non-finite numbers are null; everything that differs between runs of one scenario is under `run`.",
    });
    let body = object(
        json!({
            "schema": {"const": crate::report::json::SUMMARY_SCHEMA},
            "scenario": object(
                json!({"name": text(), "file": text(), "description": text_or_null(), "sha256": sha256()}),
                &[],
            ),
            "catalog": object(json!({"sha256": sha256()}), &[]),
            "grid": object(json!({"size": count(), "axes": {"type": "array", "items": axis}}), &[]),
            "counts": object(
                json!({"evaluated": count(), "invalid": count(), "feasible": count()}),
                &[],
            ),
            "objective": object(
                json!({"metric": {"enum": metric_names()}, "sense": sense(), "unit": text()}),
                &[],
            ),
            "constraints": {"type": "object", "additionalProperties": constraint},
            "best": {"oneOf": [{"type": "null"}, reported(json!({}), &[])]},
            "best_by": {"type": "array", "items": reported(json!({"group": params_map(), "feasible": count()}), &[])},
            "empty_groups": {"type": "array", "items": object(
                json!({"group": params_map(), "feasible": {"const": 0}}),
                &[],
            )},
            "pareto": {"type": "array", "items": reported(json!({}), &[])},
            "stats": metrics_map(object(json!({"min": number(), "max": number(), "mean": number()}), &[])),
            "units": metrics_map(text()),
            "uncertainty": {"oneOf": [{"type": "null"}, object(
                json!({
                    "samples": count(),
                    "seed": count(),
                    "statistic": text(),
                    "confidence": number(),
                    "inputs": {"type": "object", "additionalProperties": text()},
                }),
                &[],
            )]},
            "checks": {"type": "array", "items": check},
            "sensitivity": sensitivity_body(),
            "run": object(
                json!({
                    "date": date(),
                    "tool": object(
                        json!({
                            "name": {"const": "clustersweep"},
                            "version": text(),
                            "commit": text(),
                            "dirty": {"type": ["boolean", "null"]},
                        }),
                        &[],
                    ),
                    "requested_backend": {"enum": ["auto", "cpu", "gpu", null]},
                    "backend": backend(),
                    "elapsed_s": number(),
                    "configs_per_s": number(),
                    "notices": {"type": "array", "items": text()},
                }),
                &[],
            ),
        }),
        &["checks", "sensitivity"],
    );
    merge_into(&mut schema, body);
    schema
}

/// The tornado document's fields (also the summary's `sensitivity` section).
fn sensitivity_body() -> Value {
    let value = json!({"type": ["string", "number", "null"]});
    let decision = json!({"oneOf": [{"type": "null"}, object(
        json!({"index": count(), "axes": params_map()}),
        &[],
    )]});
    let end = object(
        json!({
            "value": value,
            "factor": number(),
            "objective": number(),
            "valid": {"type": "boolean"},
            "feasible": {"type": "boolean"},
            "best": decision,
            "best_changes": {"type": "boolean"},
        }),
        &[],
    );
    let break_even = object(
        json!({
            "value": value,
            "factor": number(),
            "holds_at": value,
            "holds_factor": number(),
            "takes_over": decision,
        }),
        &[],
    );
    let row = object(
        json!({
            "param": {"enum": param_names()},
            "accelerator": text_or_null(),
            "setting": {"enum": ["uncertain", "scaled", "alternatives"]},
            "distribution": text_or_null(),
            "base": end,
            "low": end,
            "high": end,
            "alternatives": {"type": "array", "items": end},
            "swing": number(),
            "break_even": {"type": "array", "items": break_even},
        }),
        &["low", "high", "alternatives"],
    );
    object(
        json!({
            "schema": {"const": crate::report::sensitivity::SENSITIVITY_SCHEMA},
            "scenario": object(json!({"name": text(), "file": text()}), &[]),
            "objective": object(json!({"metric": {"enum": metric_names()}, "sense": sense()}), &[]),
            "best": reported(json!({}), &[]),
            "decision": decision,
            "rows": {"type": "array", "items": row},
            "sweeps": count(),
            "backend": backend(),
            "elapsed_s": number(),
            "notices": {"type": "array", "items": text()},
        }),
        &[],
    )
}

fn sensitivity() -> Value {
    let mut schema = json!({
        "$schema": DIALECT,
        "$id": "https://clustersweep.invalid/schema/sensitivity-1.json",
        "title": crate::report::sensitivity::SENSITIVITY_SCHEMA,
        "description": "The tornado: each input's low and high setting (or alternatives), the objective there, the swing and where the grid's best decision changes (docs/uncertainty.md#sensitivity).",
    });
    merge_into(&mut schema, sensitivity_body());
    schema
}

fn diff() -> Value {
    let any = json!({});
    let mut schema = json!({
        "$schema": DIALECT,
        "$id": "https://clustersweep.invalid/schema/diff-1.json",
        "title": "clustersweep.diff/1",
        "description": "What changed between two summaries, `run` aside, and the --max-change limits (docs/json.md).",
    });
    let body = object(
        json!({
            "schema": {"const": "clustersweep.diff/1"},
            "changes": {"type": "array", "items": object(
                json!({"what": text(), "old": any, "new": any, "relative": number()}),
                &[],
            )},
            "limits": {"type": "array", "items": object(
                json!({
                    "metric": text(),
                    "fraction": number(),
                    "sign": {"enum": ["-", "+", null]},
                    "old": number(),
                    "new": number(),
                    "change": number(),
                    "crossed": {"type": "boolean"},
                }),
                &[],
            )},
            "crossed": {"type": "boolean"},
        }),
        &[],
    );
    merge_into(&mut schema, body);
    schema
}

fn bench() -> Value {
    let mut schema = json!({
        "$schema": DIALECT,
        "$id": "https://clustersweep.invalid/schema/bench-2.json",
        "title": crate::bench::BENCH_SCHEMA,
        "description": "Kernel speed per backend on one named workload, every repetition kept, with the machine and build (docs/json.md, docs/benchmarks.md).",
    });
    let optional_count = json!({"type": ["integer", "null"], "minimum": 0});
    let timing = timing_stats();
    let times = json!({"type": "array", "items": number()});
    let adapter = object(
        json!({
            "name": text(),
            "vendor_id": count(),
            "device_id": count(),
            "device_type": text(),
            "driver": text(),
            "driver_info": text(),
            "api": text(),
        }),
        &[],
    );
    let peak = object(
        json!({"gflops": number(), "precision": text(), "formula": text()}),
        &[],
    );
    let result = object(
        json!({
            "backend": backend(),
            "adapter": {"oneOf": [{"type": "null"}, adapter]},
            "threads_used": optional_count,
            "configs": count(),
            "warmup": count(),
            "wall_s": times,
            "kernel_s": {"oneOf": [{"type": "null"}, times]},
            "wall": timing,
            "kernel": {"oneOf": [{"type": "null"}, timing]},
            "configs_per_s": number(),
            "nominal_flops_per_config": number(),
            "nominal_gflops": number(),
            "nominal_gflops_time": {"enum": ["wall", "kernel"]},
            "nominal_gflops_basis": text(),
            "peak": {"oneOf": [{"type": "null"}, peak]},
            "peak_fraction": number(),
        }),
        &[],
    );
    let machine = object(
        json!({
            "cpu": object(
                json!({
                    "model": text(),
                    "vendor": text_or_null(),
                    "family": optional_count,
                    "model_number": optional_count,
                    "stepping": optional_count,
                    "isa": {"type": "array", "items": text()},
                    "physical_cores": optional_count,
                    "logical_threads": count(),
                    "clock_mhz": number(),
                }),
                &[],
            ),
            "memory_bytes": optional_count,
            "os": object(
                json!({"name": text(), "kernel": text_or_null(), "arch": text()}),
                &[],
            ),
            "hypervisor": object(
                json!({
                    "virtual_machine": {"type": ["boolean", "null"]},
                    "vendor": text_or_null(),
                    "platform": text_or_null(),
                }),
                &[],
            ),
        }),
        &[],
    );
    let build = object(
        json!({
            "clustersweep_version": text(),
            "git_commit": text(),
            "git_dirty": {"type": ["boolean", "null"]},
            "wgpu_version": text(),
            "rustc": text(),
            "profile": text(),
            "opt_level": text(),
            "target": text(),
            "target_cpu": text(),
            "target_features": text(),
        }),
        &[],
    );
    let workload = object(
        json!({
            "name": {"enum": ["default", "synthetic"]},
            "configs": optional_count,
            "scenario": text(),
            "scenario_sha256": sha256(),
            "scenario_configs": count(),
            "definition": text(),
        }),
        &[],
    );
    let body = object(
        json!({
            "schema": {"const": crate::bench::BENCH_SCHEMA},
            "date": date(),
            "build": build,
            "machine": machine,
            "workload": workload,
            "warmup": count(),
            "repeats": count(),
            "results": {"type": "array", "items": result},
        }),
        &[],
    );
    merge_into(&mut schema, body);
    schema
}

/// Statistics of repeated times ([`crate::timing_stats::TimingStats`]).
fn timing_stats() -> Value {
    object(
        json!({
            "n": count(),
            "min": number(),
            "median": number(),
            "mean": number(),
            "sd": number(),
            "ci95": {"oneOf": [
                {"type": "null"},
                {"type": "array", "items": number(), "minItems": 2, "maxItems": 2},
            ]},
        }),
        &[],
    )
}

/// `bench compare --json` ([`crate::bench_compare::BenchComparison`]).
fn bench_compare() -> Value {
    let mut schema = json!({
        "$schema": DIALECT,
        "$id": "https://clustersweep.invalid/schema/bench-compare-1.json",
        "title": crate::bench_compare::COMPARE_SCHEMA,
        "description": "Bench results against a baseline's: per backend the wall time per configuration, the change and the verdict by the rule, warnings for what makes two files unlike (docs/json.md, docs/benchmarks.md).",
    });
    let result = object(
        json!({
            "kind": {"enum": ["cpu", "gpu"]},
            "baseline_name": text(),
            "name": text(),
            "baseline_s_per_config": timing_stats(),
            "s_per_config": timing_stats(),
            "baseline_configs_per_s": number(),
            "configs_per_s": number(),
            "change": number(),
            "verdict": {"enum": ["slower", "faster", "same"]},
        }),
        &[],
    );
    let file = object(
        json!({
            "file": text(),
            "results": {"type": "array", "items": result},
            "unmatched": {"type": "array", "items": text()},
            "warnings": {"type": "array", "items": text()},
            "regressed": {"type": "boolean"},
        }),
        &[],
    );
    let body = object(
        json!({
            "schema": {"const": crate::bench_compare::COMPARE_SCHEMA},
            "baseline": text(),
            "threshold": {"type": "number", "minimum": 0},
            "rule": text(),
            "comparisons": {"type": "array", "items": file},
            "regressed": {"type": "boolean"},
        }),
        &[],
    );
    merge_into(&mut schema, body);
    schema
}

/// Copy `body`'s keys into `schema` (the dialect, id and title first, for readability).
fn merge_into(schema: &mut Value, body: Value) {
    if let (Some(s), Value::Object(b)) = (schema.as_object_mut(), body) {
        let b: Map<String, Value> = b;
        s.extend(b);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_object_is_closed_and_lists_its_required_fields() {
        fn walk(v: &Value, path: &str, objects: &mut usize) {
            match v {
                Value::Object(m) => {
                    if m.get("type") == Some(&json!("object")) && m.contains_key("properties") {
                        *objects += 1;
                        assert_eq!(m["additionalProperties"], json!(false), "{path}");
                        let props = m["properties"].as_object().unwrap();
                        for r in m["required"].as_array().unwrap() {
                            assert!(props.contains_key(r.as_str().unwrap()), "{path}: {r}");
                        }
                    }
                    for (k, x) in m {
                        walk(x, &format!("{path}/{k}"), objects);
                    }
                }
                Value::Array(a) => a.iter().for_each(|x| walk(x, path, objects)),
                _ => {}
            }
        }
        for d in Document::ALL {
            let mut objects = 0;
            let s = d.schema();
            walk(&s, d.name(), &mut objects);
            assert!(objects > 1, "{}", d.name());
            assert_eq!(s["$schema"], DIALECT);
        }
    }

    #[test]
    fn metric_and_parameter_names_come_from_the_model() {
        let s = Document::Summary.schema();
        let names = &s["properties"]["units"]["propertyNames"]["enum"];
        assert_eq!(names.as_array().unwrap().len(), Metric::ALL.len());
        assert!(names
            .as_array()
            .unwrap()
            .contains(&json!(Metric::ALL[0].name())));
        let params = &s["properties"]["best_by"]["items"]["properties"]["params"];
        assert_eq!(
            params["propertyNames"]["enum"].as_array().unwrap().len(),
            Param::all().count()
        );
    }
}
