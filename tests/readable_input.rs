//! Issue 11 item 6, the inputs half (spec v2 "values as people read them"): range values
//! rounded to 15 significant digits, renting at a price of 0 and `--set` given twice are
//! bad input, and `--group-by` lists the groups with nothing feasible. Each test reproduces
//! a reported problem.

use clustersweep::catalog::Catalog;
use clustersweep::scenario::Scenario;
use std::process::Output;

mod common;
use common::{run, stdout_ok as ok, write};

/// Exit 2 with one line on stderr that contains every one of `needles`.
#[track_caller]
fn bad_input(out: &Output, needles: &[&str]) {
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "stderr: {err}");
    assert_eq!(err.trim().lines().count(), 1, "one line: {err}");
    for n in needles {
        assert!(err.contains(n), "`{n}` not in: {err}");
    }
}

#[test]
fn range_values_are_rounded_to_15_significant_digits() {
    let catalog = Catalog::builtin().unwrap();
    let text = r#"
[axes]
utilization = { from = 0.1, to = 0.5, steps = 5 }
electricity_usd_per_kwh = { from = 0.01, to = 10, steps = 4, scale = "log" }
gpu_price_usd = { times = { from = 0.7, to = 1.3, steps = 7 } }
[fixed]
accelerator = "H100-SXM"
gpu_count = 1000
"#;
    let s = Scenario::parse("r.toml", text, &catalog).unwrap();
    assert_eq!(s.axes[0].values, [0.1, 0.2, 0.3, 0.4, 0.5]);
    assert_eq!(s.axes[1].values, [0.01, 0.1, 1.0, 10.0]);
    assert_eq!(s.axes[2].values, [0.7, 0.8, 0.9, 1.0, 1.1, 1.2, 1.3]);
    // Not vacuous: the spec's expressions alone give other doubles for some of them.
    let raw_linear: Vec<f64> = (0..5).map(|k| 0.1 + (0.5 - 0.1) * k as f64 / 4.0).collect();
    assert_ne!(raw_linear, s.axes[0].values);
    let raw_log: Vec<f64> = (0..4)
        .map(|k| 0.01 * (10.0f64 / 0.01).powf(k as f64 / 3.0))
        .collect();
    assert_ne!(raw_log, s.axes[1].values);
    let raw_times: Vec<f64> = (0..7).map(|k| 0.7 + (1.3 - 0.7) * k as f64 / 6.0).collect();
    assert_ne!(raw_times, s.axes[2].values);
}

#[test]
fn reported_range_values_read_as_written() {
    // The JSON and CSV keep every digit, so an unrounded 0.30000000000000004 showed there.
    let dir = tempfile::tempdir().unwrap();
    let p = write(
        dir.path(),
        "u.toml",
        "[axes]\nutilization = { from = 0.1, to = 0.5, steps = 5 }\n[fixed]\naccelerator = \"H100-SXM\"\ngpu_count = 1000\n",
    );
    let p = p.to_str().unwrap();
    let out = ok(
        &run(&[
            "sweep",
            p,
            "--backend",
            "cpu",
            "--group-by",
            "utilization",
            "--format",
            "json",
        ]),
        "sweep",
    );
    let doc: serde_json::Value = serde_json::from_str(&out).unwrap();
    let groups: Vec<f64> = doc["best_by"]
        .as_array()
        .unwrap()
        .iter()
        .map(|g| g["group"]["utilization"].as_f64().unwrap())
        .collect();
    assert_eq!(groups, [0.1, 0.2, 0.3, 0.4, 0.5]);
    let csv = ok(
        &run(&[
            "sweep",
            p,
            "--backend",
            "cpu",
            "--group-by",
            "utilization",
            "--format",
            "csv",
        ]),
        "csv",
    );
    assert!(!csv.contains("0.30000000000000004"), "{csv}");
    assert!(!csv.contains("0.39999999999999997"), "{csv}");
}

const RENT_NO_PRICE: &str = r#"
[axes]
gpu_count = [1000, 2000]
[fixed]
accelerator = "H100-SXM"
cost_model = "rent"
"#;

#[test]
fn renting_for_nothing_is_bad_input_naming_file_key_and_accelerator() {
    let dir = tempfile::tempdir().unwrap();
    // No price at all: the default gpu_hour_usd is 0.
    let p = write(dir.path(), "r.toml", RENT_NO_PRICE);
    bad_input(
        &run(&["sweep", p.to_str().unwrap(), "--backend", "cpu"]),
        &[
            "r.toml:6:",
            "`fixed.cost_model`",
            "H100-SXM",
            "renting is never free",
        ],
    );
    // A price of 0 written out.
    let zero = format!("{RENT_NO_PRICE}gpu_hour_usd = 0\n");
    let p = write(dir.path(), "z.toml", &zero);
    bad_input(
        &run(&["eval", p.to_str().unwrap()]),
        &[
            "z.toml:7:",
            "`fixed.gpu_hour_usd`",
            "H100-SXM",
            "never free",
        ],
    );
    // Own or rent over two accelerators, a price for one only: the other is named.
    let mixed = r#"
[axes]
accelerator = ["H100-SXM", "B200"]
cost_model = ["own", "rent"]
[fixed]
gpu_count = 1000
[accelerators.H100-SXM]
gpu_hour_usd = 2.5
"#;
    let p = write(dir.path(), "m.toml", mixed);
    bad_input(
        &run(&["sweep", p.to_str().unwrap(), "--backend", "cpu"]),
        &["m.toml:", "`axes.cost_model`", "on B200", "never free"],
    );
    // With a price for both it runs.
    let priced = format!("{mixed}[accelerators.B200]\ngpu_hour_usd = 3.5\n");
    let p = write(dir.path(), "p.toml", &priced);
    ok(
        &run(&["sweep", p.to_str().unwrap(), "--backend", "cpu"]),
        "priced",
    );
    // Renting on the command line without a price is bad input too, naming --set.
    let owned = "[fixed]\naccelerator = \"H100-SXM\"\ngpu_count = 1000\n";
    let p = write(dir.path(), "o.toml", owned);
    let p = p.to_str().unwrap();
    bad_input(
        &run(&["eval", p, "--set", "cost_model=rent"]),
        &["--set", "o.toml", "H100-SXM", "never free"],
    );
    ok(
        &run(&[
            "eval",
            p,
            "--set",
            "cost_model=rent",
            "--set",
            "gpu_hour_usd=2",
        ]),
        "rent with a price",
    );
}

#[test]
fn a_set_given_twice_is_bad_input() {
    bad_input(
        &run(&[
            "eval",
            "--set",
            "utilization=0.4",
            "--set",
            "gpu_count=1000",
            "--set",
            " utilization =0.5",
        ]),
        &[
            "--set ` utilization =0.5`",
            "`utilization` is already set by --set `utilization=0.4`",
        ],
    );
}

const GROUPS: &str = r#"
[axes]
accelerator = ["H100-SXM", "B200"]
gpu_count = [1000, 1000000]
[fixed]
cost_model = "own"
[constraints]
max_facility_mw = 30
"#;

#[test]
fn group_by_lists_groups_with_nothing_feasible() {
    let dir = tempfile::tempdir().unwrap();
    let p = write(dir.path(), "g.toml", GROUPS);
    let p = p.to_str().unwrap();
    let sweep = |extra: &[&str]| {
        let mut args = vec!["sweep", p, "--backend", "cpu", "--group-by", "gpu_count"];
        args.extend_from_slice(extra);
        ok(&run(&args), &format!("{extra:?}"))
    };
    // A million accelerators need far more than 30 MW: that group has nothing feasible.
    let table = sweep(&[]);
    let line = table
        .lines()
        .find(|l| l.contains("nothing feasible"))
        .unwrap_or_else(|| panic!("no empty group in:\n{table}"));
    assert!(line.contains("1,000,000"), "{line}");
    assert!(line.contains("0 configurations"), "{line}");
    let doc: serde_json::Value = serde_json::from_str(&sweep(&["--format", "json"])).unwrap();
    assert_eq!(doc["best_by"].as_array().unwrap().len(), 1);
    assert_eq!(doc["best_by"][0]["group"]["gpu_count"], 1000);
    assert_eq!(doc["empty_groups"].as_array().unwrap().len(), 1);
    assert_eq!(doc["empty_groups"][0]["group"]["gpu_count"], 1000000);
    assert_eq!(doc["empty_groups"][0]["feasible"], 0);
    let md = sweep(&["--format", "markdown"]);
    assert!(
        md.lines()
            .any(|l| l.starts_with("| 1,000,000 |") && l.contains("nothing feasible")),
        "{md}"
    );

    // Nothing feasible anywhere: every group is still listed.
    let none = GROUPS.replace("max_facility_mw = 30", "max_facility_mw = 0.001");
    let p = write(dir.path(), "n.toml", &none);
    let out = ok(
        &run(&[
            "sweep",
            p.to_str().unwrap(),
            "--backend",
            "cpu",
            "--group-by",
            "accelerator",
        ]),
        "none",
    );
    let empty: Vec<&str> = out
        .lines()
        .filter(|l| l.contains("nothing feasible (0 configurations)"))
        .collect();
    assert_eq!(empty.len(), 2, "{out}");
    assert!(
        empty[0].contains("H100-SXM") && empty[1].contains("B200"),
        "{out}"
    );
}
