//! `clustersweep bench compare`: the results of `clustersweep.bench/2` documents against a
//! baseline's, the regression rule ([`crate::timing_stats::verdict`] on the wall time per
//! configuration of every repetition), the warnings for what makes two documents unlike
//! (workload, commit, wgpu version, backend, repetitions, machine, build profile), and the
//! `clustersweep.bench-compare/1` document. Rendering for people is
//! [`crate::report::bench`]'s.

use crate::bench::{BenchReport, BenchResult, BENCH_SCHEMA};
use crate::timing_stats::{verdict, TimingStats, Verdict};
use serde::{Deserialize, Serialize};
use serde_json::Value;

/// Schema name of the comparison document.
pub const COMPARE_SCHEMA: &str = "clustersweep.bench-compare/1";

/// The rule, in words (in the document and the docs).
pub const RULE: &str = "B regressed when its mean wall time per configuration exceeds A's by more than the threshold AND the 95% confidence intervals of the two means (Student t) do not overlap (B's low end above A's high end); with one repetition on either side the noise is unknown and the threshold alone decides";

/// The bench result as [`crate::document`] reads it back.
const BENCH_DOCUMENT: crate::document::Kind = crate::document::Kind {
    schema: BENCH_SCHEMA,
    what: "bench result (`clustersweep bench --json FILE` writes one)",
    hints: &[(
        "clustersweep.bench/1",
        "it has one median per backend and no repetition times: re-run `clustersweep bench --json FILE` with this version",
    )],
};

/// Check that a document is a bench document this version reads; the message says what it
/// is instead (one line).
pub fn check_schema(doc: &Value) -> Result<(), String> {
    BENCH_DOCUMENT.check(doc)
}

/// Read a bench document from JSON text; the error is one line without the file name.
pub fn parse(text: &str) -> Result<BenchReport, String> {
    let doc = BENCH_DOCUMENT.parse(text)?;
    serde_json::from_value(doc).map_err(|e| format!("not a valid `{BENCH_SCHEMA}` document: {e}"))
}

/// `--threshold`: a percentage, `5%` or `5` (= 0.05); 0 ..= 1000%.
pub fn parse_threshold(s: &str) -> Result<f64, String> {
    let t = s.trim();
    let n: f64 = t
        .strip_suffix('%')
        .unwrap_or(t)
        .trim()
        .parse()
        .map_err(|_| format!("`{s}` is not a percentage (e.g. 5%)"))?;
    if !(0.0..=1000.0).contains(&n) {
        return Err(format!("`{s}`: the threshold must be within 0% ..= 1000%"));
    }
    Ok(n / 100.0)
}

/// One backend of B against the matching backend of A.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct ResultComparison {
    /// `cpu` or `gpu`, and the backend names in A and B.
    pub kind: String,
    pub baseline_name: String,
    pub name: String,
    /// Wall time per configuration, seconds: statistics over the repetitions.
    pub baseline_s_per_config: TimingStats,
    pub s_per_config: TimingStats,
    /// Configurations per second (configurations / mean wall time).
    pub baseline_configs_per_s: f64,
    pub configs_per_s: f64,
    /// mean(B) / mean(A) - 1 of the time per configuration (+0.10: B takes 10% longer).
    pub change: f64,
    /// `slower` (a regression), `faster` or `same` by [`RULE`].
    pub verdict: Verdict,
}

/// One file against the baseline.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct FileComparison {
    pub file: String,
    pub results: Vec<ResultComparison>,
    /// Backends of either file with no counterpart in the other.
    pub unmatched: Vec<String>,
    /// What makes the two documents unlike.
    pub warnings: Vec<String>,
    /// Whether any backend is `slower`.
    pub regressed: bool,
}

/// The `clustersweep.bench-compare/1` document.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct BenchComparison {
    pub schema: String,
    pub baseline: String,
    /// The threshold as a fraction (0.05 for 5%).
    pub threshold: f64,
    pub rule: String,
    pub comparisons: Vec<FileComparison>,
    /// Whether any file regressed against the baseline (exit 4).
    pub regressed: bool,
}

/// Wall time of a repetition: the statistics recomputed from the repetition times
/// (`wall_s`), the document's `wall` where it lists none.
pub fn wall_stats(r: &BenchResult) -> TimingStats {
    crate::timing_stats::timing_stats(&r.wall_s).unwrap_or_else(|| r.wall.clone())
}

/// Wall time per configuration ([`wall_stats`] over the configurations timed).
fn per_config(r: &BenchResult) -> TimingStats {
    wall_stats(r).scaled(r.configs as f64)
}

/// The index in A of B's result `i`: the same kind and name; else the result of the same
/// kind at the same position among that kind (another machine's CPU has another name).
fn counterpart(a: &BenchReport, b: &BenchReport, i: usize) -> Option<usize> {
    let x = &b.results[i];
    let same_kind: Vec<usize> = (0..a.results.len())
        .filter(|&j| a.results[j].backend.kind == x.backend.kind)
        .collect();
    if let Some(&j) = same_kind
        .iter()
        .find(|&&j| a.results[j].backend.name == x.backend.name)
    {
        return Some(j);
    }
    let pos = b.results[..i]
        .iter()
        .filter(|r| r.backend.kind == x.backend.kind)
        .count();
    same_kind.get(pos).copied()
}

/// What makes A and B unlike, one line each.
pub fn warnings(a: &BenchReport, b: &BenchReport) -> Vec<String> {
    type Field = fn(&BenchReport) -> String;
    let fields: [(&str, Field); 11] = [
        ("workload", |r| r.workload.name.clone()),
        ("workload size (configurations)", |r| {
            r.workload
                .configs
                .map_or("sized per backend".into(), |n| n.to_string())
        }),
        ("workload scenario (SHA-256)", |r| {
            r.workload.scenario_sha256.clone()
        }),
        ("commit", |r| r.build.git_commit.clone()),
        ("wgpu version", |r| r.build.wgpu_version.clone()),
        ("repeats", |r| r.repeats.to_string()),
        ("warmup", |r| r.warmup.to_string()),
        ("build profile", |r| {
            format!("{} opt-level {}", r.build.profile, r.build.opt_level)
        }),
        ("target CPU", |r| r.build.target_cpu.clone()),
        ("CPU", |r| r.machine.cpu.model.clone()),
        ("backends", |r| {
            r.results
                .iter()
                .map(|x| format!("{} {}", x.backend.kind, x.backend.name))
                .collect::<Vec<_>>()
                .join(", ")
        }),
    ];
    let mut w = Vec::new();
    for (what, field) in fields {
        let (x, y) = (field(a), field(b));
        if x != y {
            w.push(format!(
                "different {what}: `{x}` in the baseline, `{y}` here"
            ));
        }
    }
    for (r, which) in [(a, "the baseline"), (b, "this file")] {
        if r.build.git_dirty == Some(true) {
            w.push(format!(
                "{which} was built from a dirty tree (commit {} plus changes)",
                r.build.git_commit
            ));
        }
        if r.results.iter().any(|x| x.wall.n < 2) {
            w.push(format!(
                "{which} has one repetition: its noise is unknown, the threshold alone decides"
            ));
        }
    }
    w
}

/// Compare each of `others` with `baseline`.
pub fn compare(
    baseline: (&str, &BenchReport),
    others: &[(String, BenchReport)],
    threshold: f64,
) -> BenchComparison {
    let (base_name, a) = baseline;
    let mut comparisons = Vec::new();
    for (file, b) in others {
        let mut results = Vec::new();
        let mut unmatched = Vec::new();
        let mut used = Vec::new();
        for (i, x) in b.results.iter().enumerate() {
            let Some(j) = counterpart(a, b, i) else {
                unmatched.push(format!(
                    "{} {} (only in {file})",
                    x.backend.kind, x.backend.name
                ));
                continue;
            };
            used.push(j);
            let m = &a.results[j];
            let (sa, sb) = (per_config(m), per_config(x));
            results.push(ResultComparison {
                kind: x.backend.kind.clone(),
                baseline_name: m.backend.name.clone(),
                name: x.backend.name.clone(),
                change: sb.mean / sa.mean - 1.0,
                verdict: verdict(&sa, &sb, threshold),
                baseline_configs_per_s: m.configs_per_s,
                configs_per_s: x.configs_per_s,
                baseline_s_per_config: sa,
                s_per_config: sb,
            });
        }
        for (j, m) in a.results.iter().enumerate() {
            if !used.contains(&j) {
                unmatched.push(format!(
                    "{} {} (only in {base_name})",
                    m.backend.kind, m.backend.name
                ));
            }
        }
        let regressed = results.iter().any(|r| r.verdict == Verdict::Slower);
        comparisons.push(FileComparison {
            file: file.clone(),
            results,
            unmatched,
            warnings: warnings(a, b),
            regressed,
        });
    }
    BenchComparison {
        schema: COMPARE_SCHEMA.into(),
        baseline: base_name.to_string(),
        threshold,
        rule: RULE.into(),
        regressed: comparisons.iter().any(|c| c.regressed),
        comparisons,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn thresholds() {
        assert_eq!(parse_threshold("5%").unwrap(), 0.05);
        assert_eq!(parse_threshold(" 12.5 % ").unwrap(), 0.125);
        assert_eq!(parse_threshold("0").unwrap(), 0.0);
        assert!(parse_threshold("-1%").is_err());
        assert!(parse_threshold("five").is_err());
        assert!(parse_threshold("2000%").is_err());
    }

    #[test]
    fn other_schemas_are_named() {
        let summary = serde_json::json!({"schema": "clustersweep.summary/2"});
        let e = check_schema(&summary).unwrap_err();
        assert!(e.contains("clustersweep.summary/2"), "{e}");
        let old = serde_json::json!({"schema": "clustersweep.bench/1"});
        assert!(check_schema(&old).unwrap_err().contains("re-run"));
        assert!(check_schema(&serde_json::json!({"x": 1}))
            .unwrap_err()
            .contains("no `schema` field"));
        assert!(parse("{").unwrap_err().contains(": it is not JSON ("));
        let e = parse(r#"{"schema": "clustersweep.bench/2"}"#).unwrap_err();
        assert!(
            e.starts_with("not a valid `clustersweep.bench/2` document"),
            "{e}"
        );
        assert!(!e.contains('\n'));
    }
}
