//! The hardware catalog: `configs/hardware.toml` (embedded in the binary, replaceable with
//! `--catalog FILE`), parsed and checked into [`Accelerator`]s. Also parses the
//! `[accelerators.ID]` tables of scenarios, which override catalog fields or define new
//! accelerators with the same keys.

use crate::input::{get, join_key, Doc, InputError, Table, Value};
use crate::model::Accelerator;
use crate::params::Precision;
use std::collections::BTreeMap;

/// The catalog shipped with clustersweep.
pub const BUILTIN_CATALOG: &str = include_str!("../configs/hardware.toml");
/// Name used for the built-in catalog in messages.
pub const BUILTIN_CATALOG_NAME: &str = "<built-in configs/hardware.toml>";

/// Position of accelerator `id` in a table: exact match first, then ignoring ASCII case.
pub fn find_accelerator(table: &[Accelerator], id: &str) -> Option<usize> {
    table
        .iter()
        .position(|a| a.id == id)
        .or_else(|| table.iter().position(|a| a.id.eq_ignore_ascii_case(id)))
}

/// Keys of one accelerator table.
/// The fields of a catalog entry (and of a scenario's `[accelerators.ID]` override).
pub const FIELDS: [&str; 15] = [
    "name",
    "vendor",
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
    "source",
    "sources",
    "notes",
];

/// Numeric fields every accelerator must have (besides `peak_tflops`).
const REQUIRED_NUMBERS: [&str; 8] = [
    "tdp_w",
    "idle_w",
    "min_power_w",
    "host_w",
    "mtbf_hours",
    "price_usd",
    "host_capex_usd",
    "hbm_gb",
];

/// The default `dvfs_exponent` (gamma) of the spec.
pub const DEFAULT_DVFS_EXPONENT: f64 = 3.0;

/// A parsed catalog: accelerators in file order, plus per-field citations.
#[derive(Clone, Debug)]
pub struct Catalog {
    pub file: String,
    pub accelerators: Vec<Accelerator>,
    /// Per-accelerator, per-field citations (`[accelerators.ID.sources]`).
    pub sources: BTreeMap<String, BTreeMap<String, String>>,
    /// SHA-256 (hex) of the catalog text as read.
    pub sha256: String,
}

impl Catalog {
    /// The built-in catalog.
    pub fn builtin() -> Result<Catalog, InputError> {
        Catalog::parse(BUILTIN_CATALOG_NAME, BUILTIN_CATALOG)
    }

    /// Load a catalog file.
    /// A path that is not UTF-8 is opened as it is and named lossily in messages.
    pub fn load(path: impl AsRef<std::path::Path>) -> Result<Catalog, InputError> {
        let path = path.as_ref();
        let text = crate::input::read_text_file(path, "catalog", crate::input::MAX_TOML_BYTES)?;
        Catalog::parse(&path.to_string_lossy(), &text)
    }

    /// Parse catalog text.
    pub fn parse(file: &str, text: &str) -> Result<Catalog, InputError> {
        let doc = Doc { file, text };
        let top = doc.parse()?;
        doc.only_keys(&top, "", &["accelerators"])?;
        let Some(accs) = get(&top, "accelerators") else {
            return Err(doc.error_no_pos("accelerators", "the catalog defines no accelerators"));
        };
        let accs = doc.table(accs, "accelerators")?;
        let mut out = Vec::new();
        let mut sources = BTreeMap::new();
        for (id, v) in accs.iter() {
            let id = id.get_ref().to_string();
            let key = format!("accelerators.{id}");
            let table = doc.table(v, &key)?;
            let acc = parse_accelerator(&doc, &key, &id, table, None)?;
            let cited = parse_sources(&doc, &key, table)?;
            audit_entry(&doc, &key, table, &acc, &cited)?;
            sources.insert(id, cited);
            out.push(acc);
        }
        if out.is_empty() {
            return Err(doc.error_no_pos("accelerators", "the catalog defines no accelerators"));
        }
        Ok(Catalog {
            file: file.to_string(),
            accelerators: out,
            sources,
            sha256: crate::provenance::sha256_hex(text.as_bytes()),
        })
    }

    /// Find an accelerator by id (exact, then case-insensitive).
    pub fn find(&self, id: &str) -> Option<&Accelerator> {
        find_accelerator(&self.accelerators, id).map(|i| &self.accelerators[i])
    }

    /// Ids, for messages.
    pub fn ids(&self) -> Vec<&str> {
        self.accelerators.iter().map(|a| a.id.as_str()).collect()
    }
}

/// The catalog's own rules, beyond what any accelerator table must satisfy: a `source`,
/// a citation for every figure, and dense peaks that do not fall from bf16 to fp8 to fp4.
fn audit_entry(
    doc: &Doc<'_>,
    key: &str,
    table: &Table<'_>,
    acc: &Accelerator,
    cited: &BTreeMap<String, String>,
) -> Result<(), InputError> {
    let source_ok = get(table, "source").is_some() && !acc.source.trim().is_empty();
    if !source_ok {
        let span = get(table, "source").map(|v| v.span());
        let k = join_key(key, "source");
        let reason = "every catalog entry needs a non-empty source";
        return Err(match span {
            Some(s) => doc.error(s, &k, reason),
            None => doc.error_no_pos(&k, reason),
        });
    }
    for field in REQUIRED_NUMBERS
        .iter()
        .chain(["peak_tflops", "dvfs_exponent"].iter())
    {
        if cited.get(*field).is_none_or(|c| c.trim().is_empty()) {
            return Err(doc.error_no_pos(
                &join_key(&join_key(key, "sources"), field),
                "missing: every catalog figure needs a citation (or \"estimate: <reasoning>\")",
            ));
        }
    }
    let peaks: Vec<(Precision, f64)> = [Precision::Fp4, Precision::Fp8, Precision::Bf16]
        .into_iter()
        .filter_map(|p| acc.peak(p).map(|x| (p, x)))
        .collect();
    for pair in peaks.windows(2) {
        let ((lo_p, lo), (hi_p, hi)) = (pair[0], pair[1]);
        if lo < hi {
            let span = get(table, "peak_tflops").map(|v| v.span()).unwrap_or(0..0);
            return Err(doc.error(
                span,
                &join_key(key, "peak_tflops"),
                format!(
                    "dense peaks must rise fp4 >= fp8 >= bf16, got {} = {lo} < {} = {hi} (a sparse figure?)",
                    lo_p.name(),
                    hi_p.name()
                ),
            ));
        }
    }
    Ok(())
}

fn parse_sources(
    doc: &Doc<'_>,
    key: &str,
    table: &Table<'_>,
) -> Result<BTreeMap<String, String>, InputError> {
    let mut out = BTreeMap::new();
    if let Some(v) = get(table, "sources") {
        let k = join_key(key, "sources");
        for (field, s) in doc.table(v, &k)?.iter() {
            let fk = join_key(&k, field.get_ref());
            out.insert(field.get_ref().to_string(), doc.string(s, &fk)?.to_string());
        }
    }
    Ok(out)
}

/// Parse one accelerator table. With `base`, the table overrides fields of that entry;
/// without, it must define every required field.
pub fn parse_accelerator(
    doc: &Doc<'_>,
    key: &str,
    id: &str,
    table: &Table<'_>,
    base: Option<&Accelerator>,
) -> Result<Accelerator, InputError> {
    doc.only_keys(table, key, &FIELDS)?;
    let mut acc = base.cloned().unwrap_or_else(|| Accelerator {
        id: id.to_string(),
        name: id.to_string(),
        vendor: String::new(),
        peak_tflops: [None; 3],
        tdp_w: f64::NAN,
        idle_w: f64::NAN,
        min_power_w: f64::NAN,
        dvfs_exponent: DEFAULT_DVFS_EXPONENT,
        host_w: f64::NAN,
        mtbf_hours: f64::NAN,
        price_usd: f64::NAN,
        host_capex_usd: f64::NAN,
        hbm_gb: f64::NAN,
        source: format!("defined in {}", doc.file),
        param_values: [None; crate::params::PARAM_COUNT],
    });
    let number = |name: &str| -> Result<Option<(f64, &Value<'_>)>, InputError> {
        match get(table, name) {
            None => Ok(None),
            Some(v) => {
                let k = join_key(key, name);
                let x = doc.number(v, &k)?;
                if !x.is_finite() || x < 0.0 {
                    return Err(doc.error(
                        v.span(),
                        &k,
                        format!("must be a finite number >= 0, got {x}"),
                    ));
                }
                Ok(Some((x, v)))
            }
        }
    };
    for name in REQUIRED_NUMBERS.iter().chain(["dvfs_exponent"].iter()) {
        if let Some((x, v)) = number(name)? {
            let slot = match *name {
                "tdp_w" => &mut acc.tdp_w,
                "idle_w" => &mut acc.idle_w,
                "min_power_w" => &mut acc.min_power_w,
                "host_w" => &mut acc.host_w,
                "mtbf_hours" => &mut acc.mtbf_hours,
                "price_usd" => &mut acc.price_usd,
                "host_capex_usd" => &mut acc.host_capex_usd,
                "hbm_gb" => &mut acc.hbm_gb,
                _ => &mut acc.dvfs_exponent,
            };
            if (*name == "mtbf_hours" || *name == "dvfs_exponent" || *name == "tdp_w") && x <= 0.0 {
                return Err(doc.error(v.span(), &join_key(key, name), "must be > 0"));
            }
            *slot = x;
        } else if base.is_none() && *name != "dvfs_exponent" {
            return Err(doc.error_no_pos(
                &join_key(key, name),
                format!("missing field {name}: a new accelerator (`{id}`) must define every field"),
            ));
        }
    }
    for name in ["name", "vendor", "source"] {
        if let Some(v) = get(table, name) {
            let s = doc.string(v, &join_key(key, name))?.to_string();
            match name {
                "name" => acc.name = s,
                "vendor" => acc.vendor = s,
                _ => acc.source = s,
            }
        }
    }
    if let Some(v) = get(table, "notes") {
        doc.string(v, &join_key(key, "notes"))?;
    }
    if let Some(v) = get(table, "sources") {
        doc.table(v, &join_key(key, "sources"))?;
    }
    match get(table, "peak_tflops") {
        Some(v) => {
            let k = join_key(key, "peak_tflops");
            let peaks = doc.table(v, &k)?;
            let names: Vec<&str> = Precision::ALL.iter().map(|p| p.name()).collect();
            doc.only_keys(peaks, &k, &names)?;
            for (pk, pv) in peaks.iter() {
                let kk = join_key(&k, pk.get_ref());
                let x = doc.number(pv, &kk)?;
                if !x.is_finite() || x <= 0.0 {
                    return Err(doc.error(
                        pv.span(),
                        &kk,
                        format!("a dense peak must be > 0, got {x}"),
                    ));
                }
                if let Some(p) = Precision::from_name(pk.get_ref()) {
                    acc.peak_tflops[p as usize] = Some(x);
                }
            }
        }
        None if base.is_none() => {
            return Err(doc.error_no_pos(
                &join_key(key, "peak_tflops"),
                format!(
                    "missing field peak_tflops: a new accelerator (`{id}`) must define every field"
                ),
            ))
        }
        None => {}
    }
    if acc.peak_tflops.iter().all(Option::is_none) {
        return Err(doc.error_no_pos(&join_key(key, "peak_tflops"), "no peak for any precision"));
    }
    if !(acc.idle_w < acc.min_power_w && acc.min_power_w <= acc.tdp_w) {
        let span = get(table, "min_power_w")
            .or_else(|| get(table, "idle_w"))
            .or_else(|| get(table, "tdp_w"))
            .map(|v| v.span());
        let reason = format!(
            "needs idle_w < min_power_w <= tdp_w, got idle_w = {}, min_power_w = {}, tdp_w = {}",
            acc.idle_w, acc.min_power_w, acc.tdp_w
        );
        return Err(match span {
            Some(s) => doc.error(s, key, reason),
            None => doc.error_no_pos(key, reason),
        });
    }
    Ok(acc)
}
