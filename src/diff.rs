//! `clustersweep diff OLD.json NEW.json`: what changed between two sweep summaries (inputs,
//! constraints, objective, counts, the best configuration, the group leaders) and whether a
//! `--max-change metric=-2%` limit on the best configuration's metrics was crossed.
//! Reads `clustersweep.summary/2` documents; the `run` object (date, build, timing) is
//! ignored, since it changes on every run.

use serde_json::{json, Value};

/// One limit on the relative change of a metric of `best` (`throughput_pflops=-2%`).
#[derive(Clone, Debug, PartialEq)]
pub struct ChangeLimit {
    pub metric: String,
    /// The limit as a fraction (-0.02 for `-2%`).
    pub fraction: f64,
    /// `-`: only a fall beyond the limit crosses it; `+`: only a rise; none: either way.
    pub sign: Option<char>,
}

/// Parse `METRIC=[+|-]N%`.
pub fn parse_limit(text: &str) -> Result<ChangeLimit, String> {
    let (metric, value) = text
        .split_once('=')
        .ok_or_else(|| format!("`{text}`: expected METRIC=N% (e.g. throughput_pflops=-2%)"))?;
    let metric = metric.trim();
    if crate::model::Metric::from_name(metric).is_none() {
        return Err(format!("`{text}`: unknown metric `{metric}`"));
    }
    let v = value.trim();
    let pct = v
        .strip_suffix('%')
        .ok_or_else(|| format!("`{text}`: the limit must be a percentage, e.g. -2%"))?;
    let sign = pct.chars().next().filter(|c| *c == '+' || *c == '-');
    let x: f64 = pct
        .parse()
        .map_err(|_| format!("`{text}`: `{v}` is not a percentage"))?;
    if !x.is_finite() {
        return Err(format!("`{text}`: the limit must be finite"));
    }
    Ok(ChangeLimit {
        metric: metric.to_string(),
        fraction: x / 100.0,
        sign,
    })
}

/// A limit checked: the old and new values, the relative change and whether it was crossed.
#[derive(Clone, Debug, PartialEq)]
pub struct LimitOutcome {
    pub limit: ChangeLimit,
    pub old: Option<f64>,
    pub new: Option<f64>,
    pub change: Option<f64>,
    pub crossed: bool,
}

/// One difference between the two summaries.
#[derive(Clone, Debug, PartialEq)]
pub struct Change {
    /// What changed: a JSON path (`counts.feasible`, `best.metrics.tco_usd`, `best_by[...]`).
    pub what: String,
    pub old: Value,
    pub new: Value,
    /// Relative change of a number ((new - old) / |old|), where both are numbers.
    pub relative: Option<f64>,
}

/// The whole comparison.
#[derive(Clone, Debug, PartialEq)]
pub struct SummaryDiff {
    pub changes: Vec<Change>,
    pub limits: Vec<LimitOutcome>,
}

impl SummaryDiff {
    /// Whether any limit was crossed (exit 4).
    pub fn crossed(&self) -> bool {
        self.limits.iter().any(|l| l.crossed)
    }
}

/// The summary schema this compares.
pub const SCHEMA: &str = "clustersweep.summary/2";

/// The summary as [`crate::document`] reads it back.
const SUMMARY_DOCUMENT: crate::document::Kind = crate::document::Kind {
    schema: SCHEMA,
    what: "sweep summary",
    hints: &[
        (
            "clustersweep.summary/1",
            "re-run the sweep with this version",
        ),
        (
            "[]",
            "several scenarios, as `sweep A B --json` prints: compare one scenario's summary (`--out DIR` writes DIR/<name>/summary.json)",
        ),
    ],
};

/// Check a document is a summary this can compare; the message says what it is instead.
pub fn check_schema(doc: &Value) -> Result<(), String> {
    SUMMARY_DOCUMENT.check(doc)
}

fn relative(old: &Value, new: &Value) -> Option<f64> {
    let (a, b) = (old.as_f64()?, new.as_f64()?);
    if a == b {
        return Some(0.0);
    }
    (a != 0.0).then(|| (b - a) / a.abs())
}

fn push(changes: &mut Vec<Change>, what: String, old: &Value, new: &Value) {
    if old != new {
        changes.push(Change {
            what,
            old: old.clone(),
            new: new.clone(),
            relative: relative(old, new),
        });
    }
}

/// Every key of two objects (old's order, then new's extra keys).
fn keys_of(a: &Value, b: &Value) -> Vec<String> {
    let mut keys: Vec<String> = a
        .as_object()
        .map(|m| m.keys().cloned().collect())
        .unwrap_or_default();
    if let Some(m) = b.as_object() {
        for k in m.keys() {
            if !keys.contains(k) {
                keys.push(k.clone());
            }
        }
    }
    keys
}

/// Compare field by field, one level down (`prefix.key`).
fn compare_fields(changes: &mut Vec<Change>, prefix: &str, old: &Value, new: &Value) {
    for k in keys_of(old, new) {
        push(
            changes,
            format!("{prefix}.{k}"),
            old.get(&k).unwrap_or(&Value::Null),
            new.get(&k).unwrap_or(&Value::Null),
        );
    }
}

/// Compare two summaries and check the limits.
pub fn diff(old: &Value, new: &Value, limits: &[ChangeLimit]) -> SummaryDiff {
    let mut changes = Vec::new();
    let null = Value::Null;
    let at = |d: &'_ Value, k: &str| d.get(k).cloned().unwrap_or(Value::Null);
    for section in [
        "scenario",
        "catalog",
        "grid",
        "counts",
        "objective",
        "constraints",
    ] {
        compare_fields(&mut changes, section, &at(old, section), &at(new, section));
    }
    let (ob, nb) = (at(old, "best"), at(new, "best"));
    push(
        &mut changes,
        "best.index".into(),
        ob.get("index").unwrap_or(&null),
        nb.get("index").unwrap_or(&null),
    );
    for part in ["params", "metrics"] {
        compare_fields(
            &mut changes,
            &format!("best.{part}"),
            &at(&ob, part),
            &at(&nb, part),
        );
    }
    // Leaders by group: matched by their group values.
    let leaders = |d: &Value| -> Vec<(String, Value)> {
        d.get("best_by")
            .and_then(Value::as_array)
            .map(|a| {
                a.iter()
                    .map(|g| (at(g, "group").to_string(), g.clone()))
                    .collect()
            })
            .unwrap_or_default()
    };
    let (ol, nl) = (leaders(old), leaders(new));
    let objective = old
        .pointer("/objective/metric")
        .and_then(Value::as_str)
        .unwrap_or("throughput_pflops")
        .to_string();
    let mut groups: Vec<&String> = ol.iter().map(|(k, _)| k).collect();
    for (k, _) in &nl {
        if !groups.contains(&k) {
            groups.push(k);
        }
    }
    for g in groups {
        let find = |l: &[(String, Value)]| l.iter().find(|(k, _)| k == g).map(|(_, v)| v.clone());
        let (o, n) = (find(&ol), find(&nl));
        let pick = |v: &Option<Value>, path: &str| {
            v.as_ref()
                .and_then(|x| x.pointer(path).cloned())
                .unwrap_or(Value::Null)
        };
        push(
            &mut changes,
            format!("best_by[{g}].index"),
            &pick(&o, "/index"),
            &pick(&n, "/index"),
        );
        push(
            &mut changes,
            format!("best_by[{g}].feasible"),
            &pick(&o, "/feasible"),
            &pick(&n, "/feasible"),
        );
        let m = format!("/metrics/{objective}");
        push(
            &mut changes,
            format!("best_by[{g}].metrics.{objective}"),
            &pick(&o, &m),
            &pick(&n, &m),
        );
    }
    push(
        &mut changes,
        "pareto.len".into(),
        &json!(at(old, "pareto").as_array().map_or(0, Vec::len)),
        &json!(at(new, "pareto").as_array().map_or(0, Vec::len)),
    );
    let limits = limits
        .iter()
        .map(|l| {
            let get = |b: &Value| {
                b.get("metrics")
                    .and_then(|m| m.get(&l.metric))
                    .and_then(Value::as_f64)
            };
            let (o, n) = (get(&ob), get(&nb));
            let change = match (o, n) {
                (Some(a), Some(b)) => relative(&json!(a), &json!(b)),
                _ => None,
            };
            let crossed = match change {
                // Either best missing, or a change from 0: the limit cannot be shown to hold.
                None => true,
                Some(c) => match l.sign {
                    Some('-') => c < l.fraction,
                    Some('+') => c > l.fraction,
                    _ => c.abs() > l.fraction.abs(),
                },
            };
            LimitOutcome {
                limit: l.clone(),
                old: o,
                new: n,
                change,
                crossed,
            }
        })
        .collect();
    SummaryDiff { changes, limits }
}

fn show(v: &Value) -> String {
    match v {
        Value::Number(n) => n.as_f64().map_or(n.to_string(), crate::format::fmt_num),
        Value::String(s) => s.clone(),
        Value::Null => "-".into(),
        other => other.to_string(),
    }
}

fn pct(x: Option<f64>) -> String {
    x.map_or(String::new(), |c| format!("{:+.2}%", c * 100.0))
}

fn limit_text(l: &LimitOutcome) -> String {
    format!(
        "{} {}={}{}%: {} -> {} ({})",
        if l.crossed { "CROSSED" } else { "ok" },
        l.limit.metric,
        l.limit.sign.map_or(String::new(), |c| c.to_string()),
        crate::format::fmt_num(l.limit.fraction.abs() * 100.0),
        l.old.map_or("-".into(), crate::format::fmt_num),
        l.new.map_or("-".into(), crate::format::fmt_num),
        l.change
            .map_or("no change computable".into(), |c| pct(Some(c))),
    )
}

/// The comparison for people.
pub fn text(d: &SummaryDiff) -> String {
    let mut o = String::new();
    if d.changes.is_empty() {
        o.push_str("no changes (ignoring run)\n");
    }
    for c in &d.changes {
        o.push_str(&format!(
            "{}: {} -> {} {}\n",
            c.what,
            show(&c.old),
            show(&c.new),
            pct(c.relative)
        ));
    }
    for l in &d.limits {
        o.push_str(&format!("limit {}\n", limit_text(l)));
    }
    o
}

/// The comparison as a markdown table (for a CI step summary).
pub fn markdown(d: &SummaryDiff) -> String {
    let mut o = String::from("| field | old | new | change |\n|---|---|---|---|\n");
    for c in &d.changes {
        o.push_str(&format!(
            "| `{}` | {} | {} | {} |\n",
            c.what,
            show(&c.old).replace('|', "\\|"),
            show(&c.new).replace('|', "\\|"),
            pct(c.relative)
        ));
    }
    if d.changes.is_empty() {
        o.push_str("| (no changes) | | | |\n");
    }
    for l in &d.limits {
        o.push_str(&format!("\n- limit {}\n", limit_text(l)));
    }
    o
}

/// The comparison as JSON.
pub fn to_json(d: &SummaryDiff) -> Value {
    json!({
        "schema": "clustersweep.diff/1",
        "changes": d.changes.iter().map(|c| json!({"what": c.what, "old": c.old, "new": c.new, "relative": c.relative})).collect::<Vec<_>>(),
        "limits": d.limits.iter().map(|l| json!({
            "metric": l.limit.metric,
            "fraction": l.limit.fraction,
            "sign": l.limit.sign.map(String::from),
            "old": l.old, "new": l.new, "change": l.change, "crossed": l.crossed,
        })).collect::<Vec<_>>(),
        "crossed": d.crossed(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn doc(tput: f64, feasible: u64, best_index: u64) -> Value {
        json!({
            "schema": SCHEMA,
            "scenario": {"name": "x", "sha256": "aa"},
            "counts": {"evaluated": 10, "feasible": feasible},
            "objective": {"metric": "throughput_pflops", "sense": "max"},
            "constraints": {},
            "best": {"index": best_index, "params": {"gpu_count": 5}, "metrics": {"throughput_pflops": tput}},
            "best_by": [{"group": {"accelerator": "B200"}, "index": best_index, "metrics": {"throughput_pflops": tput}}],
            "pareto": [],
            "run": {"date": "whenever"},
        })
    }

    #[test]
    fn limits_parse() {
        let l = parse_limit("throughput_pflops=-2%").unwrap();
        assert_eq!((l.fraction, l.sign), (-0.02, Some('-')));
        let l = parse_limit("tco_usd=5%").unwrap();
        assert_eq!((l.fraction, l.sign), (0.05, None));
        assert!(parse_limit("tco_usd=5").unwrap_err().contains("percentage"));
        assert!(parse_limit("tco=5%")
            .unwrap_err()
            .contains("unknown metric"));
        assert!(parse_limit("tco_usd").unwrap_err().contains("METRIC=N%"));
    }

    #[test]
    fn same_documents_differ_only_in_run_and_limits_hold() {
        let a = doc(100.0, 4, 7);
        let mut b = a.clone();
        b["run"]["date"] = json!("later");
        let limits = [parse_limit("throughput_pflops=-2%").unwrap()];
        let d = diff(&a, &b, &limits);
        assert!(d.changes.is_empty(), "{:?}", d.changes);
        assert!(!d.crossed());
        assert_eq!(d.limits[0].change, Some(0.0));
    }

    #[test]
    fn a_fall_beyond_the_limit_crosses_it_and_changes_are_listed() {
        let a = doc(100.0, 4, 7);
        let b = doc(97.0, 3, 8);
        let fall = [parse_limit("throughput_pflops=-2%").unwrap()];
        let d = diff(&a, &b, &fall);
        assert!(d.crossed());
        assert!((d.limits[0].change.unwrap() + 0.03).abs() < 1e-12);
        let whats: Vec<&str> = d.changes.iter().map(|c| c.what.as_str()).collect();
        assert!(whats.contains(&"counts.feasible"), "{whats:?}");
        assert!(whats.contains(&"best.index"), "{whats:?}");
        assert!(
            whats.contains(&"best.metrics.throughput_pflops"),
            "{whats:?}"
        );
        assert!(whats.iter().any(|w| w.starts_with("best_by[")), "{whats:?}");
        // -3% is within a 5% limit either way, and a rise limit ignores falls.
        assert!(!diff(&a, &b, &[parse_limit("throughput_pflops=5%").unwrap()]).crossed());
        assert!(!diff(&a, &b, &[parse_limit("throughput_pflops=+1%").unwrap()]).crossed());
        // No best on one side: the limit cannot hold.
        let mut none = doc(0.0, 0, 0);
        none["best"] = Value::Null;
        assert!(diff(&a, &none, &fall).crossed());
        assert!(text(&d).contains("limit CROSSED throughput_pflops=-2%: 100 -> 97 (-3.00%)"));
        assert!(markdown(&d).contains("| `counts.feasible` | 4 | 3 | -25.00% |"));
        assert_eq!(to_json(&d)["crossed"], true);
    }

    #[test]
    fn other_documents_are_named() {
        assert!(check_schema(&json!({"schema": "clustersweep.bench/1"}))
            .unwrap_err()
            .contains("a `clustersweep.bench/1` document"));
        assert!(check_schema(&json!({"a": 1}))
            .unwrap_err()
            .contains("no `schema`"));
        assert!(check_schema(&json!([{}, {}]))
            .unwrap_err()
            .contains("an array of 2 documents"));
        assert!(check_schema(&doc(1.0, 1, 1)).is_ok());
    }
}
