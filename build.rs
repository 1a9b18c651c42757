//! Build script: records the git commit (and whether the tree was dirty), the wgpu
//! version, and the toolchain and settings of the build (rustc version, profile, opt-level,
//! target, target CPU and features) for `clustersweep bench` reports and sweep summaries (as
//! compile-time environment variables).

use std::process::Command;

fn main() {
    let commit = Command::new("git")
        .args(["rev-parse", "--short=12", "HEAD"])
        .output()
        .ok()
        .filter(|o| o.status.success())
        .and_then(|o| String::from_utf8(o.stdout).ok())
        .map(|s| s.trim().to_string())
        .filter(|s| !s.is_empty())
        .unwrap_or_else(|| "unknown".into());
    println!("cargo:rustc-env=CLUSTERSWEEP_GIT_COMMIT={commit}");

    // Whether tracked files differ from HEAD ("unknown" outside a git checkout).
    let dirty = Command::new("git")
        .args(["status", "--porcelain", "--untracked-files=no"])
        .output()
        .ok()
        .filter(|o| o.status.success())
        .map_or("unknown", |o| {
            if o.stdout.is_empty() {
                "false"
            } else {
                "true"
            }
        });
    println!("cargo:rustc-env=CLUSTERSWEEP_GIT_DIRTY={dirty}");

    let lock = std::fs::read_to_string("Cargo.lock").unwrap_or_default();
    let wgpu = lock
        .split("[[package]]")
        .find(|p| p.contains("\nname = \"wgpu\"\n"))
        .and_then(|p| p.lines().find_map(|l| l.strip_prefix("version = \"")))
        .map(|v| v.trim_end_matches('"').to_string())
        .unwrap_or_else(|| "unknown".into());
    println!("cargo:rustc-env=CLUSTERSWEEP_WGPU_VERSION={wgpu}");
    // The toolchain and build settings, for `clustersweep bench`'s `build` object.
    let rustc = std::env::var("RUSTC").unwrap_or_else(|_| "rustc".into());
    let rustc_version = Command::new(rustc)
        .arg("--version")
        .output()
        .ok()
        .filter(|o| o.status.success())
        .and_then(|o| String::from_utf8(o.stdout).ok())
        .map(|s| s.trim().to_string())
        .unwrap_or_else(|| "unknown".into());
    println!("cargo:rustc-env=CLUSTERSWEEP_RUSTC_VERSION={rustc_version}");
    for (var, name) in [
        ("PROFILE", "CLUSTERSWEEP_PROFILE"),
        ("OPT_LEVEL", "CLUSTERSWEEP_OPT_LEVEL"),
        ("TARGET", "CLUSTERSWEEP_TARGET"),
        ("CARGO_CFG_TARGET_FEATURE", "CLUSTERSWEEP_TARGET_FEATURES"),
    ] {
        let value = std::env::var(var).unwrap_or_else(|_| "unknown".into());
        println!("cargo:rustc-env={name}={value}");
    }
    // `-C target-cpu=X` from RUSTFLAGS / build.rustflags (one flag per \x1f-separated field).
    let flags = std::env::var("CARGO_ENCODED_RUSTFLAGS").unwrap_or_default();
    let fields: Vec<&str> = flags.split('\x1f').collect();
    let target_cpu = fields
        .iter()
        .enumerate()
        .find_map(|(i, f)| {
            f.strip_prefix("-Ctarget-cpu=").or_else(|| {
                (*f == "-C")
                    .then(|| fields.get(i + 1))
                    .flatten()
                    .and_then(|next| next.strip_prefix("target-cpu="))
            })
        })
        .unwrap_or("default (no -C target-cpu)");
    println!("cargo:rustc-env=CLUSTERSWEEP_TARGET_CPU={target_cpu}");
    println!("cargo:rerun-if-env-changed=CARGO_ENCODED_RUSTFLAGS");
    println!("cargo:rerun-if-changed=Cargo.lock");
    println!("cargo:rerun-if-changed=build.rs");
    // Watch git's HEAD, index and branch heads where git keeps them (in a worktree `.git` is
    // a file). Only existing paths are named: cargo re-runs a build script on every build
    // when a watched path does not exist.
    for (flag, path) in [
        ("--git-path", "HEAD"),
        ("--git-path", "index"),
        ("--git-common-dir", ""),
    ] {
        let Some(found) = git_path(flag, path) else {
            continue;
        };
        let watched = if path.is_empty() {
            found.join("refs").join("heads")
        } else {
            found
        };
        if watched.exists() {
            println!("cargo:rerun-if-changed={}", watched.display());
        }
    }
}

/// `git rev-parse FLAG [PATH]`: where git keeps PATH (or its common folder).
fn git_path(flag: &str, path: &str) -> Option<std::path::PathBuf> {
    let mut cmd = Command::new("git");
    cmd.args(["rev-parse", flag]);
    if !path.is_empty() {
        cmd.arg(path);
    }
    cmd.output()
        .ok()
        .filter(|o| o.status.success())
        .and_then(|o| String::from_utf8(o.stdout).ok())
        .map(|s| std::path::PathBuf::from(s.trim()))
        .filter(|p| !p.as_os_str().is_empty())
}
