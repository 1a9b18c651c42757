//! Spec v2 "accelerator figures as parameters": `dvfs_exponent` and `idle_w` as parameters,
//! per-accelerator values in `[accelerators.ID]`, `times` multipliers (fixed and as an
//! axis), `peak_pflops`, and the input errors they can raise.

use clustersweep::catalog::Catalog;
use clustersweep::model::{evaluate, Metric};
use clustersweep::params::Param;
use clustersweep::plan::SweepPlan;
use clustersweep::scenario::Scenario;

fn parse(text: &str) -> Result<Scenario, String> {
    let catalog = Catalog::builtin().expect("built-in catalog");
    Scenario::parse("t.toml", text, &catalog).map_err(|e| e.to_string())
}

// Renting at a price of 0 is bad input (spec v2): the tests that do not set a price per
// accelerator rent at BASE_PRICE.
const BASE: &str = "[axes]\naccelerator = [\"H100-SXM\", \"GB200\"]\n[fixed]\ngpu_count = 1000\ncost_model = \"rent\"\n";
const BASE_PRICE: &str = "gpu_hour_usd = 3.0\n";

#[test]
fn per_accelerator_values_and_multipliers_resolve_in_order() {
    let s = parse(&format!(
        "{BASE}gpu_price_usd = {{ times = 1.5 }}\n[accelerators.H100-SXM]\ngpu_hour_usd = 2.0\nutilization = 0.45\n[accelerators.GB200]\ngpu_hour_usd = 4.0\n"
    ))
    .unwrap();
    let catalog = Catalog::builtin().unwrap();
    for (index, id, hour, util) in [(0, "H100-SXM", 2.0, 0.45), (1, "GB200", 4.0, 0.4)] {
        let (c, a) = s.resolve(&s.values_at_index(index));
        assert_eq!(a.id, id);
        assert_eq!(c[Param::GpuHourUsd], hour, "{id}: per-accelerator rent");
        assert_eq!(
            c[Param::Utilization],
            util,
            "{id}: per-accelerator or default"
        );
        let price = catalog.find(id).unwrap().price_usd;
        assert_eq!(c[Param::GpuPriceUsd], 1.5 * price, "{id}: times the figure");
        let e = evaluate(&c, a, &s.workload);
        let tco = 1000.0 * 8766.0 * 5.0 * hour;
        assert!(
            (e.metrics[Metric::TcoUsd as usize] - tco).abs() <= 1e-6 * tco,
            "{id}"
        );
        let peak = 1000.0 * a.peak_tflops[2].unwrap() * 1e12 / 1e15;
        let got = e.metrics[Metric::PeakPflops as usize];
        assert!(
            (got - peak).abs() <= 1e-12 * peak,
            "{id}: peak_pflops {got} vs {peak}"
        );
    }
}

#[test]
fn a_times_axis_multiplies_each_accelerators_value() {
    let s = parse(&format!(
        "{BASE}{BASE_PRICE}[axes.utilization]\ntimes = [0.5, 2.0]\n[accelerators.GB200]\nutilization = 0.3\n"
    ))
    .unwrap();
    let plan = SweepPlan::new(s, None).unwrap();
    let s = &plan.scenario;
    let got: Vec<f64> = (0..plan.grid.size)
        .map(|i| s.resolve(&s.values_at_index(i)).0[Param::Utilization])
        .collect();
    // H100 (default 0.4) x [0.5, 2.0], GB200 (0.3) x [0.5, 2.0].
    assert_eq!(got, [0.2, 0.8, 0.15, 0.6]);
    // 0.8 and 0.6 are valid; a product above 1 would make the configuration invalid.
    let (c, a) = s.resolve(&s.values_at_index(1));
    assert!(evaluate(&c, a, &s.workload).valid);
}

#[test]
fn dvfs_exponent_and_idle_w_are_parameters() {
    let s = parse(&format!(
        "{BASE}{BASE_PRICE}power_frac = 0.5\n[axes.dvfs_exponent]\nfrom = 2\nto = 4\nsteps = 2\n[accelerators.H100-SXM]\nidle_w = 100\n"
    ))
    .unwrap();
    let (c, a) = s.resolve(&s.values_at_index(0));
    assert_eq!(
        (a.id.as_str(), c[Param::DvfsExponent], c[Param::IdleW]),
        ("H100-SXM", 2.0, 100.0)
    );
    let e = evaluate(&c, a, &s.workload);
    let want = ((0.5 * a.tdp_w - 100.0) / (a.tdp_w - 100.0)).powf(0.5);
    assert_eq!(e.metrics[Metric::ClockFactor as usize], want);
    // idle_w at or above min_power_w makes the configuration invalid.
    let s = parse(&format!("{BASE}{BASE_PRICE}idle_w = 5000\n")).unwrap();
    let (c, a) = s.resolve(&s.values_at_index(0));
    assert!(!evaluate(&c, a, &s.workload).valid);
}

#[test]
fn bad_relative_and_per_accelerator_input_names_the_key() {
    let cases = [
        (
            format!("{BASE}job_gpus = {{ times = 2 }}\n"),
            "t.toml:6:",
            "`fixed.job_gpus`",
        ),
        (
            "[fixed]\naccelerator = \"GB200\"\ngpu_count = { times = 2 }\n".to_string(),
            "t.toml:3:",
            "`fixed.gpu_count`",
        ),
        (
            format!("{BASE}pue = {{ times = -1 }}\n"),
            "t.toml:6:",
            "`fixed.pue.times`",
        ),
        (
            format!("{BASE}[accelerators.GB200]\nwarp_speed = 9\n"),
            "t.toml:7:",
            "`accelerators.GB200.warp_speed`",
        ),
    ];
    for (text, at, key) in cases {
        let e = parse(&text).expect_err(&text);
        assert!(
            e.contains(at) && e.contains(key),
            "{e}\nexpected {at} and {key}"
        );
    }
}
