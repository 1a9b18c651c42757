//! The hardware catalog listing (`clustersweep catalog`): one row per accelerator (dense
//! peaks, power, reliability, price, memory) for people, and the JSON document with every
//! accelerator's fields and per-field sources.

use super::json::num;
use crate::catalog::Catalog;
use crate::format::{fmt_num, fmt_usd};
use crate::params::Precision;
use serde_json::Value;
use std::fmt::Write;

/// The `catalog --json` document.
pub fn json(catalog: &Catalog) -> Value {
    let list: Vec<Value> = catalog
        .accelerators
        .iter()
        .map(|a| {
            let peaks: serde_json::Map<String, Value> = Precision::ALL
                .iter()
                .filter_map(|p| a.peak(*p).map(|x| (p.name().to_string(), num(x))))
                .collect();
            serde_json::json!({
                "id": a.id, "name": a.name, "vendor": a.vendor, "peak_tflops": peaks,
                "tdp_w": a.tdp_w, "idle_w": a.idle_w, "min_power_w": a.min_power_w,
                "dvfs_exponent": a.dvfs_exponent, "host_w": a.host_w, "mtbf_hours": a.mtbf_hours,
                "price_usd": a.price_usd, "host_capex_usd": a.host_capex_usd, "hbm_gb": a.hbm_gb,
                "source": a.source, "sources": catalog.sources.get(&a.id),
            })
        })
        .collect();
    serde_json::json!({"catalog": catalog.file, "accelerators": list})
}

/// The catalog as a table for people.
pub fn table(catalog: &Catalog) -> String {
    let mut o = String::new();
    let _ = writeln!(o, "catalog: {}", catalog.file);
    let _ = writeln!(
        o,
        "{:<16} {:>8} {:>8} {:>8} {:>6} {:>6} {:>6} {:>5} {:>6} {:>8} {:>8} {:>6}",
        "id",
        "bf16",
        "fp8",
        "fp4",
        "tdp_w",
        "idle_w",
        "min_w",
        "gamma",
        "host_w",
        "mtbf_h",
        "price",
        "hbm_gb"
    );
    let peak = |x: Option<f64>| x.map_or("-".to_string(), fmt_num);
    for a in &catalog.accelerators {
        let _ = writeln!(
            o,
            "{:<16} {:>8} {:>8} {:>8} {:>6} {:>6} {:>6} {:>5} {:>6} {:>8} {:>8} {:>6}",
            a.id,
            peak(a.peak(Precision::Bf16)),
            peak(a.peak(Precision::Fp8)),
            peak(a.peak(Precision::Fp4)),
            fmt_num(a.tdp_w),
            fmt_num(a.idle_w),
            fmt_num(a.min_power_w),
            fmt_num(a.dvfs_exponent),
            fmt_num(a.host_w),
            fmt_num(a.mtbf_hours),
            fmt_usd(a.price_usd),
            fmt_num(a.hbm_gb),
        );
    }
    let _ = writeln!(
        o,
        "peaks in dense TFLOP/s; sources: clustersweep catalog --json"
    );
    o
}
