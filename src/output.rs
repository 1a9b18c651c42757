//! Every file the tool writes goes through here, and so does everything it prints on stdout.
//!
//! - A file is written to an exclusively created temporary file beside it (`O_CREAT|O_EXCL`,
//!   which never follows a symbolic link), synced, and renamed over the target, so a reader
//!   sees the old file or the new one, never half of one. [`write_file`]
//! - `-` means stdout; an existing path that is not a regular file (a FIFO, a character
//!   device, a symbolic link such as `/dev/stdout`) is opened and written to, never renamed
//!   over.
//! - Appending ([`append_file`], `sweep --markdown FILE`, which CI step summaries such as
//!   `$GITHUB_STEP_SUMMARY` are made of) never replaces a file: a missing file is created
//!   exclusively (`O_CREAT|O_EXCL`, never through a symbolic link); an existing regular
//!   file is opened `O_APPEND` with `O_NOFOLLOW` (on Unix), so a symbolic link planted in its
//!   place between the check and the open fails the write instead of being followed; an
//!   existing non-regular file (a FIFO, a device) or a symbolic link that was there before
//!   (`/dev/stdout`) is appended to through, as [`write_file`] writes through it.
//! - A set of files (the `--out` folder) is written whole into an exclusively created
//!   temporary folder inside the target folder and only then moved into place, so a failure
//!   on any file (a full disk) leaves the previous set as it was. [`write_set`]
//! - Temporaries left behind by a killed run (their process is gone) are removed by the next
//!   run that writes into the same folder; `SIGXFSZ` is caught so that a file-size limit is
//!   an ordinary write error (and the temporaries are removed) rather than a kill.
//! - Stdout write errors are values ([`OutputError::BrokenPipe`] for a closed pipe, which
//!   the CLI ends quietly on) instead of the panics of `print!`.

use std::fs::{File, OpenOptions};
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

/// A failure to write output.
#[derive(Debug, thiserror::Error)]
pub enum OutputError {
    /// Stdout was closed by its reader (`| head -1`): not worth a message.
    #[error("stdout closed")]
    BrokenPipe,
    /// Writing stdout failed otherwise (e.g. `> /dev/full`).
    #[error("cannot write stdout: {0}")]
    Stdout(io::Error),
    /// Creating, writing or renaming a file failed.
    #[error("cannot write {}: {source}", path.display())]
    File { path: PathBuf, source: io::Error },
    /// A path that must be a folder (or a regular file) is something else.
    #[error("{}: {reason}", path.display())]
    NotUsable { path: PathBuf, reason: String },
}

impl OutputError {
    fn file(path: &Path, source: io::Error) -> OutputError {
        OutputError::File {
            path: path.to_path_buf(),
            source,
        }
    }
}

/// Prefix of every temporary the tool creates (files and folders); the process id follows.
const TEMP_PREFIX: &str = ".clustersweep-tmp-";

/// A name for a new temporary: the prefix, this process's id, a per-process counter and
/// what it stands for. The counter keeps names distinct within one process; the exclusive
/// creation keeps them safe against anything already there.
fn temp_name(what: &str) -> String {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let n = COUNTER.fetch_add(1, Ordering::Relaxed);
    let what: String = what
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '.' || c == '_' {
                c
            } else {
                '_'
            }
        })
        .take(64)
        .collect();
    format!("{TEMP_PREFIX}{}-{n}-{what}", std::process::id())
}

/// Whether `path` names stdout (`-`).
pub fn is_stdout(path: &Path) -> bool {
    path.as_os_str() == "-"
}

/// Write text on stdout (locked, flushed). A closed pipe is [`OutputError::BrokenPipe`].
pub fn stdout_write(bytes: &[u8]) -> Result<(), OutputError> {
    let mut out = io::stdout().lock();
    out.write_all(bytes)
        .and_then(|_| out.flush())
        .map_err(|e| match e.kind() {
            io::ErrorKind::BrokenPipe => OutputError::BrokenPipe,
            _ => OutputError::Stdout(e),
        })
}

/// Catch `SIGXFSZ` (file size limit exceeded, `ulimit -f`) so that it turns into a failed
/// write (`EFBIG`) that is reported and cleaned up, instead of killing the process with its
/// temporaries left behind. Idempotent.
pub fn catch_file_size_signal() {
    use std::sync::OnceLock;
    static ONCE: OnceLock<()> = OnceLock::new();
    ONCE.get_or_init(|| {
        let flag = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
        // Registration can fail only for forbidden signals; SIGXFSZ is not one.
        let _ = signal_hook::flag::register(signal_hook::consts::SIGXFSZ, flag);
    });
}

/// Write `contents` to `path`: `-` is stdout; an existing non-regular file or symbolic link
/// is written through; otherwise an exclusive temporary beside it is synced and renamed
/// over it.
pub fn write_file(path: &Path, contents: &[u8]) -> Result<(), OutputError> {
    catch_file_size_signal();
    if is_stdout(path) {
        return stdout_write(contents);
    }
    match std::fs::symlink_metadata(path) {
        Ok(m) if m.is_dir() => return Err(is_a_folder(path)),
        Ok(m) if !m.is_file() => return write_through(path, contents),
        _ => {}
    }
    let dir = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    };
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    remove_stale_temporaries(dir);
    let tmp = dir.join(temp_name(&name));
    let result = write_new(&tmp, contents)
        .and_then(|_| std::fs::rename(&tmp, path).map_err(|e| OutputError::file(path, e)));
    if result.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    result?;
    sync_dir(dir);
    Ok(())
}

/// Append `contents` to `path`: `-` is stdout; a missing file is created exclusively; an
/// existing regular file is appended to (`O_APPEND`, and `O_NOFOLLOW` on Unix: a symbolic
/// link put in its place after the check is refused, not followed); an existing
/// non-regular file or symbolic link is appended to through; a folder is
/// [`OutputError::NotUsable`]. The old contents are never touched. An append is not atomic
/// as a replacement is: a reader may see part of it while it is written, as with any log.
pub fn append_file(path: &Path, contents: &[u8]) -> Result<(), OutputError> {
    catch_file_size_signal();
    if is_stdout(path) {
        return stdout_write(contents);
    }
    let mut options = OpenOptions::new();
    options.append(true);
    match std::fs::symlink_metadata(path) {
        Ok(m) if m.is_dir() => return Err(is_a_folder(path)),
        Ok(m) if m.is_file() => no_follow(&mut options),
        Ok(_) => {}
        Err(e) if e.kind() == io::ErrorKind::NotFound => {
            // Exclusive creation; another process creating it meanwhile makes this an
            // append to that file (still never through a symbolic link).
            match OpenOptions::new().append(true).create_new(true).open(path) {
                Ok(f) => return finish_write(path, f, contents),
                Err(e) if e.kind() == io::ErrorKind::AlreadyExists => no_follow(&mut options),
                Err(e) => return Err(OutputError::file(path, e)),
            }
        }
        Err(e) => return Err(OutputError::file(path, e)),
    }
    let f = options.open(path).map_err(|e| OutputError::file(path, e))?;
    finish_write(path, f, contents)
}

/// Write `contents` to an opened file and flush it (synced when it is a regular file).
fn finish_write(path: &Path, mut f: File, contents: &[u8]) -> Result<(), OutputError> {
    f.write_all(contents)
        .and_then(|_| f.flush())
        .map_err(|e| OutputError::file(path, e))?;
    if f.metadata().is_ok_and(|m| m.is_file()) {
        f.sync_all().map_err(|e| OutputError::file(path, e))?;
    }
    Ok(())
}

/// Open an existing non-regular file (FIFO, device) or a symbolic link and write to it.
fn write_through(path: &Path, contents: &[u8]) -> Result<(), OutputError> {
    let f = OpenOptions::new()
        .write(true)
        .truncate(true)
        .open(path)
        .map_err(|e| OutputError::file(path, e))?;
    finish_write(path, f, contents)
}

/// An output path that is a folder.
fn is_a_folder(path: &Path) -> OutputError {
    OutputError::NotUsable {
        path: path.to_path_buf(),
        reason: "is a folder".into(),
    }
}

/// Refuse to follow a symbolic link at the last component (`O_NOFOLLOW`; Unix only).
fn no_follow(options: &mut OpenOptions) {
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.custom_flags(libc::O_NOFOLLOW);
    }
    #[cfg(not(unix))]
    let _ = options;
}

/// Create `path` exclusively (never through a symbolic link), write and sync it.
fn write_new(path: &Path, contents: &[u8]) -> Result<(), OutputError> {
    let mut f = OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(path)
        .map_err(|e| OutputError::file(path, e))?;
    f.write_all(contents)
        .and_then(|_| f.sync_all())
        .map_err(|e| OutputError::file(path, e))
}

/// Make the folder's entries durable (best effort: not every platform can open a folder).
fn sync_dir(dir: &Path) {
    if let Ok(d) = File::open(dir) {
        let _ = d.sync_all();
    }
}

/// Check an output folder before any work: create it if needed, and prove that files can
/// be created in it (an exclusive temporary folder is made and removed). Stale temporaries
/// of dead runs are removed.
pub fn prepare_dir(dir: &Path) -> Result<(), OutputError> {
    catch_file_size_signal();
    match std::fs::metadata(dir) {
        Ok(m) if !m.is_dir() => {
            return Err(OutputError::NotUsable {
                path: dir.to_path_buf(),
                reason: "exists and is not a folder".into(),
            })
        }
        Ok(_) => {}
        Err(_) => std::fs::create_dir_all(dir).map_err(|e| OutputError::file(dir, e))?,
    }
    remove_stale_temporaries(dir);
    let probe = dir.join(temp_name("probe"));
    std::fs::create_dir(&probe).map_err(|e| OutputError::file(dir, e))?;
    let _ = std::fs::remove_dir(&probe);
    Ok(())
}

/// Replace the files `files` (name, contents) in `dir` as a set: all are written and synced
/// in an exclusive temporary folder inside `dir` first; only when every one is written are
/// they renamed into place (renames within one folder do not run out of space). Any failure
/// before that leaves `dir` as it was, with no temporary behind.
pub fn write_set(dir: &Path, files: &[(&str, &[u8])]) -> Result<(), OutputError> {
    prepare_dir(dir)?;
    for (name, _) in files {
        let target = dir.join(name);
        if let Ok(m) = std::fs::symlink_metadata(&target) {
            if m.is_dir() {
                return Err(is_a_folder(&target));
            }
        }
    }
    let staging = dir.join(temp_name("set"));
    std::fs::create_dir(&staging).map_err(|e| OutputError::file(dir, e))?;
    let staged = (|| {
        for (name, contents) in files {
            write_new(&staging.join(name), contents)?;
        }
        sync_dir(&staging);
        Ok(())
    })();
    if let Err(e) = staged {
        let _ = std::fs::remove_dir_all(&staging);
        return Err(e);
    }
    let mut moved = Ok(());
    for (name, _) in files {
        if let Err(e) = std::fs::rename(staging.join(name), dir.join(name)) {
            moved = Err(OutputError::file(&dir.join(name), e));
            break;
        }
    }
    let _ = std::fs::remove_dir_all(&staging);
    sync_dir(dir);
    moved
}

/// Whether the process `pid` is still running. Where that cannot be told (no `/proc`), it
/// is assumed to be, so nothing of a live run is ever removed.
fn process_alive(pid: u32) -> bool {
    let proc_root = Path::new("/proc");
    if !proc_root.join("self").exists() {
        return true;
    }
    proc_root.join(pid.to_string()).exists()
}

/// Remove temporaries in `dir` that belong to processes that no longer run (a run killed
/// with `SIGKILL` cannot clean up after itself). Only names this module makes are touched;
/// a symbolic link with such a name is removed as a link, never followed.
pub fn remove_stale_temporaries(dir: &Path) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let name = entry.file_name();
        let Some(rest) = name.to_str().and_then(|n| n.strip_prefix(TEMP_PREFIX)) else {
            continue;
        };
        let Some(pid) = rest.split('-').next().and_then(|p| p.parse::<u32>().ok()) else {
            continue;
        };
        if pid == std::process::id() || process_alive(pid) {
            continue;
        }
        let path = entry.path();
        match entry.file_type() {
            Ok(t) if t.is_dir() => {
                let _ = std::fs::remove_dir_all(&path);
            }
            Ok(_) => {
                let _ = std::fs::remove_file(&path);
            }
            Err(_) => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(dir: &Path) -> Vec<String> {
        let mut v: Vec<String> = std::fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        v.sort();
        v
    }

    #[test]
    fn write_file_replaces_and_leaves_no_temporary() {
        let d = tempfile::tempdir().unwrap();
        let p = d.path().join("a.json");
        write_file(&p, b"one").unwrap();
        write_file(&p, b"two").unwrap();
        assert_eq!(std::fs::read(&p).unwrap(), b"two");
        assert_eq!(names(d.path()), vec!["a.json"]);
    }

    #[cfg(unix)]
    #[test]
    fn a_symlink_is_written_through_and_not_replaced() {
        let d = tempfile::tempdir().unwrap();
        let target = d.path().join("target.txt");
        std::fs::write(&target, b"old").unwrap();
        let link = d.path().join("link.txt");
        std::os::unix::fs::symlink(&target, &link).unwrap();
        write_file(&link, b"new").unwrap();
        assert!(std::fs::symlink_metadata(&link)
            .unwrap()
            .file_type()
            .is_symlink());
        assert_eq!(std::fs::read(&target).unwrap(), b"new");
    }

    #[cfg(unix)]
    #[test]
    fn a_temporary_is_never_created_through_a_symlink() {
        let d = tempfile::tempdir().unwrap();
        let victim = d.path().join("victim");
        std::fs::write(&victim, b"keep").unwrap();
        let planted = d.path().join("planted");
        std::os::unix::fs::symlink(&victim, &planted).unwrap();
        assert!(write_new(&planted, b"new").is_err());
        assert_eq!(std::fs::read(&victim).unwrap(), b"keep");
    }

    #[test]
    fn append_creates_then_keeps_what_was_there() {
        let d = tempfile::tempdir().unwrap();
        let p = d.path().join("summary.md");
        append_file(&p, b"one\n").unwrap();
        append_file(&p, b"two\n").unwrap();
        assert_eq!(std::fs::read(&p).unwrap(), b"one\ntwo\n");
        assert_eq!(names(d.path()), vec!["summary.md"]);
        assert!(matches!(
            append_file(d.path(), b"x"),
            Err(OutputError::NotUsable { .. })
        ));
    }

    #[cfg(unix)]
    #[test]
    fn append_goes_through_a_symlink_that_was_there_and_keeps_it() {
        let d = tempfile::tempdir().unwrap();
        let target = d.path().join("target.md");
        std::fs::write(&target, b"old\n").unwrap();
        let link = d.path().join("link.md");
        std::os::unix::fs::symlink(&target, &link).unwrap();
        append_file(&link, b"new\n").unwrap();
        assert!(std::fs::symlink_metadata(&link)
            .unwrap()
            .file_type()
            .is_symlink());
        assert_eq!(std::fs::read(&target).unwrap(), b"old\nnew\n");
    }

    #[test]
    fn a_failed_set_leaves_the_old_set_and_no_temporary() {
        let d = tempfile::tempdir().unwrap();
        write_set(d.path(), &[("a.json", b"1"), ("b.csv", b"1")]).unwrap();
        // A name that cannot be created (a path separator inside a file name) fails the
        // second file after the first was staged.
        let err = write_set(d.path(), &[("a.json", b"2"), ("no/such/b.csv", b"2")]);
        assert!(err.is_err());
        assert_eq!(std::fs::read(d.path().join("a.json")).unwrap(), b"1");
        assert_eq!(std::fs::read(d.path().join("b.csv")).unwrap(), b"1");
        assert_eq!(names(d.path()), vec!["a.json", "b.csv"]);
    }

    #[test]
    fn stale_temporaries_of_dead_processes_are_removed() {
        let d = tempfile::tempdir().unwrap();
        // PID 0 is never a user process; u32::MAX - 1 is above any pid_max.
        let dead = d.path().join(format!("{TEMP_PREFIX}4294967294-0-set"));
        std::fs::create_dir(&dead).unwrap();
        std::fs::write(dead.join("summary.json"), b"x").unwrap();
        let mine = d
            .path()
            .join(format!("{TEMP_PREFIX}{}-999999-x", std::process::id()));
        std::fs::write(&mine, b"x").unwrap();
        let other = d.path().join("keep.txt");
        std::fs::write(&other, b"x").unwrap();
        prepare_dir(d.path()).unwrap();
        assert!(!dead.exists());
        assert!(mine.exists());
        assert!(other.exists());
    }
}
