//! The sensitivity tornado (spec v2 "sensitivity"): its ends against the f64 model with the
//! parameter set by hand, the order by swing, break-even values checked by sweeping on
//! either side of them, clipping to valid ranges, categorical alternatives, the CLI
//! (`sensitivity`, `sweep --sensitivity`) and its input errors; the GPU's re-sweeps agree
//! with the CPU's on lavapipe.

use clustersweep::backend::cpu::CpuBackend;
use clustersweep::backend::gpu::{GpuBackend, GpuError, GpuOptions};
use clustersweep::catalog::Catalog;
use clustersweep::model::{evaluate, is_feasible, Config};
use clustersweep::params::{Param, ParamKind};
use clustersweep::plan::SweepPlan;
use clustersweep::scenario::Scenario;
use clustersweep::sensitivity::{tornado, Row, Sensitivity, Setting};
use clustersweep::summary::ParamValue;
use clustersweep::sweep::run_sweep;
use serde_json::Value;
use std::path::PathBuf;

mod common;
use common::run;

/// 2 accelerators x 3 power fractions x 5 sizes under a facility cap that binds: the best
/// is B200 at 75% power on 2,000 accelerators, and `pue` (fixed) moves it both ways.
const BREAK_EVEN: &str = r#"
name = "sens-break-even"
[axes]
accelerator = ["H100-SXM", "B200"]
power_frac = [0.5, 0.75, 1.0]
gpu_count = [1000, 1500, 2000, 3000, 4000]
[fixed]
cost_model = "own"
pue = 1.3
[constraints]
max_facility_mw = 4.2
[objective]
metric = "throughput_pflops"
"#;

/// One accelerator, fixed; values at or near the ends of their valid ranges.
const CLIPPED: &str = r#"
name = "sens-clipped"
[axes]
gpu_count = [1000, 2000]
[fixed]
accelerator = "H100-SXM"
pue = 1.0
utilization = 0.95
load_frac = 1.0
[accelerators.H100-SXM]
idle_w = 195
[objective]
metric = "usd_per_eflop"
"#;

/// BREAK_EVEN with four uncertain inputs (pue no longer fixed): plain, `times`, and one for
/// B200 only.
fn uncertain_text() -> String {
    BREAK_EVEN.replace("pue = 1.3\n", "")
        + r#"
[uncertain]
samples = 64
utilization = { triangular = [0.3, 0.4, 0.5] }
pue = { uniform = [1.2, 1.4] }
host_w = { times = { uniform = [0.9, 1.2] } }
[accelerators.B200.uncertain]
mtbf_hours = { lognormal = [50000, 100000] }
"#
}

fn scenario(text: &str) -> Scenario {
    Scenario::parse("test.toml", text, &Catalog::builtin().unwrap()).unwrap()
}

fn cpu() -> CpuBackend {
    CpuBackend::new(1).unwrap()
}

fn cpu_tornado(text: &str) -> Sensitivity {
    let c = cpu();
    tornado(&scenario(text), &c, None).unwrap()
}

fn row(t: &Sensitivity, p: Param) -> &Row {
    t.rows
        .iter()
        .find(|r| r.param == p)
        .unwrap_or_else(|| panic!("no row for {p}"))
}

fn real(v: &ParamValue) -> f64 {
    match v {
        ParamValue::Real(x) => *x,
        ParamValue::Int(i) => *i as f64,
        ParamValue::Text(s) => panic!("not a number: {s}"),
    }
}

/// The best flat index of a scenario's grid, swept on the CPU.
fn best_index(s: Scenario) -> Option<u64> {
    let plan = SweepPlan::new(s, Some(&[])).unwrap();
    run_sweep(&plan, &cpu(), None, &|_| {})
        .unwrap()
        .best
        .map(|b| b.index)
}

/// The base best configuration of `s` with `p` set to `x` by hand, evaluated in f64:
/// (objective, valid, feasible).
fn by_hand(s: &Scenario, index: u64, p: Param, x: f64) -> (f64, bool, bool) {
    let mut values = s.values_at_index(index);
    if p == Param::Accelerator {
        values[p.index()] = x;
    }
    let (mut cfg, acc): (Config, _) = s.resolve(&values);
    cfg[p] = x;
    let e = evaluate(&cfg, acc, &s.workload);
    (
        e.metrics[s.objective.metric as usize],
        e.valid,
        is_feasible(&e, &s.constraints),
    )
}

#[test]
fn ends_equal_the_model_with_the_parameter_set_by_hand() {
    let s = scenario(BREAK_EVEN);
    let t = cpu_tornado(BREAK_EVEN);
    let best = t.decision.index;
    let (cfg, _) = s.resolve(&s.values_at_index(best));
    let mut checked = 0;
    for r in &t.rows {
        let p = r.param;
        match r.setting {
            Setting::Scaled => {
                // Nothing in this scenario reaches a range end at 0.9x or 1.1x.
                for (end, m) in r.ends.iter().zip([0.9, 1.1]) {
                    let mut x = cfg[p] * m;
                    if p.kind() == ParamKind::Integer {
                        x = x.round();
                    }
                    assert_eq!(real(&end.value).to_bits(), x.to_bits(), "{p} x{m}");
                    assert_eq!(end.factor, Some(m), "{p}");
                    let (objective, valid, feasible) = by_hand(&s, best, p, x);
                    assert_eq!(end.objective.to_bits(), objective.to_bits(), "{p} x{m}");
                    assert_eq!((end.valid, end.feasible), (valid, feasible), "{p} x{m}");
                    checked += 1;
                }
            }
            Setting::Alternatives => {
                for end in &r.ends {
                    let ParamValue::Text(name) = &end.value else {
                        panic!("{p}: {:?}", end.value)
                    };
                    let mut probe = s.clone();
                    probe.set_from_text(p, name).unwrap();
                    let code = probe.values_at_index(0)[p.index()];
                    let (objective, valid, feasible) = by_hand(&s, best, p, code);
                    assert_eq!(end.objective.to_bits(), objective.to_bits(), "{p}={name}");
                    assert_eq!((end.valid, end.feasible), (valid, feasible), "{p}={name}");
                    checked += 1;
                }
            }
            Setting::Uncertain => panic!("no uncertain inputs here"),
        }
        assert_eq!(
            r.base.objective.to_bits(),
            t.best.metric(s.objective.metric).to_bits()
        );
    }
    assert!(checked > 30, "only {checked} ends checked");
    // pue moves no throughput, but at 1.43 the base best breaks the facility cap.
    let pue = row(&t, Param::Pue);
    assert!(pue.ends[0].feasible && !pue.ends[1].feasible);
}

#[test]
fn rows_are_every_input_that_is_not_an_axis_sorted_by_swing() {
    let t = cpu_tornado(BREAK_EVEN);
    let swings: Vec<f64> = t.rows.iter().map(|r| r.swing).collect();
    assert!(
        swings.windows(2).all(|w| w[0] >= w[1]),
        "not sorted: {swings:?}"
    );
    // The axes are not inputs; power is set by power_frac (an axis), so power_w is not one.
    let mut params: Vec<Param> = t.rows.iter().map(|r| r.param).collect();
    params.sort();
    let expected: Vec<Param> = Param::all()
        .filter(|p| {
            ![
                Param::Accelerator,
                Param::PowerFrac,
                Param::GpuCount,
                Param::PowerW,
            ]
            .contains(p)
        })
        .collect();
    assert_eq!(params, expected);
    // fp4 quadruples B200's bf16 peak: the largest swing, by far.
    assert_eq!(t.rows[0].param, Param::Precision);
    let decision: Vec<String> = t
        .decision
        .axes
        .iter()
        .map(|(p, v)| format!("{p}={v}"))
        .collect();
    assert_eq!(
        decision,
        ["accelerator=B200", "power_frac=0.75", "gpu_count=2000"]
    );
}

#[test]
fn break_evens_hold_when_swept_on_either_side() {
    let t = cpu_tornado(BREAK_EVEN);
    let base = t.decision.index;
    let fixed_pue = |x: f64| scenario(&BREAK_EVEN.replace("pue = 1.3", &format!("pue = {x:?}")));
    let pue = row(&t, Param::Pue);
    let (low, high) = (real(&pue.ends[0].value), real(&pue.ends[1].value));
    assert_eq!(pue.break_even.len(), 2, "{:?}", pue.break_even);
    for b in &pue.break_even {
        let (at, holds) = (real(&b.value), real(&b.holds));
        assert!(
            (at - holds).abs() <= 0.01 * (high - low) * 1.000001,
            "{b:?}"
        );
        assert!(low <= at.min(holds) && at.max(holds) <= high, "{b:?}");
        assert_eq!(best_index(fixed_pue(holds)), Some(base), "holds at {holds}");
        let takes_over = b.takes_over.as_ref().map(|d| d.index);
        assert_ne!(takes_over, Some(base));
        assert_eq!(best_index(fixed_pue(at)), takes_over, "at {at}");
    }
    // Below the base the cap leaves room for full power; above it, only half power fits.
    let names = |i: usize| {
        let d = pue.break_even[i].takes_over.as_ref().unwrap();
        d.axes
            .iter()
            .map(|(p, v)| format!("{p}={v}"))
            .collect::<Vec<_>>()
    };
    assert_eq!(
        names(0),
        ["accelerator=B200", "power_frac=1", "gpu_count=2000"]
    );
    assert_eq!(
        names(1),
        ["accelerator=B200", "power_frac=0.5", "gpu_count=2000"]
    );
    // electricity moves neither the throughput nor the best: swept at both ends.
    let e = row(&t, Param::ElectricityUsdPerKwh);
    assert!(e.break_even.is_empty());
    for end in &e.ends {
        let x = real(&end.value);
        let s = scenario(&BREAK_EVEN.replace(
            "pue = 1.3",
            &format!("pue = 1.3\nelectricity_usd_per_kwh = {x:?}"),
        ));
        assert_eq!(best_index(s), Some(base));
        assert_eq!(end.best.as_ref().map(|d| d.index), Some(base));
    }
}

#[test]
fn scaled_values_are_clipped_to_the_valid_range() {
    let s = scenario(CLIPPED);
    let t = cpu_tornado(CLIPPED);
    let ends = |p: Param| {
        let r = row(&t, p);
        (real(&r.ends[0].value), real(&r.ends[1].value))
    };
    assert_eq!(ends(Param::Pue), (1.0, 1.1)); // 0.9 -> 1 (pue >= 1)
    assert_eq!(ends(Param::Utilization), (0.95 * 0.9, 1.0)); // 1.045 -> 1
    assert_eq!(ends(Param::LoadFrac), (0.9, 1.0)); // 1.1 -> 1
    assert_eq!(ends(Param::PowerW), (700.0 * 0.9, 700.0)); // tdp_w
                                                           // idle_w < min_power_w (200 W): 214.5 goes to the largest value below 200.
    assert_eq!(ends(Param::IdleW), (195.0 * 0.9, 200f64.next_down()));
    assert_eq!(ends(Param::Years), (5.0 * 0.9, 5.0 * 1.1));
    // The clipped ends are what the model gives with the value set by hand, and valid.
    let best = t.decision.index;
    for p in [
        Param::Pue,
        Param::Utilization,
        Param::LoadFrac,
        Param::PowerW,
        Param::IdleW,
    ] {
        for end in &row(&t, p).ends {
            let (objective, valid, _) = by_hand(&s, best, p, real(&end.value));
            assert_eq!(end.objective.to_bits(), objective.to_bits(), "{p}");
            assert!(valid && end.valid, "{p}");
        }
    }
    // power_frac does not set the power here: not an input.
    assert!(t.rows.iter().all(|r| r.param != Param::PowerFrac));
}

#[test]
fn categorical_inputs_go_to_each_alternative() {
    let t = cpu_tornado(BREAK_EVEN);
    let names = |p: Param| -> Vec<String> {
        row(&t, p)
            .ends
            .iter()
            .map(|e| e.value.to_string())
            .collect()
    };
    assert_eq!(names(Param::Precision), ["fp4", "fp8"]);
    assert_eq!(names(Param::CostModel), ["rent"]);
    // A fixed accelerator's alternatives are every other accelerator of the table.
    let c = cpu_tornado(CLIPPED);
    let s = scenario(CLIPPED);
    let accs: Vec<String> = s
        .accelerators
        .iter()
        .map(|a| a.id.clone())
        .filter(|id| id != "H100-SXM")
        .collect();
    let r = row(&c, Param::Accelerator);
    assert_eq!(r.setting, Setting::Alternatives);
    let got: Vec<String> = r.ends.iter().map(|e| e.value.to_string()).collect();
    assert_eq!(got, accs);
    // Swing: the spread of the objective over the base value and the alternatives.
    let objectives: Vec<f64> = std::iter::once(r.base.objective)
        .chain(r.ends.iter().map(|e| e.objective))
        .filter(|x| !x.is_nan())
        .collect();
    let spread = objectives.iter().cloned().fold(f64::NEG_INFINITY, f64::max)
        - objectives.iter().cloned().fold(f64::INFINITY, f64::min);
    assert_eq!(r.swing, spread);
}

#[test]
fn uncertain_inputs_go_to_their_p10_and_p90_from_their_medians() {
    let text = uncertain_text();
    let s = scenario(&text);
    let u = s.uncertainty.clone().unwrap();
    let t = cpu_tornado(&text);
    let best = t.decision.index;
    let dist = |p: Param| &u.inputs.iter().find(|i| i.param == p).unwrap().dist;
    // The base best by hand: every uncertain input at its median.
    let at_medians = |mut cfg: Config, acc: &clustersweep::model::Accelerator| {
        cfg[Param::Utilization] = dist(Param::Utilization).median();
        cfg[Param::Pue] = dist(Param::Pue).median();
        cfg[Param::HostW] = dist(Param::HostW).median() * acc.host_w;
        if acc.id == "B200" {
            cfg[Param::MtbfHours] = dist(Param::MtbfHours).median();
        }
        cfg
    };
    let mut fixed = s.clone();
    fixed.uncertainty = None;
    let values = s.values_at_index(best);
    let (cfg, acc) = fixed.resolve(&values);
    assert_eq!(acc.id, "B200");
    let base_cfg = at_medians(cfg, acc);
    let objective_with = |p: Param, x: f64| {
        let mut c = base_cfg;
        c[p] = x;
        let e = evaluate(&c, acc, &s.workload);
        (
            e.metrics[s.objective.metric as usize],
            is_feasible(&e, &s.constraints),
        )
    };
    assert_eq!(
        t.best.metric(s.objective.metric).to_bits(),
        objective_with(Param::Pue, base_cfg[Param::Pue]).0.to_bits()
    );
    // The base decision is the best of the grid with every input at its median.
    let mut brute: Option<(u64, f64)> = None;
    for i in 0..s.grid().size {
        let (c, a) = fixed.resolve(&s.values_at_index(i));
        let e = evaluate(&at_medians(c, a), a, &s.workload);
        let v = e.metrics[s.objective.metric as usize];
        if is_feasible(&e, &s.constraints) && brute.is_none_or(|(_, b)| v > b) {
            brute = Some((i, v));
        }
    }
    assert_eq!(brute.map(|b| b.0), Some(best));

    for (p, times) in [
        (Param::Utilization, 1.0),
        (Param::Pue, 1.0),
        (Param::HostW, acc.host_w),
        (Param::MtbfHours, 1.0),
    ] {
        let r = row(&t, p);
        assert_eq!(r.setting, Setting::Uncertain, "{p}");
        let d = dist(p);
        assert_eq!(real(&r.base.value), d.median() * times, "{p}");
        for (end, q) in r.ends.iter().zip([0.1, 0.9]) {
            let x = d.quantile(q) * times;
            assert_eq!(real(&end.value), x, "{p} p{q}");
            let (objective, feasible) = objective_with(p, x);
            assert_eq!(end.objective.to_bits(), objective.to_bits(), "{p} p{q}");
            assert_eq!(end.feasible, feasible, "{p} p{q}");
        }
        assert_eq!(r.ends[0].factor.is_some(), p == Param::HostW, "{p}");
    }
    assert_eq!(
        row(&t, Param::MtbfHours).accelerator.as_deref(),
        Some("B200")
    );
    assert_eq!(
        row(&t, Param::Pue).distribution.as_deref(),
        Some("uniform = [1.2, 1.4]")
    );
    // An uncertain parameter is not also scaled.
    for p in [
        Param::Utilization,
        Param::Pue,
        Param::HostW,
        Param::MtbfHours,
    ] {
        assert_eq!(t.rows.iter().filter(|r| r.param == p).count(), 1, "{p}");
    }
    // The pue break-even holds when swept with pue fixed on either side of it.
    let b = &row(&t, Param::Pue).break_even[0];
    let with_pue = |x: f64| {
        let mut m = s.clone();
        m.uncertainty
            .as_mut()
            .unwrap()
            .inputs
            .retain(|i| i.param != Param::Pue);
        m.sources[Param::Pue.index()] = clustersweep::scenario::Source::Fixed(x);
        clustersweep::sensitivity::deterministic_base(&m)
    };
    assert_eq!(best_index(with_pue(real(&b.holds))), Some(best));
    assert_eq!(
        best_index(with_pue(real(&b.value))),
        b.takes_over.as_ref().map(|d| d.index)
    );
}

fn temp_dir(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("cs-sens-{name}-{}", std::process::id()));
    std::fs::create_dir_all(&d).unwrap();
    d
}

fn write(name: &str, text: &str) -> PathBuf {
    let p = temp_dir(name).join("scenario.toml");
    std::fs::write(&p, text).unwrap();
    p
}

fn json_of(out: &std::process::Output) -> Value {
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "stderr: {stderr}");
    serde_json::from_slice(&out.stdout).unwrap()
}

/// The rows without what depends on the run (nothing does: sweeps are deterministic).
fn rows_of(doc: &Value) -> &Vec<Value> {
    doc["rows"].as_array().unwrap()
}

#[test]
fn cli_sensitivity_and_sweep_sensitivity_give_the_same_tornado() {
    let path = write("cli", BREAK_EVEN);
    let p = path.to_str().unwrap();
    let doc = json_of(&run(&["sensitivity", p, "--json", "--backend", "cpu"]));
    assert_eq!(doc["schema"], "clustersweep.sensitivity/1");
    assert_eq!(doc["decision"]["axes"]["accelerator"], "B200");
    let rows = rows_of(&doc);
    let t = cpu_tornado(BREAK_EVEN);
    assert_eq!(rows.len(), t.rows.len());
    for (j, r) in rows.iter().zip(&t.rows) {
        assert_eq!(j["param"], r.param.name());
        assert_eq!(j["swing"].as_f64(), Some(r.swing).filter(|x| x.is_finite()));
        assert_eq!(
            j["break_even"].as_array().unwrap().len(),
            r.break_even.len()
        );
    }
    let pue = rows.iter().find(|r| r["param"] == "pue").unwrap();
    assert_eq!(pue["low"]["value"].as_f64(), Some(1.3 * 0.9));
    assert_eq!(pue["high"]["feasible"], false);
    assert_eq!(pue["high"]["best_changes"], true);
    assert_eq!(
        pue["break_even"][1]["takes_over"]["axes"]["power_frac"].as_f64(),
        Some(0.5)
    );
    let cost = rows.iter().find(|r| r["param"] == "cost_model").unwrap();
    assert_eq!(cost["alternatives"][0]["value"], "rent");

    let sweep = json_of(&run(&[
        "sweep",
        p,
        "--json",
        "--backend",
        "cpu",
        "--sensitivity",
    ]));
    assert_eq!(sweep["schema"], "clustersweep.summary/2");
    assert_eq!(rows_of(&sweep["sensitivity"]), rows);
    assert_eq!(sweep["best"]["index"], doc["decision"]["index"]);

    let text = run(&["sensitivity", p, "--backend", "cpu"]);
    assert_eq!(text.status.code(), Some(0));
    let text = String::from_utf8(text.stdout).unwrap();
    assert!(
        text.contains("best decision: accelerator=B200 power_frac=0.75 gpu_count=2000"),
        "{text}"
    );
    assert!(text.contains("break-even: 1.367031 (x1.051563)"), "{text}");
    assert!(text.contains("(infeasible)"), "{text}");
}

#[test]
fn cli_sensitivity_input_errors() {
    let missing = run(&["sensitivity", "/nonexistent/s.toml"]);
    assert_eq!(missing.status.code(), Some(2));
    let err = String::from_utf8_lossy(&missing.stderr);
    assert!(err.contains("/nonexistent/s.toml"), "{err}");

    let bad = write("bad", "[axes]\ngpu_count = [1000, \"x\"]\n");
    let out = run(&["sensitivity", bad.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains(":2:") && err.contains("axes.gpu_count"),
        "{err}"
    );

    let ok = write("threads", BREAK_EVEN);
    let out = run(&["sensitivity", ok.to_str().unwrap(), "--threads", "0"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("--threads"));

    // A shard is one part of the grid: it has no best decision to start from.
    let out = run(&[
        "sweep",
        ok.to_str().unwrap(),
        "--sensitivity",
        "--shard",
        "0/2",
        "--partial",
        "-",
    ]);
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("--sensitivity") && err.contains("--shard"),
        "{err}"
    );

    // Nothing feasible: no best to start from (a run-time failure, exit 1).
    let none = write(
        "infeasible",
        &BREAK_EVEN.replace("max_facility_mw = 4.2", "max_facility_mw = 0.001"),
    );
    let out = run(&["sensitivity", none.to_str().unwrap(), "--backend", "cpu"]);
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("scenario `sens-break-even` has no feasible configuration"),
        "{err}"
    );
}

#[test]
fn gpu_resweeps_agree_with_the_cpu() {
    let g = match GpuBackend::open(None, true, GpuOptions::default()) {
        Ok(g) => g,
        Err(e @ GpuError::NoAdapter(_)) => {
            if std::env::var("CLUSTERSWEEP_REQUIRE_GPU").as_deref() == Ok("1") {
                panic!("CLUSTERSWEEP_REQUIRE_GPU=1 but no adapter: {e}");
            }
            eprintln!("skipping GPU test: {e}");
            return;
        }
        Err(e) => panic!("GPU adapter present but unusable: {e}"),
    };
    let s = scenario(BREAK_EVEN);
    let on_gpu = tornado(&s, &g, None).unwrap();
    let on_cpu = cpu_tornado(BREAK_EVEN);
    assert_eq!(on_gpu.decision, on_cpu.decision);
    assert_eq!(on_gpu.rows, on_cpu.rows);
    assert_eq!(on_gpu.backend.kind, "gpu");
}
