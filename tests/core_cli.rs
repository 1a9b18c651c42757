//! The binary end to end: `sweep --json` fields and values (checked against a brute-force
//! loop over the library's scalar model), `--out` files, `eval`, `catalog`, exit codes.

use clustersweep::catalog::Catalog;
use clustersweep::model::{evaluate, is_feasible, Metric, Sense};
use clustersweep::params::{CostModel, Param, ParamKind, Precision};
use clustersweep::scenario::Scenario;
use serde_json::Value;
use std::collections::BTreeSet;
use std::process::Output;

mod common;
use common::{run, write, NUMERIC_FIELDS, REQUIRED_IDS};

/// 3 accelerators x 5 sizes x 2 precisions x 3 power fractions x 2 job sizes = 180.
/// A100 has no fp8 peak and H100 at 25% of 700 W is below its 200 W floor: invalid ones.
const SMALL: &str = r#"
name = "cli-small"
description = "a small grid for the CLI tests"
[axes]
accelerator = ["H100-SXM", "B200", "A100-SXM4-80GB"]
gpu_count = { from = 1000, to = 20000, steps = 5, scale = "log" }
precision = ["bf16", "fp8"]
power_frac = [0.25, 0.6, 1.0]
job_gpus = [0, 2048]
[fixed]
cost_model = "own"
years = 4
[workload]
train_flop = 1e25
[constraints]
max_facility_mw = 30
[objective]
metric = "usd_per_eflop"
"#;

#[track_caller]
fn ok(out: &Output, what: &str) -> String {
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{what}: stderr {stderr}");
    assert!(!stderr.contains("panicked"), "{what}: {stderr}");
    String::from_utf8(out.stdout.clone()).unwrap()
}

#[track_caller]
fn json_ok(out: &Output, what: &str) -> Value {
    let s = ok(out, what);
    serde_json::from_str(&s).unwrap_or_else(|e| panic!("{what}: not JSON ({e}): {s}"))
}

fn keys(v: &Value) -> BTreeSet<String> {
    v.as_object()
        .unwrap_or_else(|| panic!("not an object: {v}"))
        .keys()
        .cloned()
        .collect()
}

fn set(names: &[&str]) -> BTreeSet<String> {
    names.iter().map(|s| s.to_string()).collect()
}

#[track_caller]
fn has_keys(v: &Value, names: &[&str], what: &str) {
    let k = keys(v);
    for n in names {
        assert!(k.contains(*n), "{what}: missing `{n}` in {k:?}");
    }
}

/// What the library's scalar model says about every configuration of a scenario.
struct Brute {
    evaluated: u64,
    invalid: u64,
    feasible: u64,
    best: Option<u64>,
    /// best index per accelerator id
    best_by_acc: Vec<(String, u64)>,
    /// feasible configurations per accelerator id
    feasible_by_acc: Vec<(String, u64)>,
}

fn brute(text: &str) -> (Scenario, Brute) {
    let catalog = Catalog::builtin().unwrap();
    let s = Scenario::parse("x.toml", text, &catalog).unwrap();
    let obj = s.objective;
    let better = |a: f64, b: f64| match obj.sense {
        Sense::Max => a > b,
        Sense::Min => a < b,
    };
    let mut b = Brute {
        evaluated: 0,
        invalid: 0,
        feasible: 0,
        best: None,
        best_by_acc: Vec::new(),
        feasible_by_acc: Vec::new(),
    };
    let mut best_v = 0.0;
    let mut by: Vec<(String, u64, f64)> = Vec::new();
    for i in 0..s.grid().size {
        let (c, a) = s.resolve(&s.values_at_index(i));
        let e = evaluate(&c, a, &s.workload);
        b.evaluated += 1;
        if !e.valid {
            b.invalid += 1;
            continue;
        }
        if !is_feasible(&e, &s.constraints) {
            continue;
        }
        b.feasible += 1;
        match b.feasible_by_acc.iter_mut().find(|(id, _)| *id == a.id) {
            Some(slot) => slot.1 += 1,
            None => b.feasible_by_acc.push((a.id.clone(), 1)),
        }
        let v = e.metrics[obj.metric as usize];
        if b.best.is_none() || better(v, best_v) {
            b.best = Some(i);
            best_v = v;
        }
        match by.iter_mut().find(|(id, _, _)| *id == a.id) {
            Some(slot) => {
                if better(v, slot.2) {
                    slot.1 = i;
                    slot.2 = v;
                }
            }
            None => by.push((a.id.clone(), i, v)),
        }
    }
    b.best_by_acc = by.into_iter().map(|(id, i, _)| (id, i)).collect();
    (s, b)
}

/// `params` holds every parameter: categorical ones as strings, integers as integers.
#[track_caller]
fn check_params(p: &Value, what: &str) {
    let names: Vec<&str> = Param::all().map(Param::name).collect();
    assert_eq!(keys(p), set(&names), "{what}: params names");
    for param in Param::all() {
        let v = &p[param.name()];
        match param.kind() {
            ParamKind::Categorical => assert!(v.is_string(), "{what}: {param} = {v}"),
            ParamKind::Integer => assert!(v.is_u64() || v.is_i64(), "{what}: {param} = {v}"),
            ParamKind::Real => assert!(v.is_number(), "{what}: {param} = {v}"),
        }
    }
}

/// `metrics` holds the spec's metric names that apply, with the model's values.
#[track_caller]
fn check_metrics(s: &Scenario, index: u64, m: &Value, what: &str) {
    let names: Vec<&str> = Metric::ALL
        .iter()
        .filter(|x| x.applies(&s.workload))
        .map(|x| x.name())
        .collect();
    assert_eq!(keys(m), set(&names), "{what}: metric names");
    let (c, a) = s.resolve(&s.values_at_index(index));
    let e = evaluate(&c, a, &s.workload);
    for name in names {
        let want = e.metrics[Metric::from_name(name).unwrap() as usize];
        let got = m[name].as_f64().unwrap_or(f64::NAN);
        assert!(
            same(got, want),
            "{what}: {name} at index {index}: {got} vs {want}"
        );
    }
}

#[track_caller]
fn check_reported(s: &Scenario, v: &Value, what: &str) -> u64 {
    let index = v["index"].as_u64().unwrap();
    check_params(&v["params"], what);
    check_metrics(s, index, &v["metrics"], what);
    // The params are those of that index.
    let (c, a) = s.resolve(&s.values_at_index(index));
    assert_eq!(v["params"]["accelerator"], a.id.as_str(), "{what}");
    assert_eq!(
        v["params"]["precision"],
        Precision::from_code(c[Param::Precision]).name(),
        "{what}"
    );
    assert_eq!(
        v["params"]["cost_model"],
        CostModel::from_code(c[Param::CostModel]).name(),
        "{what}"
    );
    assert_eq!(
        v["params"]["gpu_count"].as_u64(),
        Some(c[Param::GpuCount] as u64),
        "{what}"
    );
    assert_eq!(
        v["params"]["job_gpus"].as_u64(),
        Some(c[Param::JobGpus] as u64),
        "{what}"
    );
    let power_w = v["params"]["power_w"].as_f64().unwrap();
    assert!(same(power_w, c.power_w(a)), "{what}: power_w {power_w}");
    assert_eq!(
        v["params"]["years"].as_f64(),
        Some(c[Param::Years]),
        "{what}"
    );
    index
}

/// Equal up to a few ulps: serde_json's default float parser (no `float_roundtrip`
/// feature) may read the shortest round-trip text it wrote one ulp off.
fn same(a: f64, b: f64) -> bool {
    a == b || (a - b).abs() <= 4.0 * f64::EPSILON * a.abs().max(b.abs())
}

#[test]
fn sweep_json_has_the_summary_fields_and_the_models_values() {
    let dir = tempfile::tempdir().unwrap();
    let path = write(dir.path(), "small.toml", SMALL);
    let p = path.to_str().unwrap();
    let doc = json_ok(&run(&["sweep", p, "--backend", "cpu", "--json"]), "sweep");
    let (s, b) = brute(SMALL);

    assert_eq!(doc["schema"], "clustersweep.summary/2");
    has_keys(
        &doc,
        &[
            "schema",
            "scenario",
            "catalog",
            "grid",
            "counts",
            "objective",
            "best",
            "best_by",
            "pareto",
            "stats",
            "run",
        ],
        "top level",
    );
    has_keys(&doc["scenario"], &["name"], "scenario");
    assert_eq!(doc["scenario"]["name"], "cli-small");
    has_keys(&doc["run"]["backend"], &["kind", "name"], "backend");
    assert_eq!(doc["run"]["backend"]["kind"], "cpu");
    assert_eq!(doc["run"]["requested_backend"], "cpu");
    assert!(doc["run"]["backend"]["name"].is_string());

    assert_eq!(keys(&doc["grid"]), set(&["size", "axes"]));
    assert_eq!(doc["grid"]["size"], 180);
    let axes: Vec<(String, u64)> = doc["grid"]["axes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| {
            assert_eq!(keys(a), set(&["name", "len"]));
            (
                a["name"].as_str().unwrap().to_string(),
                a["len"].as_u64().unwrap(),
            )
        })
        .collect();
    let want_axes: Vec<(String, u64)> = [
        ("accelerator", 3),
        ("gpu_count", 5),
        ("precision", 2),
        ("power_frac", 3),
        ("job_gpus", 2),
    ]
    .iter()
    .map(|(n, l)| (n.to_string(), *l))
    .collect();
    assert_eq!(axes, want_axes);

    assert_eq!(
        keys(&doc["counts"]),
        set(&["evaluated", "invalid", "feasible"])
    );
    assert_eq!(doc["counts"]["evaluated"], b.evaluated);
    assert_eq!(doc["counts"]["invalid"], b.invalid);
    assert_eq!(doc["counts"]["feasible"], b.feasible);
    assert!(b.invalid > 0 && b.feasible > 0 && b.invalid + b.feasible < 180);

    assert_eq!(keys(&doc["objective"]), set(&["metric", "sense", "unit"]));
    assert_eq!(doc["objective"]["metric"], "usd_per_eflop");
    assert_eq!(doc["objective"]["sense"], "min");

    assert_eq!(keys(&doc["best"]), set(&["index", "params", "metrics"]));
    let best = check_reported(&s, &doc["best"], "best");
    assert_eq!(Some(best), b.best);

    // best_by: default group is the accelerator axis.
    let groups = doc["best_by"].as_array().unwrap();
    assert_eq!(groups.len(), b.best_by_acc.len());
    for g in groups {
        assert_eq!(
            keys(g),
            set(&["group", "index", "params", "metrics", "feasible"])
        );
        assert_eq!(keys(&g["group"]), set(&["accelerator"]));
        let id = g["group"]["accelerator"].as_str().unwrap();
        let index = check_reported(&s, g, "best_by");
        let want = b.best_by_acc.iter().find(|(a, _)| a == id).unwrap().1;
        assert_eq!(index, want, "best_by {id}");
        let count = b.feasible_by_acc.iter().find(|(a, _)| a == id).unwrap().1;
        assert_eq!(g["feasible"], count, "best_by {id} feasible");
        assert_eq!(g["params"]["accelerator"], id);
    }

    let pareto = doc["pareto"].as_array().unwrap();
    assert!(!pareto.is_empty());
    let mut last_fac = 0.0;
    for p in pareto {
        assert_eq!(keys(p), set(&["index", "params", "metrics"]));
        check_reported(&s, p, "pareto");
        let fac = p["metrics"]["facility_mw"].as_f64().unwrap();
        assert!(fac > last_fac && fac <= 30.0, "pareto by facility_mw");
        last_fac = fac;
    }
    // The best overall is on the frontier (nothing with less power is cheaper per EFLOP).
    assert!(pareto.iter().any(|p| p["index"] == best));

    let applicable: Vec<&str> = Metric::ALL
        .iter()
        .filter(|m| m.applies(&s.workload))
        .map(|m| m.name())
        .collect();
    assert_eq!(keys(&doc["stats"]), set(&applicable));
    for name in applicable {
        let st = &doc["stats"][name];
        assert_eq!(keys(st), set(&["min", "max", "mean"]), "stats {name}");
        let (lo, hi, mean) = (
            st["min"].as_f64().unwrap(),
            st["max"].as_f64().unwrap(),
            st["mean"].as_f64().unwrap(),
        );
        assert!(
            lo <= mean * (1.0 + 1e-12) && mean <= hi * (1.0 + 1e-12),
            "{name}"
        );
    }
    assert_eq!(
        doc["stats"]["usd_per_eflop"]["min"],
        doc["best"]["metrics"]["usd_per_eflop"]
    );

    assert!(doc["run"]["elapsed_s"].as_f64().unwrap() >= 0.0);
    assert!(doc["run"]["configs_per_s"].as_f64().unwrap() >= 0.0);
}

#[test]
fn best_is_null_when_nothing_is_feasible() {
    let dir = tempfile::tempdir().unwrap();
    let text = SMALL.replace("max_facility_mw = 30", "max_facility_mw = 0.001");
    let path = write(dir.path(), "none.toml", &text);
    let out_dir = dir.path().join("out");
    let doc = json_ok(
        &run(&[
            "sweep",
            path.to_str().unwrap(),
            "--backend",
            "cpu",
            "--json",
            "--out",
            out_dir.to_str().unwrap(),
        ]),
        "sweep with nothing feasible",
    );
    assert_eq!(doc["counts"]["feasible"], 0);
    assert_eq!(doc["counts"]["evaluated"], 180);
    assert!(doc["best"].is_null(), "best: {}", doc["best"]);
    assert_eq!(doc["best_by"], serde_json::json!([]));
    assert_eq!(doc["pareto"], serde_json::json!([]));
    // Every metric keeps its stats key, with nulls.
    assert_eq!(keys(&doc["stats"]), keys(&doc["units"]));
    for (m, st) in doc["stats"].as_object().unwrap() {
        assert_eq!(
            st,
            &serde_json::json!({"min": null, "max": null, "mean": null}),
            "{m}"
        );
    }
    // The files are still written and parse.
    let file: Value =
        serde_json::from_slice(&std::fs::read(out_dir.join("summary.json")).unwrap()).unwrap();
    assert_eq!(file, doc);
    // No frontier; every group is listed in best_by.csv with nothing feasible (count 0, no
    // configuration), as in the JSON's `empty_groups`.
    let groups = doc["empty_groups"].as_array().map_or(0, Vec::len);
    for (name, rows) in [("best_by.csv", groups), ("pareto.csv", 0)] {
        let mut r = csv::Reader::from_path(out_dir.join(name)).unwrap();
        assert!(r.headers().unwrap().iter().any(|h| h == "index"), "{name}");
        let header = r.headers().unwrap().clone();
        let at = |col: &str| header.iter().position(|h| h == col);
        let records: Vec<csv::StringRecord> = r.records().map(Result::unwrap).collect();
        assert_eq!(records.len(), rows, "{name}");
        for row in records {
            assert_eq!(at("feasible").map(|i| &row[i]), Some("0"), "{name}");
            assert_eq!(at("index").map(|i| &row[i]), Some(""), "{name}");
        }
    }
    // Human output works too.
    let text = ok(
        &run(&["sweep", path.to_str().unwrap(), "--backend", "cpu"]),
        "human",
    );
    assert!(text.contains("cli-small"));
}

#[test]
fn out_dir_files_parse_and_match_the_json() {
    let dir = tempfile::tempdir().unwrap();
    let path = write(dir.path(), "small.toml", SMALL);
    let p = path.to_str().unwrap();
    let out_dir = dir.path().join("results").join("run1");
    let o = out_dir.to_str().unwrap();
    // Human output plus --out (the folder is created).
    let human = ok(&run(&["sweep", p, "--backend", "cpu", "--out", o]), "--out");
    assert!(human.contains("cli-small"), "{human}");
    let doc = json_ok(&run(&["sweep", p, "--backend", "cpu", "--json"]), "--json");

    let mut files: Vec<String> = std::fs::read_dir(&out_dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    files.sort();
    assert_eq!(
        files,
        [
            "best_by.csv",
            "distribution.png",
            "distribution.svg",
            "heatmap.csv",
            "heatmap.png",
            "heatmap.svg",
            "pareto.csv",
            "pareto.png",
            "pareto.svg",
            "report.html",
            "summary.json"
        ]
    );

    let file: Value =
        serde_json::from_slice(&std::fs::read(out_dir.join("summary.json")).unwrap()).unwrap();
    assert!(file["run"]["elapsed_s"].is_number());
    assert_eq!(common::without_run(file), common::without_run(doc.clone()));

    let metric_names: Vec<&str> = doc["best"]["metrics"]
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    for (name, list) in [("best_by.csv", "best_by"), ("pareto.csv", "pareto")] {
        let mut r = csv::Reader::from_path(out_dir.join(name)).unwrap();
        let header: Vec<String> = r.headers().unwrap().iter().map(String::from).collect();
        for col in ["index", "accelerator", "gpu_count", "power_w"]
            .iter()
            .chain(&metric_names)
        {
            assert!(
                header.iter().any(|h| h == col),
                "{name}: no `{col}` in {header:?}"
            );
        }
        let at = |col: &str| header.iter().position(|h| h == col).unwrap();
        let rows: Vec<csv::StringRecord> = r.records().map(|x| x.unwrap()).collect();
        let want = doc[list].as_array().unwrap();
        assert_eq!(rows.len(), want.len(), "{name}: rows");
        for (row, w) in rows.iter().zip(want) {
            assert_eq!(row.len(), header.len(), "{name}: ragged row");
            assert_eq!(row[at("index")], w["index"].to_string(), "{name}");
            assert_eq!(
                row[at("accelerator")],
                *w["params"]["accelerator"].as_str().unwrap()
            );
            assert_eq!(row[at("gpu_count")], w["params"]["gpu_count"].to_string());
            for m in &metric_names {
                let x: f64 = row[at(m)].parse().unwrap();
                let y = w["metrics"][*m].as_f64().unwrap();
                assert!(same(x, y), "{name}: {m}: {x} vs {y}");
            }
        }
    }

    // One run with both --json and --out: the file is exactly what was printed.
    let both = dir.path().join("both");
    let printed = json_ok(
        &run(&[
            "sweep",
            p,
            "--backend",
            "cpu",
            "--json",
            "--out",
            both.to_str().unwrap(),
        ]),
        "--json --out",
    );
    let file: Value =
        serde_json::from_slice(&std::fs::read(both.join("summary.json")).unwrap()).unwrap();
    assert_eq!(file, printed);
}

#[test]
fn group_by_threads_and_backends() {
    let dir = tempfile::tempdir().unwrap();
    let path = write(dir.path(), "small.toml", SMALL);
    let p = path.to_str().unwrap();
    let base = common::without_run(json_ok(
        &run(&["sweep", p, "--backend", "cpu", "--json", "--threads", "1"]),
        "1 thread",
    ));
    let two = common::without_run(json_ok(
        &run(&["sweep", p, "--backend", "cpu", "--json", "--threads", "2"]),
        "2 threads",
    ));
    let strip = |mut v: Value| {
        v["run"] = Value::Null;
        v
    };
    assert_eq!(strip(base.clone()), strip(two));

    let grouped = |by: &str| {
        let args = ["sweep", p, "--backend", "cpu", "--json", "--group-by", by];
        json_ok(&run(&args), &format!("--group-by {by}"))
    };
    let g2 = grouped("accelerator,precision");
    let groups = g2["best_by"].as_array().unwrap();
    // A100 has no fp8: 5 groups with feasible configurations at most.
    assert!(groups.len() >= 2 && groups.len() <= 5, "{}", groups.len());
    for g in groups {
        assert_eq!(keys(&g["group"]), set(&["accelerator", "precision"]));
        assert_eq!(g["group"]["precision"], g["params"]["precision"]);
        assert_eq!(g["group"]["accelerator"], g["params"]["accelerator"]);
    }
    let g_int = grouped("job_gpus");
    for g in g_int["best_by"].as_array().unwrap() {
        assert!(g["group"]["job_gpus"].is_u64(), "{}", g["group"]);
        assert_eq!(g["group"]["job_gpus"], g["params"]["job_gpus"]);
    }
    let none = grouped("none");
    assert_eq!(none["best_by"], serde_json::json!([]));
    assert_eq!(none["best"], base["best"]);

    // auto: a GPU or the CPU, same answer.
    let auto = json_ok(&run(&["sweep", p, "--backend", "auto", "--json"]), "auto");
    assert_eq!(auto["counts"], base["counts"]);
    assert_eq!(auto["best"]["index"], base["best"]["index"]);

    // gpu: either unavailable (exit 3, one line) or the same answer. Not asserting which.
    let out = run(&["sweep", p, "--backend", "gpu", "--json"]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!stderr.contains("panicked"), "{stderr}");
    match out.status.code() {
        Some(3) => {
            assert_eq!(stderr.trim_end().lines().count(), 1, "{stderr}");
            assert!(out.stdout.is_empty());
        }
        Some(0) => {
            let gpu: Value = serde_json::from_slice(&out.stdout).unwrap();
            assert_eq!(gpu["run"]["backend"]["kind"], "gpu");
            assert_eq!(gpu["counts"], base["counts"]);
            assert_eq!(gpu["best"]["index"], base["best"]["index"]);
        }
        other => panic!("--backend gpu: exit {other:?}: {stderr}"),
    }
}

#[test]
fn eval_json_and_set() {
    let dir = tempfile::tempdir().unwrap();
    let path = write(dir.path(), "small.toml", SMALL);
    let p = path.to_str().unwrap();

    // Axes at their first value: H100, 1000 GPUs, bf16, power_frac 0.25 (175 W < 200 W).
    let v = json_ok(&run(&["eval", p, "--json"]), "eval");
    assert_eq!(
        keys(&v),
        set(&["params", "metrics", "valid", "feasible", "reasons"])
    );
    check_params(&v["params"], "eval");
    assert_eq!(
        v["reasons"][0],
        "the power limit 175 W is below H100-SXM's min_power_w 200 W"
    );
    assert_eq!(v["params"]["accelerator"], "H100-SXM");
    assert_eq!(v["params"]["gpu_count"], 1000);
    assert_eq!(v["params"]["job_gpus"], 0);
    assert_eq!(v["params"]["power_frac"].as_f64(), Some(0.25));
    assert_eq!(v["params"]["power_w"].as_f64(), Some(175.0));
    assert_eq!(v["params"]["utilization"].as_f64(), Some(0.4));
    assert_eq!(v["params"]["years"].as_f64(), Some(4.0));
    assert_eq!(v["valid"], false);
    assert_eq!(v["feasible"], false);

    // --set: full power, 2048 GPUs.
    let v = json_ok(
        &run(&[
            "eval",
            p,
            "--json",
            "--set",
            "power_frac=1.0",
            "--set",
            "gpu_count=2048",
        ]),
        "eval --set",
    );
    assert_eq!(v["valid"], true);
    assert_eq!(v["feasible"], true);
    assert_eq!(v["params"]["gpu_count"], 2048);
    assert_eq!(v["params"]["power_w"].as_f64(), Some(700.0));
    // By hand: H100 bf16 989.4 TFLOP/s, u 0.4, s = 1; J = 2048;
    // M = 50677 h * 3600 / 2048; g = 1 - (sqrt(60 / M) + 300 / M).
    let m = 50_677.0 * 3600.0 / 2048.0;
    let g: f64 = 1.0 - ((60.0f64 / m).sqrt() + 300.0 / m);
    let pflops = 2048.0 * 989.4e12 * 0.4 * g / 1e15;
    let got = v["metrics"]["throughput_pflops"].as_f64().unwrap();
    assert!(((got - pflops) / pflops).abs() < 1e-12, "{got} vs {pflops}");
    // facility = 2048 * (700 + 575) * 1.2 W
    let fac = v["metrics"]["facility_mw"].as_f64().unwrap();
    assert!((fac - 2048.0 * 1275.0 * 1.2 / 1e6).abs() < 1e-9, "{fac}");
    let days = v["metrics"]["train_days"].as_f64().unwrap();
    assert!((days - 1e25 / (pflops * 1e15) / 86_400.0).abs() < 1e-9 * days);
    // Every metric of the scenario, by its spec name.
    let names: Vec<&str> = Metric::ALL
        .iter()
        .filter(|m| **m != Metric::TokensPerS)
        .map(|m| m.name())
        .collect();
    assert_eq!(keys(&v["metrics"]), set(&names));

    // Categorical --set, and power_w replacing the power_frac axis.
    let v = json_ok(
        &run(&[
            "eval",
            p,
            "--json",
            "--set",
            "accelerator=B200",
            "--set",
            "precision=fp4",
            "--set",
            "power_w=1000",
            "--set",
            "cost_model=rent",
            "--set",
            "gpu_hour_usd=2.5",
        ]),
        "eval --set categorical",
    );
    assert_eq!(v["params"]["accelerator"], "B200");
    assert_eq!(v["params"]["precision"], "fp4");
    assert_eq!(v["params"]["cost_model"], "rent");
    assert_eq!(v["params"]["power_w"].as_f64(), Some(1000.0));
    assert_eq!(v["valid"], true);
    assert_eq!(v["metrics"]["capex_usd"].as_f64(), Some(0.0));

    // Zero goodput: non-finite metrics are null, and the configuration is not feasible.
    let v = json_ok(
        &run(&[
            "eval",
            p,
            "--json",
            "--set",
            "power_frac=1",
            "--set",
            "restart_s=1e9",
        ]),
        "eval zero goodput",
    );
    assert_eq!(v["valid"], true);
    assert_eq!(v["feasible"], false);
    assert_eq!(v["metrics"]["goodput"].as_f64(), Some(0.0));
    assert!(v["metrics"]["usd_per_eflop"].is_null());
    assert!(v["metrics"]["train_days"].is_null());

    // Human output: every parameter and every metric.
    let text = ok(&run(&["eval", p, "--set", "power_frac=1"]), "eval human");
    for name in Param::all().map(Param::name).chain(names.iter().copied()) {
        assert!(text.contains(name), "eval output lacks {name}:\n{text}");
    }

    // Bad --set: exit 2 with one line.
    for bad in [
        "foo=1",
        "gpu_count=abc",
        "gpu_count",
        "accelerator=H900",
        "precision=fp16",
        "cost_model=lease",
        "pue=nan",
        "pue=inf",
        "gpu_count=1e400",
    ] {
        let out = run(&["eval", p, "--json", "--set", bad]);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "--set {bad}: {stderr}");
        assert_eq!(
            stderr.trim_end().lines().count(),
            1,
            "--set {bad}: {stderr}"
        );
        assert!(!stderr.contains("panicked"));
        assert!(out.stdout.is_empty(), "--set {bad}");
    }
}

#[test]
fn eval_without_scenario_uses_the_builtin_default() {
    let v = json_ok(&run(&["eval", "--json"]), "eval default");
    check_params(&v["params"], "eval default");
    let catalog = Catalog::builtin().unwrap();
    let s = Scenario::builtin_default(&catalog).unwrap();
    check_metrics(&s, 0, &v["metrics"], "eval default");
    let (c, a) = s.resolve(&s.values_at_index(0));
    assert_eq!(v["params"]["accelerator"], a.id.as_str());
    assert_eq!(v["params"]["cost_model"], "rent");
    assert_eq!(
        v["params"]["gpu_count"].as_u64(),
        Some(c[Param::GpuCount] as u64)
    );
    let text = ok(&run(&["eval"]), "eval default human");
    assert!(text.contains("throughput_pflops"));
}

#[test]
fn catalog_lists_the_required_accelerators() {
    let text = ok(&run(&["catalog"]), "catalog");
    for id in REQUIRED_IDS {
        assert!(
            text.lines()
                .any(|l| l.split_whitespace().next() == Some(id)),
            "catalog table lacks {id}:\n{text}"
        );
    }
    let v = json_ok(&run(&["catalog", "--json"]), "catalog --json");
    let list = v["accelerators"].as_array().unwrap();
    let ids: Vec<&str> = list.iter().map(|a| a["id"].as_str().unwrap()).collect();
    for id in REQUIRED_IDS {
        assert!(ids.contains(&id), "catalog --json lacks {id}: {ids:?}");
    }
    for a in list {
        let id = a["id"].as_str().unwrap();
        let f = |k: &str| {
            a[k].as_f64()
                .unwrap_or_else(|| panic!("{id}: {k} = {}", a[k]))
        };
        // Every numeric field but the peaks (an object per precision).
        for k in NUMERIC_FIELDS.into_iter().filter(|k| *k != "peak_tflops") {
            assert!(f(k).is_finite() && f(k) >= 0.0, "{id}: {k}");
        }
        assert!(
            f("idle_w") < f("min_power_w") && f("min_power_w") <= f("tdp_w"),
            "{id}: idle_w < min_power_w <= tdp_w"
        );
        assert!(
            !a["source"].as_str().unwrap_or("").trim().is_empty(),
            "{id}: source"
        );
        let peaks = &a["peak_tflops"];
        assert!(!keys(peaks).is_empty(), "{id}: peaks");
        let p = |k: &str| peaks[k].as_f64();
        if let (Some(fp8), Some(bf16)) = (p("fp8"), p("bf16")) {
            assert!(fp8 >= bf16, "{id}: fp8 >= bf16");
        }
        if let (Some(fp4), Some(fp8)) = (p("fp4"), p("fp8")) {
            assert!(fp4 >= fp8, "{id}: fp4 >= fp8");
        }
    }
    // The JSON is the library's catalog.
    let catalog = Catalog::builtin().unwrap();
    assert_eq!(ids, catalog.ids());
}

/// The built-in default scenario (~1.8e8 configurations) is too slow for a debug build;
/// run with `cargo test --release -- --ignored` (or it runs by itself in release).
#[test]
#[cfg_attr(
    debug_assertions,
    ignore = "about 1.8e8 configurations: run in release"
)]
fn sweep_without_scenario_runs_the_builtin_default() {
    let doc = json_ok(
        &run(&["sweep", "--backend", "cpu", "--json"]),
        "default sweep",
    );
    let catalog = Catalog::builtin().unwrap();
    let s = Scenario::builtin_default(&catalog).unwrap();
    assert_eq!(doc["scenario"]["name"], s.name.as_str());
    assert_eq!(doc["grid"]["size"], s.grid().size);
    assert!(s.grid().size >= 100_000_000);
    assert_eq!(doc["counts"]["evaluated"], s.grid().size);
    let best = check_reported(&s, &doc["best"], "default best");
    assert!(doc["best"]["metrics"]["tco_usd"].as_f64().unwrap() <= 38e9);
    let (c, a) = s.resolve(&s.values_at_index(best));
    assert!(is_feasible(&evaluate(&c, a, &s.workload), &s.constraints));
}
