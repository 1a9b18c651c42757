//! Monte Carlo sweeps (issue 10, spec v2 "uncertain inputs"): the CPU kernel against a
//! brute-force f64 evaluation of every draw of every configuration, degenerate
//! distributions against the deterministic sweep, statistics against closed forms, and the
//! input errors.

mod common;

use clustersweep::backend::cpu::CpuBackend;
use clustersweep::catalog::Catalog;
use clustersweep::draws::over_draws;
use clustersweep::model::{evaluate, Metric, Objective};
use clustersweep::params::Param;
use clustersweep::plan::SweepPlan;
use clustersweep::scenario::Scenario;
use clustersweep::summary::{StatRow, Summary};
use clustersweep::sweep::run_sweep;
use clustersweep::uncertain::{nearest_rank, uniform};

const UNCERTAIN: &str = r#"
name = "uncertain-small"
[axes]
accelerator = ["H100-SXM", "B200"]
gpu_count = { from = 1000, to = 20000, steps = 8 }
power_frac = { from = 0.5, to = 1.0, steps = 4 }
[fixed]
cost_model = "own"
years = 5
[uncertain]
samples = 300
seed = 11
utilization = { triangular = [0.3, 0.4, 0.5] }
dvfs_exponent = { uniform = [1.5, 4.0] }
gpu_price_usd = { times = { uniform = [0.8, 1.3] } }
mtbf_hours = { lognormal = [50000, 100000] }
[accelerators.B200.uncertain]
host_w = { normal = [1500, 200] }
idle_w = { choice = [80, 120, 700], weights = [2, 2, 1] }
[constraints]
max_tco_usd = 5e8
confidence = 0.8
[objective]
metric = "throughput_pflops"
STATISTIC
"#;

/// The `[objective]` lines the tests run `UNCERTAIN` with: the mean, a p10 to maximise, a
/// p90 to minimise.
const STATISTICS: [&str; 3] = [
    "",
    "statistic = \"p10\"",
    "statistic = \"p90\"\nsense = \"min\"",
];

fn catalog() -> Catalog {
    Catalog::builtin().expect("built-in catalog")
}

fn plan_of(text: &str) -> SweepPlan {
    let s = Scenario::parse("test.toml", text, &catalog()).expect("scenario parses");
    SweepPlan::new(s, None).expect("plan")
}

fn cpu_sweep(plan: &SweepPlan) -> Summary {
    let cpu = CpuBackend::new(2).expect("cpu backend");
    run_sweep(plan, &cpu, None, &|_| {}).expect("sweep")
}

/// Every configuration's statistics by brute force (`draws::over_draws`, one
/// `model::evaluate` per draw), then the best under the scenario's rules.
fn brute_force(plan: &SweepPlan) -> (u64, u64, Option<u64>) {
    let s = &plan.scenario;
    let (mut invalid, mut feasible, mut best): (u64, u64, Option<(f64, u64)>) = (0, 0, None);
    for i in 0..plan.grid.size {
        let d = over_draws(s, &plan.values_at(i), None);
        if d.valid == 0 {
            invalid += 1;
        }
        if !d.feasible(s) {
            continue;
        }
        feasible += 1;
        if best.is_none_or(|(b, bi)| s.objective.beats(d.statistic, i, b, bi)) {
            best = Some((d.statistic, i));
        }
    }
    (invalid, feasible, best.map(|b| b.1))
}

/// The sweep's invalid and feasible counts and best index are the brute force's; returns
/// the feasible count (at least one).
#[track_caller]
fn assert_brute_force_counts_and_best(plan: &SweepPlan, sum: &Summary, label: &str) -> u64 {
    let (invalid, feasible, best) = brute_force(plan);
    assert_eq!((sum.invalid, sum.feasible), (invalid, feasible), "{label}");
    assert!(feasible > 0, "{label}: nothing feasible");
    assert_eq!(sum.best.as_ref().map(|b| b.index), best, "{label}");
    feasible
}

#[test]
fn the_cpu_kernel_matches_a_brute_force_f64_evaluation_of_every_draw() {
    for statistic in STATISTICS {
        let plan = plan_of(&UNCERTAIN.replace("STATISTIC", statistic));
        let sum = cpu_sweep(&plan);
        let feasible = assert_brute_force_counts_and_best(&plan, &sum, statistic);
        assert!(feasible < plan.grid.size, "a binding grid");
        let b = sum.best.expect("best");
        let spread = b.spread.as_ref().expect("spread");
        assert!(spread.feasible(&plan.scenario));
        assert_eq!(spread.samples, 300);
    }
}

/// The sweep's grid statistics row of `metric`, and the min, max and mean of that metric's
/// per-configuration means over the feasible configurations by brute force.
fn stats_and_brute_force<'a>(
    plan: &SweepPlan,
    sum: &'a Summary,
    metric: Metric,
) -> (&'a StatRow, (f64, f64, f64)) {
    let s = &plan.scenario;
    let means: Vec<f64> = (0..plan.grid.size)
        .map(|i| over_draws(s, &plan.values_at(i), None))
        .filter(|d| d.feasible(s))
        .map(|d| d.metric(metric).expect("applies").mean)
        .collect();
    let row = sum
        .stats
        .iter()
        .find(|r| r.metric == metric)
        .expect("grid statistics");
    let min = means.iter().copied().fold(f64::INFINITY, f64::min);
    let max = means.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    let mean = means.iter().sum::<f64>() / means.len() as f64;
    (row, (min, max, mean))
}

#[test]
fn statistics_of_the_grid_are_over_per_configuration_means() {
    let plan = plan_of(&UNCERTAIN.replace("STATISTIC", ""));
    let sum = cpu_sweep(&plan);
    let (row, (min, max, mean)) = stats_and_brute_force(&plan, &sum, Metric::FacilityMw);
    for (got, want) in [(row.min, min), (row.max, max), (row.mean, mean)] {
        assert!((got - want).abs() <= 1e-12 * want.abs(), "{got} vs {want}");
    }
}

/// Above 4,096 draws the CPU kernel's columns hold one strip of draws and every step runs
/// for each strip (`backend::staged::montecarlo`, `WHOLE_COLUMNS_MAX`); 4,100 draws end in a
/// strip of 4. Counts, best and the per-configuration means (through the grid statistics)
/// against the brute-force f64 evaluation.
#[test]
fn the_cpu_kernel_agrees_with_brute_force_beyond_4096_draws() {
    for statistic in ["", "statistic = \"p10\""] {
        let text = UNCERTAIN
            .replace("samples = 300", "samples = 4100")
            .replace("steps = 8", "steps = 3")
            .replace("steps = 4", "steps = 2")
            .replace("STATISTIC", statistic);
        let plan = plan_of(&text);
        let sum = cpu_sweep(&plan);
        assert_brute_force_counts_and_best(&plan, &sum, statistic);
        let (row, (min, max, _)) = stats_and_brute_force(&plan, &sum, Metric::ThroughputPflops);
        for (got, want) in [(row.min, min), (row.max, max)] {
            assert!((got - want).abs() <= 1e-12 * want.abs(), "{got} vs {want}");
        }
    }
}

/// A distribution with lo = hi gives the deterministic sweep's answer exactly.
#[test]
fn degenerate_distributions_reproduce_the_deterministic_sweep() {
    let fixed = r#"
[axes]
accelerator = ["H100-SXM", "B200", "MI300X"]
gpu_count = { from = 1000, to = 30000, steps = 12 }
power_frac = { from = 0.4, to = 1.0, steps = 7 }
[fixed]
cost_model = "own"
utilization = 0.41
dvfs_exponent = 2.5
[constraints]
max_facility_mw = 30
"#;
    let drawn = fixed
        .replace("utilization = 0.41\ndvfs_exponent = 2.5\n", "")
        .replace(
            "[constraints]",
            "[uncertain]\nsamples = 7\nutilization = { uniform = [0.41, 0.41] }\ndvfs_exponent = { triangular = [2.5, 2.5, 2.5] }\n[constraints]",
        );
    let a = cpu_sweep(&plan_of(fixed));
    let b = cpu_sweep(&plan_of(&drawn));
    assert_eq!((a.invalid, a.feasible), (b.invalid, b.feasible));
    let (ba, bb) = (a.best.clone().expect("best"), b.best.clone().expect("best"));
    assert_eq!(ba.index, bb.index);
    assert_eq!(ba.metrics, bb.metrics, "means of equal draws are the value");
    let idx = |s: &Summary| s.pareto.iter().map(|p| p.index).collect::<Vec<_>>();
    assert_eq!(idx(&a), idx(&b));
    let lead = |s: &Summary| s.best_by.iter().map(|g| g.best.index).collect::<Vec<_>>();
    assert_eq!(lead(&a), lead(&b));
    for (x, y) in a.stats.iter().zip(&b.stats) {
        for (u, v) in [(x.min, y.min), (x.max, y.max), (x.mean, y.mean)] {
            assert!(
                (u - v).abs() <= 1e-12 * u.abs(),
                "{:?}: {u} vs {v}",
                x.metric
            );
        }
    }
    let spread = bb.spread.expect("spread");
    assert_eq!(spread.p_feasible, 1.0);
    let tp = spread.metric(Metric::ThroughputPflops).expect("applies");
    assert_eq!((tp.sd, tp.min, tp.max), (0.0, tp.mean, tp.mean));
}

/// Throughput is linear in utilization: under `uniform = [a, b]` its mean is its value at
/// (a + b) / 2 and its p10 its value at a + 0.1 (b - a), within the Monte Carlo error.
#[test]
fn throughput_statistics_match_closed_forms_under_a_uniform_utilization() {
    let (a, b) = (0.3, 0.5);
    let n = 20_000u32;
    let text = format!(
        "[fixed]\naccelerator = \"H100-SXM\"\ngpu_count = 4096\n[uncertain]\nsamples = {n}\nutilization = {{ uniform = [{a}, {b}] }}\n"
    );
    let s = Scenario::parse("t.toml", &text, &catalog()).expect("parses");
    let values = s.values_at(&[]);
    let at = |u: f64| {
        let (mut c, acc) = s.resolve(&values);
        c[Param::Utilization] = u;
        evaluate(&c, acc, &s.workload).metrics[Metric::ThroughputPflops as usize]
    };
    let d = over_draws(&s, &values, None);
    let tp = d.metric(Metric::ThroughputPflops).expect("applies");
    // sd of a uniform is (b - a) / sqrt(12); the mean's standard error is that / sqrt(n).
    let slope = at(b) - at(a);
    let se = slope / 12f64.sqrt() / (n as f64).sqrt();
    assert!((tp.mean - at((a + b) / 2.0)).abs() < 4.0 * se, "mean");
    // The p10's error: about sqrt(p (1 - p) / n) of the range.
    let qerr = slope * (0.1f64 * 0.9 / n as f64).sqrt();
    assert!((tp.p10 - at(a + 0.1 * (b - a))).abs() < 4.0 * qerr, "p10");
    assert!((tp.sd - slope / 12f64.sqrt()).abs() < 0.03 * tp.sd, "sd");
}

#[test]
fn draws_are_common_to_every_configuration_and_seeded() {
    let plan = plan_of(&UNCERTAIN.replace("STATISTIC", ""));
    let s = &plan.scenario;
    let h100 = s
        .accelerators
        .iter()
        .position(|a| a.id == "H100-SXM")
        .unwrap();
    let b200 = s.accelerators.iter().position(|a| a.id == "B200").unwrap();
    for k in [0, 1, 299] {
        // The table-wide utilization draw is shared; B200's host_w is its own stream.
        assert_eq!(
            s.drawn_value(Param::Utilization, h100, k),
            s.drawn_value(Param::Utilization, b200, k)
        );
        assert!(s.drawn_value(Param::HostW, h100, k).is_none());
        assert!(s.drawn_value(Param::HostW, b200, k).is_some());
        // A times draw multiplies each accelerator's own figure by the same factor.
        let ratio = |a: usize| {
            s.drawn_value(Param::GpuPriceUsd, a, k).unwrap()
                / s.accelerators[a].base(Param::GpuPriceUsd)
        };
        assert!((ratio(h100) - ratio(b200)).abs() < 1e-12);
    }
    assert_ne!(uniform(11, 5, 0), uniform(12, 5, 0));
    let reseeded = plan_of(
        &UNCERTAIN
            .replace("STATISTIC", "")
            .replace("seed = 11", "seed = 12"),
    );
    assert_ne!(
        reseeded.scenario.drawn_value(Param::Utilization, h100, 0),
        s.drawn_value(Param::Utilization, h100, 0)
    );
}

#[test]
fn the_percentile_is_nearest_rank_over_valid_draws() {
    let plan = plan_of(&UNCERTAIN.replace("STATISTIC", "statistic = \"p25\""));
    let s = &plan.scenario;
    let i = plan.grid.size - 1;
    let values = plan.values_at(i);
    let d = over_draws(s, &values, None);
    let mut tps: Vec<f64> = (0..s.samples())
        .filter_map(|k| {
            let (c, a) = s.resolve_draw(&values, k);
            let e = evaluate(&c, a, &s.workload);
            e.valid
                .then_some(e.metrics[Metric::ThroughputPflops as usize])
        })
        .collect();
    tps.sort_by(f64::total_cmp);
    assert_eq!(d.valid as usize, tps.len());
    assert!(
        tps.len() < s.samples() as usize,
        "B200's idle_w choice of 700 W makes some draws invalid"
    );
    assert_eq!(d.statistic, tps[nearest_rank(25.0, tps.len())]);
    let _ = Objective::default();
}

fn input_error(text: &str) -> String {
    Scenario::parse("bad.toml", text, &catalog())
        .err()
        .map(|e| e.to_string())
        .unwrap_or_else(|| panic!("an input error for {text}"))
}

#[test]
fn bad_uncertain_input_names_file_position_and_key() {
    let base = "[fixed]\naccelerator = \"H100-SXM\"\ngpu_count = 8\n";
    for (table, key, reason) in [
        ("[uncertain]\nutilization = { uniform = [0.5, 0.3] }", "uncertain.utilization.uniform", "lo > hi"),
        ("[uncertain]\nmtbf_hours = { lognormal = [100, 50] }", "uncertain.mtbf_hours.lognormal", "p90 is below the median"),
        ("[uncertain]\nsamples = 0\nutilization = { uniform = [0.3, 0.5] }", "uncertain.samples", "from 1 to 65536"),
        ("[uncertain]\nsamples = 65537", "uncertain.samples", "from 1 to 65536"),
        ("[uncertain]\npue = { choice = [1.1, 1.2], weights = [1] }", "uncertain.pue.weights", "1 weights for 2 values"),
        ("[uncertain]\ngpu_count = { uniform = [1, 2] }", "uncertain.gpu_count", "already set as `fixed.gpu_count`"),
        ("[uncertain]\nutilization = { uniform = [0.3, 0.5], normal = [1, 2] }", "uncertain.utilization", "exactly one distribution"),
        ("[uncertain]\nprecision = { choice = [1] }", "uncertain.precision", "not an uncertain input"),
        ("[accelerators.H100-SXM]\nutilization = 0.4\n[accelerators.H100-SXM.uncertain]\nutilization = { uniform = [0.3, 0.5] }", "accelerators.H100-SXM.uncertain.utilization", "fixed or uncertain"),
        ("[objective]\nstatistic = \"p100\"", "objective.statistic", "pNN"),
        ("[constraints]\nconfidence = 0", "constraints.confidence", "(0, 1]"),
    ] {
        let msg = input_error(&format!("{base}{table}\n"));
        assert!(msg.starts_with("bad.toml:"), "{msg}");
        assert!(msg.contains(&format!("`{key}`")), "{key}: {msg}");
        assert!(msg.contains(reason), "{reason}: {msg}");
    }
    let axis = "[axes]\nutilization = [0.3, 0.4]\n[fixed]\naccelerator = \"H100-SXM\"\ngpu_count = 8\n[uncertain]\nutilization = { uniform = [0.3, 0.5] }\n";
    let msg = input_error(axis);
    assert!(
        msg.contains("bad.toml:7:1") && msg.contains("already set as `axes.utilization`"),
        "{msg}"
    );
}

#[test]
fn the_cli_reports_uncertain_sweeps_and_single_configurations() {
    let dir = std::env::temp_dir().join(format!("cs-uncertain-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("u.toml");
    std::fs::write(&path, UNCERTAIN.replace("STATISTIC", "statistic = \"p10\"")).unwrap();
    let p = path.to_str().unwrap();
    let out = common::run(&["sweep", p, "--backend", "cpu", "--json"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let j: serde_json::Value = serde_json::from_slice(&out.stdout).expect("json");
    let u = &j["best"]["uncertainty"];
    assert_eq!(j["uncertainty"]["statistic"], "p10");
    assert_eq!(u["samples"], 300);
    for stat in ["mean", "sd", "min", "p10", "p50", "p90", "max"] {
        assert!(
            u["metrics"]["throughput_pflops"][stat].is_number(),
            "{stat}"
        );
    }
    assert!(u["p_feasible"].as_f64().unwrap() >= 0.8);
    assert_eq!(
        u["histogram"]["counts"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| c.as_u64().unwrap())
            .sum::<u64>(),
        u["valid"].as_u64().unwrap()
    );
    let out = common::run(&["eval", p, "--samples", "50", "--json"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let j: serde_json::Value = serde_json::from_slice(&out.stdout).expect("json");
    assert_eq!(j["uncertainty"]["samples"], 50);
    std::fs::remove_dir_all(&dir).ok();
}

/// The GPU kernel (lavapipe in CI) on the same draws: the same best index, counts and
/// per-configuration statistics within 1e-4, for the mean and for percentiles, with the
/// draws read from the sweep's draw table (the default) and generated per draw (the path
/// for tables too large for the device).
#[test]
fn the_gpu_kernel_agrees_with_the_cpu_kernel() {
    let mut gpus = Vec::new();
    for table in [u64::MAX, 0] {
        let Some(g) = common::gpu(clustersweep::backend::gpu::GpuOptions {
            mc_draw_table_bytes: table,
            ..Default::default()
        }) else {
            return;
        };
        gpus.push((table, g));
    }
    let counts = |s: &Summary| {
        let leaders: Vec<(u64, u64)> = s
            .best_by
            .iter()
            .map(|g| (g.best.index, g.feasible))
            .collect();
        (leaders, s.empty_groups.clone())
    };
    let best = |s: &Summary| s.best.as_ref().map(|b| b.index);
    let lead = |s: &Summary| s.best_by.iter().map(|g| g.best.index).collect::<Vec<_>>();
    for statistic in STATISTICS {
        // The CPU side once per statistic; each GPU path against it.
        let plan = plan_of(&UNCERTAIN.replace("STATISTIC", statistic));
        let cpu = cpu_sweep(&plan);
        // Per-group feasible counts (by p_feasible >= confidence over the draws), with
        // groups that have nothing feasible, grouped by the fleet size.
        let by_fleet =
            SweepPlan::new(plan.scenario.clone(), Some(&["gpu_count".to_string()])).expect("plan");
        let cpu_groups = cpu_sweep(&by_fleet);
        let (leaders, empty) = counts(&cpu_groups);
        assert!(
            !leaders.is_empty() && !empty.is_empty(),
            "{statistic}: the test wants groups with and without feasible configurations"
        );
        for (table, g) in &gpus {
            let ctx = format!("{statistic} (draw table bytes {table})");
            let on_gpu = run_sweep(&plan, g, None, &|_| {}).expect("gpu sweep");
            assert_eq!(on_gpu.backend.kind, "gpu", "{ctx}");
            assert_eq!(
                (on_gpu.invalid, on_gpu.feasible),
                (cpu.invalid, cpu.feasible),
                "{ctx}"
            );
            assert_eq!(best(&on_gpu), best(&cpu), "{ctx}");
            assert_eq!(lead(&on_gpu), lead(&cpu), "{ctx}");
            let gpu_groups = run_sweep(&by_fleet, g, None, &|_| {}).expect("gpu sweep");
            assert_eq!(
                counts(&gpu_groups),
                (leaders.clone(), empty.clone()),
                "{ctx}"
            );
            for (x, y) in on_gpu.stats.iter().zip(&cpu.stats) {
                for (u, v) in [(x.min, y.min), (x.max, y.max), (x.mean, y.mean)] {
                    assert!(
                        (u - v).abs() <= 1e-4 * v.abs().max(1e-9),
                        "{ctx} {:?}: {u} vs {v}",
                        x.metric
                    );
                }
            }
            assert!(on_gpu.notices.is_empty(), "{:?}", on_gpu.notices);
        }
    }
}
