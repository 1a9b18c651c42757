//! Hostile values (issue 12 item 5): a feasible configuration has only finite metrics, on
//! every path (the f64 model, the CPU kernel's tape, the Monte Carlo kernel, `eval`);
//! inputs the f32 GPU kernels cannot represent are refused or run on the CPU; messages name
//! a duplicate key and a missing accelerator field.

use clustersweep::backend::cpu::CpuBackend;
use clustersweep::backend::Backend;
use clustersweep::catalog::Catalog;
use clustersweep::model::{evaluate, is_feasible};
use clustersweep::plan::SweepPlan;
use clustersweep::scenario::Scenario;

mod common;
use common::{input_error, run, write};

/// `peak_tflops = 1e308` overflows the throughput to +inf.
const HUGE_PEAK: &str = r#"
name = "huge peak"
[fixed]
accelerator = "H100-SXM"
[accelerators.H100-SXM]
peak_tflops = { bf16 = 1e308 }
[axes]
gpu_count = [1000, 2000]
"#;

fn json(out: &std::process::Output) -> serde_json::Value {
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{err}");
    serde_json::from_slice(&out.stdout).unwrap()
}

/// Reproducer: the best was reported with `throughput_pflops: null`.
#[test]
fn an_overflowing_throughput_is_not_feasible() {
    let dir = tempfile::tempdir().unwrap();
    let sc = write(dir.path(), "s.toml", HUGE_PEAK);
    let sc = sc.to_str().unwrap();
    let doc = json(&run(&["sweep", sc, "--backend", "cpu", "--json"]));
    assert_eq!(doc["counts"]["evaluated"], 2, "{doc}");
    assert_eq!(doc["counts"]["invalid"], 0, "{doc}");
    assert_eq!(doc["counts"]["feasible"], 0, "{doc}");
    assert!(doc["best"].is_null(), "{doc}");

    let doc = json(&run(&["eval", sc, "--json"]));
    assert_eq!(doc["valid"], true, "{doc}");
    assert_eq!(doc["feasible"], false, "{doc}");
    let reasons: Vec<&str> = doc["reasons"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r.as_str().unwrap())
        .collect();
    assert!(
        reasons.contains(&"throughput_pflops = inf is not finite"),
        "{reasons:?}"
    );
}

/// One value of an axis overflows (capex = inf), the others do not: the kernel's counts and
/// best are the f64 model's, configuration by configuration.
#[test]
fn the_cpu_kernel_drops_exactly_the_configurations_with_a_non_finite_metric() {
    let catalog = Catalog::builtin().unwrap();
    let text = r#"
[fixed]
accelerator = "H100-SXM"
[axes]
gpu_price_usd = [25000, 1e308, 30000]
gpu_count = [1000, 2000, 3000]
utilization = { from = 0.3, to = 0.5, steps = 40 }
[objective]
metric = "tco_usd"
"#;
    let s = Scenario::parse("overflow.toml", text, &catalog).unwrap();
    let plan = SweepPlan::new(s, None).unwrap();
    let cpu = CpuBackend::new(1).unwrap();
    let red = cpu.run(&plan, 0..plan.grid.size, &|_| {}).unwrap();
    let s = &plan.scenario;
    let mut feasible = 0;
    let mut best: Option<(f64, u64)> = None;
    for i in 0..plan.grid.size {
        let (c, a) = s.resolve(&s.values_at_index(i));
        let e = evaluate(&c, a, &s.workload);
        if is_feasible(&e, &s.constraints) {
            feasible += 1;
            let v = e.metrics[s.objective.metric as usize];
            assert!(v.is_finite());
            if best.is_none_or(|(b, _)| v < b) {
                best = Some((v, i));
            }
        }
    }
    assert_eq!(feasible, 2 * 3 * 40, "two prices of three are finite");
    assert_eq!(red.feasible, feasible);
    assert_eq!(red.best.map(|b| b.index), best.map(|b| b.1));
}

/// Under uncertainty: draws whose metrics overflow are not feasible, and no configuration
/// with an infinite statistic is reported.
#[test]
fn monte_carlo_reports_no_configuration_with_an_infinite_statistic() {
    let dir = tempfile::tempdir().unwrap();
    let sc = write(
        dir.path(),
        "s.toml",
        &format!(
            "{HUGE_PEAK}[uncertain]\nsamples = 16\nutilization = {{ uniform = [0.3, 0.5] }}\n"
        ),
    );
    let doc = json(&run(&[
        "sweep",
        sc.to_str().unwrap(),
        "--backend",
        "cpu",
        "--json",
    ]));
    assert_eq!(doc["counts"]["feasible"], 0, "{doc}");
    assert!(doc["best"].is_null(), "{doc}");
}

/// `utilization = 1e-308` is feasible in f64 but 0 in f32.
const TINY_UTILIZATION: &str = r#"
name = "tiny utilization"
[fixed]
accelerator = "H100-SXM"
utilization = 1e-308
[axes]
gpu_count = [1000, 2000]
"#;

/// Reproducer: the GPU found no feasible configuration, silently. `--backend gpu` now
/// refuses the scenario before opening a device (exit 2, naming the value).
#[test]
fn values_outside_f32_are_bad_input_for_backend_gpu() {
    let dir = tempfile::tempdir().unwrap();
    for (text, needle) in [
        (TINY_UTILIZATION.to_string(), "utilization = 1e-308"),
        (HUGE_PEAK.to_string(), "peak_tflops.bf16 = 1e308"),
        (
            HUGE_PEAK.replace("peak_tflops = { bf16 = 1e308 }", "gpu_price_usd = 1e39"),
            "gpu_price_usd = 1e39",
        ),
        (
            "[fixed]\naccelerator = \"H100-SXM\"\ngpu_count = 8\n[axes]\npue = [1.2, 1e39]\n"
                .to_string(),
            "pue = 1e39",
        ),
    ] {
        let sc = write(dir.path(), "s.toml", &text);
        let out = run(&["sweep", sc.to_str().unwrap(), "--backend", "gpu", "--json"]);
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{text}\n{err}");
        assert_eq!(err.lines().count(), 1, "{err}");
        for n in [needle, "f32", "s.toml"] {
            assert!(err.contains(n), "`{n}` not in: {err}");
        }
        assert!(out.stdout.is_empty());
    }
}

/// With a fallback (`--backend auto`), such a plan runs on the CPU with a notice and gives
/// the CPU's answer; the GPU backend alone refuses it.
#[test]
fn values_outside_f32_run_on_the_cpu_with_a_notice() {
    use clustersweep::backend::gpu::GpuOptions;
    use clustersweep::sweep::run_sweep;
    let Some(g) = common::gpu(GpuOptions::default()) else {
        return;
    };
    let catalog = Catalog::builtin().unwrap();
    let s = Scenario::parse("tiny.toml", TINY_UTILIZATION, &catalog).unwrap();
    let plan = SweepPlan::new(s, None).unwrap();
    let cpu = CpuBackend::new(1).unwrap();
    let err = g.run(&plan, 0..plan.grid.size, &|_| {}).unwrap_err();
    assert!(
        err.message.contains("utilization = 1e-308"),
        "{}",
        err.message
    );
    assert_eq!(err.remaining, 0..plan.grid.size);
    let on_auto = run_sweep(&plan, &g, Some(&cpu), &|_| {}).unwrap();
    let exact = run_sweep(&plan, &cpu, None, &|_| {}).unwrap();
    assert_eq!(on_auto.feasible, 2);
    assert_eq!(on_auto.feasible, exact.feasible);
    assert_eq!(
        on_auto.best.as_ref().map(|b| b.index),
        exact.best.as_ref().map(|b| b.index)
    );
    assert_eq!(on_auto.notices.len(), 1, "{:?}", on_auto.notices);
    assert!(
        on_auto.notices[0].contains("cannot be represented in f32"),
        "{:?}",
        on_auto.notices
    );
    assert_eq!(on_auto.backend.kind, exact.backend.kind);
}

/// The fields of a new accelerator but `peak_tflops` and `tdp_w`.
const NEW_ACCELERATOR: &str = "idle_w = 50
min_power_w = 100
host_w = 100
mtbf_hours = 50000
price_usd = 10000
host_capex_usd = 1000
hbm_gb = 80
";

/// Reproducer: "invalid TOML: duplicate key" named no key.
#[test]
fn a_duplicate_key_is_named_with_its_line_and_column() {
    let dir = tempfile::tempdir().unwrap();
    let sc = write(
        dir.path(),
        "dup.toml",
        "name = \"dup\"\n[fixed]\naccelerator = \"H100-SXM\"\nutilization = 0.3\n  utilization = 0.4\n",
    );
    let out = run(&["eval", sc.to_str().unwrap()]);
    input_error(&out, &["dup.toml:5:3", "duplicate key `utilization`"]);
    let cat = write(
        dir.path(),
        "cat.toml",
        &std::fs::read_to_string(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/configs/hardware.toml"
        ))
        .unwrap()
        .replacen("tdp_w = ", "tdp_w = 1\ntdp_w = ", 1),
    );
    let out = run(&["eval", "--catalog", cat.to_str().unwrap()]);
    input_error(&out, &["cat.toml:", "duplicate key `tdp_w`"]);
}

/// Reproducer: a new accelerator without `tdp_w` was reported as "not in the catalog".
#[test]
fn a_missing_accelerator_field_is_named() {
    let dir = tempfile::tempdir().unwrap();
    let sc = write(
        dir.path(),
        "miss.toml",
        &format!(
            "[fixed]\naccelerator = \"X1\"\n[accelerators.X1]\npeak_tflops = {{ bf16 = 1000 }}\n{NEW_ACCELERATOR}"
        ),
    );
    let out = run(&["eval", sc.to_str().unwrap()]);
    input_error(&out, &["miss.toml", "missing field tdp_w"]);
    assert!(
        !String::from_utf8_lossy(&out.stderr).contains("not in the catalog"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// Reproducer: an escape sequence in a scenario name, an accelerator id or a group value
/// reached the terminal raw. Human output escapes it; JSON carries it (escaped by JSON).
#[test]
fn control_characters_in_names_are_escaped_in_human_output_only() {
    let dir = tempfile::tempdir().unwrap();
    let sc = write(
        dir.path(),
        "ctl.toml",
        &format!(
            r#"
name = "evil\u001b[2J\u0007name"
[accelerators."X\u001b]0;t\u0007"]
peak_tflops = {{ bf16 = 5000 }}
tdp_w = 700
{NEW_ACCELERATOR}[axes]
accelerator = ["X\u001b]0;t\u0007", "H100-SXM"]
gpu_count = [1000, 2000]
"#
        ),
    );
    let sc = sc.to_str().unwrap();
    for args in [
        vec!["sweep", sc, "--backend", "cpu"],
        vec!["sweep", sc, "--backend", "cpu", "--group-by", "accelerator"],
        vec!["eval", sc],
    ] {
        let out = run(&args);
        let text = String::from_utf8_lossy(&out.stdout);
        assert_eq!(
            out.status.code(),
            Some(0),
            "{args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        assert!(
            !text
                .chars()
                .any(|c| c.is_control() && c != '\n' && c != '\t'),
            "{args:?}: {text:?}"
        );
        assert!(
            text.contains("evil\\u{1b}[2J\\u{7}name"),
            "{args:?}: {text}"
        );
    }
    let doc = json(&run(&["sweep", sc, "--backend", "cpu", "--json"]));
    assert_eq!(doc["scenario"]["name"], "evil\u{1b}[2J\u{7}name");
    assert_eq!(doc["best"]["params"]["accelerator"], "X\u{1b}]0;t\u{7}");
}

/// Reproducer: `Scenario::load` took `&str`, so a file name that is not UTF-8 was opened by
/// its lossy form (U+FFFD), which does not exist.
#[test]
fn a_scenario_file_name_that_is_not_utf8_opens_and_is_named_lossily() {
    use std::os::unix::ffi::OsStrExt;
    let dir = tempfile::tempdir().unwrap();
    let name = std::ffi::OsStr::from_bytes(b"sc\xff.toml");
    let path = dir.path().join(name);
    std::fs::write(&path, HUGE_PEAK.replace("1e308", "1000")).unwrap();
    let catalog = Catalog::builtin().unwrap();
    let s = Scenario::load(&path, &catalog).unwrap();
    assert!(s.file.ends_with("sc\u{fffd}.toml"), "{}", s.file);
    let out = std::process::Command::new(common::BIN)
        .arg("eval")
        .arg(&path)
        .arg("--json")
        .output()
        .unwrap();
    let doc = json(&out);
    assert_eq!(doc["feasible"], true, "{doc}");
    // An error in such a file names it lossily.
    std::fs::write(&path, "name = 1\n").unwrap();
    let out = std::process::Command::new(common::BIN)
        .arg("eval")
        .arg(&path)
        .output()
        .unwrap();
    input_error(&out, &["sc\u{fffd}.toml:1:"]);
}
