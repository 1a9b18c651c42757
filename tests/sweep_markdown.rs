//! `sweep --markdown FILE` (issue 14, "Done means": `--markdown "$GITHUB_STEP_SUMMARY"`):
//! each scenario's markdown section, the checks included, is appended to FILE (what was
//! there stays), in the order of the scenarios; `-` is stdout; a failed check still writes
//! the section and exits 4; a FIFO is written to, not replaced.

mod common;

use common::{input_error, run, stderr, stdout_ok, write};
use std::path::Path;
use std::process::Output;

/// 2 accelerators x 4 sizes; a 25 MW cap leaves some feasible.
const SMALL: &str = r#"
name = "md-small"
[axes]
gpu_count = { from = 1500, to = 24000, steps = 4, scale = "log" }
accelerator = ["B200", "H100-SXM"]
[fixed]
cost_model = "own"
[constraints]
max_facility_mw = 25
"#;

/// Another scenario: one accelerator, three sizes.
const OTHER: &str = r#"
name = "md-other"
[axes]
gpu_count = { from = 2000, to = 8000, steps = 3 }
[fixed]
accelerator = "H200-SXM"
cost_model = "own"
"#;

/// `sweep FILES... --backend cpu EXTRA...`.
fn sweep(files: &[&Path], extra: &[&str]) -> Output {
    let mut args: Vec<&str> = vec!["sweep"];
    args.extend(files.iter().map(|f| f.to_str().unwrap()));
    args.extend(["--backend", "cpu"]);
    args.extend_from_slice(extra);
    run(&args)
}

/// The sections of a markdown text, split at the `## clustersweep: ` headings.
fn headings(text: &str) -> Vec<&str> {
    text.lines()
        .filter(|l| l.starts_with("## clustersweep: "))
        .collect()
}

#[test]
fn appends_what_format_markdown_prints_and_keeps_the_old_content() {
    let dir = tempfile::tempdir().unwrap();
    let s = write(dir.path(), "s.toml", SMALL);
    let md = write(dir.path(), "summary.md", "# Nightly\n\nearlier step\n");
    let out = sweep(
        &[&s],
        &[
            "--format",
            "markdown",
            "--require-feasible",
            "--markdown",
            md.to_str().unwrap(),
        ],
    );
    let printed = stdout_ok(&out, "sweep --markdown");
    // The same run's stdout and the appended section are one text.
    let file = std::fs::read_to_string(&md).unwrap();
    assert_eq!(file, format!("# Nightly\n\nearlier step\n{printed}"));
    assert_eq!(headings(&printed), vec!["## clustersweep: md-small"]);
    // The check is in the markdown, not a loose line.
    assert!(
        printed.contains("### Checks: 1 passed, 0 failed"),
        "{printed}"
    );
    assert!(
        printed.contains("| pass | `counts.feasible >= 1` |"),
        "{printed}"
    );
    assert!(stderr(&out).contains(&format!(
        "appended the markdown summary of md-small to {}",
        md.display()
    )));
    // A second run appends again.
    let again = sweep(&[&s], &["--quiet", "--markdown", md.to_str().unwrap()]);
    stdout_ok(&again, "second sweep --markdown");
    let file = std::fs::read_to_string(&md).unwrap();
    assert!(file.starts_with(&format!("# Nightly\n\nearlier step\n{printed}")));
    assert_eq!(headings(&file).len(), 2);
}

#[test]
fn two_scenarios_give_two_sections_in_order() {
    let dir = tempfile::tempdir().unwrap();
    let a = write(dir.path(), "a.toml", SMALL);
    let b = write(dir.path(), "b.toml", OTHER);
    let md = dir.path().join("new.md");
    let out = sweep(
        &[&a, &b],
        &["--quiet", "--json", "--markdown", md.to_str().unwrap()],
    );
    let printed = stdout_ok(&out, "two scenarios");
    let docs: serde_json::Value = serde_json::from_str(&printed).unwrap();
    assert_eq!(docs.as_array().map(Vec::len), Some(2));
    let file = std::fs::read_to_string(&md).unwrap();
    assert_eq!(
        headings(&file),
        vec!["## clustersweep: md-small", "## clustersweep: md-other"]
    );
    // Each section holds its own scenario's best index (from the JSON of the same run).
    let second = file.find("## clustersweep: md-other").unwrap();
    for (doc, part) in docs
        .as_array()
        .unwrap()
        .iter()
        .zip([&file[..second], &file[second..]])
    {
        let index = doc["best"]["index"].as_u64().unwrap();
        assert!(
            part.contains(&format!("### Best configuration (index {index})")),
            "{part}"
        );
        let file_name = doc["scenario"]["file"].as_str().unwrap();
        assert!(part.contains(&format!("`{file_name}`")), "{part}");
    }
}

#[test]
fn dash_is_stdout_and_the_table_goes_to_stderr() {
    let dir = tempfile::tempdir().unwrap();
    let s = write(dir.path(), "s.toml", SMALL);
    let out = sweep(&[&s], &["--markdown", "-"]);
    let printed = stdout_ok(&out, "--markdown -");
    assert!(
        printed.starts_with("## clustersweep: md-small\n"),
        "{printed}"
    );
    assert_eq!(headings(&printed).len(), 1);
    let md = sweep(&[&s], &["--format", "markdown"]);
    let md = stdout_ok(&md, "--format markdown");
    // Apart from the run's time, the same text as --format markdown.
    let timeless = |t: &str| {
        t.lines()
            .filter(|l| !l.starts_with("| time |"))
            .collect::<Vec<_>>()
            .join("\n")
    };
    assert_eq!(timeless(&printed), timeless(&md));
    // The table for people is on stderr, not mixed into the markdown.
    let table = stdout_ok(&sweep(&[&s], &[]), "table");
    let first = table.lines().next().unwrap();
    assert!(!printed.contains(first), "{printed}");
    assert!(stderr(&out).contains(first), "{}", stderr(&out));
    // stdout cannot take both.
    for format in [
        ["--json", ""],
        ["--format", "csv"],
        ["--format", "markdown"],
    ] {
        let mut args = vec!["--markdown", "-"];
        args.extend(format.iter().filter(|a| !a.is_empty()));
        input_error(
            &sweep(&[&s], &args),
            &["--markdown -: stdout already gets --format"],
        );
    }
}

#[test]
fn a_failed_check_still_writes_the_markdown_and_exits_4() {
    let dir = tempfile::tempdir().unwrap();
    let s = write(dir.path(), "s.toml", SMALL);
    let md = dir.path().join("summary.md");
    let out = sweep(
        &[&s],
        &[
            "--json",
            "--check",
            "best.throughput_pflops >= 1e30",
            "--require-feasible",
            "--markdown",
            md.to_str().unwrap(),
        ],
    );
    assert_eq!(out.status.code(), Some(4), "{}", stderr(&out));
    let doc: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let value = doc["checks"][1]["value"].as_f64().unwrap();
    let file = std::fs::read_to_string(&md).unwrap();
    assert_eq!(headings(&file), vec!["## clustersweep: md-small"]);
    assert!(file.contains("### Checks: 1 passed, 1 failed"), "{file}");
    let fail_row = format!(
        "| **FAIL** | `best.throughput_pflops >= 1000000000000000000000000000000` | {} | {} | --check |",
        clustersweep::format::fmt_num(value),
        clustersweep::format::fmt_num(1e30)
    );
    assert!(file.contains(&fail_row), "no `{fail_row}` in:\n{file}");
    assert!(file.contains("| pass | `counts.feasible >= 1` |"), "{file}");
}

#[cfg(unix)]
#[test]
fn a_fifo_is_written_to_and_a_folder_refused() {
    let dir = tempfile::tempdir().unwrap();
    let s = write(dir.path(), "s.toml", SMALL);
    let fifo = dir.path().join("pipe");
    let made = std::process::Command::new("mkfifo")
        .arg(&fifo)
        .status()
        .expect("mkfifo");
    assert!(made.success());
    let reader = {
        let fifo = fifo.clone();
        std::thread::spawn(move || std::fs::read_to_string(fifo).unwrap())
    };
    let out = sweep(&[&s], &["--quiet", "--markdown", fifo.to_str().unwrap()]);
    stdout_ok(&out, "--markdown FIFO");
    let got = reader.join().unwrap();
    assert_eq!(headings(&got), vec!["## clustersweep: md-small"]);
    let meta = std::fs::symlink_metadata(&fifo).unwrap();
    assert!(!meta.is_file(), "the FIFO was replaced by a file");
    // A folder is bad input, found before the sweep.
    let folder = sweep(
        &[&s],
        &["--quiet", "--markdown", dir.path().to_str().unwrap()],
    );
    input_error(&folder, &["--markdown ", "is a folder"]);
}
