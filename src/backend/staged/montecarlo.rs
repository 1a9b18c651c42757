//! The CPU Monte Carlo kernel: the tape of [`trace_draws`] run per configuration over its
//! draws. Every axis is outer, so each configuration's draw-independent steps are scalars,
//! re-run only when an axis they depend on changed (as in the deterministic kernel); the
//! steps that read an uncertain parameter are columns over the draws, which keep their values
//! from one configuration to the next (up to [`WHOLE_COLUMNS_MAX`] draws), so that a column
//! step, too, runs only when an axis it depends on changed; they run strip by strip of
//! [`STRIP`] draws, which stay in the first-level cache. Each
//! configuration's draws reduce to its statistics (per-metric means over valid draws, the
//! objective's statistic, computed only for a feasible configuration that could still win a
//! slot, `p_feasible`), which then feed the grid reductions like one
//! deterministic configuration: best, best per group, Pareto bins over the mean facility
//! power, and statistics of the per-configuration means.

use super::advance_outer;
use super::run::{column_step, scalar_step, ScalarStep};
use crate::backend::tape::trace::{trace_draws, value_ok, Traced};
use crate::backend::tape::{Slot, Step, TapeOp, Val};
use crate::model::{Metric, Objective, Sense, METRIC_COUNT};
use crate::params::PARAMS;
use crate::plan::SweepPlan;
use crate::reduce::{offer, Candidate, Reductions};
use crate::uncertain::{nearest_rank, percentile, Statistic};
use std::ops::Range;

/// Up to this many draws, each column holds every draw of the configuration: a column step
/// runs again only when an axis it depends on changed (the others keep the last
/// configuration's draws), in strips of [`STRIP`] draws. Above it (memory: columns x samples
/// x 8 bytes per thread) the columns hold one strip and every column step runs for every
/// strip.
const WHOLE_COLUMNS_MAX: usize = 4096;

/// Draws per strip: every column step runs over one strip before the next strip starts, so
/// the strip's operands stay in the first-level cache. A multiple of [`LANES`], so that draw
/// `j` goes to partial sum `j % LANES` whatever the strip.
const STRIP: usize = 128;

/// The Monte Carlo kernel of one plan: traced once, shared by every thread.
pub struct MonteCarloKernel {
    traced: Traced,
    /// The tape's lookup tables, then one per drawn parameter: its f64 draws by accelerator
    /// and draw index (the tape's `Draw` steps become lookups of them).
    tables: Vec<Vec<f64>>,
    samples: usize,
    /// Per first changed axis `k` (`axes` = none, the first configuration uses 0): the
    /// scalar steps to run, and the column steps to run when the columns hold every draw.
    scalar_runs: Vec<Vec<ScalarStep>>,
    column_runs: Vec<Vec<Step>>,
    /// Every scalar step (the first configuration of a range).
    scalar_all: Vec<ScalarStep>,
    /// Every column step (the first configuration of a range, and every strip when the
    /// columns hold one strip).
    columns: Vec<Step>,
    /// Applicable metrics and their values.
    metrics: Vec<(usize, Val)>,
    objective: usize,
    value_ok: Vec<Vec<f64>>,
}

/// Per-thread working state.
struct State {
    scalars: Vec<f64>,
    cols: Vec<Vec<f64>>,
    digits: Vec<u64>,
    /// Per strip: each draw's validity as a bit mask (all ones when valid, else zero), so
    /// that sums over the valid draws select with an `and` instead of a branch.
    valid: Vec<u64>,
    /// Per metric: the partial sums ([`add_shifted`]) over valid draws of its difference
    /// from `shift` (the value in the configuration's first valid draw), so that equal draws
    /// give that value exactly.
    sums: [[f64; LANES]; METRIC_COUNT],
    shift: [f64; METRIC_COUNT],
    /// The objective over valid draws (percentile statistics).
    objective_values: Vec<f64>,
}

/// The tables of the kernel: the tape's, then the f64 draws of each parameter its `Draw`
/// steps read (by accelerator and draw index: the drawn value, or the value the parameter
/// has on an accelerator it is not drawn for), each computed once per sweep; every `Draw`
/// step becomes a lookup of its parameter's table.
fn draw_lookups(plan: &SweepPlan, traced: &mut Traced) -> Vec<Vec<f64>> {
    let s = &plan.scenario;
    let n = s.samples();
    let mut tables = traced.tracer.tables.clone();
    let mut table_of: Vec<(u32, u32)> = Vec::new();
    for st in &mut traced.tracer.steps {
        let TapeOp::Draw { param } = st.op else {
            continue;
        };
        let table = match table_of.iter().find(|(p, _)| *p == param) {
            Some(&(_, t)) => t,
            None => {
                let p = PARAMS[param as usize].param;
                tables.push(
                    (0..s.accelerators.len())
                        .flat_map(|a| {
                            (0..n).map(move |k| {
                                s.drawn_value(p, a, k)
                                    .unwrap_or_else(|| s.accelerators[a].base(p))
                            })
                        })
                        .collect(),
                );
                table_of.push((param, tables.len() as u32 - 1));
                tables.len() as u32 - 1
            }
        };
        st.op = TapeOp::Lookup { table, stride: n };
    }
    tables
}

impl MonteCarloKernel {
    pub fn new(plan: &SweepPlan) -> MonteCarloKernel {
        let s = &plan.scenario;
        let mut traced = trace_draws(plan);
        let tables = draw_lookups(plan, &mut traced);
        let axes = s.axes.len();
        let changed = |k: usize| -> u64 { (k..=axes).fold(0u64, |m, a| m | 1 << a) & !(1 << axes) };
        let mut scalar_runs = Vec::new();
        let mut column_runs = Vec::new();
        for k in 0..=axes {
            let bits = changed(k);
            let steps = traced.tracer.steps.iter().filter(|st| st.deps & bits != 0);
            scalar_runs.push(steps.clone().filter_map(ScalarStep::of).collect());
            column_runs.push(
                steps
                    .filter(|st| matches!(st.out, Slot::Column(_)))
                    .copied()
                    .collect(),
            );
        }
        let scalar_all = traced
            .tracer
            .steps
            .iter()
            .filter_map(ScalarStep::of)
            .collect();
        let columns = traced
            .tracer
            .steps
            .iter()
            .filter(|st| matches!(st.out, Slot::Column(_)))
            .copied()
            .collect();
        let metrics = Metric::ALL
            .iter()
            .filter_map(|&m| traced.metrics[m as usize].map(|v| (m as usize, v)))
            .collect();
        MonteCarloKernel {
            tables,
            samples: s.samples() as usize,
            scalar_runs,
            column_runs,
            scalar_all,
            columns,
            metrics,
            objective: s.objective.metric as usize,
            value_ok: value_ok(plan),
            traced,
        }
    }

    /// Evaluate and reduce the configurations of one contiguous range of flat indices (with
    /// AVX2 where the processor has it: the same operations, so the same results).
    /// `known`: reductions of other ranges that will be merged with this one's (or empty):
    /// a percentile statistic is not computed for a configuration that loses to them
    /// ([`percentile_if_it_can_win`]), which changes nothing in the merged result.
    pub fn eval_range(
        &self,
        plan: &SweepPlan,
        range: Range<u64>,
        known: &Reductions,
    ) -> Reductions {
        #[cfg(target_arch = "x86_64")]
        if std::arch::is_x86_feature_detected!("avx2") {
            // SAFETY: the processor supports AVX2 (checked just above).
            return unsafe { self.eval_avx2(plan, range, known) };
        }
        self.eval(plan, range, known)
    }

    #[cfg(target_arch = "x86_64")]
    #[target_feature(enable = "avx2")]
    unsafe fn eval_avx2(
        &self,
        plan: &SweepPlan,
        range: Range<u64>,
        known: &Reductions,
    ) -> Reductions {
        self.eval(plan, range, known)
    }

    #[inline(always)]
    fn eval(&self, plan: &SweepPlan, range: Range<u64>, known: &Reductions) -> Reductions {
        let s = &plan.scenario;
        let grid = &plan.grid;
        let axes = s.axes.len();
        let n = self.samples;
        let whole = n <= WHOLE_COLUMNS_MAX;
        let mut red = Reductions::empty(plan);
        let mut st = State {
            scalars: self.traced.tracer.scalars.clone(),
            cols: vec![
                vec![0.0; if whole { n } else { STRIP }];
                self.traced.tracer.columns as usize
            ],
            digits: vec![0; axes],
            valid: vec![0; STRIP],
            sums: [[0.0; LANES]; METRIC_COUNT],
            shift: [f64::NAN; METRIC_COUNT],
            objective_values: Vec::with_capacity(n),
        };
        let percentile_q = match s.statistic {
            Statistic::Mean => None,
            Statistic::Percentile(q) => Some(q),
        };
        grid.decode(range.start, &mut st.digits);
        let mut k = 0usize;
        let mut first = true;
        for index in range {
            for ax in k..axes {
                let (value, ok) = self.traced.axis_slots[ax];
                let d = st.digits[ax] as usize;
                st.scalars[value as usize] = s.axes[ax].values[d];
                st.scalars[ok as usize] = self.value_ok[ax][d];
            }
            let scalars = if first {
                &self.scalar_all
            } else {
                &self.scalar_runs[k]
            };
            for step in scalars {
                scalar_step(&self.tables, &mut st.scalars, step);
            }
            st.sums = [[0.0; LANES]; METRIC_COUNT];
            st.shift = [f64::NAN; METRIC_COUNT];
            st.objective_values.clear();
            let (mut nv, mut nf) = (0usize, 0usize);
            let steps = if whole && !first {
                &self.column_runs[k]
            } else {
                &self.columns
            };
            for d0 in (0..n).step_by(STRIP) {
                let len = STRIP.min(n - d0);
                // The strip's entries in the columns: its draws' own, or the first `len`.
                let at = if whole { d0..d0 + len } else { 0..len };
                for step in steps {
                    column_step(
                        &self.tables,
                        &st.scalars,
                        &mut st.cols,
                        step,
                        at.clone(),
                        |_, _, out| {
                            for (j, o) in out.iter_mut().enumerate() {
                                *o = (d0 + j) as f64;
                            }
                        },
                    );
                }
                let (v, f) = self.reduce_strip(&mut st, at, percentile_q.is_some());
                nv += v;
                nf += f;
            }
            red.evaluated += 1;
            if nv == 0 {
                red.invalid += 1;
            } else if nf as f64 / n as f64 >= s.confidence {
                // Feasible by its draws (the objective's statistic, finite over valid draws,
                // is then computed only for a configuration that is feasible).
                let mean = |m: usize| st.shift[m] + lane_total(&st.sums[m]) / nv as f64;
                let group = plan.group_of(&st.digits);
                let bin = plan.pareto.bin(mean(Metric::FacilityMw as usize));
                let cell = plan.heatmap_cell(&st.digits);
                let statistic = match percentile_q {
                    None => Some(mean(self.objective)),
                    Some(q) => {
                        // Each slot as held by this range, else by the known ranges.
                        let slots = [
                            red.best.or(known.best),
                            red.best_by.get(group).copied().flatten().or(known
                                .best_by
                                .get(group)
                                .copied()
                                .flatten()),
                            red.pareto[bin].or(known.pareto[bin]),
                            cell.and_then(|h| red.heatmap[h].best.or(known.heatmap[h].best)),
                        ];
                        let wanted = [true, group < red.best_by.len(), true, cell.is_some()];
                        percentile_if_it_can_win(
                            &mut st.objective_values,
                            q,
                            &slots,
                            &wanted,
                            &s.objective,
                        )
                    }
                };
                if statistic.is_none_or(f64::is_finite) {
                    red.feasible += 1;
                    if let Some(group_feasible) = red.group_feasible.get_mut(group) {
                        *group_feasible += 1;
                    }
                    if let Some(h) = cell {
                        red.heatmap[h].feasible += 1;
                    }
                    for &(m, _) in &self.metrics {
                        red.stats[m].add(mean(m));
                    }
                }
                if let Some(objective) = statistic.filter(|x| x.is_finite()) {
                    let c = Candidate { objective, index };
                    offer(&mut red.best, c, &s.objective);
                    if let Some(slot) = red.best_by.get_mut(group) {
                        offer(slot, c, &s.objective);
                    }
                    offer(&mut red.pareto[bin], c, &s.objective);
                    if let Some(h) = cell {
                        offer(&mut red.heatmap[h].best, c, &s.objective);
                    }
                }
            }
            // Every axis is outer: the odometer turns over all of them.
            k = advance_outer(&mut st.digits, &grid.lens);
            first = false;
        }
        red
    }

    /// Add the draws of one strip (entries `at` of the columns) to the configuration's sums;
    /// returns its valid and feasible counts.
    #[inline(always)]
    fn reduce_strip(
        &self,
        st: &mut State,
        at: Range<usize>,
        keep_objective: bool,
    ) -> (usize, usize) {
        let len = at.len();
        let t = &self.traced;
        let scalar = |v: Val, st: &State| match v.slot {
            Slot::Scalar(i) => st.scalars[i as usize],
            Slot::Column(_) => unreachable!("a gate is a scalar"),
        };
        let count = |gate: f64, col: Option<Val>, st: &State, out: Option<&mut [u64]>| {
            let mut c = 0usize;
            match (gate != 0.0, col, out) {
                (false, _, Some(out)) => {
                    out[..len].fill(0);
                }
                (false, _, None) => {}
                (true, None, out) => {
                    if let Some(out) = out {
                        out[..len].fill(u64::MAX);
                    }
                    c = len;
                }
                (true, Some(v), out) => {
                    let Slot::Column(ci) = v.slot else {
                        unreachable!("a mask column")
                    };
                    let xs = &st.cols[ci as usize][at.clone()];
                    match out {
                        Some(out) => {
                            for (o, &x) in out[..len].iter_mut().zip(xs) {
                                *o = 0u64.wrapping_sub((x != 0.0) as u64);
                                c += (x != 0.0) as usize;
                            }
                        }
                        None => c = xs.iter().filter(|&&x| x != 0.0).count(),
                    }
                }
            }
            c
        };
        let mut valid = std::mem::take(&mut st.valid);
        let nv = count(scalar(t.valid.gate, st), t.valid.col, st, Some(&mut valid));
        let nf = count(scalar(t.feasible.gate, st), t.feasible.col, st, None);
        if nv > 0 {
            let first = valid[..len].iter().position(|&ok| ok != 0).unwrap_or(0);
            // Every draw of the strip valid (the usual case): no mask to apply.
            let keep = (nv < len).then_some(&valid[..len]);
            for &(m, v) in &self.metrics {
                match v.slot {
                    // The same value in every draw: its own shift, so its sum stays 0.
                    Slot::Scalar(i) => {
                        if st.shift[m].is_nan() {
                            st.shift[m] = st.scalars[i as usize];
                        }
                    }
                    Slot::Column(c) => {
                        let xs = &st.cols[c as usize][at.clone()];
                        if st.shift[m].is_nan() {
                            st.shift[m] = xs[first];
                        }
                        add_shifted(&mut st.sums[m], xs, st.shift[m], keep);
                    }
                }
                if keep_objective && m == self.objective {
                    match v.slot {
                        Slot::Scalar(i) => {
                            let x = st.scalars[i as usize];
                            st.objective_values.extend(std::iter::repeat_n(x, nv));
                        }
                        Slot::Column(c) => st.objective_values.extend(
                            st.cols[c as usize][at.clone()]
                                .iter()
                                .zip(&valid[..len])
                                .filter(|(_, &ok)| ok != 0)
                                .map(|(&x, _)| x),
                        ),
                    }
                }
            }
        }
        st.valid = valid;
        (nv, nf)
    }
}

/// The nearest-rank percentile `q` of a feasible configuration's valid draws `values`
/// (finite), or `None` when it is certain to lose to every slot it would be offered to
/// (`slots`, those with `wanted`; all of them held): then fewer values than its rank needs
/// reach the weakest slot's objective, so the percentile is strictly worse than every slot's
/// and is not needed. One counting pass instead of a select; an empty slot always needs it.
fn percentile_if_it_can_win(
    values: &mut [f64],
    q: f64,
    slots: &[Option<Candidate>; 4],
    wanted: &[bool; 4],
    objective: &Objective,
) -> Option<f64> {
    let n = values.len();
    let r = nearest_rank(q, n);
    // The weakest objective among the wanted slots; none while one of them is empty.
    let mut weakest: Option<f64> = None;
    for (slot, _) in slots.iter().zip(wanted).filter(|(_, &w)| w) {
        let Some(c) = slot else {
            return Some(percentile(values, q));
        };
        weakest = Some(match (weakest, objective.sense) {
            (None, _) => c.objective,
            (Some(w), Sense::Max) => w.min(c.objective),
            (Some(w), Sense::Min) => w.max(c.objective),
        });
    }
    if let Some(t) = weakest {
        let loses = match objective.sense {
            // The value at rank r has n - r values at or above it: fewer than that reach t.
            Sense::Max => values.iter().filter(|&&x| x >= t).count() < n - r,
            // It has r + 1 values at or below it: fewer than that reach t.
            Sense::Min => values.iter().filter(|&&x| x <= t).count() < r + 1,
        };
        if loses {
            return None;
        }
    }
    Some(percentile(values, q))
}

/// Partial sums of [`add_shifted`]: independent accumulators, so the additions of a strip
/// pipeline and vectorise instead of waiting on each other.
const LANES: usize = 8;

/// Add `x - shift` of the draws `keep` selects (all when `None`; a selected draw's mask is
/// all ones, a left-out one's zero, so a left-out NaN or infinity adds +0) to the partial
/// sums: the strip's draw `j` to `lanes[j % LANES]` (strips start at multiples of `LANES`,
/// so each partial sum adds the same draws in the same order whatever the strip length).
#[inline(always)]
fn add_shifted(lanes: &mut [f64; LANES], xs: &[f64], shift: f64, keep: Option<&[u64]>) {
    match keep {
        None => {
            let mut chunks = xs.chunks_exact(LANES);
            for chunk in &mut chunks {
                for (a, &x) in lanes.iter_mut().zip(chunk) {
                    *a += x - shift;
                }
            }
            for (a, &x) in lanes.iter_mut().zip(chunks.remainder()) {
                *a += x - shift;
            }
        }
        Some(keep) => {
            let masked = |x: f64, k: u64| f64::from_bits((x - shift).to_bits() & k);
            let mut chunks = xs.chunks_exact(LANES).zip(keep.chunks_exact(LANES));
            for (chunk, ks) in &mut chunks {
                for ((a, &x), &k) in lanes.iter_mut().zip(chunk).zip(ks) {
                    *a += masked(x, k);
                }
            }
            let tail = xs.len() - xs.len() % LANES;
            for ((a, &x), &k) in lanes.iter_mut().zip(&xs[tail..]).zip(&keep[tail..]) {
                *a += masked(x, k);
            }
        }
    }
}

/// The sum of the partial sums, added in a fixed tree.
fn lane_total(lanes: &[f64; LANES]) -> f64 {
    ((lanes[0] + lanes[4]) + (lanes[2] + lanes[6]))
        + ((lanes[1] + lanes[5]) + (lanes[3] + lanes[7]))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Whenever the count says a configuration loses, its percentile is strictly worse than
    /// every wanted slot; otherwise the percentile is returned (both senses, ties, equal
    /// values, empty slots, slots not wanted).
    #[test]
    fn a_percentile_is_skipped_only_when_it_loses_to_every_slot() {
        let mut x = 0x9e37_79b9_7f4a_7c15u64;
        let mut next = move |m: u64| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x % m
        };
        let (mut skipped, mut computed) = (0, 0);
        for round in 0..4000 {
            let n = 1 + next(40) as usize;
            // Few distinct values, so that slots often tie with the percentile.
            let values: Vec<f64> = (0..n).map(|_| next(12) as f64 - 3.0).collect();
            let q = [1.0, 10.0, 50.0, 90.0, 99.0][next(5) as usize];
            let sense = if round % 2 == 0 {
                Sense::Max
            } else {
                Sense::Min
            };
            let objective = Objective {
                metric: Metric::ThroughputPflops,
                sense,
            };
            let slot = |v: u64| {
                (v < 13).then_some(Candidate {
                    objective: v as f64 - 3.0,
                    index: 7,
                })
            };
            let slots = [
                slot(next(14)),
                slot(next(14)),
                slot(next(14)),
                slot(next(14)),
            ];
            let wanted = [true, next(2) == 0, true, next(2) == 0];
            let exact = percentile(&mut values.clone(), q);
            match percentile_if_it_can_win(&mut values.clone(), q, &slots, &wanted, &objective) {
                Some(p) => {
                    assert_eq!(p, exact);
                    computed += 1;
                }
                None => {
                    skipped += 1;
                    for (c, _) in slots.iter().zip(wanted).filter(|(_, w)| *w) {
                        let c = c.expect("a skip needs every wanted slot held");
                        let worse = match sense {
                            Sense::Max => exact < c.objective,
                            Sense::Min => exact > c.objective,
                        };
                        assert!(worse, "{values:?} q {q}: {exact} vs slot {}", c.objective);
                    }
                }
            }
        }
        assert!(
            skipped > 100 && computed > 100,
            "{skipped} skipped, {computed} computed"
        );
    }
}
