//! The scalar model (`clustersweep::model::evaluate`) against values worked by hand from the
//! formulas of `shared/spec/model.md`, plus an independent re-implementation of the spec
//! checked over many random configurations, validity, feasibility and every constraint.

use clustersweep::catalog::Catalog;
use clustersweep::model::{
    self, is_feasible, Accelerator, Constraints, Evaluation, Metric, Objective, Sense, Workload,
};
use clustersweep::params::{CostModel, FacilityBasis, Param, Precision, PARAM_COUNT};
use clustersweep::scenario::Scenario;

mod common;
use common::Rng;

/// A made-up accelerator with round figures so the hand-worked numbers stay readable.
fn acc() -> Accelerator {
    Accelerator {
        id: "ROUND-1".into(),
        name: "round numbers".into(),
        vendor: "test".into(),
        // fp4: none, fp8: 2000, bf16: 1000 TFLOP/s dense.
        peak_tflops: [None, Some(2000.0), Some(1000.0)],
        tdp_w: 1000.0,
        idle_w: 100.0,
        min_power_w: 200.0,
        dvfs_exponent: 3.0,
        host_w: 250.0,
        mtbf_hours: 36_000.0,
        price_usd: 20_000.0,
        host_capex_usd: 10_000.0,
        hbm_gb: 100.0,
        source: "test".into(),
        param_values: [None; PARAM_COUNT],
    }
}

/// A configuration with every parameter by name: the oracle's own description, turned
/// into the model's parameter array by [`Config::to_model`].
#[derive(Clone, Copy, Debug, PartialEq)]
struct Config {
    precision: Precision,
    cost_model: CostModel,
    gpu_count: f64,
    power_w: f64,
    power_frac: Option<f64>,
    utilization: f64,
    load_frac: f64,
    pue: f64,
    host_w: f64,
    job_gpus: f64,
    mtbf_hours: f64,
    checkpoint_s: f64,
    restart_s: f64,
    years: f64,
    electricity_usd_per_kwh: f64,
    gpu_price_usd: f64,
    host_capex_usd: f64,
    facility_usd_per_w: f64,
    gpu_hour_usd: f64,
    carbon_kg_per_kwh: f64,
    // v2 "time and money".
    ramp_years: f64,
    discount_rate: f64,
    residual_frac: f64,
    price_decline: f64,
    facility_basis: FacilityBasis,
}

impl Config {
    /// The model's configuration on accelerator `a` (idle_w and dvfs_exponent are the
    /// accelerator's figures, as in the spec's v1).
    fn to_model(self, a: &Accelerator) -> model::Config {
        let mut c = model::Config::base(a);
        c[Param::Accelerator] = 0.0;
        c[Param::Precision] = self.precision.code();
        c[Param::CostModel] = self.cost_model.code();
        c[Param::FacilityBasis] = self.facility_basis.code();
        let named = [
            (Param::GpuCount, self.gpu_count),
            (Param::PowerW, self.power_w),
            (Param::PowerFrac, self.power_frac.unwrap_or(f64::NAN)),
            (Param::Utilization, self.utilization),
            (Param::LoadFrac, self.load_frac),
            (Param::Pue, self.pue),
            (Param::HostW, self.host_w),
            (Param::JobGpus, self.job_gpus),
            (Param::MtbfHours, self.mtbf_hours),
            (Param::CheckpointS, self.checkpoint_s),
            (Param::RestartS, self.restart_s),
            (Param::Years, self.years),
            (Param::ElectricityUsdPerKwh, self.electricity_usd_per_kwh),
            (Param::GpuPriceUsd, self.gpu_price_usd),
            (Param::HostCapexUsd, self.host_capex_usd),
            (Param::FacilityUsdPerW, self.facility_usd_per_w),
            (Param::GpuHourUsd, self.gpu_hour_usd),
            (Param::CarbonKgPerKwh, self.carbon_kg_per_kwh),
            (Param::RampYears, self.ramp_years),
            (Param::DiscountRate, self.discount_rate),
            (Param::ResidualFrac, self.residual_frac),
            (Param::PriceDecline, self.price_decline),
        ];
        for (p, v) in named {
            c[p] = v;
        }
        c
    }

    /// The named form of a resolved configuration.
    fn named(c: &model::Config, a: &Accelerator) -> Config {
        Config {
            precision: Precision::from_code(c[Param::Precision]),
            cost_model: CostModel::from_code(c[Param::CostModel]),
            gpu_count: c[Param::GpuCount],
            power_w: c.power_w(a),
            power_frac: c.power_from_frac().then_some(c[Param::PowerFrac]),
            utilization: c[Param::Utilization],
            load_frac: c[Param::LoadFrac],
            pue: c[Param::Pue],
            host_w: c[Param::HostW],
            job_gpus: c[Param::JobGpus],
            mtbf_hours: c[Param::MtbfHours],
            checkpoint_s: c[Param::CheckpointS],
            restart_s: c[Param::RestartS],
            years: c[Param::Years],
            electricity_usd_per_kwh: c[Param::ElectricityUsdPerKwh],
            gpu_price_usd: c[Param::GpuPriceUsd],
            host_capex_usd: c[Param::HostCapexUsd],
            facility_usd_per_w: c[Param::FacilityUsdPerW],
            gpu_hour_usd: c[Param::GpuHourUsd],
            carbon_kg_per_kwh: c[Param::CarbonKgPerKwh],
            ramp_years: c[Param::RampYears],
            discount_rate: c[Param::DiscountRate],
            residual_frac: c[Param::ResidualFrac],
            price_decline: c[Param::PriceDecline],
            facility_basis: FacilityBasis::from_code(c[Param::FacilityBasis]),
        }
    }
}

/// The library's f64 model on a named configuration.
fn evaluate(c: &Config, a: &Accelerator, w: &Workload) -> Evaluation {
    model::evaluate(&c.to_model(a), a, w)
}

/// Own, full power, whole-cluster job; Young's formula chosen so w = 0.1 + 0.01.
fn own_full_power() -> Config {
    Config {
        precision: Precision::Bf16,
        cost_model: CostModel::Own,
        gpu_count: 1000.0,
        power_w: 1000.0,
        power_frac: None,
        utilization: 0.5,
        load_frac: 0.8,
        pue: 1.25,
        host_w: 250.0,
        job_gpus: 0.0,
        mtbf_hours: 36_000.0,
        // M = 36000 h * 3600 / 1000 = 129,600 s; 2 * 648 / 129,600 = 0.01 -> sqrt = 0.1
        checkpoint_s: 648.0,
        // 1296 / 129,600 = 0.01
        restart_s: 1296.0,
        years: 2.0,
        electricity_usd_per_kwh: 0.1,
        gpu_price_usd: 20_000.0,
        host_capex_usd: 10_000.0,
        facility_usd_per_w: 12.0,
        gpu_hour_usd: 0.0,
        carbon_kg_per_kwh: 0.4,
        ramp_years: 0.0,
        discount_rate: 0.0,
        residual_frac: 0.0,
        price_decline: 0.0,
        facility_basis: FacilityBasis::Tdp,
    }
}

fn m(e: &Evaluation, metric: Metric) -> f64 {
    e.metrics[metric as usize]
}

#[track_caller]
fn close(got: f64, want: f64, what: &str) {
    let tol = 1e-12 * want.abs().max(got.abs()) + 1e-300;
    assert!(
        (got - want).abs() <= tol,
        "{what}: got {got:e}, expected {want:e} (rel err {:e})",
        ((got - want) / want).abs()
    );
}

#[test]
fn own_full_power_whole_cluster_by_hand() {
    let a = acc();
    let c = own_full_power();
    // train_flop: exactly 10 days at the cluster's useful rate (F = 4.45e17, see below).
    let w = Workload {
        train_flop: Some(4.45e17 * 86_400.0 * 10.0),
        model_params: Some(1e9),
    };
    let e = evaluate(&c, &a, &w);
    assert!(e.valid);

    // s = ((1000 - 100) / (1000 - 100))^(1/3) = 1
    close(m(&e, Metric::ClockFactor), 1.0, "clock_factor");
    // g = 1 - (0.1 + 0.01) = 0.89
    close(m(&e, Metric::Goodput), 0.89, "goodput");
    // f = 1000e12 * 0.5 * 1 = 5e14 FLOP/s; F = 1000 * 5e14 * 0.89 = 4.45e17 FLOP/s
    close(m(&e, Metric::ThroughputPflops), 445.0, "throughput_pflops");
    // it_w = 1000 * (1000 + 250) = 1.25e6 W
    close(m(&e, Metric::ItMw), 1.25, "it_mw");
    // facility_w = 1.25e6 * 1.25 = 1.5625e6 W
    close(m(&e, Metric::FacilityMw), 1.5625, "facility_mw");
    // draw_w = 100 + 900 * 0.8 = 820; avg_w = 1000 * (820 + 250) * 1.25 = 1.3375e6 W
    close(m(&e, Metric::AvgFacilityMw), 1.3375, "avg_facility_mw");
    // energy_kwh = 1337.5 kW * 8766 h * 2 = 23,449,050 kWh
    close(m(&e, Metric::EnergyGwh), 23.449_05, "energy_gwh");
    // capex = 1000 * 30,000 + 1000 * (1000 + 250) * 1.25 * 12 = 3e7 + 1.875e7
    close(m(&e, Metric::CapexUsd), 48_750_000.0, "capex_usd");
    // tco = capex + 23,449,050 * 0.1 = 48,750,000 + 2,344,905
    close(m(&e, Metric::TcoUsd), 51_094_905.0, "tco_usd");
    // total_flop = 4.45e17 * 31,557,600 * 2 = 2.8086264e25 -> 2.8086264e7 EFLOP
    close(m(&e, Metric::TotalEflop), 2.808_626_4e7, "total_eflop");
    close(
        m(&e, Metric::UsdPerEflop),
        51_094_905.0 / 2.808_626_4e7,
        "usd_per_eflop",
    );
    // 4.45e17 / 1.3375e6 / 1e9
    close(
        m(&e, Metric::GflopsPerW),
        4.45e17 / 1.3375e6 / 1e9,
        "gflops_per_w",
    );
    // 1.3375e6 * 8766 / 1000 / 10,500 = 1116.6214...
    close(
        m(&e, Metric::Homes),
        1.3375e6 * 8766.0 / 1e3 / 10_500.0,
        "homes",
    );
    // 23,449,050 kWh * 0.4 kg / 1000 = 9,379.62 t
    close(m(&e, Metric::Co2T), 9_379.62, "co2_t");
    close(m(&e, Metric::TrainDays), 10.0, "train_days");
    // 1000 GPUs * 240 h
    close(m(&e, Metric::TrainGpuHours), 240_000.0, "train_gpu_hours");
    // 1.3375e6 W * 240 h / 1e6 = 321 MWh
    close(m(&e, Metric::TrainEnergyMwh), 321.0, "train_energy_mwh");
    // usd_per_eflop * 384,480 EFLOP
    close(
        m(&e, Metric::TrainCostUsd),
        51_094_905.0 / 2.808_626_4e7 * 384_480.0,
        "train_cost_usd",
    );
    close(m(&e, Metric::TrainCo2T), 128.4, "train_co2_t");
    // 4.45e17 / (6 * 1e9)
    close(m(&e, Metric::TokensPerS), 4.45e17 / 6e9, "tokens_per_s");

    assert!(is_feasible(&e, &Constraints::default()));
}

#[test]
fn rent_power_frac_job_smaller_than_cluster_by_hand() {
    let a = acc();
    let mut c = own_full_power();
    c.cost_model = CostModel::Rent;
    c.gpu_hour_usd = 3.0;
    c.years = 1.0;
    // power_frac 0.6 -> P = 600 W
    c.power_frac = Some(0.6);
    c.power_w = 600.0;
    c.precision = Precision::Fp8;
    // J = min(500, 1000) = 500 -> M = 36000 * 3600 / 500 = 259,200 s
    c.job_gpus = 500.0;
    c.checkpoint_s = 1296.0; // 2 * 1296 / 259,200 = 0.01 -> 0.1
    c.restart_s = 2592.0; // 2592 / 259,200 = 0.01
    c.pue = 1.0;
    let e = evaluate(&c, &a, &Workload::default());
    assert!(e.valid);

    let s = (500.0f64 / 900.0).powf(1.0 / 3.0); // 0.822071...
    close(m(&e, Metric::ClockFactor), s, "clock_factor");
    close(m(&e, Metric::Goodput), 0.89, "goodput");
    // f = 2000e12 * 0.5 * s; F = 1000 * f * 0.89
    let flops = 1000.0 * 2000e12 * 0.5 * s * 0.89;
    close(m(&e, Metric::ThroughputPflops), flops / 1e15, "throughput");
    // it_w = 1000 * (600 + 250) = 850,000 W; pue 1
    close(m(&e, Metric::ItMw), 0.85, "it_mw");
    close(m(&e, Metric::FacilityMw), 0.85, "facility_mw");
    // draw = 100 + 500 * 0.8 = 500; avg = 1000 * 750 = 750,000 W
    close(m(&e, Metric::AvgFacilityMw), 0.75, "avg_facility_mw");
    // 750 kW * 8766 h = 6,574,500 kWh
    close(m(&e, Metric::EnergyGwh), 6.5745, "energy_gwh");
    // rent: capex 0, tco = 1000 * 8766 * 1 * 3
    close(m(&e, Metric::CapexUsd), 0.0, "capex_usd");
    close(m(&e, Metric::TcoUsd), 26_298_000.0, "tco_usd");
    let total_flop = flops * 31_557_600.0;
    close(m(&e, Metric::TotalEflop), total_flop / 1e18, "total_eflop");
    close(
        m(&e, Metric::UsdPerEflop),
        26_298_000.0 / (total_flop / 1e18),
        "usd_per_eflop",
    );
    close(
        m(&e, Metric::GflopsPerW),
        flops / 750_000.0 / 1e9,
        "gflops/W",
    );
    close(m(&e, Metric::Co2T), 6_574_500.0 * 0.4 / 1000.0, "co2_t");
    // No workload: workload metrics are absent (NaN), not zero.
    for metric in [
        Metric::TrainDays,
        Metric::TrainGpuHours,
        Metric::TrainEnergyMwh,
        Metric::TrainCostUsd,
        Metric::TrainCo2T,
        Metric::TokensPerS,
    ] {
        assert!(m(&e, metric).is_nan(), "{metric} should not apply");
    }
}

#[test]
fn job_gpus_larger_than_cluster_is_the_whole_cluster() {
    let a = acc();
    let mut whole = own_full_power();
    whole.job_gpus = 0.0;
    let mut larger = own_full_power();
    larger.job_gpus = 5000.0; // J = min(5000, 1000) = 1000
    let e0 = evaluate(&whole, &a, &Workload::default());
    let e1 = evaluate(&larger, &a, &Workload::default());
    close(m(&e1, Metric::Goodput), 0.89, "goodput, J = N");
    let bits = |e: &Evaluation| e.metrics.map(f64::to_bits);
    assert_eq!(bits(&e0), bits(&e1));

    // job of 250 GPUs: M = 36000 * 3600 / 250 = 518,400 s
    let mut small = own_full_power();
    small.job_gpus = 250.0;
    let e2 = evaluate(&small, &a, &Workload::default());
    let mm: f64 = 518_400.0;
    let g = 1.0 - ((2.0 * 648.0 / mm).sqrt() + 1296.0 / mm);
    close(m(&e2, Metric::Goodput), g, "goodput J = 250");
}

#[test]
fn goodput_is_clamped_at_zero_and_usd_per_eflop_is_infinite() {
    let a = acc();
    let mut c = own_full_power();
    // restart_s / M = 200,000 / 129,600 > 1 -> w > 1 -> g = 0
    c.restart_s = 200_000.0;
    let w = Workload {
        train_flop: Some(1e24),
        model_params: Some(1e9),
    };
    let e = evaluate(&c, &a, &w);
    assert!(e.valid, "a zero goodput is a valid configuration");
    assert_eq!(m(&e, Metric::Goodput), 0.0);
    assert_eq!(m(&e, Metric::ThroughputPflops), 0.0);
    assert_eq!(m(&e, Metric::TotalEflop), 0.0);
    assert_eq!(m(&e, Metric::UsdPerEflop), f64::INFINITY);
    assert_eq!(m(&e, Metric::TrainDays), f64::INFINITY);
    assert_eq!(m(&e, Metric::TokensPerS), 0.0);
    // Costs and power do not depend on goodput.
    close(m(&e, Metric::TcoUsd), 51_094_905.0, "tco_usd");
    assert!(
        !is_feasible(&e, &Constraints::default()),
        "zero useful throughput is never feasible"
    );

    // Goodput is also clamped when w is exactly 1 (M = 129,600 s, restart = M).
    c.restart_s = 129_600.0;
    c.checkpoint_s = 0.0;
    let e = evaluate(&c, &a, &Workload::default());
    assert_eq!(m(&e, Metric::Goodput), 0.0);
    assert!(!is_feasible(&e, &Constraints::default()));

    // Zero checkpoint and restart times: no loss at all.
    c.restart_s = 0.0;
    let e = evaluate(&c, &a, &Workload::default());
    assert_eq!(m(&e, Metric::Goodput), 1.0);
}

#[test]
fn power_at_the_range_ends() {
    let a = acc();
    let mut c = own_full_power();
    // At min_power_w = 200: s = (100 / 900)^(1/3)
    c.power_w = 200.0;
    let e = evaluate(&c, &a, &Workload::default());
    assert!(e.valid, "P = min_power_w is valid");
    close(
        m(&e, Metric::ClockFactor),
        (100.0f64 / 900.0).cbrt(),
        "clock_factor at min power",
    );
    // dvfs_exponent 2: s = sqrt(100/900) = 1/3
    let mut a2 = acc();
    a2.dvfs_exponent = 2.0;
    let e = evaluate(&c, &a2, &Workload::default());
    close(m(&e, Metric::ClockFactor), 1.0 / 3.0, "gamma 2");
}

/// A change to a configuration.
type Change = Box<dyn Fn(&mut Config)>;

#[test]
fn invalid_configurations() {
    let a = acc();
    let base = own_full_power();
    let cases: Vec<(&str, Change)> = vec![
        ("power below min_power_w", Box::new(|c| c.power_w = 199.0)),
        ("power above tdp_w", Box::new(|c| c.power_w = 1000.5)),
        (
            "power_frac below min power",
            Box::new(|c| {
                c.power_frac = Some(0.1);
                c.power_w = 100.0;
            }),
        ),
        (
            "power_frac above 1",
            Box::new(|c| {
                c.power_frac = Some(1.2);
                c.power_w = 1200.0;
            }),
        ),
        (
            "precision without a peak",
            Box::new(|c| c.precision = Precision::Fp4),
        ),
        ("gpu_count 0", Box::new(|c| c.gpu_count = 0.0)),
        ("gpu_count above 1e8", Box::new(|c| c.gpu_count = 1e8 + 1.0)),
        ("gpu_count not integer", Box::new(|c| c.gpu_count = 10.5)),
        ("pue 3.5", Box::new(|c| c.pue = 3.5)),
        ("pue below 1", Box::new(|c| c.pue = 0.99)),
        ("utilization 0", Box::new(|c| c.utilization = 0.0)),
        ("utilization above 1", Box::new(|c| c.utilization = 1.01)),
        ("load_frac above 1", Box::new(|c| c.load_frac = 1.1)),
        ("load_frac negative", Box::new(|c| c.load_frac = -0.1)),
        ("host_w negative", Box::new(|c| c.host_w = -1.0)),
        ("job_gpus negative", Box::new(|c| c.job_gpus = -1.0)),
        ("mtbf_hours 0", Box::new(|c| c.mtbf_hours = 0.0)),
        ("checkpoint_s negative", Box::new(|c| c.checkpoint_s = -1.0)),
        ("restart_s negative", Box::new(|c| c.restart_s = -1.0)),
        ("years 0", Box::new(|c| c.years = 0.0)),
        (
            "electricity negative",
            Box::new(|c| c.electricity_usd_per_kwh = -0.01),
        ),
        ("gpu price negative", Box::new(|c| c.gpu_price_usd = -1.0)),
        ("host capex negative", Box::new(|c| c.host_capex_usd = -1.0)),
        (
            "facility $/W negative",
            Box::new(|c| c.facility_usd_per_w = -1.0),
        ),
        ("gpu hour negative", Box::new(|c| c.gpu_hour_usd = -1.0)),
        ("carbon negative", Box::new(|c| c.carbon_kg_per_kwh = -0.1)),
        ("ramp_years negative", Box::new(|c| c.ramp_years = -0.1)),
        (
            "ramp_years beyond years",
            Box::new(|c| c.ramp_years = 2.001),
        ),
        (
            "discount_rate negative",
            Box::new(|c| c.discount_rate = -1e-9),
        ),
        (
            "discount_rate above 1",
            Box::new(|c| c.discount_rate = 1.01),
        ),
        (
            "residual_frac negative",
            Box::new(|c| c.residual_frac = -0.1),
        ),
        ("residual_frac above 1", Box::new(|c| c.residual_frac = 1.1)),
        (
            "price_decline negative",
            Box::new(|c| c.price_decline = -0.1),
        ),
        ("price_decline 1", Box::new(|c| c.price_decline = 1.0)),
    ];
    assert!(evaluate(&base, &a, &Workload::default()).valid);
    for (what, change) in cases {
        let mut c = base;
        change(&mut c);
        let e = evaluate(&c, &a, &Workload::default());
        assert!(!e.valid, "{what}: should be invalid");
        assert!(
            !is_feasible(&e, &Constraints::default()),
            "{what}: an invalid configuration is never feasible"
        );
    }
    // The edges of the valid ranges are valid.
    let edges: Vec<(&str, Change)> = vec![
        ("gpu_count 1", Box::new(|c| c.gpu_count = 1.0)),
        ("gpu_count 1e8", Box::new(|c| c.gpu_count = 1e8)),
        ("pue 1", Box::new(|c| c.pue = 1.0)),
        ("pue 3", Box::new(|c| c.pue = 3.0)),
        ("utilization 1", Box::new(|c| c.utilization = 1.0)),
        ("load_frac 0", Box::new(|c| c.load_frac = 0.0)),
        ("load_frac 1", Box::new(|c| c.load_frac = 1.0)),
        (
            "power_frac 1",
            Box::new(|c| {
                c.power_frac = Some(1.0);
                c.power_w = 1000.0;
            }),
        ),
        ("fp8 has a peak", Box::new(|c| c.precision = Precision::Fp8)),
        ("zero prices", Box::new(|c| c.gpu_price_usd = 0.0)),
        ("ramp_years = years", Box::new(|c| c.ramp_years = 2.0)),
        ("discount_rate 1", Box::new(|c| c.discount_rate = 1.0)),
        ("residual_frac 1", Box::new(|c| c.residual_frac = 1.0)),
        ("price_decline 0.999", Box::new(|c| c.price_decline = 0.999)),
    ];
    for (what, change) in edges {
        let mut c = base;
        change(&mut c);
        assert!(
            evaluate(&c, &a, &Workload::default()).valid,
            "{what}: should be valid"
        );
    }
}

/// The spec's formulas again, written out independently, returning (metric name, value).
fn spec_model(
    c: &Config,
    a: &Accelerator,
    train_flop: Option<f64>,
    model_params: Option<f64>,
) -> Vec<(&'static str, f64)> {
    const H: f64 = 8766.0;
    const S: f64 = 31_557_600.0;
    let n = c.gpu_count;
    let p = c.power_w;
    let peak = match c.precision {
        Precision::Fp4 => a.peak_tflops[0],
        Precision::Fp8 => a.peak_tflops[1],
        Precision::Bf16 => a.peak_tflops[2],
    }
    .unwrap();
    let s = ((p - a.idle_w) / (a.tdp_w - a.idle_w)).powf(1.0 / a.dvfs_exponent);
    let f = peak * 1e12 * c.utilization * s;
    let j = if c.job_gpus == 0.0 {
        n
    } else if c.job_gpus < n {
        c.job_gpus
    } else {
        n
    };
    let mtbf_s = c.mtbf_hours * 3600.0 / j;
    let w = (2.0 * c.checkpoint_s / mtbf_s).sqrt() + c.restart_s / mtbf_s;
    let g = (1.0 - w).clamp(0.0, 1.0);
    let big_f = n * f * g;
    let draw_w = a.idle_w + (p - a.idle_w) * c.load_frac;
    let it_w = n * (p + c.host_w);
    let facility_w = it_w * c.pue;
    let avg_w = n * (draw_w + c.host_w) * c.pue;
    // v2 "time and money", the spec's closed forms and their stated limits as written.
    let (y, rr, r, delta) = (c.years, c.ramp_years, c.discount_rate, c.price_decline);
    let phi = 1.0 - rr / (2.0 * y);
    let big_phi = if r == 0.0 {
        y * phi
    } else if rr == 0.0 {
        (1.0 - (-r * y).exp()) / r
    } else {
        (1.0 - (-r * rr).exp() * (1.0 + r * rr)) / (r * r * rr)
            + ((-r * rr).exp() - (-r * y).exp()) / r
    };
    let lambda = (1.0 / (1.0 - delta)).ln();
    let kappa = if lambda * rr == 0.0 {
        1.0
    } else {
        (1.0 - (-lambda * rr).exp()) / (lambda * rr)
    };
    let basis_w = match c.facility_basis {
        FacilityBasis::Tdp => a.tdp_w,
        FacilityBasis::Limit => p,
    };
    let energy_kwh = avg_w / 1000.0 * H * y * phi;
    let hw_capex = n * (c.gpu_price_usd + c.host_capex_usd) * kappa;
    let facility_usd = n * (basis_w + c.host_w) * c.pue * c.facility_usd_per_w;
    let (capex, tco) = match c.cost_model {
        CostModel::Own => {
            let capex = hw_capex + facility_usd;
            let tco = capex + energy_kwh * c.electricity_usd_per_kwh - c.residual_frac * hw_capex;
            (capex, tco)
        }
        CostModel::Rent => (0.0, n * H * y * phi * c.gpu_hour_usd),
    };
    let total_flop = big_f * S * y * phi;
    let a_rate = r + lambda;
    let hw_pv = n
        * (c.gpu_price_usd + c.host_capex_usd)
        * if a_rate * rr == 0.0 {
            1.0
        } else {
            (1.0 - (-a_rate * rr).exp()) / (a_rate * rr)
        };
    let npv_cost = match c.cost_model {
        CostModel::Own => {
            hw_pv + facility_usd + avg_w / 1000.0 * H * c.electricity_usd_per_kwh * big_phi
                - c.residual_frac * hw_capex * (-r * y).exp()
        }
        CostModel::Rent => n * H * c.gpu_hour_usd * big_phi,
    };
    let flop_pv = big_f * S * big_phi;
    let levelized = if flop_pv == 0.0 {
        f64::INFINITY
    } else {
        npv_cost / (flop_pv / 1e18)
    };
    let usd_per_eflop = if total_flop == 0.0 {
        f64::INFINITY
    } else {
        tco / (total_flop / 1e18)
    };
    let mut out = vec![
        ("clock_factor", s),
        ("goodput", g),
        ("throughput_pflops", big_f / 1e15),
        ("it_mw", it_w / 1e6),
        ("facility_mw", facility_w / 1e6),
        ("avg_facility_mw", avg_w / 1e6),
        ("energy_gwh", energy_kwh / 1e6),
        ("capex_usd", capex),
        ("tco_usd", tco),
        ("total_eflop", total_flop / 1e18),
        ("usd_per_eflop", usd_per_eflop),
        ("gflops_per_w", big_f / avg_w / 1e9),
        ("homes", avg_w * H / 1000.0 / 10_500.0),
        ("co2_t", energy_kwh * c.carbon_kg_per_kwh / 1000.0),
        // v2: the fleet's datasheet peak.
        ("peak_pflops", n * peak * 1e12 / 1e15),
        // v2: time and money.
        ("npv_cost_usd", npv_cost),
        ("levelized_usd_per_eflop", levelized),
        ("usd_per_gpu_hour", tco / (n * H * y * phi)),
    ];
    if let Some(tf) = train_flop {
        let days = if big_f == 0.0 {
            f64::INFINITY
        } else {
            tf / big_f / 86_400.0
        };
        let mwh = avg_w * days * 24.0 / 1e6;
        out.push(("train_days", days));
        out.push(("train_gpu_hours", n * days * 24.0));
        out.push(("train_energy_mwh", mwh));
        out.push(("train_cost_usd", usd_per_eflop * tf / 1e18));
        out.push(("train_co2_t", mwh * c.carbon_kg_per_kwh));
    }
    if let Some(mp) = model_params {
        out.push(("tokens_per_s", big_f / (6.0 * mp)));
    }
    out
}

#[test]
fn evaluate_matches_an_independent_implementation_on_random_configs() {
    let catalog = Catalog::builtin().unwrap();
    let mut rng = Rng(0x5eed);
    let mut checked = 0;
    for _ in 0..3000 {
        let a = &catalog.accelerators[rng.int(0, catalog.accelerators.len() as u64 - 1) as usize];
        let precisions: Vec<Precision> = Precision::ALL
            .into_iter()
            .filter(|p| a.peak(*p).is_some())
            .collect();
        let precision = precisions[rng.int(0, precisions.len() as u64 - 1) as usize];
        let use_frac = rng.unit() < 0.5;
        let power_frac = rng.range(a.min_power_w / a.tdp_w, 1.0);
        let power_w = if use_frac {
            power_frac * a.tdp_w
        } else {
            rng.range(a.min_power_w, a.tdp_w)
        };
        let c = Config {
            precision,
            cost_model: if rng.unit() < 0.5 {
                CostModel::Own
            } else {
                CostModel::Rent
            },
            gpu_count: rng.int(1, 2_000_000) as f64,
            power_w,
            power_frac: use_frac.then_some(power_frac),
            utilization: rng.range(0.01, 1.0),
            load_frac: rng.range(0.0, 1.0),
            pue: rng.range(1.0, 3.0),
            host_w: rng.range(0.0, 1000.0),
            job_gpus: if rng.unit() < 0.3 {
                0.0
            } else {
                rng.int(1, 3_000_000) as f64
            },
            mtbf_hours: rng.range(1000.0, 100_000.0),
            checkpoint_s: rng.range(0.0, 120.0),
            restart_s: rng.range(0.0, 2000.0),
            years: rng.range(0.5, 10.0),
            electricity_usd_per_kwh: rng.range(0.0, 0.3),
            gpu_price_usd: rng.range(0.0, 60_000.0),
            host_capex_usd: rng.range(0.0, 30_000.0),
            facility_usd_per_w: rng.range(0.0, 20.0),
            gpu_hour_usd: rng.range(0.0, 8.0),
            carbon_kg_per_kwh: rng.range(0.0, 1.0),
            ramp_years: 0.0,
            discount_rate: 0.0,
            residual_frac: 0.0,
            price_decline: 0.0,
            facility_basis: FacilityBasis::Tdp,
        };
        // v2 "time and money": a third of the draws keep the defaults (the v1 model);
        // the others draw each away from the limits where the spec's closed forms cancel
        // (the limits themselves are checked against an integral in tests/time_money.rs).
        let mut c = c;
        if rng.unit() < 0.67 {
            c.ramp_years = if rng.unit() < 0.3 {
                0.0
            } else {
                rng.range(0.5, c.years)
            };
            c.discount_rate = if rng.unit() < 0.3 {
                0.0
            } else {
                rng.range(0.02, 1.0)
            };
            c.residual_frac = rng.range(0.0, 1.0);
            c.price_decline = if rng.unit() < 0.3 {
                0.0
            } else {
                rng.range(0.05, 0.9)
            };
            c.facility_basis = if rng.unit() < 0.5 {
                FacilityBasis::Tdp
            } else {
                FacilityBasis::Limit
            };
        }
        let train_flop = (rng.unit() < 0.5).then(|| 10f64.powf(rng.range(20.0, 27.0)));
        let model_params = (rng.unit() < 0.5).then(|| 10f64.powf(rng.range(8.0, 12.5)));
        let e = evaluate(
            &c,
            a,
            &Workload {
                train_flop,
                model_params,
            },
        );
        assert!(e.valid, "{c:?} on {} should be valid", a.id);
        let want = spec_model(&c, a, train_flop, model_params);
        for (name, v) in &want {
            let metric = Metric::from_name(name).unwrap();
            let got = e.metrics[metric as usize];
            if v.is_infinite() || *v == 0.0 {
                assert_eq!(got, *v, "{name} for {c:?}");
            } else {
                let rel = ((got - v) / v).abs();
                // The present values: the spec's closed forms lose up to ~1e-11 to
                // cancellation at the smallest draws (r R = 0.01).
                let tol = if name.starts_with("npv") || name.starts_with("levelized") {
                    1e-9
                } else {
                    1e-12
                };
                assert!(rel <= tol, "{name}: got {got}, spec {v}, for {c:?}");
            }
        }
        for metric in Metric::ALL {
            if !want.iter().any(|(n, _)| *n == metric.name()) {
                assert!(
                    e.metrics[metric as usize].is_nan(),
                    "{metric} should be NaN"
                );
            }
        }
        checked += 1;
    }
    assert_eq!(checked, 3000);
}

#[test]
fn each_constraint_cuts_at_its_bound_inclusively() {
    let a = acc();
    let c = own_full_power();
    let w = Workload {
        train_flop: Some(4.45e17 * 86_400.0 * 10.0),
        model_params: None,
    };
    let e = evaluate(&c, &a, &w);
    // Hand-worked values of own_full_power (see own_full_power_whole_cluster_by_hand).
    let facility_mw = 1.5625;
    let tco = 51_094_905.0;
    let capex = 48_750_000.0;
    let days = 10.0;
    let pflops = 445.0;
    type Setter = fn(&mut Constraints, f64);
    let cases: [(&str, f64, bool, Setter); 6] = [
        ("max_facility_mw", facility_mw, true, |k, x| {
            k.max_facility_mw = Some(x)
        }),
        ("max_tco_usd", tco, true, |k, x| k.max_tco_usd = Some(x)),
        ("max_capex_usd", capex, true, |k, x| {
            k.max_capex_usd = Some(x)
        }),
        ("max_train_days", days, true, |k, x| {
            k.max_train_days = Some(x)
        }),
        ("min_throughput_pflops", pflops, false, |k, x| {
            k.min_throughput_pflops = Some(x)
        }),
        // With every v2 parameter at its default the present cost is the total cost.
        ("max_npv_cost_usd", tco, true, |k, x| {
            k.max_npv_cost_usd = Some(x)
        }),
    ];
    for (name, value, upper, set) in cases {
        let tight = if upper { value * 0.999 } else { value * 1.001 };
        let loose = if upper { value * 1.001 } else { value * 0.999 };
        let mut k = Constraints::default();
        set(&mut k, tight);
        assert!(!is_feasible(&e, &k), "{name} = {tight} should cut {value}");
        let mut k = Constraints::default();
        set(&mut k, loose);
        assert!(is_feasible(&e, &k), "{name} = {loose} should admit {value}");
        // The same constraint set by name.
        let mut k = Constraints::default();
        assert!(k.set(name, tight));
        assert!(!is_feasible(&e, &k), "{name} by name");
        // Both constraints together: the tight one wins.
        let mut k = Constraints::default();
        set(&mut k, loose);
        k.max_facility_mw = Some(if name == "max_facility_mw" {
            loose
        } else {
            1.0
        });
        assert_eq!(
            is_feasible(&e, &k),
            name == "max_facility_mw",
            "{name} combined with a tight facility cap"
        );
    }
    let mut k = Constraints::default();
    assert!(
        !k.set("max_speed", 1.0),
        "unknown constraint names are refused"
    );
}

#[test]
fn objectives_and_their_senses() {
    use Metric as M;
    let expect = [
        (M::ThroughputPflops, Sense::Max),
        (M::UsdPerEflop, Sense::Min),
        (M::TrainDays, Sense::Min),
        (M::GflopsPerW, Sense::Max),
        (M::TcoUsd, Sense::Min),
        (M::NpvCostUsd, Sense::Min),
        (M::LevelizedUsdPerEflop, Sense::Min),
    ];
    for (metric, sense) in expect {
        assert_eq!(
            Objective::spec_default_sense(metric),
            Some(sense),
            "{metric}"
        );
    }
    let d = Objective::default();
    assert_eq!((d.metric, d.sense), (M::ThroughputPflops, Sense::Max));
    let max = Objective {
        metric: M::ThroughputPflops,
        sense: Sense::Max,
    };
    assert!(max.beats(2.0, 9, 1.0, 1));
    assert!(!max.beats(1.0, 1, 2.0, 9));
    assert!(max.beats(1.0, 3, 1.0, 4), "ties: lowest index wins");
    assert!(!max.beats(1.0, 4, 1.0, 3));
    let min = Objective {
        metric: M::TcoUsd,
        sense: Sense::Min,
    };
    assert!(min.beats(1.0, 9, 2.0, 1));
    assert!(min.beats(1.0, 3, 1.0, 4));
    assert!(!min.beats(2.0, 1, 1.0, 9));
}

#[test]
fn metric_names_are_the_spec_names() {
    let names: Vec<&str> = Metric::ALL.iter().map(|m| m.name()).collect();
    assert_eq!(
        names,
        [
            "clock_factor",
            "goodput",
            "throughput_pflops",
            "it_mw",
            "facility_mw",
            "avg_facility_mw",
            "energy_gwh",
            "capex_usd",
            "tco_usd",
            "total_eflop",
            "usd_per_eflop",
            "gflops_per_w",
            "homes",
            "co2_t",
            "train_days",
            "train_gpu_hours",
            "train_energy_mwh",
            "train_cost_usd",
            "train_co2_t",
            "tokens_per_s",
            "peak_pflops",
            "npv_cost_usd",
            "levelized_usd_per_eflop",
            "usd_per_gpu_hour",
        ]
    );
}

/// A scenario that sets only what is required resolves every other parameter to the spec's
/// default (or the accelerator's figure), and evaluates to the hand-worked values.
#[test]
fn scenario_defaults_are_the_spec_defaults() {
    let catalog = Catalog::builtin().unwrap();
    let text = r#"
[fixed]
accelerator = "ROUND-1"
gpu_count = 1000

[accelerators.ROUND-1]
peak_tflops = { bf16 = 1000.0, fp8 = 2000.0 }
tdp_w = 1000
idle_w = 100
min_power_w = 200
host_w = 250
mtbf_hours = 36000
price_usd = 20000
host_capex_usd = 10000
hbm_gb = 100
"#;
    let s = Scenario::parse("defaults.toml", text, &catalog).unwrap();
    assert_eq!(s.grid().size, 1);
    let (c, a) = s.resolve(&s.values_at_index(0));
    let c = Config::named(&c, a);
    assert_eq!(a.id, "ROUND-1");
    assert_eq!(a.dvfs_exponent, 3.0, "dvfs_exponent defaults to 3");
    assert_eq!(c.precision, Precision::Bf16);
    assert_eq!(c.cost_model, CostModel::Own);
    assert_eq!(c.gpu_count, 1000.0);
    assert_eq!(c.power_w, 1000.0, "power defaults to tdp_w");
    assert_eq!(c.power_frac, None);
    assert_eq!(c.utilization, 0.4);
    assert_eq!(c.load_frac, 0.8);
    assert_eq!(c.pue, 1.2);
    assert_eq!(c.host_w, 250.0);
    assert_eq!(c.job_gpus, 0.0);
    assert_eq!(c.mtbf_hours, 36_000.0);
    assert_eq!(c.checkpoint_s, 30.0);
    assert_eq!(c.restart_s, 300.0);
    assert_eq!(c.years, 5.0);
    assert_eq!(c.electricity_usd_per_kwh, 0.08);
    assert_eq!(c.gpu_price_usd, 20_000.0);
    assert_eq!(c.host_capex_usd, 10_000.0);
    assert_eq!(c.facility_usd_per_w, 12.0);
    assert_eq!(c.gpu_hour_usd, 0.0);
    assert_eq!(c.carbon_kg_per_kwh, 0.4);
    assert_eq!(c.ramp_years, 0.0);
    assert_eq!(c.discount_rate, 0.0);
    assert_eq!(c.residual_frac, 0.0);
    assert_eq!(c.price_decline, 0.0);
    assert_eq!(c.facility_basis, FacilityBasis::Tdp);
    assert_eq!(s.objective, Objective::default());

    // Hand-worked with the defaults: M = 129,600 s, w = sqrt(60/129600) + 300/129600.
    let e = evaluate(&c, a, &s.workload);
    let g = 1.0 - ((60.0f64 / 129_600.0).sqrt() + 300.0 / 129_600.0);
    close(m(&e, Metric::Goodput), g, "goodput");
    // F = 1000 * 1000e12 * 0.4 * 1 * g
    close(
        m(&e, Metric::ThroughputPflops),
        4e17 * g / 1e15,
        "throughput",
    );
    // facility = 1000 * 1250 * 1.2 = 1.5 MW
    close(m(&e, Metric::FacilityMw), 1.5, "facility_mw");
    // capex = 3e7 + 1000 * 1250 * 1.2 * 12 = 3e7 + 1.8e7
    close(m(&e, Metric::CapexUsd), 4.8e7, "capex");
    // avg = 1000 * (820 + 250) * 1.2 = 1.284e6 W; energy = 1284 * 8766 * 5 kWh
    let kwh = 1284.0 * 8766.0 * 5.0;
    close(m(&e, Metric::EnergyGwh), kwh / 1e6, "energy");
    close(m(&e, Metric::TcoUsd), 4.8e7 + kwh * 0.08, "tco");

    // power_frac in a scenario becomes P = f * tdp_w.
    let with_frac = text.replace("gpu_count = 1000", "gpu_count = 1000\npower_frac = 0.55");
    let s = Scenario::parse("frac.toml", &with_frac, &catalog).unwrap();
    let (c, a) = s.resolve(&s.values_at_index(0));
    let c = Config::named(&c, a);
    assert_eq!(c.power_frac, Some(0.55));
    close(c.power_w, 550.0, "power_w from power_frac");
    let e = evaluate(&c, a, &s.workload);
    close(
        m(&e, Metric::ClockFactor),
        (450.0f64 / 900.0).cbrt(),
        "clock factor at 55%",
    );
}

/// A catalog entry resolved through a scenario: every accelerator-derived default comes
/// from that entry, and overrides in `[accelerators.ID]` replace single fields.
#[test]
fn catalog_defaults_and_overrides() {
    let catalog = Catalog::builtin().unwrap();
    let h100 = catalog.find("H100-SXM").unwrap().clone();
    let text = "[fixed]\naccelerator = \"H100-SXM\"\ngpu_count = 8\n";
    let s = Scenario::parse("h100.toml", text, &catalog).unwrap();
    let (c, a) = s.resolve(&s.values_at_index(0));
    let c = Config::named(&c, a);
    assert_eq!(*a, h100);
    assert_eq!(c.power_w, h100.tdp_w);
    assert_eq!(c.host_w, h100.host_w);
    assert_eq!(c.mtbf_hours, h100.mtbf_hours);
    assert_eq!(c.gpu_price_usd, h100.price_usd);
    assert_eq!(c.host_capex_usd, h100.host_capex_usd);

    let over = format!("{text}\n[accelerators.H100-SXM]\nprice_usd = 1234\nidle_w = 70\n");
    let s = Scenario::parse("h100o.toml", &over, &catalog).unwrap();
    let (c, a) = s.resolve(&s.values_at_index(0));
    let c = Config::named(&c, a);
    assert_eq!(a.price_usd, 1234.0);
    assert_eq!(a.idle_w, 70.0);
    assert_eq!(a.tdp_w, h100.tdp_w);
    assert_eq!(c.gpu_price_usd, 1234.0);
    let e = evaluate(&c, a, &s.workload);
    // s = 1 at tdp; F = 8 * 989.4e12 * 0.4 * g with J = 8, M = 50677 * 3600 / 8
    let mm = h100.mtbf_hours * 3600.0 / 8.0;
    let g = 1.0 - ((60.0 / mm).sqrt() + 300.0 / mm);
    close(
        m(&e, Metric::ThroughputPflops),
        8.0 * 989.4e12 * 0.4 * g / 1e15,
        "H100 throughput",
    );
}
