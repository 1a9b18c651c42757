//! Spec v2 "time and money" (issue 15): the ramp, present values, residual value, price
//! decline and facility basis.
//! - With every new parameter at its default, every shipped scenario evaluates and sweeps
//!   as before: the same results with the defaults written out, the v1 closed forms, and
//!   the present cost equal to the total cost.
//! - The present values and horizon totals against a numerical integral (Simpson's rule,
//!   written here) of the deployment and cash flows, at r = 0, 1e-9, 1e-5, 0.3, 1 and
//!   R = 0, 1e-9, Y / 2, Y - 1e-9, Y, within 1e-9 in f64.
//! - A hand-worked case: the continuous annuity of actuarial texts.

use clustersweep::backend::cpu::CpuBackend;
use clustersweep::backend::Backend;
use clustersweep::catalog::Catalog;
use clustersweep::model::{self, evaluate, Accelerator, Metric, Workload, METRIC_COUNT};
use clustersweep::params::{CostModel, FacilityBasis, Param};
use clustersweep::plan::SweepPlan;
use clustersweep::scenario::Scenario;

const H: f64 = 8766.0;
const S: f64 = 31_557_600.0;

/// The shipped scenarios, and the built-in default.
fn shipped(catalog: &Catalog) -> Vec<(String, Scenario)> {
    let mut out = vec![(
        "default".to_string(),
        Scenario::builtin_default(catalog).unwrap(),
    )];
    for dir in ["configs/scenarios", "benches/scenarios"] {
        let mut files: Vec<_> = std::fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap().path())
            .filter(|p| p.extension().is_some_and(|x| x == "toml"))
            .collect();
        files.sort();
        for p in files {
            let name = p.display().to_string();
            let s = Scenario::load(&name, catalog).unwrap();
            out.push((name, s));
        }
    }
    out
}

/// Whether a scenario sets any v2 "time and money" parameter (those are checked by the
/// numerics below, not against v1).
fn uses_time_and_money(s: &Scenario) -> bool {
    let v2 = [
        Param::RampYears,
        Param::DiscountRate,
        Param::ResidualFrac,
        Param::PriceDecline,
        Param::FacilityBasis,
    ];
    v2.iter().any(|p| {
        !matches!(
            s.sources[p.index()],
            clustersweep::scenario::Source::Default
        ) || s
            .accelerators
            .iter()
            .any(|a| a.param_values[p.index()].is_some())
    })
}

/// Up to `n` flat indices spread over the grid, both ends included.
fn sample(size: u64, n: u64) -> Vec<u64> {
    if size <= n {
        return (0..size).collect();
    }
    (0..n).map(|k| k * (size - 1) / (n - 1)).collect()
}

fn rel(a: f64, b: f64) -> f64 {
    if a == b {
        0.0
    } else {
        (a - b).abs() / a.abs().max(b.abs())
    }
}

/// The v1 closed forms of the money and horizon metrics (spec "Evaluation of one
/// configuration", before v2), from the configuration's parameters.
fn v1_money(c: &model::Config, a: &Accelerator, m: &[f64; METRIC_COUNT]) -> [(Metric, f64); 6] {
    let n = c[Param::GpuCount];
    let p = c.power_w(a);
    let idle = c[Param::IdleW];
    let years = c[Param::Years];
    let draw = idle + (p - idle) * c[Param::LoadFrac];
    let avg_w = n * (draw + c[Param::HostW]) * c[Param::Pue];
    let energy_kwh = avg_w / 1000.0 * H * years;
    let own = CostModel::from_code(c[Param::CostModel]) == CostModel::Own;
    let capex = if own {
        n * (c[Param::GpuPriceUsd] + c[Param::HostCapexUsd])
            + n * (a.tdp_w + c[Param::HostW]) * c[Param::Pue] * c[Param::FacilityUsdPerW]
    } else {
        0.0
    };
    let tco = if own {
        capex + energy_kwh * c[Param::ElectricityUsdPerKwh]
    } else {
        n * H * years * c[Param::GpuHourUsd]
    };
    let total_flop = m[Metric::ThroughputPflops as usize] * 1e15 * S * years;
    [
        (Metric::EnergyGwh, energy_kwh / 1e6),
        (Metric::CapexUsd, capex),
        (Metric::TcoUsd, tco),
        (Metric::TotalEflop, total_flop / 1e18),
        (Metric::Co2T, energy_kwh * c[Param::CarbonKgPerKwh] / 1000.0),
        (Metric::UsdPerGpuHour, tco / (n * H * years)),
    ]
}

#[test]
fn defaults_leave_every_shipped_scenario_as_it_was() {
    let catalog = Catalog::builtin().unwrap();
    let mut checked = 0;
    for (name, s) in shipped(&catalog) {
        if uses_time_and_money(&s) {
            continue;
        }
        // The same scenario with every new parameter's default written out.
        let mut explicit = s.clone();
        for (p, v) in [
            (Param::RampYears, "0"),
            (Param::DiscountRate, "0"),
            (Param::ResidualFrac, "0"),
            (Param::PriceDecline, "0"),
            (Param::FacilityBasis, "tdp"),
        ] {
            explicit.set_from_text(p, v).unwrap();
        }
        let size = s.grid().size;
        for i in sample(size, 400) {
            let (c, a) = s.resolve(&s.values_at_index(i));
            let e = evaluate(&c, a, &s.workload);
            let (cx, ax) = explicit.resolve(&explicit.values_at_index(i));
            let ex = evaluate(&cx, ax, &explicit.workload);
            // Bit for bit (NaN where a metric does not apply).
            let bits = |m: &[f64; METRIC_COUNT]| m.map(f64::to_bits);
            assert_eq!(
                (e.valid, bits(&e.metrics)),
                (ex.valid, bits(&ex.metrics)),
                "{name} #{i}"
            );
            if !e.valid {
                continue;
            }
            for (m, want) in v1_money(&c, a, &e.metrics) {
                let got = e.metrics[m as usize];
                assert!(
                    rel(got, want) <= 1e-12,
                    "{name} #{i}: {m} {got} vs v1 {want}"
                );
            }
            // Undiscounted, unramped: the present cost is the total cost, the levelized
            // cost the cost per EFLOP.
            let pairs = [
                (Metric::NpvCostUsd, Metric::TcoUsd),
                (Metric::LevelizedUsdPerEflop, Metric::UsdPerEflop),
            ];
            for (new, old) in pairs {
                let (x, y) = (e.metrics[new as usize], e.metrics[old as usize]);
                assert!(
                    rel(x, y) <= 1e-12 || (x.is_infinite() && y.is_infinite()),
                    "{name} #{i}: {new} {x} vs {old} {y}"
                );
            }
            checked += 1;
        }
        // The sweep: the same reductions (best, counts, every statistic) either way, on a
        // part of the grid the test can afford.
        let cpu = CpuBackend::new(0).unwrap();
        let range = 0..size.min(200_000);
        let plan = SweepPlan::new(s.clone(), None).unwrap();
        let plan_x = SweepPlan::new(explicit, None).unwrap();
        let a = cpu.run(&plan, range.clone(), &|_| {}).unwrap();
        let b = cpu.run(&plan_x, range, &|_| {}).unwrap();
        assert_eq!(a, b, "{name}: sweeps with defaults unset and written out");
    }
    assert!(checked > 1000, "{checked}");
}

/// Simpson's rule on [a, b] with `n` (even) intervals.
fn simpson(f: impl Fn(f64) -> f64, a: f64, b: f64, n: usize) -> f64 {
    if b <= a {
        return 0.0;
    }
    let h = (b - a) / n as f64;
    let mut sum = f(a) + f(b);
    for k in 1..n {
        let w = if k % 2 == 1 { 4.0 } else { 2.0 };
        sum += w * f(a + h * k as f64);
    }
    sum * h / 3.0
}

/// The cash and compute flows of one configuration, integrated numerically: what the
/// closed forms of spec v2 "time and money" must equal.
struct Integrated {
    npv_cost: f64,
    flop_pv: f64,
    tco: f64,
    capex: f64,
    total_flop: f64,
    energy_kwh: f64,
}

/// The flows of configuration `c` on `a`, with `flops` its full-fleet useful FLOP/s.
fn integrate(c: &model::Config, a: &Accelerator, flops: f64) -> Integrated {
    const N: usize = 4000;
    let n = c[Param::GpuCount];
    let (y, ramp, r) = (c[Param::Years], c[Param::RampYears], c[Param::DiscountRate]);
    let delta = c[Param::PriceDecline];
    let p = c.power_w(a);
    let idle = c[Param::IdleW];
    let pue = c[Param::Pue];
    let host = c[Param::HostW];
    // Deployed share d(t) and its discounted and undiscounted integrals over [0, Y], split
    // at the ramp's end where d has a kink.
    let d = |t: f64| {
        if ramp == 0.0 {
            1.0
        } else {
            (t / ramp).min(1.0)
        }
    };
    let over = |f: &dyn Fn(f64) -> f64| simpson(f, 0.0, ramp, N) + simpson(f, ramp, y, N);
    let deployed_pv = over(&|t| d(t) * (-r * t).exp());
    let deployed = over(&d);
    // Hardware bought at a constant rate N / R over [0, R] (all at t = 0 when R = 0), at a
    // price falling by delta a year: integrated over s = t / R in [0, 1].
    let price0 = c[Param::GpuPriceUsd] + c[Param::HostCapexUsd];
    let bought = |discount: f64| {
        if ramp == 0.0 {
            n * price0
        } else {
            n * price0
                * simpson(
                    |s| ((1.0 - delta).powf(s * ramp)) * (-discount * s * ramp).exp(),
                    0.0,
                    1.0,
                    N,
                )
        }
    };
    let hw = bought(0.0);
    let hw_pv = bought(r);
    let basis = match FacilityBasis::from_code(c[Param::FacilityBasis]) {
        FacilityBasis::Tdp => a.tdp_w,
        FacilityBasis::Limit => p,
    };
    let facility = n * (basis + host) * pue * c[Param::FacilityUsdPerW];
    let draw = idle + (p - idle) * c[Param::LoadFrac];
    let kw = n * (draw + host) * pue / 1000.0;
    let elec = c[Param::ElectricityUsdPerKwh];
    let resid = c[Param::ResidualFrac];
    let rent = n * H * c[Param::GpuHourUsd];
    let own = CostModel::from_code(c[Param::CostModel]) == CostModel::Own;
    let energy_kwh = kw * H * deployed;
    let (npv_cost, tco, capex) = if own {
        (
            hw_pv + facility + kw * H * elec * deployed_pv - resid * hw * (-r * y).exp(),
            hw + facility + energy_kwh * elec - resid * hw,
            hw + facility,
        )
    } else {
        (rent * deployed_pv, rent * deployed, 0.0)
    };
    Integrated {
        npv_cost,
        flop_pv: flops * S * deployed_pv,
        tco,
        capex,
        total_flop: flops * S * deployed,
        energy_kwh,
    }
}

/// Every combination of the rates and ramps where the closed forms cancel or switch
/// branches, on both cost models and facility bases, against the integral of the flows.
#[test]
fn present_values_match_the_integral_of_the_flows_at_the_limits() {
    let catalog = Catalog::builtin().unwrap();
    let a = catalog.find("GB300").unwrap().clone();
    let y = 8.0;
    let mut worst: f64 = 0.0;
    let mut n = 0;
    for r in [0.0, 1e-9, 1e-5, 0.3, 1.0] {
        for ramp in [0.0, 1e-9, 1e-5, y / 2.0, y - 1e-9, y] {
            for delta in [0.0, 1e-9, 1e-5, 0.2, 0.9] {
                for own in [true, false] {
                    let mut c = model::Config::base(&a);
                    c[Param::Accelerator] = 0.0;
                    c[Param::GpuCount] = 100_000.0;
                    c[Param::PowerW] = 1200.0;
                    c[Param::Years] = y;
                    c[Param::RampYears] = ramp;
                    c[Param::DiscountRate] = r;
                    c[Param::PriceDecline] = delta;
                    c[Param::ResidualFrac] = 0.15;
                    c[Param::FacilityBasis] = if own {
                        FacilityBasis::Limit.code()
                    } else {
                        FacilityBasis::Tdp.code()
                    };
                    c[Param::CostModel] = if own {
                        CostModel::Own.code()
                    } else {
                        CostModel::Rent.code()
                    };
                    c[Param::GpuHourUsd] = 3.5;
                    let e = evaluate(&c, &a, &Workload::default());
                    assert!(e.valid, "r {r} R {ramp} delta {delta}");
                    let m = |k: Metric| e.metrics[k as usize];
                    let flops = m(Metric::ThroughputPflops) * 1e15;
                    let want = integrate(&c, &a, flops);
                    let ctx = format!("r {r} R {ramp} delta {delta} own {own}");
                    let levelized = want.npv_cost / (want.flop_pv / 1e18);
                    let gpu_hours = 100_000.0 * H * (y - ramp / 2.0);
                    for (what, got, want) in [
                        ("npv_cost_usd", m(Metric::NpvCostUsd), want.npv_cost),
                        ("levelized", m(Metric::LevelizedUsdPerEflop), levelized),
                        ("tco_usd", m(Metric::TcoUsd), want.tco),
                        ("capex_usd", m(Metric::CapexUsd), want.capex),
                        ("total_eflop", m(Metric::TotalEflop), want.total_flop / 1e18),
                        ("energy_gwh", m(Metric::EnergyGwh), want.energy_kwh / 1e6),
                        (
                            "usd_per_gpu_hour",
                            m(Metric::UsdPerGpuHour),
                            want.tco / gpu_hours,
                        ),
                    ] {
                        let err = rel(got, want);
                        worst = worst.max(err);
                        assert!(
                            err <= 1e-9,
                            "{ctx}: {what} {got} vs integral {want} ({err:e})"
                        );
                    }
                    n += 1;
                }
            }
        }
    }
    assert_eq!(n, 5 * 6 * 5 * 2);
    eprintln!("worst relative difference from the integral: {worst:e}");
}

/// Each closed form is continuous at its limits: a rate or ramp of 1e-9 moves the
/// results by about 1e-9 of themselves (the first-order change), never by the cancelled
/// digits of the closed form.
#[test]
fn closed_forms_are_continuous_at_zero_rate_and_ramp() {
    use clustersweep::model::formulas::{mean_exp_neg, ramp_mean_exp_neg};
    for x in [0.0f64, 1e-300, 1e-200, 1e-12, 1e-9, 1e-6, 1e-3] {
        // mean_exp(x) = 1 - x/2 + x^2/6 - ...; ramp_mean(x) = 1/2 - x/3 + x^2/8 - ...
        let series1 = 1.0 - x / 2.0 + x * x / 6.0 - x * x * x / 24.0;
        let series2 = 0.5 - x / 3.0 + x * x / 8.0 - x * x * x / 30.0;
        let tol = x.powi(4) / 40.0 + 4e-16;
        assert!(rel(mean_exp_neg(x), series1) <= tol, "mean_exp {x}");
        assert!(rel(ramp_mean_exp_neg(x), series2) <= tol, "ramp_mean {x}");
    }
    // Away from 0 the closed forms themselves (they lose at most eps / x^2 there).
    for x in [0.1f64, 0.5, 0.999, 1.0, 1.001, 5.0, 40.0] {
        let closed1 = (1.0 - (-x).exp()) / x;
        let closed2 = (1.0 - (-x).exp() * (1.0 + x)) / (x * x);
        assert!(rel(mean_exp_neg(x), closed1) <= 1e-14, "mean_exp {x}");
        assert!(rel(ramp_mean_exp_neg(x), closed2) <= 1e-13, "ramp_mean {x}");
    }
    // Large and infinite arguments: the tails, not NaN.
    assert_eq!(mean_exp_neg(f64::INFINITY), 0.0);
    assert_eq!(ramp_mean_exp_neg(f64::INFINITY), 0.0);
    assert!(rel(ramp_mean_exp_neg(1e3), 1e-6) < 1e-12);
    // Both sides of the series threshold agree.
    let below = ramp_mean_exp_neg(1.0 - 1e-15);
    let above = ramp_mean_exp_neg(1.0);
    assert!(rel(below, above) < 1e-14, "{below} vs {above}");
}

/// The price-decline factor kappa and the hardware's present value: hand-worked at
/// delta = 0.2, R = 4, r = 0.1: lambda = ln(1.25), kappa = (1 - 0.8^4) / (4 lambda).
#[test]
fn price_decline_by_hand() {
    let catalog = Catalog::builtin().unwrap();
    let a = catalog.find("H100-SXM").unwrap().clone();
    let mut c = model::Config::base(&a);
    c[Param::Accelerator] = 0.0;
    c[Param::GpuCount] = 1000.0;
    c[Param::Years] = 5.0;
    c[Param::RampYears] = 4.0;
    c[Param::PriceDecline] = 0.2;
    c[Param::DiscountRate] = 0.1;
    c[Param::FacilityUsdPerW] = 0.0;
    c[Param::ElectricityUsdPerKwh] = 0.0;
    let e = evaluate(&c, &a, &Workload::default());
    let hw = 1000.0 * (a.price_usd + a.host_capex_usd);
    // 1 - 0.8^4 = 0.5904; 4 ln 1.25 = 0.892574205...
    let kappa = 0.5904 / (4.0 * 1.25f64.ln());
    assert!(rel(e.metrics[Metric::CapexUsd as usize], hw * kappa) < 1e-13);
    // a = 0.1 + ln 1.25; PV factor (1 - e^(-4a)) / (4a) = (1 - 0.8^4 e^(-0.4)) / (4a).
    let a_rate = 0.1 + 1.25f64.ln();
    let pv = (1.0 - 0.4096 * (-0.4f64).exp()) / (4.0 * a_rate);
    assert!(rel(e.metrics[Metric::NpvCostUsd as usize], hw * pv) < 1e-13);
}
