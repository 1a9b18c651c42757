//! The kernel's reductions per window: counts, statistics, best, groups, heatmap cells and
//! Pareto bins;
//! what is re-used from the window before ([`ReduceCache`]); and statistics derived from
//! another column ([`Derived`]).

use super::{StagedKernel, State, W};
use crate::backend::tape::trace::Traced;
use crate::backend::tape::{Mask, Slot, Step, TapeOp, Val};
use crate::exact_sum::{window_sum, window_sum_any, WindowSum};
use crate::model::Op;
use crate::model::{Metric, METRIC_COUNT};
use crate::plan::SweepPlan;
use crate::reduce::{offer, Candidate, Reductions};

/// Min, max and sum of a column over a window's mask: the sum in `f64` (`sum`, which is
/// finite only if every value is) and exactly (`exact`, what goes into [`Reductions`]).
#[derive(Clone, Debug)]
pub(super) struct WindowStats {
    pub(super) min: f64,
    pub(super) max: f64,
    pub(super) sum: f64,
    pub(super) exact: WindowSum,
}

impl Default for WindowStats {
    fn default() -> Self {
        WindowStats {
            min: f64::INFINITY,
            max: f64::NEG_INFINITY,
            sum: 0.0,
            exact: WindowSum::default(),
        }
    }
}

/// A column metric `base * s` or `base / s` (`s` a positive scalar) that nothing else
/// reads. Rounding is monotone, so over any mask `min(base * s) = min(base) * s` and the
/// same for the maximum, exactly. The sum is the exact sum of `base * c` (`c` = `s`, or
/// `1 / s` for a division), each product exact: within a unit in the last place or two of
/// each term of the column's sum, and the same whatever windows the grid was cut into
/// (the terms depend on the configuration alone). So the column itself is never computed:
/// on the default scenario this is the cost per FLOP, a division per configuration saved.
/// Where `s` is not positive and finite, or the base has a negative or infinite value
/// among the feasible configurations, the step runs and the statistics are taken from the
/// column (a NaN goes into the sum and is skipped by min and max on both paths alike).
#[derive(Clone, Copy, Debug)]
pub(super) struct Derived {
    pub(super) metric: usize,
    pub(super) step: Step,
    pub(super) base: Val,
    pub(super) scale: u32,
    /// Whether the step divides by the scalar (else it multiplies).
    pub(super) divides: bool,
}

impl Derived {
    /// The derived step's operation on a base value and the scalar, where the derivation
    /// holds (`s` positive and finite, so [`Op::DivOrInf`] is the division): the same
    /// operation as the step's, inline.
    #[inline(always)]
    fn apply(&self, base: f64, scalar: f64) -> f64 {
        if self.divides {
            base / scalar
        } else {
            base * scalar
        }
    }

    /// What the sum of the base is multiplied by: `s`, or `1 / s` for a division; `None`
    /// where that is not finite (the sum is then the column's).
    #[inline]
    fn factor(&self, scalar: f64) -> Option<f64> {
        let c = if self.divides { 1.0 / scalar } else { scalar };
        c.is_finite().then_some(c)
    }

    pub(super) fn step_out(&self) -> Val {
        Val {
            slot: self.step.out,
            deps: self.step.deps,
        }
    }
}

/// The column metrics whose statistics can follow from another column's (see [`Derived`]).
pub(super) fn derivable(plan: &SweepPlan, traced: &Traced) -> Vec<Derived> {
    let steps = &traced.tracer.steps;
    // Columns read by a step, a mask, the objective or the Pareto bins.
    let mut read: Vec<Slot> = steps.iter().flat_map(|st| [st.a, st.b, st.c]).collect();
    read.extend(
        [
            traced.valid.col,
            traced.feasible.col,
            traced.feasible_unless_finite.col,
        ]
        .iter()
        .flatten()
        .map(|v| v.slot),
    );
    for m in [plan.scenario.objective.metric, Metric::FacilityMw] {
        read.extend(traced.metrics[m as usize].map(|v| v.slot));
    }
    let mut derived = Vec::new();
    for (mi, m) in traced.metrics.iter().enumerate() {
        let Some(Val { slot: out, .. }) = m else {
            continue;
        };
        if !matches!(out, Slot::Column(_)) || read.contains(out) {
            continue;
        }
        let Some(step) = steps.iter().find(|st| st.out == *out) else {
            continue;
        };
        let (base, scale) = match (step.op, step.a, step.b) {
            (TapeOp::Arith(Op::Mul | Op::Div | Op::DivOrInf), Slot::Column(_), Slot::Scalar(s)) => {
                (step.a, s)
            }
            (TapeOp::Arith(Op::Mul), Slot::Scalar(s), Slot::Column(_)) => (step.b, s),
            _ => continue,
        };
        let Some(base) = steps.iter().find(|st| st.out == base).map(|st| Val {
            slot: base,
            deps: st.deps,
        }) else {
            continue;
        };
        derived.push(Derived {
            metric: mi,
            step: *step,
            base,
            scale,
            divides: step.op != TapeOp::Arith(Op::Mul),
        });
    }
    derived
}

// [`ReduceCache::not_finite`] has a bit per metric.
const _: () = assert!(METRIC_COUNT <= 64);

/// A bit no axis uses, set in the staleness of a fresh cache: a cached reduction is
/// computed at least once, even when it depends on no axis (a constant metric).
pub(super) const FIRST: u64 = 1 << 63;

/// Reductions of the window before, re-used while their inputs did not change.
pub(super) struct ReduceCache {
    /// Axes changed since the counts were last computed.
    pub(super) counts_stale: u64,
    /// Axes changed since the other reductions were last computed.
    pub(super) full_stale: u64,
    /// Axes changed since the statistics of the column metrics and the derived metrics'
    /// bases were last computed.
    pub(super) stats_stale: u64,
    /// Non-zero entries of the validity and feasibility column masks.
    pub(super) valid_col_count: usize,
    pub(super) feasible_col_count: usize,
    /// Statistics of each column metric over the feasibility column mask.
    pub(super) col_stats: [WindowStats; METRIC_COUNT],
    /// The offset in the window of the window's best feasible configuration.
    pub(super) best_offset: usize,
    /// Statistics of each derived metric's base column over the feasibility mask.
    pub(super) base_stats: [WindowStats; METRIC_COUNT],
    /// Per derived metric: whether this window computed its column (the derivation does
    /// not hold), and then the column's statistics.
    pub(super) derived_own: [Option<WindowStats>; METRIC_COUNT],
    /// Bit `m` set where metric `m` (a column or derived metric) is not finite somewhere
    /// inside the mask of the statistics: read from them when they are computed.
    pub(super) not_finite: u64,
    /// Scratch columns for masked statistics.
    pub(super) masked: [Vec<f64>; 3],
}

impl Default for ReduceCache {
    fn default() -> Self {
        ReduceCache {
            counts_stale: u64::MAX,
            full_stale: u64::MAX,
            stats_stale: u64::MAX,
            valid_col_count: 0,
            feasible_col_count: 0,
            col_stats: std::array::from_fn(|_| WindowStats::default()),
            best_offset: 0,
            base_stats: std::array::from_fn(|_| WindowStats::default()),
            derived_own: std::array::from_fn(|_| None),
            not_finite: 0,
            masked: [vec![0.0; W], vec![0.0; W], vec![0.0; W]],
        }
    }
}

impl ReduceCache {
    /// Record whether column metric `m`'s statistics over the window are finite.
    #[inline(always)]
    fn set_finite(&mut self, m: usize, finite: bool) {
        let bit = 1u64 << m;
        self.not_finite = self.not_finite & !bit | if finite { 0 } else { bit };
    }

    /// Nothing cached is re-used: the next reductions compute everything (after a window
    /// reduced over another mask).
    fn stale_all(&mut self) {
        self.counts_stale = u64::MAX;
        self.full_stale = u64::MAX;
        self.stats_stale = u64::MAX;
    }
}

impl StagedKernel {
    /// A traced scalar's current value.
    #[inline(always)]
    pub(super) fn scalar(st: &State, v: Val) -> f64 {
        match v.slot {
            Slot::Scalar(i) => st.scalars[i as usize],
            Slot::Column(_) => unreachable!("a gate is scalar"),
        }
    }

    /// Configurations of the window inside a mask, re-counting its column only when it
    /// changed (`cached` holds the column's count).
    #[inline(always)]
    pub(super) fn mask_count(st: &State, mask: Mask, n: usize, cached: usize) -> usize {
        if Self::scalar(st, mask.gate) == 0.0 {
            0
        } else if mask.col.is_some() {
            cached
        } else {
            n
        }
    }

    /// Bring the statistics over `mask` up to date: each column metric's, each derived
    /// metric's base's (re-computed only where its column or the mask changed), and for a
    /// derived metric whose derivation does not hold in this window, its column's; and
    /// with them [`ReduceCache::not_finite`]: a column's sum is finite only if each of its
    /// values is (an infinity or NaN stays in the sum; a sum that overflows only sends the
    /// window to the per-configuration tests), and a derived metric `base * s` or
    /// `base / s` with `s > 0` is monotone in its base, so it is finite where its value at
    /// the base's maximum is. Nothing is done when no axis changed since the last call (the
    /// same window, the same mask).
    #[inline(always)]
    fn refresh_stats(&self, plan: &SweepPlan, st: &mut State, j0: u64, n: usize, mask: Mask) {
        let stale = st.cache.stats_stale;
        if stale == 0 {
            return;
        }
        let fcol = mask.col;
        let fdeps = fcol.map_or(0, |c| c.deps);
        for d in &self.derived {
            if (d.base.deps | fdeps | FIRST) & stale != 0 {
                let fmask = fcol.map(|c| column_of(&st.cols, c, n));
                st.cache.base_stats[d.metric] =
                    column_stats(column_of(&st.cols, d.base, n), fmask, &mut st.cache.masked);
            }
            let s = st.scalars[d.scale as usize];
            let b = &st.cache.base_stats[d.metric];
            // A non-negative base keeps the sum's error within about n ulps (no
            // cancellation); every base the model has today is non-negative when valid.
            if s > 0.0
                && s.is_finite()
                && b.min >= 0.0
                && b.max.is_finite()
                && d.factor(s).is_some()
            {
                st.cache.derived_own[d.metric] = None;
                let finite = b.sum.is_finite() && d.apply(b.max, s).is_finite();
                st.cache.set_finite(d.metric, finite);
                continue;
            }
            self.run_column(plan, st, &d.step, j0, n);
            let fmask = fcol.map(|c| column_of(&st.cols, c, n));
            let own = column_stats(
                column_of(&st.cols, d.step_out(), n),
                fmask,
                &mut st.cache.masked,
            );
            let finite = own.sum.is_finite();
            st.cache.derived_own[d.metric] = Some(own);
            st.cache.set_finite(d.metric, finite);
        }
        let cols = &st.cols;
        let cache = &mut st.cache;
        for &(mi, m) in &self.column_metrics {
            if (m.deps | fdeps | FIRST) & stale != 0 {
                let fmask = fcol.map(|c| column_of(cols, c, n));
                let stats = column_stats(column_of(cols, m, n), fmask, &mut cache.masked);
                let finite = stats.sum.is_finite();
                cache.col_stats[mi] = stats;
                cache.set_finite(mi, finite);
            }
        }
        cache.stats_stale = 0;
    }

    /// Bring the counts of the validity mask's and `feasible`'s columns up to date.
    #[inline(always)]
    fn refresh_counts(st: &mut State, valid: Mask, feasible: Mask, n: usize) {
        let cols = &st.cols;
        let cache = &mut st.cache;
        if cache.counts_stale != 0 {
            let stale = cache.counts_stale;
            let recount = |m: Option<Val>, cached: &mut usize| {
                if let Some(c) = m.filter(|c| c.deps & stale != 0) {
                    *cached = column_of(cols, c, n).iter().filter(|&&x| x != 0.0).count();
                }
            };
            recount(valid.col, &mut cache.valid_col_count);
            recount(feasible.col, &mut cache.feasible_col_count);
            cache.counts_stale = 0;
        }
    }

    /// Whether every column metric is finite on every configuration of the window inside
    /// [`Traced::feasible_unless_finite`], read from the metrics' statistics over it
    /// ([`Self::refresh_stats`], [`ReduceCache::not_finite`]). Scalar metrics are read
    /// from their values (`reduce`).
    #[inline(always)]
    fn finite_over(&self, plan: &SweepPlan, st: &mut State, j0: u64, n: usize) -> bool {
        let mask = self.traced.feasible_unless_finite;
        Self::refresh_counts(st, self.traced.valid, mask, n);
        if Self::mask_count(st, mask, n, st.cache.feasible_col_count) == 0 {
            return true;
        }
        if !self.finite_check_complete {
            return false;
        }
        self.refresh_stats(plan, st, j0, n, mask);
        st.cache.not_finite & !self.proven_finite == 0
    }

    /// The window's reductions. Nothing is feasible where a scalar metric is not finite
    /// (read from the scalar metrics' values, again only when an axis they depend on
    /// changed). Otherwise over [`Traced::feasible_unless_finite`] where every column
    /// metric is finite on it ([`Self::finite_over`], the usual case: its tests and the
    /// caches that depend on it are those of a mask without finiteness tests); otherwise
    /// the per-configuration finiteness tests run and the window is reduced over
    /// [`Traced::feasible`]'s column (`StagedKernel::tested`), with nothing cached re-used
    /// before or after.
    #[allow(clippy::too_many_arguments)]
    #[inline(always)]
    pub(super) fn reduce<const FULL: bool>(
        &self,
        plan: &SweepPlan,
        st: &mut State,
        changed: u64,
        j0: u64,
        n: usize,
        red: &mut Reductions,
    ) {
        let cache = &mut st.cache;
        cache.counts_stale |= changed;
        cache.full_stale |= changed;
        cache.stats_stale |= changed;
        st.scalar_metrics_stale |= changed;
        if st.scalar_metrics_stale & self.scalar_metric_deps != 0 {
            let scalars = &st.scalars;
            st.scalar_metrics_finite = self
                .scalar_metric_slots
                .iter()
                .all(|&i| scalars[i as usize].is_finite());
            st.scalar_metrics_stale = 0;
        }
        let mask = self.traced.feasible_unless_finite;
        if !st.scalar_metrics_finite {
            return self.reduce_over::<FULL>(plan, st, j0, n, red, mask, false);
        }
        if self.finite_steps.is_empty()
            || self.columns_proven_finite
            || self.finite_over(plan, st, j0, n)
        {
            return self.reduce_over::<FULL>(plan, st, j0, n, red, mask, true);
        }
        for step in &self.finite_steps {
            self.run_column(plan, st, step, j0, n);
        }
        st.finite_tested_windows += 1;
        st.cache.stale_all();
        self.reduce_over::<FULL>(plan, st, j0, n, red, self.tested, true);
        st.cache.stale_all();
    }

    /// The window's reductions over the feasibility mask `feasible`; nothing is feasible
    /// unless `open`.
    #[allow(clippy::too_many_arguments)]
    #[inline(always)]
    fn reduce_over<const FULL: bool>(
        &self,
        plan: &SweepPlan,
        st: &mut State,
        j0: u64,
        n: usize,
        red: &mut Reductions,
        feasible: Mask,
        open: bool,
    ) {
        let Traced { valid, metrics, .. } = &self.traced;
        let layout = &self.layout;
        let outer_index = st.outer_index;
        Self::refresh_counts(st, *valid, feasible, n);
        red.evaluated += n as u64;
        red.invalid += (n - Self::mask_count(st, *valid, n, st.cache.valid_col_count)) as u64;
        if !open {
            return;
        }
        let nf = Self::mask_count(st, feasible, n, st.cache.feasible_col_count);
        if nf == 0 {
            return;
        }
        red.feasible += nf as u64;
        if !FULL {
            return;
        }
        self.refresh_stats(plan, st, j0, n, feasible);
        for d in &self.derived {
            let stats = &mut red.stats[d.metric];
            let s = st.scalars[d.scale as usize];
            let b = &st.cache.base_stats[d.metric];
            let own = &st.cache.derived_own[d.metric];
            match own {
                Some(own) => {
                    stats.min = stats.min.min(own.min);
                    stats.max = stats.max.max(own.max);
                }
                None => {
                    stats.min = stats.min.min(d.apply(b.min, s));
                    stats.max = stats.max.max(d.apply(b.max, s));
                }
            }
            // The sum's terms depend on the configuration alone (not on whether this
            // window computed the column), so any split of the grid sums the same terms.
            match (d.factor(s), own) {
                (Some(c), _) => b.exact.add_times_to(c, &mut stats.sum),
                (None, Some(own)) => own.exact.add_to(&mut stats.sum),
                (None, None) => unreachable!("a derived metric without a finite factor runs"),
            }
        }
        let cols = &st.cols;
        let col = |v: Val| column_of(cols, v, n);
        let cache = &mut st.cache;
        let stale = cache.full_stale;
        cache.full_stale = 0;
        let fmask = feasible.col.map(col);
        let fdeps = feasible.col.map_or(0, |c| c.deps);

        // Statistics: a scalar metric once, weighted by the feasible count (its min and max
        // only when it changed); a column's statistics are re-computed only when it or the
        // mask changed.
        for &(mi, slot, deps) in &self.scalar_metrics {
            let x = st.scalars[slot as usize];
            let s = &mut red.stats[mi];
            if (deps | FIRST) & stale != 0 {
                s.min = s.min.min(x);
                s.max = s.max.max(x);
            }
            s.sum.add_times(x, nf as u64);
        }
        for &(mi, _) in &self.column_metrics {
            let (s, w) = (&mut red.stats[mi], &cache.col_stats[mi]);
            s.min = s.min.min(w.min);
            s.max = s.max.max(w.max);
            w.exact.add_to(&mut s.sum);
        }

        // The window's best feasible configuration (ties: lowest index).
        let objective = plan.scenario.objective;
        let Some(obj) = metrics[objective.metric as usize] else {
            return;
        };
        let is_feasible = |j: usize| fmask.is_none_or(|m| m[j] != 0.0);
        if (obj.deps | fdeps | FIRST) & stale != 0 {
            cache.best_offset = match obj.slot {
                Slot::Scalar(_) => (0..n).find(|&j| is_feasible(j)).unwrap_or(0),
                Slot::Column(_) => {
                    let xs = col(obj);
                    let mut best: Option<Candidate> = None;
                    for (j, &x) in xs.iter().enumerate() {
                        if is_feasible(j) {
                            let c = Candidate {
                                objective: x,
                                index: j as u64,
                            };
                            offer(&mut best, c, &objective);
                        }
                    }
                    best.map_or(0, |b| b.index as usize)
                }
            };
        }
        let objective_at = |j: usize| match obj.slot {
            Slot::Scalar(i) => st.scalars[i as usize],
            Slot::Column(_) => col(obj)[j],
        };
        let window_best = Candidate {
            objective: objective_at(cache.best_offset),
            index: outer_index + self.inner_index(plan, j0 + cache.best_offset as u64),
        };
        offer(&mut red.best, window_best, &objective);

        // Per group: constant over the window unless a group axis is inner.
        if plan.group_count == 1 {
            offer(&mut red.best_by[0], window_best, &objective);
            red.group_feasible[0] += nf as u64;
        } else if !layout.group_inner {
            let g: usize = st
                .digits
                .iter()
                .zip(&layout.group_mult)
                .map(|(&d, &m)| d as usize * m)
                .sum();
            offer(&mut red.best_by[g], window_best, &objective);
            red.group_feasible[g] += nf as u64;
        } else {
            let mut outer = 0usize;
            for (ax, &d) in st.digits.iter().enumerate().take(layout.inner) {
                outer += d as usize * layout.group_mult[ax];
            }
            let grid = &plan.grid;
            for j in (0..n).filter(|&j| is_feasible(j)) {
                let mut g = outer;
                for ax in layout.inner..grid.lens.len() {
                    let (stride, len) = (grid.strides[ax], grid.lens[ax]);
                    g += (((j0 + j as u64) / stride) % len) as usize * layout.group_mult[ax];
                }
                let c = Candidate {
                    objective: objective_at(j),
                    index: outer_index + self.inner_index(plan, j0 + j as u64),
                };
                offer(&mut red.best_by[g], c, &objective);
                red.group_feasible[g] += 1;
            }
        }

        // Per heatmap cell: like the groups, the best and the feasible count.
        if !red.heatmap.is_empty() {
            let mult = &layout.heat_mult;
            let mut outer = 0usize;
            for (ax, &d) in st.digits.iter().enumerate().take(layout.inner) {
                outer += d as usize * mult[ax];
            }
            if !layout.heat_inner {
                let cell = &mut red.heatmap[outer];
                offer(&mut cell.best, window_best, &objective);
                cell.feasible += nf as u64;
            } else {
                let grid = &plan.grid;
                for j in (0..n).filter(|&j| is_feasible(j)) {
                    let mut h = outer;
                    let inner_axes = grid.strides.iter().zip(&grid.lens).zip(mult);
                    for ((&stride, &len), &m) in inner_axes.skip(layout.inner) {
                        h += (((j0 + j as u64) / stride) % len) as usize * m;
                    }
                    let c = Candidate {
                        objective: objective_at(j),
                        index: outer_index + self.inner_index(plan, j0 + j as u64),
                    };
                    offer(&mut red.heatmap[h].best, c, &objective);
                    red.heatmap[h].feasible += 1;
                }
            }
        }

        // Per Pareto bin of facility power.
        let Some(fac) = metrics[Metric::FacilityMw as usize] else {
            return;
        };
        match fac.slot {
            Slot::Scalar(i) => {
                let fac = st.scalars[i as usize];
                let (last, last_bin) = st.pareto_memo;
                let bin = if fac == last {
                    last_bin
                } else {
                    let b = plan.pareto.bin(fac);
                    st.pareto_memo = (fac, b);
                    b
                };
                offer(&mut red.pareto[bin], window_best, &objective)
            }
            Slot::Column(_) => {
                let fac = col(fac);
                let mut last = f64::NAN;
                let mut bin = 0usize;
                for j in (0..n).filter(|&j| is_feasible(j)) {
                    if fac[j] != last {
                        last = fac[j];
                        bin = plan.pareto.bin(last);
                    }
                    let c = Candidate {
                        objective: objective_at(j),
                        index: outer_index + self.inner_index(plan, j0 + j as u64),
                    };
                    offer(&mut red.pareto[bin], c, &objective);
                }
            }
        }
    }
}

/// The first `n` values of a column.
#[inline(always)]
pub(super) fn column_of(cols: &[Vec<f64>], v: Val, n: usize) -> &[f64] {
    match v.slot {
        Slot::Column(i) => &cols[i as usize][..n],
        Slot::Scalar(_) => unreachable!("a column"),
    }
}

/// Min, max and sum (in `f64` and exactly) of a column where the mask is non-zero (all of
/// it without a mask). Element `i` goes to lane `i % 4` of four independent accumulators; a
/// masked-out value is first replaced by +inf, -inf or 0 in a separate pass, so every loop
/// is branch-free. The exact sum is [`window_sum`]'s, a few more branch-free passes.
#[inline(always)]
pub(super) fn column_stats(
    xs: &[f64],
    mask: Option<&[f64]>,
    buf: &mut [Vec<f64>; 3],
) -> WindowStats {
    let n = xs.len();
    let [lo_buf, hi_buf, sum_buf] = buf;
    if let Some(ms) = mask {
        for (((l, h), s), (&x, &m)) in lo_buf[..n]
            .iter_mut()
            .zip(&mut hi_buf[..n])
            .zip(&mut sum_buf[..n])
            .zip(xs.iter().zip(ms))
        {
            let keep = m != 0.0;
            *l = if keep { x } else { f64::INFINITY };
            *h = if keep { x } else { f64::NEG_INFINITY };
            *s = if keep { x } else { 0.0 };
        }
    }
    let (lo_in, hi_in, sum_in): (&[f64], &[f64], &[f64]) = match mask {
        None => (xs, xs, xs),
        Some(_) => (&lo_buf[..n], &hi_buf[..n], &sum_buf[..n]),
    };
    let mut lo = [f64::INFINITY; 4];
    let mut hi = [f64::NEG_INFINITY; 4];
    let mut sum = [0.0f64; 4];
    let whole = n / 4 * 4;
    for ((l4, h4), s4) in lo_in[..whole]
        .chunks_exact(4)
        .zip(hi_in[..whole].chunks_exact(4))
        .zip(sum_in[..whole].chunks_exact(4))
    {
        for l in 0..4 {
            lo[l] = if l4[l] < lo[l] { l4[l] } else { lo[l] };
            hi[l] = if h4[l] > hi[l] { h4[l] } else { hi[l] };
            sum[l] += s4[l];
        }
    }
    for i in whole..n {
        let l = i % 4;
        lo[l] = if lo_in[i] < lo[l] { lo_in[i] } else { lo[l] };
        hi[l] = if hi_in[i] > hi[l] { hi_in[i] } else { hi[l] };
        sum[l] += sum_in[i];
    }
    let mut st = WindowStats::default();
    for l in 0..4 {
        st.min = st.min.min(lo[l]);
        st.max = st.max.max(hi[l]);
    }
    st.sum = (sum[0] + sum[1]) + (sum[2] + sum[3]);
    // The low and high buffers are free again: scratch for the exact sum.
    let rem = &mut lo_buf[..n];
    st.exact = if st.min.is_finite() && st.max.is_finite() && st.sum.is_finite() {
        window_sum(sum_in, st.min.abs().max(st.max.abs()), rem)
    } else {
        window_sum_any(sum_in, rem)
    };
    st
}
