//! GPU vs CPU agreement on lavapipe (or any adapter): random small grids with every parameter
//! kind as an axis, categorical axes, constraints that cut the grid and several objectives;
//! a multi-chunk run; an injected mid-sweep failure finished on the CPU; and the CLI.
//! Without an adapter the tests print why and pass, unless CLUSTERSWEEP_REQUIRE_GPU=1.

use clustersweep::backend::cpu::CpuBackend;
use clustersweep::backend::gpu::{GpuBackend, GpuOptions};
use clustersweep::backend::Backend;
use clustersweep::catalog::Catalog;
use clustersweep::model::{evaluate, is_feasible, Metric, Objective};
use clustersweep::plan::SweepPlan;
use clustersweep::reduce::Reductions;
use clustersweep::report;
use clustersweep::scenario::Scenario;
use clustersweep::summary::{summarise, Summary};
use clustersweep::sweep::run_sweep;
use std::ops::Range;

mod common;
use common::{gpu, Rng, REQUIRED_IDS};

/// The NVIDIA accelerators of the required catalog ids (A100 .. GB300).
const ACCS: &[&str] = REQUIRED_IDS.split_at(6).0;

/// A random scenario of at most a few thousand configurations.
fn random_scenario(rng: &mut Rng) -> String {
    let mut axes = String::new();
    let mut fixed = String::new();
    let mut size = 1usize;
    let axis = |name: &str, vals: String, n: usize, axes: &mut String, size: &mut usize| {
        axes.push_str(&format!("{name} = {vals}\n"));
        *size *= n;
    };
    // Categorical parameters.
    if rng.chance(0.7) {
        let n = 1 + rng.below(3);
        let start = rng.below(ACCS.len() - n + 1);
        let ids: Vec<String> = ACCS[start..start + n]
            .iter()
            .map(|a| format!("\"{a}\""))
            .collect();
        axis(
            "accelerator",
            format!("[{}]", ids.join(", ")),
            n,
            &mut axes,
            &mut size,
        );
    } else {
        fixed.push_str(&format!("accelerator = \"{}\"\n", rng.pick(ACCS)));
    }
    if rng.chance(0.4) {
        axis(
            "precision",
            "[\"fp4\", \"fp8\", \"bf16\"]".into(),
            3,
            &mut axes,
            &mut size,
        );
    } else if rng.chance(0.5) {
        fixed.push_str(&format!(
            "precision = \"{}\"\n",
            rng.pick(&["fp4", "fp8", "bf16"])
        ));
    }
    if rng.chance(0.4) {
        axis(
            "cost_model",
            "[\"own\", \"rent\"]".into(),
            2,
            &mut axes,
            &mut size,
        );
    } else if rng.chance(0.5) {
        fixed.push_str(&format!(
            "cost_model = \"{}\"\n",
            rng.pick(&["own", "rent"])
        ));
    }
    // Integer parameters.
    match rng.below(3) {
        0 => axis(
            "gpu_count",
            "{ from = 100, to = 2000000, steps = 7, scale = \"log\" }".into(),
            7,
            &mut axes,
            &mut size,
        ),
        1 => axis(
            "gpu_count",
            "[0, 1, 8, 1000, 100000000, 200000000]".into(),
            6,
            &mut axes,
            &mut size,
        ),
        _ => fixed.push_str("gpu_count = 4096\n"),
    }
    if rng.chance(0.4) {
        axis(
            "job_gpus",
            "[0, 512, 16384]".into(),
            3,
            &mut axes,
            &mut size,
        );
    }
    // Power: exact catalog bounds included (100/200/300/400/450 W mins, 400..1400 W TDPs).
    match rng.below(4) {
        0 => axis(
            "power_w",
            "[50, 100, 200, 300, 400, 450, 700, 1000, 1200, 1400, 1500]".into(),
            11,
            &mut axes,
            &mut size,
        ),
        1 => axis(
            "power_frac",
            "[0, 0.25, 0.3, 0.5, 0.75, 1.0, 1.1]".into(),
            7,
            &mut axes,
            &mut size,
        ),
        2 => fixed.push_str(&format!(
            "power_frac = {}\n",
            rng.pick(&["0.5", "1.0", "0.2"])
        )),
        _ => {}
    }
    // Real parameters: some axes reach outside the valid range.
    let reals: [(&str, &str, usize); 16] = [
        ("utilization", "[0, 0.3, 0.55, 1.0]", 4),
        ("load_frac", "[0.5, 0.8, 1.0]", 3),
        ("pue", "{ from = 0.9, to = 1.5, steps = 4 }", 4),
        ("host_w", "[0, 150, 300]", 3),
        ("mtbf_hours", "[0, 20000, 50000]", 3),
        ("checkpoint_s", "[0, 30, 600]", 3),
        ("restart_s", "[0, 300, 3600]", 3),
        ("years", "[1, 5, 7]", 3),
        ("electricity_usd_per_kwh", "[0.03, 0.08, 0.2]", 3),
        ("gpu_price_usd", "[10000, 30000]", 2),
        ("host_capex_usd", "[5000, 15000]", 2),
        ("facility_usd_per_w", "[8, 12]", 2),
        ("gpu_hour_usd", "{ from = 1.5, to = 6, steps = 3 }", 3),
        ("carbon_kg_per_kwh", "[0, 0.4]", 2),
        ("utilization", "", 0),
        ("pue", "", 0),
    ];
    for _ in 0..2 + rng.below(3) {
        let (name, vals, n) = reals[rng.below(14)];
        if axes.contains(&format!("\n{name} =")) || axes.starts_with(name) || fixed.contains(name) {
            continue;
        }
        if size * n > 6000 {
            break;
        }
        axis(name, vals.into(), n, &mut axes, &mut size);
    }
    // Spec v2: renting is never free, so a grid that may rent needs a price.
    if !(axes.contains("\ngpu_hour_usd =") || axes.starts_with("gpu_hour_usd")) {
        fixed.push_str("gpu_hour_usd = 3.0\n");
    }
    let mut workload = String::new();
    let has_train = rng.chance(0.5);
    if has_train {
        workload.push_str("train_flop = 3.8e25\n");
    }
    if rng.chance(0.5) {
        workload.push_str("model_params = 4.05e11\n");
    }
    let mut constraints = String::new();
    if rng.chance(0.5) {
        constraints.push_str(&format!(
            "max_facility_mw = {}\n",
            rng.pick(&["1", "50", "1000"])
        ));
    }
    if rng.chance(0.4) {
        constraints.push_str(&format!(
            "max_tco_usd = {}\n",
            rng.pick(&["1e8", "5e9", "1e11"])
        ));
    }
    if rng.chance(0.3) {
        constraints.push_str("max_capex_usd = 2e9\n");
    }
    if has_train && rng.chance(0.4) {
        constraints.push_str("max_train_days = 90\n");
    }
    if rng.chance(0.3) {
        constraints.push_str(&format!(
            "min_throughput_pflops = {}\n",
            rng.pick(&["10", "1000"])
        ));
    }
    let mut objs = vec![
        "metric = \"throughput_pflops\"",
        "metric = \"usd_per_eflop\"",
        "metric = \"gflops_per_w\"",
        "metric = \"tco_usd\"",
        "metric = \"facility_mw\"\nsense = \"min\"",
    ];
    if has_train {
        objs.push("metric = \"train_days\"");
    }
    let objective = rng.pick(&objs);
    format!(
        "name = \"random\"\n[axes]\n{axes}[fixed]\n{fixed}[constraints]\n{constraints}[workload]\n{workload}[objective]\n{objective}\n"
    )
}

fn rel(a: f64, b: f64) -> f64 {
    if a == b {
        0.0
    } else {
        (a - b).abs() / a.abs().max(b.abs())
    }
}

/// Feasible configurations (f64) of `range` within 1e-5 relative of a constraint bound (or of
/// zero throughput), where f32 may decide feasibility differently.
fn near_bound(plan: &SweepPlan, range: Range<u64>) -> u64 {
    let s = &plan.scenario;
    let mut n = 0;
    for i in range {
        let (c, a) = s.resolve(&s.values_at_index(i));
        let e = evaluate(&c, a, &s.workload);
        if !e.valid {
            continue;
        }
        let near = s
            .constraints
            .bounds()
            .iter()
            .any(|&(m, b, _)| rel(e.metrics[m as usize], b) <= 1e-5)
            || e.metrics[Metric::Goodput as usize] < 1e-4;
        n += near as u64;
    }
    n
}

fn objective_at(plan: &SweepPlan, index: u64) -> (f64, bool) {
    let s = &plan.scenario;
    let (c, a) = s.resolve(&s.values_at_index(index));
    let e = evaluate(&c, a, &s.workload);
    (
        e.metrics[s.objective.metric as usize],
        is_feasible(&e, &s.constraints),
    )
}

fn same_shape(a: &serde_json::Value, b: &serde_json::Value, path: &str) {
    use serde_json::Value as V;
    match (a, b) {
        (V::Object(x), V::Object(y)) => {
            let kx: Vec<_> = x.keys().collect();
            let ky: Vec<_> = y.keys().collect();
            assert_eq!(kx, ky, "keys differ at {path}");
            for k in x.keys() {
                same_shape(&x[k], &y[k], &format!("{path}.{k}"));
            }
        }
        (V::Array(x), V::Array(y)) => {
            if let (Some(p), Some(q)) = (x.first(), y.first()) {
                same_shape(p, q, &format!("{path}[0]"));
            }
        }
        _ => {}
    }
}

fn compare(plan: &SweepPlan, range: Range<u64>, cpu: &Reductions, gpu: &Reductions, ctx: &str) {
    let obj: Objective = plan.scenario.objective;
    assert_eq!(cpu.evaluated, gpu.evaluated, "{ctx}: evaluated");
    assert_eq!(cpu.invalid, gpu.invalid, "{ctx}: invalid");
    let near = if cpu.feasible == gpu.feasible {
        0
    } else {
        near_bound(plan, range)
    };
    assert!(
        cpu.feasible.abs_diff(gpu.feasible) <= near,
        "{ctx}: feasible cpu {} gpu {} (near bounds {near})",
        cpu.feasible,
        gpu.feasible
    );
    let exact = cpu.feasible == gpu.feasible;
    match (cpu.best, gpu.best) {
        (None, None) => {}
        (Some(c), Some(g)) => {
            assert!(
                rel(c.objective, g.objective) <= 1e-5,
                "{ctx}: best {c:?} vs {g:?}"
            );
            if c.index != g.index {
                let (oc, _) = objective_at(plan, c.index);
                let (og, fg) = objective_at(plan, g.index);
                assert!(
                    rel(oc, og) <= 1e-5,
                    "{ctx}: best indices {c:?} {g:?} rate {oc} vs {og}"
                );
                assert!(fg || !exact, "{ctx}: GPU best {g:?} infeasible in f64");
            }
        }
        (c, g) => assert!(!exact, "{ctx}: best {c:?} vs {g:?}"),
    }
    if exact {
        for (k, (c, g)) in cpu.best_by.iter().zip(&gpu.best_by).enumerate() {
            match (c, g) {
                (None, None) => {}
                (Some(c), Some(g)) => {
                    let (oc, og) = (objective_at(plan, c.index).0, objective_at(plan, g.index).0);
                    assert!(rel(oc, og) <= 1e-5, "{ctx}: group {k}: {c:?} vs {g:?}");
                }
                _ => panic!("{ctx}: group {k}: {c:?} vs {g:?}"),
            }
        }
        if cpu.feasible > 0 {
            for m in Metric::ALL
                .iter()
                .filter(|m| m.applies(&plan.scenario.workload))
            {
                let (c, g) = (&cpu.stats[m.index()], &gpu.stats[m.index()]);
                assert!(rel(c.min, g.min) <= 1e-4, "{ctx}: {m} min {c:?} vs {g:?}");
                assert!(rel(c.max, g.max) <= 1e-4, "{ctx}: {m} max {c:?} vs {g:?}");
                assert!(
                    rel(c.sum.value(), g.sum.value()) <= 1e-4,
                    "{ctx}: {m} sum {c:?} vs {g:?}"
                );
            }
        }
        let _ = obj;
    }
    let sc = summarise(plan, cpu, CpuBackend::new(1).unwrap().info(), 1.0);
    let sg = summarise(plan, gpu, CpuBackend::new(1).unwrap().info(), 1.0);
    same_shape(
        &report::json::summary(&sc),
        &report::json::summary(&sg),
        ctx,
    );
}

#[test]
fn gpu_agrees_with_cpu_on_random_grids() {
    let Some(g1) = gpu(GpuOptions::default()) else {
        return;
    };
    // Odd cases on the two-pass kernel (32-bit atomics), even ones on the default (one pass
    // with 64-bit atomics where the device has them).
    let Some(g2) = gpu(GpuOptions {
        int64_atomics: false,
        ..GpuOptions::default()
    }) else {
        return;
    };
    assert!(!g2.one_pass());
    eprintln!("default kernel: one pass {}", g1.one_pass());
    let catalog = Catalog::builtin().unwrap();
    let cpu = CpuBackend::new(0).unwrap();
    let mut rng = Rng(0x5eed_2025);
    let cases: usize = std::env::var("CLUSTERSWEEP_GPU_CASES")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(24);
    for case in 0..cases {
        let text = random_scenario(&mut rng);
        let scenario = match Scenario::parse("random.toml", &text, &catalog) {
            Ok(s) => s,
            Err(e) => panic!("case {case}: generated scenario does not parse: {e}\n{text}"),
        };
        let plan = SweepPlan::new(scenario, None).unwrap();
        let r = 0..plan.grid.size;
        let c = cpu.run(&plan, r.clone(), &|_| {}).unwrap();
        let g = if case % 2 == 0 { &g1 } else { &g2 };
        let gr = g
            .run(&plan, r, &|_| {})
            .unwrap_or_else(|e| panic!("case {case}: {}\n{text}", e.message));
        compare(
            &plan,
            0..plan.grid.size,
            &c,
            &gr,
            &format!("case {case}\n{text}"),
        );
    }
}

fn small_default_plan(catalog: &Catalog) -> SweepPlan {
    let text = clustersweep::scenario::DEFAULT_SCENARIO
        .replace("steps = 1000, scale", "steps = 40, scale")
        .replace(
            "gpu_hour_usd = { from = 2.5, to = 6.0, steps = 36 }",
            "gpu_hour_usd = { from = 2.5, to = 6.0, steps = 8 }",
        );
    let s = Scenario::parse("default-small", &text, catalog).unwrap();
    SweepPlan::new(s, None).unwrap()
}

#[test]
fn gpu_multi_chunk_matches_cpu() {
    for int64_atomics in [true, false] {
        multi_chunk(int64_atomics);
    }
}

fn multi_chunk(int64_atomics: bool) {
    let opts = GpuOptions {
        chunk: Some(5_000),
        int64_atomics,
        ..GpuOptions::default()
    };
    let Some(g) = gpu(opts) else { return };
    let catalog = Catalog::builtin().unwrap();
    let plan = small_default_plan(&catalog);
    assert!(plan.grid.size > 20 * 5_000, "{}", plan.grid.size);
    let cpu = CpuBackend::new(0).unwrap();
    let r = 0..plan.grid.size;
    let c = cpu.run(&plan, r.clone(), &|_| {}).unwrap();
    let gr = g
        .run(&plan, r.clone(), &|_| {})
        .unwrap_or_else(|e| panic!("{}", e.message));
    compare(&plan, r, &c, &gr, "multi-chunk default");
    // An odd sub-range that starts mid-grid (carry across every axis).
    let sub = 12_345..plan.grid.size - 777;
    let c = cpu.run(&plan, sub.clone(), &|_| {}).unwrap();
    let gr = g
        .run(&plan, sub.clone(), &|_| {})
        .unwrap_or_else(|e| panic!("{}", e.message));
    compare(&plan, sub, &c, &gr, "sub-range");
}

#[test]
fn gpu_failure_mid_sweep_finishes_on_cpu() {
    let opts = GpuOptions {
        chunk: Some(20_000),
        fail_at_chunk: Some(2),
        ..GpuOptions::default()
    };
    let Some(g) = gpu(opts) else { return };
    let catalog = Catalog::builtin().unwrap();
    let plan = small_default_plan(&catalog);
    let cpu = CpuBackend::new(0).unwrap();
    let err = g.run(&plan, 0..plan.grid.size, &|_| {}).unwrap_err();
    // Chunks are whole summation tiles: 20,000 rounded up to one.
    let tile = clustersweep::backend::gpu::sum_tile(&plan.grid.lens);
    let chunk = 20_000u64.div_ceil(tile) * tile;
    assert!(
        2 * chunk < plan.grid.size,
        "tile {tile}: the test needs three chunks"
    );
    assert_eq!(err.remaining, 2 * chunk..plan.grid.size);
    assert!(err.message.contains("chunk 2"), "{}", err.message);
    let s = run_sweep(&plan, &g, Some(&cpu), &|_| {}).unwrap();
    assert_eq!(s.notices.len(), 1, "{:?}", s.notices);
    let full = cpu.run(&plan, 0..plan.grid.size, &|_| {}).unwrap();
    assert_eq!(s.evaluated, full.evaluated);
    assert_eq!(s.invalid, full.invalid);
    assert_eq!(s.feasible, full.feasible);
    assert_eq!(s.best.map(|b| b.index), full.best.map(|b| b.index));
}

#[test]
fn cli_sweep_backend_gpu_json() {
    if gpu(GpuOptions::default()).is_none() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("s.toml");
    let catalog = Catalog::builtin().unwrap();
    let _ = catalog;
    let text = clustersweep::scenario::DEFAULT_SCENARIO
        .replace("steps = 1000, scale", "steps = 20, scale");
    std::fs::write(&path, text).unwrap();
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_clustersweep"))
        .args(["sweep", "--backend", "gpu", "--json"])
        .arg(&path)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let doc: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let b = &doc["run"]["backend"];
    assert_eq!(b["kind"], "gpu", "{doc}");
    assert!(b["api"].is_string() && b["device_type"].is_string(), "{b}");
}

/// A scenario of about 2.0e12 configurations (more than 2^40): seven axes, the largest 1,000
/// long, and a cost constraint that cuts the grid.
const HUGE_SCENARIO: &str = r#"
name = "huge"
[axes]
accelerator = ["GB200", "GB300"]
gpu_count = { from = 1000, to = 1000000, steps = 1000 }
power_frac = { from = 0.5, to = 1.0, steps = 101 }
utilization = { from = 0.3, to = 0.6, steps = 100 }
pue = { from = 1.05, to = 1.5, steps = 50 }
mtbf_hours = { from = 20000, to = 80000, steps = 50 }
gpu_hour_usd = { from = 1.5, to = 6.0, steps = 40 }
[fixed]
cost_model = "rent"
years = 7
[constraints]
max_tco_usd = 38e9
[objective]
metric = "throughput_pflops"
"#;

/// Issue 3's grid larger than 2^32: GPU chunks at 64-bit bases (near 2^32, the middle of the
/// grid where the first axis carries, near 2^40 and at the very end) agree with the CPU.
/// Chunks are forced small so that several of them start mid-axis and straddle carries, and
/// one prepared sweep serves every range.
#[test]
fn gpu_grid_beyond_2_pow_40_sub_ranges() {
    let opts = GpuOptions {
        chunk: Some(1_500),
        ..GpuOptions::default()
    };
    let Some(g) = gpu(opts) else { return };
    let catalog = Catalog::builtin().unwrap();
    let scenario = Scenario::parse("huge.toml", HUGE_SCENARIO, &catalog).unwrap();
    let plan = SweepPlan::new(scenario, None).unwrap();
    let size = plan.grid.size;
    assert!(size > 1 << 40, "grid of {size} configurations");
    // Configurations per value of the first axis: its boundary carries through every axis.
    let half = size / 2;
    let inner = size / plan.grid.lens[0] / plan.grid.lens[1];
    let ranges = [
        (1u64 << 32) - 2_999..(1 << 32) + 3_001,
        half - 3_000..half + 3_000,
        (1u64 << 40) - 1_234..(1 << 40) + 4_321,
        3 * inner - 2_500..3 * inner + 2_500,
        size - 4_000..size,
    ];
    let cpu = CpuBackend::new(0).unwrap();
    let mut prepared = g.prepare(&plan).unwrap_or_else(|e| panic!("prepare: {e}"));
    let mut seen = 0u64;
    for r in ranges {
        let ctx = format!("range {r:?}");
        let c = cpu.run(&plan, r.clone(), &|_| {}).unwrap();
        let (gr, kernel) = prepared
            .run(r.clone(), &|_| {})
            .unwrap_or_else(|e| panic!("{ctx}: {}", e.message));
        assert_eq!(kernel.is_some(), g.has_timestamps(), "{ctx}: kernel time");
        assert_eq!(gr.evaluated, r.end - r.start, "{ctx}");
        assert_eq!(c.invalid, gr.invalid, "{ctx}: invalid");
        compare(&plan, r.clone(), &c, &gr, &ctx);
        if let Some(b) = gr.best {
            assert!(r.contains(&b.index), "{ctx}: best {b:?} outside the range");
        }
        seen += gr.feasible;
    }
    assert!(
        seen > 0,
        "no feasible configuration in any range: the test checks little"
    );
}

/// A prepared sweep gives the same answer on every run, reports kernel time exactly when the
/// device has timestamps, and is reusable after an empty range.
#[test]
fn gpu_prepared_sweep_reruns() {
    let Some(g) = gpu(GpuOptions::default()) else {
        return;
    };
    let catalog = Catalog::builtin().unwrap();
    let plan = small_default_plan(&catalog);
    eprintln!(
        "adapter {}: timestamps {}",
        g.adapter_info().name,
        g.has_timestamps()
    );
    let mut prepared = g.prepare(&plan).unwrap_or_else(|e| panic!("prepare: {e}"));
    let r = 1_000..plan.grid.size.min(300_000);
    let (a, ka) = prepared
        .run(r.clone(), &|_| {})
        .unwrap_or_else(|e| panic!("{}", e.message));
    let (e, _) = prepared
        .run(5..5, &|_| {})
        .unwrap_or_else(|e| panic!("{}", e.message));
    assert_eq!(e.evaluated, 0);
    let (b, kb) = prepared
        .run(r.clone(), &|_| {})
        .unwrap_or_else(|e| panic!("{}", e.message));
    for k in [ka, kb] {
        assert_eq!(k.is_some(), g.has_timestamps());
        if let Some(t) = k {
            assert!(t > 0.0 && t.is_finite(), "kernel time {t}");
            eprintln!(
                "kernel time for {} configurations: {t:.4} s",
                r.end - r.start
            );
        }
    }
    assert_eq!(
        (a.evaluated, a.invalid, a.feasible),
        (b.evaluated, b.invalid, b.feasible)
    );
    assert_eq!(a.best.map(|c| c.index), b.best.map(|c| c.index));
    let c = CpuBackend::new(0)
        .unwrap()
        .run(&plan, r.clone(), &|_| {})
        .unwrap();
    compare(&plan, r, &c, &a, "prepared");
}

/// The sweep of `plan` on the GPU and exactly on the CPU, checked to give the same best and
/// counts, with no re-run; returns both summaries.
#[track_caller]
fn same_answer_as_the_cpu(g: &GpuBackend, plan: &SweepPlan, ctx: &str) -> (Summary, Summary) {
    let on_gpu = run_sweep(plan, g, None, &|_| {}).unwrap();
    let exact = run_sweep(plan, &CpuBackend::new(0).unwrap(), None, &|_| {}).unwrap();
    let best = |s: &Summary| s.best.as_ref().map(|b| b.index);
    assert_eq!(best(&on_gpu), best(&exact), "{ctx}");
    assert!(on_gpu.best.as_ref().is_none_or(|b| b.feasible), "{ctx}");
    assert_eq!(
        (on_gpu.invalid, on_gpu.feasible),
        (exact.invalid, exact.feasible),
        "{ctx}"
    );
    assert!(
        !on_gpu.notices.iter().any(|n| n.contains("re-run")),
        "{ctx}: {:?}",
        on_gpu.notices
    );
    (on_gpu, exact)
}

/// A configuration exactly on a bound stays feasible and one just outside in f64 is not
/// reported, with no re-run: a constraint whose metric depends on few axes is decided on
/// the host in f64 (issue 9, "exact on the GPU without a re-run").
#[test]
fn gpu_constraint_bounds_match_the_f64_model() {
    let Some(g) = gpu(GpuOptions::default()) else {
        return;
    };
    let catalog = Catalog::builtin().unwrap();
    let a = catalog.find("H100-SXM").unwrap();
    // 1000 GPUs at the H100's TDP and host share, PUE 1.2: the largest facility power.
    let top = 1000.0 * (a.tdp_w + a.host_w) * 1.2 / 1e6;
    for bound in [top, top * (1.0 - 1e-6)] {
        let text = format!(
            "[axes]\ngpu_count = {{ from = 1, to = 1000, steps = 1000 }}\n[fixed]\naccelerator = \"H100-SXM\"\n[constraints]\nmax_facility_mw = {bound:?}\n"
        );
        let s = Scenario::parse("bound.toml", &text, &catalog).unwrap();
        let plan = SweepPlan::new(s, None).unwrap();
        let (on_gpu, _) = same_answer_as_the_cpu(&g, &plan, &format!("bound {bound}"));
        assert!(
            on_gpu.notices.is_empty(),
            "bound {bound}: {:?}",
            on_gpu.notices
        );
        assert!(
            on_gpu.best.as_ref().is_some_and(|b| b.feasible),
            "bound {bound}"
        );
    }
}

/// A constraint whose metric depends on more axes than the host tabulates is tested on the
/// device in f32; configurations within the slack of the bound go to the host, which
/// decides them in f64: the same best and counts as the CPU, with no re-run. Past the
/// band's capacity the chunk runs on the CPU, and a notice says so.
#[test]
fn gpu_decides_configurations_near_a_bound_in_f64_without_a_rerun() {
    let Some(g) = gpu(GpuOptions::default()) else {
        return;
    };
    let catalog = Catalog::builtin().unwrap();
    let a = catalog.find("H100-SXM").unwrap();
    // facility_mw = N (tdp + host) pue / 1e6 over 1000 fleet sizes x 100 PUEs: 100,000
    // combinations, more than a host table holds. The bound is one configuration's exact
    // f64 value, then a hair below it.
    let on = 640.0 * (a.tdp_w + a.host_w) * 1.2 / 1e6;
    let axes = "gpu_count = { from = 1, to = 1000, steps = 1000 }\npue = { from = 1.0, to = 1.3, steps = 100 }";
    for (bound, carbon_values, expect_cpu) in [
        (on, 1, false),
        (on * (1.0 - 1e-7), 1, false),
        // 5,000 carbon values per fleet size and PUE: every configuration near the bound
        // comes 5,000 times, more than one chunk's band holds.
        (on, 5000, true),
    ] {
        let text = format!(
            "[axes]\n{axes}\ncarbon_kg_per_kwh = {{ from = 0.1, to = 0.5, steps = {carbon_values} }}\n[fixed]\naccelerator = \"H100-SXM\"\n[constraints]\nmax_facility_mw = {bound:?}\n"
        );
        let s = Scenario::parse("band.toml", &text, &catalog).unwrap();
        let plan = SweepPlan::new(s, None).unwrap();
        let ctx = format!("bound {bound:e}, {carbon_values} carbon values");
        let (on_gpu, exact) = same_answer_as_the_cpu(&g, &plan, &ctx);
        assert_eq!(
            on_gpu
                .notices
                .iter()
                .any(|n| n.contains("evaluated on the CPU")),
            expect_cpu,
            "{ctx}: {:?}",
            on_gpu.notices
        );
        let leaders = |s: &Summary| -> Vec<u64> { s.pareto.iter().map(|p| p.index).collect() };
        assert_eq!(leaders(&on_gpu), leaders(&exact), "{ctx}: Pareto leaders");
    }
}

/// The 1 GW site grid of `benches/scenarios/site-1gw-tight.toml`: its facility cap lies
/// 1e-7 below the unconstrained best, which f32 admits and f64 does not. The GPU sweep
/// ends with the CPU's best and counts and no re-run.
#[test]
fn gpu_site_grid_with_a_binding_cap_needs_no_rerun() {
    let Some(g) = gpu(GpuOptions::default()) else {
        return;
    };
    let catalog = Catalog::builtin().unwrap();
    let s = Scenario::load("benches/scenarios/site-1gw-tight.toml", &catalog).unwrap();
    let plan = SweepPlan::new(s, None).unwrap();
    let (on_gpu, _) = same_answer_as_the_cpu(&g, &plan, "site-1gw-tight");
    assert!(on_gpu.notices.is_empty(), "{:?}", on_gpu.notices);
}

/// The heatmap cells of the GPU against the CPU's: the same feasible count per cell, and a
/// best whose f64 objective agrees to 1e-5 (the same index unless two tie within f32).
#[track_caller]
fn same_heatmap(plan: &SweepPlan, cpu: &Reductions, gpu: &Reductions, ctx: &str) {
    assert_eq!(cpu.feasible, gpu.feasible, "{ctx}: feasible");
    assert_eq!(cpu.heatmap.len(), plan.heatmap_cells(), "{ctx}");
    assert_eq!(gpu.heatmap.len(), plan.heatmap_cells(), "{ctx}");
    let mut filled = 0;
    for (k, (c, g)) in cpu.heatmap.iter().zip(&gpu.heatmap).enumerate() {
        assert_eq!(c.feasible, g.feasible, "{ctx}: cell {k} count");
        match (c.best, g.best) {
            (None, None) => {}
            (Some(c), Some(g)) => {
                filled += 1;
                assert!(rel(c.objective, g.objective) <= 1e-5, "{ctx}: cell {k}");
                let ((oc, _), (og, fg)) =
                    (objective_at(plan, c.index), objective_at(plan, g.index));
                assert!(rel(oc, og) <= 1e-5, "{ctx}: cell {k}: {c:?} vs {g:?}");
                assert!(fg, "{ctx}: cell {k}: GPU leader {g:?} infeasible in f64");
            }
            (c, g) => panic!("{ctx}: cell {k}: {c:?} vs {g:?}"),
        }
    }
    assert!(filled > 0, "{ctx}: no feasible cell");
    assert!(
        cpu.heatmap.iter().any(|c| c.best.is_none()),
        "{ctx}: every cell feasible (the test should have some that are not)"
    );
}

/// Issue 11, item 1: the heatmap reduction on the device, with its axes outer (the default
/// scenario's fleet size by power: offered once per tile) and inner (offered and counted
/// per configuration), on both kernels (64-bit and 32-bit atomics), over several chunks
/// and a sub-range, and with configurations near a bound decided on the host.
#[test]
fn gpu_heatmap_matches_cpu() {
    let catalog = Catalog::builtin().unwrap();
    let cpu = CpuBackend::new(0).unwrap();
    let inner = {
        let text = "name = \"heat\"\n[axes]\ngpu_count = { from = 1000, to = 200000, steps = 12, scale = \"log\" }\naccelerator = [\"H100-SXM\", \"GB200\", \"B200\"]\npower_frac = { from = 0.5, to = 1.0, steps = 6 }\njob_gpus = [0, 8192, 16384]\n[fixed]\ncost_model = \"rent\"\ngpu_hour_usd = 3.0\n[constraints]\nmax_facility_mw = 60\n";
        let s = Scenario::parse("heat.toml", text, &catalog).unwrap();
        let names = ["job_gpus".to_string(), "gpu_count".to_string()];
        SweepPlan::new(s, None)
            .unwrap()
            .with_heatmap(Some(&names))
            .unwrap()
    };
    for int64_atomics in [true, false] {
        let opts = GpuOptions {
            chunk: Some(5_000),
            int64_atomics,
            ..GpuOptions::default()
        };
        let Some(g) = gpu(opts) else { return };
        for (plan, name) in [
            (small_default_plan(&catalog), "default"),
            (inner.clone(), "inner"),
        ] {
            let ctx = format!("{name}, 64-bit atomics {int64_atomics}");
            let whole = 0..plan.grid.size;
            let c = cpu.run(&plan, whole.clone(), &|_| {}).unwrap();
            let gr = g
                .run(&plan, whole, &|_| {})
                .unwrap_or_else(|e| panic!("{ctx}: {}", e.message));
            same_heatmap(&plan, &c, &gr, &ctx);
            let sub = plan.grid.size / 7..plan.grid.size - plan.grid.size / 9;
            let c = cpu.run(&plan, sub.clone(), &|_| {}).unwrap();
            let gr = g
                .run(&plan, sub, &|_| {})
                .unwrap_or_else(|e| panic!("{ctx}: {}", e.message));
            same_heatmap(&plan, &c, &gr, &format!("{ctx}, sub-range"));
        }
    }
    // A bound on facility power that some configurations meet exactly: those near it go to
    // the host's band and into their heatmap cells there.
    let Some(g) = gpu(GpuOptions::default()) else {
        return;
    };
    let a = catalog.find("H100-SXM").unwrap();
    let on = 640.0 * (a.tdp_w + a.host_w) * 1.2 / 1e6;
    let text = format!(
        "[axes]\ngpu_count = {{ from = 1, to = 1000, steps = 1000 }}\npue = {{ from = 1.0, to = 1.3, steps = 100 }}\n[fixed]\naccelerator = \"H100-SXM\"\n[constraints]\nmax_facility_mw = {on:?}\n"
    );
    let s = Scenario::parse("band.toml", &text, &catalog).unwrap();
    let names = ["gpu_count".to_string(), "pue".to_string()];
    let plan = SweepPlan::new(s, None)
        .unwrap()
        .with_heatmap(Some(&names))
        .unwrap();
    let whole = 0..plan.grid.size;
    let c = cpu.run(&plan, whole.clone(), &|_| {}).unwrap();
    let gr = g
        .run(&plan, whole, &|_| {})
        .unwrap_or_else(|e| panic!("band: {}", e.message));
    same_heatmap(&plan, &c, &gr, "band");
    let (on_gpu, exact) = same_answer_as_the_cpu(&g, &plan, "band sweep");
    assert_eq!(
        on_gpu.heatmap.as_ref().map(|h| h.cells.len()),
        Some(100_000)
    );
    let (hg, hc) = (on_gpu.heatmap.unwrap(), exact.heatmap.unwrap());
    for (k, (a, b)) in hg.cells.iter().zip(&hc.cells).enumerate() {
        assert_eq!(a.feasible, b.feasible, "band summary cell {k}");
        match (a.best, b.best) {
            (Some((_, x)), Some((_, y))) => assert!(rel(x, y) <= 1e-5, "band summary cell {k}"),
            (None, None) => {}
            other => panic!("band summary cell {k}: {other:?}"),
        }
    }
}

/// Spec v2 "time and money" in f32 on the device: every combination of a discount rate, a
/// ramp and a price decline where the closed forms cancel or switch branches (r = 0, 1e-9,
/// 1e-5, 0.3; R = 0, 1e-9, Y / 2, Y - 1e-9, Y; delta = 0, 1e-9, 0.2), owned and rented,
/// grouped so that each configuration is its own group: each new metric as the objective,
/// every group's value as the GPU computed it against the f64 model within 1e-5.
#[test]
fn gpu_time_and_money_metrics_match_the_f64_model_at_the_limits() {
    let Some(g) = gpu(GpuOptions::default()) else {
        return;
    };
    let catalog = Catalog::builtin().unwrap();
    let axes = "discount_rate = [0.0, 1e-9, 1e-5, 0.3]\nramp_years = [0.0, 1e-9, 4.0, 7.999999999, 8.0]\nprice_decline = [0.0, 1e-9, 0.2]\ncost_model = [\"own\", \"rent\"]";
    let fixed = "accelerator = \"GB300\"\ngpu_count = 100000\npower_frac = 0.8\nyears = 8\nresidual_frac = 0.15\nfacility_basis = \"limit\"\ngpu_hour_usd = 3.5";
    let group_by: Vec<String> = ["discount_rate", "ramp_years", "price_decline", "cost_model"]
        .map(String::from)
        .to_vec();
    let mut worst: f64 = 0.0;
    for (metric, sense) in [
        ("npv_cost_usd", "min"),
        ("levelized_usd_per_eflop", "min"),
        ("usd_per_gpu_hour", "min"),
        ("tco_usd", "min"),
        ("total_eflop", "max"),
        ("capex_usd", "max"),
    ] {
        let text = format!(
            "[axes]\n{axes}\n[fixed]\n{fixed}\n[objective]\nmetric = \"{metric}\"\nsense = \"{sense}\"\n"
        );
        let s = Scenario::parse("time-money.toml", &text, &catalog).unwrap();
        let plan = SweepPlan::new(s, Some(&group_by)).unwrap();
        assert_eq!(
            plan.group_count as u64, plan.grid.size,
            "one group per configuration"
        );
        let on_gpu = g
            .run(&plan, 0..plan.grid.size, &|_| {})
            .unwrap_or_else(|e| panic!("{metric}: {}", e.message));
        assert_eq!(on_gpu.invalid, 0, "{metric}");
        assert_eq!(on_gpu.feasible, plan.grid.size, "{metric}");
        for (k, best) in on_gpu.best_by.iter().enumerate() {
            let c = best.unwrap_or_else(|| panic!("{metric}: group {k} empty"));
            let (want, feasible) = objective_at(&plan, c.index);
            assert!(feasible, "{metric} #{}", c.index);
            let err = rel(c.objective, want);
            worst = worst.max(err);
            let values = plan.scenario.values_at_index(c.index);
            assert!(
                err <= 1e-5,
                "{metric} at {values:?}: GPU {} vs f64 {want} ({err:e})",
                c.objective
            );
        }
    }
    eprintln!("worst relative difference, GPU (f32) vs f64: {worst:e}");
}

/// The shipped 30 GW, eight-year scenario (two constraints, one of them on the present
/// cost, over discount rates and ramps): the GPU gives the CPU's best and counts with no
/// re-run, and the same best per accelerator, cost model and discount rate.
#[test]
fn gpu_30gw_8y_scenario_matches_the_cpu() {
    let Some(g) = gpu(GpuOptions::default()) else {
        return;
    };
    let catalog = Catalog::builtin().unwrap();
    let s = Scenario::load("configs/scenarios/30gw-8y.toml", &catalog).unwrap();
    let group_by: Vec<String> = ["accelerator", "cost_model", "discount_rate"]
        .map(String::from)
        .to_vec();
    let plan = SweepPlan::new(s, Some(&group_by)).unwrap();
    let (on_gpu, exact) = same_answer_as_the_cpu(&g, &plan, "30gw-8y");
    let leaders = |s: &Summary| -> Vec<u64> { s.best_by.iter().map(|b| b.best.index).collect() };
    assert_eq!(leaders(&on_gpu), leaders(&exact));
}

/// Per-group feasible counts on the device (atomic adds per tile, or per run of one group
/// inside a tile when a group axis is inner) equal the CPU kernel's, group by group: the
/// default scenario's groups (outer), inner group axes, no groups, both atomics kernels,
/// several chunks and a sub-range; and with a bound whose near-bound configurations the
/// host decides (the band).
#[test]
fn gpu_group_counts_match_cpu() {
    let catalog = Catalog::builtin().unwrap();
    let cpu = CpuBackend::new(0).unwrap();
    let text = "name = \"groups\"\n[axes]\ngpu_count = { from = 1000, to = 200000, steps = 12, scale = \"log\" }\naccelerator = [\"H100-SXM\", \"GB200\", \"B200\"]\npower_frac = { from = 0.5, to = 1.0, steps = 6 }\njob_gpus = [0, 8192, 16384]\n[fixed]\ncost_model = \"rent\"\ngpu_hour_usd = 3.0\n[constraints]\nmax_facility_mw = 60\n";
    let s = Scenario::parse("groups.toml", text, &catalog).unwrap();
    let grouped = |names: &[&str]| {
        let names: Vec<String> = names.iter().map(|n| n.to_string()).collect();
        SweepPlan::new(s.clone(), Some(&names)).unwrap()
    };
    let plans = [
        (small_default_plan(&catalog), "default"),
        (grouped(&["job_gpus", "gpu_count"]), "inner"),
        (grouped(&["accelerator", "power_frac"]), "outer pair"),
        (grouped(&["none"]), "no groups"),
    ];
    for int64_atomics in [true, false] {
        let opts = GpuOptions {
            chunk: Some(5_000),
            int64_atomics,
            ..GpuOptions::default()
        };
        let Some(g) = gpu(opts) else { return };
        for (plan, name) in &plans {
            let ctx = format!("{name}, 64-bit atomics {int64_atomics}");
            for range in [
                0..plan.grid.size,
                plan.grid.size / 7..plan.grid.size - plan.grid.size / 9,
            ] {
                let c = cpu.run(plan, range.clone(), &|_| {}).unwrap();
                let gr = g
                    .run(plan, range.clone(), &|_| {})
                    .unwrap_or_else(|e| panic!("{ctx}: {}", e.message));
                assert!(c.feasible > 0, "{ctx}: nothing feasible");
                assert_eq!(gr.group_feasible, c.group_feasible, "{ctx}, {range:?}");
                assert_eq!(gr.group_feasible.iter().sum::<u64>(), gr.feasible, "{ctx}");
            }
        }
    }
    // Configurations that meet a facility bound exactly go to the host's band and are
    // counted in their group there.
    let Some(g) = gpu(GpuOptions::default()) else {
        return;
    };
    let a = catalog.find("H100-SXM").unwrap();
    let on = 640.0 * (a.tdp_w + a.host_w) * 1.2 / 1e6;
    let text = format!(
        "[axes]\ngpu_count = {{ from = 1, to = 1000, steps = 1000 }}\npue = {{ from = 1.0, to = 1.3, steps = 100 }}\n[fixed]\naccelerator = \"H100-SXM\"\n[constraints]\nmax_facility_mw = {on:?}\n"
    );
    let s = Scenario::parse("band.toml", &text, &catalog).unwrap();
    for names in [["pue"], ["gpu_count"]] {
        let names: Vec<String> = names.iter().map(|n| n.to_string()).collect();
        let plan = SweepPlan::new(s.clone(), Some(&names)).unwrap();
        let whole = 0..plan.grid.size;
        let c = cpu.run(&plan, whole.clone(), &|_| {}).unwrap();
        let gr = g
            .run(&plan, whole, &|_| {})
            .unwrap_or_else(|e| panic!("band: {}", e.message));
        assert_eq!(
            gr.group_feasible, c.group_feasible,
            "band, group by {names:?}"
        );
    }
}
