//! The CPU kernel: the model traced once per plan into a tape of steps, each step re-run
//! only when an axis it depends on changes.
//!
//! The grid is walked in windows of at most [`W`] consecutive flat indices that share
//! every *outer* axis value; only the last few (*inner*) axes vary inside a window. Tracing
//! the model (`trace`, the formulas of `model::evaluate` in the same order) gives every
//! quantity a slot: a scalar when it depends on outer axes only, or a column of `n` values
//! when it depends on an inner axis (computed with simple loops that vectorise). Constant
//! sub-expressions (fixed parameters, defaults) are folded while tracing. Each step records
//! the set of axes it depends on, so a window re-runs only the steps whose axes changed
//! since the window before: when the odometer turns axis `k`, the steps that depend on axes
//! `k..` only. On the default scenario most windows change only the job size, and re-run
//! the goodput chain and the cost per FLOP; the rental cost column and its statistics are
//! computed once per fleet size.
//!
//! Reductions follow the same split: a statistic of a scalar metric is updated once with the
//! window's feasible count; the statistics of a column, the feasible count and the window's
//! best are kept and re-used while neither the column nor the feasibility mask changed.
//! Validity and feasibility are a product of 0/1 tests, kept as a scalar gate and a column
//! mask, so a scalar test (e.g. positive throughput) never forces a column to be rebuilt.

use crate::model::{
    clock_factor, value_in_range, Accelerator, Metric, DAYS_PER_SECOND, HOMES_PER_W,
    HOURS_PER_YEAR, KWH_PER_W_YEAR, METRIC_COUNT, SECONDS_PER_YEAR,
};
use crate::params::{Param, ParamDefault, PARAMS, PARAM_COUNT};
use crate::plan::SweepPlan;
use crate::reduce::{offer, Candidate, MetricStats, Reductions};
use crate::scenario::Source;
use std::ops::Range;

/// Most configurations in one window.
pub const W: usize = 512;
/// Inner axes are added (from the last) until their product reaches this.
const MIN_INNER: u64 = 32;

/// Where a traced value lives: a scalar slot or a column slot.
#[derive(Clone, Copy, Debug, PartialEq)]
enum Slot {
    S(u32),
    V(u32),
}

/// A traced value: its slot and the axes it depends on (bit `k` for axis `k`). A scalar
/// with no axis is a constant, known while tracing.
#[derive(Clone, Copy, Debug)]
struct Val {
    slot: Slot,
    deps: u64,
}

/// What a step computes from its operands `a`, `b`, `c`. The arithmetic ones (`Add` ..
/// `Goodput`) are [`Op::arith`]; one-operand ones ignore `y`.
#[derive(Clone, Copy, Debug, PartialEq)]
enum Op {
    Add,
    Sub,
    Mul,
    Div,
    /// `x / y`, or +inf where `y` is 0.
    DivOrInf,
    /// `J = N if job_gpus == 0 else min(job_gpus, N)` with `x = job_gpus`, `y = N`.
    JobSize,
    /// 1.0 where `x == y`, else 0.0.
    Eq,
    Gt,
    Ge,
    Le,
    Sqrt,
    /// Goodput from the lost fraction: `clamp(1 - x, 0, 1)`.
    Goodput,
    /// `b` where the mask `a` is non-zero, else `c`.
    Select,
    /// `tables[table][a * stride + b]` (accelerator figures by code, peaks by code and
    /// precision).
    Lookup {
        table: u32,
        stride: u32,
    },
    /// The clock factor of accelerator code `a` at power `b` (`pow` once per distinct pair).
    Clock,
    /// The column of inner axis `ax` over the window: its values, or its validity mask.
    Fill {
        ax: u32,
        ok: bool,
    },
}

impl Op {
    /// The arithmetic operations (the others are evaluated where they are run).
    #[inline(always)]
    fn arith(self, x: f64, y: f64) -> f64 {
        let test = |t: bool| if t { 1.0 } else { 0.0 };
        match self {
            Op::Add => x + y,
            Op::Sub => x - y,
            Op::Mul => x * y,
            Op::Div => x / y,
            Op::DivOrInf => {
                // Divide first, then select: no branch in a column loop.
                let q = x / y;
                if y == 0.0 {
                    f64::INFINITY
                } else {
                    q
                }
            }
            Op::JobSize => {
                let m = if x < y { x } else { y };
                if x == 0.0 {
                    y
                } else {
                    m
                }
            }
            Op::Eq => test(x == y),
            Op::Gt => test(x > y),
            Op::Ge => test(x >= y),
            Op::Le => test(x <= y),
            Op::Sqrt => x.sqrt(),
            Op::Goodput => (1.0 - x).clamp(0.0, 1.0),
            Op::Select | Op::Lookup { .. } | Op::Clock | Op::Fill { .. } => {
                unreachable!("not arithmetic: {self:?}")
            }
        }
    }
}

/// `match $op`: each arithmetic op binds `$f` to a closure `(x, y) -> f64` specialised to
/// it and evaluates `$body` (one jump, then straight-line or vectorised code); any other
/// op is bound to `$other` for `$rest`.
macro_rules! with_arith {
    ($op:expr, |$f:ident| $body:expr, $other:ident => $rest:expr) => {
        match $op {
            Op::Add => with_arith!(@one Op::Add, $f, $body),
            Op::Sub => with_arith!(@one Op::Sub, $f, $body),
            Op::Mul => with_arith!(@one Op::Mul, $f, $body),
            Op::Div => with_arith!(@one Op::Div, $f, $body),
            Op::DivOrInf => with_arith!(@one Op::DivOrInf, $f, $body),
            Op::JobSize => with_arith!(@one Op::JobSize, $f, $body),
            Op::Eq => with_arith!(@one Op::Eq, $f, $body),
            Op::Gt => with_arith!(@one Op::Gt, $f, $body),
            Op::Ge => with_arith!(@one Op::Ge, $f, $body),
            Op::Le => with_arith!(@one Op::Le, $f, $body),
            Op::Sqrt => with_arith!(@one Op::Sqrt, $f, $body),
            Op::Goodput => with_arith!(@one Op::Goodput, $f, $body),
            $other => $rest,
        }
    };
    (@one $v:expr, $f:ident, $body:expr) => {{
        let $f = |x: f64, y: f64| $v.arith(x, y);
        $body
    }};
}

/// One step of the tape: `out = op(a, b, c)`.
#[derive(Clone, Copy, Debug)]
struct Step {
    op: Op,
    a: Slot,
    b: Slot,
    c: Slot,
    out: Slot,
    deps: u64,
}

/// A 0/1 mask as a product of scalar tests (the gate) and column tests.
#[derive(Clone, Copy, Debug)]
struct Mask {
    gate: Val,
    col: Option<Val>,
}

/// Builds the tape: each operation either folds (constant operands) or appends a step.
struct Tracer {
    scalars: Vec<f64>,
    columns: u32,
    steps: Vec<Step>,
    tables: Vec<Vec<f64>>,
}

impl Tracer {
    fn konst(&mut self, x: f64) -> Val {
        self.scalars.push(x);
        Val {
            slot: Slot::S(self.scalars.len() as u32 - 1),
            deps: 0,
        }
    }

    /// The value of a constant (None for anything that depends on an axis).
    fn known(&self, v: Val) -> Option<f64> {
        match v.slot {
            Slot::S(i) if v.deps == 0 => Some(self.scalars[i as usize]),
            _ => None,
        }
    }

    fn out_slot(&mut self, column: bool) -> Slot {
        if column {
            self.columns += 1;
            Slot::V(self.columns - 1)
        } else {
            self.scalars.push(f64::NAN);
            Slot::S(self.scalars.len() as u32 - 1)
        }
    }

    fn push(&mut self, op: Op, ops: [Val; 3]) -> Val {
        let deps = ops[0].deps | ops[1].deps | ops[2].deps;
        let column = ops.iter().any(|v| matches!(v.slot, Slot::V(_)));
        let out = self.out_slot(column);
        self.steps.push(Step {
            op,
            a: ops[0].slot,
            b: ops[1].slot,
            c: ops[2].slot,
            out,
            deps,
        });
        Val { slot: out, deps }
    }

    /// An arithmetic op of two operands.
    fn bin(&mut self, op: Op, a: Val, b: Val) -> Val {
        if let (Some(x), Some(y)) = (self.known(a), self.known(b)) {
            return self.konst(op.arith(x, y));
        }
        self.push(op, [a, b, a])
    }

    /// An arithmetic op of one operand (the constant 0 as the unused second).
    fn un(&mut self, op: Op, a: Val) -> Val {
        let zero = Val {
            slot: Slot::S(0),
            deps: 0,
        };
        self.bin(op, a, zero)
    }

    fn add(&mut self, a: Val, b: Val) -> Val {
        self.bin(Op::Add, a, b)
    }
    fn sub(&mut self, a: Val, b: Val) -> Val {
        self.bin(Op::Sub, a, b)
    }
    fn mul(&mut self, a: Val, b: Val) -> Val {
        self.bin(Op::Mul, a, b)
    }
    fn scale(&mut self, a: Val, k: f64) -> Val {
        let k = self.konst(k);
        self.mul(a, k)
    }

    fn select(&mut self, m: Val, a: Val, b: Val) -> Val {
        if let Some(x) = self.known(m) {
            return if x != 0.0 { a } else { b };
        }
        self.push(Op::Select, [m, a, b])
    }

    /// `table[a * stride + b]`, one table per call.
    fn lookup(&mut self, table: Vec<f64>, stride: usize, a: Val, b: Val) -> Val {
        if let (Some(x), Some(y)) = (self.known(a), self.known(b)) {
            return self.konst(table[x as usize * stride + y as usize]);
        }
        self.tables.push(table);
        let table = self.tables.len() as u32 - 1;
        self.push(
            Op::Lookup {
                table,
                stride: stride as u32,
            },
            [a, b, a],
        )
    }

    /// The product of 0/1 tests, split into the scalar gate and the column mask.
    fn all(&mut self, tests: &[Val]) -> Mask {
        let mut gate = self.konst(1.0);
        let mut col: Option<Val> = None;
        for &t in tests {
            if matches!(t.slot, Slot::V(_)) {
                col = Some(match col {
                    Some(c) => self.mul(c, t),
                    None => t,
                });
            } else {
                gate = self.mul(gate, t);
            }
        }
        Mask { gate, col }
    }
}

/// How the grid splits into outer and inner axes.
struct Layout {
    /// First inner axis (axes `inner..` vary inside a window).
    inner: usize,
    /// Configurations per inner block (product of the inner axes' lengths).
    block: u64,
    /// Bits of the inner axes.
    inner_bits: u64,
    /// Per axis, 1.0 where the value is inside its parameter's valid range, else 0.0
    /// (decided in f64 once; checks that involve the accelerator are made per
    /// configuration).
    value_ok: Vec<Vec<f64>>,
    /// Indices of the metrics that apply to the scenario (stats are kept for these).
    metrics: Vec<usize>,
    /// `best_by` group multiplier per axis (0 when not a group axis).
    group_mult: Vec<usize>,
    /// Whether some group axis is inner.
    group_inner: bool,
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
        let value_ok = s
            .axes
            .iter()
            .map(|a| {
                a.values
                    .iter()
                    .map(|&x| if value_in_range(a.param, x) { 1.0 } else { 0.0 })
                    .collect()
            })
            .collect();
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
        }
    }
}

/// The traced model of one plan: what the tape computes and where the results are.
struct Traced {
    tracer: Tracer,
    /// Per outer axis: the scalar slots of its value and of its validity (written per window).
    axis_slots: Vec<(u32, u32)>,
    valid: Mask,
    feasible: Mask,
    /// Per metric (None where it does not apply).
    metrics: [Option<Val>; METRIC_COUNT],
}

/// Trace the model (same formulas and order as `model::evaluate`).
fn trace(plan: &SweepPlan, layout: &Layout) -> Traced {
    let s = &plan.scenario;
    // Scalar slot 0 is the constant 0 (also the unused operand of steps).
    let mut t = Tracer {
        scalars: vec![0.0],
        columns: 0,
        steps: Vec::new(),
        tables: Vec::new(),
    };

    // Parameters: fixed values and defaults are constants, axes are inputs or columns.
    let fixed = s.values_at(&vec![0; s.axes.len()]);
    let mut raw: [Option<Val>; PARAM_COUNT] = [None; PARAM_COUNT];
    let mut tests: Vec<Val> = Vec::new();
    for (pi, info) in PARAMS.iter().enumerate() {
        if let Source::Fixed(x) = s.sources[pi] {
            if !value_in_range(info.param, x) {
                let never = t.konst(0.0);
                tests.push(never);
            }
        }
        raw[pi] = match s.sources[pi] {
            Source::Axis(_) => continue,
            _ if !fixed[pi].is_nan() => Some(t.konst(fixed[pi])),
            _ => match info.default {
                ParamDefault::Value(d) => Some(t.konst(d)),
                _ => None,
            },
        };
    }
    let mut axis_slots = Vec::new();
    for (ax, axis) in s.axes.iter().enumerate() {
        let all_ok = layout.value_ok[ax].iter().all(|&m| m != 0.0);
        let deps = 1u64 << ax;
        let (value, ok) = if ax < layout.inner {
            let (value, ok) = (t.out_slot(false), t.out_slot(false));
            let (Slot::S(vi), Slot::S(oi)) = (value, ok) else {
                unreachable!("out_slot(false) gives scalar slots")
            };
            axis_slots.push((vi, oi));
            (Val { slot: value, deps }, Val { slot: ok, deps })
        } else {
            let fill = |t: &mut Tracer, ok: bool| {
                let out = t.out_slot(true);
                let op = Op::Fill { ax: ax as u32, ok };
                let none = Slot::S(0);
                t.steps.push(Step {
                    op,
                    a: none,
                    b: none,
                    c: none,
                    out,
                    deps,
                });
                Val { slot: out, deps }
            };
            let value = fill(&mut t, false);
            let ok = if all_ok { value } else { fill(&mut t, true) };
            (value, ok)
        };
        if !all_ok {
            tests.push(ok);
        }
        raw[axis.param.index()] = Some(value);
    }
    let nan = t.konst(f64::NAN);
    let param = |p: Param| raw[p.index()].unwrap_or(nan);

    // The accelerator and what follows from it.
    let accs = &s.accelerators;
    let acc = param(Param::Accelerator);
    let prec = param(Param::Precision);
    let zero = Val {
        slot: Slot::S(0),
        deps: 0,
    };
    let field = |t: &mut Tracer, f: fn(&Accelerator) -> f64| {
        t.lookup(accs.iter().map(f).collect(), 1, acc, zero)
    };
    let tdp = field(&mut t, |a| a.tdp_w);
    let idle = field(&mut t, |a| a.idle_w);
    let min_power = field(&mut t, |a| a.min_power_w);
    let or_acc = |t: &mut Tracer, p: Param, f: fn(&Accelerator) -> f64| {
        if s.sources[p.index()] == Source::Default {
            field(t, f)
        } else {
            param(p)
        }
    };
    let host = or_acc(&mut t, Param::HostW, |a| a.host_w);
    let mtbf = or_acc(&mut t, Param::MtbfHours, |a| a.mtbf_hours);
    let price = or_acc(&mut t, Param::GpuPriceUsd, |a| a.price_usd);
    let hcap = or_acc(&mut t, Param::HostCapexUsd, |a| a.host_capex_usd);
    let power = if s.sources[Param::PowerFrac.index()] != Source::Default {
        t.mul(param(Param::PowerFrac), tdp)
    } else if s.sources[Param::PowerW.index()] != Source::Default {
        param(Param::PowerW)
    } else {
        tdp
    };
    let peaks: Vec<f64> = accs
        .iter()
        .flat_map(|a| a.peak_tflops.map(|p| p.unwrap_or(0.0)))
        .collect();
    let peak = t.lookup(peaks, 3, acc, prec);
    let clock = match (t.known(acc), t.known(power)) {
        (Some(a), Some(p)) => t.konst(clock_factor(p, &accs[a as usize])),
        _ => t.push(Op::Clock, [acc, power, acc]),
    };

    // Validity: per-value checks, a peak for the precision, power within the accelerator's range.
    let has_peak = t.bin(Op::Gt, peak, zero);
    let above = t.bin(Op::Ge, power, min_power);
    let below = t.bin(Op::Le, power, tdp);
    tests.extend([has_peak, above, below]);
    let valid = t.all(&tests);

    // The model.
    let n_gpu = param(Param::GpuCount);
    let u = param(Param::Utilization);
    let f = t.scale(peak, 1e12);
    let f = t.mul(f, u);
    let f = t.mul(f, clock);
    let j = t.bin(Op::JobSize, param(Param::JobGpus), n_gpu);
    let m = t.scale(mtbf, 3600.0);
    let inv_m = t.bin(Op::Div, j, m);
    let a = t.scale(param(Param::CheckpointS), 2.0);
    let a = t.mul(a, inv_m);
    let a = t.un(Op::Sqrt, a);
    let b = t.mul(param(Param::RestartS), inv_m);
    let lost = t.add(a, b);
    let g = t.un(Op::Goodput, lost);
    let flops = t.mul(n_gpu, f);
    let flops = t.mul(flops, g);

    let load = param(Param::LoadFrac);
    let pue = param(Param::Pue);
    let years = param(Param::Years);
    let dyn_w = t.sub(power, idle);
    let dyn_w = t.mul(dyn_w, load);
    let draw_w = t.add(idle, dyn_w);
    let p_host = t.add(power, host);
    let it_w = t.mul(n_gpu, p_host);
    let facility_w = t.mul(it_w, pue);
    let d_host = t.add(draw_w, host);
    let avg_w = t.mul(n_gpu, d_host);
    let avg_w = t.mul(avg_w, pue);
    let energy_kwh = t.scale(avg_w, KWH_PER_W_YEAR);
    let energy_kwh = t.mul(energy_kwh, years);

    // Own: capex and capex + energy; rent: accelerator-hours. A fixed cost model traces
    // only its own formulas; a cost-model axis traces both and selects.
    let own = t.bin(Op::Eq, param(Param::CostModel), zero);
    let own_costs = |t: &mut Tracer| {
        let a = t.add(price, hcap);
        let a = t.mul(n_gpu, a);
        let b = t.add(tdp, host);
        let b = t.mul(n_gpu, b);
        let b = t.mul(b, pue);
        let b = t.mul(b, param(Param::FacilityUsdPerW));
        let capex = t.add(a, b);
        let e = t.mul(energy_kwh, param(Param::ElectricityUsdPerKwh));
        (capex, t.add(capex, e))
    };
    let rent_tco = |t: &mut Tracer| {
        let h = t.scale(n_gpu, HOURS_PER_YEAR);
        let h = t.mul(h, years);
        t.mul(h, param(Param::GpuHourUsd))
    };
    let (capex, tco) = match t.known(own) {
        Some(0.0) => (zero, rent_tco(&mut t)),
        Some(_) => own_costs(&mut t),
        None => {
            let (capex_own, tco_own) = own_costs(&mut t);
            let tco_rent = rent_tco(&mut t);
            (
                t.select(own, capex_own, zero),
                t.select(own, tco_own, tco_rent),
            )
        }
    };
    let total_flop = t.scale(flops, SECONDS_PER_YEAR);
    let total_flop = t.mul(total_flop, years);
    let usd = t.scale(tco, 1e18);
    let usd = t.bin(Op::DivOrInf, usd, total_flop);

    let mut metrics: [Option<Val>; METRIC_COUNT] = [None; METRIC_COUNT];
    let mut set = |m: Metric, v: Val| metrics[m as usize] = Some(v);
    set(Metric::ClockFactor, clock);
    set(Metric::Goodput, g);
    let tput = t.scale(flops, 1e-15);
    set(Metric::ThroughputPflops, tput);
    set(Metric::ItMw, t.scale(it_w, 1e-6));
    set(Metric::FacilityMw, t.scale(facility_w, 1e-6));
    set(Metric::AvgFacilityMw, t.scale(avg_w, 1e-6));
    set(Metric::EnergyGwh, t.scale(energy_kwh, 1e-6));
    set(Metric::CapexUsd, capex);
    set(Metric::TcoUsd, tco);
    set(Metric::TotalEflop, t.scale(total_flop, 1e-18));
    set(Metric::UsdPerEflop, usd);
    let gpw = t.bin(Op::Div, flops, avg_w);
    set(Metric::GflopsPerW, t.scale(gpw, 1e-9));
    set(Metric::Homes, t.scale(avg_w, HOMES_PER_W));
    let carbon = param(Param::CarbonKgPerKwh);
    let co2 = t.mul(energy_kwh, carbon);
    set(Metric::Co2T, t.scale(co2, 1e-3));
    if let Some(train_flop) = s.workload.train_flop {
        let tf = t.konst(train_flop);
        let days = t.bin(Op::DivOrInf, tf, flops);
        let days = t.scale(days, DAYS_PER_SECOND);
        let e = t.mul(avg_w, days);
        let e = t.scale(e, 24.0);
        let energy_mwh = t.scale(e, 1e-6);
        set(Metric::TrainDays, days);
        let gh = t.mul(n_gpu, days);
        set(Metric::TrainGpuHours, t.scale(gh, 24.0));
        set(Metric::TrainEnergyMwh, energy_mwh);
        set(Metric::TrainCostUsd, t.scale(usd, train_flop * 1e-18));
        set(Metric::TrainCo2T, t.mul(energy_mwh, carbon));
    }
    if let Some(model_params) = s.workload.model_params {
        set(
            Metric::TokensPerS,
            t.scale(flops, 1.0 / (6.0 * model_params)),
        );
    }

    // Feasibility: valid, positive throughput, every constraint.
    let pos = t.bin(Op::Gt, tput, zero);
    tests.push(pos);
    for (metric, bound, upper) in s.constraints.bounds() {
        // A metric that does not apply is NaN and fails every bound.
        let v = metrics[metric as usize].unwrap_or(nan);
        let b = t.konst(bound);
        let op = if upper { Op::Le } else { Op::Ge };
        tests.push(t.bin(op, v, b));
    }
    let feasible = t.all(&tests);
    Traced {
        tracer: t,
        axis_slots,
        valid,
        feasible,
        metrics,
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
    /// The metrics kept statistics of that are scalars: (metric, scalar slot, axes).
    scalar_metrics: Vec<(usize, u32, u64)>,
    /// The metrics kept statistics of that are columns.
    column_metrics: Vec<(usize, Val)>,
    /// Column metrics whose statistics follow from another column's (their step is not
    /// run unless that fails).
    derived: Vec<Derived>,
}

/// A column metric `base * s` or `base / s` (`s` a positive scalar) that nothing else
/// reads. Rounding is monotone, so over any mask `min(base * s) = min(base) * s` and the
/// same for the maximum, exactly; the sum is `sum(base) * s` to within a few units in the
/// last place (tests hold sums to 1e-9 relative). So the column itself is never computed:
/// on the default scenario this is the cost per FLOP, a division per configuration saved.
/// Where `s` is not positive and finite, or the base has a negative or non-finite value
/// among the feasible configurations, the step runs and the statistics are taken from the
/// column.
#[derive(Clone, Copy, Debug)]
struct Derived {
    metric: usize,
    step: Step,
    base: Val,
    scale: u32,
    op: Op,
}

impl Derived {
    fn step_out(&self) -> Val {
        Val {
            slot: self.step.out,
            deps: self.step.deps,
        }
    }
}

/// The steps of one kind of window: every scalar step first (a scalar never depends on a
/// column), then the column steps, each list in tape order.
struct Run {
    scalar: Vec<ScalarStep>,
    column: Vec<Step>,
}

/// A step with scalar operands and result, by scalar slot.
#[derive(Clone, Copy, Debug)]
struct ScalarStep {
    op: Op,
    a: u32,
    b: u32,
    c: u32,
    out: u32,
}

impl ScalarStep {
    fn of(step: &Step) -> Option<ScalarStep> {
        let index = |s: Slot| match s {
            Slot::S(i) => Some(i),
            Slot::V(_) => None,
        };
        if matches!(step.op, Op::Fill { .. }) {
            return None;
        }
        Some(ScalarStep {
            op: step.op,
            a: index(step.a)?,
            b: index(step.b)?,
            c: index(step.c)?,
            out: index(step.out)?,
        })
    }
}

impl StagedKernel {
    pub fn new(plan: &SweepPlan) -> StagedKernel {
        let layout = Layout::new(plan);
        let traced = trace(plan, &layout);
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
                    scalar: steps.clone().filter_map(ScalarStep::of).collect(),
                    column: steps
                        .filter(|st| ScalarStep::of(st).is_none())
                        .copied()
                        .collect(),
                });
            }
        }
        let derived = derivable(plan, &traced);
        for run in &mut runs {
            run.column
                .retain(|st| !derived.iter().any(|d| d.step.out == st.out));
        }
        let (mut scalar_metrics, mut column_metrics) = (Vec::new(), Vec::new());
        for &mi in &layout.metrics {
            match traced.metrics[mi] {
                Some(Val {
                    slot: Slot::S(i),
                    deps,
                }) => scalar_metrics.push((mi, i, deps)),
                Some(_) if derived.iter().any(|d| d.metric == mi) => {}
                Some(v) => column_metrics.push((mi, v)),
                None => {}
            }
        }
        StagedKernel {
            layout,
            traced,
            runs,
            scalar_metrics,
            column_metrics,
            derived,
        }
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
            return unsafe { self.eval_avx2::<FULL>(plan, range) };
        }
        self.eval::<FULL>(plan, range)
    }

    #[cfg(target_arch = "x86_64")]
    #[target_feature(enable = "avx2")]
    unsafe fn eval_avx2<const FULL: bool>(
        &self,
        plan: &SweepPlan,
        range: Range<u64>,
    ) -> Reductions {
        self.eval::<FULL>(plan, range)
    }

    #[inline(always)]
    fn eval<const FULL: bool>(&self, plan: &SweepPlan, range: Range<u64>) -> Reductions {
        let layout = &self.layout;
        let grid = &plan.grid;
        let mut red = Reductions::empty(plan);
        let mut st = State {
            scalars: self.traced.tracer.scalars.clone(),
            cols: vec![vec![0.0; W]; self.traced.tracer.columns as usize],
            digits: vec![0; grid.lens.len()],
            clock_memo: (usize::MAX, 0, 0.0),
            pareto_memo: (f64::NAN, 0),
            cache: ReduceCache::default(),
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
            let run = &self.runs[2 * k + span_changed as usize];
            for step in &run.scalar {
                self.run_scalar(plan, &mut st, step);
            }
            for step in &run.column {
                self.run_column(plan, &mut st, step, j0, n);
            }
            let changed = layout.changed_bits(k, span_changed);
            self.reduce::<FULL>(plan, &mut st, changed, idx, j0, n, &mut red);
            idx += n as u64;
            k = if j0 + n as u64 == layout.block {
                advance_outer(&mut st.digits[..layout.inner], &grid.lens)
            } else {
                layout.inner
            };
        }
        red
    }
}

/// The column metrics whose statistics can follow from another column's (see [`Derived`]).
fn derivable(plan: &SweepPlan, traced: &Traced) -> Vec<Derived> {
    let steps = &traced.tracer.steps;
    // Columns read by a step, a mask, the objective or the Pareto bins.
    let mut read: Vec<Slot> = steps.iter().flat_map(|st| [st.a, st.b, st.c]).collect();
    read.extend(
        [traced.valid.col, traced.feasible.col]
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
        if !matches!(out, Slot::V(_)) || read.contains(out) {
            continue;
        }
        let Some(step) = steps.iter().find(|st| st.out == *out) else {
            continue;
        };
        let op = step.op;
        let (base, scale) = match (op, step.a, step.b) {
            (Op::Mul | Op::Div | Op::DivOrInf, Slot::V(_), Slot::S(s)) => (step.a, s),
            (Op::Mul, Slot::S(s), Slot::V(_)) => (step.b, s),
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
            op,
        });
    }
    derived
}

impl Layout {
    /// Bits of the axes that change when outer axis `k` turns (axes `k..inner`; `inner`
    /// = none), plus the inner axes when the window's span changed.
    fn changed_bits(&self, k: usize, span: bool) -> u64 {
        let outer = (k..self.inner).fold(0u64, |m, a| m | 1 << a);
        outer | if span { self.inner_bits } else { 0 }
    }
}

/// Move the outer axes to the next inner block, like an odometer; returns the first
/// (outermost) axis that changed.
#[inline(always)]
fn advance_outer(digits: &mut [u64], lens: &[u64]) -> usize {
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
    /// The last scalar clock factor: (accelerator, power bits, value).
    clock_memo: (usize, u64, f64),
    /// The last scalar facility power and its Pareto bin.
    pareto_memo: (f64, usize),
    cache: ReduceCache,
}

/// A bit no axis uses, set in the staleness of a fresh cache: a cached reduction is
/// computed at least once, even when it depends on no axis (a constant metric).
const FIRST: u64 = 1 << 63;

/// Reductions of the window before, re-used while their inputs did not change.
struct ReduceCache {
    /// Axes changed since the counts were last computed.
    counts_stale: u64,
    /// Axes changed since the other reductions were last computed.
    full_stale: u64,
    /// Non-zero entries of the validity and feasibility column masks.
    valid_col_count: usize,
    feasible_col_count: usize,
    /// Statistics of each column metric over the feasibility column mask.
    col_stats: [MetricStats; METRIC_COUNT],
    /// The window's best: (objective, offset in the window).
    best: (f64, usize),
    /// Statistics of each derived metric's base column over the feasibility mask.
    base_stats: [MetricStats; METRIC_COUNT],
    /// Scratch columns for masked statistics.
    masked: [Vec<f64>; 3],
}

impl Default for ReduceCache {
    fn default() -> Self {
        ReduceCache {
            counts_stale: u64::MAX,
            full_stale: u64::MAX,
            valid_col_count: 0,
            feasible_col_count: 0,
            col_stats: [MetricStats::default(); METRIC_COUNT],
            best: (f64::NAN, 0),
            base_stats: [MetricStats::default(); METRIC_COUNT],
            masked: [vec![0.0; W], vec![0.0; W], vec![0.0; W]],
        }
    }
}

/// An operand of a column loop.
#[derive(Clone, Copy)]
enum Src<'a> {
    S(f64),
    V(&'a [f64]),
}

impl Src<'_> {
    #[inline(always)]
    fn at(self, j: usize) -> f64 {
        match self {
            Src::S(x) => x,
            Src::V(v) => v[j],
        }
    }
}

/// `out[j] = f(a[j], b[j])`, one loop per operand shape so each vectorises.
#[inline(always)]
fn zip2(a: Src, b: Src, out: &mut [f64], f: impl Fn(f64, f64) -> f64) {
    match (a, b) {
        (Src::V(xs), Src::S(y)) => {
            for (o, &x) in out.iter_mut().zip(xs) {
                *o = f(x, y);
            }
        }
        (Src::S(x), Src::V(ys)) => {
            for (o, &y) in out.iter_mut().zip(ys) {
                *o = f(x, y);
            }
        }
        (Src::V(xs), Src::V(ys)) => {
            for ((o, &x), &y) in out.iter_mut().zip(xs).zip(ys) {
                *o = f(x, y);
            }
        }
        (Src::S(x), Src::S(y)) => out.fill(f(x, y)),
    }
}

impl StagedKernel {
    #[inline(always)]
    fn run_scalar(&self, plan: &SweepPlan, st: &mut State, step: &ScalarStep) {
        let x = |i: u32| st.scalars[i as usize];
        let (a, b) = (x(step.a), x(step.b));
        st.scalars[step.out as usize] = with_arith!(step.op, |f| f(a, b), other => match other {
            Op::Select => {
                if a != 0.0 {
                    b
                } else {
                    x(step.c)
                }
            }
            Op::Lookup { table, stride } => {
                self.traced.tracer.tables[table as usize][a as usize * stride as usize + b as usize]
            }
            Op::Clock => {
                let key = (a as usize, b.to_bits());
                if (st.clock_memo.0, st.clock_memo.1) != key {
                    let v = clock_factor(b, &plan.scenario.accelerators[key.0]);
                    st.clock_memo = (key.0, key.1, v);
                }
                st.clock_memo.2
            }
            _ => unreachable!("a scalar step of a column op: {other:?}"),
        });
    }

    #[inline(always)]
    fn run_column(&self, plan: &SweepPlan, st: &mut State, step: &Step, j0: u64, n: usize) {
        let Slot::V(o) = step.out else {
            unreachable!("a column step makes a column")
        };
        let o = o as usize;
        let mut out = std::mem::take(&mut st.cols[o]);
        {
            let (scalars, cols) = (&st.scalars, &st.cols);
            let src = |s: Slot| match s {
                Slot::S(i) => Src::S(scalars[i as usize]),
                Slot::V(i) => Src::V(&cols[i as usize][..n]),
            };
            let out = &mut out[..n];
            with_arith!(step.op, |f| zip2(src(step.a), src(step.b), out, f), other => match other {
                Op::Select => {
                    let (m, a, b) = (src(step.a), src(step.b), src(step.c));
                    for (j, o) in out.iter_mut().enumerate() {
                        *o = if m.at(j) != 0.0 { a.at(j) } else { b.at(j) };
                    }
                }
                Op::Lookup { table, stride } => {
                    let table = &self.traced.tracer.tables[table as usize];
                    let (a, b) = (src(step.a), src(step.b));
                    for (j, o) in out.iter_mut().enumerate() {
                        *o = table[a.at(j) as usize * stride as usize + b.at(j) as usize];
                    }
                }
                Op::Clock => {
                    let (a, p) = (src(step.a), src(step.b));
                    let mut memo = (usize::MAX, 0u64, 0.0);
                    for (j, o) in out.iter_mut().enumerate() {
                        let key = (a.at(j) as usize, p.at(j).to_bits());
                        if (memo.0, memo.1) != key {
                            let v = clock_factor(p.at(j), &plan.scenario.accelerators[key.0]);
                            memo = (key.0, key.1, v);
                        }
                        *o = memo.2;
                    }
                }
                Op::Fill { ax, ok } => {
                    let ax = ax as usize;
                    let values = if ok {
                        &self.layout.value_ok[ax]
                    } else {
                        &plan.scenario.axes[ax].values
                    };
                    fill_inner(out, values, plan.grid.strides[ax], j0);
                }
                _ => unreachable!("arithmetic handled above: {other:?}"),
            });
        }
        st.cols[o] = out;
    }
}

/// The column of an inner axis over inner-block positions `j0 .. j0 + out.len()` (each
/// value repeats for `stride` positions, so it is filled run by run).
#[inline(always)]
fn fill_inner(out: &mut [f64], values: &[f64], stride: u64, j0: u64) {
    let n = out.len();
    let len = values.len() as u64;
    let mut d = ((j0 / stride) % len) as usize;
    let mut run = (stride - j0 % stride) as usize;
    let mut t = 0usize;
    while t < n {
        let m = run.min(n - t);
        if stride == 1 {
            // Consecutive values, wrapping around the axis.
            let m = (values.len() - d).min(n - t);
            out[t..t + m].copy_from_slice(&values[d..d + m]);
            t += m;
            d = 0;
            continue;
        }
        out[t..t + m].fill(values[d]);
        t += m;
        d += 1;
        if d == values.len() {
            d = 0;
        }
        run = stride.min(W as u64) as usize;
    }
}

impl StagedKernel {
    /// A traced scalar's current value.
    #[inline(always)]
    fn scalar(st: &State, v: Val) -> f64 {
        match v.slot {
            Slot::S(i) => st.scalars[i as usize],
            Slot::V(_) => unreachable!("a gate is scalar"),
        }
    }

    /// Configurations of the window inside a mask, re-counting its column only when it
    /// changed (`cached` holds the column's count).
    #[inline(always)]
    fn mask_count(st: &State, mask: Mask, n: usize, cached: usize) -> usize {
        if Self::scalar(st, mask.gate) == 0.0 {
            0
        } else if mask.col.is_some() {
            cached
        } else {
            n
        }
    }

    /// Statistics of the derived metrics (before the other reductions clear `full_stale`).
    #[inline(always)]
    fn reduce_derived(
        &self,
        plan: &SweepPlan,
        st: &mut State,
        j0: u64,
        n: usize,
        red: &mut Reductions,
    ) {
        let stale = st.cache.full_stale;
        let fcol = self.traced.feasible.col;
        let fdeps = fcol.map_or(0, |c| c.deps);
        for d in &self.derived {
            let cache = &mut st.cache;
            if (d.base.deps | fdeps | FIRST) & stale != 0 {
                let fmask = fcol.map(|c| column_of(&st.cols, c, n));
                cache.base_stats[d.metric] =
                    column_stats(column_of(&st.cols, d.base, n), fmask, &mut cache.masked);
            }
            let s = st.scalars[d.scale as usize];
            let b = cache.base_stats[d.metric];
            let stats = &mut red.stats[d.metric];
            // A non-negative base keeps the sum's error within about n ulps (no
            // cancellation); every base the model has today is non-negative when valid.
            if s > 0.0 && s.is_finite() && b.min >= 0.0 && b.max.is_finite() {
                stats.min = stats.min.min(d.op.arith(b.min, s));
                stats.max = stats.max.max(d.op.arith(b.max, s));
                stats.sum += d.op.arith(b.sum, s);
                continue;
            }
            self.run_column(plan, st, &d.step, j0, n);
            let fmask = fcol.map(|c| column_of(&st.cols, c, n));
            let own = column_stats(
                column_of(&st.cols, d.step_out(), n),
                fmask,
                &mut st.cache.masked,
            );
            red.stats[d.metric].merge(&own);
        }
    }

    #[allow(clippy::too_many_arguments)]
    #[inline(always)]
    fn reduce<const FULL: bool>(
        &self,
        plan: &SweepPlan,
        st: &mut State,
        changed: u64,
        start: u64,
        j0: u64,
        n: usize,
        red: &mut Reductions,
    ) {
        let Traced {
            valid,
            feasible,
            metrics,
            ..
        } = &self.traced;
        let layout = &self.layout;
        let cols = &st.cols;
        let col = |v: Val| column_of(cols, v, n);
        let cache = &mut st.cache;
        cache.counts_stale |= changed;
        cache.full_stale |= changed;
        if cache.counts_stale != 0 {
            let recount = |m: Option<Val>, cached: &mut usize| {
                if let Some(c) = m.filter(|c| c.deps & cache.counts_stale != 0) {
                    *cached = col(c).iter().filter(|&&x| x != 0.0).count();
                }
            };
            let (mut v, mut f) = (cache.valid_col_count, cache.feasible_col_count);
            recount(valid.col, &mut v);
            recount(feasible.col, &mut f);
            (cache.valid_col_count, cache.feasible_col_count) = (v, f);
            cache.counts_stale = 0;
        }
        red.evaluated += n as u64;
        red.invalid += (n - Self::mask_count(st, *valid, n, st.cache.valid_col_count)) as u64;
        let nf = Self::mask_count(st, *feasible, n, st.cache.feasible_col_count);
        if nf == 0 {
            return;
        }
        red.feasible += nf as u64;
        if !FULL {
            return;
        }
        self.reduce_derived(plan, st, j0, n, red);
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
            s.sum += x * nf as f64;
        }
        for &(mi, m) in &self.column_metrics {
            if (m.deps | fdeps | FIRST) & stale != 0 {
                cache.col_stats[mi] = column_stats(col(m), fmask, &mut cache.masked);
            }
            red.stats[mi].merge(&cache.col_stats[mi]);
        }

        // The window's best feasible configuration (ties: lowest index).
        let objective = plan.scenario.objective;
        let Some(obj) = metrics[objective.metric as usize] else {
            return;
        };
        let is_feasible = |j: usize| fmask.is_none_or(|m| m[j] != 0.0);
        if (obj.deps | fdeps | FIRST) & stale != 0 {
            cache.best = match obj.slot {
                Slot::S(_) => (f64::NAN, (0..n).find(|&j| is_feasible(j)).unwrap_or(0)),
                Slot::V(_) => {
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
                    best.map_or((f64::NAN, 0), |b| (b.objective, b.index as usize))
                }
            };
        }
        let objective_at = |j: usize| match obj.slot {
            Slot::S(i) => st.scalars[i as usize],
            Slot::V(_) => col(obj)[j],
        };
        let window_best = Candidate {
            objective: objective_at(cache.best.1),
            index: start + cache.best.1 as u64,
        };
        offer(&mut red.best, window_best, &objective);

        // Per group: constant over the window unless a group axis is inner.
        if plan.group_count == 1 {
            offer(&mut red.best_by[0], window_best, &objective);
        } else if !layout.group_inner {
            let g: usize = st
                .digits
                .iter()
                .zip(&layout.group_mult)
                .map(|(&d, &m)| d as usize * m)
                .sum();
            offer(&mut red.best_by[g], window_best, &objective);
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
                    index: start + j as u64,
                };
                offer(&mut red.best_by[g], c, &objective);
            }
        }

        // Per Pareto bin of facility power.
        let Some(fac) = metrics[Metric::FacilityMw as usize] else {
            return;
        };
        match fac.slot {
            Slot::S(i) => {
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
            Slot::V(_) => {
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
                        index: start + j as u64,
                    };
                    offer(&mut red.pareto[bin], c, &objective);
                }
            }
        }
    }
}

/// The first `n` values of a column.
#[inline(always)]
fn column_of(cols: &[Vec<f64>], v: Val, n: usize) -> &[f64] {
    match v.slot {
        Slot::V(i) => &cols[i as usize][..n],
        Slot::S(_) => unreachable!("a column"),
    }
}

/// Min, max and sum of a column where the mask is non-zero (all of it without a mask).
/// Element `i` goes to lane `i % 4` of four independent accumulators; a masked-out value
/// is first replaced by +inf, -inf or 0 in a separate pass, so every loop is branch-free.
#[inline(always)]
fn column_stats(xs: &[f64], mask: Option<&[f64]>, buf: &mut [Vec<f64>; 3]) -> MetricStats {
    let (lo_in, hi_in, sum_in): (&[f64], &[f64], &[f64]) = match mask {
        None => (xs, xs, xs),
        Some(ms) => {
            let n = xs.len();
            let [lo, hi, sum] = buf;
            for (((l, h), s), (&x, &m)) in lo[..n]
                .iter_mut()
                .zip(&mut hi[..n])
                .zip(&mut sum[..n])
                .zip(xs.iter().zip(ms))
            {
                let keep = m != 0.0;
                *l = if keep { x } else { f64::INFINITY };
                *h = if keep { x } else { f64::NEG_INFINITY };
                *s = if keep { x } else { 0.0 };
            }
            (&buf[0][..n], &buf[1][..n], &buf[2][..n])
        }
    };
    let mut lo = [f64::INFINITY; 4];
    let mut hi = [f64::NEG_INFINITY; 4];
    let mut sum = [0.0f64; 4];
    let whole = xs.len() / 4 * 4;
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
    for i in whole..xs.len() {
        let l = i % 4;
        lo[l] = if lo_in[i] < lo[l] { lo_in[i] } else { lo[l] };
        hi[l] = if hi_in[i] > hi[l] { hi_in[i] } else { hi[l] };
        sum[l] += sum_in[i];
    }
    let mut st = MetricStats::default();
    for l in 0..4 {
        st.min = st.min.min(lo[l]);
        st.max = st.max.max(hi[l]);
    }
    st.sum = (sum[0] + sum[1]) + (sum[2] + sum[3]);
    st
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

    // Whether the results are right is tested against the scalar model in
    // tests/core_sweep.rs; these check that the derivation applies where it should.

    #[test]
    fn the_default_scenario_derives_the_cost_per_flop() {
        let derived = derived_metrics(None);
        assert_eq!(derived, ["usd_per_eflop"]);
    }

    #[test]
    fn metrics_read_by_the_objective_or_a_step_are_not_derived() {
        let derived = derived_metrics(Some(
            r#"
name = "t"
[axes]
carbon_kg_per_kwh = [0.4, 0.0]
gpu_count = { from = 1000, to = 50000, steps = 40 }
[fixed]
accelerator = "H100-SXM"
[workload]
train_flop = 1e24
[objective]
metric = "usd_per_eflop"
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
