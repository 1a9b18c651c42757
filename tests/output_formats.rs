//! `eval` and `merge` take `--format table|json|csv|markdown` as `sweep` does (`--json`
//! kept as the alias), and `--quiet` silences the `--threads` cap notice (issue 11).

mod common;
use common::{
    assert_same_summary, dollars, run, stdout_ok as ok, without_run, write, FORMATS_SCENARIO,
};

#[test]
fn eval_prints_every_format() {
    let dir = tempfile::tempdir().unwrap();
    let p = write(dir.path(), "s.toml", FORMATS_SCENARIO);
    let p = p.to_str().unwrap();
    // 50,000 GPUs cannot fit under 20 MW: infeasible with a reason.
    let eval = |extra: &[&str]| {
        let mut args = vec!["eval", p, "--set", "gpu_count=50000"];
        args.extend_from_slice(extra);
        ok(&run(&args), &format!("{extra:?}"))
    };
    let json: serde_json::Value = serde_json::from_str(&eval(&["--format", "json"])).unwrap();
    let alias: serde_json::Value = serde_json::from_str(&eval(&["--json"])).unwrap();
    assert_eq!(json, alias);
    assert_eq!(json["feasible"], false);
    let reasons: Vec<&str> = json["reasons"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r.as_str().unwrap())
        .collect();
    assert!(!reasons.is_empty(), "{json}");
    assert_eq!(
        eval(&[]),
        eval(&["--format", "table"]),
        "table is the default"
    );

    // CSV: a header and one row; every parameter and metric with every digit.
    let csv = eval(&["--format", "csv"]);
    let mut reader = csv::Reader::from_reader(csv.as_bytes());
    let header: Vec<String> = reader.headers().unwrap().iter().map(String::from).collect();
    let rows: Vec<csv::StringRecord> = reader.records().map(Result::unwrap).collect();
    assert_eq!(rows.len(), 1, "{csv}");
    let row = &rows[0];
    assert_eq!(&header[..3], &["valid", "feasible", "reasons"]);
    assert_eq!(&row[0], json["valid"].to_string());
    assert_eq!(&row[1], "false");
    assert_eq!(&row[2], reasons.join("; "));
    let col = |name: &str| {
        header
            .iter()
            .position(|h| h == name)
            .unwrap_or_else(|| panic!("no column {name} in {header:?}"))
    };
    assert_eq!(&row[col("gpu_count")], "50000");
    assert_eq!(&row[col("accelerator")], "H100-SXM");
    let metrics = json["metrics"].as_object().unwrap();
    for (name, v) in metrics {
        match v.as_f64() {
            // The JSON rounds to 15 significant digits; the CSV keeps every digit.
            Some(x) => {
                let y: f64 = row[col(name)].parse().unwrap();
                assert!((x - y).abs() <= 1e-14 * x.abs(), "{name}: {x} vs {y}");
            }
            None => assert_eq!(&row[col(name)], "", "{name}"),
        }
    }
    assert_eq!(
        header.len(),
        3 + json["params"].as_object().unwrap().len() + metrics.len()
    );

    // Markdown: the verdict, each reason, a two-column table with money in the human form.
    let md = eval(&["--format", "markdown"]);
    assert!(md.starts_with("## clustersweep eval: formats\n"), "{md}");
    assert!(md.contains("valid: **yes**, feasible: **no**"), "{md}");
    for why in &reasons {
        assert!(md.contains(&format!("- because {why}")), "{why}\n{md}");
    }
    let tco_row = md
        .lines()
        .find(|l| l.starts_with("| `tco_usd` |"))
        .unwrap_or_else(|| panic!("{md}"));
    assert_eq!(
        tco_row,
        format!(
            "| `tco_usd` | {} |",
            dollars(json["metrics"]["tco_usd"].as_f64().unwrap())
        )
    );
    assert!(md.contains("| `gpu_count` | 50,000 accelerators |"), "{md}");
}

#[test]
fn merge_prints_every_format_as_sweep_does() {
    let dir = tempfile::tempdir().unwrap();
    let p = write(dir.path(), "s.toml", FORMATS_SCENARIO);
    let p = p.to_str().unwrap();
    let base = ["--backend", "cpu", "--group-by", "accelerator"];
    let sweep = |format: &str| {
        let mut args = vec!["sweep", p, "--format", format, "--quiet"];
        args.extend_from_slice(&base);
        ok(&run(&args), format)
    };
    let mut parts = Vec::new();
    for i in 0..3 {
        let part = dir.path().join(format!("part{i}.json"));
        let spec = format!("{i}/3");
        let mut args = vec![
            "sweep",
            p,
            "--shard",
            &spec,
            "--partial",
            part.to_str().unwrap(),
        ];
        args.extend_from_slice(&base);
        ok(&run(&args), &spec);
        parts.push(part);
    }
    let merge = |extra: &[&str]| {
        let mut args = vec!["merge"];
        args.extend(parts.iter().map(|p| p.to_str().unwrap()));
        args.extend_from_slice(extra);
        let out = run(&args);
        let stdout = ok(&out, &format!("{extra:?}"));
        (stdout, String::from_utf8_lossy(&out.stderr).to_string())
    };
    let (json, _) = merge(&["--format", "json"]);
    let (alias, _) = merge(&["--json"]);
    let json: serde_json::Value = serde_json::from_str(&json).unwrap();
    let alias: serde_json::Value = serde_json::from_str(&alias).unwrap();
    assert_eq!(without_run(json.clone()), without_run(alias));
    let whole: serde_json::Value = serde_json::from_str(&sweep("json")).unwrap();
    assert_same_summary(json, whole);

    // CSV holds no timing: the merged rows are the unsharded sweep's, byte for byte.
    assert_eq!(merge(&["--format", "csv"]).0, sweep("csv"));
    // Markdown and the table differ from the sweep's only in the run's time.
    let timeless = |text: &str| {
        text.lines()
            .filter(|l| !l.contains("configurations/s"))
            .collect::<Vec<_>>()
            .join("\n")
    };
    let md = merge(&["--format", "markdown"]).0;
    assert!(md.starts_with("## clustersweep: formats\n"), "{md}");
    assert_eq!(timeless(&md), timeless(&sweep("markdown")));
    let (table, _) = merge(&[]);
    assert_eq!(timeless(&table), timeless(&sweep("table")));
    // --quiet: nothing on stderr, even when writing --out.
    let out_dir = dir.path().join("out");
    let (_, stderr) = merge(&["--quiet", "--out", out_dir.to_str().unwrap()]);
    assert_eq!(stderr, "");
    assert!(out_dir.join("report.html").is_file());
}

#[test]
fn quiet_drops_the_threads_cap_notice() {
    let dir = tempfile::tempdir().unwrap();
    let p = write(dir.path(), "s.toml", FORMATS_SCENARIO);
    let p = p.to_str().unwrap();
    let args = [
        "sweep",
        p,
        "--backend",
        "cpu",
        "--threads",
        "100000",
        "--json",
    ];
    let loud = run(&args);
    ok(&loud, "without --quiet");
    assert!(
        String::from_utf8_lossy(&loud.stderr).contains("--threads 100000 capped"),
        "the notice is printed without --quiet"
    );
    let mut quiet_args = args.to_vec();
    quiet_args.push("--quiet");
    let quiet = run(&quiet_args);
    let stdout = ok(&quiet, "--quiet");
    assert_eq!(String::from_utf8_lossy(&quiet.stderr), "");
    let doc: serde_json::Value = serde_json::from_str(&stdout).unwrap();
    assert_eq!(doc["counts"]["evaluated"], 28);
}
