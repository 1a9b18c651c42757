//! The CPU sweep engine against a brute-force loop over the scalar model on many random
//! small grids (every parameter kind as an axis, random constraints, every objective),
//! thread-count independence, mergeability of ranges, and grids beyond 2^32
//! configurations.

use clustersweep::backend::cpu::CpuBackend;
use clustersweep::backend::Backend;
use clustersweep::catalog::Catalog;
use clustersweep::grid::Grid;
use clustersweep::model::{evaluate, is_feasible, Metric, Objective, Sense, METRIC_COUNT};
use clustersweep::params::{Param, ParamKind};
use clustersweep::plan::SweepPlan;
use clustersweep::reduce::Reductions;
use clustersweep::scenario::Scenario;
use clustersweep::summary::{summarise, ParamValue, Summary};
use std::collections::BTreeMap;
use std::fmt::Write as _;

mod common;
use common::Rng;

/// Two accelerators defined inline (one with every precision, one without fp4), so
/// precision axes produce invalid configurations, and power axes cross `min_power_w`.
const INLINE_ACCELERATORS: &str = r#"
[accelerators.T-A]
peak_tflops = { bf16 = 500.0, fp8 = 1000.0 }
tdp_w = 800
idle_w = 80
min_power_w = 240
host_w = 300
mtbf_hours = 40000
price_usd = 20000
host_capex_usd = 10000
hbm_gb = 96

[accelerators.T-B]
peak_tflops = { bf16 = 1500.0, fp8 = 3000.0, fp4 = 6000.0 }
tdp_w = 1200
idle_w = 150
min_power_w = 500
dvfs_exponent = 2.5
host_w = 500
mtbf_hours = 25000
price_usd = 45000
host_capex_usd = 15000
hbm_gb = 192
"#;

const ACCELERATORS: [&str; 5] = ["T-A", "T-B", "A100-SXM4-80GB", "H100-SXM", "GB300"];

/// How one random axis was written, and the values the spec says it has.
struct AxisSpec {
    param: Param,
    text: String,
    /// Expected values (numbers; categorical ones as names in `names`).
    values: Vec<f64>,
    names: Vec<String>,
}

fn fmt_f(x: f64) -> String {
    // Debug formatting of f64 round-trips exactly and is valid TOML for finite values.
    let s = format!("{x:?}");
    if s.contains('.') || s.contains('e') {
        s
    } else {
        format!("{s}.0")
    }
}

/// The spec's range: step k of n is from + (to - from) * k / (n - 1) (linear) or
/// from * (to / from) ^ (k / (n - 1)) (log), both ends included, rounded to 15
/// significant digits.
fn spec_range(from: f64, to: f64, n: u64, log: bool) -> Vec<f64> {
    let round = |x: f64| {
        if x == 0.0 {
            x
        } else {
            format!("{x:.14e}").parse::<f64>().unwrap()
        }
    };
    if n == 1 {
        return vec![round(from)];
    }
    (0..n)
        .map(|k| {
            let (k, last) = (k as f64, (n - 1) as f64);
            let x = if log {
                from * (to / from).powf(k / last)
            } else {
                from + (to - from) * k / last
            };
            // Rounded to 15 significant digits (spec v2 reporting).
            round(x)
        })
        .collect()
}

/// Nearest integer, halves away from zero; then repeated values dropped (first kept).
fn spec_integer_axis(values: Vec<f64>) -> Vec<f64> {
    let mut out: Vec<f64> = Vec::new();
    for v in values {
        // v - trunc(v) is exact, so halves are detected exactly.
        let t = v.trunc();
        let r = if (v - t).abs() >= 0.5 {
            t + v.signum()
        } else {
            t
        };
        if !out.contains(&r) {
            out.push(r);
        }
    }
    out
}

/// A random numeric axis (list or range) between lo and hi.
fn numeric_axis(rng: &mut Rng, param: Param, lo: f64, hi: f64, max_len: u64) -> AxisSpec {
    let integer = param.kind() == ParamKind::Integer;
    let name = param.name();
    let draw = |rng: &mut Rng| {
        let x = rng.range(lo, hi);
        if integer && rng.chance(0.7) {
            // whole numbers and exact halves, to exercise rounding
            (x * 2.0).round() / 2.0
        } else if rng.chance(0.5) {
            // a few significant digits keep the TOML short
            (x * 1000.0).round() / 1000.0
        } else {
            x
        }
    };
    let (text, raw) = if rng.chance(0.4) {
        let n = rng.int(1, max_len);
        let mut vals: Vec<f64> = (0..n).map(|_| draw(rng)).collect();
        if n > 1 && rng.chance(0.3) {
            // a repeated value
            vals[n as usize - 1] = vals[0];
        }
        let items: Vec<String> = vals.iter().map(|v| fmt_f(*v)).collect();
        (format!("{name} = [{}]", items.join(", ")), vals)
    } else {
        let log = lo > 0.0 && rng.chance(0.4);
        let from = draw(rng);
        let to = draw(rng);
        let (from, to) = if log {
            (from.max(lo.max(1e-3)), to.max(lo.max(1e-3)))
        } else {
            (from, to)
        };
        let steps = rng.int(1, max_len);
        let scale = if log {
            ", scale = \"log\"".to_string()
        } else if rng.chance(0.3) {
            ", scale = \"linear\"".to_string()
        } else {
            String::new()
        };
        (
            format!(
                "{name} = {{ from = {}, to = {}, steps = {steps}{scale} }}",
                fmt_f(from),
                fmt_f(to)
            ),
            spec_range(from, to, steps, log),
        )
    };
    let values = if integer { spec_integer_axis(raw) } else { raw };
    AxisSpec {
        param,
        text,
        values,
        names: Vec::new(),
    }
}

fn categorical_axis(rng: &mut Rng, param: Param) -> AxisSpec {
    let options: Vec<String> = match param {
        Param::Accelerator => ACCELERATORS.iter().map(|s| s.to_string()).collect(),
        Param::Precision => ["fp4", "fp8", "bf16"].map(String::from).to_vec(),
        Param::CostModel => ["own", "rent"].map(String::from).to_vec(),
        Param::FacilityBasis => ["tdp", "limit"].map(String::from).to_vec(),
        _ => unreachable!(),
    };
    let names = rng.subset(&options);
    let items: Vec<String> = names.iter().map(|n| format!("\"{n}\"")).collect();
    AxisSpec {
        param,
        text: format!("{} = [{}]", param.name(), items.join(", ")),
        values: Vec::new(),
        names,
    }
}

/// Value range used for a parameter's random axes and fixed values; some reach outside
/// the valid range so grids hold invalid configurations too.
fn param_range(p: Param) -> (f64, f64) {
    match p {
        Param::GpuCount => (0.0, 3000.0),
        Param::PowerW => (150.0, 1300.0),
        Param::PowerFrac => (0.2, 1.05),
        Param::Utilization => (0.0, 1.0),
        Param::LoadFrac => (0.0, 1.0),
        Param::Pue => (0.95, 3.2),
        Param::HostW => (0.0, 900.0),
        Param::JobGpus => (0.0, 4000.0),
        Param::MtbfHours => (50.0, 80_000.0),
        Param::CheckpointS => (0.0, 300.0),
        Param::RestartS => (0.0, 3000.0),
        Param::Years => (0.5, 10.0),
        Param::ElectricityUsdPerKwh => (0.0, 0.3),
        Param::GpuPriceUsd => (0.0, 60_000.0),
        Param::HostCapexUsd => (0.0, 30_000.0),
        Param::FacilityUsdPerW => (0.0, 20.0),
        // Above 0: renting is never free (spec v2).
        Param::GpuHourUsd => (0.1, 8.0),
        Param::CarbonKgPerKwh => (0.0, 1.0),
        Param::DvfsExponent => (0.3, 11.0),
        Param::IdleW => (0.0, 400.0),
        // v2 "time and money" (ramp_years above years is invalid too).
        Param::RampYears => (-0.5, 10.0),
        Param::DiscountRate => (-0.05, 1.1),
        Param::ResidualFrac => (-0.1, 1.1),
        Param::PriceDecline => (-0.05, 1.05),
        _ => unreachable!(),
    }
}

struct RandomScenario {
    /// Scenario text without constraints and objective.
    body: String,
    axes: Vec<AxisSpec>,
}

fn random_scenario(rng: &mut Rng, max_size: u64) -> RandomScenario {
    let mut params: Vec<Param> = Param::all().collect();
    rng.shuffle(&mut params);
    // power_w and power_frac are alternatives: keep at most one.
    let drop_power = if rng.chance(0.5) {
        Param::PowerW
    } else {
        Param::PowerFrac
    };
    params.retain(|p| *p != drop_power);
    let mut axes: Vec<AxisSpec> = Vec::new();
    let mut fixed: Vec<String> = Vec::new();
    let mut size: u64 = 1;
    let n_axes = rng.int(1, 6);
    for p in params {
        let want_axis = (axes.len() as u64) < n_axes && rng.chance(0.5);
        let room = max_size / size;
        if want_axis && room >= 2 {
            let axis = if p.kind() == ParamKind::Categorical {
                categorical_axis(rng, p)
            } else {
                let (lo, hi) = param_range(p);
                numeric_axis(rng, p, lo, hi, room.min(8))
            };
            let len = if p.kind() == ParamKind::Categorical {
                axis.names.len() as u64
            } else {
                axis.values.len() as u64
            };
            if size * len <= max_size {
                size *= len;
                axes.push(axis);
                continue;
            }
        }
        // Not an axis: fixed (required ones always), else sometimes fixed, else default.
        // gpu_hour_usd too: a grid that may rent needs a price (spec v2).
        let required = matches!(p, Param::Accelerator | Param::GpuCount | Param::GpuHourUsd);
        if required || rng.chance(0.3) {
            let text = match p {
                Param::Accelerator => format!("\"{}\"", rng.pick(&ACCELERATORS)),
                Param::Precision => format!("\"{}\"", rng.pick(&["fp4", "fp8", "bf16"])),
                Param::CostModel => format!("\"{}\"", rng.pick(&["own", "rent"])),
                Param::FacilityBasis => format!("\"{}\"", rng.pick(&["tdp", "limit"])),
                Param::GpuCount => format!("{}", rng.int(1, 3000)),
                Param::JobGpus => format!("{}", rng.int(0, 4000)),
                _ => {
                    let (lo, hi) = param_range(p);
                    fmt_f(rng.range(lo, hi))
                }
            };
            fixed.push(format!("{} = {text}", p.name()));
        }
    }
    let mut body = String::from("name = \"random\"\n");
    body.push_str("[axes]\n");
    for a in &axes {
        writeln!(body, "{}", a.text).unwrap();
    }
    body.push_str("[fixed]\n");
    for f in &fixed {
        writeln!(body, "{f}").unwrap();
    }
    body.push_str(INLINE_ACCELERATORS);
    RandomScenario { body, axes }
}

/// What a brute-force loop over the scalar model finds.
#[derive(Debug, Default)]
struct Expected {
    evaluated: u64,
    invalid: u64,
    feasible: u64,
    best: Option<(f64, u64)>,
    /// keyed by the digits of the group axes
    best_by: BTreeMap<Vec<u64>, (f64, u64)>,
    /// keyed by Pareto bin: (objective, index, facility_mw)
    bins: BTreeMap<usize, (f64, u64, f64)>,
    min: Vec<f64>,
    max: Vec<f64>,
    sum: Vec<f64>,
}

fn better(obj: &Objective, a: f64, b: f64) -> bool {
    match obj.sense {
        Sense::Max => a > b,
        Sense::Min => a < b,
    }
}

/// Digits of a flat index, last axis fastest, computed here independently of `Grid`.
fn my_digits(lens: &[u64], mut index: u64) -> Vec<u64> {
    let mut d = vec![0; lens.len()];
    for k in (0..lens.len()).rev() {
        d[k] = index % lens[k];
        index /= lens[k];
    }
    d
}

fn brute_force(plan: &SweepPlan, range: std::ops::Range<u64>) -> Expected {
    let s = &plan.scenario;
    let obj = s.objective;
    let lens: Vec<u64> = s.axes.iter().map(|a| a.values.len() as u64).collect();
    let mut ex = Expected {
        min: vec![f64::INFINITY; METRIC_COUNT],
        max: vec![f64::NEG_INFINITY; METRIC_COUNT],
        sum: vec![0.0; METRIC_COUNT],
        ..Default::default()
    };
    for i in range {
        let vals = s.values_at_index(i);
        let (cfg, acc) = s.resolve(&vals);
        let e = evaluate(&cfg, acc, &s.workload);
        ex.evaluated += 1;
        if !e.valid {
            ex.invalid += 1;
            continue;
        }
        if !is_feasible(&e, &s.constraints) {
            continue;
        }
        ex.feasible += 1;
        let v = e.metrics[obj.metric as usize];
        // Walking in index order, only a strictly better value replaces: ties keep the
        // lowest index.
        if ex.best.is_none_or(|(b, _)| better(&obj, v, b)) {
            ex.best = Some((v, i));
        }
        let digits = my_digits(&lens, i);
        let key: Vec<u64> = plan.group_axes.iter().map(|&k| digits[k]).collect();
        let slot = ex.best_by.entry(key).or_insert((v, i));
        if better(&obj, v, slot.0) {
            *slot = (v, i);
        }
        let fac = e.metrics[Metric::FacilityMw as usize];
        let bin = plan.pareto.bin(fac);
        let slot = ex.bins.entry(bin).or_insert((v, i, fac));
        if better(&obj, v, slot.0) {
            *slot = (v, i, fac);
        }
        for m in 0..METRIC_COUNT {
            let x = e.metrics[m];
            ex.min[m] = ex.min[m].min(x);
            ex.max[m] = ex.max[m].max(x);
            ex.sum[m] += x;
        }
    }
    ex
}

#[track_caller]
fn rel_close(got: f64, want: f64, tol: f64, what: &str) {
    if got == want {
        return;
    }
    let scale = got.abs().max(want.abs());
    assert!(
        (got - want).abs() <= tol * scale,
        "{what}: got {got:e}, brute force {want:e}"
    );
}

/// Compare a backend's reductions and the summary with the brute force.
fn check(plan: &SweepPlan, red: &Reductions, summary: &Summary, ex: &Expected, ctx: &str) {
    let s = &plan.scenario;
    let obj = s.objective;
    assert_eq!(red.evaluated, ex.evaluated, "{ctx}: evaluated");
    assert_eq!(red.invalid, ex.invalid, "{ctx}: invalid");
    assert_eq!(red.feasible, ex.feasible, "{ctx}: feasible");
    assert_eq!(
        (summary.evaluated, summary.invalid, summary.feasible),
        (ex.evaluated, ex.invalid, ex.feasible),
        "{ctx}: summary counts"
    );
    assert_eq!(
        red.best.map(|c| c.index),
        ex.best.map(|b| b.1),
        "{ctx}: best index"
    );
    assert_eq!(
        summary.best.as_ref().map(|b| b.index),
        ex.best.map(|b| b.1),
        "{ctx}: summary best index"
    );
    if let (Some(b), Some((v, _))) = (&summary.best, ex.best) {
        assert_eq!(b.metric(obj.metric), v, "{ctx}: best objective");
        assert!(b.valid && b.feasible, "{ctx}: best is feasible");
    }

    // best_by: one entry per group that has a feasible configuration.
    let mut from_red = BTreeMap::new();
    for (g, c) in red.best_by.iter().enumerate() {
        if let Some(c) = c {
            let key: Vec<u64> = plan.group_digits(g).iter().map(|&(_, d)| d).collect();
            from_red.insert(key, c.index);
        }
    }
    let want: BTreeMap<Vec<u64>, u64> = ex.best_by.iter().map(|(k, v)| (k.clone(), v.1)).collect();
    assert_eq!(from_red, want, "{ctx}: best_by");
    if plan.group_axes.is_empty() {
        // No group axes: no leaders to report (the single reduction group is the best).
        assert!(summary.best_by.is_empty(), "{ctx}: best_by without groups");
    } else {
        assert_eq!(summary.best_by.len(), want.len(), "{ctx}: summary best_by");
    }
    let group_params: Vec<Param> = plan.group_axes.iter().map(|&k| s.axes[k].param).collect();
    for gb in &summary.best_by {
        let params: Vec<Param> = gb.group.iter().map(|(p, _)| *p).collect();
        assert_eq!(params, group_params, "{ctx}: group names");
        // The group's values are the leader's own values of those parameters.
        for (p, v) in &gb.group {
            let (_, leader) = gb.best.params.iter().find(|(q, _)| q == p).unwrap();
            match (v, leader) {
                (ParamValue::Real(a), ParamValue::Real(b)) => assert_eq!(a, b, "{ctx}"),
                _ => assert_eq!(v, leader, "{ctx}: group {p}"),
            }
        }
        let lens: Vec<u64> = s.axes.iter().map(|a| a.values.len() as u64).collect();
        let digits = my_digits(&lens, gb.best.index);
        let key: Vec<u64> = plan.group_axes.iter().map(|&k| digits[k]).collect();
        assert_eq!(want.get(&key), Some(&gb.best.index), "{ctx}: group leader");
    }

    // Pareto bins.
    for (bin, c) in red.pareto.iter().enumerate() {
        assert_eq!(
            c.map(|c| c.index),
            ex.bins.get(&bin).map(|b| b.1),
            "{ctx}: pareto bin {bin}"
        );
    }
    // The frontier: bin leaders not dominated by another bin leader.
    let leaders: Vec<(f64, u64, f64)> = ex.bins.values().copied().collect();
    let dominated = |p: &(f64, u64, f64)| {
        leaders.iter().any(|q| {
            let obj_ge = q.0 == p.0 || better(&obj, q.0, p.0);
            q.1 != p.1 && q.2 <= p.2 && obj_ge && (q.2 < p.2 || better(&obj, q.0, p.0))
        })
    };
    let mut front: Vec<u64> = leaders
        .iter()
        .filter(|p| !dominated(p))
        .map(|p| p.1)
        .collect();
    front.sort();
    let mut got: Vec<u64> = summary.pareto.iter().map(|r| r.index).collect();
    got.sort();
    assert_eq!(got, front, "{ctx}: pareto front");
    // Reported in facility order, objective strictly improving, each point non-dominated
    // and the best of its bin.
    for w in summary.pareto.windows(2) {
        let (fa, fb) = (
            w[0].metric(Metric::FacilityMw),
            w[1].metric(Metric::FacilityMw),
        );
        assert!(fa < fb, "{ctx}: pareto order by facility_mw");
        assert!(
            better(&obj, w[1].metric(obj.metric), w[0].metric(obj.metric)),
            "{ctx}: a later pareto point must have a better objective"
        );
    }
    for p in &summary.pareto {
        assert!(p.feasible, "{ctx}: pareto point feasible");
        let bin = plan.pareto.bin(p.metric(Metric::FacilityMw));
        assert_eq!(
            ex.bins[&bin].1, p.index,
            "{ctx}: pareto point best in its bin"
        );
    }

    // Stats over feasible configurations.
    if ex.feasible == 0 {
        assert!(summary.stats.is_empty(), "{ctx}: no stats without feasible");
        assert!(summary.best.is_none() && summary.best_by.is_empty());
        assert!(summary.pareto.is_empty());
    } else {
        let applies: Vec<Metric> = Metric::ALL
            .into_iter()
            .filter(|m| m.applies(&s.workload))
            .collect();
        let names: Vec<Metric> = summary.stats.iter().map(|r| r.metric).collect();
        assert_eq!(names, applies, "{ctx}: stats metrics");
        for row in &summary.stats {
            let m = row.metric as usize;
            let what = format!("{ctx}: stats of {}", row.metric);
            rel_close(row.min, ex.min[m], 1e-9, &format!("{what} min"));
            rel_close(row.max, ex.max[m], 1e-9, &format!("{what} max"));
            rel_close(
                row.mean,
                ex.sum[m] / ex.feasible as f64,
                1e-9,
                &format!("{what} mean"),
            );
            assert!(row.min.is_finite() && row.max.is_finite() && row.mean.is_finite());
        }
    }
}

/// Constraint names, the metric each bounds, whether it is an upper bound.
const CONSTRAINTS: [(&str, Metric, bool); 5] = [
    ("max_facility_mw", Metric::FacilityMw, true),
    ("max_tco_usd", Metric::TcoUsd, true),
    ("max_capex_usd", Metric::CapexUsd, true),
    ("max_train_days", Metric::TrainDays, true),
    ("min_throughput_pflops", Metric::ThroughputPflops, false),
];

/// Builds one random scenario (with constraints that cut its grid and an objective).
fn random_case(rng: &mut Rng, catalog: &Catalog, max_size: u64) -> (String, Vec<AxisSpec>) {
    let rs = random_scenario(rng, max_size);
    let train = rng.chance(0.5);
    let mut text = rs.body.clone();
    if train || rng.chance(0.3) {
        text.push_str("[workload]\n");
        if train {
            writeln!(
                text,
                "train_flop = {}",
                fmt_f(10f64.powf(rng.range(21.0, 25.0)))
            )
            .unwrap();
        }
        if rng.chance(0.5) {
            writeln!(
                text,
                "model_params = {}",
                fmt_f(10f64.powf(rng.range(9.0, 12.0)))
            )
            .unwrap();
        }
    }
    // Constraints cut at the value of a random configuration's metric.
    let probe = Scenario::parse("probe.toml", &text, catalog).unwrap();
    let size = probe.grid().size;
    let mut constraints = String::new();
    for _ in 0..rng.int(0, 3) {
        let &(name, metric, _) = rng.pick(&CONSTRAINTS);
        if metric == Metric::TrainDays && !train {
            continue;
        }
        let i = rng.int(0, size - 1);
        let (cfg, acc) = probe.resolve(&probe.values_at_index(i));
        let v = evaluate(&cfg, acc, &probe.workload).metrics[metric as usize];
        if v.is_finite() && !constraints.contains(name) {
            writeln!(constraints, "{name} = {}", fmt_f(v * rng.range(0.7, 1.3))).unwrap();
        }
    }
    if !constraints.is_empty() {
        text.push_str("[constraints]\n");
        text.push_str(&constraints);
    }
    let mut objectives = vec![
        ("throughput_pflops", None),
        ("usd_per_eflop", None),
        ("gflops_per_w", None),
        ("tco_usd", None),
        ("homes", Some("min")),
        ("co2_t", Some("max")),
        ("throughput_pflops", Some("min")),
    ];
    if train {
        objectives.push(("train_days", None));
    }
    if rng.chance(0.9) {
        let &(metric, sense) = rng.pick(&objectives);
        writeln!(text, "[objective]\nmetric = \"{metric}\"").unwrap();
        if let Some(sense) = sense {
            writeln!(text, "sense = \"{sense}\"").unwrap();
        }
    }
    (text, rs.axes)
}

fn random_group_by(rng: &mut Rng, s: &Scenario) -> Option<Vec<String>> {
    match rng.int(0, 3) {
        0 | 1 => None,
        2 => Some(vec!["none".to_string()]),
        _ => {
            let names: Vec<String> = s.axes.iter().map(|a| a.param.name().to_string()).collect();
            let mut pick = rng.subset(&names);
            pick.truncate(2);
            Some(pick)
        }
    }
}

#[test]
fn cpu_sweep_matches_brute_force_on_random_grids() {
    let catalog = Catalog::builtin().unwrap();
    let backend = CpuBackend::new(2).unwrap();
    let mut rng = Rng(20_251_106);
    let mut with_feasible = 0;
    let mut with_invalid = 0;
    let mut with_constraints = 0;
    let mut objectives = std::collections::BTreeSet::new();
    let cases = 1000;
    for case in 0..cases {
        let (text, axes) = random_case(&mut rng, &catalog, 1500);
        let s = Scenario::parse("random.toml", &text, &catalog)
            .unwrap_or_else(|e| panic!("case {case}: {e}\n{text}"));
        let ctx = format!("case {case}\n{text}\n");

        // The axes have the values the spec defines (order, ranges, rounding, dedupe).
        assert_eq!(s.axes.len(), axes.len(), "{ctx}");
        for (a, want) in s.axes.iter().zip(&axes) {
            assert_eq!(a.param, want.param, "{ctx}");
            if a.param.kind() == ParamKind::Categorical {
                let labels: Vec<String> = a.values.iter().map(|&c| s.label(a.param, c)).collect();
                assert_eq!(labels, want.names, "{ctx}: axis {}", a.param);
            } else if a.param.kind() == ParamKind::Integer {
                assert_eq!(a.values, want.values, "{ctx}: axis {}", a.param);
            } else {
                // The spec's expression in its order of operations: bit for bit.
                assert_eq!(a.values, want.values, "{ctx}: axis {}", a.param);
            }
        }

        let group_by = random_group_by(&mut rng, &s);
        let plan = SweepPlan::new(s, group_by.as_deref()).unwrap();
        let size = plan.grid.size;
        let lens: Vec<u64> = axes
            .iter()
            .map(|a| (a.values.len() + a.names.len()) as u64)
            .collect();
        assert_eq!(size, lens.iter().product::<u64>(), "{ctx}: grid size");

        // Flat index order: last axis fastest.
        for _ in 0..5 {
            let i = rng.int(0, size - 1);
            let digits = my_digits(&lens, i);
            let mut got = vec![0; lens.len()];
            plan.grid.decode(i, &mut got);
            assert_eq!(got, digits, "{ctx}: decode {i}");
            let vals = plan.scenario.values_at_index(i);
            for (k, a) in plan.scenario.axes.iter().enumerate() {
                assert_eq!(
                    vals[a.param.index()].to_bits(),
                    a.values[digits[k] as usize].to_bits(),
                    "{ctx}: value of {} at {i}",
                    a.param
                );
            }
        }

        let ex = brute_force(&plan, 0..size);
        let red = backend.run(&plan, 0..size, &|_| {}).unwrap();
        let summary = summarise(&plan, &red, backend.info(), 0.0);
        check(&plan, &red, &summary, &ex, &ctx);

        // Any split into ranges, merged in order, gives the same result.
        let cut = rng.int(0, size);
        let mut merged = backend.run(&plan, 0..cut, &|_| {}).unwrap();
        let rest = backend.run(&plan, cut..size, &|_| {}).unwrap();
        merged.merge(&rest, &plan.scenario.objective);
        let summary2 = summarise(&plan, &merged, backend.info(), 0.0);
        check(
            &plan,
            &merged,
            &summary2,
            &ex,
            &format!("{ctx}split at {cut}"),
        );

        with_feasible += usize::from(ex.feasible > 0);
        with_invalid += usize::from(ex.invalid > 0);
        with_constraints += usize::from(!plan.scenario.constraints.bounds().is_empty());
        objectives.insert((
            plan.scenario.objective.metric.name(),
            plan.scenario.objective.sense.name(),
        ));
    }
    // The generator must actually exercise what it claims to.
    assert!(with_feasible > cases / 4, "only {with_feasible} feasible");
    assert!(with_invalid > cases / 4, "only {with_invalid} with invalid");
    assert!(with_constraints > cases / 4, "{with_constraints}");
    assert!(objectives.len() >= 8, "{objectives:?}");
}

/// Scenarios that take the CPU kernel's less common paths, over the whole grid and over
/// ranges that start and end inside an inner block:
/// - `gpu_count` inner makes most metrics columns; `train_co2_t = energy * carbon` has its
///   statistics derived from the energy column, and carbon 0 (a zero scale) takes the
///   fallback that computes the column;
/// - an inner axis of 1,300 values spans three windows per block; cost-model and precision
///   axes take the select and lookup steps; a constraint makes a column mask.
#[test]
fn kernel_paths_match_brute_force_on_any_range() {
    let catalog = Catalog::builtin().unwrap();
    let derived = r#"
[axes]
carbon_kg_per_kwh = [0.4, 0.0, 0.2]
job_gpus = [0, 4096]
gpu_count = { from = 1000, to = 50000, steps = 40, scale = "log" }
[fixed]
accelerator = "H100-SXM"
[workload]
train_flop = 1e24
[objective]
metric = "usd_per_eflop"
"#;
    let wide = r#"
[axes]
cost_model = ["own", "rent"]
precision = ["fp4", "bf16"]
accelerator = ["H100-SXM", "GB300"]
power_w = { from = 300, to = 1400, steps = 1300 }
[fixed]
gpu_count = 1000
gpu_hour_usd = 3.0
[constraints]
max_facility_mw = 1.5
[objective]
metric = "gflops_per_w"
"#;
    let backend = CpuBackend::new(2).unwrap();
    for (name, text) in [("derived", derived), ("wide", wide)] {
        let s = Scenario::parse(name, text, &catalog).unwrap();
        let plan = SweepPlan::new(s, None).unwrap();
        let size = plan.grid.size;
        // Whole, cut inside blocks, and across the first block boundary.
        let block = plan.grid.lens[plan.grid.lens.len() - 1];
        for range in [
            0..size,
            37..size - 5,
            size / 3..size / 3 * 2 + 1,
            block - 1..block + 1,
        ] {
            let ex = brute_force(&plan, range.clone());
            let red = backend.run(&plan, range.clone(), &|_| {}).unwrap();
            let summary = summarise(&plan, &red, backend.info(), 0.0);
            check(&plan, &red, &summary, &ex, &format!("{name} {range:?}"));
        }
    }
}

/// An explicit tie: carbon intensity does not change throughput, so the first of equal
/// configurations (lowest index) must win, per group too.
#[test]
fn ties_go_to_the_lowest_index() {
    let catalog = Catalog::builtin().unwrap();
    let text = r#"
[axes]
carbon_kg_per_kwh = [0.9, 0.1, 0.5]
accelerator = ["H100-SXM", "H200-SXM"]
[fixed]
gpu_count = 100
"#;
    // H100 and H200 have the same peak, power and MTBF: all six configurations tie on
    // throughput.
    let s = Scenario::parse("ties.toml", text, &catalog).unwrap();
    let plan = SweepPlan::new(s, None).unwrap();
    assert_eq!(plan.grid.size, 6);
    let red = CpuBackend::new(2)
        .unwrap()
        .run(&plan, 0..6, &|_| {})
        .unwrap();
    assert_eq!(red.feasible, 6);
    assert_eq!(red.best.unwrap().index, 0);
    // Groups by accelerator (default): H100 first at 0, H200 first at 1.
    let idx: Vec<u64> = red.best_by.iter().map(|c| c.unwrap().index).collect();
    assert_eq!(idx, vec![0, 1]);

    // Minimising co2_t: the 0.1 kg/kWh column wins, H100 (index 2) before H200 (index 3).
    let min = text.to_string() + "[objective]\nmetric = \"co2_t\"\nsense = \"min\"\n";
    let s = Scenario::parse("ties.toml", &min, &catalog).unwrap();
    let plan = SweepPlan::new(s, None).unwrap();
    let red = CpuBackend::new(1)
        .unwrap()
        .run(&plan, 0..6, &|_| {})
        .unwrap();
    assert_eq!(red.best.unwrap().index, 2);
}

/// Sweeps on 1 and 2 threads give identical reductions (bit for bit), over a range long
/// enough to be cut into several pieces.
#[test]
fn one_and_two_threads_give_identical_results() {
    let catalog = Catalog::builtin().unwrap();
    let text = r#"
[axes]
accelerator = ["H100-SXM", "B200", "MI300X"]
gpu_count = { from = 1000, to = 100000, steps = 200, scale = "log" }
power_frac = { from = 0.2, to = 1.0, steps = 41 }
utilization = { from = 0.3, to = 0.5, steps = 5 }
pue = [1.1, 1.3, 3.1]
[fixed]
cost_model = "own"
[constraints]
max_facility_mw = 150
[objective]
metric = "usd_per_eflop"
"#;
    let s = Scenario::parse("threads.toml", text, &catalog).unwrap();
    let plan = SweepPlan::new(s, None).unwrap();
    let size = plan.grid.size;
    assert_eq!(size, 3 * 200 * 41 * 5 * 3);
    let one = CpuBackend::new(1).unwrap();
    let two = CpuBackend::new(2).unwrap();
    let r1 = one.run(&plan, 0..size, &|_| {}).unwrap();
    let r2 = two.run(&plan, 0..size, &|_| {}).unwrap();
    assert!(r1.feasible > 0 && r1.invalid > 0 && r1.feasible + r1.invalid < size);
    assert_eq!(r1, r2, "1 and 2 threads differ");
    let s1 = summarise(&plan, &r1, one.info(), 0.0);
    let s2 = summarise(&plan, &r2, two.info(), 0.0);
    assert_eq!(s1.best, s2.best);
    assert_eq!(s1.best_by, s2.best_by);
    assert_eq!(s1.pareto, s2.pareto);
    assert_eq!(s1.stats, s2.stats);
    // Progress reports every configuration exactly once.
    let seen = std::sync::atomic::AtomicU64::new(0);
    two.run(&plan, 0..size, &|n| {
        seen.fetch_add(n, std::sync::atomic::Ordering::Relaxed);
    })
    .unwrap();
    assert_eq!(seen.into_inner(), size);
    // Spot-check against brute force on a slice.
    let ex = brute_force(&plan, 0..size);
    let summary = summarise(&plan, &r1, one.info(), 0.0);
    check(&plan, &r1, &summary, &ex, "threads");
}

/// A scenario whose grid has more than 2^40 configurations (about 2^49).
const HUGE: &str = r#"
[axes]
accelerator = ["T-A", "T-B"]
gpu_count = { from = 1, to = 100000, steps = 100000 }
power_frac = { from = 0.1, to = 1.0, steps = 1001 }
utilization = { from = 0.0, to = 0.9, steps = 1001 }
pue = [1.1, 1.2, 1.3]
carbon_kg_per_kwh = { from = 0.0, to = 1.0, steps = 1000 }
[constraints]
max_facility_mw = 50
"#;

#[test]
fn grids_beyond_2_pow_32_decode_and_sweep_correctly() {
    let catalog = Catalog::builtin().unwrap();
    let text = format!("{HUGE}{INLINE_ACCELERATORS}");
    let s = Scenario::parse("huge.toml", &text, &catalog).unwrap();
    let lens = [2u64, 100_000, 1001, 1001, 3, 1000];
    let size: u64 = lens.iter().product();
    assert!(size > 1 << 48);
    assert_eq!(s.grid().size, size);
    let grid = Grid::new(&lens).unwrap();
    assert_eq!(grid, s.grid());

    let mut digits = vec![0; lens.len()];
    let probes = [
        0,
        1,
        (1u64 << 32) - 1,
        1 << 32,
        (1 << 32) + 1,
        (1 << 40) - 1,
        1 << 40,
        (1 << 40) + 1,
        (1 << 40) + 123_456_789,
        size / 2,
        size - 2,
        size - 1,
    ];
    for &i in &probes {
        grid.decode(i, &mut digits);
        assert_eq!(digits, my_digits(&lens, i), "decode {i}");
        assert_eq!(grid.encode(&digits), i, "round trip {i}");
        let vals = s.values_at_index(i);
        // gpu_count's value at position d is d + 1.
        assert_eq!(vals[Param::GpuCount.index()], (digits[1] + 1) as f64);
    }
    grid.decode(size - 1, &mut digits);
    assert_eq!(digits, lens.iter().map(|l| l - 1).collect::<Vec<_>>());

    let plan = SweepPlan::new(s, None).unwrap();
    let backend = CpuBackend::new(2).unwrap();
    // Ranges across 2^32 and 2^40, the end of the grid, one where utilization is 0
    // (invalid) and one with feasible configurations.
    let all_invalid = grid.encode(&[0, 12_344, 1000, 0, 1, 0]);
    let feasible = grid.encode(&[1, 12_344, 1000, 500, 1, 0]);
    let (mut invalid, mut feasible_count) = (0, 0);
    for start in [
        (1u64 << 40) - 500,
        (1 << 32) - 300,
        size / 3,
        size - 1000,
        all_invalid,
        feasible,
    ] {
        let range = start..start + 1000;
        let red = backend.run(&plan, range.clone(), &|_| {}).unwrap();
        let ex = brute_force(&plan, range.clone());
        let summary = summarise(&plan, &red, backend.info(), 0.0);
        assert_eq!(red.evaluated, 1000);
        check(&plan, &red, &summary, &ex, &format!("huge grid at {start}"));
        if let Some(b) = red.best {
            assert!(range.contains(&b.index));
        }
        invalid += ex.invalid;
        feasible_count += ex.feasible;
    }
    assert!(invalid >= 1000, "utilization 0 rows are invalid");
    assert!(
        feasible_count >= 1000,
        "small clusters under the 50 MW cap are feasible"
    );
}

/// Integer parameters: nearest integer, halves away from zero, repeated values dropped
/// (the first kept), for lists and for linear and log ranges.
#[test]
fn integer_axes_are_rounded_and_deduplicated() {
    let catalog = Catalog::builtin().unwrap();
    let cases: [(&str, &[f64]); 7] = [
        (
            "gpu_count = [0.5, 1, 1.4999, 2.5, 3.5, 2]",
            &[1.0, 3.0, 4.0, 2.0],
        ),
        ("gpu_count = [7, 7, 7]", &[7.0]),
        ("gpu_count = { from = 1, to = 2, steps = 5 }", &[1.0, 2.0]),
        (
            "gpu_count = { from = 1, to = 4, steps = 5, scale = \"log\" }",
            &[1.0, 2.0, 3.0, 4.0],
        ),
        (
            "gpu_count = { from = 10, to = 0, steps = 5 }",
            &[10.0, 8.0, 5.0, 3.0, 0.0],
        ),
        // -0.4 rounds to -0, the same value as 0: one value, not two.
        ("job_gpus = [-0.4, 0, 0.4]", &[0.0]),
        ("job_gpus = { from = -0.25, to = 0.25, steps = 3 }", &[0.0]),
    ];
    for (axis, want) in cases {
        let fixed = if axis.starts_with("gpu_count") {
            "accelerator = \"H100-SXM\""
        } else {
            "accelerator = \"H100-SXM\"\ngpu_count = 8"
        };
        let text = format!("[axes]\n{axis}\n[fixed]\n{fixed}\n");
        let s = Scenario::parse("int.toml", &text, &catalog).unwrap();
        assert_eq!(s.axes[0].values, want, "{axis}");
        assert_eq!(s.grid().size, want.len() as u64, "{axis}");
    }
}

/// Range values follow the spec's order of operations, `from + (to - from) * k / (n - 1)`,
/// which decides which side of a bound or an integer half a value lands on.
#[test]
fn linear_ranges_use_the_spec_order_of_operations() {
    let catalog = Catalog::builtin().unwrap();
    let text = r#"
[axes]
job_gpus = { from = 0, to = 39, steps = 27 }
power_w = { from = 10, to = 360, steps = 36 }
[fixed]
accelerator = "H100-SXM"
gpu_count = 1000
"#;
    let s = Scenario::parse("t.toml", text, &catalog).unwrap();
    // k = 15: 0 + 39 * 15 / 26 = 22.5 exactly, which rounds (half away from zero) to 23.
    assert!(s.axes[0].values.contains(&23.0), "{:?}", s.axes[0].values);
    assert!(!s.axes[0].values.contains(&22.0), "{:?}", s.axes[0].values);
    // k = 19: 10 + 350 * 19 / 35 = 200 exactly (the H100's minimum power limit).
    assert_eq!(s.axes[1].values[19], 200.0);
}
