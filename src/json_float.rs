//! Serde helpers for `f64` fields that may hold infinities or NaN (an empty minimum is
//! `+inf`), for documents that must read back exactly what was written (shard partials,
//! checkpoints). JSON has no such numbers and serde_json writes them as `null`, which then
//! does not read back; here a finite value is a JSON number (shortest round-trip text) and a
//! non-finite one is the string `"inf"`, `"-inf"` or `"nan"`.
//!
//! Use with `#[serde(with = "crate::json_float")]` on an `f64` field.

use serde::{Deserialize, Deserializer, Serializer};

/// Write a finite value as a number, a non-finite one as text.
pub fn serialize<S: Serializer>(x: &f64, s: S) -> Result<S::Ok, S::Error> {
    if x.is_finite() {
        s.serialize_f64(*x)
    } else if x.is_nan() {
        s.serialize_str("nan")
    } else if *x > 0.0 {
        s.serialize_str("inf")
    } else {
        s.serialize_str("-inf")
    }
}

#[derive(Deserialize)]
#[serde(untagged)]
enum NumberOrText {
    Number(f64),
    Text(String),
}

/// Read a number, or one of the texts `inf`, `-inf`, `nan`.
pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<f64, D::Error> {
    match NumberOrText::deserialize(d)? {
        NumberOrText::Number(x) => Ok(x),
        NumberOrText::Text(t) => match t.as_str() {
            "inf" => Ok(f64::INFINITY),
            "-inf" => Ok(f64::NEG_INFINITY),
            "nan" => Ok(f64::NAN),
            other => Err(serde::de::Error::custom(format!(
                "expected a number, \"inf\", \"-inf\" or \"nan\", found \"{other}\""
            ))),
        },
    }
}

#[cfg(test)]
mod tests {
    #[derive(serde::Serialize, serde::Deserialize, Debug)]
    struct X {
        #[serde(with = "super")]
        v: f64,
    }

    #[test]
    fn every_kind_of_value_reads_back() {
        for v in [0.0, -0.0, 1.5e-308, 1e308, f64::INFINITY, f64::NEG_INFINITY] {
            let text = serde_json::to_string(&X { v }).unwrap();
            let back: X = serde_json::from_str(&text).unwrap();
            assert_eq!(back.v.to_bits(), v.to_bits(), "{text}");
        }
        let nan: X =
            serde_json::from_str(&serde_json::to_string(&X { v: f64::NAN }).unwrap()).unwrap();
        assert!(nan.v.is_nan());
        assert!(serde_json::from_str::<X>(r#"{"v": "lots"}"#).is_err());
    }
}
