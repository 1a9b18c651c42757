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
/// reached the terminal raw, and a line feed in an accelerator id forged a line of the
/// table. Human output escapes them; JSON carries them (escaped by JSON).
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
{NEW_ACCELERATOR}[accelerators."Y\nforged: line"]
peak_tflops = {{ bf16 = 4000 }}
tdp_w = 700
{NEW_ACCELERATOR}[axes]
accelerator = ["X\u001b]0;t\u0007", "H100-SXM", "Y\nforged: line"]
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
        assert!(
            !text.lines().any(|l| l.starts_with("forged")),
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

/// Failures often enough that the goodput is 0 in a few draws of the large clusters: their
/// `usd_per_eflop` and `train_days` are infinite while the draw is valid.
const GOODPUT_GAMBLE: &str = r#"
name = "goodput gamble"
[fixed]
accelerator = "H100-SXM"
cost_model = "own"
[axes]
gpu_count = { from = 1000, to = 100000, steps = 6 }
[uncertain]
samples = 64
seed = 3
mtbf_hours = { uniform = [20, 200000] }
[constraints]
confidence = 0.5
[workload]
train_flop = 1e25
"#;

/// Per configuration, by hand from `Scenario::resolve_draw` and `evaluate`: the draws that
/// are valid with every metric finite, the feasible draws, and the throughput mean over the
/// counted draws; plus how many valid draws had a non-finite metric in all.
fn counted_draws(plan: &SweepPlan) -> (Vec<(u32, u32, f64)>, u64) {
    let s = &plan.scenario;
    let mut out = Vec::new();
    let mut valid_not_finite = 0;
    for i in 0..plan.grid.size {
        let values = plan.values_at(i);
        let (mut counted, mut feasible, mut sum) = (0u32, 0u32, 0.0);
        for k in 0..s.samples() {
            let (cfg, acc) = s.resolve_draw(&values, k);
            let e = evaluate(&cfg, acc, &s.workload);
            feasible += is_feasible(&e, &s.constraints) as u32;
            if e.valid && !e.finite {
                valid_not_finite += 1;
            }
            if e.valid && e.finite {
                counted += 1;
                sum += e.metrics[clustersweep::model::Metric::ThroughputPflops as usize];
            }
        }
        out.push((counted, feasible, sum / counted as f64));
    }
    (out, valid_not_finite)
}

/// Reproducer: a valid draw with a non-finite metric entered the Monte Carlo statistics,
/// so a feasible configuration's mean `usd_per_eflop` (and the grid's statistics) were
/// infinite. The rule now: the metric statistics are over the valid draws whose metrics
/// are all finite, and such a draw is not feasible (p_feasible counts it out).
#[test]
fn monte_carlo_statistics_leave_out_draws_with_a_non_finite_metric() {
    let s = Scenario::parse("gamble.toml", GOODPUT_GAMBLE, &Catalog::builtin().unwrap())
        .expect("scenario");
    let plan = SweepPlan::new(s, None).expect("plan");
    let (by_hand, valid_not_finite) = counted_draws(&plan);
    assert!(valid_not_finite > 0, "the grid must have such draws");
    let cpu = CpuBackend::new(2).unwrap();
    let sum = clustersweep::sweep::run_sweep(&plan, &cpu, None, &|_| {}).expect("cpu sweep");
    let feasible: Vec<usize> = (0..by_hand.len())
        .filter(|&i| by_hand[i].0 > 0 && by_hand[i].1 as f64 / 64.0 >= 0.5)
        .collect();
    assert_eq!(sum.feasible, feasible.len() as u64);
    // The objective is the mean throughput: the best by hand.
    let best = feasible
        .iter()
        .copied()
        .max_by(|&a, &b| by_hand[a].2.total_cmp(&by_hand[b].2).then(b.cmp(&a)))
        .expect("something feasible");
    let b = sum.best.as_ref().expect("best");
    assert_eq!(b.index, best as u64);
    let spread = b.spread.as_ref().expect("spread");
    assert_eq!(spread.valid, by_hand[best].0);
    assert!(
        spread.valid < 64,
        "the best has a left-out draw: {spread:?}"
    );
    for (m, sp) in &spread.metrics {
        for x in [sp.mean, sp.sd, sp.min, sp.p10, sp.p50, sp.p90, sp.max] {
            assert!(x.is_finite(), "{m:?}: {sp:?}");
        }
    }
    let mean = spread
        .metric(clustersweep::model::Metric::ThroughputPflops)
        .unwrap()
        .mean;
    assert!((mean - by_hand[best].2).abs() <= 1e-12 * mean, "{mean}");
    for row in &sum.stats {
        for x in [row.min, row.max, row.mean] {
            assert!(x.is_finite(), "{row:?}");
        }
    }
    // The GPU's Monte Carlo kernel (lavapipe) applies the same rule.
    let Some(g) = common::gpu(clustersweep::backend::gpu::GpuOptions::default()) else {
        return;
    };
    let on_gpu = clustersweep::sweep::run_sweep(&plan, &g, None, &|_| {}).expect("gpu sweep");
    assert_eq!(on_gpu.backend.kind, "gpu");
    assert_eq!(
        (on_gpu.invalid, on_gpu.feasible),
        (sum.invalid, sum.feasible)
    );
    assert_eq!(on_gpu.best.as_ref().map(|b| b.index), Some(best as u64));
    for (x, y) in on_gpu.stats.iter().zip(&sum.stats) {
        for (u, v) in [(x.min, y.min), (x.max, y.max), (x.mean, y.mean)] {
            assert!(
                (u - v).abs() <= 1e-4 * v.abs().max(1e-9),
                "{:?}: {u} vs {v}",
                x.metric
            );
        }
    }
}

/// Reproducer: `sensitivity --backend gpu` reported a plan the GPU kernels refuse as a GPU
/// failure (exit 3). It is bad input (exit 2, one line naming the value), for the base
/// scenario (before a device is opened) and for a setting of the tornado that leaves the
/// f32 range (0.9 x 1.2e-38 is below the smallest normal f32).
#[test]
fn sensitivity_with_values_outside_f32_is_bad_input_for_backend_gpu() {
    let dir = tempfile::tempdir().unwrap();
    let tiny_setting = "name = \"tiny carbon\"\n[fixed]\naccelerator = \"H100-SXM\"\ncarbon_kg_per_kwh = 1.2e-38\n[axes]\ngpu_count = [1000, 2000]\n";
    for (text, needle) in [
        (TINY_UTILIZATION, "utilization = 1e-308"),
        (tiny_setting, "carbon_kg_per_kwh = 1.0"),
    ] {
        let sc = write(dir.path(), "s.toml", text);
        let out = run(&["sensitivity", sc.to_str().unwrap(), "--backend", "gpu"]);
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{text}\n{err}");
        assert_eq!(err.lines().count(), 1, "{err}");
        for n in [needle, "f32", "s.toml", "--backend cpu"] {
            assert!(err.contains(n), "`{n}` not in: {err}");
        }
        assert!(out.stdout.is_empty());
    }
}

/// Uncertain inputs whose draws leave the f32 range although every value written fits:
/// a lognormal's extreme draws, a `times` draw's product with the accelerator's price,
/// and draws below the smallest normal f32.
const DRAWS_OUTSIDE_F32: [(&str, &str); 3] = [
    (
        "gpu_price_usd = { lognormal = [30000, 1e20] }",
        "uncertain.gpu_price_usd",
    ),
    (
        "gpu_price_usd = { times = { uniform = [1, 1e35] } }",
        "uncertain.gpu_price_usd",
    ),
    (
        "carbon_kg_per_kwh = { uniform = [1e-39, 2e-39] }",
        "uncertain.carbon_kg_per_kwh",
    ),
];

fn draws_outside_f32(input: &str) -> String {
    format!(
        "name = \"wild draws\"\n[fixed]\naccelerator = \"H100-SXM\"\n[axes]\ngpu_count = [1000, 2000]\n[uncertain]\nsamples = 8\n{input}\n"
    )
}

/// Reproducer: drawn values were not checked against the f32 range, so the GPU ran such a
/// plan with infinite or flushed draws. Now the GPU refuses it: `--backend gpu` is bad
/// input naming the input, and with a fallback the CPU runs it with a notice.
#[test]
fn draws_outside_f32_are_refused_by_the_gpu() {
    use clustersweep::backend::gpu::GpuOptions;
    use clustersweep::sweep::run_sweep;
    let dir = tempfile::tempdir().unwrap();
    for (input, needle) in DRAWS_OUTSIDE_F32 {
        let text = draws_outside_f32(input);
        let sc = write(dir.path(), "s.toml", &text);
        let out = run(&["sweep", sc.to_str().unwrap(), "--backend", "gpu", "--json"]);
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{text}\n{err}");
        assert_eq!(err.lines().count(), 1, "{err}");
        for n in [needle, "f32", "s.toml"] {
            assert!(err.contains(n), "`{n}` not in: {err}");
        }
    }
    let Some(g) = common::gpu(GpuOptions::default()) else {
        return;
    };
    let cpu = CpuBackend::new(1).unwrap();
    for (input, needle) in DRAWS_OUTSIDE_F32 {
        let s = Scenario::parse(
            "wild.toml",
            &draws_outside_f32(input),
            &Catalog::builtin().unwrap(),
        )
        .unwrap();
        let plan = SweepPlan::new(s, None).unwrap();
        let err = g.run(&plan, 0..plan.grid.size, &|_| {}).unwrap_err();
        assert!(err.message.contains(needle), "{}", err.message);
        let on_auto = run_sweep(&plan, &g, Some(&cpu), &|_| {}).unwrap();
        let exact = run_sweep(&plan, &cpu, None, &|_| {}).unwrap();
        assert_eq!(on_auto.backend.kind, "cpu", "{input}");
        assert_eq!(on_auto.feasible, exact.feasible, "{input}");
        assert!(
            on_auto.notices.iter().any(|n| n.contains(needle)),
            "{input}: {:?}",
            on_auto.notices
        );
    }
}

/// Reproducer: error messages and notices on stderr quoted names raw, so an escape
/// sequence in a file name, an accelerator id or a scenario name reached the terminal (and
/// a line feed forged a second line). Every control character on stderr is now escaped.
#[test]
fn control_characters_in_names_are_escaped_on_stderr() {
    let dir = tempfile::tempdir().unwrap();
    // The id as TOML writes it (TOML strings hold control characters as escapes).
    let evil_id = "X\\u001b]0;t\\u0007";
    let missing_field = write(
        dir.path(),
        "missing.toml",
        &format!(
            "[accelerators.\"{evil_id}\"]\npeak_tflops = {{ bf16 = 5000 }}\n{NEW_ACCELERATOR}[fixed]\naccelerator = \"{evil_id}\"\n"
        ),
    );
    let same_name = |f: &str| {
        write(
            dir.path(),
            f,
            "name = \"evil\\u001b[2J\\nname\"\n[fixed]\naccelerator = \"H100-SXM\"\ngpu_count = 8\n",
        )
    };
    let (a, b) = (same_name("a.toml"), same_name("b.toml"));
    let out_dir = dir.path().join("out");
    let nowhere = dir.path().join("no\u{1b}[2Jsuch.toml");
    let cases: [(Vec<&str>, &str); 3] = [
        (
            vec!["sweep", missing_field.to_str().unwrap(), "--backend", "cpu"],
            "X\\u{1b}]0;t\\u{7}",
        ),
        (
            vec![
                "sweep",
                a.to_str().unwrap(),
                b.to_str().unwrap(),
                "--backend",
                "cpu",
                "--out",
                out_dir.to_str().unwrap(),
            ],
            "evil\\u{1b}[2J\\u{a}name",
        ),
        (
            vec!["sweep", nowhere.to_str().unwrap(), "--backend", "cpu"],
            "no\\u{1b}[2Jsuch.toml",
        ),
    ];
    for (args, escaped) in cases {
        let out = run(&args);
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {err}");
        assert_eq!(err.lines().count(), 1, "{args:?}: {err:?}");
        assert!(
            !err.chars().any(|c| c.is_control() && c != '\n'),
            "{args:?}: {err:?}"
        );
        assert!(err.contains(escaped), "{args:?}: {err}");
    }
}

/// Every input fits in f32, but the capital cost of 10,000 accelerators at $1e35 each
/// (1e39) does not.
const OVERFLOW_IN_THE_MIDDLE: &str = r#"
name = "dear accelerators"
[fixed]
accelerator = "H100-SXM"
gpu_price_usd = 1e35
[axes]
gpu_count = [1000, 10000]
"#;

/// Reproducer: inputs that fit in f32 overflowed in the middle of the model on the GPU, so
/// the GPU found configurations infeasible that the CPU found feasible. The plan's interval
/// bounds now find it: `--backend gpu` is bad input naming the metric, and with a fallback
/// the CPU runs it with a notice.
#[test]
fn an_overflow_in_the_middle_of_the_model_is_refused_by_the_gpu() {
    use clustersweep::backend::gpu::GpuOptions;
    use clustersweep::sweep::run_sweep;
    let dir = tempfile::tempdir().unwrap();
    let sc = write(dir.path(), "s.toml", OVERFLOW_IN_THE_MIDDLE);
    let out = run(&["sweep", sc.to_str().unwrap(), "--backend", "gpu", "--json"]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert_eq!(err.lines().count(), 1, "{err}");
    for n in ["capex_usd (up to 1", "e39", "f32", "s.toml"] {
        assert!(err.contains(n), "`{n}` not in: {err}");
    }
    let s = Scenario::parse(
        "s.toml",
        OVERFLOW_IN_THE_MIDDLE,
        &Catalog::builtin().unwrap(),
    )
    .unwrap();
    let plan = SweepPlan::new(s, None).unwrap();
    let cpu = CpuBackend::new(1).unwrap();
    let exact = run_sweep(&plan, &cpu, None, &|_| {}).unwrap();
    assert_eq!(exact.feasible, 2, "both are feasible in f64");
    let Some(g) = common::gpu(GpuOptions::default()) else {
        return;
    };
    let err = g.run(&plan, 0..plan.grid.size, &|_| {}).unwrap_err();
    assert!(err.message.contains("capex_usd"), "{}", err.message);
    let on_auto = run_sweep(&plan, &g, Some(&cpu), &|_| {}).unwrap();
    assert_eq!(on_auto.backend.kind, "cpu");
    assert_eq!(on_auto.feasible, 2);
    assert_eq!(
        on_auto.best.as_ref().map(|b| b.index),
        exact.best.as_ref().map(|b| b.index)
    );
}

/// The interval bounds find no overflow in the shipped scenarios (they run on the GPU).
#[test]
fn the_shipped_scenarios_fit_in_f32() {
    let catalog = Catalog::builtin().unwrap();
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/configs/scenarios");
    let mut n = 0;
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        let s = Scenario::load(&path, &catalog).unwrap();
        let plan = SweepPlan::new(s, None).unwrap();
        assert_eq!(
            clustersweep::backend::gpu::f32_range::outside_f32(&plan),
            None,
            "{}",
            path.display()
        );
        n += 1;
    }
    assert!(n >= 5, "{n} scenarios");
}
