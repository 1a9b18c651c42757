//! `clustersweep bench collect` for people and tools: the collected rows
//! ([`crate::bench_collect`]) as a markdown table, as CSV (a header with units, every digit)
//! and as an SVG bar chart of the median rate per row with the 95% interval as error bars
//! (plotters, set in the embedded font like the report's plots).

use super::markdown::cell;
use super::plots::{register_font, short, Coord, Scale, FAMILY, LINE};
use crate::bench_collect::CollectRow;
use plotters::prelude::*;
use std::fmt::Write;

/// The CSV columns, units in the names.
const CSV_HEADER: [&str; 20] = [
    "file",
    "cpu_model",
    "cpu_threads",
    "threads_used",
    "backend",
    "backend_name",
    "adapter",
    "adapter_vendor_id",
    "adapter_device_id",
    "adapter_type",
    "adapter_api",
    "workload",
    "configs",
    "commit",
    "dirty",
    "repeats",
    "median_configs_per_s",
    "ci95_low_configs_per_s",
    "ci95_high_configs_per_s",
    "mean_configs_per_s",
];

/// A rate with five significant digits, as `bench` prints configurations/s.
fn rate(x: f64) -> String {
    format!("{x:.4e}")
}

/// The commit, short, marked when the tree was dirty.
fn commit_text(r: &CollectRow) -> String {
    let short: String = r.commit.chars().take(12).collect();
    match r.dirty {
        Some(true) => format!("{short} (dirty)"),
        _ => short,
    }
}

/// The machine cell: CPU model and logical threads.
fn machine_text(r: &CollectRow) -> String {
    format!("{}, {} threads", r.cpu_model, r.cpu_threads)
}

/// The adapter cell: name, `vendor:device` ids (hex), type and API; `-` for the CPU.
fn adapter_text(r: &CollectRow) -> String {
    match &r.adapter {
        Some(a) => format!(
            "{} ({:04x}:{:04x}, {}, {})",
            a.name, a.vendor_id, a.device_id, a.device_type, a.api
        ),
        None => "-".into(),
    }
}

/// The backend cell: `cpu, N threads` or `gpu`.
fn backend_text(r: &CollectRow) -> String {
    match r.threads_used {
        Some(1) => format!("{}, 1 thread", r.backend),
        Some(n) => format!("{}, {n} threads", r.backend),
        None => r.backend.clone(),
    }
}

/// The 95% interval cell: `low – high`, or `-` with one repetition.
fn interval_text(r: &CollectRow) -> String {
    r.interval.map_or("-".into(), |[lo, hi]| {
        format!("{} – {}", rate(lo), rate(hi))
    })
}

/// The rows as one markdown table.
pub fn markdown(rows: &[CollectRow]) -> String {
    let mut o = String::new();
    let _ = writeln!(
        o,
        "| machine | GPU / adapter | backend | workload | commit | median configurations/s | 95% interval (configurations/s) | repeats | file |"
    );
    let _ = writeln!(o, "|---|---|---|---|---|---|---|---|---|");
    for r in rows {
        let cells = [
            cell(&machine_text(r)),
            cell(&adapter_text(r)),
            cell(&backend_text(r)),
            cell(&format!("{}, {} configurations", r.workload, r.configs)),
            format!("`{}`", cell(&commit_text(r))),
            rate(r.median_rate),
            interval_text(r),
            r.repeats.to_string(),
            format!("`{}`", cell(&r.file)),
        ];
        let _ = writeln!(o, "| {} |", cells.join(" | "));
    }
    o
}

/// The rows as CSV: [`CSV_HEADER`], then one row each with every digit (empty cells where
/// a value does not apply).
pub fn csv(rows: &[CollectRow]) -> Result<Vec<u8>, csv::Error> {
    let mut w = csv::Writer::from_writer(Vec::new());
    w.write_record(CSV_HEADER)?;
    let opt = |x: Option<String>| x.unwrap_or_default();
    for r in rows {
        let a = r.adapter.as_ref();
        w.write_record([
            r.file.clone(),
            r.cpu_model.clone(),
            r.cpu_threads.to_string(),
            opt(r.threads_used.map(|n| n.to_string())),
            r.backend.clone(),
            r.backend_name.clone(),
            opt(a.map(|a| a.name.clone())),
            opt(a.map(|a| a.vendor_id.to_string())),
            opt(a.map(|a| a.device_id.to_string())),
            opt(a.map(|a| a.device_type.clone())),
            opt(a.map(|a| a.api.clone())),
            r.workload.clone(),
            r.configs.to_string(),
            r.commit.clone(),
            opt(r.dirty.map(|d| d.to_string())),
            r.repeats.to_string(),
            r.median_rate.to_string(),
            opt(r.interval.map(|i| i[0].to_string())),
            opt(r.interval.map(|i| i[1].to_string())),
            r.mean_rate.to_string(),
        ])?;
    }
    w.into_inner().map_err(|e| csv::Error::from(e.into_error()))
}

/// The label under a bar: the file and, where a file holds several backends, which one.
fn bar_label(rows: &[CollectRow], r: &CollectRow) -> String {
    let several = rows.iter().filter(|x| x.file == r.file).count() > 1;
    let stem = r.file.strip_suffix(".json").unwrap_or(&r.file);
    if several {
        format!("{stem} ({})", r.backend)
    } else {
        stem.to_string()
    }
}

/// The SVG bar chart: a bar per row at its median rate, the 95% interval as an error bar;
/// a log axis when the rates span more than a factor of 30 (a GPU beside a CPU), else a
/// linear axis from 0.
pub fn svg(rows: &[CollectRow]) -> Result<String, String> {
    register_font();
    let n = rows.len();
    let finite: Vec<f64> = rows
        .iter()
        .flat_map(|r| {
            let mut v = vec![r.median_rate];
            v.extend(r.interval.iter().flatten());
            v
        })
        .filter(|x| x.is_finite() && *x > 0.0)
        .collect();
    let lo = finite.iter().copied().fold(f64::INFINITY, f64::min);
    let hi = finite.iter().copied().fold(0.0, f64::max);
    let log = lo.is_finite() && hi / lo > 30.0;
    let ys = if log {
        Scale::padded(lo, hi, true, 0.08)
    } else {
        Scale::of(0.0, if hi > 0.0 { hi * 1.1 } else { 1.0 }, false)
    };
    let xs = Coord {
        lo: -0.6,
        hi: n as f64 - 0.4,
        ticks: (0..n).map(|i| i as f64).collect(),
    };
    let labels: Vec<String> = rows.iter().map(|r| bar_label(rows, r)).collect();
    let width = (160 + 110 * n as u32).clamp(640, 4000);
    let mut out = String::new();
    {
        let root = SVGBackend::with_string(&mut out, (width, 560)).into_drawing_area();
        let drawn = (|| -> Result<(), Box<dyn std::error::Error>> {
            root.fill(&WHITE)?;
            let mut chart = ChartBuilder::on(&root)
                .caption(
                    "clustersweep bench collect: median configurations/s, 95% interval",
                    (FAMILY, 20),
                )
                .margin(16)
                .x_label_area_size(70)
                .y_label_area_size(80)
                .build_cartesian_2d(xs.clone(), ys.coord())?;
            chart
                .configure_mesh()
                .disable_x_mesh()
                .x_labels(n)
                .x_label_formatter(&|t| {
                    let i = t.round();
                    if i >= 0.0 && (i as usize) < n {
                        labels[i as usize].clone()
                    } else {
                        String::new()
                    }
                })
                .y_label_formatter(&|t| short(ys.from(*t)))
                .y_desc(if log {
                    "configurations/s (log scale)"
                } else {
                    "configurations/s"
                })
                .label_style((FAMILY, 13))
                .axis_desc_style((FAMILY, 15))
                .light_line_style(WHITE)
                .bold_line_style(RGBColor(230, 230, 230))
                .draw()?;
            let base = ys.to(ys.lo);
            chart.draw_series(rows.iter().enumerate().map(|(i, r)| {
                let x = i as f64;
                Rectangle::new(
                    [(x - 0.3, base), (x + 0.3, ys.to(r.median_rate))],
                    LINE.filled(),
                )
            }))?;
            chart.draw_series(rows.iter().enumerate().filter_map(|(i, r)| {
                let [a, b] = r.interval?;
                Some(ErrorBar::new_vertical(
                    i as f64,
                    ys.to(a),
                    ys.to(r.median_rate),
                    ys.to(b),
                    BLACK.stroke_width(2),
                    14,
                ))
            }))?;
            root.present()?;
            Ok(())
        })();
        drawn.map_err(|e| e.to_string())?;
    }
    Ok(out)
}
