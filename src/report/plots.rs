//! The report's plots, drawn with `plotters` once as SVG (inlined in `report.html` and
//! written as `.svg`) and once as PNG: the Pareto frontier (objective vs provisioned
//! facility power, the best configuration and the constraint lines marked), the heatmap
//! (log axes where an axis is log-spaced, a colour bar, cells with nothing feasible marked)
//! and the objective's distribution over feasible configurations (a histogram of a sample,
//! see [`crate::distribution`]). Text is set in DejaVu Sans, embedded in the binary, so the
//! pictures are the same on every machine.

use crate::distribution::Distribution;
use crate::heatmap::{HeatAxis, Heatmap};
use crate::model::{Metric, Sense};
use crate::plan::SweepPlan;
use crate::summary::Summary;
use plotters::coord::ranged1d::{DefaultFormatting, KeyPointHint};
use plotters::coord::Shift;
use plotters::prelude::*;

/// The font every plot is set in (DejaVu Sans; licence in assets/fonts/LICENSE-DejaVu.txt).
const FONT: &[u8] = include_bytes!("../../assets/fonts/DejaVuSans.ttf");
pub(crate) const FAMILY: &str = "sans-serif";
/// Plot size in pixels (SVG user units).
pub(crate) const SIZE: (u32, u32) = (960, 560);

/// One plot: its file stem, a title, a caption saying what it shows, and both renderings.
#[derive(Clone, Debug)]
pub struct Plot {
    pub stem: String,
    pub title: String,
    pub caption: String,
    pub svg: String,
    pub png: Vec<u8>,
}

/// A plot that could not be drawn.
#[derive(Debug, thiserror::Error)]
#[error("cannot draw the {plot} plot: {message}")]
pub struct PlotError {
    pub plot: String,
    pub message: String,
}

/// Register the embedded font (once per process); every plot, the calibration plot too, calls
/// this before drawing text.
pub(crate) fn register_font() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        // The embedded font parses (tested); a failure here would show as a drawing error.
        let _ = plotters::style::register_font(FAMILY, FontStyle::Normal, FONT);
    });
}

pub(crate) type SvgDrawn =
    Result<(), DrawingAreaErrorKind<<SVGBackend<'static> as DrawingBackend>::ErrorType>>;
pub(crate) type PngDrawn =
    Result<(), DrawingAreaErrorKind<<BitMapBackend<'static> as DrawingBackend>::ErrorType>>;

/// One drawing as two closures, one per backend (the same code, typed for each).
macro_rules! on_both_backends {
    (|$root:ident| { $($body:tt)* }) => {
        (
            |$root: &DrawingArea<SVGBackend, plotters::coord::Shift>| -> $crate::report::plots::SvgDrawn { $($body)* },
            |$root: &DrawingArea<BitMapBackend, plotters::coord::Shift>| -> $crate::report::plots::PngDrawn { $($body)* },
        )
    };
}
pub(crate) use on_both_backends;

/// Draw as SVG and as PNG at [`SIZE`].
fn render(
    stem: &str,
    title: String,
    caption: String,
    draw: (
        impl Fn(&DrawingArea<SVGBackend, Shift>) -> SvgDrawn,
        impl Fn(&DrawingArea<BitMapBackend, Shift>) -> PngDrawn,
    ),
) -> Result<Plot, PlotError> {
    render_sized(stem, title, caption, SIZE, draw)
}

/// Draw as SVG and as PNG, `size` pixels (SVG user units).
pub(crate) fn render_sized(
    stem: &str,
    title: String,
    caption: String,
    size: (u32, u32),
    (to_svg, to_png): (
        impl Fn(&DrawingArea<SVGBackend, Shift>) -> SvgDrawn,
        impl Fn(&DrawingArea<BitMapBackend, Shift>) -> PngDrawn,
    ),
) -> Result<Plot, PlotError> {
    let err = |message: String| PlotError {
        plot: stem.to_string(),
        message,
    };
    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, size).into_drawing_area();
        to_svg(&root).map_err(|e| err(e.to_string()))?;
        root.present().map_err(|e| err(e.to_string()))?;
    }
    let mut rgb = vec![0u8; (size.0 * size.1 * 3) as usize];
    {
        let root = BitMapBackend::with_buffer(&mut rgb, size).into_drawing_area();
        to_png(&root).map_err(|e| err(e.to_string()))?;
        root.present().map_err(|e| err(e.to_string()))?;
    }
    let png = encode_png(&rgb, size).map_err(|e| err(e.to_string()))?;
    Ok(Plot {
        stem: stem.to_string(),
        title,
        caption,
        svg,
        png,
    })
}

fn encode_png(rgb: &[u8], (w, h): (u32, u32)) -> Result<Vec<u8>, png::EncodingError> {
    let mut out = Vec::new();
    {
        let mut enc = png::Encoder::new(&mut out, w, h);
        enc.set_color(png::ColorType::Rgb);
        enc.set_depth(png::BitDepth::Eight);
        let mut writer = enc.write_header()?;
        writer.write_image_data(rgb)?;
    }
    Ok(out)
}

/// A number on an axis or a label: short, with k/M/B/T suffixes for large values.
pub fn short(x: f64) -> String {
    let a = x.abs();
    let trim = |s: String| {
        if s.contains('.') {
            s.trim_end_matches('0').trim_end_matches('.').to_string()
        } else {
            s
        }
    };
    for (scale, suffix) in [(1e12, "T"), (1e9, "B"), (1e6, "M"), (1e3, "k")] {
        if a >= scale {
            return format!("{}{suffix}", trim(format!("{:.2}", x / scale)));
        }
    }
    if a == 0.0 || a >= 1e-3 {
        trim(format!("{x:.3}"))
    } else {
        format!("{x:.1e}")
    }
}

/// An axis of a plot: data `[lo, hi]`, on a log scale or not. Coordinates are ln(value)
/// on a log scale, so both kinds share one coordinate type with ticks placed by hand.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Scale {
    pub(crate) lo: f64,
    pub(crate) hi: f64,
    log: bool,
}

impl Scale {
    pub(crate) fn of(lo: f64, hi: f64, log: bool) -> Scale {
        let log = log && lo > 0.0;
        let (lo, hi) = if hi > lo {
            (lo, hi)
        } else if log {
            (lo / 2.0, lo * 2.0)
        } else {
            let d = if lo == 0.0 { 1.0 } else { lo.abs() * 0.1 };
            (lo - d, lo + d)
        };
        Scale { lo, hi, log }
    }

    /// A scale over values with a margin of `pad` of the span on each side.
    pub(crate) fn padded(lo: f64, hi: f64, log: bool, pad: f64) -> Scale {
        let s = Scale::of(lo, hi, log);
        let (a, b) = (s.to(s.lo), s.to(s.hi));
        let m = (b - a) * pad;
        Scale {
            lo: s.from(a - m),
            hi: s.from(b + m),
            log: s.log,
        }
    }

    pub(crate) fn to(&self, v: f64) -> f64 {
        if self.log {
            v.ln()
        } else {
            v
        }
    }

    pub(crate) fn from(&self, t: f64) -> f64 {
        if self.log {
            t.exp()
        } else {
            t
        }
    }

    /// Tick values (data units): 1-2-5 steps on a linear scale; decades (and 2x, 5x when
    /// the span is short) on a log scale.
    fn ticks(&self) -> Vec<f64> {
        if self.log {
            let (a, b) = (
                self.lo.log10().floor() as i32,
                self.hi.log10().ceil() as i32,
            );
            for mults in [
                &[1.0][..],
                &[1.0, 2.0, 5.0],
                &[1.0, 1.5, 2.0, 3.0, 5.0, 7.0],
            ] {
                let t: Vec<f64> = (a..=b)
                    .flat_map(|e| mults.iter().map(move |m| m * 10f64.powi(e)))
                    .filter(|&v| v >= self.lo && v <= self.hi)
                    .collect();
                if t.len() >= 3 {
                    return t;
                }
            }
        }
        let span = self.hi - self.lo;
        let raw = span / 6.0;
        let mag = 10f64.powf(raw.log10().floor());
        let step = [1.0, 2.0, 5.0, 10.0]
            .iter()
            .map(|m| m * mag)
            .find(|&s| span / s <= 7.0)
            .unwrap_or(10.0 * mag);
        let first = (self.lo / step).ceil() as i64;
        let last = (self.hi / step).floor() as i64;
        (first..=last)
            .map(|k| k as f64 * step)
            .filter(|&v| !self.log || v > 0.0)
            .collect()
    }

    fn key_points(&self) -> Vec<f64> {
        self.ticks().into_iter().map(|v| self.to(v)).collect()
    }

    pub(crate) fn coord(&self) -> Coord {
        Coord {
            lo: self.to(self.lo),
            hi: self.to(self.hi),
            ticks: self.key_points(),
        }
    }
}

/// A plot coordinate: linear over `[lo, hi]` (ln values on a log scale) with the ticks
/// given (plotters' own f64 coordinate chooses its ticks and, wrapped to take given ones,
/// loses its label formatting).
#[derive(Clone)]
pub(crate) struct Coord {
    pub(crate) lo: f64,
    pub(crate) hi: f64,
    pub(crate) ticks: Vec<f64>,
}

impl Ranged for Coord {
    type FormatOption = DefaultFormatting;
    type ValueType = f64;

    fn map(&self, v: &f64, limit: (i32, i32)) -> i32 {
        let t = (v - self.lo) / (self.hi - self.lo);
        (limit.0 as f64 + t * (limit.1 - limit.0) as f64).round() as i32
    }

    fn key_points<H: KeyPointHint>(&self, _hint: H) -> Vec<f64> {
        self.ticks.clone()
    }

    fn range(&self) -> std::ops::Range<f64> {
        self.lo..self.hi
    }
}

/// An axis title: the name and its unit.
fn titled(name: &str, unit: &str) -> String {
    if unit.is_empty() {
        name.to_string()
    } else {
        format!("{name} ({unit})")
    }
}

pub(crate) fn metric_title(m: Metric) -> String {
    titled(m.name(), m.unit())
}

fn param_title(p: crate::params::Param) -> String {
    titled(p.name(), p.info().unit)
}

/// Every plot of a sweep's report (the heatmap only when the sweep had one, the Pareto
/// frontier and the distribution only when something was feasible).
pub fn plots(plan: &SweepPlan, s: &Summary, d: &Distribution) -> Result<Vec<Plot>, PlotError> {
    register_font();
    let mut out = Vec::new();
    if !s.pareto.is_empty() {
        out.push(pareto(plan, s)?);
    }
    if let Some(h) = &s.heatmap {
        out.push(heatmap(s, h)?);
    }
    if let Some(p) = distribution(s, d)? {
        out.push(p);
    }
    Ok(out)
}

pub(crate) type Framed<'a, DB> = Result<
    ChartContext<'a, DB, Cartesian2d<Coord, Coord>>,
    DrawingAreaErrorKind<<DB as DrawingBackend>::ErrorType>,
>;

/// A chart on `root` with a title, both axes on `Scale`s with their descriptions, tick
/// labels in short numbers, and a light grid.
pub(crate) fn framed<'a, DB: DrawingBackend>(
    root: &'a DrawingArea<DB, Shift>,
    title: &str,
    (xs, x_desc): (&Scale, String),
    (ys, y_desc): (&Scale, String),
) -> Framed<'a, DB> {
    root.fill(&WHITE)?;
    let mut chart = ChartBuilder::on(root)
        .caption(title, (FAMILY, 22))
        .margin(16)
        .x_label_area_size(48)
        .y_label_area_size(80)
        .build_cartesian_2d(xs.coord(), ys.coord())?;
    chart
        .configure_mesh()
        .x_desc(x_desc)
        .y_desc(y_desc)
        .x_label_formatter(&|t| short(xs.from(*t)))
        .y_label_formatter(&|t| short(ys.from(*t)))
        .label_style((FAMILY, 14))
        .axis_desc_style((FAMILY, 15))
        .light_line_style(WHITE)
        .bold_line_style(RGBColor(230, 230, 230))
        .draw()?;
    Ok(chart)
}

pub(crate) const BEST: RGBColor = RGBColor(214, 39, 40);
pub(crate) const LINE: RGBColor = RGBColor(31, 119, 180);
pub(crate) const BOUND: RGBColor = RGBColor(148, 103, 189);
const NONE: RGBColor = RGBColor(215, 215, 215);

fn pareto(plan: &SweepPlan, s: &Summary) -> Result<Plot, PlotError> {
    let obj = s.objective.metric;
    let pts: Vec<(f64, f64)> = s
        .pareto
        .iter()
        .map(|p| (p.metric(Metric::FacilityMw), p.metric(obj)))
        .filter(|(x, y)| x.is_finite() && y.is_finite())
        .collect();
    let best = s
        .best
        .as_ref()
        .map(|b| (b.metric(Metric::FacilityMw), b.metric(obj)));
    let bounds = plan.scenario.constraints.bounds();
    let fac_cap = bounds
        .iter()
        .find(|b| b.0 == Metric::FacilityMw)
        .map(|b| b.1);
    let obj_bound = bounds.iter().find(|b| b.0 == obj).map(|b| b.1);
    let (mut xlo, mut xhi) = (f64::INFINITY, f64::NEG_INFINITY);
    let (mut ylo, mut yhi) = (f64::INFINITY, f64::NEG_INFINITY);
    for &(x, y) in pts.iter().chain(best.iter()) {
        (xlo, xhi, ylo, yhi) = (xlo.min(x), xhi.max(x), ylo.min(y), yhi.max(y));
    }
    if let Some(c) = fac_cap {
        (xlo, xhi) = (xlo.min(c), xhi.max(c));
    }
    if let Some(c) = obj_bound {
        (ylo, yhi) = (ylo.min(c), yhi.max(c));
    }
    let xs = Scale::padded(xlo, xhi, xlo > 0.0 && xhi / xlo > 20.0, 0.04);
    let ys = Scale::padded(ylo, yhi, ylo > 0.0 && yhi / ylo > 1000.0, 0.06);
    let others: Vec<String> = bounds
        .iter()
        .filter(|b| b.0 != Metric::FacilityMw && b.0 != obj)
        .map(|(m, v, upper)| {
            format!(
                "{} {} {} {}",
                m.name(),
                if *upper { "<=" } else { ">=" },
                short(*v),
                m.unit()
            )
        })
        .collect();
    let better = match s.objective.sense {
        Sense::Max => "higher",
        Sense::Min => "lower",
    };
    let caption = format!(
        "The best {} for each provisioned facility power: each point is the leader of one of {} log-spaced facility-power bins that no point with less power beats ({} points; {better} is better). {}{}",
        obj.name(),
        plan.pareto.count,
        pts.len(),
        match fac_cap {
            Some(c) => format!("The dashed vertical line is the facility cap ({} MW). ", short(c)),
            None => "No facility cap. ".into(),
        },
        if others.is_empty() {
            "No other constraint.".to_string()
        } else {
            format!("Also constrained (not in this plane): {}.", others.join("; "))
        }
    );
    let title = format!("Pareto frontier: {} vs facility power", obj.name());
    let draw = on_both_backends!(|root| {
        let mut chart = framed(
            root,
            &title,
            (&xs, metric_title(Metric::FacilityMw)),
            (&ys, metric_title(obj)),
        )?;
        let line: Vec<(f64, f64)> = pts.iter().map(|&(x, y)| (xs.to(x), ys.to(y))).collect();
        chart
            .draw_series(LineSeries::new(line.clone(), LINE.stroke_width(2)))?
            .label("frontier")
            .legend(|(x, y)| PathElement::new(vec![(x, y), (x + 18, y)], LINE.stroke_width(2)));
        chart.draw_series(line.iter().map(|&p| Circle::new(p, 3, LINE.filled())))?;
        if let Some(c) = fac_cap {
            let style = ShapeStyle::from(&BOUND).stroke_width(2);
            let (a, b) = (ys.to(ys.lo), ys.to(ys.hi));
            chart
                .draw_series(DashedLineSeries::new(
                    vec![(xs.to(c), a), (xs.to(c), b)],
                    8,
                    6,
                    style,
                ))?
                .label(format!("max_facility_mw = {}", short(c)))
                .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 18, y)], style));
        }
        if let Some(c) = obj_bound {
            let style = ShapeStyle::from(&BOUND).stroke_width(2);
            let (a, b) = (xs.to(xs.lo), xs.to(xs.hi));
            chart
                .draw_series(DashedLineSeries::new(
                    vec![(a, ys.to(c)), (b, ys.to(c))],
                    8,
                    6,
                    style,
                ))?
                .label(format!("{} bound = {}", obj.name(), short(c)))
                .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 18, y)], style));
        }
        if let Some((x, y)) = best {
            let p = (xs.to(x), ys.to(y));
            chart
                .draw_series([Circle::new(p, 8, BEST.filled())])?
                // Named in the legend, not beside the dot, where it would cross the
                // frontier that rises to it.
                .label(format!(
                    "best: {} {} at {} MW",
                    short(y),
                    obj.unit(),
                    short(x)
                ))
                .legend(|(x, y)| Circle::new((x + 9, y), 6, BEST.filled()));
        }
        chart
            .configure_series_labels()
            .label_font((FAMILY, 14))
            .background_style(WHITE.mix(0.9))
            .border_style(RGBColor(180, 180, 180))
            .position(SeriesLabelPosition::LowerRight)
            .draw()?;
        Ok(())
    });
    render("pareto", title.clone(), caption, draw)
}

/// Where the cells of a heatmap axis are: numeric axes with increasing values sit at their
/// values (cell edges half-way between neighbours, in ln on a log axis); any other axis
/// (categorical, or values not in increasing order) at its positions 0, 1, ... with its
/// labels as ticks.
struct CellAxis<'a> {
    axis: &'a HeatAxis,
    scale: Scale,
    /// Cell edges (coordinates), one more than the values.
    edges: Vec<f64>,
    by_value: bool,
}

impl<'a> CellAxis<'a> {
    fn new(axis: &'a HeatAxis) -> CellAxis<'a> {
        let v = &axis.values;
        let numeric = axis.param.kind() != crate::params::ParamKind::Categorical;
        let by_value = numeric && v.len() >= 2 && v.windows(2).all(|w| w[1] > w[0]);
        if !by_value {
            let n = v.len() as f64;
            return CellAxis {
                axis,
                scale: Scale::of(-0.5, n - 0.5, false),
                edges: (0..=v.len()).map(|i| i as f64 - 0.5).collect(),
                by_value,
            };
        }
        let log = axis.log;
        let t: Vec<f64> = v.iter().map(|&x| if log { x.ln() } else { x }).collect();
        let mut edges = Vec::with_capacity(t.len() + 1);
        edges.push(t[0] - (t[1] - t[0]) / 2.0);
        edges.extend(t.windows(2).map(|w| (w[0] + w[1]) / 2.0));
        edges.push(t[t.len() - 1] + (t[t.len() - 1] - t[t.len() - 2]) / 2.0);
        let from = |x: f64| if log { x.exp() } else { x };
        CellAxis {
            axis,
            scale: Scale::of(from(edges[0]), from(edges[edges.len() - 1]), log),
            edges,
            by_value,
        }
    }

    fn key_points(&self) -> Vec<f64> {
        if self.by_value {
            return self.scale.key_points();
        }
        // Every position, or every k-th one so that about 12 labels show.
        let n = self.axis.values.len();
        let every = n.div_ceil(12).max(1);
        (0..n).step_by(every).map(|i| i as f64).collect()
    }

    fn label(&self, t: f64) -> String {
        if self.by_value {
            return short(self.scale.from(t));
        }
        let i = t.round();
        if i >= 0.0 && (i as usize) < self.axis.labels.len() {
            self.axis.labels[i as usize].clone()
        } else {
            String::new()
        }
    }

    fn title(&self) -> String {
        let scale = if self.axis.log && self.by_value {
            ", log scale"
        } else {
            ""
        };
        format!("{}{scale}", param_title(self.axis.param))
    }
}

fn heatmap(s: &Summary, h: &Heatmap) -> Result<Plot, PlotError> {
    let obj = s.objective.metric;
    let (xa, ya) = (CellAxis::new(&h.x), CellAxis::new(&h.y));
    let values: Vec<f64> = h
        .cells
        .iter()
        .filter_map(|c| c.best.map(|b| b.1))
        .filter(|v| v.is_finite())
        .collect();
    let vlo = values.iter().copied().fold(f64::INFINITY, f64::min);
    let vhi = values.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    let (vlo, vhi) = if vlo.is_finite() {
        (vlo, if vhi > vlo { vhi } else { vlo + 1.0 })
    } else {
        (0.0, 1.0)
    };
    // Better is bright (yellow) whatever the sense.
    let shade = |v: f64| {
        let t = ((v - vlo) / (vhi - vlo)).clamp(0.0, 1.0);
        let t = if s.objective.sense == Sense::Min {
            1.0 - t
        } else {
            t
        };
        ViridisRGB::get_color(t)
    };
    let empty = h.cells.iter().filter(|c| c.best.is_none()).count();
    // Under uncertainty a cell holds the statistic the objective is ranked by (e.g. the
    // p10 of its draws), not the metric itself: every label says so.
    let statistic = s.uncertainty.as_ref().map(|u| u.statistic.as_str());
    let ranked = match statistic {
        Some(st) => format!("{st} of {}", obj.name()),
        None => obj.name().to_string(),
    };
    let title = format!(
        "Best {ranked} by {} and {}",
        h.x.param.name(),
        h.y.param.name()
    );
    let caption = format!(
        "Each cell is the best {ranked} ({}{}) over every other axis among feasible configurations with that {} and {}; {} of {} cells have no feasible configuration (grey{}). Colour: {} is better (yellow).",
        obj.unit(),
        if statistic.is_some() { ", over each configuration's draws" } else { "" },
        h.x.param.name(),
        h.y.param.name(),
        empty,
        h.cells.len(),
        if h.cells.len() <= 2500 { ", crossed" } else { "" },
        if s.objective.sense == Sense::Max { "higher" } else { "lower" },
    );
    let nx = h.x.values.len();
    let ny = h.y.values.len();
    let cross = h.cells.len() <= 2500;
    let draw = on_both_backends!(|root| {
        root.fill(&WHITE)?;
        let (main, bar) = root.split_horizontally(SIZE.0 - 130);
        let mut chart = ChartBuilder::on(&main)
            .caption(&title, (FAMILY, 22))
            .margin(16)
            .x_label_area_size(48)
            .y_label_area_size(80)
            .build_cartesian_2d(
                Coord {
                    lo: xa.scale.to(xa.scale.lo),
                    hi: xa.scale.to(xa.scale.hi),
                    ticks: xa.key_points(),
                },
                Coord {
                    lo: ya.scale.to(ya.scale.lo),
                    hi: ya.scale.to(ya.scale.hi),
                    ticks: ya.key_points(),
                },
            )?;
        chart
            .configure_mesh()
            .disable_mesh()
            .x_desc(xa.title())
            .y_desc(ya.title())
            .x_label_formatter(&|t| xa.label(*t))
            .y_label_formatter(&|t| ya.label(*t))
            .label_style((FAMILY, 14))
            .axis_desc_style((FAMILY, 15))
            .draw()?;
        let mut rects = Vec::with_capacity(h.cells.len());
        let mut crosses = Vec::new();
        for xi in 0..nx {
            for yi in 0..ny {
                let (x0, x1) = (xa.edges[xi], xa.edges[xi + 1]);
                let (y0, y1) = (ya.edges[yi], ya.edges[yi + 1]);
                let c = h.cell(xi, yi);
                let colour = match c.best {
                    Some((_, v)) if v.is_finite() => shade(v),
                    _ => NONE,
                };
                rects.push(Rectangle::new([(x0, y0), (x1, y1)], colour.filled()));
                if c.best.is_none() && cross {
                    crosses.push(PathElement::new(
                        vec![(x0, y0), (x1, y1)],
                        RGBColor(150, 150, 150),
                    ));
                    crosses.push(PathElement::new(
                        vec![(x0, y1), (x1, y0)],
                        RGBColor(150, 150, 150),
                    ));
                }
            }
        }
        chart.draw_series(rects)?;
        chart.draw_series(crosses)?;
        // The colour bar: better at the top.
        let mut cb = ChartBuilder::on(&bar)
            .margin_top(60)
            .margin_bottom(64)
            .margin_right(10)
            .y_label_area_size(70)
            .build_cartesian_2d(0.0..1.0, vlo..vhi)?;
        cb.configure_mesh()
            .disable_mesh()
            .disable_x_axis()
            .y_label_formatter(&|v| short(*v))
            .label_style((FAMILY, 13))
            .draw()?;
        let steps = 200;
        cb.draw_series((0..steps).map(|i| {
            let a = vlo + (vhi - vlo) * i as f64 / steps as f64;
            let b = vlo + (vhi - vlo) * (i + 1) as f64 / steps as f64;
            Rectangle::new([(0.0, a), (1.0, b)], shade((a + b) / 2.0).filled())
        }))?;
        // The colour bar's label: the statistic (under uncertainty), the metric, the unit.
        let label = statistic
            .map(|st| format!("{st} of"))
            .into_iter()
            .chain([obj.name().to_string(), format!("({})", obj.unit())]);
        let top = if statistic.is_some() { 8 } else { 24 };
        for (line, text) in label.enumerate() {
            bar.draw(&Text::new(
                text,
                (8, top + 16 * line as i32),
                (FAMILY, 13).into_font(),
            ))?;
        }
        bar.draw(&Rectangle::new(
            [(8, SIZE.1 as i32 - 44), (26, SIZE.1 as i32 - 30)],
            NONE.filled(),
        ))?;
        bar.draw(&Text::new(
            "none feasible",
            (30, SIZE.1 as i32 - 44),
            (FAMILY, 12).into_font(),
        ))?;
        Ok(())
    });
    render("heatmap", title.clone(), caption, draw)
}

fn distribution(s: &Summary, d: &Distribution) -> Result<Option<Plot>, PlotError> {
    let bins = 40;
    let Some(hist) = d.histogram(bins) else {
        return Ok(None);
    };
    let obj = s.objective.metric;
    let best = s.best.as_ref().map(|b| b.metric(obj));
    let title = format!(
        "Distribution of {} over feasible configurations",
        obj.name()
    );
    let caption = if d.exact {
        format!(
            "Histogram of {} ({}) over all {} feasible configurations of the grid, in {bins} equal bins, evaluated in f64.",
            obj.name(),
            obj.unit(),
            d.values.len()
        )
    } else {
        format!(
            "Histogram of {} ({}) over the {} feasible configurations among {} drawn uniformly at random (fixed seed) from the grid's {} and evaluated in f64, in {bins} equal bins: an estimate of the shape; the sweep's statistics (exact) give the min, mean and max over all {} feasible configurations.",
            obj.name(),
            obj.unit(),
            d.values.len(),
            d.drawn,
            s.size,
            s.feasible
        )
    };
    let width = (hist.hi - hist.lo) / bins as f64;
    let top = hist.counts.iter().copied().max().unwrap_or(1).max(1) as f64;
    let lo = hist.lo.min(best.unwrap_or(hist.lo));
    let hi = (hist.hi + if width > 0.0 { 0.0 } else { 1.0 }).max(best.unwrap_or(hist.hi));
    let xs = Scale::padded(lo, hi, false, 0.03);
    let ys = Scale::of(0.0, top * 1.1, false);
    let y_desc = if d.exact {
        "configurations"
    } else {
        "configurations in the sample"
    };
    let draw = on_both_backends!(|root| {
        let mut chart = framed(
            root,
            &title,
            (&xs, metric_title(obj)),
            (&ys, y_desc.to_string()),
        )?;
        let w = if width > 0.0 { width } else { 1.0 };
        chart.draw_series(hist.counts.iter().enumerate().map(|(i, &n)| {
            let a = hist.lo + w * i as f64;
            Rectangle::new([(a, 0.0), (a + w, n as f64)], LINE.mix(0.8).filled())
        }))?;
        if let Some(b) = best {
            chart
                .draw_series(DashedLineSeries::new(
                    vec![(b, 0.0), (b, top * 1.05)],
                    8,
                    6,
                    BEST.stroke_width(2),
                ))?
                .label(format!("best: {} {}", short(b), obj.unit()))
                .legend(|(x, y)| PathElement::new(vec![(x, y), (x + 18, y)], BEST.stroke_width(2)));
            chart
                .configure_series_labels()
                .label_font((FAMILY, 14))
                .background_style(WHITE.mix(0.9))
                .border_style(RGBColor(180, 180, 180))
                .position(SeriesLabelPosition::UpperLeft)
                .draw()?;
        }
        Ok(())
    });
    render("distribution", title.clone(), caption, draw).map(Some)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_embedded_font_parses() {
        assert!(plotters::style::register_font(FAMILY, FontStyle::Normal, FONT).is_ok());
    }

    #[test]
    fn short_numbers_read_at_a_glance() {
        assert_eq!(short(38e9), "38B");
        assert_eq!(short(1_234_567.0), "1.23M");
        assert_eq!(short(20_000.0), "20k");
        assert_eq!(short(0.6), "0.6");
        assert_eq!(short(0.0), "0");
        assert_eq!(short(2.5e-5), "2.5e-5");
    }

    #[test]
    fn ticks_fall_inside_the_range() {
        let log = Scale::of(20_000.0, 1_000_000.0, true);
        let t = log.ticks();
        assert!(t.len() >= 3, "{t:?}");
        assert!(
            t.iter().all(|&v| (20_000.0..=1_000_000.0).contains(&v)),
            "{t:?}"
        );
        let lin = Scale::of(0.6, 1.0, false);
        let t = lin.ticks();
        assert!(t.len() >= 3 && t.len() <= 8, "{t:?}");
        assert!(
            t.iter().all(|&v| (0.6 - 1e-9..=1.0 + 1e-9).contains(&v)),
            "{t:?}"
        );
    }
}
