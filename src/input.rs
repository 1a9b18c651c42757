//! Reading TOML input with positions: the [`InputError`] every user-facing input problem
//! becomes (file, line:column, key, reason), and typed accessors over spanned TOML values.
//! Scenario and catalog parsing are built on these so every message has the same shape.

use std::fmt;
use std::ops::Range;
use toml::de::{DeTable, DeValue};
use toml::Spanned;

/// A problem with user input: names the file, the position where known, the key and why.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub struct InputError {
    pub file: String,
    /// 1-based line and column.
    pub position: Option<(usize, usize)>,
    /// Dotted key, e.g. `axes.gpu_count`.
    pub key: Option<String>,
    pub reason: String,
}

impl fmt::Display for InputError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.file)?;
        if let Some((line, col)) = self.position {
            write!(f, ":{line}:{col}")?;
        }
        f.write_str(": ")?;
        if let Some(key) = &self.key {
            write!(f, "`{key}`: ")?;
        }
        f.write_str(&self.reason)
    }
}

impl InputError {
    /// An error about a whole file (missing, unreadable).
    pub fn file(file: &str, reason: impl Into<String>) -> Self {
        InputError {
            file: file.to_string(),
            position: None,
            key: None,
            reason: reason.into(),
        }
    }
}

/// A TOML document being read: its name (for messages) and text (for positions).
pub struct Doc<'a> {
    pub file: &'a str,
    pub text: &'a str,
}

/// A spanned TOML value.
pub type Value<'i> = Spanned<DeValue<'i>>;
/// A TOML table with spanned keys and values.
pub type Table<'i> = DeTable<'i>;

impl<'a> Doc<'a> {
    /// Parse the text into a table, or report the parser's error with its position.
    pub fn parse(&self) -> Result<Table<'a>, InputError> {
        match DeTable::parse(self.text) {
            Ok(t) => Ok(t.into_inner()),
            Err(e) => {
                let message = e.message().trim();
                // The parser's "duplicate key" names no key: it is the text at the span.
                let key = e
                    .span()
                    .filter(|_| message.starts_with("duplicate"))
                    .and_then(|s| self.text.get(s))
                    .map(|k| k.trim().trim_matches(|c| c == '[' || c == ']').trim())
                    .filter(|k| !k.is_empty())
                    .map(str::to_string);
                Err(InputError {
                    file: self.file.to_string(),
                    position: e.span().map(|s| self.line_col(s.start)),
                    reason: match &key {
                        Some(k) => format!("invalid TOML: {message} `{k}`"),
                        None => format!("invalid TOML: {message}"),
                    },
                    key,
                })
            }
        }
    }

    /// 1-based line and column of a byte offset.
    pub fn line_col(&self, offset: usize) -> (usize, usize) {
        let offset = offset.min(self.text.len());
        let before = &self.text[..offset];
        let line = before.matches('\n').count() + 1;
        let col = before.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
        (line, col)
    }

    /// An error at a span, about a key.
    pub fn error(&self, span: Range<usize>, key: &str, reason: impl Into<String>) -> InputError {
        InputError {
            file: self.file.to_string(),
            position: Some(self.line_col(span.start)),
            key: Some(key.to_string()),
            reason: reason.into(),
        }
    }

    /// An error about a key with no position (e.g. a required key that is missing).
    pub fn error_no_pos(&self, key: &str, reason: impl Into<String>) -> InputError {
        InputError {
            file: self.file.to_string(),
            position: None,
            key: Some(key.to_string()),
            reason: reason.into(),
        }
    }

    /// The value as a number (integer or float).
    pub fn number(&self, v: &Value<'_>, key: &str) -> Result<f64, InputError> {
        let x = match v.get_ref() {
            DeValue::Integer(i) => i64::from_str_radix(i.as_str(), i.radix())
                .map(|x| x as f64)
                .map_err(|_| self.error(v.span(), key, "integer out of range"))?,
            DeValue::Float(f) => f
                .as_str()
                .parse::<f64>()
                .map_err(|_| self.error(v.span(), key, "unreadable float"))?,
            other => {
                return Err(self.error(
                    v.span(),
                    key,
                    format!("expected a number, found {}", other.type_str()),
                ))
            }
        };
        if x.is_nan() {
            return Err(self.error(v.span(), key, "expected a number, found nan"));
        }
        Ok(x)
    }

    /// The value as a string.
    pub fn string<'v>(&self, v: &'v Value<'_>, key: &str) -> Result<&'v str, InputError> {
        v.get_ref().as_str().ok_or_else(|| {
            self.error(
                v.span(),
                key,
                format!("expected a string, found {}", v.get_ref().type_str()),
            )
        })
    }

    /// The value as a table.
    pub fn table<'v, 'i>(&self, v: &'v Value<'i>, key: &str) -> Result<&'v Table<'i>, InputError> {
        v.get_ref().as_table().ok_or_else(|| {
            self.error(
                v.span(),
                key,
                format!("expected a table, found {}", v.get_ref().type_str()),
            )
        })
    }

    /// Reject keys of `table` that are not in `allowed`, naming them and the allowed set.
    pub fn only_keys(
        &self,
        table: &Table<'_>,
        prefix: &str,
        allowed: &[&str],
    ) -> Result<(), InputError> {
        for (k, _) in table.iter() {
            if !allowed.contains(&k.get_ref().as_ref()) {
                return Err(self.error(
                    k.span(),
                    &join_key(prefix, k.get_ref()),
                    format!("unknown key; expected one of: {}", allowed.join(", ")),
                ));
            }
        }
        Ok(())
    }
}

/// `prefix.key`, or `key` when the prefix is empty.
pub fn join_key(prefix: &str, key: &str) -> String {
    if prefix.is_empty() {
        key.to_string()
    } else {
        format!("{prefix}.{key}")
    }
}

/// Look a key up in a table, returning the spanned key and the value.
pub fn get<'t, 'i>(table: &'t Table<'i>, key: &str) -> Option<&'t Value<'i>> {
    table
        .iter()
        .find(|(k, _)| k.get_ref().as_ref() == key)
        .map(|(_, v)| v)
}

/// Largest scenario or catalog file read (bytes): far above any real one (the built-in
/// catalog is under 100 KiB), far below what could exhaust memory.
pub const MAX_TOML_BYTES: u64 = 4 << 20;

/// Read a whole input file as UTF-8 text, refusing what is not a regular file (a FIFO would
/// hang, `/dev/zero` would never end) and anything over `limit` bytes. Invalid UTF-8 is
/// reported at its line:column. `what` names the kind of file in messages.
pub fn read_text_file(
    path: &std::path::Path,
    what: &str,
    limit: u64,
) -> Result<String, InputError> {
    use std::io::Read;
    let name = path.display().to_string();
    let fail = |reason: String| InputError::file(&name, reason);
    // Opening a FIFO for reading blocks until a writer comes: look before opening.
    let meta = std::fs::metadata(path).map_err(|e| fail(format!("cannot read {what}: {e}")))?;
    if !meta.is_file() {
        return Err(fail(format!("cannot read {what}: not a regular file")));
    }
    let file = std::fs::File::open(path).map_err(|e| fail(format!("cannot read {what}: {e}")))?;
    let mut bytes = Vec::new();
    file.take(limit + 1)
        .read_to_end(&mut bytes)
        .map_err(|e| fail(format!("cannot read {what}: {e}")))?;
    if bytes.len() as u64 > limit {
        return Err(fail(format!(
            "{what} is larger than {limit} bytes; refusing to read it"
        )));
    }
    String::from_utf8(bytes).map_err(|e| {
        let good = &e.as_bytes()[..e.utf8_error().valid_up_to()];
        // The valid prefix is UTF-8 by definition.
        let before = std::str::from_utf8(good).unwrap_or_default();
        let doc = Doc {
            file: &name,
            text: before,
        };
        InputError {
            file: name.clone(),
            position: Some(doc.line_col(before.len())),
            key: None,
            reason: format!("invalid UTF-8 in {what}"),
        }
    })
}
