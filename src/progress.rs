//! The sweep's progress bar: configurations done, rate and ETA on stderr (indicatif). It
//! appears only for sweeps that take more than [`SHOW_AFTER`] and only where it is asked
//! for (the CLI asks when stderr is a terminal and `--quiet` is not given); it never writes
//! to stdout. Backends report finished configurations per chunk through
//! [`SweepProgress::tick`] (one atomic add; the bar redraws at most 10 times a second).

use crate::format::fmt_count;
use std::fmt::Write;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

/// The bar's line: the bar takes what the terminal's width leaves (so the line never wraps);
/// counts and the rate are written as everywhere else for people (`format::fmt_count`:
/// `14,048/s`, `1.23 T`), not with indicatif's four decimals.
const BAR_TEMPLATE: &str =
    "{wide_bar} {percent:>3}% {done}/{total} configurations, {rate}, eta {eta}";

/// A sweep shorter than this shows no bar at all.
pub const SHOW_AFTER: Duration = Duration::from_secs(1);

/// Progress of one sweep.
pub struct SweepProgress {
    bar: indicatif::ProgressBar,
    /// Whether a bar may be drawn at all (stderr is a terminal and not `--quiet`).
    wanted: bool,
    /// Whether the bar is drawn now (set once, after [`SHOW_AFTER`]).
    shown: AtomicBool,
    start: Instant,
}

impl SweepProgress {
    /// Progress over `total` configurations; `wanted` false keeps it hidden throughout.
    pub fn new(total: u64, wanted: bool) -> SweepProgress {
        let bar = indicatif::ProgressBar::with_draw_target(
            Some(total),
            indicatif::ProgressDrawTarget::hidden(),
        );
        if let Ok(style) = indicatif::ProgressStyle::with_template(BAR_TEMPLATE) {
            bar.set_style(
                style
                    .with_key("done", |s: &indicatif::ProgressState, w: &mut dyn Write| {
                        let _ = w.write_str(&fmt_count(s.pos() as f64));
                    })
                    .with_key(
                        "total",
                        |s: &indicatif::ProgressState, w: &mut dyn Write| {
                            let _ =
                                w.write_str(&s.len().map_or("?".into(), |n| fmt_count(n as f64)));
                        },
                    )
                    .with_key("rate", |s: &indicatif::ProgressState, w: &mut dyn Write| {
                        let _ = write!(w, "{}/s", fmt_count(s.per_sec()));
                    }),
            );
        }
        SweepProgress {
            bar,
            wanted,
            shown: AtomicBool::new(false),
            start: Instant::now(),
        }
    }

    /// `n` more configurations are done (called by the backends, from any thread).
    pub fn tick(&self, n: u64) {
        self.bar.inc(n);
        // A re-run (e.g. an exact re-check) counts the grid again: the bar grows with it.
        if let Some(len) = self.bar.length() {
            let pos = self.bar.position();
            if pos > len {
                self.bar.set_length(pos);
            }
        }
        if self.wanted
            && !self.shown.load(Ordering::Relaxed)
            && self.start.elapsed() >= SHOW_AFTER
            && !self.shown.swap(true, Ordering::Relaxed)
        {
            self.bar
                .set_draw_target(indicatif::ProgressDrawTarget::stderr_with_hz(10));
        }
    }

    /// Whether the bar has been drawn (it is only after [`SHOW_AFTER`]).
    pub fn shown(&self) -> bool {
        self.shown.load(Ordering::Relaxed)
    }

    /// Configurations counted so far.
    pub fn done(&self) -> u64 {
        self.bar.position()
    }

    /// Remove the bar from the terminal.
    pub fn finish(&self) {
        self.bar.finish_and_clear();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_every_tick_and_stays_hidden_when_not_wanted() {
        let p = SweepProgress::new(100, false);
        std::thread::scope(|s| {
            for _ in 0..4 {
                s.spawn(|| {
                    for _ in 0..10 {
                        p.tick(2);
                    }
                });
            }
        });
        assert_eq!(p.done(), 80);
        assert!(!p.shown());
        // A re-run past the total grows the bar instead of overflowing it.
        p.tick(50);
        assert_eq!(p.done(), 130);
        assert_eq!(p.bar.length(), Some(130));
    }

    /// The line as a terminal of 80 columns shows it: one line, human counts and rate.
    #[test]
    fn the_line_fits_the_terminal_and_counts_as_people_read_them() {
        let p = SweepProgress::new(100_050, false);
        let term = indicatif::InMemoryTerm::new(4, 80);
        p.bar
            .set_draw_target(indicatif::ProgressDrawTarget::term_like(Box::new(
                term.clone(),
            )));
        p.tick(14_148);
        p.bar.force_draw();
        let screen = term.contents();
        let lines: Vec<&str> = screen.lines().filter(|l| !l.trim().is_empty()).collect();
        assert_eq!(lines.len(), 1, "{screen:?}");
        let line = lines[0];
        assert!(line.chars().count() <= 80, "{line:?}");
        assert!(
            line.contains(" 14% 14,148/100,050 configurations, "),
            "{line:?}"
        );
        let rate = line.split(", ").nth(1).expect("a rate");
        assert!(rate.ends_with("/s") && !rate.contains('.'), "{line:?}");
    }

    #[test]
    fn a_wanted_bar_appears_only_after_a_second() {
        let p = SweepProgress::new(10, true);
        p.tick(1);
        assert!(!p.shown(), "shown at once");
        std::thread::sleep(SHOW_AFTER + Duration::from_millis(50));
        p.tick(1);
        assert!(p.shown(), "not shown after a second");
        p.finish();
    }
}
