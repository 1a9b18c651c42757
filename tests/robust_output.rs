//! Output that cannot be lost or hijacked (issue 12 item 4, issue 14 item 3), each found by
//! trying: `--out` checked before the sweep, the `--out` set replaced whole, no temporaries
//! after `SIGXFSZ`, planted temporary symlinks not followed, closed and full stdout, `-` for
//! stdout and symbolic links written through.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

mod common;
use common::{run, write, BIN};

const SMALL: &str = r#"
name = "out-small"
[axes]
accelerator = ["H100-SXM", "B200"]
gpu_count = { from = 1000, to = 20000, steps = 5, scale = "log" }
power_frac = [0.6, 1.0]
[workload]
train_flop = 1e25
"#;

/// A grid of 10^10 configurations: minutes to hours on this machine.
const HUGE: &str = r#"
name = "out-huge"
[axes]
accelerator = ["H100-SXM"]
gpu_count = { from = 1000, to = 1000000, steps = 1000 }
power_frac = { from = 0.5, to = 1.0, steps = 100 }
utilization = { from = 0.3, to = 0.6, steps = 100 }
pue = { from = 1.1, to = 1.5, steps = 1000 }
[workload]
train_flop = 1e25
"#;

fn names(dir: &Path) -> Vec<String> {
    let mut v: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    v.sort();
    v
}

/// Wait for a child at most `limit`; kill it if still running and return None.
fn wait_at_most(mut child: std::process::Child, limit: Duration) -> Option<std::process::Output> {
    let start = Instant::now();
    while start.elapsed() < limit {
        if child.try_wait().unwrap().is_some() {
            return Some(child.wait_with_output().unwrap());
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    let _ = child.kill();
    let _ = child.wait();
    None
}

#[test]
fn an_unwritable_out_fails_before_the_sweep() {
    let dir = tempfile::tempdir().unwrap();
    let huge = write(dir.path(), "huge.toml", HUGE);
    // /proc/self cannot hold new folders, even for root.
    let child = Command::new(BIN)
        .args(["sweep", huge.to_str().unwrap(), "--backend", "cpu"])
        .args(["--out", "/proc/self/clustersweep-out"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let out = wait_at_most(child, Duration::from_secs(30))
        .expect("an unwritable --out must fail at once, not after the sweep");
    assert_eq!(out.status.code(), Some(1), "{out:?}");
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("--out") && err.contains("/proc/self/clustersweep-out"),
        "{err}"
    );
    assert_eq!(err.lines().count(), 1, "{err}");
}

/// A folder with a first `--out` set in `out/` from the small scenario.
fn first_set() -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let sc = write(dir.path(), "small.toml", SMALL);
    let out = dir.path().join("out");
    let r = sweep_into(&sc, &out);
    assert!(r.status.success(), "{r:?}");
    (dir, out)
}

/// `sweep SCENARIO --backend cpu --out OUT`.
fn sweep_into(scenario: &Path, out: &Path) -> std::process::Output {
    run(&[
        "sweep",
        scenario.to_str().unwrap(),
        "--backend",
        "cpu",
        "--out",
        out.to_str().unwrap(),
    ])
}

/// Another scenario (its summary differs from the first set's).
fn other_scenario(dir: &Path) -> PathBuf {
    write(dir, "other.toml", &SMALL.replace("out-small", "out-other"))
}

#[test]
fn a_failing_file_leaves_the_previous_set_whole() {
    let (dir, out) = first_set();
    let o = out.to_str().unwrap();
    let old_summary = std::fs::read(out.join("summary.json")).unwrap();
    let old_best_by = std::fs::read(out.join("best_by.csv")).unwrap();
    let before = names(&out);
    // The third file cannot be replaced: a folder took its name.
    std::fs::remove_file(out.join("pareto.csv")).unwrap();
    std::fs::create_dir(out.join("pareto.csv")).unwrap();
    let other = other_scenario(dir.path());
    let second = run(&[
        "sweep",
        other.to_str().unwrap(),
        "--backend",
        "cpu",
        "--out",
        o,
    ]);
    assert_eq!(second.status.code(), Some(1), "{second:?}");
    assert_eq!(
        std::fs::read(out.join("summary.json")).unwrap(),
        old_summary
    );
    assert_eq!(std::fs::read(out.join("best_by.csv")).unwrap(), old_best_by);
    assert_eq!(names(&out), before, "the previous set, whole");
}

#[cfg(unix)]
#[test]
fn a_file_size_limit_is_an_error_with_no_temporary_left() {
    let (dir, out) = first_set();
    let o = out.to_str().unwrap();
    let old = std::fs::read(out.join("summary.json")).unwrap();
    let before = names(&out);
    let other = other_scenario(dir.path());
    // ulimit -f counts 512-byte blocks (bash) or KiB: 1 is below any summary.json.
    let script = format!(
        "ulimit -f 1; exec '{BIN}' sweep '{}' --backend cpu --out '{o}'",
        other.display()
    );
    let r = Command::new("bash").args(["-c", &script]).output().unwrap();
    assert_eq!(r.status.code(), Some(1), "{r:?}");
    let err = String::from_utf8_lossy(&r.stderr);
    assert_eq!(err.lines().count(), 1, "{err}");
    assert_eq!(std::fs::read(out.join("summary.json")).unwrap(), old);
    assert_eq!(names(&out), before, "the previous set, whole");
}

#[cfg(target_os = "linux")]
#[test]
fn planted_temporary_symlinks_are_not_followed() {
    let dir = tempfile::tempdir().unwrap();
    let sc = write(dir.path(), "small.toml", SMALL);
    let victim = write(dir.path(), "victim.txt", "keep me");
    let out = dir.path().join("out");
    std::fs::create_dir(&out).unwrap();
    // The names the old writer used (`.NAME.tmp-PID`), for the next few hundred PIDs.
    let last: u32 = std::fs::read_to_string("/proc/sys/kernel/ns_last_pid")
        .ok()
        .and_then(|s| s.trim().parse().ok())
        .unwrap_or(0);
    for pid in last + 1..last + 400 {
        for name in ["summary.json", "best_by.csv", "pareto.csv"] {
            std::os::unix::fs::symlink(&victim, out.join(format!(".{name}.tmp-{pid}"))).unwrap();
        }
    }
    let r = run(&[
        "sweep",
        sc.to_str().unwrap(),
        "--backend",
        "cpu",
        "--out",
        out.to_str().unwrap(),
    ]);
    assert!(r.status.success(), "{r:?}");
    assert_eq!(std::fs::read_to_string(&victim).unwrap(), "keep me");
    for name in ["summary.json", "best_by.csv", "pareto.csv"] {
        let m = std::fs::symlink_metadata(out.join(name)).unwrap();
        assert!(m.file_type().is_file(), "{name} must be a regular file");
    }
}

/// Commands that print on stdout, each run with its stdout closed before it writes.
fn stdout_commands(scenario: &str) -> Vec<Vec<String>> {
    let s = |v: &[&str]| v.iter().map(|x| x.to_string()).collect::<Vec<_>>();
    vec![
        s(&["catalog"]),
        s(&["catalog", "--json"]),
        s(&["eval", scenario]),
        s(&["eval", scenario, "--json"]),
        s(&["sweep", scenario, "--backend", "cpu"]),
        s(&["sweep", scenario, "--backend", "cpu", "--json"]),
        s(&["validate"]),
    ]
}

#[test]
fn a_closed_stdout_ends_quietly() {
    let dir = tempfile::tempdir().unwrap();
    let sc = write(dir.path(), "small.toml", SMALL);
    for args in stdout_commands(sc.to_str().unwrap()) {
        let mut child = Command::new(BIN)
            .args(&args)
            .env("RUST_BACKTRACE", "0")
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        drop(child.stdout.take());
        let out = child.wait_with_output().unwrap();
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(0), "{args:?}: {err}");
        assert!(!err.contains("panicked"), "{args:?}: {err}");
    }
}

#[cfg(target_os = "linux")]
#[test]
fn a_full_stdout_is_exit_1_with_one_line() {
    let dir = tempfile::tempdir().unwrap();
    let sc = write(dir.path(), "small.toml", SMALL);
    for args in stdout_commands(sc.to_str().unwrap()) {
        let full = std::fs::OpenOptions::new()
            .write(true)
            .open("/dev/full")
            .unwrap();
        let out = Command::new(BIN)
            .args(&args)
            .env("RUST_BACKTRACE", "0")
            .stdout(Stdio::from(full))
            .output()
            .unwrap();
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(1), "{args:?}: {err}");
        assert_eq!(err.lines().count(), 1, "{args:?}: {err}");
        assert!(err.contains("cannot write stdout"), "{args:?}: {err}");
    }
}

#[test]
fn bench_json_dash_is_stdout_and_messages_go_to_stderr() {
    let r = run(&[
        "bench",
        "--backend",
        "cpu",
        "--configs",
        "2000",
        "--repeats",
        "1",
        "--json",
        "-",
    ]);
    assert!(r.status.success(), "{r:?}");
    let doc: serde_json::Value = serde_json::from_slice(&r.stdout).expect("stdout is the JSON");
    assert_eq!(doc["schema"], "clustersweep.bench/2");
    assert!(!Path::new("-").exists(), "no file named `-`");
}

#[cfg(unix)]
#[test]
fn a_symlinked_output_file_is_written_through() {
    let dir = tempfile::tempdir().unwrap();
    let target = write(dir.path(), "target.json", "");
    let link = dir.path().join("link.json");
    std::os::unix::fs::symlink(&target, &link).unwrap();
    let r = run(&[
        "bench",
        "--backend",
        "cpu",
        "--configs",
        "2000",
        "--repeats",
        "1",
        "--json",
        link.to_str().unwrap(),
    ]);
    assert!(r.status.success(), "{r:?}");
    assert!(std::fs::symlink_metadata(&link)
        .unwrap()
        .file_type()
        .is_symlink());
    let doc: serde_json::Value = serde_json::from_slice(&std::fs::read(&target).unwrap()).unwrap();
    assert_eq!(doc["schema"], "clustersweep.bench/2");
    let err = String::from_utf8_lossy(&r.stderr);
    assert!(err.contains("wrote"), "{err}");
    assert!(!String::from_utf8_lossy(&r.stdout).contains("wrote"));
}

#[test]
fn sweep_wrote_message_goes_to_stderr() {
    let dir = tempfile::tempdir().unwrap();
    let sc = write(dir.path(), "small.toml", SMALL);
    let out = dir.path().join("out");
    let r = sweep_into(&sc, &out);
    assert!(r.status.success(), "{r:?}");
    assert!(!String::from_utf8_lossy(&r.stdout).contains("wrote"));
    assert!(String::from_utf8_lossy(&r.stderr).contains("wrote"));
}
