//! The CPU kernel: staged evaluation that hoists work out of the hot loop.
//!
//! The grid is walked in windows of at most [`W`] consecutive flat indices that share
//! every *outer* axis value; only the last few (*inner*) axes vary inside a window. Every
//! quantity of the model is a [`Col`]: a scalar when it depends on outer axes only (computed
//! once per window), or a column of `n` values when it depends on an inner axis (computed
//! with simple loops that vectorise). So a sub-expression is recomputed per configuration
//! only when it depends on an axis that changes per configuration; for the default scenario
//! that is the rental cost and the cost per FLOP, everything else is once per window.
//! Reductions follow the same split: a statistic of a scalar metric is updated once with the
//! window's feasible count, and a scalar objective's best is the window's first feasible
//! configuration.
//!
//! The formulas are those of `model::evaluate`, in the same order, so results agree with the
//! scalar reference to the last bit or nearly so (the tests hold them to 1e-9 relative).

use crate::model::{
    clock_factor, value_in_range, Metric, DAYS_PER_SECOND, HOMES_PER_W, HOURS_PER_YEAR,
    KWH_PER_W_YEAR, METRIC_COUNT, SECONDS_PER_YEAR,
};
use crate::params::{Param, ParamDefault, PARAMS, PARAM_COUNT};
use crate::plan::SweepPlan;
use crate::reduce::{offer, Candidate, Reductions};
use crate::scenario::Source;
use std::ops::Range;

/// Most configurations in one window.
pub const W: usize = 512;
/// Inner axes are added (from the last) until their product reaches this.
const MIN_INNER: u64 = 32;

/// A model quantity over a window: one value, or one value per configuration.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Col {
    S(f64),
    V(usize),
}

/// Storage for the window's columns; reset per window.
struct Arena {
    slots: Vec<Vec<f64>>,
    used: usize,
    n: usize,
}

impl Arena {
    fn new() -> Arena {
        Arena {
            slots: Vec::new(),
            used: 0,
            n: 0,
        }
    }

    fn reset(&mut self, n: usize) {
        self.used = 0;
        self.n = n;
    }

    /// A fresh column (taken out of the arena; give it back with `put`).
    #[inline(always)]
    fn take(&mut self) -> (usize, Vec<f64>) {
        if self.used == self.slots.len() {
            self.slots.push(vec![0.0; W]);
        }
        let i = self.used;
        self.used += 1;
        (i, std::mem::take(&mut self.slots[i]))
    }

    #[inline(always)]
    fn put(&mut self, i: usize, v: Vec<f64>) -> Col {
        self.slots[i] = v;
        Col::V(i)
    }

    #[inline(always)]
    fn col(&self, c: usize) -> &[f64] {
        &self.slots[c][..self.n]
    }

    /// A column filled by `f(i)`.
    #[inline(always)]
    fn tabulate(&mut self, f: impl Fn(usize) -> f64) -> Col {
        let (i, mut out) = self.take();
        for (j, o) in out[..self.n].iter_mut().enumerate() {
            *o = f(j);
        }
        self.put(i, out)
    }

    #[inline(always)]
    fn map(&mut self, a: Col, f: impl Fn(f64) -> f64) -> Col {
        match a {
            Col::S(x) => Col::S(f(x)),
            Col::V(x) => {
                let n = self.n;
                let (i, mut out) = self.take();
                for (o, &v) in out[..n].iter_mut().zip(&self.slots[x][..n]) {
                    *o = f(v);
                }
                self.put(i, out)
            }
        }
    }

    #[inline(always)]
    fn zip(&mut self, a: Col, b: Col, f: impl Fn(f64, f64) -> f64) -> Col {
        let n = self.n;
        match (a, b) {
            (Col::S(x), Col::S(y)) => Col::S(f(x, y)),
            (Col::V(x), Col::S(y)) => self.map(Col::V(x), |v| f(v, y)),
            (Col::S(x), Col::V(y)) => self.map(Col::V(y), |v| f(x, v)),
            (Col::V(x), Col::V(y)) => {
                let (i, mut out) = self.take();
                for ((o, &u), &v) in out[..n]
                    .iter_mut()
                    .zip(&self.slots[x][..n])
                    .zip(&self.slots[y][..n])
                {
                    *o = f(u, v);
                }
                self.put(i, out)
            }
        }
    }

    #[inline(always)]
    fn zip3(&mut self, a: Col, b: Col, c: Col, f: impl Fn(f64, f64, f64) -> f64) -> Col {
        if let (Col::S(x), Col::S(y), Col::S(z)) = (a, b, c) {
            return Col::S(f(x, y, z));
        }
        let n = self.n;
        let (i, mut out) = self.take();
        let get = |arena: &Arena, c: Col, j: usize| match c {
            Col::S(x) => x,
            Col::V(k) => arena.slots[k][j],
        };
        for (j, o) in out[..n].iter_mut().enumerate() {
            *o = f(get(self, a, j), get(self, b, j), get(self, c, j));
        }
        self.put(i, out)
    }

    #[inline(always)]
    fn add(&mut self, a: Col, b: Col) -> Col {
        self.zip(a, b, |x, y| x + y)
    }
    #[inline(always)]
    fn sub(&mut self, a: Col, b: Col) -> Col {
        self.zip(a, b, |x, y| x - y)
    }
    #[inline(always)]
    fn mul(&mut self, a: Col, b: Col) -> Col {
        self.zip(a, b, |x, y| x * y)
    }
    #[inline(always)]
    fn div(&mut self, a: Col, b: Col) -> Col {
        self.zip(a, b, |x, y| x / y)
    }
    #[inline(always)]
    fn scale(&mut self, a: Col, k: f64) -> Col {
        self.map(a, |x| x * k)
    }
    /// 1.0 where the condition holds, else 0.0.
    #[inline(always)]
    fn test(&mut self, a: Col, b: Col, f: impl Fn(f64, f64) -> bool) -> Col {
        self.zip(a, b, |x, y| if f(x, y) { 1.0 } else { 0.0 })
    }
    /// Both masks.
    #[inline(always)]
    fn and(&mut self, a: Col, b: Col) -> Col {
        self.mul(a, b)
    }
    /// `a` where mask, else `b`.
    #[inline(always)]
    fn select(&mut self, mask: Col, a: Col, b: Col) -> Col {
        self.zip3(mask, a, b, |m, x, y| if m != 0.0 { x } else { y })
    }
    #[inline(always)]
    fn value(&self, c: Col, j: usize) -> f64 {
        match c {
            Col::S(x) => x,
            Col::V(k) => self.slots[k][j],
        }
    }
}

/// How the grid splits into outer and inner axes, and per-axis-value validity.
struct Layout {
    /// First inner axis (axes `inner..` vary inside a window).
    inner: usize,
    /// Configurations per inner block (product of the inner axes' lengths).
    block: u64,
    /// Per axis, 1.0 where the value is inside its parameter's valid range, else 0.0
    /// (decided in f64 once; checks that involve the accelerator are made per
    /// configuration). A mask, so inner axes fill it as a column like their values.
    value_ok: Vec<Vec<f64>>,
    /// Per axis, whether every value is valid (no mask needed).
    axis_all_ok: Vec<bool>,
    /// Every fixed value inside its range.
    fixed_ok: bool,
    /// Parameters that are not axes, as scalars (fixed value, or the spec's default; NaN
    /// where the default comes from the accelerator).
    base: [Col; PARAM_COUNT],
    /// Indices of the metrics that apply to the scenario (stats are kept for these).
    metrics: Vec<usize>,
    /// `best_by` group multiplier per axis (0 when not a group axis).
    group_mult: Vec<usize>,
    /// Whether some group axis is inner.
    group_inner: bool,
    /// The scenario's constraints as (metric, bound, is upper bound).
    bounds: Vec<(Metric, f64, bool)>,
}

/// Scalars for the parameters that are not axes.
fn base_params(s: &crate::scenario::Scenario) -> [Col; PARAM_COUNT] {
    let fixed = s.values_at(&vec![0; s.axes.len()]);
    let mut raw = [Col::S(f64::NAN); PARAM_COUNT];
    for (pi, info) in PARAMS.iter().enumerate() {
        raw[pi] = match s.sources[pi] {
            Source::Axis(_) => continue,
            _ if !fixed[pi].is_nan() => Col::S(fixed[pi]),
            _ => match info.default {
                ParamDefault::Value(d) => Col::S(d),
                _ => Col::S(f64::NAN),
            },
        };
    }
    raw
}

impl Layout {
    fn new(plan: &SweepPlan) -> Layout {
        let s = &plan.scenario;
        let lens = &plan.grid.lens;
        let mut inner = lens.len();
        let mut block = 1u64;
        while inner > 0 && block < MIN_INNER {
            inner -= 1;
            block = block.saturating_mul(lens[inner]);
        }
        let value_ok: Vec<Vec<f64>> = s
            .axes
            .iter()
            .map(|a| {
                a.values
                    .iter()
                    .map(|&x| if value_in_range(a.param, x) { 1.0 } else { 0.0 })
                    .collect()
            })
            .collect();
        let axis_all_ok = value_ok
            .iter()
            .map(|v| v.iter().all(|&m| m != 0.0))
            .collect();
        let fixed_ok = s.sources.iter().enumerate().all(|(i, src)| match src {
            Source::Fixed(x) => value_in_range(PARAMS[i].param, *x),
            _ => true,
        });
        let mut group_mult = vec![0usize; lens.len()];
        let mut mult = 1usize;
        for &k in plan.group_axes.iter().rev() {
            group_mult[k] = mult;
            mult *= lens[k] as usize;
        }
        let group_inner = plan.group_count > 1 && plan.group_axes.iter().any(|&k| k >= inner);
        Layout {
            inner,
            block,
            value_ok,
            axis_all_ok,
            fixed_ok,
            base: base_params(s),
            metrics: Metric::ALL
                .iter()
                .filter(|m| m.applies(&s.workload))
                .map(|&m| m as usize)
                .collect(),
            group_mult,
            group_inner,
            bounds: s.constraints.bounds(),
        }
    }
}

/// Scratch kept across windows.
struct Scratch {
    arena: Arena,
    digits: Vec<u64>,
    /// Per-configuration `best_by` group (inner group axes only).
    group: Vec<usize>,
    clock_key: Option<(usize, u64)>,
    clock: f64,
    /// The last scalar facility power and its Pareto bin (a logarithm saved per window).
    pareto_memo: std::cell::Cell<(f64, usize)>,
}

/// Evaluate and reduce one contiguous range on the calling thread (with AVX2 where the
/// processor has it; the same operations, so the same results).
pub fn eval_range(plan: &SweepPlan, range: Range<u64>) -> Reductions {
    eval_range_with::<true>(plan, range)
}

/// [`eval_range`] reducing only the counts (evaluated, invalid, feasible): for measuring
/// what the other reductions (best, groups, Pareto bins, statistics) cost.
pub fn eval_range_counts_only(plan: &SweepPlan, range: Range<u64>) -> Reductions {
    eval_range_with::<false>(plan, range)
}

fn eval_range_with<const FULL: bool>(plan: &SweepPlan, range: Range<u64>) -> Reductions {
    #[cfg(target_arch = "x86_64")]
    if std::arch::is_x86_feature_detected!("avx2") {
        // SAFETY: the processor supports AVX2 (checked just above).
        return unsafe { eval_range_avx2::<FULL>(plan, range) };
    }
    eval_range_inline::<FULL>(plan, range)
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
unsafe fn eval_range_avx2<const FULL: bool>(plan: &SweepPlan, range: Range<u64>) -> Reductions {
    eval_range_inline::<FULL>(plan, range)
}

#[inline(always)]
fn eval_range_inline<const FULL: bool>(plan: &SweepPlan, range: Range<u64>) -> Reductions {
    let mut red = Reductions::empty(plan);
    let layout = Layout::new(plan);
    let mut sc = Scratch {
        arena: Arena::new(),
        digits: vec![0; plan.grid.lens.len()],
        group: vec![0; W],
        clock_key: None,
        clock: 0.0,
        pareto_memo: std::cell::Cell::new((f64::NAN, 0)),
    };
    let mut idx = range.start;
    plan.grid.decode(idx, &mut sc.digits);
    while idx < range.end {
        let j0 = idx % layout.block;
        let n = (layout.block - j0).min(W as u64).min(range.end - idx) as usize;
        eval_window::<FULL>(plan, &layout, &mut sc, idx, j0, n, &mut red);
        idx += n as u64;
        if j0 + n as u64 == layout.block {
            // Next inner block: advance the outer axes (no division).
            let outer = layout.inner;
            crate::grid::advance(&mut sc.digits[..outer], &plan.grid.lens[..outer]);
        }
    }
    red
}

/// The column of an inner axis over inner-block positions `j0 .. j0 + n` (each value
/// repeats for `stride` positions, so it is filled run by run).
#[inline(always)]
fn inner_axis_col(arena: &mut Arena, values: &[f64], stride: u64, len: u64, j0: u64) -> Col {
    let n = arena.n;
    let (i, mut out) = arena.take();
    if stride == 1 {
        // Consecutive values, wrapping around the axis.
        let mut d = (j0 % len) as usize;
        let mut t = 0usize;
        while t < n {
            let m = (values.len() - d).min(n - t);
            out[t..t + m].copy_from_slice(&values[d..d + m]);
            t += m;
            d = 0;
        }
        return arena.put(i, out);
    }
    let mut d = ((j0 / stride) % len) as usize;
    let mut run = (stride - j0 % stride) as usize;
    let mut t = 0usize;
    while t < n {
        let m = run.min(n - t);
        out[t..t + m].fill(values[d]);
        t += m;
        d += 1;
        if d == values.len() {
            d = 0;
        }
        run = stride.min(W as u64) as usize;
    }
    arena.put(i, out)
}

#[allow(clippy::too_many_arguments)]
#[inline(always)]
fn eval_window<const FULL: bool>(
    plan: &SweepPlan,
    layout: &Layout,
    sc: &mut Scratch,
    start: u64,
    j0: u64,
    n: usize,
    red: &mut Reductions,
) {
    let s = &plan.scenario;
    let grid = &plan.grid;
    let k = &mut sc.arena;
    k.reset(n);

    // Raw parameter columns and the per-value validity mask.
    let mut raw = layout.base;
    let mut ok = Col::S(if layout.fixed_ok { 1.0 } else { 0.0 });
    for (ax, axis) in s.axes.iter().enumerate() {
        let oks = &layout.value_ok[ax];
        if ax < layout.inner {
            let d = sc.digits[ax] as usize;
            raw[axis.param.index()] = Col::S(axis.values[d]);
            if oks[d] == 0.0 {
                ok = Col::S(0.0);
            }
        } else {
            let c = inner_axis_col(k, &axis.values, grid.strides[ax], grid.lens[ax], j0);
            raw[axis.param.index()] = c;
            if !layout.axis_all_ok[ax] {
                let m = inner_axis_col(k, oks, grid.strides[ax], grid.lens[ax], j0);
                ok = k.and(ok, m);
            }
        }
    }
    if layout.group_inner {
        let mut outer = 0usize;
        for (ax, &d) in sc.digits.iter().enumerate().take(layout.inner) {
            outer += d as usize * layout.group_mult[ax];
        }
        sc.group[..n].fill(outer);
        for ax in layout.inner..s.axes.len() {
            let gm = layout.group_mult[ax];
            if gm == 0 {
                continue;
            }
            let (stride, len) = (grid.strides[ax], grid.lens[ax]);
            for (t, g) in sc.group[..n].iter_mut().enumerate() {
                *g += (((j0 + t as u64) / stride) % len) as usize * gm;
            }
        }
    }

    // The accelerator and what follows from it.
    let accs = &s.accelerators;
    let acc = raw[Param::Accelerator.index()];
    let prec = raw[Param::Precision.index()];
    let field = |k: &mut Arena, f: fn(&crate::model::Accelerator) -> f64| -> Col {
        match acc {
            Col::S(a) => Col::S(f(&accs[a as usize])),
            Col::V(c) => {
                let codes: Vec<usize> = k.col(c).iter().map(|&x| x as usize).collect();
                k.tabulate(|j| f(&accs[codes[j]]))
            }
        }
    };
    let tdp = field(k, |a| a.tdp_w);
    let idle = field(k, |a| a.idle_w);
    let min_power = field(k, |a| a.min_power_w);
    let param = |p: Param| raw[p.index()];
    let or_acc = |k: &mut Arena, p: Param, f: fn(&crate::model::Accelerator) -> f64| {
        if s.sources[p.index()] == Source::Default {
            field(k, f)
        } else {
            raw[p.index()]
        }
    };
    let host = or_acc(k, Param::HostW, |a| a.host_w);
    let mtbf = or_acc(k, Param::MtbfHours, |a| a.mtbf_hours);
    let price = or_acc(k, Param::GpuPriceUsd, |a| a.price_usd);
    let hcap = or_acc(k, Param::HostCapexUsd, |a| a.host_capex_usd);
    let power = if s.sources[Param::PowerFrac.index()] != Source::Default {
        k.mul(param(Param::PowerFrac), tdp)
    } else if s.sources[Param::PowerW.index()] != Source::Default {
        param(Param::PowerW)
    } else {
        tdp
    };
    let peak = match (acc, prec) {
        (Col::S(a), Col::S(p)) => Col::S(accs[a as usize].peak_tflops[p as usize].unwrap_or(0.0)),
        _ => {
            let (a, p) = (acc, prec);
            let codes: Vec<(usize, usize)> = (0..n)
                .map(|j| (k.value(a, j) as usize, k.value(p, j) as usize))
                .collect();
            k.tabulate(|j| accs[codes[j].0].peak_tflops[codes[j].1].unwrap_or(0.0))
        }
    };
    let clock = match (acc, power) {
        (Col::S(a), Col::S(p)) => {
            let key = (a as usize, p.to_bits());
            if sc.clock_key != Some(key) {
                sc.clock_key = Some(key);
                sc.clock = clock_factor(p, &accs[a as usize]);
            }
            Col::S(sc.clock)
        }
        _ => {
            let mut memo: Option<((usize, u64), f64)> = None;
            let pairs: Vec<(usize, f64)> = (0..n)
                .map(|j| (k.value(acc, j) as usize, k.value(power, j)))
                .collect();
            let vals: Vec<f64> = pairs
                .iter()
                .map(|&(a, p)| match memo {
                    Some((key, v)) if key == (a, p.to_bits()) => v,
                    _ => {
                        let v = clock_factor(p, &accs[a]);
                        memo = Some(((a, p.to_bits()), v));
                        v
                    }
                })
                .collect();
            k.tabulate(|j| vals[j])
        }
    };

    // Validity: per-value checks, a peak for the precision, power within the accelerator's range.
    let has_peak = k.test(peak, Col::S(0.0), |p, z| p > z);
    let above = k.test(power, min_power, |p, lo| p >= lo);
    let below = k.test(power, tdp, |p, hi| p <= hi);
    let ok = k.and(ok, has_peak);
    let ok = k.and(ok, above);
    let valid = k.and(ok, below);

    // The model (same formulas and order as model::evaluate).
    let n_gpu = param(Param::GpuCount);
    let u = param(Param::Utilization);
    let f = k.scale(peak, 1e12);
    let f = k.mul(f, u);
    let f = k.mul(f, clock);
    let job = param(Param::JobGpus);
    let j = k.zip(job, n_gpu, |job, n| if job == 0.0 { n } else { job.min(n) });
    let m = k.scale(mtbf, 3600.0);
    let inv_m = k.div(j, m);
    let ckpt = param(Param::CheckpointS);
    let restart = param(Param::RestartS);
    let a = k.scale(ckpt, 2.0);
    let a = k.mul(a, inv_m);
    let a = k.map(a, f64::sqrt);
    let b = k.mul(restart, inv_m);
    let lost = k.add(a, b);
    let g = k.map(lost, |l| (1.0 - l).clamp(0.0, 1.0));
    let flops = k.mul(n_gpu, f);
    let flops = k.mul(flops, g);

    let load = param(Param::LoadFrac);
    let pue = param(Param::Pue);
    let years = param(Param::Years);
    let dyn_w = k.sub(power, idle);
    let dyn_w = k.mul(dyn_w, load);
    let draw_w = k.add(idle, dyn_w);
    let p_host = k.add(power, host);
    let it_w = k.mul(n_gpu, p_host);
    let facility_w = k.mul(it_w, pue);
    let d_host = k.add(draw_w, host);
    let avg_w = k.mul(n_gpu, d_host);
    let avg_w = k.mul(avg_w, pue);
    let energy_kwh = k.scale(avg_w, KWH_PER_W_YEAR);
    let energy_kwh = k.mul(energy_kwh, years);

    let cost = param(Param::CostModel);
    let own = k.test(cost, Col::S(0.0), |c, z| c == z);
    let all_rent = own == Col::S(0.0);
    // Own: capex and capex + energy; rent: accelerator-hours. A window all of one kind
    // computes only that kind; a mixed window computes both and selects per configuration.
    let own_costs = |k: &mut Arena| {
        let fac_usd = param(Param::FacilityUsdPerW);
        let capex = own_capex(k, n_gpu, price, hcap, tdp, host, pue, fac_usd);
        let e = k.mul(energy_kwh, param(Param::ElectricityUsdPerKwh));
        (capex, k.add(capex, e))
    };
    let rent = |k: &mut Arena| rent_tco(k, n_gpu, years, param(Param::GpuHourUsd));
    let (capex, tco) = match own {
        Col::S(_) if all_rent => (Col::S(0.0), rent(k)),
        Col::S(_) => own_costs(k),
        Col::V(_) => {
            let (capex_own, tco_own) = own_costs(k);
            let tco_rent = rent(k);
            (
                k.select(own, capex_own, Col::S(0.0)),
                k.select(own, tco_own, tco_rent),
            )
        }
    };
    let total_flop = k.scale(flops, SECONDS_PER_YEAR);
    let total_flop = k.mul(total_flop, years);
    let usd = k.scale(tco, 1e18);
    let usd = k.zip(usd, total_flop, |u, t| {
        if t == 0.0 {
            f64::INFINITY
        } else {
            u / t
        }
    });

    let mut metrics = [Col::S(f64::NAN); METRIC_COUNT];
    metrics[Metric::ClockFactor as usize] = clock;
    metrics[Metric::Goodput as usize] = g;
    metrics[Metric::ThroughputPflops as usize] = k.scale(flops, 1e-15);
    metrics[Metric::ItMw as usize] = k.scale(it_w, 1e-6);
    metrics[Metric::FacilityMw as usize] = k.scale(facility_w, 1e-6);
    metrics[Metric::AvgFacilityMw as usize] = k.scale(avg_w, 1e-6);
    metrics[Metric::EnergyGwh as usize] = k.scale(energy_kwh, 1e-6);
    metrics[Metric::CapexUsd as usize] = capex;
    metrics[Metric::TcoUsd as usize] = tco;
    metrics[Metric::TotalEflop as usize] = k.scale(total_flop, 1e-18);
    metrics[Metric::UsdPerEflop as usize] = usd;
    let gpw = k.div(flops, avg_w);
    metrics[Metric::GflopsPerW as usize] = k.scale(gpw, 1e-9);
    metrics[Metric::Homes as usize] = k.scale(avg_w, HOMES_PER_W);
    let carbon = param(Param::CarbonKgPerKwh);
    let co2 = k.mul(energy_kwh, carbon);
    metrics[Metric::Co2T as usize] = k.scale(co2, 1e-3);
    if let Some(train_flop) = s.workload.train_flop {
        let days = k.map(flops, |fl| {
            if fl == 0.0 {
                f64::INFINITY
            } else {
                train_flop / fl * DAYS_PER_SECOND
            }
        });
        let e = k.mul(avg_w, days);
        let e = k.scale(e, 24.0);
        let energy_mwh = k.scale(e, 1e-6);
        metrics[Metric::TrainDays as usize] = days;
        let gh = k.mul(n_gpu, days);
        metrics[Metric::TrainGpuHours as usize] = k.scale(gh, 24.0);
        metrics[Metric::TrainEnergyMwh as usize] = energy_mwh;
        metrics[Metric::TrainCostUsd as usize] = k.scale(usd, train_flop * 1e-18);
        metrics[Metric::TrainCo2T as usize] = k.mul(energy_mwh, carbon);
    }
    if let Some(model_params) = s.workload.model_params {
        metrics[Metric::TokensPerS as usize] = k.scale(flops, 1.0 / (6.0 * model_params));
    }

    // Feasibility: valid, positive throughput, every constraint.
    let tput = metrics[Metric::ThroughputPflops as usize];
    let pos = k.test(tput, Col::S(0.0), |t, z| t > z);
    let mut feasible = k.and(valid, pos);
    for &(metric, bound, upper) in &layout.bounds {
        let v = metrics[metric as usize];
        let c = if upper {
            k.test(v, Col::S(bound), |x, b| x <= b)
        } else {
            k.test(v, Col::S(bound), |x, b| x >= b)
        };
        feasible = k.and(feasible, c);
    }

    reduce_window::<FULL>(plan, layout, sc, start, n, valid, feasible, &metrics, red);
}

#[inline(always)]
fn rent_tco(k: &mut Arena, n: Col, years: Col, hour: Col) -> Col {
    let t = k.scale(n, HOURS_PER_YEAR);
    let t = k.mul(t, years);
    k.mul(t, hour)
}

#[allow(clippy::too_many_arguments)]
#[inline(always)]
fn own_capex(
    k: &mut Arena,
    n: Col,
    price: Col,
    hcap: Col,
    tdp: Col,
    host: Col,
    pue: Col,
    fac_usd: Col,
) -> Col {
    let a = k.add(price, hcap);
    let a = k.mul(n, a);
    let b = k.add(tdp, host);
    let b = k.mul(n, b);
    let b = k.mul(b, pue);
    let b = k.mul(b, fac_usd);
    k.add(a, b)
}

/// Count of 1.0s in a mask over the window.
#[inline(always)]
fn count(k: &Arena, mask: Col) -> usize {
    match mask {
        Col::S(m) => {
            if m != 0.0 {
                k.n
            } else {
                0
            }
        }
        Col::V(c) => k.col(c).iter().filter(|&&m| m != 0.0).count(),
    }
}

#[allow(clippy::too_many_arguments)]
#[inline(always)]
fn reduce_window<const FULL: bool>(
    plan: &SweepPlan,
    layout: &Layout,
    sc: &Scratch,
    start: u64,
    n: usize,
    valid: Col,
    feasible: Col,
    metrics: &[Col; METRIC_COUNT],
    red: &mut Reductions,
) {
    let k = &sc.arena;
    let s = &plan.scenario;
    let objective = s.objective;
    red.evaluated += n as u64;
    red.invalid += (n - count(k, valid)) as u64;
    let nf = count(k, feasible);
    if nf == 0 {
        return;
    }
    red.feasible += nf as u64;
    if !FULL {
        return;
    }
    let fmask: Option<&[f64]> = match feasible {
        Col::S(_) => None,
        Col::V(c) => Some(k.col(c)),
    };

    // Statistics: a scalar metric once, weighted by the feasible count; a column with
    // four independent lanes so the loop vectorises.
    for &mi in &layout.metrics {
        let st = &mut red.stats[mi];
        match (metrics[mi], fmask) {
            (Col::S(x), _) => {
                st.min = st.min.min(x);
                st.max = st.max.max(x);
                st.sum += x * nf as f64;
            }
            (Col::V(c), mask) => {
                let xs = k.col(c);
                let mut lo = [f64::INFINITY; 4];
                let mut hi = [f64::NEG_INFINITY; 4];
                let mut sum = [0.0f64; 4];
                match mask {
                    None => {
                        for ch in xs.chunks(4) {
                            for (l, &x) in ch.iter().enumerate() {
                                lo[l] = if x < lo[l] { x } else { lo[l] };
                                hi[l] = if x > hi[l] { x } else { hi[l] };
                                sum[l] += x;
                            }
                        }
                    }
                    Some(ms) => {
                        for (ch, mch) in xs.chunks(4).zip(ms.chunks(4)) {
                            for l in 0..ch.len() {
                                let (x, f) = (ch[l], mch[l] != 0.0);
                                lo[l] = if f && x < lo[l] { x } else { lo[l] };
                                hi[l] = if f && x > hi[l] { x } else { hi[l] };
                                sum[l] += if f { x } else { 0.0 };
                            }
                        }
                    }
                }
                for l in 0..4 {
                    st.min = st.min.min(lo[l]);
                    st.max = st.max.max(hi[l]);
                }
                st.sum += (sum[0] + sum[1]) + (sum[2] + sum[3]);
            }
        }
    }

    // The window's best feasible configuration (ties: lowest index).
    let is_feasible = |j: usize| fmask.is_none_or(|m| m[j] != 0.0);
    let obj = metrics[objective.metric as usize];
    let window_best = match obj {
        Col::S(x) => {
            let first = (0..n).find(|&j| is_feasible(j)).unwrap_or(0);
            Candidate {
                objective: x,
                index: start + first as u64,
            }
        }
        Col::V(c) => {
            let xs = k.col(c);
            let mut best: Option<Candidate> = None;
            for (j, &x) in xs.iter().enumerate() {
                if is_feasible(j) {
                    offer(
                        &mut best,
                        Candidate {
                            objective: x,
                            index: start + j as u64,
                        },
                        &objective,
                    );
                }
            }
            best.unwrap_or(Candidate {
                objective: f64::NAN,
                index: start,
            })
        }
    };
    offer(&mut red.best, window_best, &objective);

    // Per group: constant over the window unless a group axis is inner.
    if plan.group_count == 1 {
        offer(&mut red.best_by[0], window_best, &objective);
    } else if !layout.group_inner {
        let g: usize = sc
            .digits
            .iter()
            .zip(&layout.group_mult)
            .map(|(&d, &m)| d as usize * m)
            .sum();
        offer(&mut red.best_by[g], window_best, &objective);
    } else {
        for j in (0..n).filter(|&j| is_feasible(j)) {
            let c = Candidate {
                objective: k.value(obj, j),
                index: start + j as u64,
            };
            offer(&mut red.best_by[sc.group[j]], c, &objective);
        }
    }

    // Per Pareto bin of facility power.
    match metrics[Metric::FacilityMw as usize] {
        Col::S(fac) => {
            let (last, last_bin) = sc.pareto_memo.get();
            let bin = if fac == last {
                last_bin
            } else {
                let b = plan.pareto.bin(fac);
                sc.pareto_memo.set((fac, b));
                b
            };
            offer(&mut red.pareto[bin], window_best, &objective)
        }
        Col::V(c) => {
            let fac = k.col(c);
            let mut last = f64::NAN;
            let mut bin = 0usize;
            for j in (0..n).filter(|&j| is_feasible(j)) {
                if fac[j] != last {
                    last = fac[j];
                    bin = plan.pareto.bin(last);
                }
                let c = Candidate {
                    objective: k.value(obj, j),
                    index: start + j as u64,
                };
                offer(&mut red.pareto[bin], c, &objective);
            }
        }
    }
}
