//! `clustersweep schema NAME` prints a JSON Schema every document of that kind satisfies:
//! summaries of plain, uncertain, grouped, checked, infeasible, merged and GPU runs, the
//! tornado, a diff and a bench document are validated (draft 2020-12, the `jsonschema`
//! crate) against the schema the same binary prints (on the CPU and, on lavapipe, the GPU); and the schemas are strict enough to
//! reject what the tool never writes (an undescribed field, a missing one, a wrong type,
//! an unknown metric).

mod common;

use common::{run, stdout_ok, write};
use serde_json::{json, Value};
use std::path::Path;
use std::process::Output;

fn schema(name: &str) -> Value {
    let text = stdout_ok(&run(&["schema", name]), &format!("schema {name}"));
    serde_json::from_str(&text).expect("schema is JSON")
}

/// The errors of `doc` against `schema`, one line each with the failing path.
fn violations(schema: &Value, doc: &Value) -> Vec<String> {
    let v = jsonschema::validator_for(schema).expect("a valid draft 2020-12 schema");
    v.iter_errors(doc)
        .map(|e| format!("{}: {e}", e.instance_path()))
        .collect()
}

#[track_caller]
fn assert_valid(schema: &Value, doc: &Value, what: &str) {
    let errors = violations(schema, doc);
    assert!(errors.is_empty(), "{what}:\n{}", errors.join("\n"));
}

/// The JSON stdout of a run that exits with `code`.
fn json_of(args: &[&str], code: i32) -> Value {
    let out = run(args);
    assert_eq!(
        out.status.code(),
        Some(code),
        "{args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).expect("JSON on stdout")
}

const ROBUST: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/configs/scenarios/1gw-robust.toml"
);

/// A grid where nothing is feasible (a facility cap no configuration meets).
const NOTHING_FEASIBLE: &str = r#"
name = "nothing feasible"
[fixed]
accelerator = "H100-SXM"
[axes]
gpu_count = [1000, 2000, 4000]
power_frac = [0.6, 1.0]
[constraints]
max_facility_mw = 0.001
"#;

fn path(p: &Path) -> &str {
    p.to_str().unwrap()
}

#[test]
fn summaries_of_every_kind_of_run_satisfy_the_summary_schema() {
    let s = schema("summary");
    let dir = tempfile::tempdir().unwrap();
    let none = write(dir.path(), "none.toml", NOTHING_FEASIBLE);

    let plain = json_of(&["sweep", "--json", "--quiet"], 0);
    assert_valid(&s, &plain, "default scenario");

    let robust = json_of(
        &[
            "sweep",
            ROBUST,
            "--json",
            "--quiet",
            "--sensitivity",
            "--group-by",
            "accelerator",
            "--backend",
            "cpu",
        ],
        0,
    );
    assert!(robust["best"]["uncertainty"].is_object() && robust["sensitivity"].is_object());
    assert_valid(&s, &robust, "uncertain, grouped, with the tornado");

    let checked = json_of(
        &[
            "sweep",
            "--json",
            "--quiet",
            "--check",
            "best.tco_usd <= 1e9",
            "--require-feasible",
        ],
        4,
    );
    assert!(checked["checks"].is_array());
    assert_valid(&s, &checked, "failed check");

    let infeasible = json_of(
        &[
            "sweep",
            path(&none),
            "--json",
            "--quiet",
            "--group-by",
            "gpu_count",
        ],
        0,
    );
    assert!(infeasible["best"].is_null());
    assert_eq!(infeasible["empty_groups"].as_array().map(Vec::len), Some(3));
    assert_valid(&s, &infeasible, "nothing feasible");

    let mut parts = Vec::new();
    for i in 0..2 {
        let part = dir.path().join(format!("part{i}.json"));
        let shard = format!("{i}/2");
        let out = run(&[
            "sweep",
            path(&none),
            "--shard",
            &shard,
            "--partial",
            path(&part),
        ]);
        assert_eq!(out.status.code(), Some(0), "{out:?}");
        parts.push(part);
    }
    let merged = json_of(&["merge", path(&parts[0]), path(&parts[1]), "--json"], 0);
    assert_valid(&s, &merged, "merged shards");
}

#[test]
fn a_summary_from_the_gpu_satisfies_the_summary_schema() {
    let Some(_gpu) = common::gpu(Default::default()) else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let none = write(dir.path(), "none.toml", NOTHING_FEASIBLE);
    let doc = json_of(
        &[
            "sweep",
            path(&none),
            "--backend",
            "gpu",
            "--json",
            "--quiet",
        ],
        0,
    );
    assert_eq!(doc["run"]["backend"]["kind"], "gpu");
    assert_valid(&schema("summary"), &doc, "GPU run");
    // A GPU bench document has the adapter and (where timestamps exist) kernel times.
    let bench = dir.path().join("bench.json");
    let out = run(&[
        "bench",
        "--backend",
        "gpu",
        "--configs",
        "20000",
        "--repeats",
        "2",
        "--warmup",
        "0",
        "--json",
        path(&bench),
    ]);
    assert_eq!(out.status.code(), Some(0), "{out:?}");
    let doc: Value = serde_json::from_slice(&std::fs::read(&bench).unwrap()).unwrap();
    assert!(doc["results"][0]["adapter"].is_object(), "{doc}");
    assert_valid(&schema("bench"), &doc, "GPU bench --json");
}

#[test]
fn tornado_diff_and_bench_documents_satisfy_their_schemas() {
    let tornado = json_of(&["sensitivity", ROBUST, "--json", "--backend", "cpu"], 0);
    assert_valid(&schema("sensitivity"), &tornado, "sensitivity --json");

    let dir = tempfile::tempdir().unwrap();
    let old = dir.path().join("old.json");
    let new = dir.path().join("new.json");
    let before = json_of(&["sweep", "--json", "--quiet"], 0);
    // The same plan with 10% less throughput at the best and one feasible configuration fewer.
    let mut after = before.clone();
    let t = before["best"]["metrics"]["throughput_pflops"]
        .as_f64()
        .unwrap();
    after["best"]["metrics"]["throughput_pflops"] = json!(t * 0.9);
    after["counts"]["feasible"] = json!(before["counts"]["feasible"].as_u64().unwrap() - 1);
    std::fs::write(&old, before.to_string()).unwrap();
    std::fs::write(&new, after.to_string()).unwrap();
    let d = json_of(
        &[
            "diff",
            path(&old),
            path(&new),
            "--json",
            "--max-change",
            "throughput_pflops=-2%",
        ],
        4,
    );
    assert_eq!(d["changes"].as_array().map(Vec::len), Some(2), "{d}");
    assert_valid(&schema("diff"), &d, "diff --json");

    let bench = dir.path().join("bench.json");
    let out = bench_once(&bench);
    assert_eq!(out.status.code(), Some(0), "{out:?}");
    let doc: Value = serde_json::from_slice(&std::fs::read(&bench).unwrap()).unwrap();
    assert_valid(&schema("bench"), &doc, "bench --json");
}

/// `bench` on the CPU over 20,000 configurations, one repetition, its JSON into `file`.
fn bench_once(file: &Path) -> Output {
    run(&[
        "bench",
        "--backend",
        "cpu",
        "--configs",
        "20000",
        "--repeats",
        "1",
        "--json",
        path(file),
    ])
}

/// A change to a document, for the schema to catch.
type Mutation = fn(&mut Value);

#[test]
fn the_summary_schema_rejects_what_the_tool_never_writes() {
    let s = schema("summary");
    let doc = json_of(&["sweep", "--json", "--quiet"], 0);
    assert_valid(&s, &doc, "as written");
    let mutations: [(&str, Mutation); 6] = [
        ("an undescribed field", |d| d["surprise"] = json!(1)),
        ("no run", |d| {
            d.as_object_mut().unwrap().remove("run");
        }),
        ("a count as text", |d| d["counts"]["feasible"] = json!("12")),
        ("an unknown metric", |d| {
            d["stats"]["warp_factor"] = json!({"min": 1, "max": 2, "mean": 1.5})
        }),
        ("another schema", |d| {
            d["schema"] = json!("clustersweep.summary/1")
        }),
        ("a short digest", |d| d["scenario"]["sha256"] = json!("abc")),
    ];
    for (what, mutate) in mutations {
        let mut bad = doc.clone();
        mutate(&mut bad);
        assert!(
            !violations(&s, &bad).is_empty(),
            "the schema accepted {what}"
        );
    }
}

#[test]
fn a_bench_comparison_satisfies_its_schema() {
    let dir = tempfile::tempdir().unwrap();
    let files: Vec<String> = ["a.json", "b.json"]
        .iter()
        .map(|name| {
            let p = dir.path().join(name);
            let out = common::tiny_cpu_bench("20000", &["--json", path(&p)]);
            stdout_ok(&out, "bench");
            path(&p).to_string()
        })
        .collect();
    // A third run of one repetition: no interval, a warning that the repeats differ.
    let one = dir.path().join("one.json");
    let out = bench_once(&one);
    stdout_ok(&out, "bench --repeats 1");
    let c = json_of(
        &[
            "bench",
            "compare",
            &files[0],
            &files[1],
            path(&one),
            "--threshold",
            "1000%",
            "--json",
        ],
        0,
    );
    assert_eq!(c["schema"], "clustersweep.bench-compare/1");
    assert_eq!(c["comparisons"].as_array().map(Vec::len), Some(2), "{c}");
    assert!(c["comparisons"][1]["results"][0]["s_per_config"]["ci95"].is_null());
    let s = schema("bench-compare");
    assert_valid(&s, &c, "bench compare --json");
    let mutations: [(&str, Mutation); 3] = [
        ("an undescribed field", |d| d["surprise"] = json!(1)),
        ("an unknown verdict", |d| {
            d["comparisons"][0]["results"][0]["verdict"] = json!("worse")
        }),
        ("no regressed", |d| {
            d.as_object_mut().unwrap().remove("regressed");
        }),
    ];
    for (what, mutate) in mutations {
        let mut bad = c.clone();
        mutate(&mut bad);
        assert!(!violations(&s, &bad).is_empty(), "{what} passed the schema");
    }
}
