//! The calibration plot (SVG, plotters): measured relative throughput against the power
//! limit, each group in its own colour, with the fitted clock factor as a curve.

use super::{CalibrateError, Calibration};
use plotters::prelude::*;

const PALETTE: [RGBColor; 8] = [
    RGBColor(31, 119, 180),
    RGBColor(255, 127, 14),
    RGBColor(44, 160, 44),
    RGBColor(214, 39, 40),
    RGBColor(148, 103, 189),
    RGBColor(140, 86, 75),
    RGBColor(227, 119, 194),
    RGBColor(127, 127, 127),
];

/// Most groups named in the legend (the rest are drawn but not listed).
const LEGEND_GROUPS: usize = 8;

/// The plot as SVG text.
pub fn svg(c: &Calibration) -> Result<String, CalibrateError> {
    let mut text = String::new();
    draw(c, &mut text).map_err(|e| CalibrateError::Plot {
        file: c.file.clone(),
        reason: e,
    })?;
    Ok(text)
}

fn draw(c: &Calibration, text: &mut String) -> Result<(), String> {
    // The text is set in the embedded font: no system font is needed.
    crate::report::plots::register_font();
    let head = c.headline();
    let points: Vec<&(f64, f64)> = head.groups.iter().flat_map(|(_, v)| v.iter()).collect();
    let x_min = points.iter().map(|p| p.0).fold(c.tdp_w, f64::min);
    let y_max = points.iter().map(|p| p.1).fold(1.05, f64::max);
    let y_min = points.iter().map(|p| p.1).fold(1.0, f64::min);
    let x_lo = (x_min * 0.9).max(0.0);
    let y_lo = (y_min - 0.05).max(0.0);
    let root = SVGBackend::with_string(text, (800, 520)).into_drawing_area();
    root.fill(&WHITE).map_err(|e| e.to_string())?;
    let f = &head.fitted;
    let caption = format!(
        "{}: {} fit, dvfs_exponent {:.3}, idle_w {:.1} W{}",
        c.file,
        f.form.name(),
        f.gamma.value,
        f.idle_w.value,
        f.uncapped_w
            .map_or_else(String::new, |u| format!(", uncapped_w {:.1} W", u.value))
    );
    let mut chart = ChartBuilder::on(&root)
        .caption(caption, ("sans-serif", 16))
        .margin(12)
        .x_label_area_size(40)
        .y_label_area_size(56)
        .build_cartesian_2d(x_lo..c.tdp_w * 1.02, y_lo..y_max + 0.02)
        .map_err(|e| e.to_string())?;
    chart
        .configure_mesh()
        .x_desc("power limit (W)")
        .y_desc("throughput / throughput at TDP")
        .draw()
        .map_err(|e| e.to_string())?;
    for (i, (name, pts)) in head.groups.iter().enumerate() {
        let color = PALETTE[i % PALETTE.len()];
        let series = chart
            .draw_series(
                pts.iter()
                    .map(|&(p, y)| Circle::new((p, y), 3, color.filled())),
            )
            .map_err(|e| e.to_string())?;
        if i < LEGEND_GROUPS {
            series
                .label(name.clone())
                .legend(move |(x, y)| Circle::new((x, y), 3, color.filled()));
        }
    }
    let steps = 200;
    let lo = x_min.max(f.idle_w.value + 1e-9);
    let curve = (0..=steps).map(|k| {
        let p = lo + (c.tdp_w - lo) * k as f64 / steps as f64;
        (p, f.predict(c.tdp_w, p))
    });
    chart
        .draw_series(LineSeries::new(curve, BLACK.stroke_width(2)))
        .map_err(|e| e.to_string())?
        .label(format!("fitted ({})", f.form.name()))
        .legend(|(x, y)| PathElement::new(vec![(x, y), (x + 16, y)], BLACK.stroke_width(2)));
    chart
        .configure_series_labels()
        .background_style(WHITE.mix(0.8))
        .border_style(BLACK)
        .position(SeriesLabelPosition::LowerRight)
        .draw()
        .map_err(|e| e.to_string())?;
    root.present().map_err(|e| e.to_string())?;
    drop(chart);
    drop(root);
    Ok(())
}
