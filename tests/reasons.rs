//! `eval` says why a configuration is invalid or infeasible (spec v2 "values as people read
//! them"; issues 11 and 15): each failed range or constraint, with the value and the bound.

mod common;

fn reasons(args: &[&str]) -> Vec<String> {
    let mut all = vec!["eval"];
    all.extend_from_slice(args);
    all.push("--json");
    let out = common::run(&all);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let j: serde_json::Value = serde_json::from_slice(&out.stdout).expect("json");
    j["reasons"]
        .as_array()
        .expect("reasons")
        .iter()
        .map(|r| r.as_str().expect("text").to_string())
        .collect()
}

#[test]
fn eval_names_each_failed_range_with_its_value_and_bound() {
    let why = reasons(&["--set", "utilization=1.5", "--set", "power_frac=0.1"]);
    assert_eq!(
        why,
        [
            "utilization = 1.5 is outside its range (0 < x <= 1)",
            "the power limit 120 W is below GB200's min_power_w 400 W"
        ]
    );
    let why = reasons(&["--set", "years=5", "--set", "ramp_years=9"]);
    assert_eq!(why, ["ramp_years = 9 is above years = 5"]);
    let why = reasons(&["--set", "idle_w=500"]);
    assert_eq!(
        why,
        ["idle_w = 500 W is not below GB200's min_power_w 400 W"]
    );
}

#[test]
fn eval_names_each_failed_constraint_and_nothing_when_feasible() {
    // The default scenario's $38B cap: two million GB200 rented for seven years exceed it.
    let why = reasons(&["--set", "gpu_count=2000000"]);
    assert_eq!(why.len(), 1, "{why:?}");
    assert!(
        why[0].starts_with("tco_usd = $")
            && why[0].ends_with(" is above max_tco_usd = $38,000,000,000"),
        "{why:?}"
    );
    assert!(reasons(&["--set", "gpu_count=20000"]).is_empty());
    let why = reasons(&["--set", "utilization=0"]);
    assert!(
        why.contains(&"utilization = 0 is outside its range (0 < x <= 1)".to_string()),
        "{why:?}"
    );
}
