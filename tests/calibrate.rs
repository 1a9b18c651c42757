//! `clustersweep calibrate` (issue 13): data generated from the model with known constants
//! and noise are recovered within their standard errors; the shipped fixtures (derived from
//! the Zeus NSDI'23 traces and the Perseus/Samsi A100 tables, see
//! tests/fixtures/calibrate/README.md) fit with the errors docs/calibration.md records; bad
//! files give one-line errors naming the line and column (exit 2); the printed snippets
//! paste into a scenario that then runs with the fitted values.

use clustersweep::calibrate::{
    self, fit::clock_factor, CalibrateOptions, ClockForm, ColumnChoice, Measurements,
};
use serde_json::Value;
use std::path::{Path, PathBuf};

mod common;
use common::{run, Rng};

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/calibrate")
        .join(name)
}

/// A standard normal draw (Box-Muller) from the shared generator.
fn normal(rng: &mut Rng) -> f64 {
    let u1 = (rng.next() >> 11) as f64 / (1u64 << 53) as f64;
    let u2 = (rng.next() >> 11) as f64 / (1u64 << 53) as f64;
    (-2.0 * (1.0 - u1).ln()).sqrt() * (2.0 * std::f64::consts::PI * u2).cos()
}

/// CSV rows `power_limit,throughput` from the v2 clock factor with `gamma`, `idle` at TDP
/// `tdp`, times `scale`, with relative noise `sd`; three repeats per limit.
fn synthetic_csv(rng: &mut Rng, gamma: f64, idle: f64, tdp: f64, sd: f64) -> String {
    let mut s = String::from("power_limit,throughput\n");
    let mut p = 0.3 * tdp;
    while p <= tdp + 1e-9 {
        for _ in 0..3 {
            let t = 1234.5 * clock_factor(ClockForm::PowerLaw, p, gamma, idle, tdp);
            s.push_str(&format!("{p},{}\n", t * (1.0 + sd * normal(rng))));
        }
        p += 0.05 * tdp;
    }
    s
}

fn opts(tdp_w: f64) -> CalibrateOptions {
    CalibrateOptions {
        tdp_w,
        form: ClockForm::PowerLaw,
        idle_w: None,
    }
}

#[test]
fn known_constants_with_noise_are_recovered_within_their_standard_errors() {
    let (gamma, idle, tdp) = (1.6, 80.0, 700.0);
    let mut rng = Rng(13);
    let mut within_2se = [0usize; 2];
    let trials = 40;
    for trial in 0..trials {
        let text = synthetic_csv(&mut rng, gamma, idle, tdp, 0.01);
        let m = Measurements::parse("synthetic.csv", text.as_bytes(), &ColumnChoice::default())
            .unwrap_or_else(|e| panic!("{e}"));
        let c = calibrate::calibrate(&m, &opts(tdp)).unwrap_or_else(|e| panic!("{e}"));
        let f = &c.headline().fitted;
        let (gse, ise) = (f.gamma.se.unwrap(), f.idle_w.se.unwrap());
        // Every trial: within 4 standard errors (a 1-in-15,000 event per parameter).
        assert!(
            (f.gamma.value - gamma).abs() < 4.0 * gse,
            "trial {trial}: gamma {} +/- {gse}",
            f.gamma.value
        );
        assert!(
            (f.idle_w.value - idle).abs() < 4.0 * ise,
            "trial {trial}: idle {} +/- {ise}",
            f.idle_w.value
        );
        within_2se[0] += usize::from((f.gamma.value - gamma).abs() < 2.0 * gse);
        within_2se[1] += usize::from((f.idle_w.value - idle).abs() < 2.0 * ise);
        // The noise is 1%: the fit's RMSE says so.
        assert!((0.005..0.02).contains(&f.rmse), "rmse {}", f.rmse);
    }
    // The errors are honest: about 95% of the trials fall within 2 standard errors.
    for (name, n) in ["gamma", "idle_w"].iter().zip(within_2se) {
        assert!(n >= trials * 8 / 10, "{name}: {n} of {trials} within 2 se");
    }
}

#[test]
fn the_cli_round_trips_and_reports_json_with_snippets() {
    let dir = tempfile::tempdir().unwrap();
    let csv = dir.path().join("m.csv");
    let mut rng = Rng(7);
    std::fs::write(&csv, synthetic_csv(&mut rng, 2.2, 60.0, 400.0, 0.005)).unwrap();
    let out = run(&[
        "calibrate",
        csv.to_str().unwrap(),
        "--tdp-w",
        "400",
        "--json",
        "--out",
        dir.path().join("out").to_str().unwrap(),
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let doc: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(doc["schema"], "clustersweep.calibration/1");
    let g = &doc["groups"][0];
    let (v, se) = (
        g["dvfs_exponent"]["value"].as_f64().unwrap(),
        g["dvfs_exponent"]["se"].as_f64().unwrap(),
    );
    assert!((v - 2.2).abs() < 4.0 * se, "{v} +/- {se}");
    assert!(doc["pooled"].is_null());
    let point = doc["toml"]["point"].as_str().unwrap();
    assert!(point.starts_with("[accelerators.ID]"), "{point}");
    let uncertain = doc["toml"]["uncertain"].as_str().unwrap();
    assert!(
        uncertain.contains("dvfs_exponent = { normal = ["),
        "{uncertain}"
    );
    let svg = std::fs::read_to_string(dir.path().join("out/calibration.svg")).unwrap();
    assert!(
        svg.contains("<svg") && svg.contains("<circle"),
        "not an SVG plot"
    );
    let written: Value =
        serde_json::from_slice(&std::fs::read(dir.path().join("out/calibration.json")).unwrap())
            .unwrap();
    assert_eq!(written, doc);
}

/// Fit a fixture through the library.
fn fit_fixture(name: &str, choice: ColumnChoice, o: CalibrateOptions) -> calibrate::Calibration {
    let m = Measurements::load(&fixture(name), &choice).unwrap_or_else(|e| panic!("{e}"));
    calibrate::calibrate(&m, &o).unwrap_or_else(|e| panic!("{e}"))
}

fn grouped(cols: &[&str]) -> ColumnChoice {
    ColumnChoice {
        group: cols.iter().map(|s| s.to_string()).collect(),
        ..ColumnChoice::default()
    }
}

#[test]
fn zeus_fixtures_fit_per_workload_with_small_errors() {
    // TDPs: A40 300 W, Quadro RTX 6000 260 W, V100 PCIe 250 W (NVIDIA datasheets), the
    // highest limit in each trace.
    for (file, tdp) in [
        ("zeus-a40.csv", 300.0),
        ("zeus-rtx6000.csv", 260.0),
        ("zeus-v100.csv", 250.0),
    ] {
        let c = fit_fixture(
            file,
            grouped(&["dataset", "network", "batch_size"]),
            opts(tdp),
        );
        assert!(c.groups.len() >= 2 && c.pooled.is_some(), "{file}");
        for g in c.groups.iter().chain(&c.pooled) {
            let f = &g.fitted;
            // Residuals are what the table reports.
            let n: usize = f.residuals.iter().map(Vec::len).sum();
            assert_eq!(n, f.points, "{file} {}", g.name);
            let rms = (f.residuals.iter().flatten().map(|e| e * e).sum::<f64>() / n as f64).sqrt();
            assert!((rms - f.rmse).abs() < 1e-12);
            assert!(f.rmse < 0.15, "{file} {}: rmse {}", g.name, f.rmse);
            assert!(g.load_frac.is_some(), "{file}: average_power read");
            assert!(
                (f.gamma.value >= 0.5) && (f.gamma.value <= 10.0),
                "{file}: gamma within bounds"
            );
        }
    }
}

#[test]
fn a100_training_under_caps_fits_with_the_knee_no_worse_held_out() {
    let choice = grouped(&["workload"]);
    let m = Measurements::load(&fixture("a100-pcie-perseus-power-cap.csv"), &choice).unwrap();
    let o = CalibrateOptions {
        idle_w: Some(50.0),
        ..opts(300.0)
    };
    let rows =
        calibrate::holdout::compare(&m, &o, &[ClockForm::PowerLaw, ClockForm::Knee]).unwrap();
    assert_eq!(rows[0].points, 30);
    assert_eq!(rows[0].points, rows[1].points, "same held-out points");
    // The knee cuts the held-out error on these data (docs/calibration.md).
    assert!(rows[1].band_rmse < rows[0].band_rmse, "{rows:?}");
    // A single gamma errs in the same direction at both ends once the scale is fitted ...
    let c = calibrate::calibrate(&m, &o).unwrap();
    let f = &c.pooled.as_ref().unwrap().fitted;
    assert!(f.gamma.value > 1.0 && f.gamma.value < 2.0, "{f:?}");
    // ... and the implied load_frac is the measured draw over the limit, idle removed.
    let lf = c.pooled.as_ref().unwrap().load_frac.unwrap();
    assert!(
        lf.at_highest_limit > 0.88 && lf.at_highest_limit < 0.94,
        "{lf:?}"
    );
}

#[test]
fn a_time_column_is_turned_into_throughput() {
    let text = "power_limit,time_per_epoch\n100,4\n200,2\n300,1\n300,1\n";
    let m = Measurements::parse("t.csv", text.as_bytes(), &ColumnChoice::default()).unwrap();
    let tp: Vec<f64> = m.points.iter().map(|p| p.throughput).collect();
    assert_eq!(tp, vec![0.25, 0.5, 1.0, 1.0]);
}

#[test]
fn nvidia_smi_headers_and_units_are_read() {
    let text = "index, power.limit [W], power.draw [W], samples_per_s\n\
                0, 300.00 W, 250.10 W, 1000\n\
                0, 200.00 W, 190.00 W, 800\n";
    let m = Measurements::parse("smi.csv", text.as_bytes(), &ColumnChoice::default()).unwrap();
    assert_eq!(m.columns.limit, "power.limit [W]");
    assert_eq!(m.columns.power.as_deref(), Some("power.draw [W]"));
    assert_eq!(m.points[0].limit_w, 300.0);
    assert_eq!(m.points[1].power_w, Some(190.0));
    assert_eq!(m.points[1].throughput, 800.0);
}

/// Run `calibrate` on `text` and return (exit code, stderr).
fn calibrate_text(text: &str, extra: &[&str]) -> (i32, String) {
    let dir = tempfile::tempdir().unwrap();
    let csv = dir.path().join("bad.csv");
    std::fs::write(&csv, text).unwrap();
    let mut args = vec!["calibrate", csv.to_str().unwrap(), "--tdp-w", "300"];
    args.extend_from_slice(extra);
    let out = run(&args);
    let err = String::from_utf8_lossy(&out.stderr).replace(csv.to_str().unwrap(), "bad.csv");
    (out.status.code().unwrap_or(-1), err)
}

#[test]
fn bad_files_name_the_line_and_column() {
    let cases: &[(&str, &[&str], &str)] = &[
        (
            "power_limit,time_per_epoch\n100,4\n200,abc\n300,1\n",
            &[],
            "clustersweep: error: bad.csv:3:2: column `time_per_epoch`: `abc`: the time is not a number\n",
        ),
        (
            "power_limit,time_per_epoch\n100,4\n-200,2\n300,1\n",
            &[],
            "clustersweep: error: bad.csv:3:1: column `power_limit`: `-200`: the power limit must be positive\n",
        ),
        (
            "limit,time_per_epoch\n100,4\n",
            &[],
            "clustersweep: error: bad.csv: no power limit column (looked for power_limit, power.limit, enforced.power.limit, power.management.limit, power_limit_w, limit_w, dcgm_fi_dev_power_mgmt_limit; name it with --limit-col); the columns are: limit, time_per_epoch\n",
        ),
        (
            "power_limit,speed\n100,4\n",
            &["--throughput-col", "rate"],
            "clustersweep: error: bad.csv: no throughput column (--throughput-col `rate` is not a column); the columns are: power_limit, speed\n",
        ),
        (
            "power_limit,time_per_epoch\n200,4\n200,2\n200,1\n200,1\n",
            &[],
            "clustersweep: error: bad.csv: all: every row has the same power limit (200 W); a fit needs at least two\n",
        ),
        (
            "power_limit,time_per_epoch\n100,4\n200,2\n300,1\n",
            &[],
            "clustersweep: error: bad.csv: all: 3 points, need at least 4 to fit 3 parameters and estimate their errors\n",
        ),
        (
            "power_limit,time_per_epoch\n100,4\n350,2\n300,1\n300,1\n",
            &[],
            "clustersweep: error: bad.csv:3: power limit 350 W is above --tdp-w 300 W\n",
        ),
        (
            "power_limit,time_per_epoch\n100,4\n200,2,7\n",
            &[],
            "clustersweep: error: bad.csv:3: not a CSV table: 3 fields where the header has 2\n",
        ),
        (
            "power_limit,time_per_epoch\n",
            &[],
            "clustersweep: error: bad.csv: no measurements (a header line and at least one row are needed)\n",
        ),
        (
            "power_limit,time_per_epoch\n100,4\n200,2\n300,1\n300,1\n",
            &["--idle-w", "100"],
            "clustersweep: error: bad.csv: --idle-w 100 W must be at least 0 and below the lowest power limit, 100 W\n",
        ),
    ];
    for (text, extra, want) in cases {
        let (code, err) = calibrate_text(text, extra);
        assert_eq!(err, *want, "for {text:?}");
        assert_eq!(code, 2, "for {text:?}");
    }
}

#[test]
fn a_group_with_too_few_points_is_left_out_and_named() {
    let text = "w,power_limit,time_per_epoch\na,100,4\na,200,2\na,300,1\na,300,1\nb,100,4\nb,300,1\nc,200,3\nc,200,3\n";
    let (code, err) = calibrate_text(text, &["--group", "w"]);
    assert_eq!(
        err,
        "clustersweep: notice: left out: bad.csv: b: 2 points, need at least 4 to fit 3 parameters and estimate their errors\n\
         clustersweep: notice: left out: bad.csv: c: every row has the same power limit (200 W); a fit needs at least two\n"
    );
    assert_eq!(code, 0);
    // When no group can be fitted, the first reason is the error.
    let text = "w,power_limit,time_per_epoch\nb,100,4\nb,300,1\nc,200,3\nc,200,3\n";
    let (code, err) = calibrate_text(text, &["--group", "w"]);
    assert_eq!(
        err,
        "clustersweep: error: bad.csv: b: 2 points, need at least 4 to fit 3 parameters and estimate their errors\n"
    );
    assert_eq!(code, 2);
}

/// Evaluate `power_frac` on A100-SXM4-80GB in a scenario that holds `extra` and return the
/// clock factor.
fn clock_factor_in_scenario(extra: &str, power_frac: f64) -> f64 {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("s.toml");
    let text = format!(
        "name = \"pasted\"\n\n[fixed]\naccelerator = \"A100-SXM4-80GB\"\ngpu_count = 1024\n\
         power_frac = {power_frac}\n\n{extra}\n"
    );
    std::fs::write(&path, &text).unwrap();
    let out = run(&["eval", path.to_str().unwrap(), "--json"]);
    assert!(
        out.status.success(),
        "{text}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let doc: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(doc["valid"], true, "{text}");
    doc["metrics"]["clock_factor"].as_f64().unwrap()
}

#[test]
fn the_point_snippet_pastes_into_a_scenario_that_runs_with_the_fitted_values() {
    let out = run(&[
        "calibrate",
        fixture("a100-pcie-perseus-power-cap.csv").to_str().unwrap(),
        "--tdp-w",
        "300",
        "--group",
        "workload",
        "--idle-w",
        "50",
        "--accelerator",
        "A100-SXM4-80GB",
        "--json",
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let doc: Value = serde_json::from_slice(&out.stdout).unwrap();
    let point = doc["toml"]["point"].as_str().unwrap();
    let gamma = doc["pooled"]["dvfs_exponent"]["value"].as_f64().unwrap();
    // The snippet carries the estimate to 4 significant digits.
    let line = point
        .lines()
        .find_map(|l| l.strip_prefix("dvfs_exponent = "))
        .unwrap();
    let pasted: f64 = line.trim().parse().unwrap();
    assert!(
        (pasted - gamma).abs() <= 5e-4 * gamma,
        "{pasted} vs {gamma}"
    );
    // The scenario runs and its clock factor is the formula's with the pasted constants
    // (A100-SXM4-80GB: tdp_w 400 W; idle_w 50 W from the snippet).
    let s = clock_factor_in_scenario(point, 0.5);
    let want = ((0.5 * 400.0 - 50.0) / (400.0 - 50.0_f64)).powf(1.0 / pasted);
    assert!((s - want).abs() < 1e-12, "{s} vs {want}");
}

#[test]
fn the_uncertain_snippet_pastes_into_a_scenario_that_draws_around_the_fit() {
    use clustersweep::catalog::Catalog;
    use clustersweep::params::Param;
    use clustersweep::scenario::Scenario;
    let out = run(&[
        "calibrate",
        fixture("a100-pcie-perseus-power-cap.csv").to_str().unwrap(),
        "--tdp-w",
        "300",
        "--group",
        "workload",
        "--idle-w",
        "50",
        "--accelerator",
        "A100-SXM4-80GB",
        "--json",
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let doc: Value = serde_json::from_slice(&out.stdout).unwrap();
    let uncertain = doc["toml"]["uncertain"].as_str().unwrap();
    // idle_w was held, so it is not drawn; dvfs_exponent and load_frac are.
    assert!(uncertain.contains("# idle_w: not drawn"), "{uncertain}");
    let normal_of = |name: &str| -> (f64, f64) {
        let line = uncertain
            .lines()
            .find_map(|l| l.strip_prefix(&format!("{name} = {{ normal = [")))
            .unwrap_or_else(|| panic!("no normal {name} in {uncertain}"));
        let inner = line.split(']').next().unwrap();
        let (m, sd) = inner.split_once(',').unwrap();
        (m.trim().parse().unwrap(), sd.trim().parse().unwrap())
    };
    let (m, sd) = normal_of("dvfs_exponent");
    let gamma = &doc["pooled"]["dvfs_exponent"];
    assert!((m - gamma["value"].as_f64().unwrap()).abs() <= 5e-4 * m);
    assert!((sd - gamma["se"].as_f64().unwrap()).abs() <= 0.05 * sd);

    let text = format!(
        "name = \"pasted\"\n\n[fixed]\naccelerator = \"A100-SXM4-80GB\"\ngpu_count = 1024\n\
         power_frac = 0.5\n\n[uncertain]\nsamples = 2000\n\n{uncertain}\n"
    );
    let catalog = Catalog::builtin().unwrap();
    let s = Scenario::parse("pasted.toml", &text, &catalog).unwrap_or_else(|e| panic!("{e}"));
    let acc = s
        .accelerators
        .iter()
        .position(|a| a.id == "A100-SXM4-80GB")
        .unwrap();
    let draws: Vec<f64> = (0..2000)
        .map(|k| s.drawn_value(Param::DvfsExponent, acc, k).unwrap())
        .collect();
    let mean = draws.iter().sum::<f64>() / draws.len() as f64;
    // Truncated at +/- 3 sd; the mean of 2,000 draws within 4 standard errors of it.
    assert!(draws.iter().all(|g| (g - m).abs() <= 3.0 * sd + 1e-12));
    assert!(
        (mean - m).abs() < 4.0 * sd / (2000f64).sqrt(),
        "{mean} vs {m}"
    );
    // The same file runs.
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("pasted.toml");
    std::fs::write(&path, &text).unwrap();
    let out = run(&["eval", path.to_str().unwrap(), "--json"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn catalog_exponents_are_fitted_from_the_cited_data_or_marked_unfitted() {
    use clustersweep::catalog::Catalog;
    let catalog = Catalog::builtin().unwrap();
    let mut fitted = Vec::new();
    for a in &catalog.accelerators {
        let cite = catalog.sources[&a.id]
            .get("dvfs_exponent")
            .map(String::as_str)
            .unwrap_or("");
        if cite.starts_with("fit: ") {
            fitted.push(a.id.clone());
        } else {
            assert!(cite.starts_with("unfitted: "), "{}: {cite}", a.id);
        }
    }
    assert_eq!(fitted, vec!["A100-SXM4-80GB".to_string()]);
    // The A100 figure is what the cited command gives, to the catalog's 3 digits, with
    // idle_w held at the catalog's figure.
    let a100 = catalog
        .accelerators
        .iter()
        .find(|a| a.id == "A100-SXM4-80GB")
        .unwrap();
    let c = fit_fixture(
        "a100-pcie-perseus-power-cap.csv",
        grouped(&["workload"]),
        CalibrateOptions {
            idle_w: Some(a100.idle_w),
            ..opts(300.0)
        },
    );
    let g = c.pooled.as_ref().unwrap().fitted.gamma;
    assert!((a100.dvfs_exponent - g.value).abs() < 0.005, "{g:?}");
}

#[test]
fn out_onto_a_file_is_bad_input() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("a-file");
    std::fs::write(&file, "x").unwrap();
    let out = run(&[
        "calibrate",
        fixture("zeus-v100.csv").to_str().unwrap(),
        "--tdp-w",
        "250",
        "--out",
        file.to_str().unwrap(),
    ]);
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.starts_with("clustersweep: error: --out: "), "{err}");
    assert_eq!(err.lines().count(), 1, "{err}");
    assert_eq!(
        std::fs::read_to_string(&file).unwrap(),
        "x",
        "left as it was"
    );
}
