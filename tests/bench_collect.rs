//! `clustersweep bench collect DIR` (issue 14, item 8): a folder of results from real
//! `clustersweep bench` runs (tiny CPU workloads), a foreign JSON document and a file that
//! is not JSON give one table with a row per measured backend, one skip notice per foreign
//! file, a CSV with one row per result and an SVG with one bar per result. The expected
//! cells are computed here from each document's repetition times.

mod common;

use common::{input_error, run, stdout_ok, write};
use serde_json::Value;
use std::path::Path;

/// A real bench/2 document of `configs` configurations of the default workload, 3
/// repetitions on one thread, at `path`.
fn bench(path: &Path, configs: &str) -> Value {
    let out = common::tiny_cpu_bench(configs, &["--json", path.to_str().unwrap()]);
    stdout_ok(&out, "bench");
    serde_json::from_slice(&std::fs::read(path).unwrap()).unwrap()
}

/// What the table must say of a document's only result: median rate and the 95% interval,
/// from the repetition times (n = 3: t(0.975, 2) = 4.302653).
struct Expected {
    median: f64,
    /// None when the interval of the mean time reaches 0 (a very noisy run).
    interval: Option<[f64; 2]>,
}

fn expected(doc: &Value) -> Expected {
    let r = &doc["results"][0];
    let configs = r["configs"].as_f64().unwrap();
    let mut t: Vec<f64> = r["wall_s"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_f64().unwrap())
        .collect();
    assert_eq!(t.len(), 3);
    t.sort_by(f64::total_cmp);
    let mean = t.iter().sum::<f64>() / 3.0;
    let sd = (t.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / 2.0).sqrt();
    let half = 4.302_653 * sd / 3f64.sqrt();
    Expected {
        median: configs / t[1],
        interval: (mean - half > 0.0).then(|| [configs / (mean + half), configs / (mean - half)]),
    }
}

/// The markdown row of a document, built from its fields.
fn row(doc: &Value, file: &str) -> String {
    let e = expected(doc);
    let m = &doc["machine"]["cpu"];
    let b = &doc["build"];
    let commit: String = b["git_commit"].as_str().unwrap().chars().take(12).collect();
    let commit = if b["git_dirty"] == true {
        format!("{commit} (dirty)")
    } else {
        commit
    };
    format!(
        "| {}, {} threads | - | cpu, 1 thread | default, {} configurations | `{commit}` | {:.4e} | {} | 3 | `{file}` |",
        m["model"].as_str().unwrap().split_whitespace().collect::<Vec<_>>().join(" "),
        m["logical_threads"],
        doc["results"][0]["configs"],
        e.median,
        e.interval
            .map_or("-".into(), |[lo, hi]| format!("{lo:.4e} – {hi:.4e}")),
    )
}

fn close(a: f64, b: f64) -> bool {
    (a - b).abs() <= 1e-9 * b.abs()
}

#[test]
fn a_folder_of_results_gives_one_table_csv_and_chart() {
    let dir = tempfile::tempdir().unwrap();
    let results = dir.path().join("results");
    std::fs::create_dir(&results).unwrap();
    let a = bench(&results.join("a-small.json"), "200000");
    let b = bench(&results.join("b-larger.json"), "300000");
    write(
        &results,
        "c-summary.json",
        r#"{"schema": "clustersweep.summary/2", "best": null}"#,
    );
    write(&results, "d-broken.json", "{ not json");
    write(&results, "notes.txt", "not a result, not read");
    // Sub-folders are not entered.
    std::fs::create_dir(results.join("old")).unwrap();
    std::fs::copy(results.join("a-small.json"), results.join("old/a.json")).unwrap();

    let csv_path = dir.path().join("table.csv");
    let svg_path = dir.path().join("chart.svg");
    let out = run(&[
        "bench",
        "collect",
        results.to_str().unwrap(),
        "--csv",
        csv_path.to_str().unwrap(),
        "--svg",
        svg_path.to_str().unwrap(),
    ]);
    let table = stdout_ok(&out, "bench collect");
    let lines: Vec<&str> = table.lines().collect();
    assert_eq!(lines.len(), 4, "{table}");
    assert!(lines[0].starts_with("| machine | GPU / adapter | backend |"));
    assert_eq!(lines[2], row(&a, "a-small.json"));
    assert_eq!(lines[3], row(&b, "b-larger.json"));

    // One notice per foreign *.json file, in name order; nothing about notes.txt.
    let err = String::from_utf8_lossy(&out.stderr);
    let skipped: Vec<&str> = err.lines().filter(|l| l.contains("skipped")).collect();
    assert_eq!(skipped.len(), 2, "{err}");
    assert!(skipped[0].starts_with("clustersweep: bench collect: skipped c-summary.json: "));
    assert!(
        skipped[0].contains("it is a `clustersweep.summary/2` document"),
        "{err}"
    );
    assert!(skipped[1].starts_with("clustersweep: bench collect: skipped d-broken.json: "));
    assert!(skipped[1].contains("it is not JSON"), "{err}");
    assert!(!err.contains("notes.txt") && !err.contains("old"), "{err}");

    // The CSV: a header with units and one row per result, every digit.
    let mut reader = csv::Reader::from_path(&csv_path).unwrap();
    let header = reader.headers().unwrap().clone();
    let col = |name: &str| header.iter().position(|h| h == name).unwrap();
    let records: Vec<csv::StringRecord> = reader.records().map(|r| r.unwrap()).collect();
    assert_eq!(records.len(), 2);
    for (rec, (doc, file)) in records
        .iter()
        .zip([(&a, "a-small.json"), (&b, "b-larger.json")])
    {
        let e = expected(doc);
        assert_eq!(&rec[col("file")], file);
        assert_eq!(&rec[col("backend")], "cpu");
        assert_eq!(&rec[col("adapter")], "");
        assert_eq!(&rec[col("threads_used")], "1");
        assert_eq!(&rec[col("workload")], "default");
        assert_eq!(
            rec[col("configs")].parse::<u64>().unwrap(),
            doc["results"][0]["configs"].as_u64().unwrap()
        );
        assert_eq!(
            &rec[col("commit")],
            doc["build"]["git_commit"].as_str().unwrap()
        );
        let num = |name: &str| rec[col(name)].parse::<f64>().unwrap();
        assert!(close(num("median_configs_per_s"), e.median));
        match e.interval {
            Some([lo, hi]) => {
                assert!(close(num("ci95_low_configs_per_s"), lo));
                assert!(close(num("ci95_high_configs_per_s"), hi));
            }
            None => {
                assert_eq!(&rec[col("ci95_low_configs_per_s")], "");
                assert_eq!(&rec[col("ci95_high_configs_per_s")], "");
            }
        }
        assert!(close(
            num("mean_configs_per_s"),
            doc["results"][0]["configs_per_s"].as_f64().unwrap()
        ));
    }

    // The chart: one bar per result (the bars' colour), each labelled with its file.
    let svg = std::fs::read_to_string(&svg_path).unwrap();
    assert!(svg.starts_with("<svg"), "{}", &svg[..80.min(svg.len())]);
    let bars = svg
        .lines()
        .filter(|l| l.contains("<rect") && l.contains("fill=\"#1F77B4\""))
        .count();
    assert_eq!(bars, 2, "{svg}");
    for label in ["a-small", "b-larger"] {
        assert!(
            svg.lines().any(|l| l.trim() == label),
            "no {label} in {svg}"
        );
    }
}

#[test]
fn dash_is_stdout_and_an_empty_folder_is_bad_input() {
    let dir = tempfile::tempdir().unwrap();
    bench(&dir.path().join("only.json"), "2000");
    let out = run(&[
        "bench",
        "collect",
        dir.path().to_str().unwrap(),
        "--csv",
        "-",
    ]);
    let text = stdout_ok(&out, "--csv -");
    let mut reader = csv::Reader::from_reader(text.as_bytes());
    assert_eq!(reader.headers().unwrap().len(), 20);
    assert_eq!(reader.records().count(), 1);
    // Only one output can have stdout.
    input_error(
        &run(&[
            "bench",
            "collect",
            dir.path().to_str().unwrap(),
            "--csv",
            "-",
            "--svg",
            "-",
        ]),
        &["only one of --csv, --markdown, --svg can be `-`"],
    );

    let none = tempfile::tempdir().unwrap();
    write(
        none.path(),
        "s.json",
        r#"{"schema": "clustersweep.partial/1"}"#,
    );
    let out = run(&["bench", "collect", none.path().to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("skipped s.json"), "{err}");
    assert!(
        err.contains("no usable `clustersweep.bench/2` file among its 1 *.json file(s)"),
        "{err}"
    );
    let missing = none.path().join("nope");
    input_error(
        &run(&["bench", "collect", missing.to_str().unwrap()]),
        &["nope", "cannot read the folder"],
    );
}

/// A FIFO named `*.json` in the folder is skipped as not a regular file; before the shared
/// reader, opening it blocked `bench collect` until a writer came (forever).
#[cfg(unix)]
#[test]
fn a_fifo_in_the_folder_is_skipped_not_waited_on() {
    let dir = tempfile::tempdir().unwrap();
    let fifo = dir.path().join("pipe.json");
    let made = std::process::Command::new("mkfifo")
        .arg(&fifo)
        .status()
        .expect("mkfifo");
    assert!(made.success());
    let mut child = std::process::Command::new(common::BIN)
        .args(["bench", "collect", dir.path().to_str().unwrap()])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    while child.try_wait().unwrap().is_none() {
        if std::time::Instant::now() > deadline {
            let _ = child.kill();
            panic!("bench collect is still waiting on the FIFO after 60 s");
        }
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    let out = child.wait_with_output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("skipped pipe.json: cannot read a bench document: not a regular file"),
        "{err}"
    );
}
