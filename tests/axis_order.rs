//! The CPU kernel walks the axes in the order that makes the least work (issue 9, item 3):
//! whatever order a scenario lists its axes in, and whatever order the kernel walks them
//! in, the result is the brute-force one, ties going to the lowest scenario index.

use clustersweep::backend::cpu::CpuBackend;
use clustersweep::backend::staged::evaluation_order;
use clustersweep::backend::Backend;
use clustersweep::catalog::Catalog;
use clustersweep::model::{evaluate, is_feasible};
use clustersweep::plan::SweepPlan;
use clustersweep::scenario::Scenario;

mod common;

/// Axes of a small grid; `carbon_kg_per_kwh` does not move the objective, so every
/// configuration ties with the others of its carbon values.
const AXES: [&str; 5] = [
    "gpu_count = { from = 1000, to = 200000, steps = 40, scale = \"log\" }",
    "carbon_kg_per_kwh = [0.2, 0.4, 0.1]",
    "accelerator = [\"H100-SXM\", \"GB200\", \"B200\"]",
    "power_frac = { from = 0.5, to = 1.0, steps = 6 }",
    "job_gpus = [0, 8192, 16384]",
];

fn scenario(order: &[usize], objective: &str) -> Scenario {
    common::axes_scenario("order", &AXES, order, 150.0, objective)
}

/// The lowest index with the best objective, by evaluating every configuration.
fn brute_force_best(plan: &SweepPlan) -> Option<u64> {
    let s = &plan.scenario;
    let mut best: Option<(f64, u64)> = None;
    for i in 0..plan.grid.size {
        let (c, a) = s.resolve(&s.values_at_index(i));
        let e = evaluate(&c, a, &s.workload);
        if !is_feasible(&e, &s.constraints) {
            continue;
        }
        let v = e.metrics[s.objective.metric as usize];
        if best.is_none_or(|(b, bi)| s.objective.beats(v, i, b, bi)) {
            best = Some((v, i));
        }
    }
    best.map(|(_, i)| i)
}

#[test]
fn every_listed_order_gives_the_brute_force_best() {
    let cpu = CpuBackend::new(2).unwrap();
    let orders: [[usize; 5]; 4] = [
        [0, 1, 2, 3, 4],
        [2, 3, 4, 1, 0],
        [4, 0, 3, 2, 1],
        [1, 2, 0, 4, 3],
    ];
    for objective in ["throughput_pflops", "usd_per_eflop", "gflops_per_w"] {
        for order in orders {
            let plan = SweepPlan::new(scenario(&order, objective), None).unwrap();
            let walk = evaluation_order(&plan);
            let r = cpu.run(&plan, 0..plan.grid.size, &|_| {}).unwrap();
            let ctx = format!("{objective}, listed {order:?}, walked {walk:?}");
            assert_eq!(r.best.map(|b| b.index), brute_force_best(&plan), "{ctx}");
            // The same counts as walking the scenario's own order (a part of the grid is
            // always walked in it).
            let half = plan.grid.size / 2;
            let mut parts = cpu.run(&plan, 0..half, &|_| {}).unwrap();
            parts.merge(
                &cpu.run(&plan, half..plan.grid.size, &|_| {}).unwrap(),
                &plan.scenario.objective,
            );
            assert_eq!(
                (r.evaluated, r.invalid, r.feasible),
                (parts.evaluated, parts.invalid, parts.feasible),
                "{ctx}"
            );
            assert_eq!(r.best, parts.best, "{ctx}");
            assert_eq!(r.best_by, parts.best_by, "{ctx}: best_by");
            assert_eq!(r.pareto, parts.pareto, "{ctx}: pareto");
        }
    }
}

#[test]
fn the_walk_keeps_the_fleet_size_out_of_the_window_however_it_is_listed() {
    use clustersweep::grid::Grid;
    use clustersweep::params::Param;
    let catalog = Catalog::builtin().unwrap();
    let plan = SweepPlan::new(Scenario::builtin_default(&catalog).unwrap(), None).unwrap();
    // The default scenario listed as is, with gpu_count last, and reversed.
    for listed in [
        vec![0, 1, 2, 3, 4, 5, 6],
        vec![0, 2, 3, 4, 5, 6, 1],
        vec![6, 5, 4, 3, 2, 1, 0],
    ] {
        let listed_plan = plan.permuted(&listed);
        let walk = evaluation_order(&listed_plan);
        let mut sorted = walk.clone();
        sorted.sort_unstable();
        assert_eq!(
            sorted,
            (0..7).collect::<Vec<_>>(),
            "a permutation: {walk:?}"
        );
        let lens: Vec<u64> = walk.iter().map(|&k| listed_plan.grid.lens[k]).collect();
        // The CPU kernel's window: axes whose block reaches 32 configurations.
        let (inner, _) = Grid::inner_block(&lens, 32);
        let gpu_count = listed_plan.scenario.axis_of(Param::GpuCount).unwrap();
        assert!(
            !walk[inner..].contains(&gpu_count),
            "listed {listed:?}: walk {walk:?} keeps gpu_count in the window"
        );
    }
}
