//! Runaway inputs (issue 12 item 5), each found by trying: thread counts beyond the cores,
//! grids far beyond reason, FIFOs and endless files as input, axes that would exhaust memory
//! before the grid-size check, `bench --configs` near 2^64, ranges that overflow f64, and
//! invalid UTF-8.

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

mod common;
use common::{input_error, run, write, BIN};

const BASE: &str = r#"
name = "inputs"
[fixed]
accelerator = "H100-SXM"
[workload]
train_flop = 1e25
"#;

/// Run with a deadline; None when the command was still running (it is killed).
fn run_within(args: &[&str], limit: Duration) -> Option<std::process::Output> {
    let mut child = Command::new(BIN)
        .args(args)
        .env("RUST_BACKTRACE", "0")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
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
fn threads_beyond_the_cores_are_capped_with_a_notice() {
    let dir = tempfile::tempdir().unwrap();
    let sc = write(
        dir.path(),
        "s.toml",
        &format!("{BASE}[axes]\ngpu_count = [1000, 2000]\n"),
    );
    let out = run_within(
        &[
            "sweep",
            sc.to_str().unwrap(),
            "--backend",
            "cpu",
            "--threads",
            "100000",
            "--json",
        ],
        Duration::from_secs(60),
    )
    .expect("finishes");
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{err}");
    assert!(err.contains("--threads 100000 capped"), "{err}");
    let doc: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(doc["counts"]["evaluated"], 2);
}

#[test]
fn a_grid_far_beyond_reason_needs_yes() {
    let dir = tempfile::tempdir().unwrap();
    // 2^20 * 2^20 * 2^20 = 2^60 configurations.
    let sc = write(
        dir.path(),
        "huge.toml",
        &format!(
            "{BASE}[axes]\ngpu_count = [1000]\nload_frac = {{ from = 0.5, to = 0.9, steps = 1048576 }}\n\
             utilization = {{ from = 0.3, to = 0.6, steps = 1048576 }}\n\
             pue = {{ from = 1.1, to = 1.5, steps = 1048576 }}\n"
        ),
    );
    let out = run_within(
        &["sweep", sc.to_str().unwrap(), "--backend", "cpu"],
        Duration::from_secs(60),
    )
    .expect("refused at once, not run");
    input_error(
        &out,
        &["1152921504606846976 configurations", "years", "--yes"],
    );
    // A lower --max-configs refuses a small grid too.
    let small = write(
        dir.path(),
        "small.toml",
        &format!("{BASE}[axes]\ngpu_count = [1000, 2000, 3000]\n"),
    );
    let s = small.to_str().unwrap();
    let out = run(&["sweep", s, "--backend", "cpu", "--max-configs", "2"]);
    input_error(&out, &["3 configurations", "--max-configs 2"]);
    let out = run(&[
        "sweep",
        s,
        "--backend",
        "cpu",
        "--max-configs",
        "2",
        "--yes",
    ]);
    assert!(out.status.success(), "{out:?}");
}

#[cfg(unix)]
#[test]
fn a_fifo_or_a_device_is_not_read_as_input() {
    let dir = tempfile::tempdir().unwrap();
    let fifo = dir.path().join("fifo.toml");
    let made = Command::new("mkfifo").arg(&fifo).status().unwrap();
    assert!(made.success());
    let f = fifo.to_str().unwrap();
    for args in [
        vec!["sweep", f, "--backend", "cpu"],
        vec!["eval", f],
        vec!["catalog", "--catalog", f],
        vec!["sweep", "--catalog", "/dev/zero", "--backend", "cpu"],
        vec!["eval", "/dev/zero"],
    ] {
        let out =
            run_within(&args, Duration::from_secs(20)).unwrap_or_else(|| panic!("{args:?} hung"));
        input_error(&out, &["not a regular file"]);
    }
}

#[test]
fn an_oversized_input_file_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let mut text = String::from(BASE);
    text.push_str(&"# padding\n".repeat(500_000));
    let big = write(dir.path(), "big.toml", &text);
    let out = run(&["eval", big.to_str().unwrap()]);
    input_error(&out, &["larger than", "bytes"]);
}

#[test]
fn many_long_axes_are_refused_before_memory_runs_out() {
    // 17 ranges of 2^24 steps: the grid is refused, and the axes are refused as they are
    // read (at most about 3 x 128 MiB), not after all of them are held (2.2 GB).
    let mut text = format!("{BASE}[axes]\n");
    for (n, from, to) in [
        ("utilization", 0.3, 0.6),
        ("load_frac", 0.5, 0.9),
        ("pue", 1.1, 1.5),
        ("carbon_kg_per_kwh", 0.1, 0.5),
    ] {
        text.push_str(&format!(
            "{n} = {{ from = {from}, to = {to}, steps = 16777216 }}\n"
        ));
    }
    for k in 0..13 {
        text.push_str(&format!("# and {k} more axes of 2^24 steps\n"));
    }
    let dir = tempfile::tempdir().unwrap();
    let sc = write(dir.path(), "wide.toml", &text);
    let out =
        run_within(&["eval", sc.to_str().unwrap()], Duration::from_secs(120)).expect("refused");
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    // Refused at the third axis, by whichever limit it crosses first.
    assert!(
        err.contains("values in all") || err.contains("2^64"),
        "{err}"
    );
    assert!(err.contains("16777216 x 16777216 x 16777216)"), "{err}");
}

#[test]
fn bench_configs_near_2_pow_64_is_bad_input() {
    let out = run(&[
        "bench",
        "--backend",
        "cpu",
        "--configs",
        "18446744073709551615",
    ]);
    input_error(&out, &["--configs: at most"]);
}

#[test]
fn a_range_that_overflows_f64_is_bad_input() {
    let dir = tempfile::tempdir().unwrap();
    let sc = write(
        dir.path(),
        "overflow.toml",
        &format!(
            "{BASE}[axes]\ngpu_count = [1000]\nutilization = {{ from = -1e308, to = 1e308, steps = 3 }}\n"
        ),
    );
    let s = sc.to_str().unwrap();
    input_error(&run(&["eval", s]), &["axes.utilization", "overflow"]);
    input_error(
        &run(&["sweep", s, "--backend", "cpu"]),
        &["axes.utilization", "overflow"],
    );
}

#[test]
fn invalid_utf8_is_reported_at_its_line_and_column() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("bad.toml");
    let mut bytes = BASE.as_bytes().to_vec();
    bytes.extend_from_slice(b"# caf\xe9\n");
    std::fs::write(&p, &bytes).unwrap();
    let lines = BASE.matches('\n').count() + 1;
    let out = run(&["eval", p.to_str().unwrap()]);
    input_error(&out, &[&format!("bad.toml:{lines}:6"), "invalid UTF-8"]);
}
