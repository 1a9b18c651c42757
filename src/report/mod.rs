//! Rendering: everything the CLI prints or writes, one module per thing rendered. The sweep
//! summary and the `eval` configuration come in three formats ([`table`], [`json`], [`csv`])
//! over a [`Summary`](crate::summary::Summary) or a single
//! [`Reported`](crate::summary::Reported) configuration; the hardware catalog
//! ([`catalog`]), the backtests ([`backtest`]), the GPU adapters ([`adapters`]) and the
//! benchmarks ([`bench`](mod@bench)) each have their own module. Files are written atomically
//! (temporary file, then rename) so an interrupted run never leaves a half-written file.

pub mod adapters;
pub mod backtest;
pub mod bench;
pub mod catalog;
pub mod csv;
pub mod json;
pub mod table;

use std::io::Write;
use std::path::Path;

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
