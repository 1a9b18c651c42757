//! The `clustersweep` binary: parses arguments, runs the command, prints errors as one line
//! and maps them to exit codes (see [`cli`]). A closed stdout ends any command quietly and a
//! failing one is exit 1 with one line, even where a `print!` was used (see
//! [`stdout_panic_hook`]). Before anything else it gives the Vulkan loader a private
//! `XDG_RUNTIME_DIR` when none is set (see [`private_runtime_dir`]).

mod cli;

/// When `XDG_RUNTIME_DIR` is unset, the Vulkan loader's layers (Mesa's device-select layer
/// asks libwayland for a display) print `error: XDG_RUNTIME_DIR is invalid or not set in the
/// environment.` on stderr once per wgpu instance. Point it at a fresh private (0700) empty
/// folder for this run: no display is found there, and nothing is printed. Called first in
/// `main`, while the process has one thread; the folder is removed when the guard drops.
fn private_runtime_dir() -> Option<tempfile::TempDir> {
    if std::env::var_os("XDG_RUNTIME_DIR").is_some() {
        return None;
    }
    let dir = tempfile::Builder::new()
        .prefix("clustersweep-runtime-")
        .tempdir()
        .ok()?;
    std::env::set_var("XDG_RUNTIME_DIR", dir.path());
    Some(dir)
}

/// Turn the panic that `print!`/`println!` raise on a failed stdout write into what the
/// commands do themselves: a closed pipe ends quietly (exit 0), any other write error is
/// one line and exit 1. Every other panic keeps the default report.
fn stdout_panic_hook() {
    let default = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        let text = info
            .payload()
            .downcast_ref::<String>()
            .map(String::as_str)
            .or_else(|| info.payload().downcast_ref::<&str>().copied())
            .unwrap_or("");
        if let Some(reason) = text.strip_prefix("failed printing to stdout: ") {
            if reason.contains("Broken pipe") {
                std::process::exit(0);
            }
            eprintln!("clustersweep: error: cannot write stdout: {reason}");
            std::process::exit(cli::EXIT_RUNTIME);
        }
        default(info);
    }));
}

fn main() {
    let runtime_dir = private_runtime_dir();
    stdout_panic_hook();
    clustersweep::output::catch_file_size_signal();
    let code = match cli::main() {
        Ok(code) => code,
        Err(e) => {
            if !e.message.is_empty() {
                // Messages quote names from files and the command line: control characters
                // are escaped, as on stdout.
                eprintln!(
                    "clustersweep: error: {}",
                    clustersweep::format::printable_name(&e.message)
                );
            }
            e.code
        }
    };
    drop(runtime_dir);
    std::process::exit(code);
}
