//! Checkpoints (issue 12 item 3): a sweep stopped by SIGINT or SIGTERM saves its checkpoint
//! and exits 130 or 143; rerunning the same command resumes and ends with the summary of an
//! uninterrupted run; a checkpoint of another scenario, or a file that is not a checkpoint,
//! is refused (exit 2) and left as it was.

use serde_json::Value;
use std::path::Path;
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

mod common;
use common::{assert_same_summary, run, write, BIN};

/// 1000 x 100 x 100 x 40 = 4e8 configurations: about a second on one core, so that a
/// signal sent after the first checkpoint arrives long before the end.
const SCENARIO: &str = r#"
name = "checkpointed"
[axes]
gpu_count = { from = 1000, to = 100000, steps = 1000 }
power_frac = { from = 0.3, to = 1.0, steps = 100 }
utilization = { from = 0.2, to = 0.6, steps = 100 }
pue = { from = 1.05, to = 1.6, steps = 40 }
[fixed]
accelerator = "H100-SXM"
[constraints]
max_facility_mw = 80
[objective]
metric = "usd_per_eflop"
"#;

#[track_caller]
fn ok(out: &Output) -> Value {
    assert!(
        out.status.success(),
        "exit {:?}: {}",
        out.status.code(),
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

fn sweep_args<'a>(scenario: &'a Path, checkpoint: &'a Path) -> Vec<&'a str> {
    vec![
        "sweep",
        scenario.to_str().unwrap(),
        "--backend",
        "cpu",
        "--threads",
        "1",
        "--json",
        "--checkpoint",
        checkpoint.to_str().unwrap(),
        "--checkpoint-every",
        "0",
    ]
}

/// Start the checkpointed sweep, wait for its first checkpoint, send `signal`, and return
/// how it ended.
fn interrupt(scenario: &Path, checkpoint: &Path, signal: &str) -> Output {
    let child = Command::new(BIN)
        .args(sweep_args(scenario, checkpoint))
        .env("RUST_BACKTRACE", "0")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // Wait for a checkpoint saved by this run (one further along than any before it).
    let before = checkpoint.exists().then(|| checkpoint_done(checkpoint));
    let deadline = Instant::now() + Duration::from_secs(60);
    while !checkpoint.exists() || Some(checkpoint_done(checkpoint)) <= before {
        assert!(Instant::now() < deadline, "no new checkpoint after 60 s");
        std::thread::sleep(Duration::from_millis(5));
    }
    let sent = Instant::now();
    let kill = Command::new("kill")
        .args([signal, &child.id().to_string()])
        .status()
        .unwrap();
    assert!(kill.success());
    let out = child.wait_with_output().unwrap();
    // Stopping waits only for the segment in flight (about a quarter of a second).
    assert!(
        sent.elapsed() < Duration::from_secs(5),
        "took {:?} to stop",
        sent.elapsed()
    );
    out
}

fn checkpoint_done(checkpoint: &Path) -> u64 {
    let v: Value = serde_json::from_slice(&std::fs::read(checkpoint).unwrap()).unwrap();
    assert_eq!(v["schema"], "clustersweep.checkpoint/1");
    v["done"].as_u64().unwrap()
}

#[test]
fn an_interrupted_sweep_resumes_to_the_uninterrupted_summary() {
    let dir = tempfile::tempdir().unwrap();
    let sc = write(dir.path(), "s.toml", SCENARIO);
    let ck = dir.path().join("run.checkpoint");
    let whole = ok(&run(&[
        "sweep",
        sc.to_str().unwrap(),
        "--backend",
        "cpu",
        "--threads",
        "1",
        "--json",
    ]));

    let stopped = interrupt(&sc, &ck, "-INT");
    let stderr = String::from_utf8_lossy(&stopped.stderr);
    assert_eq!(stopped.status.code(), Some(130), "{stderr}");
    assert!(stderr.contains("stopped by SIGINT"), "{stderr}");
    assert!(stopped.stdout.is_empty());
    let done = checkpoint_done(&ck);
    assert!(done > 0 && done < 400_000_000, "done {done}");

    // Stopped again, by SIGTERM this time, further along.
    let stopped = interrupt(&sc, &ck, "-TERM");
    assert_eq!(
        stopped.status.code(),
        Some(143),
        "{}",
        String::from_utf8_lossy(&stopped.stderr)
    );
    assert!(checkpoint_done(&ck) > done);

    let resumed = run(&sweep_args(&sc, &ck));
    let stderr = String::from_utf8_lossy(&resumed.stderr).to_string();
    let resumed = ok(&resumed);
    assert!(stderr.contains("resumed from the checkpoint"), "{stderr}");
    assert!(!ck.exists(), "a finished run removes its checkpoint");
    assert_eq!(resumed["counts"], whole["counts"]);
    assert_same_summary(resumed, whole);
    // No temporaries left beside the checkpoint.
    let names: Vec<String> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert_eq!(names, vec!["s.toml".to_string()], "{names:?}");
}

#[test]
fn a_checkpoint_of_another_scenario_or_another_file_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let sc = write(dir.path(), "s.toml", SCENARIO);
    let ck = dir.path().join("run.checkpoint");
    let stopped = interrupt(&sc, &ck, "-INT");
    assert_eq!(stopped.status.code(), Some(130));
    let saved = std::fs::read(&ck).unwrap();

    let changed = write(
        dir.path(),
        "s.toml",
        &SCENARIO.replace("max_facility_mw = 80", "max_facility_mw = 90"),
    );
    let out = run(&sweep_args(&changed, &ck));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains("another scenario (SHA-256)") && stderr.contains("run.checkpoint"),
        "{stderr}"
    );
    assert_eq!(std::fs::read(&ck).unwrap(), saved, "the checkpoint is kept");

    // Another grouping of the same scenario is another run too.
    let sc = write(dir.path(), "s.toml", SCENARIO);
    let mut args = sweep_args(&sc, &ck);
    args.extend(["--group-by", "power_frac"]);
    let out = run(&args);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("--group-by axes"), "{stderr}");

    let other = write(
        dir.path(),
        "other.json",
        r#"{"schema": "clustersweep.summary/1"}"#,
    );
    let out = run(&sweep_args(&sc, &other));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains("not a clustersweep.checkpoint/1 file"),
        "{stderr}"
    );

    let out = run(&sweep_args(&sc, dir.path()));
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("is a folder"));
}
