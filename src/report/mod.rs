//! Reports: one module per output format (human table, JSON, CSV) over a
//! [`Summary`](crate::summary::Summary) or a single [`Reported`](crate::summary::Reported)
//! configuration, and writing files atomically (temporary file, then rename) so an
//! interrupted run never leaves a half-written file.

pub mod csv;
pub mod json;
pub mod table;

use std::io::Write;
use std::path::Path;

/// A number for people: integers as integers, large and small values in scientific form.
pub fn fmt_num(x: f64) -> String {
    if !x.is_finite() {
        return if x.is_nan() {
            "n/a".into()
        } else if x > 0.0 {
            "inf".into()
        } else {
            "-inf".into()
        };
    }
    let a = x.abs();
    if x.fract() == 0.0 && a < 1e15 {
        format!("{x:.0}")
    } else if a != 0.0 && !(1e-3..1e9).contains(&a) {
        format!("{x:.4e}")
    } else if a >= 1000.0 {
        format!("{x:.1}")
    } else {
        let s = format!("{x:.6}");
        s.trim_end_matches('0').trim_end_matches('.').to_string()
    }
}

/// Write `contents` to `path` through a temporary file in the same folder and a rename.
pub fn write_atomic(path: &Path, contents: &[u8]) -> std::io::Result<()> {
    let dir = path.parent().unwrap_or_else(|| Path::new("."));
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let tmp = dir.join(format!(".{name}.tmp-{}", std::process::id()));
    let result = (|| {
        let mut f = std::fs::File::create(&tmp)?;
        f.write_all(contents)?;
        f.sync_all()?;
        std::fs::rename(&tmp, path)
    })();
    if result.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    result
}
