//! Every class of bad input of issue 2 item 2: through `Scenario::parse` / `Catalog::parse`
//! (the error names the file, the key and the reason, with line:column where the parser
//! knows it) and through the binary (exit code 2, one line on stderr, never a panic).

use clustersweep::catalog::Catalog;
use clustersweep::input::InputError;
use clustersweep::plan::SweepPlan;
use clustersweep::scenario::Scenario;
use clustersweep::summary::describe;
use std::process::Output;

mod common;
use common::{run, write, Rng};

/// A valid scenario the cases below break (lines 1-3).
const BASE: &str = "[fixed]\naccelerator = \"H100-SXM\"\ngpu_count = 8\n";

/// A bad scenario and what its error must say.
struct Case {
    what: &'static str,
    text: String,
    /// The key the error names (exactly).
    key: &'static str,
    /// A fragment of the reason (case-insensitive).
    reason: &'static str,
    /// Expected (line, column); column 0 = any column.
    pos: Option<(usize, usize)>,
}

fn case(
    what: &'static str,
    text: impl Into<String>,
    key: &'static str,
    reason: &'static str,
    pos: Option<(usize, usize)>,
) -> Case {
    Case {
        what,
        text: text.into(),
        key,
        reason,
        pos,
    }
}

fn full_accelerator(id: &str, idle: f64, min: f64, tdp: f64) -> String {
    format!(
        "[accelerators.{id}]\npeak_tflops = {{ bf16 = 100.0 }}\ntdp_w = {tdp}\nidle_w = {idle}\n\
         min_power_w = {min}\nhost_w = 100\nmtbf_hours = 10000\nprice_usd = 1\n\
         host_capex_usd = 1\nhbm_gb = 1\n"
    )
}

fn cases() -> Vec<Case> {
    let mut v = vec![
        // --- unknown keys
        case(
            "unknown top-level key",
            format!("nme = \"x\"\n{BASE}"),
            "nme",
            "unknown key",
            Some((1, 1)),
        ),
        case(
            "unknown section",
            format!("{BASE}[limits]\nmax_tco_usd = 1\n"),
            "limits",
            "unknown key",
            Some((4, 2)),
        ),
        case(
            "unknown parameter in axes",
            format!("[axes]\ngpu_cnt = [1, 2]\n{BASE}"),
            "axes.gpu_cnt",
            "unknown parameter",
            Some((2, 1)),
        ),
        case(
            "unknown parameter in fixed",
            format!("{BASE}gpu_hours = 3\n"),
            "fixed.gpu_hours",
            "unknown parameter",
            Some((4, 1)),
        ),
        case(
            "unknown constraint",
            format!("{BASE}[constraints]\nmax_power_mw = 3\n"),
            "constraints.max_power_mw",
            "unknown key",
            Some((5, 1)),
        ),
        case(
            "unknown key in a range",
            format!("[axes]\npue = {{ from = 1.1, to = 1.5, step = 3 }}\n{BASE}"),
            "axes.pue.step",
            "unknown key",
            Some((2, 0)),
        ),
        case(
            "unknown workload key",
            format!("{BASE}[workload]\ntokens = 1e12\n"),
            "workload.tokens",
            "unknown key",
            Some((5, 1)),
        ),
        case(
            "unknown accelerator field",
            format!("{BASE}[accelerators.H100-SXM]\ntdp = 700\n"),
            "accelerators.H100-SXM.tdp",
            "unknown key",
            Some((5, 1)),
        ),
        // --- wrong types
        case(
            "number given as a string",
            "[fixed]\naccelerator = \"H100-SXM\"\ngpu_count = \"eight\"\n",
            "fixed.gpu_count",
            "expected a number",
            Some((3, 13)),
        ),
        case(
            "accelerator given as a number",
            "[fixed]\naccelerator = 5\ngpu_count = 8\n",
            "fixed.accelerator",
            "expected a string",
            Some((2, 15)),
        ),
        case(
            "axis given as a scalar",
            format!("[axes]\nutilization = 0.5\n{BASE}"),
            "axes.utilization",
            "found",
            Some((2, 15)),
        ),
        case(
            "list element of the wrong type",
            format!("[axes]\npue = [1.1, \"1.2\"]\n{BASE}"),
            "axes.pue[1]",
            "expected a number",
            Some((2, 13)),
        ),
        case(
            "name given as a number",
            format!("name = 3\n{BASE}"),
            "name",
            "expected a string",
            Some((1, 8)),
        ),
        case(
            "constraint given as a string",
            format!("{BASE}[constraints]\nmax_tco_usd = \"lots\"\n"),
            "constraints.max_tco_usd",
            "expected a number",
            Some((5, 15)),
        ),
        case(
            "section given as a value",
            format!("{BASE}constraints = 3\n"),
            "fixed.constraints",
            "unknown parameter",
            Some((4, 1)),
        ),
        case(
            "top-level section given as a value",
            format!("objective = 3\n{BASE}"),
            "objective",
            "expected a table",
            Some((1, 13)),
        ),
        case(
            "range steps not an integer",
            format!("[axes]\npue = {{ from = 1.1, to = 1.5, steps = 2.5 }}\n{BASE}"),
            "axes.pue.steps",
            "integer",
            Some((2, 0)),
        ),
        case(
            "range of a categorical parameter",
            format!("[axes]\nprecision = {{ from = 1, to = 2, steps = 2 }}\n{BASE}"),
            "axes.precision",
            "list",
            Some((2, 13)),
        ),
        case(
            "unknown range scale",
            format!("[axes]\npue = {{ from = 1.1, to = 1.5, steps = 3, scale = \"cubic\" }}\n{BASE}"),
            "axes.pue.scale",
            "cubic",
            Some((2, 0)),
        ),
        case(
            "unknown precision",
            format!("{BASE}precision = \"fp16\"\n"),
            "fixed.precision",
            "fp16",
            Some((4, 13)),
        ),
        case(
            "unknown cost model",
            format!("{BASE}cost_model = \"lease\"\n"),
            "fixed.cost_model",
            "lease",
            Some((4, 14)),
        ),
        // --- power_w and power_frac
        case(
            "both power_w and power_frac fixed",
            format!("{BASE}power_w = 500\npower_frac = 0.5\n"),
            "fixed.power_frac",
            "power_w or power_frac",
            Some((5, 14)),
        ),
        case(
            "power_w an axis and power_frac fixed",
            format!("[axes]\npower_w = [300, 500]\n{BASE}power_frac = 0.5\n"),
            "fixed.power_frac",
            "power_w or power_frac",
            Some((6, 14)),
        ),
        // --- axes
        case(
            "zero-length axis",
            format!("[axes]\nutilization = []\n{BASE}"),
            "axes.utilization",
            "at least one value",
            Some((2, 15)),
        ),
        case(
            "range with zero steps",
            format!("[axes]\nutilization = {{ from = 0.1, to = 0.5, steps = 0 }}\n{BASE}"),
            "axes.utilization.steps",
            "at least 1 step",
            Some((2, 47)),
        ),
        case(
            "range with negative steps",
            format!("[axes]\nutilization = {{ from = 0.1, to = 0.5, steps = -2 }}\n{BASE}"),
            "axes.utilization.steps",
            "at least 1 step",
            Some((2, 47)),
        ),
        case(
            "range without steps",
            format!("[axes]\nutilization = {{ from = 0.1, to = 0.5 }}\n{BASE}"),
            "axes.utilization.steps",
            "missing",
            Some((2, 0)),
        ),
        case(
            "log range from zero",
            format!(
                "[axes]\nutilization = {{ from = 0.0, to = 0.5, steps = 3, scale = \"log\" }}\n{BASE}"
            ),
            "axes.utilization",
            "log range",
            Some((2, 0)),
        ),
        case(
            "log range to zero",
            format!("[axes]\nrestart_s = {{ from = 10, to = 0, steps = 3, scale = \"log\" }}\n{BASE}"),
            "axes.restart_s",
            "log range",
            Some((2, 0)),
        ),
        case(
            "log range through negatives",
            format!(
                "[axes]\ncheckpoint_s = {{ from = -10, to = 10, steps = 3, scale = \"log\" }}\n{BASE}"
            ),
            "axes.checkpoint_s",
            "log range",
            Some((2, 0)),
        ),
        case(
            "grid over 2^64 configurations",
            format!(
                "[axes]\n\
                 utilization = {{ from = 0.1, to = 1.0, steps = 65536 }}\n\
                 load_frac = {{ from = 0.1, to = 1.0, steps = 65536 }}\n\
                 pue = {{ from = 1.0, to = 2.0, steps = 65536 }}\n\
                 carbon_kg_per_kwh = {{ from = 0.0, to = 1.0, steps = 65536 }}\n{BASE}"
            ),
            "axes",
            "2^64",
            Some((1, 0)),
        ),
        // --- unknown names
        case(
            "unknown accelerator",
            "[fixed]\naccelerator = \"H900\"\ngpu_count = 8\n",
            "fixed.accelerator",
            "unknown accelerator `H900`",
            Some((2, 15)),
        ),
        case(
            "unknown accelerator in an axis",
            "[axes]\naccelerator = [\"H100-SXM\", \"H900\"]\n[fixed]\ngpu_count = 8\n",
            "axes.accelerator[1]",
            "unknown accelerator `H900`",
            Some((2, 28)),
        ),
        case(
            "unknown objective metric",
            format!("{BASE}[objective]\nmetric = \"speed\"\n"),
            "objective.metric",
            "unknown metric `speed`",
            Some((5, 10)),
        ),
        case(
            "unknown objective sense",
            format!("{BASE}[objective]\nmetric = \"tco_usd\"\nsense = \"lowest\"\n"),
            "objective.sense",
            "lowest",
            Some((6, 9)),
        ),
        // --- accelerator figures
        case(
            "inline accelerator with idle_w above min_power_w",
            format!(
                "[fixed]\naccelerator = \"X\"\ngpu_count = 8\n{}",
                full_accelerator("X", 300.0, 200.0, 700.0)
            ),
            "accelerators.X",
            "idle_w < min_power_w <= tdp_w",
            Some((8, 0)),
        ),
        case(
            "inline accelerator with min_power_w equal to idle_w",
            format!(
                "[fixed]\naccelerator = \"X\"\ngpu_count = 8\n{}",
                full_accelerator("X", 200.0, 200.0, 700.0)
            ),
            "accelerators.X",
            "idle_w < min_power_w <= tdp_w",
            Some((8, 0)),
        ),
        case(
            "inline accelerator with min_power_w above tdp_w",
            format!(
                "[fixed]\naccelerator = \"X\"\ngpu_count = 8\n{}",
                full_accelerator("X", 50.0, 800.0, 700.0)
            ),
            "accelerators.X",
            "idle_w < min_power_w <= tdp_w",
            Some((8, 0)),
        ),
        case(
            "catalog override breaking min_power_w <= tdp_w",
            format!("{BASE}[accelerators.H100-SXM]\nmin_power_w = 800\n"),
            "accelerators.H100-SXM",
            "idle_w < min_power_w <= tdp_w",
            Some((5, 15)),
        ),
        case(
            "catalog override breaking idle_w < min_power_w",
            format!("{BASE}[accelerators.H100-SXM]\nidle_w = 250\n"),
            "accelerators.H100-SXM",
            "idle_w < min_power_w <= tdp_w",
            Some((5, 10)),
        ),
        case(
            "new accelerator missing a field",
            format!(
                "[fixed]\naccelerator = \"Y\"\ngpu_count = 8\n{}",
                full_accelerator("Y", 50.0, 100.0, 500.0).replace("peak_tflops = { bf16 = 100.0 }\n", "")
            ),
            "accelerators.Y.peak_tflops",
            "missing",
            None,
        ),
        // --- both fixed and an axis
        case(
            "parameter both an axis and fixed",
            "[axes]\ngpu_count = [1, 2]\n[fixed]\naccelerator = \"H100-SXM\"\ngpu_count = 8\n",
            "fixed.gpu_count",
            "axes.gpu_count",
            Some((5, 1)),
        ),
        // --- workload
        case(
            "max_train_days without train_flop",
            format!("{BASE}[constraints]\nmax_train_days = 30\n"),
            "constraints.max_train_days",
            "train_flop",
            Some((5, 18)),
        ),
        case(
            "train_days objective without train_flop",
            format!("{BASE}[objective]\nmetric = \"train_days\"\n"),
            "objective.metric",
            "train_flop",
            Some((5, 10)),
        ),
        case(
            "tokens_per_s objective without model_params",
            format!("{BASE}[objective]\nmetric = \"tokens_per_s\"\nsense = \"max\"\n"),
            "objective.metric",
            "model_params",
            Some((5, 10)),
        ),
        case(
            "negative train_flop",
            format!("{BASE}[workload]\ntrain_flop = -1e24\n"),
            "workload.train_flop",
            "> 0",
            Some((5, 14)),
        ),
        // --- required parameters
        case(
            "gpu_count missing",
            "[fixed]\naccelerator = \"H100-SXM\"\n",
            "gpu_count",
            "required",
            None,
        ),
        case(
            "accelerator missing",
            "[fixed]\ngpu_count = 8\n",
            "accelerator",
            "required",
            None,
        ),
        case(
            "infinite fixed value",
            format!("{BASE}pue = inf\n"),
            "fixed.pue",
            "finite",
            Some((4, 7)),
        ),
        case(
            "nan fixed value",
            format!("{BASE}pue = nan\n"),
            "fixed.pue",
            "nan",
            Some((4, 7)),
        ),
    ];
    // Invalid TOML: the parser's own position, no key.
    v.push(case(
        "invalid TOML: unclosed table header",
        "[fixed\naccelerator = \"H100-SXM\"\n",
        "",
        "invalid TOML",
        Some((1, 0)),
    ));
    v.push(case(
        "invalid TOML: missing value",
        "[fixed]\naccelerator = \"H100-SXM\"\ngpu_count = \n",
        "",
        "invalid TOML",
        Some((3, 0)),
    ));
    v.push(case(
        "invalid TOML: duplicate key",
        "[fixed]\naccelerator = \"H100-SXM\"\naccelerator = \"B200\"\ngpu_count = 8\n",
        "accelerator",
        "invalid TOML: duplicate key `accelerator`",
        Some((3, 0)),
    ));
    v
}

fn check_error(c: &Case, file: &str, e: &InputError) {
    let what = c.what;
    assert_eq!(e.file, file, "{what}: file");
    if c.key.is_empty() {
        assert_eq!(e.key, None, "{what}: TOML syntax errors name no key");
    } else {
        assert_eq!(e.key.as_deref(), Some(c.key), "{what}: key ({e})");
    }
    assert!(
        e.reason.to_lowercase().contains(&c.reason.to_lowercase()),
        "{what}: reason `{}` should mention `{}`",
        e.reason,
        c.reason
    );
    match c.pos {
        None => assert_eq!(e.position, None, "{what}: position"),
        Some((line, col)) => {
            let (l, cc) = e
                .position
                .unwrap_or_else(|| panic!("{what}: no position ({e})"));
            assert_eq!(l, line, "{what}: line ({e})");
            if col != 0 {
                assert_eq!(cc, col, "{what}: column ({e})");
            }
        }
    }
    let msg = e.to_string();
    assert!(
        msg.starts_with(file),
        "{what}: `{msg}` should start with the file"
    );
    if let Some((l, cc)) = e.position {
        assert!(msg.contains(&format!("{file}:{l}:{cc}")), "{what}: `{msg}`");
    }
    if !c.key.is_empty() {
        assert!(msg.contains(c.key), "{what}: `{msg}` should name the key");
    }
    assert!(!msg.contains('\n'), "{what}: one line, got `{msg}`");
}

#[test]
fn scenario_parse_reports_file_key_reason_and_position() {
    let catalog = Catalog::builtin().unwrap();
    // The base itself is fine.
    Scenario::parse("base.toml", BASE, &catalog).unwrap();
    for c in cases() {
        let file = "dir/bad-scenario.toml";
        match Scenario::parse(file, &c.text, &catalog) {
            Ok(_) => panic!("{}: accepted\n{}", c.what, c.text),
            Err(e) => check_error(&c, file, &e),
        }
    }
}

#[test]
fn grid_just_under_2_pow_64_is_accepted() {
    // 2^32 * (2^16 - 1)^2 is just under 2^64 and fits; the limit is u64 overflow, not a
    // round limit. (Axes of 2^16 values keep memory small: 65536 * 65536 * 65535 * 65535.)
    let catalog = Catalog::builtin().unwrap();
    let text = format!(
        "[axes]\n\
         utilization = {{ from = 0.1, to = 1.0, steps = 65536 }}\n\
         load_frac = {{ from = 0.1, to = 1.0, steps = 65536 }}\n\
         pue = {{ from = 1.0, to = 2.0, steps = 65535 }}\n\
         carbon_kg_per_kwh = {{ from = 0.0, to = 1.0, steps = 65535 }}\n{BASE}"
    );
    let s = Scenario::parse("fits.toml", &text, &catalog).unwrap();
    assert_eq!(s.grid().size, 65536u64 * 65536 * 65535 * 65535);
}

#[test]
fn missing_scenario_file() {
    let catalog = Catalog::builtin().unwrap();
    let path = "/nonexistent-dir/none.toml";
    let e = Scenario::load(path, &catalog).unwrap_err();
    assert_eq!(e.file, path);
    let msg = e.to_string();
    assert!(msg.contains(path) && !msg.contains('\n'), "{msg}");
    assert!(msg.to_lowercase().contains("cannot read") || msg.contains("No such file"));
}

/// Citations for every figure, as the catalog requires.
const CITED: &str = r#"sources = { peak_tflops = "t", tdp_w = "t", idle_w = "t", min_power_w = "t", dvfs_exponent = "t", host_w = "t", mtbf_hours = "t", price_usd = "t", host_capex_usd = "t", hbm_gb = "t" }"#;

/// A catalog whose second entry breaks idle_w < min_power_w <= tdp_w (min 600 > tdp 500).
fn bad_catalog() -> String {
    let entry = |id: &str, min: u32| {
        format!(
            "[accelerators.{id}]\npeak_tflops = {{ bf16 = 100.0 }}\ntdp_w = 500\nidle_w = 50\n\
             min_power_w = {min}\ndvfs_exponent = 3\nhost_w = 100\nmtbf_hours = 10000\n\
             price_usd = 1\nhost_capex_usd = 1\nhbm_gb = 1\nsource = \"test figures\"\n{CITED}\n\n"
        )
    };
    entry("GOOD", 100) + &entry("BAD", 600)
}

#[test]
fn catalog_parse_errors() {
    let e = Catalog::parse("cat.toml", &bad_catalog()).unwrap_err();
    assert_eq!(e.file, "cat.toml");
    assert_eq!(e.key.as_deref(), Some("accelerators.BAD"));
    assert!(e.reason.contains("idle_w < min_power_w <= tdp_w"), "{e}");
    let text = bad_catalog();
    let line = text[..text.find("min_power_w = 600").unwrap()]
        .lines()
        .count()
        + 1;
    assert_eq!(e.position, Some((line, 15)), "{e}");

    let good = bad_catalog().replace("min_power_w = 600", "min_power_w = 200");
    let c = Catalog::parse("cat.toml", &good).unwrap();
    assert_eq!(c.ids(), vec!["GOOD", "BAD"]);

    // Only the first entry changes (replacen 1).
    let unknown = good.replacen("hbm_gb = 1\n", "hbm_gb = 1\nhbm_tb = 2\n", 1);
    let e = Catalog::parse("cat.toml", &unknown).unwrap_err();
    assert_eq!(e.key.as_deref(), Some("accelerators.GOOD.hbm_tb"), "{e}");

    let missing = good.replacen("mtbf_hours = 10000\n", "", 1);
    let e = Catalog::parse("cat.toml", &missing).unwrap_err();
    assert_eq!(
        e.key.as_deref(),
        Some("accelerators.GOOD.mtbf_hours"),
        "{e}"
    );

    let e = Catalog::parse("cat.toml", "title = 1\n").unwrap_err();
    assert_eq!(e.key.as_deref(), Some("title"), "{e}");
    let e = Catalog::parse("cat.toml", "").unwrap_err();
    assert_eq!(e.key.as_deref(), Some("accelerators"), "{e}");
    let e = Catalog::parse("cat.toml", "[accelerators.X\n").unwrap_err();
    assert!(
        e.reason.contains("invalid TOML") && e.position.is_some(),
        "{e}"
    );
    let e = Catalog::load("/nonexistent-dir/cat.toml").unwrap_err();
    assert_eq!(e.file, "/nonexistent-dir/cat.toml");
}

// ---------------------------------------------------------------------------------------
// Through the binary

/// Exit code 2, nothing on stdout, exactly one line on stderr that names `names`.
#[track_caller]
fn assert_input_error(out: &Output, names: &[&str], what: &str) {
    let stderr = String::from_utf8_lossy(&out.stderr);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(
        out.status.code(),
        Some(2),
        "{what}: exit code\nstderr: {stderr}\nstdout: {stdout}"
    );
    assert!(!stderr.contains("panicked"), "{what}: panic: {stderr}");
    assert_eq!(stderr.trim_end().lines().count(), 1, "{what}: `{stderr}`");
    assert!(stderr.ends_with('\n'), "{what}: newline-terminated");
    for n in names {
        assert!(
            stderr.contains(n),
            "{what}: stderr `{stderr}` should contain `{n}`"
        );
    }
    assert!(stdout.trim().is_empty(), "{what}: stdout `{stdout}`");
}

#[test]
fn cli_exits_2_with_one_line_for_every_bad_scenario() {
    let dir = tempfile::tempdir().unwrap();
    for (i, c) in cases().iter().enumerate() {
        let path = write(dir.path(), &format!("bad-{i}.toml"), &c.text);
        let p = path.to_str().unwrap();
        let mut names = vec![p];
        if !c.key.is_empty() {
            names.push(c.key);
        }
        let out = run(&["sweep", p, "--backend", "cpu"]);
        assert_input_error(&out, &names, &format!("sweep: {}", c.what));
        let out = run(&["eval", p, "--json"]);
        assert_input_error(&out, &names, &format!("eval: {}", c.what));
    }
}

#[test]
fn cli_missing_scenario_file() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("no-such-scenario.toml");
    let p = path.to_str().unwrap();
    let out = run(&["sweep", p, "--backend", "cpu"]);
    assert_input_error(&out, &[p], "sweep of a missing file");
    let out = run(&["eval", p]);
    assert_input_error(&out, &[p], "eval of a missing file");
}

#[test]
fn cli_bad_catalog_file() {
    let dir = tempfile::tempdir().unwrap();
    let cat = write(dir.path(), "hardware.toml", &bad_catalog());
    let c = cat.to_str().unwrap();
    let scen = write(
        dir.path(),
        "ok.toml",
        "[fixed]\naccelerator = \"GOOD\"\ngpu_count = 8\n",
    );
    let s = scen.to_str().unwrap();
    let names = [c, "accelerators.BAD", "idle_w < min_power_w <= tdp_w"];
    assert_input_error(&run(&["catalog", "--catalog", c]), &names, "catalog");
    assert_input_error(
        &run(&["catalog", "--json", "--catalog", c]),
        &names,
        "catalog --json",
    );
    assert_input_error(
        &run(&["sweep", s, "--backend", "cpu", "--catalog", c]),
        &names,
        "sweep --catalog",
    );
    assert_input_error(&run(&["eval", s, "--catalog", c]), &names, "eval --catalog");

    let missing = dir.path().join("missing-catalog.toml");
    let m = missing.to_str().unwrap();
    assert_input_error(&run(&["catalog", "--catalog", m]), &[m], "missing catalog");

    // With the catalog fixed, the same scenario runs on it.
    let good = write(
        dir.path(),
        "good.toml",
        &bad_catalog().replace("min_power_w = 600", "min_power_w = 200"),
    );
    let out = run(&["eval", s, "--json", "--catalog", good.to_str().unwrap()]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["params"]["accelerator"], "GOOD");
}

#[test]
fn cli_bad_arguments_exit_2() {
    let dir = tempfile::tempdir().unwrap();
    let scen = write(dir.path(), "ok.toml", BASE);
    let s = scen.to_str().unwrap();
    assert_input_error(
        &run(&["sweep", s, "--backend", "cpu", "--group-by", "gpu_count"]),
        &["gpu_count"],
        "--group-by a parameter that is not an axis",
    );
    assert_input_error(
        &run(&["sweep", s, "--backend", "cpu", "--threads", "0"]),
        &["--threads"],
        "--threads 0",
    );
    let file = write(dir.path(), "a-file", "x");
    assert_input_error(
        &run(&[
            "sweep",
            s,
            "--backend",
            "cpu",
            "--out",
            file.to_str().unwrap(),
        ]),
        &["--out"],
        "--out onto a file",
    );
    // clap's own errors use exit code 2 too (several lines of usage are fine there).
    let out = run(&["sweep", s, "--backend", "tpu"]);
    assert_eq!(out.status.code(), Some(2));
    let out = run(&["frobnicate"]);
    assert_eq!(out.status.code(), Some(2));
}

// ---------------------------------------------------------------------------------------
// Never a panic

const SEED_SCENARIO: &str = r#"name = "seed"
[axes]
accelerator = ["H100-SXM", "X"]
gpu_count = { from = 1, to = 100, steps = 4, scale = "log" }
power_frac = [0.5, 1.0]
precision = ["bf16", "fp8"]
[fixed]
cost_model = "rent"
gpu_hour_usd = 2.5
job_gpus = 0
[constraints]
max_facility_mw = 10
max_train_days = 100
[workload]
train_flop = 1e24
model_params = 7e10
[objective]
metric = "train_days"
[accelerators.X]
peak_tflops = { bf16 = 100.0, fp8 = 200.0 }
tdp_w = 500
idle_w = 50
min_power_w = 100
host_w = 100
mtbf_hours = 10000
price_usd = 1
host_capex_usd = 1
hbm_gb = 1
"#;

const TOKENS: [&str; 24] = [
    "0",
    "-1",
    "1e400",
    "nan",
    "inf",
    "\"\"",
    "[]",
    "{}",
    "=",
    "[",
    "]",
    "{",
    "}",
    "\"",
    "\n",
    "steps = 0",
    "scale = \"log\"",
    "from = 0",
    "1e19",
    "-0.0",
    "true",
    "X",
    "H100-SXM",
    ".",
];

/// Values that parse as TOML but may be out of range, of the wrong type, or huge.
const VALUES: [&str; 26] = [
    "0",
    "-1",
    "0.5",
    "3",
    "1e19",
    "1e308",
    "-1e308",
    "-0.0",
    "nan",
    "inf",
    "-inf",
    "4294967296",
    "9223372036854775807",
    "true",
    "\"fp4\"",
    "\"X\"",
    "\"own\"",
    "\"\"",
    "[]",
    "[0]",
    "[0, 0, 0]",
    "[\"H100-SXM\", \"H100-SXM\"]",
    "{ from = 0, to = 1, steps = 3 }",
    "{ from = 1e-300, to = 1e300, steps = 5, scale = \"log\" }",
    "{ from = 1, to = 1, steps = 16777216 }",
    "{}",
];

/// One random edit: replace a value, drop or repeat a line, or edit characters.
fn mutate(rng: &mut Rng, text: &str) -> String {
    let mut lines: Vec<String> = text.lines().map(String::from).collect();
    let k = rng.below(lines.len());
    match rng.below(5) {
        0 | 1 => {
            if let Some(eq) = lines[k].find(" = ") {
                let v = VALUES[rng.below(VALUES.len())];
                lines[k] = format!("{} = {v}", &lines[k][..eq]);
            }
        }
        2 => {
            lines.remove(k);
        }
        3 => {
            let l = lines[k].clone();
            let at = rng.below(lines.len());
            lines.insert(at, l);
        }
        _ => {
            let mut chars: Vec<char> = lines[k].chars().collect();
            let at = rng.below(chars.len() + 1);
            let tok = TOKENS[rng.below(TOKENS.len())];
            let end = (at + rng.below(3)).min(chars.len());
            chars.splice(at..end, tok.chars());
            lines[k] = chars.into_iter().collect();
        }
    }
    lines.join("\n") + "\n"
}

/// Random edits of a valid scenario never panic the parser, the planner or the model.
#[test]
fn mutated_scenarios_never_panic() {
    let catalog = Catalog::builtin().unwrap();
    Scenario::parse("seed.toml", SEED_SCENARIO, &catalog).unwrap();
    let mut rng = Rng(7);
    let (mut ok, mut err) = (0, 0);
    let dir = tempfile::tempdir().unwrap();
    let mut cli_runs = 0;
    for _ in 0..3000 {
        let mut text = SEED_SCENARIO.to_string();
        for _ in 0..1 + rng.below(3) {
            text = mutate(&mut rng, &text);
        }
        let result = std::panic::catch_unwind(|| {
            let Ok(s) = Scenario::parse("mutant.toml", &text, &catalog) else {
                return false;
            };
            let grid = s.grid();
            if grid.size > 0 {
                for i in [0, grid.size / 2, grid.size - 1] {
                    let r = describe(&s, i, &s.values_at_index(i));
                    assert_eq!(r.index, i);
                }
            }
            if let Ok(plan) = SweepPlan::new(s, None) {
                let _ = plan.pareto.bin(1.0);
            }
            true
        });
        match result {
            Ok(true) => ok += 1,
            Ok(false) => err += 1,
            Err(_) => panic!("panic on scenario:\n{text}"),
        }
        if cli_runs < 40 && rng.below(50) == 0 {
            // Through the binary: exit 0 or 2, never a panic.
            cli_runs += 1;
            let path = write(dir.path(), "mutant.toml", &text);
            let out = run(&["eval", path.to_str().unwrap(), "--json"]);
            let stderr = String::from_utf8_lossy(&out.stderr);
            assert!(!stderr.contains("panicked"), "{stderr}\n{text}");
            match out.status.code() {
                Some(0) => {
                    serde_json::from_slice::<serde_json::Value>(&out.stdout).unwrap();
                }
                Some(2) => assert_eq!(stderr.trim_end().lines().count(), 1, "{stderr}"),
                other => panic!("exit {other:?}: {stderr}\n{text}"),
            }
        }
    }
    assert!(cli_runs >= 20, "{cli_runs}");
    assert!(ok > 100 && err > 100, "ok {ok}, err {err}");
}
