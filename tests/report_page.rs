//! `report.html` (issue 11, item 3): `sweep --out DIR` writes a self-contained page with
//! every plot inline, and the plots as SVG and PNG files; a headless Chromium loads the
//! page with the network cut off, without console errors, and with every plot in its DOM.
//! Without Chromium the browser test prints why and passes, unless
//! CLUSTERSWEEP_REQUIRE_BROWSER=1 (set by .ci/run, which installs Debian's chromium).

use std::path::{Path, PathBuf};
use std::process::Command;

mod common;

/// The plots of a sweep with something feasible and a heatmap.
const PLOTS: [&str; 3] = ["pareto", "heatmap", "distribution"];
/// The plots of an uncertain sweep with `--sensitivity` (no distribution over
/// configurations under uncertainty; the best's objective over its draws, and the tornado).
const UNCERTAIN_PLOTS: [&str; 4] = ["pareto", "heatmap", "draws", "tornado"];

/// A small scenario with a heatmap (gpu_count by power_frac) and a facility cap.
const SCENARIO: &str = r#"name = "report-test"
description = "A small grid for the report test."
[axes]
accelerator = ["H100-SXM", "GB200"]
gpu_count = { from = 1000, to = 100000, steps = 30, scale = "log" }
power_frac = { from = 0.6, to = 1.0, steps = 9 }
job_gpus = [0, 16384]
[fixed]
cost_model = "rent"
gpu_hour_usd = 3.0
[constraints]
max_facility_mw = 80
"#;

/// A small uncertain scenario (200 draws) for `--sensitivity`: the tornado and the
/// histogram of the best's objective over its draws.
const UNCERTAIN: &str = r#"name = "report-uncertain"
description = "A small uncertain grid for the report test."
[axes]
accelerator = ["H100-SXM", "GB200"]
gpu_count = { from = 1000, to = 100000, steps = 12, scale = "log" }
power_frac = { from = 0.6, to = 1.0, steps = 5 }
[fixed]
cost_model = "own"
[uncertain]
samples = 200
seed = 7
utilization = { triangular = [0.30, 0.40, 0.50] }
gpu_price_usd = { times = { uniform = [0.8, 1.3] } }
[constraints]
max_facility_mw = 80
confidence = 0.9
[objective]
metric = "throughput_pflops"
statistic = "p10"
"#;

fn sweep_out(dir: &Path) -> PathBuf {
    sweep_scenario(dir, SCENARIO, &[])
}

fn sweep_scenario(dir: &Path, text: &str, extra: &[&str]) -> PathBuf {
    let scen = dir.join("s.toml");
    std::fs::write(&scen, text).unwrap();
    let out = dir.join("out");
    let mut args = vec![
        "sweep",
        scen.to_str().unwrap(),
        "--backend",
        "cpu",
        "--out",
        out.to_str().unwrap(),
    ];
    args.extend_from_slice(extra);
    let o = common::run(&args);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    out
}

/// Each plot is a file as SVG and PNG and inline in its figure of the page.
#[track_caller]
fn plots_are_files_and_inline(out: &Path, html: &str, plots: &[&str]) {
    for p in plots {
        let svg = std::fs::read_to_string(out.join(format!("{p}.svg"))).unwrap();
        assert!(svg.contains("<svg"), "{p}.svg");
        let png = std::fs::read(out.join(format!("{p}.png"))).unwrap();
        assert_eq!(&png[..8], b"\x89PNG\r\n\x1a\n", "{p}.png signature");
        assert!(png.len() > 10_000, "{p}.png is {} bytes", png.len());
        let at = html
            .find(&format!("<figure id=\"plot-{p}\""))
            .unwrap_or_else(|| panic!("no figure for {p}"));
        assert!(
            html[at..]
                .split("</figure>")
                .next()
                .unwrap()
                .contains("<svg"),
            "{p} is not inline"
        );
    }
}

#[test]
fn out_dir_has_a_self_contained_report_and_every_plot_as_svg_and_png() {
    let dir = tempfile::tempdir().unwrap();
    let out = sweep_out(dir.path());
    let html = std::fs::read_to_string(out.join("report.html")).unwrap();
    plots_are_files_and_inline(&out, &html, &PLOTS);
    // Without uncertainty or --sensitivity: no draws histogram, no tornado, and the page
    // says how to get the tornado.
    for p in ["draws", "tornado"] {
        assert!(!out.join(format!("{p}.svg")).exists(), "{p}.svg");
        assert!(!html.contains(&format!("id=\"plot-{p}\"")), "{p} figure");
    }
    assert!(html.contains("run <code>sweep --sensitivity</code>"));
    // Nothing is fetched: no scripts, stylesheets, images or fonts by address.
    for needle in ["<script", "<link", "<img", "src=", "url(", "@import"] {
        assert!(!html.contains(needle), "report.html contains {needle}");
    }
    // What a planner needs is on the page: the best, its breakdown with sources, the
    // assumptions with catalog citations, the statistics and the backend.
    for needle in [
        "What to buy",
        "where the value comes from",
        "catalog figure tdp_w of",
        "Leaders per group",
        "max_facility_mw",
        "Accelerators in this sweep",
        "Backend and timing",
        "Statistics",
    ] {
        assert!(html.contains(needle), "report.html lacks {needle:?}");
    }
}

/// The Chromium binary, or `None` (with the reason printed) when there is none and it is
/// not required.
fn chromium() -> Option<PathBuf> {
    let found = ["chromium", "chromium-browser", "google-chrome"]
        .iter()
        .find_map(|name| {
            std::env::var_os("PATH").and_then(|paths| {
                std::env::split_paths(&paths)
                    .map(|p| p.join(name))
                    .find(|p| p.is_file())
            })
        });
    if found.is_none() {
        if std::env::var("CLUSTERSWEEP_REQUIRE_BROWSER").as_deref() == Ok("1") {
            panic!("CLUSTERSWEEP_REQUIRE_BROWSER=1 but no chromium on PATH");
        }
        eprintln!("skipping the browser test: no chromium on PATH (apt-get install chromium)");
    }
    found
}

/// Load `page` in headless Chromium with every host name unresolvable; returns the DOM
/// after load and the console messages.
fn load(
    chrome: &Path,
    page: &Path,
    profile: &Path,
    screenshot: Option<&Path>,
) -> (String, Vec<String>) {
    let mut cmd = Command::new(chrome);
    cmd.args([
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--no-first-run",
        "--enable-logging=stderr",
        "--v=0",
        "--host-resolver-rules=MAP * ~NOTFOUND",
        "--window-size=1200,900",
    ])
    .arg(format!("--user-data-dir={}", profile.display()));
    match screenshot {
        Some(png) => cmd.arg(format!("--screenshot={}", png.display())),
        None => cmd.arg("--dump-dom"),
    };
    let o = cmd
        .arg(format!("file://{}", page.display()))
        .output()
        .expect("chromium runs");
    let stderr = String::from_utf8_lossy(&o.stderr).into_owned();
    assert!(o.status.success(), "chromium failed: {stderr}");
    let errors = stderr
        .lines()
        // Chromium logs every console message as `INFO:CONSOLE...`, whatever its level; the
        // page has no script, so any message at all means something went wrong.
        .filter(|l| {
            l.contains(":CONSOLE")
                || l.contains("Uncaught")
                || l.contains("Failed to load resource")
        })
        .map(str::to_string)
        .collect();
    (String::from_utf8_lossy(&o.stdout).into_owned(), errors)
}

#[test]
fn an_uncertain_sweep_with_sensitivity_has_the_draws_histogram_and_the_tornado() {
    let dir = tempfile::tempdir().unwrap();
    let out = sweep_scenario(dir.path(), UNCERTAIN, &["--sensitivity"]);
    let html = std::fs::read_to_string(out.join("report.html")).unwrap();
    plots_are_files_and_inline(&out, &html, &UNCERTAIN_PLOTS);
    let summary: serde_json::Value =
        serde_json::from_slice(&std::fs::read(out.join("summary.json")).unwrap()).unwrap();
    // The histogram's caption counts the best's draws as the summary does.
    let draws = &summary["best"]["uncertainty"];
    let figure = html[html.find("id=\"plot-draws\"").unwrap()..]
        .split("</figure>")
        .next()
        .unwrap();
    assert!(
        figure.contains(&format!(
            "in each of its {} valid draws of 200 (seed 7)",
            draws["valid"]
        )),
        "{figure}"
    );
    // The tornado's rows are the summary's sensitivity rows; each input is in the table.
    let rows = summary["sensitivity"]["rows"].as_array().unwrap();
    assert!(!rows.is_empty());
    let table = html[html.find("id=\"sensitivity\"").unwrap()..]
        .split("</table>")
        .next()
        .unwrap();
    assert_eq!(table.matches("<tr><td>").count(), rows.len(), "{table}");
    let tornado = std::fs::read_to_string(out.join("tornado.svg")).unwrap();
    // utilization (uncertain) moves throughput: drawn with its p10/p90 labels.
    // (plotters writes each text on a line of its own; triangular(0.3, 0.4, 0.5) has p10
    // 0.3 + sqrt(0.1 * 0.2 * 0.1) = 0.3447 and p90 0.4553.)
    let texts: Vec<&str> = tornado.lines().map(str::trim).collect();
    assert!(texts.contains(&"utilization"), "utilization row");
    assert!(texts.contains(&"low 0.345"), "utilization's p10 label");
    assert!(texts.contains(&"high 0.455"), "utilization's p90 label");
    assert!(
        texts.iter().any(|t| t.starts_with("base ")),
        "the base line's label"
    );
    // The heatmap's cells hold the p10 the sweep ranked by, and every label says so.
    let heat = std::fs::read_to_string(out.join("heatmap.svg")).unwrap();
    let texts: Vec<&str> = heat.lines().map(str::trim).collect();
    assert!(
        texts.contains(&"p10 of"),
        "the colour bar names the statistic"
    );
    assert!(
        texts.contains(&"Best p10 of throughput_pflops by gpu_count and power_frac"),
        "the heatmap's title names the statistic"
    );
    let csv = std::fs::read_to_string(out.join("heatmap.csv")).unwrap();
    assert_eq!(
        csv.lines().next(),
        Some("gpu_count,power_frac,feasible,best_index,throughput_pflops_p10")
    );
}

/// Without uncertainty the heatmap's labels name the metric alone.
#[test]
fn a_plain_heatmap_names_the_metric_alone() {
    let dir = tempfile::tempdir().unwrap();
    let out = sweep_out(dir.path());
    let heat = std::fs::read_to_string(out.join("heatmap.svg")).unwrap();
    let texts: Vec<&str> = heat.lines().map(str::trim).collect();
    assert!(
        texts.contains(&"Best throughput_pflops by gpu_count and power_frac"),
        "{texts:?}"
    );
    assert!(!texts.iter().any(|t| t.ends_with(" of")), "{texts:?}");
}

/// Every plot is in the rendered DOM with an SVG that draws something.
#[track_caller]
fn plots_in_dom(dom: &str, plots: &[&str]) {
    for p in plots {
        let at = dom
            .find(&format!("id=\"plot-{p}\""))
            .unwrap_or_else(|| panic!("plot {p} is not in the rendered DOM"));
        let figure = dom[at..].split("</figure>").next().unwrap();
        assert!(figure.contains("<svg"), "plot {p} has no svg in the DOM");
        assert!(
            figure.contains("<rect") || figure.contains("<path") || figure.contains("<polyline"),
            "plot {p} draws nothing"
        );
    }
}

#[test]
fn headless_chromium_renders_the_report_without_console_errors() {
    let Some(chrome) = chromium() else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let out = sweep_out(dir.path());
    let page = out.join("report.html");
    let (dom, errors) = load(&chrome, &page, &dir.path().join("profile"), None);
    assert!(errors.is_empty(), "console errors: {errors:#?}");
    plots_in_dom(&dom, &PLOTS);
    // An uncertain sweep with --sensitivity: the draws histogram and the tornado too.
    let udir = dir.path().join("uncertain");
    std::fs::create_dir(&udir).unwrap();
    let uout = sweep_scenario(&udir, UNCERTAIN, &["--sensitivity"]);
    let (udom, errors) = load(
        &chrome,
        &uout.join("report.html"),
        &dir.path().join("profile4"),
        None,
    );
    assert!(errors.is_empty(), "console errors: {errors:#?}");
    plots_in_dom(&udom, &UNCERTAIN_PLOTS);

    let shot = dir.path().join("shot.png");
    let (_, errors) = load(&chrome, &page, &dir.path().join("profile2"), Some(&shot));
    assert!(errors.is_empty(), "console errors: {errors:#?}");
    let png = std::fs::read(&shot).expect("a screenshot");
    assert_eq!(&png[..8], b"\x89PNG\r\n\x1a\n");

    // The check above can fail: a page with a script error and a fetch over the network
    // is caught.
    let bad = dir.path().join("bad.html");
    std::fs::write(
        &bad,
        "<!DOCTYPE html><html><body><img src=\"https://example.invalid/x.png\"><script>no_such_function();</script></body></html>",
    )
    .unwrap();
    let (_, errors) = load(&chrome, &bad, &dir.path().join("profile3"), None);
    assert!(
        errors.iter().any(|e| e.contains("Uncaught")),
        "a script error went unnoticed: {errors:#?}"
    );
}
