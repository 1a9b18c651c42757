//! Shards and merge (issue 12 items 1-2, 7): the Slurm example's scripts run locally for
//! several array tasks and merged equal an unsharded run; parts that overlap, are missing
//! or come from another scenario are refused with nothing written; the summary does not
//! depend on the thread count.

use serde_json::Value;
use std::path::Path;
use std::process::{Command, Output};

mod common;
use common::{assert_same_summary, run, write, BIN};

/// 3 x 7 x 2 x 3 x 2 x 400 = 100,800 configurations, with groups, a constraint and some
/// invalid ones. Shard boundaries fall on multiples of the summation tile (32 inner blocks
/// of 400: 12,800 configurations; `backend::gpu::sum_tile`), nearest to the even split.
const SCENARIO: &str = r#"
name = "shards"
[axes]
accelerator = ["H100-SXM", "B200", "A100-SXM4-80GB"]
gpu_count = { from = 1000, to = 30000, steps = 7, scale = "log" }
precision = ["bf16", "fp8"]
power_frac = [0.25, 0.6, 1.0]
job_gpus = [0, 2048]
pue = { from = 1.1, to = 1.5, steps = 400 }
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
fn ok(out: &Output) {
    assert!(
        out.status.success(),
        "exit {:?}: {}",
        out.status.code(),
        String::from_utf8_lossy(&out.stderr)
    );
}

fn read_json(p: &Path) -> Value {
    serde_json::from_slice(&std::fs::read(p).unwrap()).unwrap()
}

fn unsharded(dir: &Path, scenario: &Path) -> Value {
    let out = dir.join("whole");
    ok(&run(&[
        "sweep",
        scenario.to_str().unwrap(),
        "--backend",
        "cpu",
        "--out",
        out.to_str().unwrap(),
    ]));
    read_json(&out.join("summary.json"))
}

/// Run examples/slurm/sweep-array.sh as Slurm would for array tasks `ids` (MIN = first).
fn slurm_array(dir: &Path, scenario: &Path, parts: &Path, ids: std::ops::RangeInclusive<u64>) {
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/slurm/sweep-array.sh");
    let count = ids.clone().count().to_string();
    let min = ids.start().to_string();
    for id in ids {
        let out = Command::new("bash")
            .arg(&script)
            .current_dir(dir)
            .env("CLUSTERSWEEP", BIN)
            .env("SCENARIO", scenario)
            .env("PARTS", parts)
            .env("SWEEP_ARGS", "--backend cpu --threads 1")
            .env("SLURM_ARRAY_TASK_ID", id.to_string())
            .env("SLURM_ARRAY_TASK_COUNT", &count)
            .env("SLURM_ARRAY_TASK_MIN", &min)
            .env_remove("JOB_COMPLETION_INDEX")
            .output()
            .unwrap();
        ok(&out);
    }
}

fn slurm_merge(dir: &Path, parts: &Path, out: &Path) -> Output {
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/slurm/merge.sh");
    Command::new("bash")
        .arg(&script)
        .current_dir(dir)
        .env("CLUSTERSWEEP", BIN)
        .env("PARTS", parts)
        .env("OUT", out)
        .output()
        .unwrap()
}

#[test]
fn slurm_example_four_shards_merge_to_the_unsharded_summary() {
    let dir = tempfile::tempdir().unwrap();
    let sc = write(dir.path(), "plan.toml", SCENARIO);
    let whole = unsharded(dir.path(), &sc);
    let parts = dir.path().join("parts");
    // Task ids 1..=4: the index is ID - SLURM_ARRAY_TASK_MIN.
    slurm_array(dir.path(), &sc, &parts, 1..=4);
    let mut names: Vec<String> = std::fs::read_dir(&parts)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    assert_eq!(
        names,
        ["part-1.json", "part-2.json", "part-3.json", "part-4.json"]
    );
    let p1 = read_json(&parts.join("part-1.json"));
    assert_eq!(p1["schema"], "clustersweep.partial/1");
    // 100,800 / 4 = 25,200, nearest tile multiple 2 x 12,800.
    assert_eq!(p1["range"]["start"], 0);
    assert_eq!(p1["range"]["end"], 25_600);
    assert_eq!(p1["shard"]["count"], 4);
    let results = dir.path().join("results");
    ok(&slurm_merge(dir.path(), &parts, &results));
    assert_same_summary(read_json(&results.join("summary.json")), whole.clone());
    // The CSV files are the same bytes.
    for f in ["best_by.csv", "pareto.csv"] {
        assert_eq!(
            std::fs::read(results.join(f)).unwrap(),
            std::fs::read(dir.path().join("whole").join(f)).unwrap(),
            "{f}"
        );
    }
}

#[test]
fn shard_counts_from_one_to_seven_merge_to_the_same_summary() {
    let dir = tempfile::tempdir().unwrap();
    let sc = write(dir.path(), "plan.toml", SCENARIO);
    let whole = unsharded(dir.path(), &sc);
    for n in [1u64, 2, 3, 7] {
        let parts = dir.path().join(format!("parts{n}"));
        std::fs::create_dir(&parts).unwrap();
        let mut files = Vec::new();
        for i in 0..n {
            let f = parts.join(format!("p{i}.json"));
            ok(&run(&[
                "sweep",
                sc.to_str().unwrap(),
                "--backend",
                "cpu",
                "--shard",
                &format!("{i}/{n}"),
                "--partial",
                f.to_str().unwrap(),
            ]));
            files.push(f.to_str().unwrap().to_string());
        }
        // Any order of the parts.
        files.reverse();
        let mut args = vec!["merge", "--json"];
        args.extend(files.iter().map(String::as_str));
        let out = run(&args);
        ok(&out);
        assert_same_summary(serde_json::from_slice(&out.stdout).unwrap(), whole.clone());
    }
}

#[test]
fn missing_overlapping_and_foreign_parts_are_refused_and_nothing_is_written() {
    let dir = tempfile::tempdir().unwrap();
    let sc = write(dir.path(), "plan.toml", SCENARIO);
    let other = write(
        dir.path(),
        "other.toml",
        &SCENARIO.replace("max_facility_mw = 30", "max_facility_mw = 31"),
    );
    let part = |scenario: &Path, spec: &str, name: &str| {
        let f = dir.path().join(name);
        ok(&run(&[
            "sweep",
            scenario.to_str().unwrap(),
            "--backend",
            "cpu",
            "--shard",
            spec,
            "--partial",
            f.to_str().unwrap(),
        ]));
        f.to_str().unwrap().to_string()
    };
    let a = part(&sc, "0/3", "a.json");
    let b = part(&sc, "1/3", "b.json");
    let c = part(&sc, "2/3", "c.json");
    let half = part(&sc, "0/2", "half.json");
    let foreign = part(&other, "2/3", "foreign.json");
    let out = dir.path().join("out");
    let o = out.to_str().unwrap();
    let cases: [(&[&str], &str); 4] = [
        (&[&a, &c], "missing"),
        (&[&a, &b, &c, &half], "overlap"),
        (&[&a, &b, &foreign], "another scenario"),
        (&[&a, &b], "missing"),
    ];
    for (files, says) in cases {
        let mut args = vec!["merge", "--out", o];
        args.extend(files);
        let r = run(&args);
        let err = String::from_utf8_lossy(&r.stderr);
        assert_eq!(r.status.code(), Some(2), "{files:?}: {err}");
        assert!(err.contains(says), "{files:?}: {err}");
        assert_eq!(err.lines().count(), 1, "{err}");
        let left: Vec<_> = std::fs::read_dir(&out)
            .map(|d| d.count())
            .into_iter()
            .collect();
        assert!(left.iter().all(|&n| n == 0), "nothing written: {left:?}");
    }
    // A file of another kind.
    let summary = dir.path().join("whole.json");
    std::fs::write(&summary, br#"{"schema": "clustersweep.summary/1"}"#).unwrap();
    let r = run(&["merge", summary.to_str().unwrap()]);
    let err = String::from_utf8_lossy(&r.stderr);
    assert_eq!(r.status.code(), Some(2), "{err}");
    assert!(err.contains("clustersweep.summary/1"), "{err}");
}

#[test]
fn shard_auto_outside_a_batch_system_is_a_clear_error() {
    let dir = tempfile::tempdir().unwrap();
    let sc = write(dir.path(), "plan.toml", SCENARIO);
    let f = dir.path().join("p.json");
    let r = Command::new(BIN)
        .args(["sweep", sc.to_str().unwrap(), "--backend", "cpu"])
        .args(["--shard", "auto", "--partial", f.to_str().unwrap()])
        .env_remove("SLURM_ARRAY_TASK_ID")
        .env_remove("JOB_COMPLETION_INDEX")
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&r.stderr);
    assert_eq!(r.status.code(), Some(2), "{err}");
    assert!(
        err.contains("SLURM_ARRAY_TASK_ID") && err.contains("JOB_COMPLETION_INDEX"),
        "{err}"
    );
    // Kubernetes: the index from the environment, the count from the command line.
    let r = Command::new(BIN)
        .args(["sweep", sc.to_str().unwrap(), "--backend", "cpu"])
        .args(["--shard", "auto/4", "--partial", f.to_str().unwrap()])
        .env_remove("SLURM_ARRAY_TASK_ID")
        .env("JOB_COMPLETION_INDEX", "3")
        .output()
        .unwrap();
    ok(&r);
    let p = read_json(&f);
    assert_eq!(p["shard"]["index"], 3);
    // 3 x 100,800 / 4 = 75,600, nearest tile multiple 6 x 12,800.
    assert_eq!(p["range"]["start"], 76_800);
    assert_eq!(p["range"]["end"], 100_800);
}

#[test]
fn the_summary_does_not_depend_on_the_thread_count() {
    let dir = tempfile::tempdir().unwrap();
    // 1.26 million configurations: several CPU pieces of 2^18, so threads share the work.
    let big = SCENARIO.replace(
        "pue = { from = 1.1, to = 1.5, steps = 400 }",
        "utilization = { from = 0.3, to = 0.6, steps = 5000 }",
    );
    let sc = write(dir.path(), "plan.toml", &big);
    let runs: Vec<Value> = ["1", "2", "3"]
        .iter()
        .map(|t| {
            let out = run(&[
                "sweep",
                sc.to_str().unwrap(),
                "--backend",
                "cpu",
                "--json",
                "--threads",
                t,
            ]);
            ok(&out);
            let mut v: Value = serde_json::from_slice(&out.stdout).unwrap();
            let o = v.as_object_mut().unwrap();
            for k in ["timing", "backend", "run", "notices"] {
                o.remove(k);
            }
            v
        })
        .collect();
    for r in &runs[1..] {
        // Byte-identical JSON text.
        assert_eq!(
            serde_json::to_string(r).unwrap(),
            serde_json::to_string(&runs[0]).unwrap()
        );
    }
}
