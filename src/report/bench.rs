//! The benchmark output for people: the table and the markdown of one
//! `clustersweep.bench/2` document (`clustersweep bench`, `--markdown FILE`), and of a
//! `bench compare` (text and markdown; its JSON is the serialised
//! [`crate::bench_compare::BenchComparison`]).

use crate::bench::{BenchReport, BenchResult};
use crate::bench_compare::BenchComparison;
use crate::machine::machine_line;
use crate::timing_stats::{TimingStats, Verdict};

fn opt(x: Option<f64>, f: impl Fn(f64) -> String) -> String {
    x.map_or_else(|| "-".into(), f)
}

fn truncate(s: &str, n: usize) -> String {
    if s.chars().count() <= n {
        s.to_string()
    } else {
        s.chars().take(n - 1).collect::<String>() + "…"
    }
}

/// Decimals that show `x` with about four significant digits (0 ..= 9).
fn decimals(x: f64) -> usize {
    if x == 0.0 || !x.is_finite() {
        return 4;
    }
    (3 - x.abs().log10().floor() as i64).clamp(0, 9) as usize
}

/// `mean ± half-width` of the 95% interval (or `mean` alone for one repetition), scaled,
/// with about four significant digits.
fn mean_ci(s: &TimingStats, scale: f64) -> String {
    let m = s.mean * scale;
    let d = decimals(m);
    match s.ci95 {
        Some([lo, hi]) => format!("{m:.d$} ± {:.d$}", (hi - lo) / 2.0 * scale),
        None => format!("{m:.d$}"),
    }
}

/// The lines above the table: build, machine, workload, what the FLOP figure is.
fn header(r: &BenchReport) -> Vec<String> {
    let b = &r.build;
    let mut lines = vec![
        format!("machine: {}", machine_line(&r.machine)),
        format!(
            "build: clustersweep {} ({}{}), wgpu {}, {}, {} opt-level {}, {}, target-cpu {}",
            b.clustersweep_version,
            b.git_commit,
            if b.git_dirty == Some(true) {
                ", dirty"
            } else {
                ""
            },
            b.wgpu_version,
            b.rustc,
            b.profile,
            b.opt_level,
            b.target,
            b.target_cpu
        ),
        format!(
            "workload: {} ({}); {} warm-up run(s), {} timed repetitions; {}",
            r.workload.name, r.workload.definition, r.warmup, r.repeats, r.date
        ),
    ];
    if let Some(x) = r.results.first() {
        lines.push(format!(
            "nominal GFLOP/s = {} ({} per configuration here); peaks: {}",
            x.nominal_gflops_basis,
            x.nominal_flops_per_config,
            r.results
                .iter()
                .map(|x| format!(
                    "{} {}: {}",
                    x.backend.kind,
                    truncate(&x.backend.name, 24),
                    x.peak
                        .as_ref()
                        .map_or("unknown".to_string(), |p| p.formula.clone())
                ))
                .collect::<Vec<_>>()
                .join("; ")
        ));
    }
    lines
}

fn adapter_cell(x: &BenchResult) -> String {
    match (&x.adapter, x.threads_used) {
        (Some(a), _) => format!(
            "{} [{:04x}:{:04x}, {} {}]",
            a.name, a.vendor_id, a.device_id, a.api, a.driver
        ),
        // The CPU backend's name already says its threads.
        (None, _) => x.backend.name.clone(),
    }
}

fn peak_cell(x: &BenchResult) -> String {
    match (&x.peak, x.peak_fraction) {
        (Some(p), Some(f)) => format!("{:.1}% of {}", f * 100.0, p.precision),
        _ => "-".into(),
    }
}

/// One result's cells: backend kind, adapter, configurations, configurations/s, min,
/// median, mean ± CI, sd, kernel mean, nominal GFLOP/s, fraction of peak.
fn cells(x: &BenchResult) -> [String; 11] {
    [
        x.backend.kind.clone(),
        adapter_cell(x),
        x.configs.to_string(),
        format!("{:.4e}", x.configs_per_s),
        format!("{:.4}", x.wall.min),
        format!("{:.4}", x.wall.median),
        mean_ci(&x.wall, 1.0),
        opt(x.wall.sd, |v| format!("{v:.4}")),
        opt(x.kernel.as_ref().map(|k| k.mean), |v| format!("{v:.4}")),
        format!("{:.1}", x.nominal_gflops),
        peak_cell(x),
    ]
}

/// The results as a table for people.
pub fn table(r: &BenchReport) -> String {
    let mut o = header(r).join("\n");
    o.push('\n');
    o.push_str(&format!(
        "{:<4} {:<40} {:>11} {:>11} {:>9} {:>9} {:>18} {:>9} {:>10} {:>13}\n",
        "kind",
        "adapter",
        "configs",
        "configs/s",
        "min s",
        "median s",
        "mean s ± 95% CI",
        "sd s",
        "kernel s",
        "nominal GF/s"
    ));
    for x in &r.results {
        let c = cells(x);
        o.push_str(&format!(
            "{:<4} {:<40} {:>11} {:>11} {:>9} {:>9} {:>18} {:>9} {:>10} {:>13}\n",
            c[0],
            truncate(&c[1], 40),
            c[2],
            c[3],
            c[4],
            c[5],
            c[6],
            c[7],
            c[8],
            format!("{} ({})", c[9], c[10]),
        ));
    }
    o
}

/// The results as markdown (a CI job summary, a pull-request comment).
pub fn markdown(r: &BenchReport) -> String {
    let mut o = String::from("### clustersweep bench\n\n");
    for line in header(r) {
        o.push_str(&format!("- {}\n", md_cell(&line)));
    }
    o.push_str("\n| backend | adapter | configurations | configurations/s | min s | median s | mean s ± 95% CI | sd s | kernel mean s | nominal GFLOP/s | of peak |\n|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n");
    for x in &r.results {
        let c: Vec<String> = cells(x).iter().map(|c| md_cell(c)).collect();
        o.push_str(&format!("| {} |\n", c.join(" | ")));
    }
    o
}

fn md_cell(s: &str) -> String {
    s.replace('|', "\\|")
}

fn verdict_word(v: Verdict) -> &'static str {
    match v {
        Verdict::Slower => "SLOWER (regression)",
        Verdict::Faster => "faster",
        Verdict::Same => "same (within threshold or noise)",
    }
}

/// A comparison for people.
pub fn compare_text(c: &BenchComparison) -> String {
    let mut o = format!(
        "baseline: {}; threshold {:.1}%; rule: {}\n",
        c.baseline,
        c.threshold * 100.0,
        c.rule
    );
    for f in &c.comparisons {
        o.push_str(&format!("\n{} against {}:\n", f.file, c.baseline));
        o.push_str(&format!(
            "{:<4} {:<32} {:>22} {:>22} {:>9}  {}\n",
            "kind", "backend", "baseline ns/config", "this ns/config", "change", "verdict"
        ));
        for r in &f.results {
            o.push_str(&format!(
                "{:<4} {:<32} {:>22} {:>22} {:>+8.1}%  {}\n",
                r.kind,
                truncate(&r.name, 32),
                mean_ci(&r.baseline_s_per_config, 1e9),
                mean_ci(&r.s_per_config, 1e9),
                r.change * 100.0,
                verdict_word(r.verdict)
            ));
        }
        for u in &f.unmatched {
            o.push_str(&format!("not compared: {u}\n"));
        }
        for w in &f.warnings {
            o.push_str(&format!("warning: {w}\n"));
        }
    }
    o
}

/// A comparison as markdown.
pub fn compare_markdown(c: &BenchComparison) -> String {
    let mut o = format!(
        "### clustersweep bench compare\n\nBaseline `{}`, threshold {:.1}%. Rule: {}.\n",
        md_cell(&c.baseline),
        c.threshold * 100.0,
        c.rule
    );
    for f in &c.comparisons {
        o.push_str(&format!(
            "\n#### `{}`{}\n\n| backend | baseline ns/configuration (mean ± 95% CI) | this | change | verdict |\n|---|---:|---:|---:|---|\n",
            md_cell(&f.file),
            if f.regressed { " — regression" } else { "" }
        ));
        for r in &f.results {
            o.push_str(&format!(
                "| {} {} | {} | {} | {:+.1}% | {} |\n",
                r.kind,
                md_cell(&r.name),
                mean_ci(&r.baseline_s_per_config, 1e9),
                mean_ci(&r.s_per_config, 1e9),
                r.change * 100.0,
                verdict_word(r.verdict)
            ));
        }
        if !f.unmatched.is_empty() || !f.warnings.is_empty() {
            o.push('\n');
        }
        for u in &f.unmatched {
            o.push_str(&format!("- not compared: {}\n", md_cell(u)));
        }
        for w in &f.warnings {
            o.push_str(&format!("- **warning:** {}\n", md_cell(w)));
        }
    }
    o
}
