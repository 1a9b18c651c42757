//! `clustersweep bench collect DIR`: a folder of `clustersweep.bench/2` documents (results
//! kept from many machines, e.g. `docs/bench/`) read into one table, a row per measured
//! backend of each file: the machine, the GPU adapter, the backend, the workload, the
//! commit, and the rate (configurations per second) as a median with the 95% interval.
//! Files that are not bench/2 documents are skipped with the reason (they are listed, not
//! fatal). Rendering (markdown, CSV, the SVG bar chart) is [`crate::report::bench_collect`]'s.
//!
//! The rate of a result, from its repetition times `wall_s` (wall time of `configs`
//! configurations, seconds):
//! - median = configs / median(wall_s);
//! - 95% interval = [configs / high, configs / low] with [low, high] the 95% confidence
//!   interval of the mean wall time (the interval `bench compare` judges by,
//!   [`crate::timing_stats`]); none with one repetition, or when the time interval
//!   reaches 0 (a run too noisy to bound the rate from above);
//! - mean = configs / mean(wall_s), the document's `configs_per_s`.

use crate::bench::BenchReport;
use std::path::{Path, PathBuf};

/// The largest bench document read (1000 repetitions of several backends take well under
/// a megabyte; anything far larger is not one).
pub const MAX_BENCH_BYTES: u64 = 64 << 20;

/// A problem with the folder itself (a skipped file is not one: see [`Collected::skipped`]).
#[derive(Debug, thiserror::Error)]
pub enum CollectError {
    #[error("{}: cannot read the folder: {source}", dir.display())]
    Folder {
        dir: PathBuf,
        source: std::io::Error,
    },
    #[error("{}: no usable `clustersweep.bench/2` file among its {json_files} *.json file(s) (write one with `clustersweep bench --json FILE`)", dir.display())]
    Nothing { dir: PathBuf, json_files: usize },
}

/// One measured backend of one file.
#[derive(Clone, Debug, PartialEq)]
pub struct CollectRow {
    /// The file's name (without the folder).
    pub file: String,
    pub cpu_model: String,
    /// Logical threads of the machine, and those the CPU backend used (none for a GPU).
    pub cpu_threads: usize,
    pub threads_used: Option<usize>,
    /// `cpu` or `gpu`, and the backend's name (CPU model or adapter name).
    pub backend: String,
    pub backend_name: String,
    /// The GPU adapter: name, PCI vendor and device ids, device type, API (none for the CPU).
    pub adapter: Option<AdapterCell>,
    /// Workload name (`default`, `synthetic`) and configurations per repetition.
    pub workload: String,
    pub configs: u64,
    /// The build's commit, and whether the tree was dirty (unknown: none).
    pub commit: String,
    pub dirty: Option<bool>,
    /// Timed repetitions.
    pub repeats: usize,
    /// Configurations per second: median, mean, and the 95% interval (none with one
    /// repetition), see the module's definitions.
    pub median_rate: f64,
    pub mean_rate: f64,
    pub interval: Option<[f64; 2]>,
}

/// A GPU adapter as the table shows it.
#[derive(Clone, Debug, PartialEq)]
pub struct AdapterCell {
    pub name: String,
    pub vendor_id: u32,
    pub device_id: u32,
    pub device_type: String,
    pub api: String,
}

/// A file left out, and why (one line).
#[derive(Clone, Debug, PartialEq)]
pub struct Skipped {
    pub file: String,
    pub reason: String,
}

/// What a folder gave.
#[derive(Clone, Debug, PartialEq)]
pub struct Collected {
    pub rows: Vec<CollectRow>,
    pub skipped: Vec<Skipped>,
    /// `*.json` files read (those skipped included).
    pub json_files: usize,
}

impl Collected {
    /// [`CollectError::Nothing`] when no file gave a row.
    pub fn require_rows(&self, dir: &Path) -> Result<(), CollectError> {
        if self.rows.is_empty() {
            return Err(CollectError::Nothing {
                dir: dir.to_path_buf(),
                json_files: self.json_files,
            });
        }
        Ok(())
    }
}

/// The rows of one document, in the order of its results.
pub fn rows_of(file: &str, doc: &BenchReport) -> Vec<CollectRow> {
    doc.results
        .iter()
        .map(|r| {
            let wall = crate::bench_compare::wall_stats(r);
            let configs = r.configs as f64;
            CollectRow {
                file: file.to_string(),
                cpu_model: doc.machine.cpu.model.clone(),
                cpu_threads: doc.machine.cpu.logical_threads,
                threads_used: r.threads_used,
                backend: r.backend.kind.clone(),
                backend_name: r.backend.name.clone(),
                adapter: r.adapter.as_ref().map(|a| AdapterCell {
                    name: a.name.clone(),
                    vendor_id: a.vendor_id,
                    device_id: a.device_id,
                    device_type: a.device_type.clone(),
                    api: a.api.clone(),
                }),
                workload: doc.workload.name.clone(),
                configs: r.configs,
                commit: doc.build.git_commit.clone(),
                dirty: doc.build.git_dirty,
                repeats: wall.n,
                median_rate: configs / wall.median,
                mean_rate: configs / wall.mean,
                interval: wall
                    .ci95
                    .filter(|[lo, _]| *lo > 0.0)
                    .map(|[lo, hi]| [configs / hi, configs / lo]),
            }
        })
        .collect()
}

/// Read every `*.json` file directly in `dir` (not in sub-folders), in the order of their
/// names: bench/2 documents give rows, any other file is skipped with the reason (another
/// schema, not JSON, unreadable, too large). Only an unreadable folder is an error here;
/// [`Collected::require_rows`] says when no file was usable.
pub fn collect(dir: &Path) -> Result<Collected, CollectError> {
    let folder = |source| CollectError::Folder {
        dir: dir.to_path_buf(),
        source,
    };
    let mut files: Vec<(String, PathBuf)> = Vec::new();
    for entry in std::fs::read_dir(dir).map_err(folder)? {
        let entry = entry.map_err(folder)?;
        let name = entry.file_name().to_string_lossy().into_owned();
        if !name.ends_with(".json") {
            continue;
        }
        // Follows a link to a file, as reading it would; sub-folders are not entered.
        if entry.path().is_dir() {
            continue;
        }
        files.push((name, entry.path()));
    }
    files.sort();
    let mut collected = Collected {
        rows: Vec::new(),
        skipped: Vec::new(),
        json_files: files.len(),
    };
    for (name, path) in files {
        match read_bench(&path) {
            Ok(doc) => collected.rows.extend(rows_of(&name, &doc)),
            Err(reason) => collected.skipped.push(Skipped { file: name, reason }),
        }
    }
    Ok(collected)
}

/// One bench/2 document, or why the file is not one (one line, without the file name).
fn read_bench(path: &Path) -> Result<BenchReport, String> {
    // The shared reader: regular files only (a FIFO named `*.json` would block), bounded.
    let text = crate::input::read_text_file(path, "a bench document", MAX_BENCH_BYTES)
        .map_err(|e| e.reason)?;
    let doc = crate::bench_compare::parse(&text)?;
    if doc.results.is_empty() {
        return Err("it has no results".into());
    }
    Ok(doc)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_rate_interval_is_the_inverse_of_the_time_interval() {
        let text = include_str!("../docs/bench/xeon-2core-bench2-run1.json");
        let doc = crate::bench_compare::parse(text).unwrap();
        let rows = rows_of("run1.json", &doc);
        assert_eq!(rows.len(), doc.results.len());
        for (row, r) in rows.iter().zip(&doc.results) {
            let mut t = r.wall_s.clone();
            t.sort_by(f64::total_cmp);
            let n = t.len();
            let median = if n % 2 == 1 {
                t[n / 2]
            } else {
                (t[n / 2 - 1] + t[n / 2]) / 2.0
            };
            let c = r.configs as f64;
            assert!((row.median_rate - c / median).abs() <= 1e-9 * row.median_rate);
            let [lo, hi] = row.interval.unwrap();
            let [tlo, thi] = r.wall.ci95.unwrap();
            assert!((lo - c / thi).abs() <= 1e-9 * lo && (hi - c / tlo).abs() <= 1e-9 * hi);
            assert!(lo < row.mean_rate && row.mean_rate < hi);
            assert_eq!(row.commit, doc.build.git_commit);
        }
    }
}
