//! Checks a run must pass (`sweep --check 'PATH OP VALUE'`, `--require-feasible`, a
//! scenario's `[checks]` table): parsing them, with line:column errors for the scenario
//! table, and evaluating them against the JSON summary, where PATH is any numeric field's
//! dotted JSON path. A failed check is not an error of the run: the CLI exits 4.

use crate::input::{get, join_key, Doc, InputError, Table, Value};
use serde_json::Value as Json;

/// A comparison of a check.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CheckOp {
    Ge,
    Le,
    Gt,
    Lt,
    Eq,
    Ne,
}

impl CheckOp {
    /// Operators, longest first (so `>=` is found before `>`).
    const ALL: [(&'static str, CheckOp); 6] = [
        (">=", CheckOp::Ge),
        ("<=", CheckOp::Le),
        ("==", CheckOp::Eq),
        ("!=", CheckOp::Ne),
        (">", CheckOp::Gt),
        ("<", CheckOp::Lt),
    ];

    /// The operator as written.
    pub fn symbol(self) -> &'static str {
        CheckOp::ALL
            .iter()
            .find(|(_, op)| *op == self)
            .map_or("?", |(s, _)| s)
    }

    /// Whether `value OP bound` holds.
    pub fn holds(self, value: f64, bound: f64) -> bool {
        match self {
            CheckOp::Ge => value >= bound,
            CheckOp::Le => value <= bound,
            CheckOp::Gt => value > bound,
            CheckOp::Lt => value < bound,
            CheckOp::Eq => value == bound,
            CheckOp::Ne => value != bound,
        }
    }
}

/// One check: a summary field, a comparison and a bound.
#[derive(Clone, Debug, PartialEq)]
pub struct Check {
    /// Dotted JSON path into the summary (`best.throughput_pflops`, `counts.feasible`,
    /// `stats.tco_usd.min`, `pareto.0.facility_mw`).
    pub path: String,
    pub op: CheckOp,
    pub bound: f64,
    /// Where the check came from (`--check`, or `FILE:LINE:COL checks.KEY`).
    pub origin: String,
}

impl std::fmt::Display for Check {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{} {} {}",
            self.path,
            self.op.symbol(),
            // Plain digits (no separators), so the check reads as it is written.
            self.bound
        )
    }
}

/// The checks of a run: field checks and whether at least one feasible configuration is
/// required.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct CheckSet {
    pub checks: Vec<Check>,
    pub require_feasible: bool,
}

impl CheckSet {
    /// Whether there is nothing to check.
    pub fn is_empty(&self) -> bool {
        self.checks.is_empty() && !self.require_feasible
    }

    /// Both sets' checks; feasibility required if either requires it.
    pub fn merged(&self, other: &CheckSet) -> CheckSet {
        CheckSet {
            checks: self.checks.iter().chain(&other.checks).cloned().collect(),
            require_feasible: self.require_feasible || other.require_feasible,
        }
    }
}

/// Whether a path is well formed: dot-separated segments of letters, digits and `_`.
fn valid_path(path: &str) -> bool {
    !path.is_empty()
        && path.split('.').all(|seg| {
            !seg.is_empty() && seg.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
        })
}

/// Parse `OP VALUE` (e.g. `>= 3e5`).
fn parse_comparison(text: &str) -> Result<(CheckOp, f64), String> {
    let t = text.trim();
    let (op, rest) = CheckOp::ALL
        .iter()
        .find_map(|(s, op)| t.strip_prefix(s).map(|rest| (*op, rest)))
        .ok_or_else(|| {
            format!("`{t}`: expected an operator (>=, <=, >, <, ==, !=) and a number")
        })?;
    let number = rest.trim().replace('_', "");
    let bound: f64 = number
        .parse()
        .map_err(|_| format!("`{t}`: `{}` is not a number", rest.trim()))?;
    if !bound.is_finite() {
        return Err(format!("`{t}`: the bound must be a finite number"));
    }
    Ok((op, bound))
}

/// Parse a `--check` argument: `PATH OP VALUE`.
pub fn parse_check(text: &str) -> Result<Check, String> {
    let at = text
        .find(['<', '>', '=', '!'])
        .ok_or_else(|| format!("`{text}`: expected PATH OP VALUE, e.g. `best.tco_usd <= 38e9`"))?;
    let path = text[..at].trim();
    if !valid_path(path) {
        return Err(format!(
            "`{text}`: `{path}` is not a JSON path (dot-separated names or indices, e.g. best.throughput_pflops)"
        ));
    }
    let (op, bound) = parse_comparison(&text[at..])?;
    Ok(Check {
        path: path.to_string(),
        op,
        bound,
        origin: "--check".into(),
    })
}

/// Parse a scenario's `[checks]` table, if any:
///
/// ```toml
/// [checks]
/// require_feasible = true
/// "best.throughput_pflops" = ">= 300000"
/// "best.tco_usd" = [">= 1e9", "<= 38e9"]
/// ```
pub fn parse_checks_table(doc: &Doc<'_>, top: &Table<'_>) -> Result<CheckSet, InputError> {
    let mut set = CheckSet::default();
    let Some(v) = get(top, "checks") else {
        return Ok(set);
    };
    for (k, cv) in doc.table(v, "checks")?.iter() {
        let name = k.get_ref().as_ref();
        let key = join_key("checks", name);
        if name == "require_feasible" {
            set.require_feasible = cv.get_ref().as_bool().ok_or_else(|| {
                doc.error(
                    cv.span(),
                    &key,
                    format!("expected true or false, found {}", cv.get_ref().type_str()),
                )
            })?;
            continue;
        }
        if !valid_path(name) {
            return Err(doc.error(
                k.span(),
                &key,
                "not a JSON path of the summary (dot-separated names or indices, e.g. \"best.throughput_pflops\"), nor require_feasible",
            ));
        }
        let items: Vec<&Value<'_>> = match cv.get_ref().as_array() {
            Some(list) => list.iter().collect(),
            None => vec![cv],
        };
        for item in items {
            let text = doc.string(item, &key)?;
            let (op, bound) =
                parse_comparison(text).map_err(|reason| doc.error(item.span(), &key, reason))?;
            let (line, col) = doc.line_col(item.span().start);
            set.checks.push(Check {
                path: name.to_string(),
                op,
                bound,
                origin: format!("{}:{line}:{col} `{key}`", doc.file),
            });
        }
    }
    Ok(set)
}

/// What a path found in the summary.
#[derive(Clone, Debug, PartialEq)]
pub enum Found {
    Number(f64),
    /// The field or one above it is null (e.g. `best` when nothing is feasible).
    Null,
    /// The field does not exist in the summary; the text says where the path broke off.
    Missing(String),
    /// The field is not a number (its JSON type).
    NotNumber(&'static str),
}

fn json_type(v: &Json) -> &'static str {
    match v {
        Json::Null => "null",
        Json::Bool(_) => "a boolean",
        Json::Number(_) => "a number",
        Json::String(_) => "a string",
        Json::Array(_) => "an array",
        Json::Object(_) => "an object",
    }
}

/// Look a dotted path up in a JSON document. An object that lacks a name but holds it under
/// `metrics`, `params` or `run` resolves it there, so `best.tco_usd` is
/// `best.metrics.tco_usd`.
pub fn lookup(doc: &Json, path: &str) -> Found {
    let mut at = doc;
    let mut walked = String::new();
    for seg in path.split('.') {
        let next = match at {
            Json::Null => return Found::Null,
            Json::Object(m) => m.get(seg).or_else(|| {
                ["metrics", "params", "run"]
                    .iter()
                    .find_map(|inner| m.get(*inner).and_then(|v| v.get(seg)))
            }),
            Json::Array(a) => seg.parse::<usize>().ok().and_then(|i| a.get(i)),
            _ => None,
        };
        let Some(next) = next else {
            let keys = match at {
                Json::Object(m) => format!(
                    "; it has: {}",
                    m.keys().cloned().collect::<Vec<_>>().join(", ")
                ),
                Json::Array(a) => format!("; it is an array of {}", a.len()),
                _ => String::new(),
            };
            let place = if walked.is_empty() {
                "the summary".to_string()
            } else {
                format!("`{walked}`")
            };
            return Found::Missing(format!("{place} has no `{seg}`{keys}"));
        };
        walked = join_key(&walked, seg);
        at = next;
    }
    match at {
        Json::Null => Found::Null,
        Json::Number(n) => n.as_f64().map_or(Found::Null, Found::Number),
        Json::Bool(b) => Found::Number(f64::from(u8::from(*b))),
        other => Found::NotNumber(json_type(other)),
    }
}

/// The outcome of one check.
#[derive(Clone, Debug, PartialEq)]
pub struct CheckOutcome {
    pub check: Check,
    /// The value found (`None` when the field is null).
    pub value: Option<f64>,
    pub pass: bool,
}

impl CheckOutcome {
    /// One line for people: `PASS`/`FAIL`, the check, the value and where it came from.
    pub fn line(&self) -> String {
        let value = self
            .value
            .map_or("null".to_string(), crate::format::fmt_num);
        format!(
            "{} {} (value {value}, bound {}; {})",
            if self.pass { "pass" } else { "FAIL" },
            self.check,
            crate::format::fmt_num(self.check.bound),
            self.check.origin
        )
    }
}

/// A check whose path does not name a numeric field of the summary (bad input).
#[derive(Clone, Debug, PartialEq, thiserror::Error)]
#[error("check `{check}` ({origin}): {reason}")]
pub struct CheckPathError {
    pub check: String,
    pub origin: String,
    pub reason: String,
}

/// The path `--require-feasible` checks.
pub const FEASIBLE_PATH: &str = "counts.feasible";

/// Evaluate every check against a summary document. A null value fails its check; a path
/// that is not in the summary, or not a number, is an error.
pub fn evaluate(set: &CheckSet, summary: &Json) -> Result<Vec<CheckOutcome>, CheckPathError> {
    let mut all = Vec::new();
    if set.require_feasible {
        all.push(Check {
            path: FEASIBLE_PATH.into(),
            op: CheckOp::Ge,
            bound: 1.0,
            origin: "require_feasible".into(),
        });
    }
    all.extend(set.checks.iter().cloned());
    all.into_iter()
        .map(|check| {
            let err = |reason: String| CheckPathError {
                check: check.to_string(),
                origin: check.origin.clone(),
                reason,
            };
            let value = match lookup(summary, &check.path) {
                Found::Number(x) => Some(x),
                Found::Null => None,
                Found::Missing(why) => return Err(err(why)),
                Found::NotNumber(t) => return Err(err(format!("the field is {t}, not a number"))),
            };
            let pass = value.is_some_and(|x| check.op.holds(x, check.bound));
            Ok(CheckOutcome { check, value, pass })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn parses_paths_operators_and_numbers() {
        let c = parse_check("best.throughput_pflops >= 300000").unwrap();
        assert_eq!(c.path, "best.throughput_pflops");
        assert_eq!(c.op, CheckOp::Ge);
        assert_eq!(c.bound, 300000.0);
        let c = parse_check("best.tco_usd<=38e9").unwrap();
        assert_eq!((c.op, c.bound), (CheckOp::Le, 38e9));
        let c = parse_check("counts.feasible > 1_000").unwrap();
        assert_eq!((c.op, c.bound), (CheckOp::Gt, 1000.0));
        for (text, needle) in [
            ("best.tco_usd", "expected PATH OP VALUE"),
            ("best..x >= 1", "not a JSON path"),
            (">= 1", "not a JSON path"),
            ("best.x >= lots", "`lots` is not a number"),
            ("best.x => 1", "expected an operator"),
            ("best.x >= inf", "finite"),
        ] {
            let e = parse_check(text).unwrap_err();
            assert!(e.contains(needle), "{text}: {e}");
        }
    }

    #[test]
    fn operators_compare_as_written() {
        assert!(CheckOp::Ge.holds(2.0, 2.0) && !CheckOp::Gt.holds(2.0, 2.0));
        assert!(CheckOp::Le.holds(2.0, 2.0) && !CheckOp::Lt.holds(2.0, 2.0));
        assert!(CheckOp::Eq.holds(2.0, 2.0) && !CheckOp::Ne.holds(2.0, 2.0));
        assert!(CheckOp::Lt.holds(1.0, 2.0) && CheckOp::Ne.holds(1.0, 2.0));
    }

    #[test]
    fn lookup_descends_objects_arrays_and_metrics() {
        let doc = json!({
            "best": {"index": 3, "metrics": {"tco_usd": 5.0}, "params": {"gpu_count": 10}},
            "counts": {"feasible": 0},
            "pareto": [{"metrics": {"facility_mw": 7.5}}],
            "none": null,
            "scenario": {"name": "x"},
        });
        assert_eq!(lookup(&doc, "best.tco_usd"), Found::Number(5.0));
        assert_eq!(lookup(&doc, "best.metrics.tco_usd"), Found::Number(5.0));
        assert_eq!(lookup(&doc, "best.gpu_count"), Found::Number(10.0));
        assert_eq!(lookup(&doc, "pareto.0.facility_mw"), Found::Number(7.5));
        assert_eq!(lookup(&doc, "none.tco_usd"), Found::Null);
        assert_eq!(lookup(&doc, "scenario.name"), Found::NotNumber("a string"));
        match lookup(&doc, "best.nope") {
            Found::Missing(m) => assert!(m.contains("`best` has no `nope`"), "{m}"),
            other => panic!("{other:?}"),
        }
        assert!(matches!(lookup(&doc, "pareto.4.x"), Found::Missing(_)));
    }

    #[test]
    fn evaluation_fails_on_bounds_and_nulls_and_errors_on_unknown_paths() {
        let doc =
            json!({"best": null, "counts": {"feasible": 0}, "stats": {"tco_usd": {"min": 3.0}}});
        let set = CheckSet {
            checks: vec![
                parse_check("stats.tco_usd.min <= 3").unwrap(),
                parse_check("stats.tco_usd.min < 3").unwrap(),
                parse_check("best.tco_usd <= 1e12").unwrap(),
            ],
            require_feasible: true,
        };
        let out = evaluate(&set, &doc).unwrap();
        let passes: Vec<bool> = out.iter().map(|o| o.pass).collect();
        assert_eq!(passes, [false, true, false, false]);
        assert_eq!(out[0].check.path, FEASIBLE_PATH);
        assert_eq!(out[3].value, None);
        assert!(out[2]
            .line()
            .starts_with("FAIL stats.tco_usd.min < 3 (value 3"));
        let bad = CheckSet {
            checks: vec![parse_check("counts.feasable >= 1").unwrap()],
            require_feasible: false,
        };
        let e = evaluate(&bad, &doc).unwrap_err();
        assert!(e.to_string().contains("`counts` has no `feasable`"), "{e}");
    }

    #[test]
    fn scenario_table_with_positions() {
        let text = "[checks]\nrequire_feasible = true\n\"best.tco_usd\" = [\">= 1\", \"<= 38e9\"]\n\"counts.feasible\" = \"> 10\"\n";
        let doc = Doc {
            file: "s.toml",
            text,
        };
        let top = doc.parse().unwrap();
        let set = parse_checks_table(&doc, &top).unwrap();
        assert!(set.require_feasible);
        assert_eq!(set.checks.len(), 3);
        assert_eq!(set.checks[1].bound, 38e9);
        assert_eq!(set.checks[1].origin, "s.toml:3:27 `checks.best.tco_usd`");
        for (text, message) in [
            (
                "[checks]\n\"best.x\" = \"about 3\"\n",
                "s.toml:2:12: `checks.best.x`: `about 3`: expected an operator",
            ),
            (
                "[checks]\nrequire_feasible = 1\n",
                "s.toml:2:20: `checks.require_feasible`: expected true or false, found integer",
            ),
            (
                "[checks]\n\"best x\" = \">= 1\"\n",
                "s.toml:2:1: `checks.best x`: not a JSON path",
            ),
            (
                "[checks]\n\"best.x\" = 3\n",
                "s.toml:2:12: `checks.best.x`: expected a string",
            ),
        ] {
            let doc = Doc {
                file: "s.toml",
                text,
            };
            let top = doc.parse().unwrap();
            let e = parse_checks_table(&doc, &top).unwrap_err().to_string();
            assert!(e.starts_with(message), "{e}\n  expected: {message}");
        }
    }
}
