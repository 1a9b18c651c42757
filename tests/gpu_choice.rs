//! Choosing the GPU on a headless runner (issue "Guardrails for CI", item 4):
//! `--adapter-index N` picks the adapter `clustersweep adapters` numbers N,
//! `--require-device discrete|integrated|any` fails with exit 3 instead of running on the
//! CPU, and neither can be combined with `--backend cpu`. The expected outcome of each run
//! is worked out from the adapters this machine has (`adapters --json`), so the tests hold
//! on a machine with lavapipe only (CI) as on one with real GPUs. Without any adapter the
//! tests print why and pass, unless `CLUSTERSWEEP_REQUIRE_GPU=1` (CI).

mod common;

use common::{input_error, run, stdout_ok};
use serde_json::Value;

/// Every adapter `adapters --json` lists, after checking the listing numbers them in order
/// with their vendor and device ids; `None` (printing why) when there is none.
fn listed_adapters() -> Option<Vec<Value>> {
    let text = stdout_ok(&run(&["adapters", "--json"]), "adapters --json");
    let doc: Value = serde_json::from_str(&text).expect("adapters --json is JSON");
    let list = doc["adapters"].as_array().expect("adapters array").clone();
    for (i, a) in list.iter().enumerate() {
        assert_eq!(a["index"].as_u64(), Some(i as u64), "{a}");
        // The same description a bench document records: integer PCI ids, the driver
        // and its information apart.
        for id in ["vendor_id", "device_id"] {
            let v = a[id].as_u64().expect("integer id");
            assert!(u32::try_from(v).is_ok(), "{id}: {v}");
        }
        for text in ["name", "device_type", "driver", "driver_info", "api"] {
            assert!(a[text].is_string(), "{text}: {a}");
        }
    }
    if list.is_empty() {
        if std::env::var("CLUSTERSWEEP_REQUIRE_GPU").as_deref() == Ok("1") {
            panic!("CLUSTERSWEEP_REQUIRE_GPU=1 but `adapters` lists none");
        }
        eprintln!("no GPU adapter on this machine; adapter choice not tested");
        return None;
    }
    Some(list)
}

fn summary_of(args: &[&str]) -> Value {
    let text = stdout_ok(&run(args), &args.join(" "));
    serde_json::from_str(&text).expect("summary JSON")
}

/// A GPU failure or absence: exit 3 and one line on stderr holding each of `needles`.
#[track_caller]
fn gpu_error(args: &[&str], needles: &[&str]) {
    let out = run(args);
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(3), "{args:?}: {err}");
    assert_eq!(err.lines().count(), 1, "{err}");
    for n in needles {
        assert!(err.contains(n), "`{n}` not in: {err}");
    }
}

#[test]
fn adapter_index_picks_that_adapter_and_an_unknown_number_is_exit_3() {
    let Some(list) = listed_adapters() else {
        return;
    };
    for (i, a) in list.iter().enumerate() {
        let index = i.to_string();
        let s = summary_of(&[
            "sweep",
            "--backend",
            "gpu",
            "--adapter-index",
            &index,
            "--json",
            "--quiet",
        ]);
        assert_eq!(s["run"]["backend"]["kind"], "gpu", "{s}");
        assert_eq!(s["run"]["backend"]["name"], a["name"], "adapter {i}");
        assert_eq!(
            s["run"]["backend"]["device_type"], a["device_type"],
            "adapter {i}"
        );
    }
    let beyond = list.len().to_string();
    let first = list[0]["name"].as_str().unwrap();
    gpu_error(
        &["sweep", "--backend", "gpu", "--adapter-index", &beyond],
        &["--backend gpu", &format!("numbered {beyond}"), first],
    );
    // The same number refused by `bench --backend gpu` before anything is measured.
    gpu_error(
        &[
            "bench",
            "--backend",
            "gpu",
            "--adapter-index",
            &beyond,
            "--configs",
            "1000",
            "--repeats",
            "1",
        ],
        &["bench", &format!("numbered {beyond}")],
    );
}

#[test]
fn require_device_runs_on_that_type_or_exits_3_never_on_the_cpu() {
    let Some(list) = listed_adapters() else {
        return;
    };
    for (flag, wgpu_type) in [("discrete", "DiscreteGpu"), ("integrated", "IntegratedGpu")] {
        let of_type: Vec<&Value> = list
            .iter()
            .filter(|a| a["device_type"] == wgpu_type)
            .collect();
        let args = ["sweep", "--require-device", flag, "--json", "--quiet"];
        if of_type.is_empty() {
            gpu_error(&args, &[&format!("--require-device {flag}"), "adapters"]);
        } else {
            let s = summary_of(&args);
            assert_eq!(s["run"]["backend"]["kind"], "gpu");
            assert_eq!(s["run"]["backend"]["device_type"], wgpu_type);
        }
    }
    // `any` accepts a CPU-type adapter (llvmpipe), which plain `auto` passes over for the
    // CPU backend: the run happens on a GPU adapter whatever the machine has.
    let s = summary_of(&["sweep", "--require-device", "any", "--json", "--quiet"]);
    assert_eq!(s["run"]["backend"]["kind"], "gpu", "{}", s["run"]);
    let only_cpu_type = list.iter().all(|a| a["device_type"] == "Cpu");
    if only_cpu_type {
        let plain = summary_of(&["sweep", "--json", "--quiet"]);
        assert_eq!(plain["run"]["backend"]["kind"], "cpu", "{}", plain["run"]);
        // The same grid and answer either way.
        assert_eq!(plain["best"]["index"], s["best"]["index"]);
    }
}

#[test]
fn require_device_with_the_cpu_backend_is_bad_input() {
    for cmd in [
        vec!["sweep", "--backend", "cpu", "--require-device", "any"],
        vec![
            "sensitivity",
            "--backend",
            "cpu",
            "--require-device",
            "discrete",
        ],
        vec!["bench", "--backend", "cpu", "--require-device", "any"],
    ] {
        input_error(&run(&cmd), &["--require-device", "--backend cpu"]);
    }
}

#[test]
fn require_device_refuses_a_plan_outside_f32_as_bad_input() {
    // `auto` would quietly run this plan on the CPU; with a required device it is refused
    // as `--backend gpu` refuses it, before any device opens.
    let dir = tempfile::tempdir().unwrap();
    let s = common::write(
        dir.path(),
        "tiny.toml",
        "[fixed]\naccelerator = \"H100-SXM\"\nutilization = 1e-308\n[axes]\ngpu_count = [1000, 2000]\n",
    );
    let s = s.to_str().unwrap();
    input_error(
        &run(&["sweep", s, "--require-device", "any"]),
        &["utilization = 1e-308", "f32"],
    );
}
