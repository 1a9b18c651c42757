//! Helpers shared by the integration tests: a small deterministic random generator, the
//! accelerator ids and numeric fields the catalog must hold, and running the `clustersweep`
//! binary.
//! (Each test crate uses a subset, hence the `dead_code` allowance.)
#![allow(dead_code)]

use std::process::{Command, Output};

/// The binary under test.
pub const BIN: &str = env!("CARGO_BIN_EXE_clustersweep");

/// Numeric fields of a catalog entry (spec `model.md`); each needs a citation in
/// `[accelerators.ID.sources]`.
pub const NUMERIC_FIELDS: [&str; 10] = [
    "peak_tflops",
    "tdp_w",
    "idle_w",
    "min_power_w",
    "dvfs_exponent",
    "host_w",
    "mtbf_hours",
    "price_usd",
    "host_capex_usd",
    "hbm_gb",
];

/// Accelerators the catalog must contain (issue 2).
pub const REQUIRED_IDS: [&str; 10] = [
    "A100-SXM4-80GB",
    "H100-SXM",
    "H200-SXM",
    "B200",
    "GB200",
    "GB300",
    "MI300X",
    "MI355X",
    "TPU-v5p",
    "Trainium2",
];

/// Run the binary with `args` (no backtraces, so a panic shows as such).
pub fn run(args: &[&str]) -> Output {
    Command::new(BIN)
        .args(args)
        .env("RUST_BACKTRACE", "0")
        .output()
        .expect("run clustersweep")
}

/// Small deterministic generator (SplitMix64).
pub struct Rng(pub u64);

impl Rng {
    pub fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }
    /// Uniform in [0, 1).
    pub fn unit(&mut self) -> f64 {
        (self.next() >> 11) as f64 / (1u64 << 53) as f64
    }
    /// Uniform in [lo, hi).
    pub fn range(&mut self, lo: f64, hi: f64) -> f64 {
        lo + (hi - lo) * self.unit()
    }
    /// Uniform integer in lo ..= hi.
    pub fn int(&mut self, lo: u64, hi: u64) -> u64 {
        lo + self.next() % (hi - lo + 1)
    }
    /// Uniform in 0 .. n.
    pub fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
    /// True with probability `p`.
    pub fn chance(&mut self, p: f64) -> bool {
        self.unit() < p
    }
    /// One of `items`.
    pub fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len())]
    }
    /// A non-empty random subset, in random order.
    pub fn subset<T: Clone>(&mut self, items: &[T]) -> Vec<T> {
        let mut v: Vec<T> = items.to_vec();
        self.shuffle(&mut v);
        let n = self.int(1, v.len() as u64) as usize;
        v.truncate(n);
        v
    }
    /// Fisher-Yates.
    pub fn shuffle<T>(&mut self, v: &mut [T]) {
        for i in (1..v.len()).rev() {
            let j = self.int(0, i as u64) as usize;
            v.swap(i, j);
        }
    }
}

/// A GPU backend on any adapter (lavapipe included), or `None` with a printed reason when
/// there is none; with `CLUSTERSWEEP_REQUIRE_GPU=1` (CI) a missing adapter fails the test.
pub fn gpu(
    options: clustersweep::backend::gpu::GpuOptions,
) -> Option<clustersweep::backend::gpu::GpuBackend> {
    clustersweep::backend::gpu::GpuBackend::for_tests(options)
}

/// The summary without its `run` object (date, build, backend, timing, notices): what the
/// scenario determines.
pub fn without_run(mut v: serde_json::Value) -> serde_json::Value {
    v.as_object_mut().unwrap().remove("run");
    v
}

/// Two summaries equal apart from their `run` objects: the CPU backend's guarantee whatever
/// the threads, pieces, shards or interruptions (exact sums; docs/reliability.md
/// "Determinism"), so the statistics' means too, to the last bit.
#[track_caller]
pub fn assert_same_summary(merged: serde_json::Value, whole: serde_json::Value) {
    assert_eq!(without_run(merged), without_run(whole));
}

/// A command's standard error as text.
pub fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// An input error: exit 2 and one line on stderr holding each of `needles`.
#[track_caller]
pub fn input_error(out: &Output, needles: &[&str]) {
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert_eq!(err.lines().count(), 1, "{err}");
    for n in needles {
        assert!(err.contains(n), "`{n}` not in: {err}");
    }
}

/// Write `text` to `dir/name` and return the path.
/// Whole dollars with thousands separators, written independently of the tool (the
/// human formats' money rule).
pub fn dollars(x: f64) -> String {
    let digits = format!("{:.0}", x.round());
    let mut out = String::from("$");
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i) % 3 == 0 {
            out.push(',');
        }
        out.push(c);
    }
    out
}

pub fn write(dir: &std::path::Path, name: &str, text: &str) -> std::path::PathBuf {
    let p = dir.join(name);
    std::fs::write(&p, text).unwrap();
    p
}

/// The stdout of a run that must succeed: exit 0 and no panic on stderr.
#[track_caller]
pub fn stdout_ok(out: &Output, what: &str) -> String {
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{what}: stderr {stderr}");
    assert!(!stderr.contains("panicked"), "{what}: {stderr}");
    String::from_utf8(out.stdout.clone()).expect("stdout is UTF-8")
}

/// A small scenario for the output-format tests: two accelerators, a facility cap, and a
/// pipe in its description (markdown must escape it).
pub const FORMATS_SCENARIO: &str = r#"
name = "formats"
description = "two accelerators | a pipe in the text"
[axes]
accelerator = ["H100-SXM", "B200"]
gpu_count = { from = 1000, to = 20000, steps = 7, scale = "log" }
power_frac = [0.6, 1.0]
[fixed]
cost_model = "own"
[constraints]
max_facility_mw = 20
"#;

/// A small uncertain scenario (50 draws) whose TCO cap leaves some fleet sizes with
/// nothing feasible: for the Monte Carlo reductions (groups, heatmap).
pub const UNCERTAIN_SMALL: &str = r#"
name = "uncertain-fleet"
[axes]
accelerator = ["H100-SXM", "B200"]
gpu_count = { from = 1000, to = 20000, steps = 5 }
power_frac = { from = 0.5, to = 1.0, steps = 3 }
[fixed]
cost_model = "own"
years = 5
[uncertain]
samples = 50
seed = 3
utilization = { triangular = [0.3, 0.4, 0.5] }
gpu_price_usd = { times = { uniform = [0.8, 1.3] } }
[constraints]
max_tco_usd = 5e8
confidence = 0.8
[objective]
metric = "throughput_pflops"
"#;

/// Axes of a small grid (3,888 configurations) whose 60 MW facility cap binds;
/// `carbon_kg_per_kwh` does not move the objective (ties).
pub const SMALL_AXES: [&str; 5] = [
    "gpu_count = { from = 1000, to = 200000, steps = 12, scale = \"log\" }",
    "carbon_kg_per_kwh = [0.2, 0.4, 0.1]",
    "accelerator = [\"H100-SXM\", \"GB200\", \"B200\"]",
    "power_frac = { from = 0.5, to = 1.0, steps = 6 }",
    "job_gpus = [0, 8192, 16384]",
];

/// A scenario of `axes[order[0]], axes[order[1]], ...` (TOML lines) in that order, renting
/// at $3/h under a facility cap, ranked by `objective`: for the tests that permute axes.
pub fn axes_scenario(
    name: &str,
    axes: &[&str],
    order: &[usize],
    max_facility_mw: f64,
    objective: &str,
) -> clustersweep::scenario::Scenario {
    let axes: Vec<&str> = order.iter().map(|&i| axes[i]).collect();
    let text = format!(
        "name = \"{name}\"\n[axes]\n{}\n[fixed]\ncost_model = \"rent\"\ngpu_hour_usd = 3.0\n[constraints]\nmax_facility_mw = {max_facility_mw}\n[objective]\nmetric = \"{objective}\"\n",
        axes.join("\n")
    );
    let catalog = clustersweep::catalog::Catalog::builtin().expect("built-in catalog");
    clustersweep::scenario::Scenario::parse(&format!("{name}.toml"), &text, &catalog)
        .expect("scenario parses")
}

/// `clustersweep bench` on the CPU backend, one thread, over the first `configs`
/// configurations of the default workload, 3 timed repetitions after 1 warm-up, with
/// `extra` arguments (`--json FILE`, ...).
pub fn tiny_cpu_bench(configs: &str, extra: &[&str]) -> Output {
    let mut args = vec![
        "bench",
        "--backend",
        "cpu",
        "--configs",
        configs,
        "--repeats",
        "3",
        "--warmup",
        "1",
        "--threads",
        "1",
    ];
    args.extend_from_slice(extra);
    run(&args)
}
