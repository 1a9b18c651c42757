//! Backtests: published training runs and public 2025 figures as cases (`configs/validation/*.toml`,
//! embedded), each a scenario of fixed parameters plus `[[compare]]` entries, run through the f64
//! model and compared with the published values within a stated tolerance.

/// The built-in cases: (file name, text).
pub const BUILTIN_CASES: &[(&str, &str)] = &[
    (
        "configs/validation/30gw-homes.toml",
        include_str!("../configs/validation/30gw-homes.toml"),
    ),
    (
        "configs/validation/annuity-continuous.toml",
        include_str!("../configs/validation/annuity-continuous.toml"),
    ),
    (
        "configs/validation/annuity-increasing.toml",
        include_str!("../configs/validation/annuity-increasing.toml"),
    ),
    (
        "configs/validation/aws-38b.toml",
        include_str!("../configs/validation/aws-38b.toml"),
    ),
    (
        "configs/validation/bloom-176b.toml",
        include_str!("../configs/validation/bloom-176b.toml"),
    ),
    (
        "configs/validation/capex-per-gw.toml",
        include_str!("../configs/validation/capex-per-gw.toml"),
    ),
    (
        "configs/validation/deepseek-v3.toml",
        include_str!("../configs/validation/deepseek-v3.toml"),
    ),
    (
        "configs/validation/gpt3-175b.toml",
        include_str!("../configs/validation/gpt3-175b.toml"),
    ),
    (
        "configs/validation/llama-65b.toml",
        include_str!("../configs/validation/llama-65b.toml"),
    ),
    (
        "configs/validation/llama2-70b.toml",
        include_str!("../configs/validation/llama2-70b.toml"),
    ),
    (
        "configs/validation/llama3.1-405b.toml",
        include_str!("../configs/validation/llama3.1-405b.toml"),
    ),
    (
        "configs/validation/megascale-175b.toml",
        include_str!("../configs/validation/megascale-175b.toml"),
    ),
    (
        "configs/validation/opt-175b.toml",
        include_str!("../configs/validation/opt-175b.toml"),
    ),
];

use crate::catalog::Catalog;
use crate::input::{get, join_key, Doc, InputError};
use crate::model::{evaluate, Metric};
use crate::scenario::Scenario;
use crate::summary::describe;
use toml::de::DeValue;

/// Keys of one `[[compare]]` entry.
const COMPARE_KEYS: [&str; 6] = [
    "quantity",
    "published",
    "tolerance",
    "source",
    "why",
    "over_days",
];

/// One compared quantity of a case, with its outcome.
#[derive(Clone, Debug, PartialEq)]
pub struct CaseResult {
    /// Case name.
    pub name: String,
    pub file: String,
    /// A metric name, or `train_flop` (throughput x `over_days`).
    pub quantity: String,
    pub published: f64,
    pub predicted: f64,
    /// Relative error (predicted - published) / published.
    pub error: f64,
    /// Largest accepted |error|.
    pub tolerance: f64,
    pub pass: bool,
    pub source: String,
    pub why: String,
}

/// Parse one case file and compute its comparisons.
pub fn run_case(file: &str, text: &str, catalog: &Catalog) -> Result<Vec<CaseResult>, InputError> {
    let doc = Doc { file, text };
    let top = doc.parse()?;
    let scenario = Scenario::from_table(&doc, &top, catalog, &["source", "compare"])?;
    if !scenario.axes.is_empty() {
        return Err(doc.error_no_pos(
            "axes",
            "a validation case fixes every parameter; it has no axes",
        ));
    }
    let case_source = match get(&top, "source") {
        Some(v) => doc.string(v, "source")?.to_string(),
        None => {
            return Err(doc.error_no_pos("source", "missing: a case must cite its primary source"))
        }
    };
    let Some(cmp) = get(&top, "compare") else {
        return Err(doc.error_no_pos("compare", "missing: add at least one [[compare]] entry"));
    };
    let DeValue::Array(entries) = cmp.get_ref() else {
        return Err(doc.error(
            cmp.span(),
            "compare",
            "expected an array of tables ([[compare]])",
        ));
    };
    let r = describe(&scenario, 0, &scenario.values_at(&[]));
    let (cfg, acc) = scenario.resolve(&scenario.values_at(&[]));
    let e = evaluate(&cfg, acc, &scenario.workload);
    let mut out = Vec::new();
    for (i, entry) in entries.iter().enumerate() {
        let key = format!("compare[{i}]");
        let t = doc.table(entry, &key)?;
        doc.only_keys(t, &key, &COMPARE_KEYS)?;
        let field = |name: &str| {
            get(t, name).ok_or_else(|| doc.error(entry.span(), &join_key(&key, name), "missing"))
        };
        let qv = field("quantity")?;
        let quantity = doc.string(qv, &join_key(&key, "quantity"))?.to_string();
        let published = doc.number(field("published")?, &join_key(&key, "published"))?;
        let tolerance = doc.number(field("tolerance")?, &join_key(&key, "tolerance"))?;
        if !(tolerance > 0.0 && tolerance < 1.0) {
            return Err(doc.error(
                entry.span(),
                &join_key(&key, "tolerance"),
                "a relative tolerance in (0, 1)",
            ));
        }
        let source = doc
            .string(field("source")?, &join_key(&key, "source"))?
            .to_string();
        let why = match get(t, "why") {
            Some(v) => doc.string(v, &join_key(&key, "why"))?.to_string(),
            None => String::new(),
        };
        let predicted = if quantity == "train_flop" {
            let days = doc.number(field("over_days")?, &join_key(&key, "over_days"))?;
            e.metrics[Metric::ThroughputPflops as usize] * 1e15 * days * 86400.0
        } else {
            let m = Metric::from_name(&quantity)
                .filter(|m| m.applies(&scenario.workload))
                .ok_or_else(|| {
                    doc.error(qv.span(), &join_key(&key, "quantity"), format!("`{quantity}` is not a metric of this case (needs a [workload] figure?)"))
                })?;
            r.metric(m)
        };
        let error = (predicted - published) / published;
        out.push(CaseResult {
            name: scenario.name.clone(),
            file: file.to_string(),
            quantity,
            published,
            predicted,
            error,
            tolerance,
            pass: error.abs() <= tolerance,
            source: if source.is_empty() {
                case_source.clone()
            } else {
                source
            },
            why,
        });
    }
    Ok(out)
}

/// Run the built-in cases, then every `*.toml` in `extra_dir` (sorted by name).
pub fn run_all(
    catalog: &Catalog,
    extra_dir: Option<&std::path::Path>,
) -> Result<Vec<CaseResult>, InputError> {
    let mut out = Vec::new();
    for (file, text) in BUILTIN_CASES {
        out.extend(run_case(file, text, catalog)?);
    }
    if let Some(dir) = extra_dir {
        let name = dir.display().to_string();
        let mut files: Vec<_> = std::fs::read_dir(dir)
            .map_err(|e| InputError::file(&name, format!("cannot read folder: {e}")))?
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| p.extension().is_some_and(|x| x == "toml"))
            .collect();
        files.sort();
        for p in files {
            let f = p.display().to_string();
            let text = std::fs::read_to_string(&p)
                .map_err(|e| InputError::file(&f, format!("cannot read case: {e}")))?;
            out.extend(run_case(&f, &text, catalog)?);
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_case_file_is_embedded() {
        let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/configs/validation");
        let mut on_disk: Vec<String> = std::fs::read_dir(dir)
            .unwrap()
            .map(|e| {
                format!(
                    "configs/validation/{}",
                    e.unwrap().file_name().to_string_lossy()
                )
            })
            .filter(|f| f.ends_with(".toml"))
            .collect();
        on_disk.sort();
        let mut embedded: Vec<String> = BUILTIN_CASES.iter().map(|(f, _)| f.to_string()).collect();
        embedded.sort();
        assert_eq!(on_disk, embedded);
    }

    #[test]
    fn builtin_cases_parse_and_pass() {
        let catalog = Catalog::builtin().unwrap();
        let results = run_all(&catalog, None).unwrap();
        assert!(results.len() >= BUILTIN_CASES.len());
        let failing: Vec<_> = results
            .iter()
            .filter(|r| !r.pass)
            .map(|r| format!("{} {}: {:+.1}%", r.name, r.quantity, r.error * 100.0))
            .collect();
        assert!(failing.is_empty(), "failing cases: {failing:?}");
    }

    #[test]
    fn a_case_outside_tolerance_fails() {
        let catalog = Catalog::builtin().unwrap();
        let text = r#"
name = "t"
source = "test"
[fixed]
accelerator = "H100-SXM"
gpu_count = 1000
[[compare]]
quantity = "it_mw"
published = 2.0
tolerance = 0.01
source = "x"
"#;
        let r = run_case("t.toml", text, &catalog).unwrap();
        let a = catalog.find("H100-SXM").unwrap();
        let expected = 1000.0 * (a.tdp_w + a.host_w) / 1e6;
        assert!((r[0].predicted - expected).abs() < 1e-12);
        assert_eq!(r[0].pass, ((expected - 2.0) / 2.0).abs() <= 0.01);
    }
}
