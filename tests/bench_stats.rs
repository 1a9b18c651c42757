//! `clustersweep bench` and `bench compare` (issue 14, items 5-7): the bench/2 document
//! keeps every repetition with its statistics, names its workload and describes the
//! machine and build; `bench compare` exits 4 on a clear slowdown, 0 within noise, 2 on a
//! document of another schema, and warns when the workloads differ. The real `bench` runs
//! only tiny workloads on the CPU; no timing is asserted.

mod common;

use common::{input_error, run, stdout_ok, write};
use serde_json::{json, Value};
use std::path::{Path, PathBuf};

/// A real bench/2 document from a tiny CPU run (3 repetitions of 2,000 configurations of the
/// default workload), also written as markdown into `dir`.
fn tiny_bench(dir: &Path) -> (Value, String) {
    let j = dir.join("tiny.json");
    let m = dir.join("tiny.md");
    let out = common::tiny_cpu_bench(
        "2000",
        &[
            "--json",
            j.to_str().unwrap(),
            "--markdown",
            m.to_str().unwrap(),
        ],
    );
    let table = stdout_ok(&out, "bench");
    assert!(table.contains("nominal GF/s"), "{table}");
    let doc = serde_json::from_slice(&std::fs::read(&j).unwrap()).unwrap();
    (doc, std::fs::read_to_string(&m).unwrap() + &table)
}

#[test]
fn bench_keeps_every_repetition_and_describes_the_machine() {
    let dir = tempfile::tempdir().unwrap();
    let (doc, text) = tiny_bench(dir.path());
    assert_eq!(doc["schema"], "clustersweep.bench/2");
    assert_eq!(
        (doc["warmup"].as_u64(), doc["repeats"].as_u64()),
        (Some(1), Some(3))
    );
    // The workload: the default scenario's first 2,000 configurations.
    let w = &doc["workload"];
    assert_eq!(w["name"], "default");
    assert_eq!(w["configs"], 2000);
    assert_eq!(w["scenario"], "openai-aws-2025");
    assert_eq!(w["scenario_sha256"].as_str().unwrap().len(), 64);
    assert!(w["definition"].as_str().unwrap().contains("first 2000"));
    let results = doc["results"].as_array().unwrap();
    assert_eq!(results.len(), 1);
    let r = &results[0];
    assert_eq!(r["backend"]["kind"], "cpu");
    assert_eq!(
        (r["configs"].as_u64(), r["threads_used"].as_u64()),
        (Some(2000), Some(1))
    );
    // Every repetition is kept, and the statistics are those of the kept times.
    let times: Vec<f64> = r["wall_s"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_f64().unwrap())
        .collect();
    assert_eq!(times.len(), 3);
    let mean = times.iter().sum::<f64>() / 3.0;
    let sd = (times.iter().map(|t| (t - mean).powi(2)).sum::<f64>() / 2.0).sqrt();
    let half = 4.302_653 * sd / 3f64.sqrt(); // t(0.975, 2)
    let wall = &r["wall"];
    assert_eq!(wall["n"], 3);
    let near = |a: &Value, b: f64| (a.as_f64().unwrap() - b).abs() <= 1e-12 * b.abs().max(1e-9);
    assert!(near(&wall["mean"], mean), "{wall}");
    assert!(near(&wall["sd"], sd), "{wall}");
    assert!(near(&wall["ci95"][0], mean - half) && near(&wall["ci95"][1], mean + half));
    assert!(near(
        &wall["min"],
        times.iter().cloned().fold(f64::INFINITY, f64::min)
    ));
    assert!(near(&r["configs_per_s"], 2000.0 / mean));
    // The FLOP figure says what it is, and the peak its basis.
    assert!(r["nominal_gflops_basis"]
        .as_str()
        .unwrap()
        .contains("nominal FLOPs per configuration"));
    assert_eq!(r["nominal_gflops_time"], "wall");
    if !r["peak"].is_null() {
        assert_eq!(r["peak"]["precision"], "f64");
        assert!(r["peak"]["formula"].as_str().unwrap().contains("FMA"));
    }
    // The machine and the build.
    let m = &doc["machine"];
    for key in [
        "model",
        "isa",
        "logical_threads",
        "physical_cores",
        "family",
    ] {
        assert!(m["cpu"].get(key).is_some(), "machine.cpu.{key} in {m}");
    }
    assert!(m["cpu"]["logical_threads"].as_u64().unwrap() >= 1);
    for key in ["memory_bytes", "os", "hypervisor"] {
        assert!(m.get(key).is_some(), "machine.{key}");
    }
    assert!(m["os"]["kernel"].is_string() || m["os"]["kernel"].is_null());
    assert!(m["hypervisor"].get("virtual_machine").is_some());
    let b = &doc["build"];
    assert!(b["rustc"].as_str().unwrap().starts_with("rustc "), "{b}");
    for key in [
        "profile",
        "opt_level",
        "target",
        "target_cpu",
        "wgpu_version",
        "git_commit",
    ] {
        assert!(b[key].is_string(), "build.{key} in {b}");
    }
    // The markdown and the table carry the same labels.
    assert!(text.contains("| backend | adapter |"), "{text}");
    assert!(text.contains("nominal FLOPs per configuration"), "{text}");
    assert!(text.contains("machine: "), "{text}");
}

/// A bench/2 document made from `template` with the CPU result's repetition times set.
fn with_times(template: &Value, times: &[f64]) -> Value {
    let mut d = template.clone();
    d["results"][0]["wall_s"] = json!(times);
    d
}

fn save(dir: &Path, name: &str, doc: &Value) -> PathBuf {
    write(dir, name, &serde_json::to_string_pretty(doc).unwrap())
}

fn compare(args: &[&Path], extra: &[&str]) -> std::process::Output {
    let mut a: Vec<&str> = vec!["bench", "compare"];
    a.extend(args.iter().map(|p| p.to_str().unwrap()));
    a.extend(extra);
    run(&a)
}

#[test]
fn compare_flags_a_clear_slowdown_and_not_noise() {
    let dir = tempfile::tempdir().unwrap();
    let (template, _) = tiny_bench(dir.path());
    let base = save(
        dir.path(),
        "a.json",
        &with_times(&template, &[1.00, 1.01, 0.99, 1.00, 1.02]),
    );
    let twice = save(
        dir.path(),
        "b.json",
        &with_times(&template, &[2.00, 2.02, 1.98, 2.01, 1.99]),
    );
    // A mean 1.12 (12% slower) whose interval overlaps the baseline's.
    let noisy = save(
        dir.path(),
        "noisy.json",
        &with_times(&template, &[0.7, 1.6, 1.0, 1.5, 0.8]),
    );

    let out = compare(&[&base, &twice], &["--threshold", "5%"]);
    assert_eq!(out.status.code(), Some(4), "{out:?}");
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("SLOWER"), "{text}");
    // (2.00 / 1.004) - 1 = +99.2%: the means per configuration.
    assert!(text.contains("+99.2%"), "{text}");

    let out = compare(&[&base, &noisy], &["--threshold", "5%"]);
    assert_eq!(out.status.code(), Some(0), "{out:?}");
    assert!(String::from_utf8_lossy(&out.stdout).contains("same"));

    // The same file twice, and B faster than A: not a regression.
    assert_eq!(compare(&[&base, &base], &[]).status.code(), Some(0));
    assert_eq!(compare(&[&twice, &base], &[]).status.code(), Some(0));
    // A threshold above the slowdown: not a regression either.
    let out = compare(&[&base, &twice], &["--threshold", "150%"]);
    assert_eq!(out.status.code(), Some(0), "{out:?}");

    // --json: the document with the verdict and the statistics per configuration.
    let out = compare(&[&base, &twice], &["--json"]);
    assert_eq!(out.status.code(), Some(4));
    let doc: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(doc["schema"], "clustersweep.bench-compare/1");
    assert_eq!(doc["threshold"], 0.05);
    assert_eq!(doc["regressed"], true);
    let r = &doc["comparisons"][0]["results"][0];
    assert_eq!(r["verdict"], "slower");
    let change = r["change"].as_f64().unwrap();
    // (2.00 / 1.004) - 1, the two means per configuration.
    assert!((change - (2.0 / 1.004 - 1.0)).abs() < 1e-9, "{change}");
    let mean = r["s_per_config"]["mean"].as_f64().unwrap();
    assert!((mean - 2.0 / 2000.0).abs() < 1e-15, "{mean}");

    // --markdown.
    let out = compare(&[&base, &twice], &["--markdown"]);
    assert_eq!(out.status.code(), Some(4));
    let md = String::from_utf8_lossy(&out.stdout);
    assert!(md.contains("| backend | baseline ns/configuration"), "{md}");
    assert!(md.contains("regression"), "{md}");
}

#[test]
fn compare_warns_when_the_documents_are_unlike() {
    let dir = tempfile::tempdir().unwrap();
    let (template, _) = tiny_bench(dir.path());
    let a = save(dir.path(), "a.json", &template);
    let mut other = template.clone();
    other["workload"]["name"] = json!("synthetic");
    other["build"]["git_commit"] = json!("0123456789ab");
    other["build"]["wgpu_version"] = json!("29.0.0");
    other["repeats"] = json!(7);
    let b = save(dir.path(), "b.json", &other);
    let out = compare(&[&a, &b], &["--json"]);
    let err = String::from_utf8_lossy(&out.stderr);
    for what in [
        "different workload:",
        "different commit:",
        "different wgpu version:",
        "different repeats:",
    ] {
        assert!(err.contains(what), "`{what}` not in: {err}");
    }
    let doc: Value = serde_json::from_slice(&out.stdout).unwrap();
    let warnings = doc["comparisons"][0]["warnings"].as_array().unwrap();
    assert!(warnings.iter().any(|w| w
        .as_str()
        .unwrap()
        .contains("`default` in the baseline, `synthetic` here")));
    // Like documents: no warning.
    let out = compare(&[&a, &a], &[]);
    assert!(
        !String::from_utf8_lossy(&out.stderr).contains("different "),
        "{out:?}"
    );
}

#[test]
fn compare_names_a_file_of_another_schema() {
    let dir = tempfile::tempdir().unwrap();
    let summary = run(&[
        "sweep",
        "--backend",
        "cpu",
        "--json",
        "configs/scenarios/openai-aws-2025.toml",
    ]);
    let s = write(dir.path(), "summary.json", &stdout_ok(&summary, "sweep"));
    let (template, _) = tiny_bench(dir.path());
    let a = save(dir.path(), "a.json", &template);
    let out = compare(&[&a, &s], &[]);
    input_error(
        &out,
        &[
            "summary.json",
            "clustersweep.summary/2",
            "clustersweep.bench/2",
        ],
    );
    let old = write(
        dir.path(),
        "old.json",
        r#"{"schema": "clustersweep.bench/1"}"#,
    );
    input_error(
        &compare(&[&old, &a], &[]),
        &["old.json", "clustersweep.bench/1", "re-run"],
    );
    let junk = write(dir.path(), "junk.json", "not json");
    input_error(&compare(&[&a, &junk], &[]), &["junk.json", "not JSON"]);
    let partial = write(
        dir.path(),
        "p.json",
        r#"{"schema": "clustersweep.bench/2"}"#,
    );
    input_error(&compare(&[&a, &partial], &[]), &["p.json", "not a valid"]);
    let out = compare(&[&a, &a], &["--threshold", "lots"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("`lots` is not a percentage"));
}

#[test]
fn bench_options_are_bounded() {
    input_error(&run(&["bench", "--repeats", "0"]), &["--repeats"]);
    input_error(
        &run(&["bench", "--repeats", "1001"]),
        &["--repeats", "1000"],
    );
    input_error(&run(&["bench", "--warmup", "101"]), &["--warmup"]);
    input_error(
        &run(&["bench", "--configs", "999999999999"]),
        &["--configs: at most", "default workload"],
    );
    input_error(
        &run(&["bench", "--json", "-", "--markdown", "-"]),
        &["only one of them"],
    );
}

#[test]
fn a_gpu_result_describes_its_adapter_and_peak() {
    let Some(gpu) = common::gpu(Default::default()) else {
        return; // no adapter here (the reason was printed)
    };
    let info = gpu.adapter_info().clone();
    drop(gpu);
    let out = run(&[
        "bench",
        "--backend",
        "gpu",
        "--adapter",
        &info.name,
        "--configs",
        "1000",
        "--repeats",
        "2",
        "--warmup",
        "0",
        "--json",
        "-",
    ]);
    let doc: Value = serde_json::from_str(&stdout_ok(&out, "bench --backend gpu")).unwrap();
    let r = &doc["results"][0];
    assert_eq!(r["backend"]["kind"], "gpu");
    assert_eq!(r["warmup"], 0);
    assert!(r["threads_used"].is_null());
    let a = &r["adapter"];
    assert_eq!(a["name"], info.name.as_str());
    assert_eq!(a["vendor_id"], info.vendor);
    assert_eq!(a["device_id"], info.device);
    assert_eq!(a["driver"], info.driver.as_str());
    assert_eq!(a["driver_info"], info.driver_info.as_str());
    assert_eq!(a["api"], format!("{:?}", info.backend));
    assert_eq!(a["device_type"], format!("{:?}", info.device_type));
    assert_eq!(r["wall_s"].as_array().unwrap().len(), 2);
    // Kernel times, where the adapter has timestamps, are kept per repetition and the
    // FLOP figure says which time it used.
    match r["kernel_s"].as_array() {
        Some(k) => {
            assert_eq!(k.len(), 2);
            assert_eq!(r["nominal_gflops_time"], "kernel");
        }
        None => assert_eq!(r["nominal_gflops_time"], "wall"),
    }
    if !r["peak"].is_null() {
        assert_eq!(r["peak"]["precision"], "f32");
    }
}
