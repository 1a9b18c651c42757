//! The tool's own JSON documents read back (checkpoints, shard partials, sweep summaries,
//! bench results): one check that a document is the kind expected, by its `schema` field,
//! and one way of saying what a file is instead (not JSON, another of the tool's documents,
//! a several-scenario array, no `schema` at all), with a hint where an older version of the
//! expected document needs a re-run.

use serde_json::Value;

/// A kind of document as a reader expects it.
#[derive(Clone, Copy, Debug)]
pub struct Kind {
    /// The `schema` value, e.g. `clustersweep.summary/2`.
    pub schema: &'static str,
    /// What it is in words, e.g. `sweep summary`.
    pub what: &'static str,
    /// `(schema, hint)`: what to say when a file has that other schema (an older version).
    pub hints: &'static [(&'static str, &'static str)],
}

impl Kind {
    /// `None` when `doc` has this kind's schema; else what it is instead (`it is a `OTHER`
    /// document`, `it is an array of N documents`, `it has no `schema` field`), with the
    /// hint for that case if there is one.
    pub fn mismatch(&self, doc: &Value) -> Option<String> {
        let found = doc.get("schema").and_then(Value::as_str);
        if found == Some(self.schema) {
            return None;
        }
        let instead = match (found, doc) {
            (Some(other), _) => format!("it is a `{other}` document"),
            (None, Value::Array(a)) => format!("it is an array of {} documents", a.len()),
            (None, Value::Object(_)) => "it has no `schema` field".to_string(),
            (None, _) => "it is not a JSON object".to_string(),
        };
        let hint = self
            .hints
            .iter()
            .find(|(schema, _)| Some(*schema) == found || (*schema == "[]" && doc.is_array()))
            .map(|(_, hint)| format!("; {hint}"))
            .unwrap_or_default();
        Some(format!("{instead}{hint}"))
    }

    /// Parse JSON text and check its schema; the error says only what the text is instead
    /// (`it is not JSON (...)` or as [`Kind::mismatch`]), for a caller that names the
    /// expected document itself.
    pub fn read(&self, text: &str) -> Result<Value, String> {
        let doc: Value = serde_json::from_str(text).map_err(|e| format!("it is not JSON ({e})"))?;
        match self.mismatch(&doc) {
            None => Ok(doc),
            Some(why) => Err(why),
        }
    }

    /// `Ok` when `doc` has this kind's schema; else one line, `not a `SCHEMA` WHAT: ` and
    /// what it is instead.
    pub fn check(&self, doc: &Value) -> Result<(), String> {
        match self.mismatch(doc) {
            None => Ok(()),
            Some(why) => Err(format!("{}: {why}", self.expected())),
        }
    }

    /// [`Kind::read`] with the error a whole line: `not a `SCHEMA` WHAT: ...`.
    pub fn parse(&self, text: &str) -> Result<Value, String> {
        self.read(text)
            .map_err(|why| format!("{}: {why}", self.expected()))
    }

    /// `not a `SCHEMA` WHAT`.
    pub fn expected(&self) -> String {
        format!("not a `{}` {}", self.schema, self.what)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    const SUMMARY: Kind = Kind {
        schema: "clustersweep.summary/2",
        what: "sweep summary",
        hints: &[
            (
                "clustersweep.summary/1",
                "re-run the sweep with this version",
            ),
            ("[]", "give one scenario's summary"),
        ],
    };

    #[test]
    fn says_what_a_file_is_instead() {
        assert!(SUMMARY
            .check(&json!({"schema": "clustersweep.summary/2"}))
            .is_ok());
        let other = SUMMARY.check(&json!({"schema": "clustersweep.partial/1"}));
        assert_eq!(
            other.unwrap_err(),
            "not a `clustersweep.summary/2` sweep summary: it is a `clustersweep.partial/1` document"
        );
        let old = SUMMARY.check(&json!({"schema": "clustersweep.summary/1"}));
        assert!(old.unwrap_err().ends_with(
            "it is a `clustersweep.summary/1` document; re-run the sweep with this version"
        ));
        let array = SUMMARY.check(&json!([{}, {}])).unwrap_err();
        assert!(
            array.ends_with("it is an array of 2 documents; give one scenario's summary"),
            "{array}"
        );
        assert!(SUMMARY
            .check(&json!({"a": 1}))
            .unwrap_err()
            .ends_with("it has no `schema` field"));
        assert!(SUMMARY
            .check(&json!(3))
            .unwrap_err()
            .ends_with("it is not a JSON object"));
        let text = SUMMARY.parse("{").unwrap_err();
        assert!(text.contains("it is not JSON ("), "{text}");
        assert_eq!(text.lines().count(), 1);
    }
}
