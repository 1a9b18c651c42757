//! CI guardrails end to end: `--check`, `--require-feasible` and a scenario's `[checks]`
//! decide exit 4 with the check, value and bound named; several scenarios in one run with
//! `--out DIR` write `DIR/<name>/`.

use serde_json::Value;
use std::process::Output;

mod common;
use common::{run, stderr, write};

/// 2 accelerators x 5 sizes; a 30 MW cap leaves some feasible.
const SMALL: &str = r#"
name = "guard-small"
[axes]
accelerator = ["H100-SXM", "B200"]
gpu_count = { from = 1000, to = 20000, steps = 5, scale = "log" }
[fixed]
cost_model = "own"
[constraints]
max_facility_mw = 30
"#;

/// `sweep FILE --backend cpu EXTRA...`.
fn sweep_cpu(file: &str, extra: &[&str]) -> Output {
    let mut args = vec!["sweep", file, "--backend", "cpu"];
    args.extend_from_slice(extra);
    run(&args)
}

/// Assert the exit code and that stderr contains `needle`.
#[track_caller]
fn expect(o: &Output, code: i32, needle: &str) {
    let err = stderr(o);
    assert_eq!(o.status.code(), Some(code), "{err}");
    assert!(err.contains(needle), "no `{needle}` in: {err}");
}

fn json(o: &Output) -> Value {
    serde_json::from_slice(&o.stdout)
        .unwrap_or_else(|e| panic!("not JSON ({e}): {}", String::from_utf8_lossy(&o.stdout)))
}

#[test]
fn check_flags_pass_and_fail_with_exit_4() {
    let dir = tempfile::tempdir().unwrap();
    let p = write(dir.path(), "s.toml", SMALL);
    let p = p.to_str().unwrap();
    // The best throughput, to set bounds either side of it.
    let base = run(&["sweep", p, "--backend", "cpu", "--json"]);
    assert_eq!(base.status.code(), Some(0), "{}", stderr(&base));
    let best = json(&base)["best"]["metrics"]["throughput_pflops"]
        .as_f64()
        .unwrap();

    let below = format!("best.throughput_pflops >= {}", best * 0.5);
    let above = format!("best.throughput_pflops >= {}", best * 2.0);
    let pass = run(&[
        "sweep",
        p,
        "--backend",
        "cpu",
        "--json",
        "--check",
        &below,
        "--require-feasible",
    ]);
    assert_eq!(pass.status.code(), Some(0), "{}", stderr(&pass));
    let doc = json(&pass);
    let checks = doc["checks"].as_array().unwrap();
    assert_eq!(checks.len(), 2);
    assert!(checks.iter().all(|c| c["pass"] == true), "{checks:?}");
    assert_eq!(checks[1]["value"].as_f64(), Some(best));

    let fail = run(&[
        "sweep",
        p,
        "--backend",
        "cpu",
        "--json",
        "--check",
        &below,
        "--check",
        &above,
    ]);
    assert_eq!(fail.status.code(), Some(4), "{}", stderr(&fail));
    let err = stderr(&fail);
    let line = err
        .lines()
        .find(|l| l.contains("FAIL"))
        .unwrap_or_else(|| panic!("no FAIL line: {err}"));
    assert!(line.contains("best.throughput_pflops >= "), "{line}");
    assert!(
        line.contains(&format!(
            "bound {}",
            clustersweep::format::fmt_num(best * 2.0)
        )),
        "{line}"
    );
    assert!(
        line.contains(&format!("value {}", clustersweep::format::fmt_num(best))),
        "{line}"
    );
    assert_eq!(err.matches("FAIL").count(), 1, "{err}");
    // stdout is still the whole summary, with the failed check in it.
    let doc = json(&fail);
    assert_eq!(doc["checks"][1]["pass"], false);
}

#[test]
fn nothing_feasible_exits_0_unless_feasibility_is_required() {
    let dir = tempfile::tempdir().unwrap();
    let none = SMALL.replace("max_facility_mw = 30", "max_facility_mw = 0.001");
    let p = write(dir.path(), "none.toml", &none);
    let p = p.to_str().unwrap();
    expect(&sweep_cpu(p, &[]), 0, "");
    let req = sweep_cpu(p, &["--require-feasible"]);
    expect(&req, 4, "FAIL counts.feasible >= 1 (value 0");
    // A check on a field of a null best fails (it does not pass silently).
    let null = sweep_cpu(p, &["--check", "best.tco_usd <= 1e30"]);
    expect(&null, 4, "value null");
}

#[test]
fn scenario_checks_table_is_applied_and_positions_bad_entries() {
    let dir = tempfile::tempdir().unwrap();
    let text =
        format!("{SMALL}[checks]\nrequire_feasible = true\n\"counts.feasible\" = \"> 1e9\"\n");
    let p = write(dir.path(), "c.toml", &text);
    let out = sweep_cpu(p.to_str().unwrap(), &[]);
    expect(&out, 4, "FAIL counts.feasible > 1000000000");
    expect(&out, 4, "c.toml:12:21 `checks.counts.feasible`");

    let bad = format!("{SMALL}[checks]\n\"best.tco_usd\" = \"less than 3\"\n");
    let p = write(dir.path(), "bad.toml", &bad);
    let out = sweep_cpu(p.to_str().unwrap(), &[]);
    expect(
        &out,
        2,
        "bad.toml:11:18: `checks.best.tco_usd`: `less than 3`: expected an operator",
    );
}

#[test]
fn unknown_check_paths_and_bad_check_syntax_are_bad_input() {
    let dir = tempfile::tempdir().unwrap();
    let p = write(dir.path(), "s.toml", SMALL);
    let p = p.to_str().unwrap();
    let out = sweep_cpu(p, &["--check", "best.tco_dollars <= 1"]);
    expect(&out, 2, "`best` has no `tco_dollars`");
    let out = sweep_cpu(p, &["--check", "best.tco_usd about 1"]);
    expect(&out, 2, "--check");
}

#[test]
fn several_scenarios_write_one_folder_each() {
    let dir = tempfile::tempdir().unwrap();
    let a = write(dir.path(), "a.toml", SMALL);
    let b = write(
        dir.path(),
        "b.toml",
        &SMALL
            .replace("guard-small", "guard small/2")
            .replace("= 30", "= 0.001"),
    );
    let out_dir = dir.path().join("out");
    let out = run(&[
        "sweep",
        a.to_str().unwrap(),
        b.to_str().unwrap(),
        "--backend",
        "cpu",
        "--json",
        "--out",
        out_dir.to_str().unwrap(),
        "--require-feasible",
    ]);
    // The second has nothing feasible: exit 4, both still written.
    assert_eq!(out.status.code(), Some(4), "{}", stderr(&out));
    let docs = json(&out);
    let docs = docs.as_array().unwrap();
    assert_eq!(docs.len(), 2);
    for (doc, folder) in docs.iter().zip(["guard-small", "guard_small_2"]) {
        let file: Value = serde_json::from_slice(
            &std::fs::read(out_dir.join(folder).join("summary.json")).unwrap(),
        )
        .unwrap();
        assert_eq!(&file, doc, "{folder}");
        assert!(out_dir.join(folder).join("pareto.csv").is_file());
    }
    assert_eq!(docs[0]["checks"][0]["pass"], true);
    assert_eq!(docs[1]["checks"][0]["pass"], false);

    // Two scenarios with the same name would share a folder: bad input before running.
    let out = run(&[
        "sweep",
        a.to_str().unwrap(),
        a.to_str().unwrap(),
        "--out",
        out_dir.to_str().unwrap(),
    ]);
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("same --out folder `guard-small`"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn summary_describes_its_inputs_build_units_and_constraints() {
    use clustersweep::model::Metric;
    use clustersweep::provenance::sha256_hex;
    let dir = tempfile::tempdir().unwrap();
    let p = write(dir.path(), "s.toml", SMALL);
    let out = sweep_cpu(p.to_str().unwrap(), &["--json"]);
    expect(&out, 0, "");
    let doc = json(&out);
    assert_eq!(doc["schema"], "clustersweep.summary/2");
    assert_eq!(doc["scenario"]["sha256"], sha256_hex(SMALL.as_bytes()));
    let catalog = std::fs::read(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/configs/hardware.toml"
    ))
    .unwrap();
    assert_eq!(doc["catalog"]["sha256"], sha256_hex(&catalog));
    assert_eq!(
        doc["constraints"],
        serde_json::json!({"max_facility_mw": {"metric": "facility_mw", "bound": 30.0, "unit": Metric::FacilityMw.unit()}})
    );
    assert_eq!(doc["objective"]["unit"], Metric::ThroughputPflops.unit());
    for (name, unit) in doc["units"].as_object().unwrap() {
        let m = Metric::from_name(name).unwrap();
        assert_eq!(unit, m.unit(), "{name}");
    }
    let run = &doc["run"];
    assert_eq!(run["tool"]["version"], env!("CARGO_PKG_VERSION"));
    assert!(run["tool"]["commit"].is_string());
    assert!(run["tool"]["dirty"].is_boolean() || run["tool"]["dirty"].is_null());
    let date = run["date"].as_str().unwrap();
    assert_eq!(date.len(), 20, "{date}");
    assert_eq!(run["requested_backend"], "cpu");
    assert_eq!(run["backend"]["kind"], "cpu");
    assert!(run["notices"].is_array());
    // Nothing that varies between runs is outside `run`.
    for k in ["timing", "backend", "notices", "date"] {
        assert!(doc.get(k).is_none(), "{k} outside run");
    }
}
