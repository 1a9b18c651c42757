//! `clustersweep diff OLD.json NEW.json` end to end on real sweep summaries: two runs of the
//! same scenario differ in nothing but `run`; a tighter constraint shows in the constraints,
//! counts and best; a crossed `--max-change` exits 4; `--json` and `--markdown`; a file of
//! another schema, not JSON, or a several-scenario array is bad input (exit 2) naming it.

use serde_json::Value;
use std::path::Path;
use std::process::Output;

mod common;
use common::{run, stderr, write};

/// 2 accelerators x 5 sizes under a facility cap of `{cap}` MW.
fn scenario(cap: u32) -> String {
    format!(
        r#"
name = "diff-small"
[axes]
accelerator = ["H100-SXM", "B200"]
gpu_count = {{ from = 1000, to = 20000, steps = 5, scale = "log" }}
[fixed]
cost_model = "own"
[constraints]
max_facility_mw = {cap}
"#
    )
}

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

#[track_caller]
fn expect(o: &Output, code: i32, needle: &str) {
    let err = stderr(o);
    assert_eq!(
        o.status.code(),
        Some(code),
        "stderr: {err}\nstdout: {}",
        stdout(o)
    );
    assert!(err.contains(needle), "no `{needle}` in: {err}");
}

/// Sweep `text` on the CPU and write its summary to `dir/name`; returns the path and the
/// document.
fn summary(dir: &Path, name: &str, text: &str) -> (String, Value) {
    let scen = write(dir, &format!("{name}.toml"), text);
    sweep_to(dir, &scen, name)
}

/// Sweep the scenario file `scen` on the CPU and write its summary to `dir/name.json`.
fn sweep_to(dir: &Path, scen: &Path, name: &str) -> (String, Value) {
    let o = run(&[
        "sweep",
        scen.to_str().unwrap(),
        "--backend",
        "cpu",
        "--json",
    ]);
    expect(&o, 0, "");
    let path = write(dir, &format!("{name}.json"), &stdout(&o));
    let doc = serde_json::from_slice(&o.stdout).unwrap();
    (path.to_str().unwrap().to_string(), doc)
}

#[test]
fn two_runs_of_one_scenario_differ_only_in_run() {
    let dir = tempfile::tempdir().unwrap();
    let scen = write(dir.path(), "s.toml", &scenario(30));
    let (a, _) = sweep_to(dir.path(), &scen, "a");
    let (b, _) = sweep_to(dir.path(), &scen, "b");
    let o = run(&["diff", &a, &b, "--max-change", "throughput_pflops=-2%"]);
    expect(&o, 0, "");
    let out = stdout(&o);
    assert!(out.starts_with("no changes (ignoring run)\n"), "{out}");
    assert!(
        out.contains("limit ok throughput_pflops=-2%:") && out.contains("(+0.00%)"),
        "{out}"
    );
}

#[test]
fn a_tighter_cap_is_listed_and_a_crossed_limit_exits_4() {
    let dir = tempfile::tempdir().unwrap();
    let (a, old) = summary(dir.path(), "a", &scenario(30));
    let (b, new) = summary(dir.path(), "b", &scenario(5));
    let best = |d: &Value| d["best"]["metrics"]["throughput_pflops"].as_f64().unwrap();
    let fall = (best(&new) - best(&old)) / best(&old);
    assert!(fall < -0.02, "the 5 MW cap should cost throughput: {fall}");

    // Text: the changed fields, and the limit named on stderr with exit 4.
    let o = run(&["diff", &a, &b, "--max-change", "throughput_pflops=-2%"]);
    expect(&o, 4, "a --max-change limit was crossed");
    let out = stdout(&o);
    for what in [
        "constraints.max_facility_mw:",
        "counts.feasible:",
        "best.metrics.throughput_pflops:",
        "scenario.sha256:",
    ] {
        assert!(out.contains(what), "no `{what}` in:\n{out}");
    }
    assert!(
        out.contains(&format!(
            "limit CROSSED throughput_pflops=-2%: {} -> {} ({:+.2}%)",
            clustersweep::format::fmt_num(best(&old)),
            clustersweep::format::fmt_num(best(&new)),
            fall * 100.0
        )),
        "{out}"
    );
    assert!(!out.contains("run."), "run is ignored:\n{out}");

    // A limit on rises only, or one wider than the fall, holds.
    let wide = format!("throughput_pflops={}%", (-fall * 100.0).ceil() + 1.0);
    for limit in ["throughput_pflops=+1%", wide.as_str()] {
        let o = run(&["diff", &a, &b, "--max-change", limit]);
        expect(&o, 0, "");
    }

    // JSON: every change with old and new as the summaries have them; the limit crossed.
    let o = run(&[
        "diff",
        &a,
        &b,
        "--json",
        "--max-change",
        "throughput_pflops=-2%",
    ]);
    expect(&o, 4, "");
    let d: Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(d["schema"], "clustersweep.diff/1");
    assert_eq!(d["crossed"], true);
    let change = |what: &str| {
        d["changes"]
            .as_array()
            .unwrap()
            .iter()
            .find(|c| c["what"] == what)
            .unwrap_or_else(|| panic!("no {what} in {d}"))
            .clone()
    };
    let c = change("counts.feasible");
    assert_eq!(c["old"], old["counts"]["feasible"]);
    assert_eq!(c["new"], new["counts"]["feasible"]);
    let c = change("constraints.max_facility_mw");
    assert_eq!(c["old"]["bound"], 30.0);
    assert_eq!(c["new"]["bound"], 5.0);
    let l = &d["limits"][0];
    assert_eq!(l["metric"], "throughput_pflops");
    assert_eq!(l["old"].as_f64(), Some(best(&old)));
    assert_eq!(l["new"].as_f64(), Some(best(&new)));
    assert!((l["change"].as_f64().unwrap() - fall).abs() < 1e-12);
    assert_eq!(l["crossed"], true);

    // Markdown: a table row per change.
    let o = run(&["diff", &a, &b, "--markdown"]);
    expect(&o, 0, "");
    let md = stdout(&o);
    assert!(
        md.starts_with("| field | old | new | change |\n|---|---|---|---|\n"),
        "{md}"
    );
    assert!(md.contains("| `counts.feasible` |"), "{md}");
}

#[test]
fn other_documents_are_bad_input_naming_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let (a, _) = summary(dir.path(), "a", &scenario(30));
    // A shard partial: a real document of another schema.
    let scen = write(dir.path(), "p.toml", &scenario(30));
    let part = dir.path().join("part.json");
    let o = run(&[
        "sweep",
        scen.to_str().unwrap(),
        "--backend",
        "cpu",
        "--shard",
        "0/2",
        "--partial",
        part.to_str().unwrap(),
    ]);
    expect(&o, 0, "");
    let part = part.to_str().unwrap();
    let o = run(&["diff", &a, part]);
    expect(
        &o,
        2,
        &format!(
            "{part}: not a `clustersweep.summary/2` sweep summary: it is a `clustersweep.partial/1` document"
        ),
    );
    assert!(o.stdout.is_empty());

    let junk = write(dir.path(), "junk.json", "{ not json");
    let junk = junk.to_str().unwrap();
    expect(&run(&["diff", junk, &a]), 2, &format!("{junk}: not JSON"));

    // `sweep A B --json` prints an array: the message says to pick one.
    let two = write(dir.path(), "two.json", "[{}, {}]");
    let two = two.to_str().unwrap();
    expect(
        &run(&["diff", &a, two]),
        2,
        "two.json: not a `clustersweep.summary/2` sweep summary: it is an array of 2 documents; several scenarios",
    );

    let missing = dir.path().join("missing.json");
    let missing = missing.to_str().unwrap();
    expect(
        &run(&["diff", &a, missing]),
        2,
        &format!("{missing}: cannot read"),
    );

    // A limit on an unknown metric or without a percentage.
    expect(
        &run(&["diff", &a, &a, "--max-change", "tco=5%"]),
        2,
        "unknown metric `tco`",
    );
    expect(
        &run(&["diff", &a, &a, "--max-change", "tco_usd=5"]),
        2,
        "percentage",
    );
}
