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
    /// 1.0 where `x` is finite (neither infinite nor NaN).
    IsFinite,
    /// 1.0 where `x * y` is finite: [`Op::IsFinite`] of a product without its result (the
    /// CPU kernel derives a metric `column * scalar`'s statistics without computing it).
    MulIsFinite,
    /// 1.0 where `x / y` is finite.
    DivIsFinite,
    /// 1.0 where [`Op::DivOrInf`] of `x`, `y` is finite.
    DivOrInfIsFinite,
    Sqrt,
    /// `x ^ y`.
    Pow,
    /// `clamp(x, 0, 1)`.
    Clamp01,
    /// `e^(-x)`.
    ExpNeg,
    /// `ln(1 + x)`, accurate near 0.
    Ln1p,
    /// The mean of `e^(-x s)` over `s` in [0, 1]: `(1 - e^(-x)) / x`, 1 at `x = 0`
    /// (accurate near 0: no cancellation).
    MeanExpNeg,
    /// `integral over s in [0, 1] of s e^(-x s) ds`: `(1 - e^(-x) (1 + x)) / x^2`, 1/2 at
    /// `x = 0` (a series near 0, where the closed form cancels).
    RampMeanExpNeg,
}

/// Below this `|x|`, [`Op::RampMeanExpNeg`] uses its series (f64: [`RAMP_SERIES_F64`]
/// terms, the first left out under 1e-18), where the closed form cancels.
pub const RAMP_SERIES_BELOW: f64 = 1.0;

/// Terms of the f64 series of [`Op::RampMeanExpNeg`] below [`RAMP_SERIES_BELOW`].
pub const RAMP_SERIES_F64: usize = 19;

/// The series coefficients of `integral over s in [0, 1] of s e^(-x s) ds` =
/// `sum over k of (-x)^k / (k! (k + 2))`, lowest power first.
pub const fn ramp_mean_series<const T: usize>() -> [f64; T] {
    let mut out = [0.0; T];
    let mut fact = 1.0;
    let mut k = 0;
    while k < T {
        if k > 0 {
            fact *= k as f64;
        }
        let sign = if k % 2 == 0 { 1.0 } else { -1.0 };
        out[k] = sign / (fact * (k as f64 + 2.0));
        k += 1;
    }
    out
}

/// The series coefficients of `(1 - e^(-x)) / x` = `sum over k of (-x)^k / (k + 1)!`,
/// lowest power first.
pub const fn mean_exp_series<const T: usize>() -> [f64; T] {
    let mut out = [0.0; T];
    let mut fact = 1.0;
    let mut k = 0;
    while k < T {
        fact *= k as f64 + 1.0;
        let sign = if k % 2 == 0 { 1.0 } else { -1.0 };
        out[k] = sign / fact;
        k += 1;
    }
    out
}

/// A polynomial with coefficients lowest power first, by Horner's rule.
#[inline]
pub fn horner(coeffs: &[f64], x: f64) -> f64 {
    coeffs.iter().rev().fold(0.0, |acc, &c| acc * x + c)
}

/// `(1 - e^(-x)) / x` in f64, 1 at 0: `-expm1(-x) / x` has no cancellation.
pub fn mean_exp_neg(x: f64) -> f64 {
    if x == 0.0 {
        1.0
    } else {
        -(-x).exp_m1() / x
    }
}

/// `(1 - e^(-x) (1 + x)) / x^2` in f64, 1/2 at 0: the series below
/// [`RAMP_SERIES_BELOW`], the closed form above (where `e^(-x) (1 + x)` is at most 0.74,
/// so the subtraction loses under two bits).
pub fn ramp_mean_exp_neg(x: f64) -> f64 {
    const SERIES: [f64; RAMP_SERIES_F64] = ramp_mean_series::<RAMP_SERIES_F64>();
    if x.abs() < RAMP_SERIES_BELOW {
        horner(&SERIES, x)
    } else {
        let e = (-x).exp();
        // e == 0 (x beyond ~745, or +inf): e (1 + x) is 0, not 0 * inf.
        let tail = if e > 0.0 { e * (1.0 + x) } else { 0.0 };
        (1.0 - tail) / (x * x)
    }
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
            Op::IsFinite => test(x.is_finite()),
            Op::MulIsFinite => test((x * y).is_finite()),
            Op::DivIsFinite => test((x / y).is_finite()),
            Op::DivOrInfIsFinite => test(y != 0.0 && (x / y).is_finite()),
            Op::Sqrt => x.sqrt(),
            Op::Pow => x.powf(y),
            Op::Clamp01 => x.clamp(0.0, 1.0),
            Op::ExpNeg => (-x).exp(),
            Op::Ln1p => x.ln_1p(),
            Op::MeanExpNeg => mean_exp_neg(x),
            Op::RampMeanExpNeg => ramp_mean_exp_neg(x),
        }
    }

    /// Whether the result is a 0/1 test.
    pub fn is_test(self) -> bool {
        matches!(
            self,
            Op::Eq
                | Op::Gt
                | Op::Ge
                | Op::Le
                | Op::Lt
                | Op::IsWhole
                | Op::IsFinite
                | Op::MulIsFinite
                | Op::DivIsFinite
                | Op::DivOrInfIsFinite
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

/// Whether `formulas` tests parameter `p` against its own range (the first validity tests,
/// in table order): not the categorical ones, not `power_w` (its range is the
/// accelerator's, tested after them) and `power_frac` only where it sets the power.
pub fn has_own_range(p: Param, power_from_frac: bool) -> bool {
    p.kind() != ParamKind::Categorical
        && p != Param::PowerW
        && (p != Param::PowerFrac || power_from_frac)
}

/// The model (spec `model.md`, "Evaluation of one configuration" and "Reported metrics").
/// Unit conversions multiply by powers of ten (`1e-6` ...) rather than divide.
pub fn formulas<N: Numeric>(n: &mut N) -> Outputs<N::V> {
    use Op::*;
    let mut validity = Vec::new();

    // Every numeric parameter inside its own range (power_w's range is the accelerator's,
    // below; power_frac only counts where it sets the power).
    let frac = n.power_from_frac();
    for info in PARAMS.iter().filter(|i| has_own_range(i.param, frac)) {
        let x = n.param(info.param);
        validity.push(n.in_range(info.param, x));
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
    let years = n.param(Param::Years);
    let ramp = n.param(Param::RampYears);
    let ramp_ok = n.op(Le, ramp, years);
    validity.extend([has_peak, above, below, idle_ok, ramp_ok]);

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
    // Deployed accelerator-years per accelerator: Y phi = Y - R / 2 (the fleet grows
    // linearly over the ramp R); Y itself when R = 0.
    let half = n.konst(0.5);
    let half_ramp = n.op(Mul, ramp, half);
    let deployed_years = n.op(Sub, years, half_ramp);
    let energy_kwh = n.op(Mul, avg_w, kwh_per_w);
    let energy_kwh = n.op(Mul, energy_kwh, deployed_years);

    // Money. Own: capex + energy - residual; rent: accelerator-hours.
    // Purchases spread over the ramp at prices falling by delta a year: the mean price
    // factor kappa = (1 - e^(-lambda R)) / (lambda R), lambda = -ln(1 - delta).
    let price = n.param(Param::GpuPriceUsd);
    let hcap = n.param(Param::HostCapexUsd);
    let hw = n.op(Add, price, hcap);
    let hw = n.op(Mul, gpus, hw);
    let decline = n.param(Param::PriceDecline);
    let neg_decline = n.op(Sub, zero, decline);
    let log_keep = n.op(Ln1p, neg_decline, neg_decline);
    let lambda = n.op(Sub, zero, log_keep);
    let lambda_r = n.op(Mul, lambda, ramp);
    let kappa = n.op(MeanExpNeg, lambda_r, lambda_r);
    let hw_capex = n.op(Mul, hw, kappa);
    // The facility is built for TDP (v1) or for the power limit.
    let basis = n.param(Param::FacilityBasis);
    let for_tdp = n.op(Eq, basis, zero);
    let built_w = n.select(for_tdp, tdp, power);
    let t_host = n.op(Add, built_w, host);
    let fac = n.op(Mul, gpus, t_host);
    let fac = n.op(Mul, fac, pue);
    let fac_usd = n.param(Param::FacilityUsdPerW);
    let fac = n.op(Mul, fac, fac_usd);
    let capex_own = n.op(Add, hw_capex, fac);
    let elec = n.param(Param::ElectricityUsdPerKwh);
    let energy_usd = n.op(Mul, energy_kwh, elec);
    let tco_own = n.op(Add, capex_own, energy_usd);
    let resid = n.param(Param::ResidualFrac);
    let resale = n.op(Mul, resid, hw_capex);
    let tco_own = n.op(Sub, tco_own, resale);
    let hours = n.konst(HOURS_PER_YEAR);
    let gpu_hours = n.op(Mul, gpus, hours);
    let gpu_hours_total = n.op(Mul, gpu_hours, deployed_years);
    let gpu_hour_usd = n.param(Param::GpuHourUsd);
    let tco_rent = n.op(Mul, gpu_hours_total, gpu_hour_usd);
    let cost_model = n.param(Param::CostModel);
    let own = n.op(Eq, cost_model, zero);
    let capex = n.select(own, capex_own, zero);
    let tco = n.select(own, tco_own, tco_rent);
    let usd_per_gpu_hour = n.op(Div, tco, gpu_hours_total);

    let seconds = n.konst(SECONDS_PER_YEAR);
    let flop_per_year = n.op(Mul, flops, seconds);
    let total_flop = n.op(Mul, flop_per_year, deployed_years);
    let k1e18 = n.konst(1e18);
    let usd = n.op(Mul, tco, k1e18);
    let usd_per_eflop = n.op(DivOrInf, usd, total_flop);

    // Present values (continuous discounting at r). Phi = integral over [0, Y] of
    // d(t) e^(-r t) dt, split at R into the ramp and the full fleet so that no term
    // cancels: R * ramp_mean(r R) + (Y - R) e^(-r R) mean_exp(r (Y - R)).
    let rate = n.param(Param::DiscountRate);
    let r_ramp = n.op(Mul, rate, ramp);
    let ramp_pv = n.op(RampMeanExpNeg, r_ramp, r_ramp);
    let ramp_pv = n.op(Mul, ramp, ramp_pv);
    let full_years = n.op(Sub, years, ramp);
    let r_full = n.op(Mul, rate, full_years);
    let full_pv = n.op(MeanExpNeg, r_full, r_full);
    let at_ramp_end = n.op(ExpNeg, r_ramp, r_ramp);
    let full_pv = n.op(Mul, full_pv, at_ramp_end);
    let full_pv = n.op(Mul, full_years, full_pv);
    let pv_years = n.op(Add, ramp_pv, full_pv);
    // Hardware bought over the ramp, discounted and at falling prices: rate a = r + lambda.
    let a = n.op(Add, rate, lambda);
    let a_ramp = n.op(Mul, a, ramp);
    let hw_factor = n.op(MeanExpNeg, a_ramp, a_ramp);
    let hw_pv = n.op(Mul, hw, hw_factor);
    let npv_own = n.op(Add, hw_pv, fac);
    let energy_pv = n.op(Mul, avg_w, kwh_per_w);
    let energy_pv = n.op(Mul, energy_pv, pv_years);
    let energy_pv = n.op(Mul, energy_pv, elec);
    let npv_own = n.op(Add, npv_own, energy_pv);
    let r_years = n.op(Mul, rate, years);
    let at_end = n.op(ExpNeg, r_years, r_years);
    let resale_pv = n.op(Mul, resale, at_end);
    let npv_own = n.op(Sub, npv_own, resale_pv);
    let npv_rent = n.op(Mul, gpu_hours, pv_years);
    let npv_rent = n.op(Mul, npv_rent, gpu_hour_usd);
    let npv = n.select(own, npv_own, npv_rent);
    let flop_pv = n.op(Mul, flop_per_year, pv_years);
    let npv_1e18 = n.op(Mul, npv, k1e18);
    let levelized = n.op(DivOrInf, npv_1e18, flop_pv);

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
    metrics[Metric::NpvCostUsd as usize] = Some(npv);
    metrics[Metric::LevelizedUsdPerEflop as usize] = Some(levelized);
    metrics[Metric::UsdPerGpuHour as usize] = Some(usd_per_gpu_hour);
    if let Some((days, energy_mwh, co2)) = train {
        metrics[Metric::TrainDays as usize] = Some(days);
        metrics[Metric::TrainEnergyMwh as usize] = Some(energy_mwh);
        metrics[Metric::TrainCo2T as usize] = Some(co2);
    }
    Outputs { metrics, validity }
}
