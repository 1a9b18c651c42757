//! The heatmap reduction (issue 11, item 1): per (x, y) cell the best objective over the
//! other axes among feasible configurations, its flat index (ties: lowest index) and the
//! feasible count, from the CPU kernel, checked cell by cell against a brute-force f64
//! evaluation with `model::evaluate`; whatever order the scenario lists its axes in (the
//! kernel walks them in its own order), with heatmap axes outer and inner, over sub-ranges
//! merged; `--heatmap` errors; `heatmap.csv` from the CLI.

use clustersweep::backend::cpu::CpuBackend;
use clustersweep::backend::Backend;
use clustersweep::catalog::Catalog;
use clustersweep::model::{evaluate, is_feasible};
use clustersweep::plan::{HeatmapAxes, SweepPlan};
use clustersweep::reduce::{HeatCell, Reductions};
use clustersweep::scenario::Scenario;

mod common;

/// Per cell (x digit * y length + y digit): the best (objective, index) and the feasible
/// count, evaluating every configuration in f64 in index order.
fn brute_force(plan: &SweepPlan, h: HeatmapAxes) -> Vec<(Option<(f64, u64)>, u64)> {
    let s = &plan.scenario;
    let lens = &plan.grid.lens;
    let mut cells = vec![(None, 0u64); (lens[h.x] * lens[h.y]) as usize];
    for i in 0..plan.grid.size {
        // Digits by hand: the last axis fastest.
        let mut digits = vec![0u64; lens.len()];
        let mut rest = i;
        for k in (0..lens.len()).rev() {
            digits[k] = rest % lens[k];
            rest /= lens[k];
        }
        let (c, a) = s.resolve(&s.values_at_index(i));
        let e = evaluate(&c, a, &s.workload);
        if !is_feasible(&e, &s.constraints) {
            continue;
        }
        let v = e.metrics[s.objective.metric as usize];
        let cell: &mut (Option<(f64, u64)>, u64) =
            &mut cells[(digits[h.x] * lens[h.y] + digits[h.y]) as usize];
        cell.1 += 1;
        let better = match cell.0 {
            None => true,
            Some((b, _)) => match s.objective.sense {
                clustersweep::model::Sense::Max => v > b,
                clustersweep::model::Sense::Min => v < b,
            },
        };
        if better {
            cell.0 = Some((v, i));
        }
    }
    cells
}

fn check(plan: &SweepPlan, r: &Reductions, ctx: &str) {
    let h = plan.heatmap.expect("a heatmap");
    let want = brute_force(plan, h);
    assert_eq!(r.heatmap.len(), want.len(), "{ctx}: cells");
    let mut feasible_cells = 0;
    for (k, (got, (best, n))) in r.heatmap.iter().zip(&want).enumerate() {
        assert_eq!(got.feasible, *n, "{ctx}: cell {k} feasible count");
        match (got.best, best) {
            (None, None) => {}
            (Some(g), Some((v, i))) => {
                feasible_cells += 1;
                assert_eq!(g.index, *i, "{ctx}: cell {k} index ({g:?} vs {v})");
                assert!(
                    (g.objective - v).abs() <= 1e-12 * v.abs(),
                    "{ctx}: cell {k}: {} vs {v}",
                    g.objective
                );
            }
            (g, w) => panic!("{ctx}: cell {k}: {g:?} vs {w:?}"),
        }
    }
    let total: u64 = r.heatmap.iter().map(|c| c.feasible).sum();
    assert_eq!(
        total, r.feasible,
        "{ctx}: cells add up to the feasible count"
    );
    // The test means something only if some cells are feasible and some are not.
    assert!(feasible_cells > 0, "{ctx}: no feasible cell");
}

fn scenario(order: &[usize], objective: &str) -> Scenario {
    common::axes_scenario("heat", &common::SMALL_AXES, order, 60.0, objective)
}

fn names(list: &[&str]) -> Vec<String> {
    list.iter().map(|s| s.to_string()).collect()
}

#[test]
fn cpu_heatmap_matches_brute_force_in_any_axis_order() {
    let cpu = CpuBackend::new(2).unwrap();
    let orders: [[usize; 5]; 4] = [
        [0, 1, 2, 3, 4],
        [4, 3, 2, 1, 0],
        [2, 0, 4, 1, 3],
        [1, 3, 0, 4, 2],
    ];
    let pairs: [(&str, &str); 4] = [
        ("gpu_count", "power_frac"),
        ("job_gpus", "gpu_count"),
        ("accelerator", "carbon_kg_per_kwh"),
        ("power_frac", "job_gpus"),
    ];
    for order in orders {
        for objective in ["throughput_pflops", "tco_usd"] {
            let s = scenario(&order, objective);
            let base = SweepPlan::new(s, None).unwrap();
            // The default: gpu_count by power_frac, in that order whatever the listing.
            let h = base.heatmap.expect("default heatmap");
            assert_eq!(
                (
                    base.scenario.axes[h.x].param.name(),
                    base.scenario.axes[h.y].param.name()
                ),
                ("gpu_count", "power_frac")
            );
            for (x, y) in pairs {
                let plan = base.clone().with_heatmap(Some(&names(&[x, y]))).unwrap();
                let ctx = format!("order {order:?}, {objective}, heatmap {x},{y}");
                let size = plan.grid.size;
                let whole = cpu.run(&plan, 0..size, &|_| {}).unwrap();
                check(&plan, &whole, &ctx);
                // Sub-ranges (the kernel keeps the scenario order there), merged in order.
                let cut = size / 3 + 7;
                let mut parts = cpu.run(&plan, 0..cut, &|_| {}).unwrap();
                let rest = cpu.run(&plan, cut..size, &|_| {}).unwrap();
                parts.merge(&rest, &plan.scenario.objective);
                check(&plan, &parts, &format!("{ctx}, split at {cut}"));
                assert_eq!(parts.heatmap, whole.heatmap, "{ctx}: split vs whole");
            }
        }
    }
}

#[test]
fn the_default_scenario_has_a_fleet_by_power_heatmap_and_none_turns_it_off() {
    let catalog = Catalog::builtin().unwrap();
    let plan = SweepPlan::new(Scenario::builtin_default(&catalog).unwrap(), None).unwrap();
    let h = plan.heatmap.expect("default heatmap");
    assert_eq!(plan.scenario.axes[h.x].param.name(), "gpu_count");
    assert_eq!(plan.scenario.axes[h.y].param.name(), "power_frac");
    assert_eq!(plan.heatmap_cells(), 1000 * 17);
    let off = plan.clone().with_heatmap(Some(&names(&["none"]))).unwrap();
    assert_eq!(off.heatmap, None);
    assert_eq!(off.heatmap_cells(), 0);
    // A scenario without a power axis has no default heatmap.
    let s = scenario(&[0, 1, 2], "throughput_pflops");
    assert_eq!(SweepPlan::new(s, None).unwrap().heatmap, None);
}

#[test]
fn bad_heatmap_axes_are_clear_errors() {
    let s = scenario(&[0, 1, 2, 3, 4], "throughput_pflops");
    let plan = SweepPlan::new(s, None).unwrap();
    let err = |list: &[&str]| {
        plan.clone()
            .with_heatmap(Some(&names(list)))
            .unwrap_err()
            .to_string()
    };
    assert_eq!(
        err(&["gpu_count", "bogus"]),
        "--heatmap: `bogus` is not an axis of scenario `heat`; axes: gpu_count, carbon_kg_per_kwh, accelerator, power_frac, job_gpus"
    );
    assert_eq!(
        err(&["pue", "gpu_count"]),
        "--heatmap: `pue` is not an axis of scenario `heat`; axes: gpu_count, carbon_kg_per_kwh, accelerator, power_frac, job_gpus"
    );
    assert_eq!(
        err(&["gpu_count", "gpu_count"]),
        "--heatmap: X and Y are the same axis `gpu_count`"
    );
    assert_eq!(
        err(&["gpu_count"]),
        "--heatmap: expected two axes X,Y (or `none`), got 1"
    );
    assert_eq!(
        err(&["gpu_count", "power_frac", "job_gpus"]),
        "--heatmap: expected two axes X,Y (or `none`), got 3"
    );
}

#[test]
fn heatmap_cells_round_trip_through_json() {
    let cpu = CpuBackend::new(1).unwrap();
    let plan = SweepPlan::new(scenario(&[0, 1, 2, 3, 4], "throughput_pflops"), None).unwrap();
    let r = cpu.run(&plan, 0..plan.grid.size, &|_| {}).unwrap();
    assert!(r.heatmap.iter().any(|c| c.best.is_some()));
    // The cells of shard partials travel as JSON (the other reductions' infinities are the
    // shard format's business).
    let text = serde_json::to_string(&r.heatmap).unwrap();
    let back: Vec<HeatCell> = serde_json::from_str(&text).unwrap();
    assert_eq!(back.len(), r.heatmap.len());
    for (a, b) in back.iter().zip(&r.heatmap) {
        assert_eq!(a.feasible, b.feasible);
        assert_eq!(a.best.map(|c| c.index), b.best.map(|c| c.index));
        // serde_json parses floats to within an ulp (exactly with `float_roundtrip`).
        if let (Some(x), Some(y)) = (a.best, b.best) {
            assert!((x.objective - y.objective).abs() <= 1e-15 * y.objective.abs());
        }
    }
}

#[test]
fn cli_writes_heatmap_csv_with_one_row_per_cell() {
    let dir = tempfile::tempdir().unwrap();
    let scen = dir.path().join("heat.toml");
    let text = format!(
        "name = \"heat\"\n[axes]\n{}\n{}\n{}\n[fixed]\ncost_model = \"rent\"\ngpu_hour_usd = 3.0\n[constraints]\nmax_facility_mw = 60\n[objective]\nmetric = \"throughput_pflops\"\n",
        common::SMALL_AXES[0], common::SMALL_AXES[2], common::SMALL_AXES[3]
    );
    std::fs::write(&scen, &text).unwrap();
    let out = dir.path().join("out");
    let o = common::run(&[
        "sweep",
        scen.to_str().unwrap(),
        "--backend",
        "cpu",
        "--out",
        out.to_str().unwrap(),
    ]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let csv = std::fs::read_to_string(out.join("heatmap.csv")).unwrap();
    let mut lines = csv.lines();
    assert_eq!(
        lines.next().unwrap(),
        "gpu_count,power_frac,feasible,best_index,throughput_pflops"
    );
    let rows: Vec<Vec<String>> = lines
        .map(|l| l.split(',').map(str::to_string).collect())
        .collect();
    assert_eq!(rows.len(), 12 * 6);
    let s = Scenario::parse("heat.toml", &text, &Catalog::builtin().unwrap()).unwrap();
    let plan = SweepPlan::new(s, None).unwrap();
    let h = plan.heatmap.unwrap();
    let want = brute_force(&plan, h);
    for (k, (row, (best, n))) in rows.iter().zip(&want).enumerate() {
        let (dx, dy) = (k / 6, k % 6);
        let xv: f64 = row[0].parse().unwrap();
        let yv: f64 = row[1].parse().unwrap();
        assert_eq!(xv, plan.scenario.axes[h.x].values[dx], "row {k}");
        assert_eq!(yv, plan.scenario.axes[h.y].values[dy], "row {k}");
        assert_eq!(row[2], n.to_string(), "row {k}");
        match best {
            Some((v, i)) => {
                assert_eq!(row[3], i.to_string(), "row {k}");
                let got: f64 = row[4].parse().unwrap();
                assert!((got - v).abs() <= 1e-12 * v.abs(), "row {k}: {got} vs {v}");
            }
            None => assert_eq!((row[3].as_str(), row[4].as_str()), ("", ""), "row {k}"),
        }
    }
}

/// Under uncertainty the Monte Carlo kernel fills the heatmap too: each cell's leader is
/// the best of the configurations in it (by the scenario's statistic), the overall best
/// leads its cell, and the cells' counts add up to the feasible count.
#[test]
fn monte_carlo_sweeps_fill_the_heatmap() {
    let text = common::UNCERTAIN_SMALL;
    let s = Scenario::parse("u.toml", text, &Catalog::builtin().unwrap()).unwrap();
    let plan = SweepPlan::new(s, None).unwrap();
    let h = plan.heatmap.expect("gpu_count by power_frac");
    let cpu = CpuBackend::new(1).unwrap();
    let r = cpu.run(&plan, 0..plan.grid.size, &|_| {}).unwrap();
    assert!(
        r.feasible > 0 && r.feasible < plan.grid.size,
        "{}",
        r.feasible
    );
    let total: u64 = r.heatmap.iter().map(|c| c.feasible).sum();
    assert_eq!(total, r.feasible);
    let best = r.best.expect("a best");
    let mut digits = vec![0; plan.grid.lens.len()];
    plan.grid.decode(best.index, &mut digits);
    let cell = (digits[h.x] * plan.grid.lens[h.y] + digits[h.y]) as usize;
    assert_eq!(r.heatmap[cell].best, Some(best));
    // Every other cell's leader lies in that cell and does not beat the best.
    for (k, c) in r.heatmap.iter().enumerate() {
        if let Some(b) = c.best {
            plan.grid.decode(b.index, &mut digits);
            assert_eq!(
                (digits[h.x] * plan.grid.lens[h.y] + digits[h.y]) as usize,
                k
            );
            assert!(b.objective <= best.objective);
        }
    }
}
