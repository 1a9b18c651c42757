//! The cluster model traced into a tape: the formulas of `model::evaluate`, in the same
//! order, over scalars and columns, with validity and feasibility as masks.

use super::tape::{Mask, Op, Slot, Step, Tracer, Val};
use super::Layout;
use crate::model::{
    clock_factor, value_in_range, Accelerator, Metric, DAYS_PER_SECOND, HOMES_PER_W,
    HOURS_PER_YEAR, KWH_PER_W_YEAR, METRIC_COUNT, SECONDS_PER_YEAR,
};
use crate::params::{Param, ParamDefault, PARAMS, PARAM_COUNT};
use crate::plan::SweepPlan;
use crate::scenario::Source;

/// The traced model of one plan: what the tape computes and where the results are.
pub(super) struct Traced {
    pub(super) tracer: Tracer,
    /// Per outer axis: the scalar slots of its value and of its validity (written per window).
    pub(super) axis_slots: Vec<(u32, u32)>,
    pub(super) valid: Mask,
    pub(super) feasible: Mask,
    /// Per metric (None where it does not apply).
    pub(super) metrics: [Option<Val>; METRIC_COUNT],
}

/// Trace the model (same formulas and order as `model::evaluate`).
pub(super) fn trace(plan: &SweepPlan, layout: &Layout) -> Traced {
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
            let (Slot::Scalar(vi), Slot::Scalar(oi)) = (value, ok) else {
                unreachable!("out_slot(false) gives scalar slots")
            };
            axis_slots.push((vi, oi));
            (Val { slot: value, deps }, Val { slot: ok, deps })
        } else {
            let fill = |t: &mut Tracer, ok: bool| {
                let out = t.out_slot(true);
                let op = Op::Fill { ax: ax as u32, ok };
                let none = Slot::Scalar(0);
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
        slot: Slot::Scalar(0),
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
