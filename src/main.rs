//! The `clustersweep` binary: parses arguments, runs the command, prints errors as one line
//! and maps them to exit codes (see [`cli`]).

mod cli;

fn main() {
    let code = match cli::main() {
        Ok(code) => code,
        Err(e) => {
            eprintln!("clustersweep: error: {}", e.message);
            e.code
        }
    };
    std::process::exit(code);
}
