//! Human outputs people can read (issue 11, "Numbers people can read", progress and
//! formats): one format for money and counts, descriptions printed whole, what `homes`
//! means, no Vulkan loader noise on stderr. Each test reproduces a reported problem.

use std::path::{Path, PathBuf};
use std::process::Command;

mod common;
use common::{dollars, run, stdout_ok as ok, BIN};

fn write(dir: &Path, name: &str, text: &str) -> PathBuf {
    let p = dir.join(name);
    std::fs::write(&p, text).unwrap();
    p
}

/// The value printed after `name` on the line that starts with it (after indentation).
#[track_caller]
fn field<'a>(text: &'a str, name: &str) -> &'a str {
    text.lines()
        .map(str::trim_start)
        .find_map(|l| {
            l.strip_prefix(name)
                .filter(|rest| rest.starts_with(' '))
                .map(str::trim)
        })
        .unwrap_or_else(|| panic!("no line `{name}` in:\n{text}"))
}

#[test]
fn two_budgets_print_the_same_way() {
    // Issue 11: one summary printed a cost as `3.8000e10` (not a whole number) and the next
    // as `37999952550` (a whole number). Rent: tco = N x 8,766 h x years x $/h.
    let mut seen = Vec::new();
    for (n, price) in [(100_000.0, 6.19), (100_000.0, 2.5), (61_924.0, 10.0)] {
        let out = ok(
            &run(&[
                "eval",
                "--set",
                &format!("gpu_count={n}"),
                "--set",
                &format!("gpu_hour_usd={price}"),
                "--set",
                "years=7",
            ]),
            "eval",
        );
        let tco = n * 8766.0 * 7.0 * price;
        assert_eq!(field(&out, "tco_usd"), dollars(tco), "{out}");
        assert_eq!(
            field(&out, "gpu_hour_usd"),
            format!("${price:.2}/h"),
            "{out}"
        );
        assert_eq!(
            field(&out, "gpu_count"),
            format!("{},{:03} accelerators", n as u64 / 1000, n as u64 % 1000)
        );
        seen.push(field(&out, "tco_usd").to_string());
    }
    assert!(
        seen.iter().all(|s| !s.contains('e')),
        "no scientific money: {seen:?}"
    );
}

#[test]
fn sweep_counts_have_thousands_separators() {
    let dir = tempfile::tempdir().unwrap();
    let p = write(
        dir.path(),
        "counts.toml",
        "name = \"counts\"\n[axes]\naccelerator = [\"H100-SXM\", \"B200\"]\ngpu_count = { from = 1000, to = 2000, steps = 1001 }\npower_frac = [0.1, 0.5, 1.0]\n[fixed]\ncost_model = \"own\"\n",
    );
    let out = ok(
        &run(&["sweep", p.to_str().unwrap(), "--backend", "cpu"]),
        "sweep",
    );
    // 2 x 1001 x 3 = 6,006; 0.1 of TDP is below every floor: 2,002 invalid.
    assert!(
        out.contains("grid       6,006 configurations = "),
        "grid line: {out}"
    );
    assert!(
        out.contains("counts     evaluated 6,006, invalid 2,002, feasible 4,004"),
        "counts line: {out}"
    );
}

#[test]
fn a_long_description_is_printed_whole_and_wrapped() {
    let description = "First sentence of a long description that goes on well past one \
        terminal line, so that a summary that printed only its first line would cut it. \
        Second sentence: it must be there too, whole, and so must the last words here.";
    let dir = tempfile::tempdir().unwrap();
    let p = write(
        dir.path(),
        "long.toml",
        &format!(
            "name = \"long\"\ndescription = \"\"\"\n{}\n\"\"\"\n[axes]\ngpu_count = [10, 20]\n[fixed]\naccelerator = \"H100-SXM\"\n",
            // Written over several lines in the file, as the shipped scenarios do.
            description.replacen(" terminal", "\nterminal", 1)
        ),
    );
    let out = ok(
        &run(&["sweep", p.to_str().unwrap(), "--backend", "cpu"]),
        "sweep",
    );
    let lines: Vec<&str> = out.lines().collect();
    let start = lines
        .iter()
        .position(|l| l.starts_with("scenario"))
        .unwrap();
    let end = lines.iter().position(|l| l.starts_with("grid")).unwrap();
    let printed: Vec<&str> = lines[start + 1..end].iter().map(|l| l.trim()).collect();
    assert!(printed.len() >= 2, "wrapped over lines: {out}");
    assert!(
        lines[start + 1..end]
            .iter()
            .all(|l| l.chars().count() <= 88),
        "wrapped to 88 columns: {out}"
    );
    assert_eq!(printed.join(" "), description, "{out}");
}

#[test]
fn homes_says_what_it_counts() {
    let out = ok(&run(&["eval"]), "eval");
    let homes = field(&out, "homes");
    assert!(
        homes.contains("US homes") && homes.contains("average") && homes.contains("10,500 kWh"),
        "homes line explains average draw: {homes}"
    );
}

#[test]
fn no_xdg_runtime_dir_lines_on_stderr() {
    // The Vulkan loader's layers print `XDG_RUNTIME_DIR is invalid or not set` when the
    // variable is unset; every command that opens wgpu must keep stderr clean.
    for args in [&["adapters"][..], &["sweep", "--backend", "auto"][..]] {
        let out = Command::new(BIN)
            .args(args)
            .env_remove("XDG_RUNTIME_DIR")
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(0), "{args:?}: {stderr}");
        assert!(!stderr.contains("XDG_RUNTIME_DIR"), "{args:?}: {stderr}");
    }
}

#[test]
fn every_format_on_stdout_and_json_as_an_alias() {
    let dir = tempfile::tempdir().unwrap();
    let p = write(dir.path(), "formats.toml", common::FORMATS_SCENARIO);
    let p = p.to_str().unwrap();
    let sweep = |extra: &[&str]| {
        let mut args = vec!["sweep", p, "--backend", "cpu", "--group-by", "accelerator"];
        args.extend_from_slice(extra);
        ok(&run(&args), &format!("{extra:?}"))
    };
    let json: serde_json::Value = serde_json::from_str(&sweep(&["--format", "json"])).unwrap();
    let alias: serde_json::Value = serde_json::from_str(&sweep(&["--json"])).unwrap();
    assert_eq!(
        common::without_run(json.clone()),
        common::without_run(alias)
    );
    // Every metric's unit (`units`: metric name -> unit).
    assert_eq!(json["units"]["tco_usd"], "$");
    assert_eq!(json["units"]["facility_mw"], "MW provisioned");
    assert_eq!(json["units"]["homes"], "US homes");
    for (name, _) in json["best"]["metrics"].as_object().unwrap() {
        assert!(json["units"].get(name).is_some(), "unit of {name}");
    }

    // CSV: the best, one leader per group, the frontier; full precision.
    let csv = sweep(&["--format", "csv"]);
    let mut reader = csv::Reader::from_reader(csv.as_bytes());
    let header: Vec<String> = reader.headers().unwrap().iter().map(String::from).collect();
    assert_eq!(
        &header[..4],
        &["role", "group_accelerator", "group_feasible", "index"]
    );
    let rows: Vec<csv::StringRecord> = reader.records().map(Result::unwrap).collect();
    let roles: Vec<&str> = rows.iter().map(|r| &r[0]).collect();
    let leaders = json["best_by"].as_array().unwrap().len();
    let empty = json["empty_groups"].as_array().unwrap().len();
    let pareto = json["pareto"].as_array().unwrap().len();
    assert_eq!(roles.len(), 1 + leaders + empty + pareto, "{csv}");
    assert_eq!(roles[0], "best");
    assert_eq!(rows[0][3], json["best"]["index"].to_string());
    let tco = header.iter().position(|h| h == "tco_usd").unwrap();
    assert_eq!(
        rows[0][tco].parse::<f64>().unwrap(),
        json["best"]["metrics"]["tco_usd"].as_f64().unwrap()
    );

    // Markdown: tables, money in the human format, pipes escaped.
    let md = sweep(&["--format", "markdown"]);
    assert!(md.starts_with("## clustersweep: formats\n"), "{md}");
    assert!(md.contains("two accelerators \\| a pipe"), "{md}");
    let tco_row = md
        .lines()
        .find(|l| l.starts_with("| `tco_usd` |"))
        .unwrap_or_else(|| panic!("{md}"));
    assert_eq!(
        tco_row,
        format!(
            "| `tco_usd` | {} |",
            dollars(json["best"]["metrics"]["tco_usd"].as_f64().unwrap())
        )
    );
    assert!(md.contains("### Leaders by accelerator"), "{md}");
    assert!(md.contains("| `goodput` |"), "{md}");
}

#[test]
fn quiet_leaves_stderr_empty_and_stdout_has_only_the_summary() {
    let dir = tempfile::tempdir().unwrap();
    let p = write(dir.path(), "formats.toml", common::FORMATS_SCENARIO);
    let out_dir = dir.path().join("out");
    // auto on a machine without a real GPU prints a notice; --quiet drops it, and the
    // `wrote` line; stdout is the JSON document alone.
    let out = run(&[
        "sweep",
        p.to_str().unwrap(),
        "--json",
        "--quiet",
        "--out",
        out_dir.to_str().unwrap(),
    ]);
    let stdout = ok(&out, "quiet");
    assert_eq!(String::from_utf8_lossy(&out.stderr), "");
    let v: serde_json::Value = serde_json::from_str(&stdout).unwrap();
    assert_eq!(v["scenario"]["name"], "formats");
    assert!(out_dir.join("summary.json").is_file());
}
