//! The report's plots of what is uncertain: the tornado of `sweep --sensitivity` (one row
//! of horizontal bars per input, sorted by swing: the base best decision's objective at the
//! input's low and high settings, or at each alternative of a categorical input, from the
//! base objective's line; each setting's value written at its bar's end; break-evens noted
//! under their row) and, when the scenario has uncertain inputs, the histogram of the best
//! configuration's objective over the draws (the fixed bins of its
//! [`DrawStats`](crate::draws::DrawStats)), with the statistic it was ranked by, the mean
//! and any bound on the objective. Drawn with the same frame, font and renderers as
//! [`super::plots`].

use super::plots::{
    framed, metric_title, on_both_backends, register_font, render_sized, short, Coord, Plot,
    PlotError, Scale, BEST, BOUND, FAMILY, LINE, SIZE,
};
use super::sensitivity::{decision_text, input_name};
use crate::sensitivity::{End, Row, Sensitivity, Setting};
use crate::summary::{ParamValue, Summary};
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};

/// The most inputs the tornado draws (the largest swings; the table lists every one).
pub const TORNADO_ROWS: usize = 14;
/// Height of one bar slot of the tornado, in pixels.
const SLOT_PX: u32 = 19;
/// The colour of the high setting's bars (the low setting's are [`LINE`]).
const HIGH: RGBColor = RGBColor(255, 127, 14);
/// The colour of a categorical input's alternatives.
const ALTERNATIVE: RGBColor = RGBColor(44, 160, 44);
const NOTE: RGBColor = RGBColor(90, 90, 90);

/// An input's setting as written on its bar: the value, with its multiple of the base
/// when it is one (scaled inputs, `times` uncertain inputs).
fn setting_text(v: &ParamValue, factor: Option<f64>) -> String {
    let value = match v {
        ParamValue::Real(x) => short(*x),
        ParamValue::Int(i) => short(*i as f64),
        ParamValue::Text(t) => t.clone(),
    };
    match factor {
        Some(f) => format!("{value} (x{})", short(f)),
        None => value,
    }
}

/// One bar of the tornado: which end, its slot and colour, and its label.
struct Bar<'a> {
    end: &'a End,
    /// Slot centre (y coordinate).
    y: f64,
    colour: RGBColor,
    label: String,
}

/// Where a row's bars and notes go: slots counted from the top.
struct RowLayout<'a> {
    row: &'a Row,
    bars: Vec<Bar<'a>>,
    /// The row's centre, where its name is written.
    centre: f64,
    /// The bars' extent (bottom, top): the base line is drawn there, not across the notes.
    span: (f64, f64),
    /// The break-even notes and their y coordinates.
    notes: Vec<(f64, String)>,
}

/// The tornado plot, or `None` when no input has an end with a finite objective.
pub fn tornado(t: &Sensitivity) -> Result<Option<Plot>, PlotError> {
    register_font();
    let obj = t.objective.metric;
    let base = t.best.metric(obj);
    let drawable: Vec<&Row> = t
        .rows
        .iter()
        .filter(|r| r.ends.iter().any(|e| e.objective.is_finite()))
        .filter(|r| r.swing != 0.0 || !r.break_even.is_empty())
        .collect();
    if drawable.is_empty() || !base.is_finite() {
        return Ok(None);
    }
    let shown = &drawable[..drawable.len().min(TORNADO_ROWS)];
    // Lay the rows out from the top: y decreases downwards, in slots; the first slot holds
    // the base line's label.
    let mut y = -1.0;
    let mut rows = Vec::with_capacity(shown.len());
    for r in shown {
        let top = y;
        let mut bars = Vec::new();
        for (k, e) in r.ends.iter().enumerate() {
            let (colour, label) = match r.setting {
                Setting::Alternatives => (ALTERNATIVE, setting_text(&e.value, e.factor)),
                _ if k == 0 => (LINE, format!("low {}", setting_text(&e.value, e.factor))),
                _ => (HIGH, format!("high {}", setting_text(&e.value, e.factor))),
            };
            let label = if !e.objective.is_finite() || !e.valid {
                format!("{label}: invalid")
            } else if !e.feasible {
                format!("{label}: infeasible")
            } else {
                label
            };
            bars.push(Bar {
                end: e,
                y: y - 0.5,
                colour,
                label,
            });
            y -= 1.0;
        }
        let bars_bottom = y;
        let mut notes = Vec::new();
        for b in &r.break_even {
            notes.push((
                y - 0.5,
                format!(
                    "break-even at {}: {} takes over",
                    setting_text(&b.value, b.factor),
                    decision_text(b.takes_over.as_ref())
                ),
            ));
            y -= 1.0;
        }
        rows.push(RowLayout {
            row: r,
            bars,
            centre: (top + bars_bottom) / 2.0,
            span: (bars_bottom - 0.1, top + 0.1),
            notes,
        });
        y -= 0.7;
    }
    let slots = -y;
    // The objective axis: every finite end and the base, with room for the labels.
    let (mut lo, mut hi) = (base, base);
    for l in &rows {
        for b in &l.bars {
            if b.end.objective.is_finite() {
                (lo, hi) = (lo.min(b.end.objective), hi.max(b.end.objective));
            }
        }
    }
    if hi <= lo {
        let d = if base == 0.0 { 1.0 } else { base.abs() * 0.05 };
        (lo, hi) = (base - d, base + d);
    }
    let xs = Scale::padded(lo, hi, false, 0.42);
    let height = (110.0 + slots * SLOT_PX as f64).round().max(300.0) as u32;
    let size = (SIZE.0, height);
    let names: Vec<(f64, String)> = rows.iter().map(|l| (l.centre, input_name(l.row))).collect();
    let breaks = rows.iter().filter(|l| !l.row.break_even.is_empty()).count();
    let title = format!("Tornado: {} of the base best decision", obj.name());
    let unit = obj.unit();
    let caption = format!(
        "Each row is an input that is not an axis, sorted by swing (the largest {} of {} inputs are drawn, those that move neither the objective nor the decision left out; the table lists every one): the base best decision's {} ({unit}) with the input at its low setting (blue) and its high setting (orange) — p10 and p90 for an uncertain input, 0.9x and 1.1x for another numeric one, clipped to its valid range — or at each alternative of a categorical input (green), each bar starting from the base objective {} {unit} (dashed line: the best decision with every uncertain input at its median). Pale bars: the decision breaks a constraint there. {}",
        rows.len(),
        t.rows.len(),
        obj.name(),
        short(base),
        if breaks == 0 {
            "No input changes the best decision within its range (no break-even).".to_string()
        } else {
            format!(
                "Grey notes under {breaks} row(s): the break-even, the value where the grid's best decision changes, and the decision that takes over."
            )
        }
    );
    let ys = Coord {
        lo: y + 0.2,
        hi: 0.2,
        ticks: names.iter().map(|(c, _)| *c).collect(),
    };
    let label_of = |t: f64| {
        names
            .iter()
            .find(|(c, _)| (c - t).abs() < 1e-9)
            .map_or(String::new(), |(_, n)| n.clone())
    };
    let draw = on_both_backends!(|root| {
        root.fill(&WHITE)?;
        let mut chart = ChartBuilder::on(root)
            .caption(&title, (FAMILY, 22))
            .margin(16)
            .x_label_area_size(48)
            .y_label_area_size(210)
            .build_cartesian_2d(xs.coord(), ys.clone())?;
        chart
            .configure_mesh()
            .disable_y_mesh()
            .x_desc(metric_title(obj))
            .x_label_formatter(&|t| short(xs.from(*t)))
            .y_label_formatter(&|t| label_of(*t))
            .label_style((FAMILY, 14))
            .axis_desc_style((FAMILY, 15))
            .light_line_style(WHITE)
            .bold_line_style(RGBColor(230, 230, 230))
            .draw()?;
        let x_base = xs.to(base);
        let half = 0.38;
        for l in &rows {
            chart.draw_series(DashedLineSeries::new(
                vec![(x_base, l.span.0), (x_base, l.span.1)],
                6,
                4,
                BLACK.stroke_width(1),
            ))?;
        }
        chart.draw_series([Text::new(
            format!("base {} {unit}", short(base)),
            (x_base, -0.5),
            (FAMILY, 12)
                .into_font()
                .color(&BLACK)
                .pos(Pos::new(HPos::Center, VPos::Center)),
        )])?;
        for l in &rows {
            for b in &l.bars {
                let e = b.end;
                let font = (FAMILY, 12).into_font();
                // Labels sit 5 px off the base line or the bar's far end (SVG collapses
                // padding spaces, so the gap is an offset).
                if !e.objective.is_finite() {
                    chart.draw_series([EmptyElement::at((x_base, b.y))
                        + Text::new(
                            b.label.clone(),
                            (5, 0),
                            font.color(&NOTE).pos(Pos::new(HPos::Left, VPos::Center)),
                        )])?;
                    continue;
                }
                let x = xs.to(e.objective);
                let fill = if e.feasible {
                    b.colour.filled()
                } else {
                    b.colour.mix(0.35).filled()
                };
                let (a, z) = if x < x_base { (x, x_base) } else { (x_base, x) };
                chart.draw_series([Rectangle::new([(a, b.y - half), (z, b.y + half)], fill)])?;
                // The label outside the bar's far end.
                let (dx, anchor) = if x < x_base {
                    (-5, HPos::Right)
                } else {
                    (5, HPos::Left)
                };
                chart.draw_series([EmptyElement::at((x, b.y))
                    + Text::new(
                        b.label.clone(),
                        (dx, 0),
                        font.color(&BLACK).pos(Pos::new(anchor, VPos::Center)),
                    )])?;
            }
            for (ny, note) in &l.notes {
                chart.draw_series([Text::new(
                    note.clone(),
                    (xs.to(xs.lo), *ny),
                    (FAMILY, 12)
                        .into_font()
                        .color(&NOTE)
                        .pos(Pos::new(HPos::Left, VPos::Center)),
                )])?;
            }
        }
        Ok(())
    });
    render_sized("tornado", title.clone(), caption, size, draw).map(Some)
}

/// The histogram of the best configuration's objective over the draws, or `None` when the
/// scenario has no uncertain inputs or no best with valid draws.
pub fn draws(s: &Summary) -> Result<Option<Plot>, PlotError> {
    register_font();
    let (Some(u), Some(best)) = (&s.uncertainty, &s.best) else {
        return Ok(None);
    };
    let Some(d) = &best.spread else {
        return Ok(None);
    };
    let hist = &d.histogram;
    let total: u64 = hist.counts.iter().sum();
    if !hist.lo.is_finite() || !hist.hi.is_finite() || total == 0 {
        return Ok(None);
    }
    let obj = s.objective.metric;
    let bins = hist.counts.len();
    let mean = d.metric(obj).map(|sp| sp.mean);
    let bound = s
        .constraints
        .bounds()
        .into_iter()
        .find(|b| b.0 == obj)
        .map(|b| b.1);
    let width = (hist.hi - hist.lo) / bins as f64;
    let w = if width > 0.0 {
        width
    } else {
        (hist.lo.abs() * 0.01).max(1e-9)
    };
    let top = hist.counts.iter().copied().max().unwrap_or(1).max(1) as f64;
    let mut lo = hist.lo;
    let mut hi = hist.lo + w * bins as f64;
    for v in [Some(d.statistic), mean, bound].into_iter().flatten() {
        if v.is_finite() {
            (lo, hi) = (lo.min(v), hi.max(v));
        }
    }
    let xs = Scale::padded(lo, hi, false, 0.04);
    let ys = Scale::of(0.0, top * 1.15, false);
    let unit = obj.unit();
    let title = format!(
        "Distribution of {} over {} draws for the best configuration",
        obj.name(),
        d.samples
    );
    let caption = format!(
        "Histogram of the best configuration's {} ({unit}) in each of its {} valid draws of {} (seed {}), in {bins} equal bins from the smallest to the largest; it is feasible in {} draws (p_feasible {}, the scenario asks at least {}). It was ranked by the {} of these draws, {} {unit} (red dashed line); the mean is {} {unit} (blue dashed line){}.",
        obj.name(),
        d.valid,
        d.samples,
        u.seed,
        d.feasible,
        short(d.p_feasible),
        short(u.confidence),
        u.statistic,
        short(d.statistic),
        mean.map_or("not defined".into(), short),
        match bound {
            Some(b) => format!("; the purple dashed line is the bound on {}, {}", obj.name(), short(b)),
            None => String::new(),
        }
    );
    let mut lines: Vec<(f64, RGBColor, String)> = Vec::new();
    if d.statistic.is_finite() {
        lines.push((
            d.statistic,
            BEST,
            format!("{}: {} {unit}", u.statistic, short(d.statistic)),
        ));
    }
    if let Some(m) = mean.filter(|m| m.is_finite()) {
        lines.push((
            m,
            RGBColor(31, 80, 140),
            format!("mean: {} {unit}", short(m)),
        ));
    }
    if let Some(b) = bound {
        lines.push((b, BOUND, format!("bound: {} {unit}", short(b))));
    }
    let draw = on_both_backends!(|root| {
        let mut chart = framed(
            root,
            &title,
            (&xs, metric_title(obj)),
            (&ys, "draws".to_string()),
        )?;
        chart.draw_series(hist.counts.iter().enumerate().map(|(i, &n)| {
            let a = hist.lo + w * i as f64;
            // A sliver of white between neighbouring bars.
            Rectangle::new(
                [(a + w * 0.02, 0.0), (a + w * 0.98, n as f64)],
                LINE.mix(0.55).filled(),
            )
        }))?;
        for (v, colour, text) in &lines {
            let style = colour.stroke_width(2);
            chart
                .draw_series(DashedLineSeries::new(
                    vec![(*v, 0.0), (*v, top * 1.08)],
                    8,
                    6,
                    style,
                ))?
                .label(text.clone())
                .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 18, y)], style));
        }
        chart
            .configure_series_labels()
            .label_font((FAMILY, 14))
            .background_style(WHITE.mix(0.9))
            .border_style(RGBColor(180, 180, 180))
            .position(SeriesLabelPosition::UpperRight)
            .draw()?;
        Ok(())
    });
    render_sized("draws", title.clone(), caption, SIZE, draw).map(Some)
}
