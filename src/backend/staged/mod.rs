//! The CPU kernel: the model traced once per plan into a tape of steps, each step re-run
//! only when an axis it depends on changes.
//!
//! The grid is walked in windows of at most `W` (512) consecutive flat indices that share
//! every *outer* axis value; only the last few (*inner*) axes vary inside a window. Tracing
//! the model (`trace`, the formulas of `model::evaluate` in the same order) gives every
//! quantity a slot: a scalar when it depends on outer axes only, or a column of `n` values
//! when it depends on an inner axis (computed with simple loops that vectorise). Constant
//! sub-expressions (fixed parameters, defaults) are folded while tracing. Each step records
//! the set of axes it depends on, so a window re-runs only the steps whose axes changed
//! since the window before: when the odometer turns axis `k`, the steps that depend on axes
//! `k..` only. On the default scenario most windows change only the job size and re-run the
//! goodput chain; the rental cost column and its statistics are computed once per fleet
//! size, and the cost per FLOP's statistics follow from them without a division per
//! configuration.
//!
//! Reductions follow the same split: a statistic of a scalar metric is updated once with the
//! window's feasible count; the statistics of a column, the feasible count and the window's
//! best are kept and re-used while neither the column nor the feasibility mask changed.
//! Validity and feasibility are a product of 0/1 tests, kept as a scalar gate and a column
//! mask, so a scalar test (e.g. positive throughput) never forces a column to be rebuilt.
//!
//! This module owns the layout of windows, the kernel and its window loop; `run`
//! running a step (the tape itself is `backend::tape`), `reduce` the reductions.

mod montecarlo;
mod reduce;
mod run;

pub use montecarlo::MonteCarloKernel;

use super::tape::trace::{trace, value_ok, Traced};
use super::tape::{bounds, Mask, Slot, Step, Val};
use crate::grid::Grid;
use crate::model::Metric;
use crate::plan::SweepPlan;
use crate::reduce::Reductions;
use reduce::{derivable, Derived, ReduceCache};
use run::ScalarStep;
use std::ops::Range;

/// Most configurations in one window.
const W: usize = 512;
/// Inner axes are added (from the last) until their product reaches this.
const MIN_INNER: u64 = 32;

/// How the grid splits into outer and inner axes.
struct Layout {
    /// First inner axis (axes `inner..` vary inside a window).
    inner: usize,
    /// Configurations per inner block (product of the inner axes' lengths).
    block: u64,
    /// Bits of the inner axes.
    inner_bits: u64,
    /// Per axis, 1.0 where the value is inside its parameter's valid range, else 0.0
    /// (decided in f64 once; checks that involve the accelerator are traced as steps).
    value_ok: Vec<Vec<f64>>,
    /// Indices of the metrics that apply to the scenario (stats are kept for these).
    metrics: Vec<usize>,
    /// `best_by` group multiplier per axis (0 when not a group axis).
    group_mult: Vec<usize>,
    /// Whether some group axis is inner.
    group_inner: bool,
    /// Heatmap cell multiplier per axis (0 when not a heatmap axis), and whether a heatmap
    /// axis is inner.
    heat_mult: Vec<usize>,
    heat_inner: bool,
}

impl Layout {
    fn new(plan: &SweepPlan) -> Layout {
        let s = &plan.scenario;
        let lens = &plan.grid.lens;
        let (inner, block) = Grid::inner_block(lens, MIN_INNER);
        let value_ok = value_ok(plan);
        let mut group_mult = vec![0usize; lens.len()];
        let mut mult = 1usize;
        for &k in plan.group_axes.iter().rev() {
            group_mult[k] = mult;
            mult *= lens[k] as usize;
        }
        Layout {
            inner,
            block,
            inner_bits: (inner..lens.len()).fold(0, |m, k| m | 1 << k),
            value_ok,
            metrics: Metric::ALL
                .iter()
                .filter(|m| m.applies(&s.workload))
                .map(|&m| m as usize)
                .collect(),
            group_mult,
            group_inner: plan.group_count > 1 && plan.group_axes.iter().any(|&k| k >= inner),
            heat_mult: plan.heatmap_mult(),
            heat_inner: plan.heatmap.is_some_and(|h| h.x >= inner || h.y >= inner),
        }
    }
}

/// The CPU kernel of one plan: traced once, shared by every thread of a sweep.
pub struct StagedKernel {
    layout: Layout,
    traced: Traced,
    /// The steps to run for a window, indexed by `2 * k + s`: `k` is the first outer axis
    /// that changed since the window before (`inner` when none did) and `s` whether the
    /// window's span of the inner block changed (its inner columns then change too).
    runs: Vec<Run>,
    /// Scalar metrics whose statistics are kept: (metric, scalar slot, axes).
    scalar_metrics: Vec<(usize, u32, u64)>,
    /// Column metrics whose statistics are kept.
    column_metrics: Vec<(usize, Val)>,
    /// Column metrics whose statistics follow from another column's (their step is not
    /// run unless that fails).
    derived: Vec<Derived>,
    /// The column steps only [`Traced::feasible`] reads (the finiteness tests of column
    /// values and their product), in tape order: run only in the windows where a metric is
    /// not finite somewhere inside [`Traced::feasible_unless_finite`] (`reduce`). The
    /// scalar steps only it reads (the finiteness tests of scalars) never run: the kernel
    /// reads the scalar metrics' values instead (`scalar_metric_slots`).
    finite_steps: Vec<Step>,
    /// The mask the windows that run `finite_steps` are reduced over: the gate of
    /// [`Traced::feasible_unless_finite`] and the column of [`Traced::feasible`].
    tested: Mask,
    /// The slots of the scalar metrics not proven finite, whose finiteness is read from
    /// their values once whenever an axis in `scalar_metric_deps` changed (a window where
    /// one is not finite has nothing feasible).
    scalar_metric_slots: Vec<u32>,
    /// The axes the scalar metrics depend on, and [`reduce::FIRST`].
    scalar_metric_deps: u64,
    /// Bit `m` set where metric `m` is finite at every configuration of the plan, proven
    /// at plan time from interval bounds over the tape ([`bounds::proven_finite`]): its
    /// finiteness is never read.
    proven_finite: u64,
    /// Whether every column metric is proven finite: no window reads their statistics for
    /// it, nor runs `finite_steps`.
    columns_proven_finite: bool,
    /// Whether every column metric's finiteness can be read from the statistics the
    /// kernel keeps (a column metric or a derived one); where not, every window runs
    /// `finite_steps`.
    finite_check_complete: bool,
    /// Per axis of the kernel's plan, its stride in the scenario's flat index (the
    /// contract): configurations are reported by that index whatever order the kernel
    /// walks the axes in ([`StagedKernel::in_order`]).
    scenario_strides: Vec<u64>,
    /// Whether an inner-block position is also the low part of the scenario index (the
    /// inner axes are the scenario's last axes, in its order).
    inner_contiguous: bool,
}

/// The steps of one kind of window: every scalar step first (a scalar never depends on a
/// column), then the column steps, each list in tape order.
struct Run {
    /// Bits of the axes that changed ([`Layout::changed_bits`]).
    changed: u64,
    scalar: Vec<ScalarStep>,
    column: Vec<Step>,
}

impl StagedKernel {
    /// The kernel of `plan`, walking its axes in their order.
    pub fn new(plan: &SweepPlan) -> StagedKernel {
        StagedKernel::walking(plan, plan.grid.strides.clone())
    }

    /// The kernel walking `plan`'s axes in `order` (`order[e]` is the scenario axis at
    /// position `e`, see [`evaluation_order`]), and the permuted plan it evaluates ranges
    /// of. Whole-grid ranges only: a range of the permuted plan is not a range of scenario
    /// indices. Reported configurations carry scenario indices, and ties still go to the
    /// lowest scenario index: the inner axes keep their scenario order, so within a window
    /// the scenario index grows with the position.
    pub fn in_order(plan: &SweepPlan, order: &[usize]) -> (SweepPlan, StagedKernel) {
        let walked = plan.permuted(order);
        let strides = order.iter().map(|&k| plan.grid.strides[k]).collect();
        let kernel = StagedKernel::walking(&walked, strides);
        (walked, kernel)
    }

    fn walking(plan: &SweepPlan, scenario_strides: Vec<u64>) -> StagedKernel {
        StagedKernel::walking_with(plan, scenario_strides, true)
    }

    /// [`Self::walking`], proving metrics finite from interval bounds where `bounds` (tests
    /// compare with the kernel that does not).
    fn walking_with(plan: &SweepPlan, scenario_strides: Vec<u64>, bounds: bool) -> StagedKernel {
        let layout = Layout::new(plan);
        let traced = trace(plan, layout.inner, &layout.value_ok);
        let proven_finite = if bounds {
            proven_finite_metrics(plan, &traced)
        } else {
            0
        };
        let finite_only = finite_only_steps(&traced);
        let finite_steps: Vec<Step> = finite_only
            .iter()
            .filter(|st| ScalarStep::of(st).is_none())
            .copied()
            .collect();
        let mut runs = Vec::new();
        for k in 0..=layout.inner {
            for span in [false, true] {
                let changed = layout.changed_bits(k, span);
                let steps = traced
                    .tracer
                    .steps
                    .iter()
                    .filter(|st| st.deps & changed != 0);
                runs.push(Run {
                    changed,
                    scalar: steps
                        .clone()
                        .filter(|st| !finite_only.iter().any(|f| f.out == st.out))
                        .filter_map(ScalarStep::of)
                        .collect(),
                    column: steps
                        .filter(|st| ScalarStep::of(st).is_none())
                        .copied()
                        .collect(),
                });
            }
        }
        let derived = derivable(plan, &traced);
        for run in &mut runs {
            run.column.retain(|st| {
                !derived.iter().any(|d| d.step.out == st.out)
                    && !finite_steps.iter().any(|f| f.out == st.out)
            });
        }
        let (mut scalar_metrics, mut column_metrics) = (Vec::new(), Vec::new());
        for &mi in &layout.metrics {
            match traced.metrics[mi] {
                Some(Val {
                    slot: Slot::Scalar(i),
                    deps,
                }) => scalar_metrics.push((mi, i, deps)),
                Some(_) if derived.iter().any(|d| d.metric == mi) => {}
                Some(v) => column_metrics.push((mi, v)),
                None => {}
            }
        }
        let column_metric = |m: &Option<Val>| m.is_some_and(|v| matches!(v.slot, Slot::Column(_)));
        let proven = |mi: usize| proven_finite & 1 << mi != 0;
        let finite_check_complete = traced.metrics.iter().enumerate().all(|(mi, m)| {
            !column_metric(m)
                || proven(mi)
                || column_metrics.iter().any(|&(c, _)| c == mi)
                || derived.iter().any(|d| d.metric == mi)
        });
        let columns_proven_finite = traced
            .metrics
            .iter()
            .enumerate()
            .all(|(mi, m)| !column_metric(m) || proven(mi));
        let mut scalar_metric_slots = Vec::new();
        let mut scalar_metric_deps = reduce::FIRST;
        for (mi, m) in traced.metrics.iter().enumerate() {
            let Some(v) = m.filter(|_| !proven(mi)) else {
                continue;
            };
            if let Slot::Scalar(i) = v.slot {
                if !scalar_metric_slots.contains(&i) {
                    scalar_metric_slots.push(i);
                }
                scalar_metric_deps |= v.deps;
            }
        }
        let tested = Mask {
            gate: traced.feasible_unless_finite.gate,
            col: traced.feasible.col,
        };
        let inner_contiguous = (layout.inner..plan.grid.lens.len())
            .all(|k| scenario_strides[k] == plan.grid.strides[k]);
        StagedKernel {
            layout,
            traced,
            runs,
            scalar_metrics,
            column_metrics,
            derived,
            finite_steps,
            tested,
            scalar_metric_slots,
            scalar_metric_deps,
            proven_finite,
            columns_proven_finite,
            finite_check_complete,
            scenario_strides,
            inner_contiguous,
        }
    }

    /// The scenario-index part of inner-block position `p`.
    #[inline(always)]
    fn inner_index(&self, plan: &SweepPlan, p: u64) -> u64 {
        if self.inner_contiguous {
            return p;
        }
        let g = &plan.grid;
        (self.layout.inner..g.lens.len())
            .map(|k| (p / g.strides[k]) % g.lens[k] * self.scenario_strides[k])
            .sum()
    }

    /// Evaluate and reduce one contiguous range on the calling thread (with AVX2 where the
    /// processor has it; the same operations, so the same results).
    pub fn eval_range(&self, plan: &SweepPlan, range: Range<u64>) -> Reductions {
        self.dispatch::<true>(plan, range)
    }

    /// [`Self::eval_range`] reducing only the counts (evaluated, invalid, feasible): for
    /// measuring what the other reductions (best, groups, Pareto bins, statistics) cost.
    pub fn eval_range_counts_only(&self, plan: &SweepPlan, range: Range<u64>) -> Reductions {
        self.dispatch::<false>(plan, range)
    }

    fn dispatch<const FULL: bool>(&self, plan: &SweepPlan, range: Range<u64>) -> Reductions {
        #[cfg(target_arch = "x86_64")]
        if std::arch::is_x86_feature_detected!("avx2") {
            // SAFETY: the processor supports AVX2 (checked just above).
            return unsafe { self.eval_avx2::<FULL>(plan, range) }.0;
        }
        self.eval::<FULL>(plan, range).0
    }

    #[cfg(target_arch = "x86_64")]
    #[target_feature(enable = "avx2")]
    unsafe fn eval_avx2<const FULL: bool>(
        &self,
        plan: &SweepPlan,
        range: Range<u64>,
    ) -> (Reductions, u64) {
        self.eval::<FULL>(plan, range)
    }

    /// The reductions of `range`, and the number of windows that ran the
    /// per-configuration finiteness tests.
    #[inline(always)]
    fn eval<const FULL: bool>(&self, plan: &SweepPlan, range: Range<u64>) -> (Reductions, u64) {
        let layout = &self.layout;
        let grid = &plan.grid;
        let mut red = Reductions::empty(plan);
        let mut st = State {
            scalars: self.traced.tracer.scalars.clone(),
            cols: vec![vec![0.0; W]; self.traced.tracer.columns as usize],
            digits: vec![0; grid.lens.len()],
            pareto_memo: (f64::NAN, 0),
            cache: ReduceCache::default(),
            outer_index: 0,
            finite_tested_windows: 0,
            scalar_metrics_finite: true,
            scalar_metrics_stale: u64::MAX,
        };
        let mut idx = range.start;
        grid.decode(idx, &mut st.digits);
        // The first window computes everything.
        let mut k = 0usize;
        let mut span = (u64::MAX, 0usize);
        while idx < range.end {
            let j0 = idx % layout.block;
            let n = (layout.block - j0).min(W as u64).min(range.end - idx) as usize;
            let span_changed = span != (j0, n);
            span = (j0, n);
            for ax in k..layout.inner {
                let (value, ok) = self.traced.axis_slots[ax];
                let d = st.digits[ax] as usize;
                st.scalars[value as usize] = plan.scenario.axes[ax].values[d];
                st.scalars[ok as usize] = layout.value_ok[ax][d];
            }
            if k < layout.inner {
                st.outer_index = (0..layout.inner)
                    .map(|ax| st.digits[ax] * self.scenario_strides[ax])
                    .sum();
            }
            let run = &self.runs[2 * k + span_changed as usize];
            for step in &run.scalar {
                self.run_scalar(&mut st, step);
            }
            for step in &run.column {
                self.run_column(plan, &mut st, step, j0, n);
            }
            self.reduce::<FULL>(plan, &mut st, run.changed, j0, n, &mut red);
            idx += n as u64;
            k = if j0 + n as u64 == layout.block {
                advance_outer(&mut st.digits[..layout.inner], &grid.lens)
            } else {
                layout.inner
            };
        }
        (red, st.finite_tested_windows)
    }
}

impl Layout {
    /// Bits of the axes that change when outer axis `k` turns (axes `k..inner`; `inner`
    /// = none), plus the inner axes when the window's span changed.
    fn changed_bits(&self, k: usize, span: bool) -> u64 {
        let outer = (k..self.inner).fold(0u64, |m, a| m | 1 << a);
        outer | if span { self.inner_bits } else { 0 }
    }
}

/// The steps of `traced`'s tape that only [`Traced::feasible`] reads (its finiteness
/// tests, of scalars and of columns, and their products): not the metrics, nor the
/// validity mask, nor [`Traced::feasible_unless_finite`].
fn finite_only_steps(traced: &Traced) -> Vec<Step> {
    let t = &traced.tracer;
    let read = read_by(traced, traced.feasible_unless_finite);
    (0..t.steps.len())
        .filter(|i| !read.contains(i))
        .map(|i| t.steps[i])
        .collect()
}

/// The indices of the steps that the metrics, the validity mask and `feasible` read.
fn read_by(traced: &Traced, feasible: Mask) -> std::collections::HashSet<usize> {
    let mut roots: Vec<Slot> = traced.metrics.iter().flatten().map(|v| v.slot).collect();
    for m in [traced.valid, feasible] {
        roots.push(m.gate.slot);
        roots.extend(m.col.map(|c| c.slot));
    }
    traced.tracer.reached(&roots)
}

/// Bit `m` set for each metric `m` that interval bounds over `traced` prove finite at every
/// configuration of `plan` ([`bounds::proven_finite`]).
fn proven_finite_metrics(plan: &SweepPlan, traced: &Traced) -> u64 {
    let v = bounds::intervals(plan, traced);
    let mut bits = 0u64;
    for (mi, m) in traced.metrics.iter().enumerate() {
        if m.is_some_and(|m| bounds::proven_finite(&traced.tracer, &v, m.slot)) {
            bits |= 1 << mi;
        }
    }
    bits
}

/// Move the outer axes to the next inner block, like an odometer; returns the first
/// (outermost) axis that changed.
#[inline(always)]
pub(super) fn advance_outer(digits: &mut [u64], lens: &[u64]) -> usize {
    let mut ax = digits.len();
    while ax > 0 {
        ax -= 1;
        digits[ax] += 1;
        if digits[ax] < lens[ax] {
            return ax;
        }
        digits[ax] = 0;
    }
    0
}

/// Per-thread working state.
struct State {
    scalars: Vec<f64>,
    cols: Vec<Vec<f64>>,
    digits: Vec<u64>,
    /// The last scalar facility power and its Pareto bin.
    pareto_memo: (f64, usize),
    cache: ReduceCache,
    /// The scenario-index part of the outer axes' positions.
    outer_index: u64,
    /// Windows that ran the per-configuration finiteness tests.
    finite_tested_windows: u64,
    /// Whether every scalar metric is finite, and the axes changed since that was read.
    scalar_metrics_finite: bool,
    scalar_metrics_stale: u64,
}

/// An order to walk `plan`'s axes in that makes the least work for the CPU kernel: the
/// axes that the most steps of the tape depend on outermost (they change least often),
/// ties in scenario order; the last axes, which vary inside a window, are then put back
/// in scenario order (so ties still go to the lowest scenario index).
pub fn evaluation_order(plan: &SweepPlan) -> Vec<usize> {
    let lens = &plan.grid.lens;
    let n = lens.len();
    let traced = trace(plan, n, &value_ok(plan));
    // The steps of the metrics, the validity mask and `feasible`: with every axis outer,
    // the finiteness tests are all in `feasible`'s gate, and counting them keeps the walk
    // order of the kernel that ran them in every window (the summaries no longer depend on
    // it: sums are exact). `feasible_unless_finite`'s own gate is not counted.
    let t = &traced.tracer;
    let counted = read_by(&traced, traced.feasible);
    let readers = |k: usize| {
        counted
            .iter()
            .filter(|&&i| t.steps[i].deps & (1 << k) != 0)
            .count()
    };
    let counts: Vec<usize> = (0..n).map(readers).collect();
    let mut order: Vec<usize> = (0..n).collect();
    order.sort_by_key(|&k| (std::cmp::Reverse(counts[k]), k));
    // The inner axes (as Layout::new will choose them), back in scenario order.
    let walked: Vec<u64> = order.iter().map(|&k| lens[k]).collect();
    let (inner, _) = Grid::inner_block(&walked, MIN_INNER);
    order[inner..].sort_unstable();
    order
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::catalog::Catalog;
    use crate::scenario::Scenario;

    fn derived_metrics(text: Option<&str>) -> Vec<&'static str> {
        let catalog = Catalog::builtin().expect("built-in catalog");
        let s = match text {
            Some(t) => Scenario::parse("test.toml", t, &catalog),
            None => Scenario::builtin_default(&catalog),
        };
        let plan = SweepPlan::new(s.expect("scenario"), None).expect("plan");
        let k = StagedKernel::new(&plan);
        k.derived
            .iter()
            .map(|d| Metric::ALL[d.metric].name())
            .collect()
    }

    fn plan_of(text: Option<&str>) -> SweepPlan {
        let catalog = Catalog::builtin().expect("built-in catalog");
        let s = match text {
            Some(t) => Scenario::parse("test.toml", t, &catalog),
            None => Scenario::builtin_default(&catalog),
        };
        SweepPlan::new(s.expect("scenario"), None).expect("plan")
    }

    /// The kernel's reductions of `range` and the windows that ran the finiteness tests,
    /// with the bounds and the window check (`reduce::finite_over`), and with neither: the
    /// per-configuration tests in every window that has a feasible configuration.
    fn both_ways(plan: &SweepPlan, range: Range<u64>) -> ((Reductions, u64), (Reductions, u64)) {
        let checked = StagedKernel::new(plan);
        let mut tested = StagedKernel::walking_with(plan, plan.grid.strides.clone(), false);
        assert!(
            !tested.finite_steps.is_empty(),
            "the plan has column finiteness tests"
        );
        tested.finite_check_complete = false;
        (
            checked.eval::<true>(plan, range.clone()),
            tested.eval::<true>(plan, range),
        )
    }

    /// Configurations of `plan` feasible in the f64 model, and its best index.
    fn model_feasible(plan: &SweepPlan) -> (u64, Option<u64>) {
        let s = &plan.scenario;
        let mut feasible = 0;
        let mut best: Option<(f64, u64)> = None;
        for i in 0..plan.grid.size {
            let (c, a) = s.resolve(&s.values_at_index(i));
            let e = crate::model::evaluate(&c, a, &s.workload);
            if crate::model::is_feasible(&e, &s.constraints) {
                feasible += 1;
                let v = e.metrics[s.objective.metric as usize];
                if best.is_none_or(|(b, bi)| s.objective.beats(v, i, b, bi)) {
                    best = Some((v, i));
                }
            }
        }
        (feasible, best.map(|b| b.1))
    }

    /// A scenario of two accelerators over four fleet sizes and the axis `third` (its line),
    /// the H100's peak so large that its fleet's FLOP overflows (from 2000 accelerators
    /// on; over the horizon, on every size).
    fn huge_h100_peak(third: &str) -> String {
        format!(
            "name = \"t\"\n[axes]\naccelerator = [\"H100-SXM\", \"B200\"]\n\
             gpu_count = [1000, 2000, 3000, 4000]\n{third}\n\
             [accelerators.H100-SXM]\npeak_tflops = {{ bf16 = 1e293 }}\n"
        )
    }

    #[test]
    fn where_every_metric_is_finite_no_window_runs_the_tests_and_results_are_the_same() {
        // The default scenario: every window's statistics are finite, so no window runs
        // the per-configuration tests, and every reduction is bit for bit the one with the
        // tests run in every window.
        let plan = plan_of(None);
        let ((checked, windows), (tested, all)) = both_ways(&plan, 0..3_000_000);
        assert_eq!(windows, 0);
        assert!(all > 1000, "{all} windows tested");
        assert!(checked.feasible > 0);
        assert_eq!(format!("{checked:?}"), format!("{tested:?}"));
    }

    #[test]
    fn where_a_metric_overflows_the_tests_run_and_drop_exactly_those_configurations() {
        // One accelerator's peak is so large that its fleet's peak, a column over the fleet
        // sizes, overflows to +inf from 2000 accelerators on (and its FLOP over the
        // horizon on every size): that accelerator's window fails the check and runs the
        // tests, the other's does not.
        let text = huge_h100_peak("utilization = { from = 0.3, to = 0.5, steps = 10 }");
        let plan = plan_of(Some(&text));
        let ((checked, windows), (tested, _)) = both_ways(&plan, 0..plan.grid.size);
        assert_eq!(windows, 1, "the H100's window ran the tests");
        assert_eq!(format!("{checked:?}"), format!("{tested:?}"));
        assert_eq!(checked.feasible, 40, "only the B200's configurations");
        let (feasible, best) = model_feasible(&plan);
        assert_eq!(checked.feasible, feasible);
        assert_eq!(checked.best.map(|b| b.index), best);
    }

    #[test]
    fn a_scalar_metric_that_overflows_closes_its_windows_without_the_tests() {
        // The inner axis (the carbon intensity) changes only the CO2 metrics, so the
        // throughput is a scalar per window: on the H100, whose peak is huge, it overflows
        // to +inf from 2000 accelerators on (its FLOP over the horizon, also a scalar, on
        // every count). Those windows hold nothing feasible (and the infinite throughput is
        // not the best), read from the scalars' values: no window runs the
        // per-configuration tests.
        let text = huge_h100_peak("carbon_kg_per_kwh = { from = 0.1, to = 0.5, steps = 40 }");
        let plan = plan_of(Some(&text));
        let kernel = StagedKernel::new(&plan);
        assert_eq!(kernel.layout.inner, 2, "only the carbon intensity is inner");
        let tput = kernel.traced.metrics[Metric::ThroughputPflops as usize];
        assert!(matches!(tput.map(|v| v.slot), Some(Slot::Scalar(_))));
        let (red, windows) = kernel.eval::<true>(&plan, 0..plan.grid.size);
        assert_eq!(windows, 0);
        let (feasible, best) = model_feasible(&plan);
        // The H100's FLOP over the horizon overflows at every count.
        assert_eq!(feasible, 4 * 40, "only the B200's configurations");
        assert_eq!(red.feasible, feasible);
        assert_eq!(red.best.map(|b| b.index), best);
        let best = red.best.expect("a best configuration");
        assert!(best.objective.is_finite(), "{best:?}");
        let max = red.stats[Metric::ThroughputPflops as usize].max;
        assert!(max.is_finite(), "{max}");
    }

    #[test]
    fn a_window_whose_sum_overflows_runs_the_tests_and_keeps_its_finite_configurations() {
        // Utilizations so small that the cost per EFLOP (the objective, a column) is near
        // the largest f64 on every configuration: each value is finite, their sum over a
        // window is not. The window runs the per-configuration tests, which keep them all.
        let text = r#"
name = "t"
[fixed]
accelerator = "H100-SXM"
gpu_count = 1000
[axes]
utilization = { from = 4e-308, to = 8e-308, steps = 64 }
[objective]
metric = "usd_per_eflop"
"#;
        let plan = plan_of(Some(text));
        let (feasible, best) = model_feasible(&plan);
        assert_eq!(feasible, plan.grid.size, "every configuration is finite");
        // Finite, but beyond the margin the bounds accept: not proven.
        let proven = StagedKernel::new(&plan).proven_finite;
        assert_eq!(proven & 1 << Metric::UsdPerEflop as usize, 0);
        let ((checked, windows), (tested, _)) = both_ways(&plan, 0..plan.grid.size);
        assert!(
            windows > 0,
            "the overflowing sum sent the window to the tests"
        );
        assert_eq!(format!("{checked:?}"), format!("{tested:?}"));
        assert_eq!(checked.feasible, feasible);
        assert_eq!(checked.best.map(|b| b.index), best);
        let sum = checked.stats[Metric::UsdPerEflop as usize].sum.value();
        assert!(sum.is_infinite(), "the sum overflows: {sum}");
    }

    #[test]
    fn metrics_proven_finite_by_the_bounds_are_finite_everywhere_and_change_no_result() {
        // Small grids, tame and hostile: every metric the kernel proves finite at plan time
        // is finite at every configuration of the f64 model (valid or not), and the
        // kernel's reductions equal those without the bounds (the per-configuration tests
        // in every window) bit for bit, and the f64 model's feasible count and best.
        let huge_peak = huge_h100_peak("utilization = { from = 0.3, to = 0.5, steps = 10 }");
        let grids = [
            // Tame: every value in range.
            r#"
name = "t"
[axes]
accelerator = ["H100-SXM", "B200"]
gpu_count = [1000, 2000, 3000, 4000]
utilization = { from = 0.3, to = 0.5, steps = 10 }
"#,
            // Capital cost overflows from 2000 accelerators on (a scalar per window here).
            r#"
name = "t"
[fixed]
gpu_price_usd = 1e305
[axes]
accelerator = ["H100-SXM", "B200"]
gpu_count = [1000, 2000, 3000, 4000]
utilization = { from = 0.3, to = 0.5, steps = 40 }
"#,
            // The fleet's FLOP overflows on one accelerator (columns).
            huge_peak.as_str(),
            // Values that are finite but beyond the margin, and utilizations through 0.
            r#"
name = "t"
[fixed]
accelerator = "H100-SXM"
[axes]
gpu_count = [1, 1000]
utilization = { from = 0.0, to = 1e-300, steps = 40 }
"#,
        ];
        let (mut proven, mut unproven) = (0, 0);
        for text in grids {
            let plan = plan_of(Some(text));
            let kernel = StagedKernel::new(&plan);
            let s = &plan.scenario;
            for i in 0..plan.grid.size {
                let (c, a) = s.resolve(&s.values_at_index(i));
                let e = crate::model::evaluate(&c, a, &s.workload);
                for (mi, m) in kernel.traced.metrics.iter().enumerate() {
                    if m.is_some() && kernel.proven_finite & 1 << mi != 0 {
                        let x = e.metrics[mi];
                        let name = Metric::ALL[mi].name();
                        assert!(x.is_finite(), "{name} = {x} at {i}, proven finite:\n{text}");
                    }
                }
            }
            let metrics = kernel.traced.metrics.iter().flatten().count() as u32;
            proven += kernel.proven_finite.count_ones();
            unproven += metrics - kernel.proven_finite.count_ones();
            let without = StagedKernel::walking_with(&plan, plan.grid.strides.clone(), false);
            let (with, _) = kernel.eval::<true>(&plan, 0..plan.grid.size);
            let (without, _) = without.eval::<true>(&plan, 0..plan.grid.size);
            assert_eq!(format!("{with:?}"), format!("{without:?}"), "{text}");
            let (feasible, best) = model_feasible(&plan);
            assert_eq!(with.feasible, feasible, "{text}");
            assert_eq!(with.best.map(|b| b.index), best, "{text}");
        }
        assert!(
            proven > 0 && unproven > 0,
            "{proven} proven, {unproven} not"
        );
    }

    #[test]
    fn the_default_scenario_reads_no_scalar_finiteness_per_window() {
        // The bounds prove every scalar metric of the default scenario finite; the cost per
        // EFLOP divides by a FLOP that is 0 where the goodput is, so it is not proven and
        // its statistics are still read (`reduce::finite_over`).
        let plan = plan_of(None);
        let kernel = StagedKernel::new(&plan);
        assert!(kernel.scalar_metric_slots.is_empty());
        assert_eq!(kernel.proven_finite & 1 << Metric::UsdPerEflop as usize, 0);
        assert!(!kernel.columns_proven_finite);
        let without = StagedKernel::walking_with(&plan, plan.grid.strides.clone(), false);
        assert!(!without.scalar_metric_slots.is_empty());
    }

    // Whether the results are right is tested against the scalar model in
    // tests/core_sweep.rs; these check that the derivation applies where it should.

    #[test]
    fn the_default_scenario_derives_the_cost_per_flop() {
        let derived = derived_metrics(None);
        // Each a column divided by a window scalar: the cost per EFLOP (by the horizon's
        // FLOP), its levelized version (by the present FLOP) and the cost per deployed
        // accelerator-hour.
        assert_eq!(
            derived,
            [
                "usd_per_eflop",
                "levelized_usd_per_eflop",
                "usd_per_gpu_hour"
            ]
        );
    }

    #[test]
    fn metrics_read_by_the_objective_or_a_step_are_not_derived() {
        let derived = derived_metrics(Some(
            r#"
name = "t"
objective = { metric = "usd_per_eflop" }
workload = { train_flop = 5e24 }
fixed = { accelerator = "GB200" }
[axes]
carbon_kg_per_kwh = [0.3, 0.1]
gpu_count = { from = 512, to = 8192, steps = 33 }
"#,
        ));
        // usd_per_eflop is the objective and train_cost_usd reads it; facility_mw places
        // Pareto bins.
        assert!(derived.contains(&"train_co2_t"), "{derived:?}");
        assert!(derived.contains(&"it_mw"), "{derived:?}");
        for read in ["usd_per_eflop", "facility_mw", "train_days"] {
            assert!(!derived.contains(&read), "{read} in {derived:?}");
        }
    }
}
