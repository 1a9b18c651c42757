//! Per-group feasible counts (issue 11, `--group-by`): every group's count of feasible
//! configurations, reduced inside the sweep like the other reductions. The CPU kernel's
//! counts against a brute-force f64 evaluation with `model::evaluate` (group axes outer and
//! inner, whatever order the scenario lists its axes in, sub-ranges merged), the Monte Carlo
//! kernel's against `draws::over_draws` per configuration, and from the CLI: each leader's
//! `feasible` in the JSON, table and `best_by.csv`, and shards merged equal to one run.

use clustersweep::backend::cpu::CpuBackend;
use clustersweep::backend::Backend;
use clustersweep::catalog::Catalog;
use clustersweep::draws::over_draws;
use clustersweep::model::{evaluate, is_feasible};
use clustersweep::plan::SweepPlan;
use clustersweep::scenario::Scenario;

mod common;
use common::{run, stdout_ok as ok, write};

/// Digits of flat index `i` (the last axis fastest), written out by hand.
fn digits_of(lens: &[u64], i: u64) -> Vec<u64> {
    let mut digits = vec![0u64; lens.len()];
    let mut rest = i;
    for k in (0..lens.len()).rev() {
        digits[k] = rest % lens[k];
        rest /= lens[k];
    }
    digits
}

/// The group number of `digits` (group axes in `--group-by` order, the last fastest),
/// written out by hand.
fn group_number(plan: &SweepPlan, digits: &[u64]) -> usize {
    plan.group_axes.iter().fold(0usize, |g, &k| {
        g * plan.grid.lens[k] as usize + digits[k] as usize
    })
}

/// Per group: the configurations the f64 model finds feasible.
fn brute_force(plan: &SweepPlan) -> Vec<u64> {
    let s = &plan.scenario;
    let mut counts = vec![0u64; plan.group_count];
    for i in 0..plan.grid.size {
        let digits = digits_of(&plan.grid.lens, i);
        let (c, a) = s.resolve(&s.values_at_index(i));
        if is_feasible(&evaluate(&c, a, &s.workload), &s.constraints) {
            counts[group_number(plan, &digits)] += 1;
        }
    }
    counts
}

fn scenario(order: &[usize]) -> Scenario {
    common::axes_scenario(
        "groups",
        &common::SMALL_AXES,
        order,
        60.0,
        "throughput_pflops",
    )
}

#[test]
fn cpu_group_counts_match_brute_force_in_any_axis_order() {
    let cpu = CpuBackend::new(2).unwrap();
    let orders: [[usize; 5]; 3] = [[0, 1, 2, 3, 4], [4, 3, 2, 1, 0], [2, 0, 4, 1, 3]];
    let groupings: [&[&str]; 5] = [
        &["accelerator"],
        &["job_gpus"],
        &["gpu_count", "power_frac"],
        &["power_frac", "accelerator"],
        &[],
    ];
    for order in orders {
        for group_by in groupings {
            let names: Vec<String> = group_by.iter().map(|s| s.to_string()).collect();
            let plan = if group_by.is_empty() {
                SweepPlan::new(scenario(&order), Some(&["none".to_string()]))
            } else {
                SweepPlan::new(scenario(&order), Some(&names))
            }
            .unwrap();
            let ctx = format!("order {order:?}, group by {group_by:?}");
            let want = brute_force(&plan);
            assert!(
                want.iter().any(|&n| n > 0) && want.iter().sum::<u64>() < plan.grid.size,
                "{ctx}: the cap must leave some feasible and some not: {want:?}"
            );
            let size = plan.grid.size;
            let whole = cpu.run(&plan, 0..size, &|_| {}).unwrap();
            assert_eq!(whole.group_feasible, want, "{ctx}");
            assert_eq!(whole.group_feasible.iter().sum::<u64>(), whole.feasible);
            // Sub-ranges merged (threads, chunks, shards and checkpoints merge alike).
            let cuts = [0, size / 5 + 3, size / 2 + 1, size - 7, size];
            let mut merged = cpu.run(&plan, cuts[0]..cuts[1], &|_| {}).unwrap();
            for w in cuts[1..].windows(2) {
                let part = cpu.run(&plan, w[0]..w[1], &|_| {}).unwrap();
                merged.merge(&part, &plan.scenario.objective);
            }
            assert_eq!(merged.group_feasible, want, "{ctx}: merged");
        }
    }
}

#[test]
fn monte_carlo_group_counts_match_the_draws_of_each_configuration() {
    let text = common::UNCERTAIN_SMALL;
    let s = Scenario::parse("u.toml", text, &Catalog::builtin().unwrap()).unwrap();
    let cpu = CpuBackend::new(1).unwrap();
    for group_by in [["accelerator"], ["gpu_count"], ["power_frac"]] {
        let names: Vec<String> = group_by.iter().map(|s| s.to_string()).collect();
        let plan = SweepPlan::new(s.clone(), Some(&names)).unwrap();
        let mut want = vec![0u64; plan.group_count];
        for i in 0..plan.grid.size {
            let digits = digits_of(&plan.grid.lens, i);
            if over_draws(&s, &s.values_at_index(i), None).feasible(&s) {
                want[group_number(&plan, &digits)] += 1;
            }
        }
        let r = cpu.run(&plan, 0..plan.grid.size, &|_| {}).unwrap();
        assert!(
            r.feasible > 0 && r.feasible < plan.grid.size,
            "{}",
            r.feasible
        );
        assert_eq!(r.group_feasible, want, "group by {group_by:?}");
    }
}

const CLI_SCENARIO: &str = r#"name = "cli-groups"
[axes]
accelerator = ["H100-SXM", "GB200", "B200"]
gpu_count = { from = 1000, to = 200000, steps = 12, scale = "log" }
power_frac = { from = 0.5, to = 1.0, steps = 6 }
[fixed]
cost_model = "rent"
gpu_hour_usd = 3.0
[constraints]
max_facility_mw = 60
"#;

#[test]
fn leaders_carry_their_feasible_count_and_shards_merge_to_the_same_counts() {
    let dir = tempfile::tempdir().unwrap();
    let p = write(dir.path(), "s.toml", CLI_SCENARIO);
    let p = p.to_str().unwrap();
    let s = Scenario::parse(p, CLI_SCENARIO, &Catalog::builtin().unwrap()).unwrap();
    let names = vec!["gpu_count".to_string()];
    let plan = SweepPlan::new(s, Some(&names)).unwrap();
    let want = brute_force(&plan);
    let out_dir = dir.path().join("out");
    let o = out_dir.to_str().unwrap();
    let base = ["--backend", "cpu", "--group-by", "gpu_count", "--quiet"];
    let mut args = vec!["sweep", p, "--json", "--out", o];
    args.extend_from_slice(&base);
    let whole: serde_json::Value = serde_json::from_str(&ok(&run(&args), "sweep")).unwrap();
    let leaders = whole["best_by"].as_array().unwrap();
    let empty = whole["empty_groups"].as_array().unwrap();
    assert!(!leaders.is_empty() && !empty.is_empty(), "{whole}");
    let count_of = |v: &serde_json::Value| -> (u64, u64) {
        (
            v["group"]["gpu_count"].as_u64().unwrap(),
            v["feasible"].as_u64().unwrap(),
        )
    };
    let got: Vec<(u64, u64)> = leaders.iter().chain(empty).map(count_of).collect();
    let axis = &plan.scenario.axes[plan.group_axes[0]];
    for (g, &n) in want.iter().enumerate() {
        let gpus = axis.values[g] as u64;
        assert!(
            got.contains(&(gpus, n)),
            "group {gpus}: {n} feasible, got {got:?}"
        );
    }
    assert_eq!(
        got.iter().map(|(_, n)| n).sum::<u64>(),
        whole["counts"]["feasible"].as_u64().unwrap()
    );

    // best_by.csv: a `feasible` column after the group's.
    let mut reader = csv::Reader::from_path(out_dir.join("best_by.csv")).unwrap();
    let header: Vec<String> = reader.headers().unwrap().iter().map(String::from).collect();
    assert_eq!(&header[..3], &["group_gpu_count", "feasible", "index"]);
    let rows: Vec<csv::StringRecord> = reader.records().map(Result::unwrap).collect();
    assert_eq!(
        rows.len(),
        leaders.len() + empty.len(),
        "every group has a row"
    );
    for (row, leader) in rows.iter().zip(leaders) {
        assert_eq!(row[1], leader["feasible"].to_string());
        assert_eq!(row[2], leader["index"].to_string());
    }
    // The groups with nothing feasible follow: count 0, no configuration.
    for (row, group) in rows[leaders.len()..].iter().zip(empty) {
        assert_eq!(row[0], group["group"]["gpu_count"].to_string());
        assert_eq!(&row[1], "0");
        assert!(row.iter().skip(2).all(str::is_empty), "{row:?}");
    }

    // `sweep --format csv`: `group_feasible` beside the group, and one `empty_group` row
    // per group with nothing feasible.
    let mut args = vec!["sweep", p, "--format", "csv"];
    args.extend_from_slice(&base);
    let csv_text = ok(&run(&args), "csv");
    let mut reader = csv::Reader::from_reader(csv_text.as_bytes());
    let header: Vec<String> = reader.headers().unwrap().iter().map(String::from).collect();
    assert_eq!(
        &header[..4],
        &["role", "group_gpu_count", "group_feasible", "index"]
    );
    let rows: Vec<csv::StringRecord> = reader.records().map(Result::unwrap).collect();
    let of_role = |role: &str| -> Vec<&csv::StringRecord> {
        rows.iter().filter(|r| r.get(0) == Some(role)).collect()
    };
    let leader_rows = of_role("leader");
    assert_eq!(leader_rows.len(), leaders.len(), "{csv_text}");
    for (row, leader) in leader_rows.iter().zip(leaders) {
        assert_eq!(row[1], leader["group"]["gpu_count"].to_string());
        assert_eq!(row[2], leader["feasible"].to_string());
        assert_eq!(row[3], leader["index"].to_string());
    }
    let empty_rows = of_role("empty_group");
    assert_eq!(empty_rows.len(), empty.len(), "{csv_text}");
    for (row, group) in empty_rows.iter().zip(empty) {
        assert_eq!(row[1], group["group"]["gpu_count"].to_string());
        assert_eq!(&row[2], "0");
        assert!(row.iter().skip(3).all(str::is_empty), "{row:?}");
    }
    // The best and the frontier have no group.
    assert!(of_role("best")
        .iter()
        .chain(&of_role("pareto"))
        .all(|r| r[1].is_empty() && r[2].is_empty()));

    // The table says it under each leader.
    let mut args = vec!["sweep", p];
    args.extend_from_slice(&base);
    let table = ok(&run(&args), "table");
    for (_, n) in got.iter().filter(|(_, n)| *n > 0) {
        let line = format!("; {n} feasible configurations");
        assert!(table.contains(&line), "{line}\n{table}");
    }

    // Shards merged: the same counts as one run.
    let mut parts = Vec::new();
    for i in 0..4 {
        let part = dir.path().join(format!("p{i}.json"));
        let spec = format!("{i}/4");
        let mut args = vec!["sweep", p, "--shard", &spec, "--partial"];
        args.push(part.to_str().unwrap());
        args.extend_from_slice(&base);
        ok(&run(&args), &spec);
        parts.push(part);
    }
    let mut args = vec!["merge", "--json"];
    args.extend(parts.iter().map(|p| p.to_str().unwrap()));
    let merged: serde_json::Value = serde_json::from_str(&ok(&run(&args), "merge")).unwrap();
    let merged_counts: Vec<(u64, u64)> = merged["best_by"]
        .as_array()
        .unwrap()
        .iter()
        .chain(merged["empty_groups"].as_array().unwrap())
        .map(count_of)
        .collect();
    assert_eq!(merged_counts, got);
}
