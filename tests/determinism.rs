//! Determinism (issue 12 item 7): the same scenario gives byte-identical summary JSON once
//! the `run` object (date, build, backend, timing, notices) is removed, whatever the thread
//! count, the CPU piece size (`--chunk`), the shard count (parts merged with `clustersweep
//! merge`), checkpoint segments and interruptions, or the run. Metric means included: sums
//! are exact (`src/exact_sum.rs`), so no split of the grid changes a bit. A deterministic
//! scenario and an uncertain one (`configs/scenarios/1gw-robust.toml` on a small grid), each
//! with a grid whose size is no multiple of anything convenient. On the GPU (f32): uncertain
//! scenarios whatever the chunk size, plain ones for one fixed chunk size.

use serde_json::Value;
use std::path::Path;

mod common;
use common::{run, stdout_ok, without_run, write};

/// 3 x 37 x 11 x 13 x 7 = 111,111 configurations: constraints, invalid configurations
/// (power_frac below some accelerators' minimum), groups and a heatmap.
const PLAIN: &str = r#"
name = "determinism"
[axes]
accelerator = ["H100-SXM", "B200", "MI300X"]
gpu_count = { from = 1000, to = 200000, steps = 37, scale = "log" }
power_frac = { from = 0.2, to = 1.0, steps = 11 }
utilization = { from = 0.25, to = 0.6, steps = 13 }
pue = { from = 1.05, to = 1.6, steps = 7 }
[fixed]
cost_model = "own"
years = 4
[workload]
train_flop = 1e25
[constraints]
max_facility_mw = 120
[objective]
metric = "usd_per_eflop"
"#;

/// `configs/scenarios/1gw-robust.toml` on 3 x 7 x 11 = 231 configurations of 37 draws.
fn uncertain() -> String {
    let text = std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("configs/scenarios/1gw-robust.toml"),
    )
    .unwrap();
    let replaced = text
        .replace(
            r#"accelerator = ["H100-SXM", "H200-SXM", "B200", "GB200", "GB300", "MI355X"]"#,
            r#"accelerator = ["H100-SXM", "B200", "MI355X"]"#,
        )
        .replace(
            "power_frac = { from = 0.4, to = 1.0, steps = 13 }",
            "power_frac = { from = 0.4, to = 1.0, steps = 7 }",
        )
        .replace(
            r#"gpu_count = { from = 200000, to = 1200000, steps = 60, scale = "log" }"#,
            r#"gpu_count = { from = 200000, to = 1200000, steps = 11, scale = "log" }"#,
        )
        .replace("samples = 1000", "samples = 37");
    assert_eq!(
        replaced.matches("steps = 7").count(),
        1,
        "the scenario changed"
    );
    assert!(replaced.contains("steps = 11") && replaced.contains("samples = 37"));
    replaced
}

/// The summary text without `run` (serde_json keeps the document's key order).
fn determined(json: &str) -> String {
    let v: Value = serde_json::from_str(json).unwrap();
    let v = without_run(v);
    assert!(
        v["stats"].as_object().is_some_and(|s| !s.is_empty()),
        "statistics are compared"
    );
    serde_json::to_string_pretty(&v).unwrap()
}

/// `sweep SCENARIO --backend cpu --json` with `extra` arguments; the summary without `run`.
fn sweep(scenario: &Path, extra: &[&str]) -> String {
    let mut args = vec![
        "sweep",
        scenario.to_str().unwrap(),
        "--backend",
        "cpu",
        "--json",
        "--quiet",
    ];
    args.extend(extra);
    determined(&stdout_ok(&run(&args), &format!("sweep {extra:?}")))
}

/// The scenario in `n` shards, merged.
fn sharded(dir: &Path, scenario: &Path, backend: &str, n: u64, extra: &[&str]) -> String {
    let parts = dir.join(format!("parts-{n}"));
    std::fs::create_dir_all(&parts).unwrap();
    let mut files = Vec::new();
    for i in 0..n {
        let f = parts.join(format!("{i}.json"));
        let shard = format!("{i}/{n}");
        let mut args = vec![
            "sweep",
            scenario.to_str().unwrap(),
            "--backend",
            backend,
            "--quiet",
            "--shard",
            &shard,
            "--partial",
            f.to_str().unwrap(),
        ];
        args.extend(extra);
        stdout_ok(&run(&args), &format!("shard {shard}"));
        files.push(f.to_str().unwrap().to_string());
    }
    // Parts in an order other than the grid's.
    files.rotate_left(n as usize / 2);
    let mut args = vec!["merge", "--json", "--quiet"];
    args.extend(files.iter().map(String::as_str));
    determined(&stdout_ok(&run(&args), &format!("merge of {n}")))
}

/// A checkpointed run stopped after `stops[0]` segments, resumed and stopped after
/// `stops[1]` more, ..., then resumed to the end.
fn checkpointed(
    dir: &Path,
    scenario: &Path,
    backend: &str,
    stops: &[u64],
    extra: &[&str],
) -> String {
    let ck = dir.join("run.checkpoint");
    let ck = ck.to_str().unwrap();
    let base = |more: &[&str]| {
        let mut args = vec![
            "sweep",
            scenario.to_str().unwrap(),
            "--backend",
            backend,
            "--json",
            "--quiet",
            "--checkpoint",
            ck,
            "--checkpoint-every",
            "0",
        ];
        args.extend(extra);
        args.extend(more);
        run(&args)
    };
    for &k in stops {
        let out = base(&["--stop-after-segments", &k.to_string()]);
        assert_eq!(
            out.status.code(),
            Some(130),
            "stopped after {k} segments: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        assert!(Path::new(ck).exists());
    }
    let text = determined(&stdout_ok(&base(&[]), "resumed"));
    assert!(!Path::new(ck).exists());
    text
}

#[track_caller]
fn same(reference: &str, other: &str, what: &str) {
    if reference != other {
        let diff: Vec<String> = reference
            .lines()
            .zip(other.lines())
            .filter(|(a, b)| a != b)
            .take(6)
            .map(|(a, b)| format!("  {a}\n  {b}"))
            .collect();
        panic!("{what}: the summary differs:\n{}", diff.join("\n"));
    }
}

fn scenario(dir: &Path, which: &str) -> std::path::PathBuf {
    match which {
        "plain" => write(dir, "plain.toml", PLAIN),
        _ => write(dir, "robust.toml", &uncertain()),
    }
}

#[test]
fn thread_counts_and_runs_give_the_same_bytes() {
    let dir = tempfile::tempdir().unwrap();
    for which in ["plain", "robust"] {
        let sc = scenario(dir.path(), which);
        let reference = sweep(&sc, &["--threads", "1"]);
        same(&reference, &sweep(&sc, &["--threads", "1"]), "a second run");
        for t in ["2", "3"] {
            same(
                &reference,
                &sweep(&sc, &["--threads", t]),
                &format!("{which}: --threads {t}"),
            );
        }
    }
}

#[test]
fn piece_sizes_give_the_same_bytes() {
    let dir = tempfile::tempdir().unwrap();
    for which in ["plain", "robust"] {
        let sc = scenario(dir.path(), which);
        let reference = sweep(&sc, &["--threads", "2"]);
        for chunk in ["1", "97", "4096", "65537"] {
            for t in ["1", "3"] {
                same(
                    &reference,
                    &sweep(&sc, &["--threads", t, "--chunk", chunk]),
                    &format!("{which}: --chunk {chunk} --threads {t}"),
                );
            }
        }
    }
}

#[test]
fn merged_shards_give_the_bytes_of_an_unsharded_run() {
    let dir = tempfile::tempdir().unwrap();
    for which in ["plain", "robust"] {
        let sc = scenario(dir.path(), which);
        let reference = sweep(&sc, &[]);
        for n in [2u64, 3, 7] {
            let sub = dir.path().join(format!("{which}-{n}"));
            same(
                &reference,
                &sharded(&sub, &sc, "cpu", n, &["--threads", "2"]),
                &format!("{which}: {n} shards"),
            );
        }
    }
}

#[test]
fn a_resumed_checkpointed_run_gives_the_bytes_of_an_uninterrupted_one() {
    let dir = tempfile::tempdir().unwrap();
    for which in ["plain", "robust"] {
        let sc = scenario(dir.path(), which);
        let reference = sweep(&sc, &[]);
        // Segments of a checkpointed run are sized by time; `--chunk` fixes them, small
        // enough that the grid takes many and every stop lands inside it.
        let chunk = if which == "plain" { "997" } else { "17" };
        let extra = ["--chunk", chunk];
        same(
            &reference,
            &checkpointed(dir.path(), &sc, "cpu", &[], &extra),
            &format!("{which}: checkpointed, not stopped"),
        );
        same(
            &reference,
            &checkpointed(dir.path(), &sc, "cpu", &[1, 2, 3], &extra),
            &format!("{which}: checkpointed, stopped three times"),
        );
    }
}

/// `sweep SCENARIO --backend gpu --chunk CHUNK --json` ("adaptive": no `--chunk`, the chunk
/// size follows the time per submission): the whole summary, or `None` (with the reason
/// printed) where no GPU adapter opens, unless `CLUSTERSWEEP_REQUIRE_GPU=1`.
fn gpu_summary(scenario: &Path, chunk: &str) -> Option<Value> {
    let mut args = vec![
        "sweep",
        scenario.to_str().unwrap(),
        "--backend",
        "gpu",
        "--json",
        "--quiet",
    ];
    if chunk != "adaptive" {
        args.extend(["--chunk", chunk]);
    }
    let out = run(&args);
    if out.status.code() == Some(3) {
        let why = String::from_utf8_lossy(&out.stderr);
        if std::env::var("CLUSTERSWEEP_REQUIRE_GPU").as_deref() == Ok("1") {
            panic!("CLUSTERSWEEP_REQUIRE_GPU=1 but the GPU backend failed: {why}");
        }
        eprintln!("no GPU ({why}); GPU determinism not tested");
        return None;
    }
    let text = stdout_ok(&out, &format!("gpu --chunk {chunk}"));
    Some(serde_json::from_str(&text).unwrap())
}

/// [`gpu_summary`] as [`determined`] text (without `run`).
fn gpu_sweep(scenario: &Path, chunk: &str) -> Option<String> {
    gpu_summary(scenario, chunk).map(|v| determined(&v.to_string()))
}

/// On the GPU (lavapipe in CI): an uncertain scenario's rows are added on the host exactly,
/// one configuration at a time, so the chunk size does not change a byte; a plain
/// scenario's metric sums are f32 partial sums per chunk (docs/reliability.md), so only the
/// same fixed chunk size gives the same bytes again.
#[test]
fn gpu_summaries_repeat_and_uncertain_ones_ignore_the_chunk_size() {
    let dir = tempfile::tempdir().unwrap();
    let robust = scenario(dir.path(), "robust");
    let Some(reference) = gpu_sweep(&robust, "17") else {
        return;
    };
    for chunk in ["50", "231"] {
        let other = gpu_sweep(&robust, chunk).expect("the GPU opened before");
        same(
            &reference,
            &other,
            &format!("robust on the GPU: --chunk {chunk}"),
        );
    }
    let plain = scenario(dir.path(), "plain");
    let first = gpu_sweep(&plain, "4096").expect("the GPU opened before");
    let again = gpu_sweep(&plain, "4096").expect("the GPU opened before");
    same(
        &first,
        &again,
        "plain on the GPU: the same chunk size again",
    );
}

/// On the GPU (lavapipe in CI), a plain scenario (constraints with configurations near
/// their bound decided on the host, invalid configurations, groups, a heatmap; 111,111
/// configurations, about 7 summation tiles of 16 x 1001): device metric sums are f32 sums
/// over fixed tiles of the grid and the host adds the tiles exactly, so neither the chunk
/// size (adaptive, tiny, not a power of two, larger than the grid), nor the shard count,
/// nor checkpoint segments and interruptions, nor a second run change a byte.
#[test]
fn gpu_plain_summaries_ignore_chunks_shards_and_segments() {
    let dir = tempfile::tempdir().unwrap();
    let plain = scenario(dir.path(), "plain");
    let Some(reference) = gpu_sweep(&plain, "adaptive") else {
        return;
    };
    for chunk in ["65536", "997", "1000000", "1", "adaptive"] {
        let other = gpu_sweep(&plain, chunk).expect("the GPU opened before");
        same(
            &reference,
            &other,
            &format!("plain on the GPU: --chunk {chunk}"),
        );
    }
    for n in [2u64, 3] {
        let sub = dir.path().join(format!("gpu-{n}"));
        same(
            &reference,
            &sharded(&sub, &plain, "gpu", n, &[]),
            &format!("plain on the GPU: {n} shards"),
        );
    }
    same(
        &reference,
        &checkpointed(dir.path(), &plain, "gpu", &[1, 2], &["--chunk", "20000"]),
        "plain on the GPU: checkpointed, stopped twice",
    );
}

/// A bound on facility power that every configuration with 640 accelerators meets within
/// the device's slack (power_frac and pue each vary by about 1e-6 relative, less than the
/// slack of 3.8e-6): those 90,000 of the 3 x 300 x 300 = 270,000 configurations are
/// decided on the host, far more than the band the device hands over per chunk (4,096).
/// The facility test reads 270,000 axis combinations, too many to tabulate on the host, so
/// the device tests it. Inner block 300 (pue), summation tile 32 x 300 = 9,600.
fn band_scenario() -> String {
    let catalog = clustersweep::catalog::Catalog::builtin().unwrap();
    let a = catalog.find("H100-SXM").unwrap();
    let on = 640.0 * (a.tdp_w + a.host_w) * 1.2 / 1e6;
    format!(
        r#"name = "band tiles"
[axes]
gpu_count = [639, 640, 641]
power_frac = {{ from = 0.999999, to = 1.0, steps = 300 }}
pue = {{ from = 1.2, to = 1.2000015, steps = 300 }}
[fixed]
accelerator = "H100-SXM"
cost_model = "own"
[constraints]
max_facility_mw = {on:?}
"#
    )
}

/// With more configurations near a constraint bound than the device's band holds, a chunk
/// runs again in halves down to single summation tiles, and a tile that still has too many
/// is evaluated on the CPU: which configurations run on the CPU depends on the tile, not
/// on the chunking, so chunk sizes and shards give the same bytes, and the notice counts
/// the same tiles whatever the chunk size: the 10 tiles that hold more than 4,096 of the
/// configurations near the bound (indices 86,400 to 182,400).
#[test]
fn gpu_tiles_near_a_bound_go_to_the_cpu_whatever_the_chunking() {
    let dir = tempfile::tempdir().unwrap();
    let sc = write(dir.path(), "band.toml", &band_scenario());
    let full = |chunk: &str| gpu_summary(&sc, chunk);
    let Some(reference) = full("adaptive") else {
        return;
    };
    let text = |v: &Value| serde_json::to_string_pretty(&without_run(v.clone())).unwrap();
    for chunk in ["adaptive", "1", "30000", "1000000"] {
        let v = full(chunk).expect("the GPU opened before");
        let notices = v["run"]["notices"].to_string();
        assert!(
            notices.contains("96000 configurations in GPU summation tiles"),
            "--chunk {chunk}: {notices}"
        );
        assert_eq!(v["run"]["backend"]["kind"], "gpu", "--chunk {chunk}");
        same(
            &text(&reference),
            &text(&v),
            &format!("band: --chunk {chunk}"),
        );
    }
    let sub = dir.path().join("band-shards");
    same(
        &determined(&text(&reference)),
        &sharded(&sub, &sc, "gpu", 2, &[]),
        "band: 2 shards",
    );
}
