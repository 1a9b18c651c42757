//! The backtest output (`clustersweep validate`): one row per compared quantity (published
//! and predicted values, relative error, tolerance, pass or FAIL, source) and a pass/fail
//! count for people, and the JSON document of the cases.

use super::json::num;
use crate::format::fmt_num;
use crate::validate::CaseResult;
use serde_json::Value;
use std::fmt::Write;

/// The `validate --json` document.
pub fn json(results: &[CaseResult]) -> Value {
    let cases: Vec<Value> = results
        .iter()
        .map(|r| {
            serde_json::json!({
                "name": r.name, "quantity": r.quantity, "published": num(r.published),
                "predicted": num(r.predicted), "error": num(r.error),
                "tolerance": r.tolerance, "pass": r.pass, "source": r.source,
            })
        })
        .collect();
    serde_json::json!({ "cases": cases })
}

/// The results as a table for people, ending with the pass/fail count.
pub fn table(results: &[CaseResult]) -> String {
    let failed = results.iter().filter(|r| !r.pass).count();
    let mut o = String::new();
    let _ = writeln!(
        o,
        "{:<16} {:<18} {:>14} {:>14} {:>8} {:>6}  {:<4}  source",
        "case", "quantity", "published", "predicted", "error", "tol", ""
    );
    for r in results {
        let _ = writeln!(
            o,
            "{:<16} {:<18} {:>14} {:>14} {:>+7.1}% {:>5.0}%  {:<4}  {}",
            r.name,
            r.quantity,
            fmt_num(r.published),
            fmt_num(r.predicted),
            r.error * 100.0,
            r.tolerance * 100.0,
            if r.pass { "pass" } else { "FAIL" },
            r.source
        );
    }
    let _ = writeln!(o, "{} passed, {} failed", results.len() - failed, failed);
    o
}
