//! The model of spec `model.md`, written once: [`formulas`] is generic over a [`Numeric`]
//! context. With plain `f64` values ([`super::evaluate`]) it is the scalar reference; with
//! the tracer of `backend::staged::trace` it records the tape that the CPU kernel runs and
//! the GPU kernel's WGSL is emitted from. No other file holds a formula of the model.

use super::metrics::{Metric, METRIC_COUNT};
use super::SECONDS_PER_YEAR;
use super::{Workload, DAYS_PER_SECOND, HOMES_PER_W, HOURS_PER_YEAR, KWH_PER_W_YEAR};
use crate::params::{Figure, Param, ParamKind, Valid, PARAMS};

/// The operations of the model on two operands (one-operand ones ignore `y`). Tests give
/// 1.0 for true and 0.0 for false.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Op {
    Add,
    Sub,
    Mul,
    Div,
    /// `x / y`, or +inf where `y` is 0.
    DivOrInf,
    /// `J = N if job_gpus == 0 else min(job_gpus, N)` with `x = job_gpus`, `y = N`.
    JobSize,
    Eq,
    Gt,
    Ge,
    Le,
    Lt,
    /// 1.0 where `x` is a whole number.
    IsWhole,
    Sqrt,
    /// `x ^ y`.
    Pow,
    /// `clamp(x, 0, 1)`.
    Clamp01,
}

impl Op {
    /// The operation on f64 values: the definition every backend follows.
    #[inline(always)]
    pub fn apply(self, x: f64, y: f64) -> f64 {
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
            Op::Lt => test(x < y),
            Op::IsWhole => test(x.fract() == 0.0),
            Op::Sqrt => x.sqrt(),
            Op::Pow => x.powf(y),
            Op::Clamp01 => x.clamp(0.0, 1.0),
        }
    }

    /// Whether the result is a 0/1 test.
    pub fn is_test(self) -> bool {
        matches!(
            self,
            Op::Eq | Op::Gt | Op::Ge | Op::Le | Op::Lt | Op::IsWhole
        )
    }
}

/// What the formulas compute with: constants, parameters' effective values, accelerator
/// figures, and the operations.
pub trait Numeric {
    type V: Copy;
    fn konst(&mut self, x: f64) -> Self::V;
    /// A parameter's effective value (axis or fixed value, per-accelerator value, the
    /// accelerator's figure or the default; `times` multipliers applied). Categorical
    /// parameters give their code.
    fn param(&mut self, p: Param) -> Self::V;
    /// A figure of the configuration's accelerator.
    fn figure(&mut self, f: Figure) -> Self::V;
    /// The accelerator's dense peak (TFLOP/s) at a precision code; 0 where it has none.
    fn peak_tflops(&mut self, precision: Self::V) -> Self::V;
    fn op(&mut self, op: Op, x: Self::V, y: Self::V) -> Self::V;
    /// `a` where `mask` is non-zero, else `b`.
    fn select(&mut self, mask: Self::V, a: Self::V, b: Self::V) -> Self::V;
    /// Whether the power limit is given as a fraction of `tdp_w` (`power_frac`).
    fn power_from_frac(&self) -> bool;
    fn workload(&self) -> Workload;

    /// 1.0 where `x`, the value of `p`, is inside `p`'s own valid range.
    fn in_range(&mut self, p: Param, x: Self::V) -> Self::V {
        range_test(self, p.info().valid, x)
    }
}

/// The tests of a [`Valid`] range on `x`, multiplied.
pub fn range_test<N: Numeric + ?Sized>(n: &mut N, valid: Valid, x: N::V) -> N::V {
    use crate::params::Bound;
    let mut tests = Vec::new();
    let mut bound = |n: &mut N, b: Bound, incl: Op, excl: Op| match b {
        Bound::Open => {
            // Not NaN: x == x.
            tests.push(n.op(Op::Eq, x, x));
        }
        Bound::Incl(v) => {
            let k = n.konst(v);
            tests.push(n.op(incl, x, k));
        }
        Bound::Excl(v) => {
            let k = n.konst(v);
            tests.push(n.op(excl, x, k));
        }
    };
    bound(n, valid.lo, Op::Ge, Op::Gt);
    bound(n, valid.hi, Op::Le, Op::Lt);
    if valid.integer {
        tests.push(n.op(Op::IsWhole, x, x));
    }
    let mut all = tests[0];
    for &t in &tests[1..] {
        all = n.op(Op::Mul, all, t);
    }
    all
}

/// What one configuration evaluates to: its metrics (`None` where the workload lacks the
/// figure a metric needs) and the 0/1 tests whose product is its validity.
pub struct Outputs<V> {
    pub metrics: [Option<V>; METRIC_COUNT],
    pub validity: Vec<V>,
}

/// The model (spec `model.md`, "Evaluation of one configuration" and "Reported metrics").
/// Unit conversions multiply by powers of ten (`1e-6` ...) rather than divide.
pub fn formulas<N: Numeric>(n: &mut N) -> Outputs<N::V> {
    use Op::*;
    let mut validity = Vec::new();

    // Every numeric parameter inside its own range (power_w's range is the accelerator's,
    // below; power_frac only counts where it sets the power).
    let frac = n.power_from_frac();
    for info in PARAMS {
        let p = info.param;
        let skip = info.kind == ParamKind::Categorical
            || p == Param::PowerW
            || (p == Param::PowerFrac && !frac);
        if !skip {
            let x = n.param(p);
            validity.push(n.in_range(p, x));
        }
    }

    let tdp = n.figure(Figure::TdpW);
    let min_power = n.figure(Figure::MinPowerW);
    let idle = n.param(Param::IdleW);
    let power = if frac {
        let f = n.param(Param::PowerFrac);
        n.op(Mul, f, tdp)
    } else {
        n.param(Param::PowerW)
    };
    let prec = n.param(Param::Precision);
    let peak = n.peak_tflops(prec);
    let zero = n.konst(0.0);
    let has_peak = n.op(Gt, peak, zero);
    let above = n.op(Ge, power, min_power);
    let below = n.op(Le, power, tdp);
    let idle_ok = n.op(Lt, idle, min_power);
    validity.extend([has_peak, above, below, idle_ok]);

    // Clock factor s = ((P - idle) / (tdp - idle)) ^ (1 / gamma).
    let one = n.konst(1.0);
    let gamma = n.param(Param::DvfsExponent);
    let inv_gamma = n.op(Div, one, gamma);
    let dyn_w = n.op(Sub, power, idle);
    let span = n.op(Sub, tdp, idle);
    let ratio = n.op(Div, dyn_w, span);
    let s = n.op(Pow, ratio, inv_gamma);

    // Goodput: J, 1/M = J / (mtbf * 3600), w = sqrt(2 * checkpoint_s / M) + restart_s / M.
    let gpus = n.param(Param::GpuCount);
    let job = n.param(Param::JobGpus);
    let j = n.op(JobSize, job, gpus);
    let mtbf = n.param(Param::MtbfHours);
    let k3600 = n.konst(3600.0);
    let m = n.op(Mul, mtbf, k3600);
    let inv_m = n.op(Div, j, m);
    let ck = n.param(Param::CheckpointS);
    let two = n.konst(2.0);
    let a = n.op(Mul, ck, two);
    let a = n.op(Mul, a, inv_m);
    let a = n.op(Sqrt, a, a);
    let rs = n.param(Param::RestartS);
    let b = n.op(Mul, rs, inv_m);
    let lost = n.op(Add, a, b);
    let kept = n.op(Sub, one, lost);
    let g = n.op(Clamp01, kept, kept);

    // Useful throughput F = N * f * g, f = peak * 1e12 * utilization * s.
    let u = n.param(Param::Utilization);
    let k1e12 = n.konst(1e12);
    let peak_flops = n.op(Mul, peak, k1e12);
    let f = n.op(Mul, peak_flops, u);
    let f = n.op(Mul, f, s);
    let flops = n.op(Mul, gpus, f);
    let flops = n.op(Mul, flops, g);

    // Power and energy.
    let load = n.param(Param::LoadFrac);
    let pue = n.param(Param::Pue);
    let years = n.param(Param::Years);
    let host = n.param(Param::HostW);
    let dyn_draw = n.op(Mul, dyn_w, load);
    let draw_w = n.op(Add, idle, dyn_draw);
    let p_host = n.op(Add, power, host);
    let it_w = n.op(Mul, gpus, p_host);
    let facility_w = n.op(Mul, it_w, pue);
    let d_host = n.op(Add, draw_w, host);
    let avg_w = n.op(Mul, gpus, d_host);
    let avg_w = n.op(Mul, avg_w, pue);
    let kwh_per_w = n.konst(KWH_PER_W_YEAR);
    let energy_kwh = n.op(Mul, avg_w, kwh_per_w);
    let energy_kwh = n.op(Mul, energy_kwh, years);

    // Money. Own: capex + energy; rent: accelerator-hours.
    let price = n.param(Param::GpuPriceUsd);
    let hcap = n.param(Param::HostCapexUsd);
    let hw = n.op(Add, price, hcap);
    let hw = n.op(Mul, gpus, hw);
    let t_host = n.op(Add, tdp, host);
    let fac = n.op(Mul, gpus, t_host);
    let fac = n.op(Mul, fac, pue);
    let fac_usd = n.param(Param::FacilityUsdPerW);
    let fac = n.op(Mul, fac, fac_usd);
    let capex_own = n.op(Add, hw, fac);
    let elec = n.param(Param::ElectricityUsdPerKwh);
    let energy_usd = n.op(Mul, energy_kwh, elec);
    let tco_own = n.op(Add, capex_own, energy_usd);
    let hours = n.konst(HOURS_PER_YEAR);
    let gpu_hours = n.op(Mul, gpus, hours);
    let gpu_hours = n.op(Mul, gpu_hours, years);
    let gpu_hour_usd = n.param(Param::GpuHourUsd);
    let tco_rent = n.op(Mul, gpu_hours, gpu_hour_usd);
    let cost_model = n.param(Param::CostModel);
    let own = n.op(Eq, cost_model, zero);
    let capex = n.select(own, capex_own, zero);
    let tco = n.select(own, tco_own, tco_rent);

    let seconds = n.konst(SECONDS_PER_YEAR);
    let total_flop = n.op(Mul, flops, seconds);
    let total_flop = n.op(Mul, total_flop, years);
    let k1e18 = n.konst(1e18);
    let usd = n.op(Mul, tco, k1e18);
    let usd_per_eflop = n.op(DivOrInf, usd, total_flop);

    let mut metrics: [Option<N::V>; METRIC_COUNT] = [None; METRIC_COUNT];
    let mut scaled = |n: &mut N, m: Metric, v: N::V, k: f64| {
        let k = n.konst(k);
        metrics[m as usize] = Some(n.op(Mul, v, k));
    };
    scaled(n, Metric::ThroughputPflops, flops, 1e-15);
    scaled(n, Metric::ItMw, it_w, 1e-6);
    scaled(n, Metric::FacilityMw, facility_w, 1e-6);
    scaled(n, Metric::AvgFacilityMw, avg_w, 1e-6);
    scaled(n, Metric::EnergyGwh, energy_kwh, 1e-6);
    scaled(n, Metric::TotalEflop, total_flop, 1e-18);
    let gflops_per_j = n.op(Div, flops, avg_w);
    scaled(n, Metric::GflopsPerW, gflops_per_j, 1e-9);
    scaled(n, Metric::Homes, avg_w, HOMES_PER_W);
    let carbon = n.param(Param::CarbonKgPerKwh);
    let co2_kg = n.op(Mul, energy_kwh, carbon);
    scaled(n, Metric::Co2T, co2_kg, 1e-3);
    let fleet_peak = n.op(Mul, gpus, peak_flops);
    scaled(n, Metric::PeakPflops, fleet_peak, 1e-15);

    let workload = n.workload();
    let mut train = None;
    if let Some(train_flop) = workload.train_flop {
        let tf = n.konst(train_flop);
        let seconds = n.op(DivOrInf, tf, flops);
        let k_days = n.konst(DAYS_PER_SECOND);
        let days = n.op(Mul, seconds, k_days);
        let k24 = n.konst(24.0);
        let e = n.op(Mul, avg_w, days);
        let e = n.op(Mul, e, k24);
        let k1e_6 = n.konst(1e-6);
        let energy_mwh = n.op(Mul, e, k1e_6);
        let gh = n.op(Mul, gpus, days);
        scaled(n, Metric::TrainGpuHours, gh, 24.0);
        scaled(n, Metric::TrainCostUsd, usd_per_eflop, train_flop * 1e-18);
        let co2 = n.op(Mul, energy_mwh, carbon);
        train = Some((days, energy_mwh, co2));
    }
    if let Some(model_params) = workload.model_params {
        scaled(n, Metric::TokensPerS, flops, 1.0 / (6.0 * model_params));
    }
    metrics[Metric::ClockFactor as usize] = Some(s);
    metrics[Metric::Goodput as usize] = Some(g);
    metrics[Metric::CapexUsd as usize] = Some(capex);
    metrics[Metric::TcoUsd as usize] = Some(tco);
    metrics[Metric::UsdPerEflop as usize] = Some(usd_per_eflop);
    if let Some((days, energy_mwh, co2)) = train {
        metrics[Metric::TrainDays as usize] = Some(days);
        metrics[Metric::TrainEnergyMwh as usize] = Some(energy_mwh);
        metrics[Metric::TrainCo2T as usize] = Some(co2);
    }
    Outputs { metrics, validity }
}
