//! Catalog audit (issue 5, item 4): the built-in catalog parses; every entry has a source and
//! a per-field citation for every numeric figure; `idle_w < min_power_w <= tdp_w`;
//! `dvfs_exponent > 0`; dense peaks rise fp4 >= fp8 >= bf16 where present; the ten required
//! accelerators are there. Then, for each rule, a catalog that breaks it is fed to
//! `Catalog::parse` and must be rejected with a message naming the offending key.

use clustersweep::catalog::Catalog;
use clustersweep::params::Precision;

mod common;
use common::{NUMERIC_FIELDS, REQUIRED_IDS};

fn builtin() -> Catalog {
    Catalog::builtin().unwrap_or_else(|e| panic!("built-in catalog does not parse: {e}"))
}

#[test]
fn builtin_catalog_parses_and_has_the_required_ids() {
    let c = builtin();
    let ids = c.ids();
    for id in REQUIRED_IDS {
        assert!(ids.contains(&id), "catalog lacks `{id}`; has {ids:?}");
    }
    let mut sorted = ids.clone();
    sorted.sort();
    sorted.dedup();
    assert_eq!(sorted.len(), ids.len(), "duplicate ids in {ids:?}");
}

#[test]
fn every_entry_has_a_source_and_a_citation_per_numeric_field() {
    let c = builtin();
    for a in &c.accelerators {
        assert!(!a.source.trim().is_empty(), "{}: empty source", a.id);
        let cites = c
            .sources
            .get(&a.id)
            .unwrap_or_else(|| panic!("{}: no [accelerators.{}.sources] table", a.id, a.id));
        for f in NUMERIC_FIELDS {
            assert!(
                cites.get(f).is_some_and(|s| !s.trim().is_empty()),
                "{}: no citation for `{f}`",
                a.id
            );
        }
    }
}

#[test]
fn every_entry_has_a_usable_power_range_and_rising_peaks() {
    let c = builtin();
    for a in &c.accelerators {
        assert!(
            a.idle_w < a.min_power_w && a.min_power_w <= a.tdp_w,
            "{}: idle_w {} < min_power_w {} <= tdp_w {} does not hold",
            a.id,
            a.idle_w,
            a.min_power_w,
            a.tdp_w
        );
        assert!(a.dvfs_exponent > 0.0, "{}: dvfs_exponent", a.id);
        assert!(a.peak(Precision::Bf16).is_some(), "{}: no bf16 peak", a.id);
        if let (Some(f8), Some(b)) = (a.peak(Precision::Fp8), a.peak(Precision::Bf16)) {
            assert!(f8 >= b, "{}: fp8 {f8} < bf16 {b}", a.id);
        }
        if let (Some(f4), Some(f8)) = (a.peak(Precision::Fp4), a.peak(Precision::Fp8)) {
            assert!(f4 >= f8, "{}: fp4 {f4} < fp8 {f8}", a.id);
        }
    }
}

// ---------------------------------------------------------------------------------------
// Broken catalogs.

/// A one-entry catalog that passes every rule; `edit` replaces whole lines by key.
fn entry(edit: &[(&str, &str)]) -> String {
    let mut lines = vec![
        ("name", r#"name = "Test""#),
        ("vendor", r#"vendor = "Test""#),
        (
            "peak_tflops",
            "peak_tflops = { bf16 = 100.0, fp8 = 200.0, fp4 = 400.0 }",
        ),
        ("tdp_w", "tdp_w = 700.0"),
        ("idle_w", "idle_w = 60.0"),
        ("min_power_w", "min_power_w = 200.0"),
        ("dvfs_exponent", "dvfs_exponent = 3.0"),
        ("host_w", "host_w = 500.0"),
        ("mtbf_hours", "mtbf_hours = 50000.0"),
        ("price_usd", "price_usd = 20000.0"),
        ("host_capex_usd", "host_capex_usd = 10000.0"),
        ("hbm_gb", "hbm_gb = 80.0"),
        ("source", r#"source = "test datasheet""#),
    ];
    for (k, line) in edit {
        match lines.iter_mut().find(|(name, _)| name == k) {
            Some(slot) => slot.1 = line,
            None => lines.push((k, line)),
        }
    }
    let mut s = String::from("[accelerators.T1]\n");
    for (_, line) in lines.iter().filter(|(_, l)| !l.is_empty()) {
        s.push_str(line);
        s.push('\n');
    }
    s.push_str("\n[accelerators.T1.sources]\n");
    for f in NUMERIC_FIELDS {
        s.push_str(&format!("{f} = \"test citation for {f}\"\n"));
    }
    s
}

fn parse(text: &str) -> Result<Catalog, String> {
    Catalog::parse("audit.toml", text).map_err(|e| e.to_string())
}

/// `text` must be rejected, and the message must name every string in `names`.
fn rejected(text: &str, names: &[&str]) {
    match parse(text) {
        Ok(_) => panic!("accepted a broken catalog:\n{text}"),
        Err(msg) => {
            for n in names {
                assert!(msg.contains(n), "message does not name `{n}`: {msg}");
            }
        }
    }
}

#[test]
fn the_reference_entry_is_accepted() {
    let c = parse(&entry(&[])).unwrap();
    assert_eq!(c.ids(), vec!["T1"]);
}

#[test]
fn idle_at_or_above_the_power_floor_is_rejected() {
    rejected(
        &entry(&[("idle_w", "idle_w = 200.0")]),
        &["accelerators.T1", "idle_w", "min_power_w"],
    );
    rejected(
        &entry(&[("idle_w", "idle_w = 250.0")]),
        &["accelerators.T1", "idle_w", "min_power_w"],
    );
}

#[test]
fn a_power_floor_above_tdp_is_rejected() {
    rejected(
        &entry(&[("min_power_w", "min_power_w = 800.0")]),
        &["accelerators.T1", "min_power_w", "tdp_w"],
    );
}

#[test]
fn a_floor_equal_to_tdp_is_accepted() {
    // TPU-v5p and Trainium2 have no user power cap: min_power_w = tdp_w is legal.
    let c = parse(&entry(&[("min_power_w", "min_power_w = 700.0")])).unwrap();
    let a = &c.accelerators[0];
    assert_eq!((a.min_power_w, a.tdp_w), (700.0, 700.0));
}

#[test]
fn a_non_positive_dvfs_exponent_is_rejected() {
    rejected(
        &entry(&[("dvfs_exponent", "dvfs_exponent = 0.0")]),
        &["accelerators.T1.dvfs_exponent"],
    );
    rejected(
        &entry(&[("dvfs_exponent", "dvfs_exponent = -1.0")]),
        &["accelerators.T1.dvfs_exponent"],
    );
}

#[test]
fn a_non_positive_peak_is_rejected() {
    rejected(
        &entry(&[("peak_tflops", "peak_tflops = { bf16 = 0.0 }")]),
        &["accelerators.T1.peak_tflops.bf16"],
    );
    rejected(
        &entry(&[("peak_tflops", "peak_tflops = { }")]),
        &["accelerators.T1.peak_tflops"],
    );
    rejected(
        &entry(&[("peak_tflops", "peak_tflops = { fp16 = 100.0 }")]),
        &["accelerators.T1.peak_tflops.fp16"],
    );
}

#[test]
fn a_missing_numeric_field_is_rejected() {
    for f in NUMERIC_FIELDS.iter().filter(|f| **f != "dvfs_exponent") {
        rejected(&entry(&[(f, "")]), &[&format!("accelerators.T1.{f}")]);
    }
    // dvfs_exponent alone has a default (3).
    let c = parse(&entry(&[("dvfs_exponent", "")])).unwrap();
    assert_eq!(c.accelerators[0].dvfs_exponent, 3.0);
}

#[test]
fn a_negative_figure_or_unknown_key_is_rejected() {
    rejected(
        &entry(&[("host_w", "host_w = -1.0")]),
        &["accelerators.T1.host_w"],
    );
    rejected(
        &entry(&[("mtbf_hours", "mtbf_hours = 0.0")]),
        &["accelerators.T1.mtbf_hours"],
    );
    rejected(&entry(&[("tdp", "tdp = 700.0")]), &["accelerators.T1.tdp"]);
}

// Catalog rules that `Catalog::parse` enforces on any catalog file.

#[test]
fn parse_rejects_falling_peaks() {
    rejected(
        &entry(&[(
            "peak_tflops",
            "peak_tflops = { bf16 = 300.0, fp8 = 200.0, fp4 = 100.0 }",
        )]),
        &["accelerators.T1.peak_tflops"],
    );
}

#[test]
fn parse_rejects_a_missing_citation() {
    let text = entry(&[]).replace("hbm_gb = \"test citation for hbm_gb\"\n", "");
    rejected(&text, &["accelerators.T1.sources.hbm_gb"]);
}

#[test]
fn parse_rejects_an_empty_source() {
    rejected(
        &entry(&[("source", r#"source = """#)]),
        &["accelerators.T1.source"],
    );
}
