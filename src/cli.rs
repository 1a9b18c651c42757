//! Command-line interface: argument definitions (clap) validated once into options, dispatch
//! to the commands (rendering is `clustersweep::report`'s), and exit codes.
//! Exit codes: 0 success; 1 a run-time failure (e.g. writing `--out`, or `validate` found a
//! failing case); 2 bad input (arguments, scenario, catalog); 3 GPU unavailable or failed;
//! 4 the run worked but a check failed (`--check`, `--require-feasible`, `[checks]`, a
//! `diff --max-change` limit crossed, a `bench compare` regression).

/// `eprintln!` with every control character escaped (`format::printable_name`): lines on
/// stderr quote names from files and the command line (scenario names, accelerator ids,
/// file names), which must not drive the terminal nor forge lines.
macro_rules! eprintln_escaped {
    ($($arg:tt)*) => {
        eprintln!("{}", clustersweep::format::printable_name(&format!($($arg)*)))
    };
}

mod calibrate;
mod gpu_select;

use clap::{Parser, Subcommand, ValueEnum};
use clustersweep::backend::cpu::CpuBackend;
use clustersweep::backend::gpu::{AdapterChoice, GpuBackend, GpuOptions};
use clustersweep::backend::Backend;
use clustersweep::catalog::Catalog;
use clustersweep::checkpoint;
use clustersweep::checks::CheckSet;
use clustersweep::input::InputError;
use clustersweep::params::Param;
use clustersweep::plan::SweepPlan;
use clustersweep::progress::SweepProgress;
use clustersweep::report;
use clustersweep::scenario::Scenario;
use clustersweep::summary::{describe, summarise_known};
use gpu_select::GpuSelectArgs;
use std::io::IsTerminal;
use std::path::PathBuf;

/// Exit code for bad input.
pub const EXIT_INPUT: i32 = 2;
/// Exit code for run-time failures.
pub const EXIT_RUNTIME: i32 = 1;
/// Exit code when the GPU is unavailable or fails.
pub const EXIT_GPU: i32 = 3;
/// Exit code when the run worked but the plan did not pass a check (also a crossed `diff`
/// limit and a `bench compare` regression).
pub const EXIT_CHECK: i32 = 4;

/// An error for the user: a one-line message and an exit code.
#[derive(Debug)]
pub struct CliError {
    pub code: i32,
    pub message: String,
}

impl CliError {
    pub(crate) fn input(message: impl Into<String>) -> Self {
        CliError {
            code: EXIT_INPUT,
            message: message.into(),
        }
    }
    pub(crate) fn runtime(message: impl Into<String>) -> Self {
        CliError {
            code: EXIT_RUNTIME,
            message: message.into(),
        }
    }
}

impl From<clustersweep::output::OutputError> for CliError {
    /// A closed stdout ends the command quietly (code 0, no message); any other write
    /// failure is a run-time failure.
    fn from(e: clustersweep::output::OutputError) -> Self {
        match e {
            clustersweep::output::OutputError::BrokenPipe => CliError {
                code: 0,
                message: String::new(),
            },
            other => CliError::runtime(other.to_string()),
        }
    }
}

/// The error of writing the file of option `flag`: a closed stdout ends the command
/// quietly, any other failure is a run-time failure naming the option.
fn write_error(flag: &str) -> impl FnOnce(clustersweep::output::OutputError) -> CliError + '_ {
    move |e| match e {
        clustersweep::output::OutputError::BrokenPipe => CliError::from(e),
        e => CliError::runtime(format!("{flag}: {e}")),
    }
}

/// Check an `--out` folder before any work: a path that is not a folder is bad input (2);
/// one that cannot be created or written is a run-time failure (1).
fn check_out_dir(dir: &std::path::Path) -> Result<(), CliError> {
    clustersweep::output::prepare_dir(dir).map_err(|e| match e {
        clustersweep::output::OutputError::NotUsable { .. } => {
            CliError::input(format!("--out: {e}"))
        }
        e => CliError::runtime(format!("--out: {e}")),
    })
}

/// `--threads`, at most one per logical core (more cannot speed up the CPU kernel, and
/// `--threads 100000` would exhaust the process table); 0 (one per core) when not given.
/// `quiet` (`--quiet`): the cap applies without the notice.
fn capped_threads(requested: Option<usize>, quiet: bool) -> usize {
    let Some(n) = requested else { return 0 };
    let cores = std::thread::available_parallelism().map_or(1, |c| c.get());
    if n > cores {
        if !quiet {
            eprintln_escaped!(
            "clustersweep: notice: --threads {n} capped at {cores}, the number of logical cores"
            );
        }
        cores
    } else {
        n
    }
}

/// Configurations a run may evaluate without `--yes` (`--max-configs`'s default): about
/// 3.3 hours at the CPU rate recorded in docs/benchmarks.md for this project's 2-core
/// machine (8.39e8 configurations/s on the default scenario).
const DEFAULT_MAX_CONFIGS: u64 = 10_000_000_000_000;
/// The CPU rate the run-time estimate uses (configurations/s; docs/benchmarks.md).
const ESTIMATE_RATE: f64 = 8.39e8;

/// Refuse a run of more than `max` configurations unless `--yes` was given, saying how long
/// it would take.
fn check_run_size(configs: u64, max: u64, yes: bool) -> Result<(), CliError> {
    if configs <= max || yes {
        return Ok(());
    }
    let secs = configs as f64 / ESTIMATE_RATE;
    let estimate = if secs < 86_400.0 * 2.0 {
        format!("{:.1} hours", secs / 3600.0)
    } else if secs < 86_400.0 * 730.0 {
        format!("{:.0} days", secs / 86_400.0)
    } else {
        format!("{:.0} years", secs / (86_400.0 * 365.25))
    };
    Err(CliError::input(format!(
        "the run has {configs} configurations, more than --max-configs {max}: about {estimate} at {ESTIMATE_RATE:.3e} configurations/s (a 2-core CPU, docs/benchmarks.md); pass --yes to run it anyway, raise --max-configs, or shard it (--shard)"
    )))
}

/// Print text on stdout; a closed or failing stdout becomes a [`CliError`].
/// Write to stdout, terminal control characters that names carried in escaped
/// (`format::printable`; JSON holds none raw, so it passes unchanged).
fn emit(text: &str) -> Result<(), CliError> {
    let text = clustersweep::format::printable(text);
    Ok(clustersweep::output::stdout_write(text.as_bytes())?)
}

impl From<InputError> for CliError {
    fn from(e: InputError) -> Self {
        CliError::input(e.to_string())
    }
}

#[derive(Parser, Debug)]
#[command(
    name = "clustersweep",
    version,
    about = "Estimate throughput, power, energy and cost of AI clusters; sweep huge grids of configurations on the GPU or CPU."
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
enum BackendChoice {
    /// A real GPU when there is one, else the CPU.
    Auto,
    /// The CPU (rayon, f64).
    Cpu,
    /// wgpu on any adapter (llvmpipe included).
    Gpu,
}

/// `sweep`, `merge` and `eval --format`: what stdout gets.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
enum OutputFormat {
    /// The summary for people.
    Table,
    /// The `clustersweep.summary/2` JSON document.
    Json,
    /// The reported configurations, one row each (role, group, index, parameters, metrics).
    Csv,
    /// The summary as markdown tables.
    Markdown,
}

impl BackendChoice {
    /// The choice as written on the command line.
    fn name(self) -> &'static str {
        match self {
            BackendChoice::Auto => "auto",
            BackendChoice::Cpu => "cpu",
            BackendChoice::Gpu => "gpu",
        }
    }
}

/// `schema`'s documents.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
enum SchemaChoice {
    /// `clustersweep.summary/2`: sweep --json, --out DIR/summary.json, merge --json.
    Summary,
    /// `clustersweep.sensitivity/1`: sensitivity --json.
    Sensitivity,
    /// `clustersweep.diff/1`: diff --json.
    Diff,
    /// The bench document: bench --json FILE.
    Bench,
    /// `clustersweep.bench-compare/1`: bench compare --json.
    BenchCompare,
}

impl From<SchemaChoice> for clustersweep::schema::Document {
    fn from(c: SchemaChoice) -> Self {
        use clustersweep::schema::Document;
        match c {
            SchemaChoice::Summary => Document::Summary,
            SchemaChoice::Sensitivity => Document::Sensitivity,
            SchemaChoice::Diff => Document::Diff,
            SchemaChoice::Bench => Document::Bench,
            SchemaChoice::BenchCompare => Document::BenchCompare,
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
enum BenchChoice {
    /// Only the CPU backend.
    Cpu,
    /// Only GPU adapters.
    Gpu,
}

#[derive(Subcommand, Debug)]
enum BenchAction {
    /// Compare bench results with the first (the baseline); exit 4 when one is slower than
    /// the baseline by more than --threshold and beyond the noise of both.
    Compare {
        /// `clustersweep.bench/2` files written by `bench --json`: the baseline first.
        #[arg(required = true, num_args = 2..)]
        files: Vec<PathBuf>,
        /// Slowdown of the mean wall time per configuration that counts as a regression
        /// (when the 95% confidence intervals do not overlap either).
        #[arg(long, value_name = "PERCENT", default_value = "5%", value_parser = clustersweep::bench_compare::parse_threshold)]
        threshold: f64,
        /// Print the `clustersweep.bench-compare/1` document.
        #[arg(long, conflicts_with = "markdown")]
        json: bool,
        /// Print the comparison as markdown.
        #[arg(long)]
        markdown: bool,
    },
    /// One table of every `clustersweep.bench/2` file in a folder (e.g. results kept from
    /// many machines): markdown on stdout unless an output is `-`; other files are skipped
    /// with a notice.
    Collect {
        /// The folder; its `*.json` files are read in name order (sub-folders are not).
        dir: PathBuf,
        /// Also write the table as CSV (a header with units; `-`: stdout).
        #[arg(long, value_name = "FILE")]
        csv: Option<PathBuf>,
        /// Also write the markdown table (`-`: stdout).
        #[arg(long, value_name = "FILE")]
        markdown: Option<PathBuf>,
        /// Also write an SVG bar chart of the median rates with their 95% intervals (`-`:
        /// stdout).
        #[arg(long, value_name = "FILE")]
        svg: Option<PathBuf>,
    },
}

/// `bench --workload`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
enum WorkloadChoice {
    /// The built-in default scenario's grid (or its first --configs configurations).
    Default,
    /// The default grid with an extra outer axis, as large as --configs (default: sized
    /// for about 1 s per repetition on each backend).
    Synthetic,
}

#[derive(clap::Args, Debug)]
struct CatalogArg {
    /// Hardware catalog to use instead of the built-in configs/hardware.toml.
    #[arg(long, value_name = "FILE")]
    catalog: Option<PathBuf>,
}

// The `sweep` arguments as parsed; `SweepOptions::from_args` validates them.
#[derive(clap::Args, Debug)]
struct SweepArgs {
    /// Scenario files (TOML); the built-in default scenario when none is given. With
    /// several, `--out DIR` writes `DIR/<scenario name>/`.
    scenarios: Vec<PathBuf>,
    /// Where to evaluate.
    #[arg(long, value_enum, default_value = "auto")]
    backend: BackendChoice,
    /// What stdout gets: the table for people, the JSON summary, the reported
    /// configurations as CSV, or markdown (CI job summaries, pull-request comments).
    #[arg(long, value_enum, default_value = "table")]
    format: OutputFormat,
    /// The same as `--format json`.
    #[arg(long, conflicts_with = "format")]
    json: bool,
    /// No progress bar and no notices on stderr (errors still go there).
    #[arg(long, short = 'q')]
    quiet: bool,
    /// Write summary.json, best_by.csv and pareto.csv into this folder.
    #[arg(long, value_name = "DIR")]
    out: Option<PathBuf>,
    /// Axes whose values group `best_by` (comma-separated; `none` for no groups).
    #[arg(long, value_name = "AXES", value_delimiter = ',')]
    group_by: Option<Vec<String>>,
    /// Heatmap axes X,Y: per cell the best objective over the other axes and the feasible
    /// count (default: gpu_count by power_w or power_frac when both are axes; `none`: off).
    #[arg(long, value_name = "X,Y", value_delimiter = ',')]
    heatmap: Option<Vec<String>>,
    /// CPU threads (default: one per core).
    #[arg(long, value_name = "N")]
    threads: Option<usize>,
    #[command(flatten)]
    gpu: GpuSelectArgs,
    /// A check the summary must pass, `PATH OP VALUE` with PATH a numeric field's JSON path
    /// (e.g. `best.tco_usd <= 38e9`); repeatable; a failed check exits 4.
    #[arg(long = "check", value_name = "'PATH OP VALUE'", value_parser = clustersweep::checks::parse_check)]
    checks: Vec<clustersweep::checks::Check>,
    /// Exit 4 when no configuration is feasible.
    #[arg(long)]
    require_feasible: bool,
    /// Append each scenario's summary as markdown (as `--format markdown` prints it, the
    /// checks included) to FILE, e.g. "$GITHUB_STEP_SUMMARY"; a missing FILE is created,
    /// `-` is stdout.
    #[arg(long, value_name = "FILE", conflicts_with = "shard")]
    markdown: Option<PathBuf>,
    /// Also make the sensitivity tornado (a `sensitivity` section of the summary).
    #[arg(long, conflicts_with = "shard")]
    sensitivity: bool,
    #[command(flatten)]
    catalog: CatalogArg,
    #[command(flatten)]
    shard: ShardArgs,
    /// Refuse runs of more configurations than this unless --yes is given.
    #[arg(long, value_name = "N", default_value_t = DEFAULT_MAX_CONFIGS)]
    max_configs: u64,
    /// Run a grid larger than --max-configs.
    #[arg(long)]
    yes: bool,
    /// Save progress to FILE every few seconds and resume from it when it exists (same
    /// scenario, catalog, grouping and range); SIGINT/SIGTERM save it and exit 130/143.
    #[arg(long, value_name = "FILE", conflicts_with = "sensitivity")]
    checkpoint: Option<PathBuf>,
    /// Seconds between checkpoint saves.
    #[arg(
        long,
        value_name = "SECONDS",
        default_value_t = 5.0,
        requires = "checkpoint"
    )]
    checkpoint_every: f64,
    /// Testing (hidden): configurations per unit of work, the same for the CPU's pieces,
    /// the GPU's chunks and checkpoint segments (results do not depend on it).
    #[arg(long, value_name = "N", hide = true)]
    chunk: Option<u64>,
    /// Testing (hidden): a --checkpoint run stops after N segments as if by SIGINT.
    #[arg(long, value_name = "N", hide = true, requires = "checkpoint")]
    stop_after_segments: Option<u64>,
}

// The `sensitivity` arguments as parsed.
#[derive(clap::Args, Debug)]
struct SensitivityArgs {
    /// Scenario file (TOML); the built-in default scenario when omitted.
    scenario: Option<PathBuf>,
    /// Where to re-sweep the grid.
    #[arg(long, value_enum, default_value = "auto")]
    backend: BackendChoice,
    /// Print the tornado as JSON on stdout.
    #[arg(long)]
    json: bool,
    /// CPU threads (default: one per core).
    #[arg(long, value_name = "N")]
    threads: Option<usize>,
    #[command(flatten)]
    gpu: GpuSelectArgs,
    #[command(flatten)]
    catalog: CatalogArg,
}

/// `sweep --shard`: run one part of the grid and write a partial result.
#[derive(clap::Args, Debug)]
struct ShardArgs {
    /// Evaluate one of N contiguous parts of the grid and write a partial result for
    /// `clustersweep merge`: `I/N` (I counts from 0), `auto` (a Slurm job array) or
    /// `auto/N` (a Kubernetes Indexed Job of N completions).
    #[arg(long, value_name = "I/N|auto|auto/N", requires = "partial", conflicts_with_all = ["out", "json", "format"])]
    shard: Option<String>,
    /// Where the shard's partial result goes (`-` for stdout).
    #[arg(long, value_name = "FILE", requires = "shard")]
    partial: Option<PathBuf>,
}

// The `bench` arguments (without `compare`) as parsed; `BenchCommandOptions::from_args`
// validates them.
#[derive(clap::Args, Debug)]
struct BenchArgs {
    /// Which backends: cpu, gpu (every adapter, or --adapter), or both (default).
    #[arg(long, value_enum)]
    backend: Option<BenchChoice>,
    #[command(flatten)]
    gpu: GpuSelectArgs,
    /// What every backend runs.
    #[arg(long, value_enum, default_value = "default")]
    workload: WorkloadChoice,
    /// Configurations per repetition (default: the whole default grid; for `synthetic`,
    /// sized for about 1 s per backend).
    #[arg(long, value_name = "N")]
    configs: Option<u64>,
    /// Unmeasured runs before the timed repetitions.
    #[arg(long, value_name = "N", default_value_t = 1)]
    warmup: usize,
    /// Timed repetitions (1 ..= 1000): every time is kept; min, median, mean, standard
    /// deviation and the 95% confidence interval of the mean are reported.
    #[arg(long, value_name = "N", default_value_t = 10)]
    repeats: usize,
    /// CPU threads (default: one per core).
    #[arg(long, value_name = "N")]
    threads: Option<usize>,
    /// Also write the results as a `clustersweep.bench/2` JSON document (`-`: stdout).
    #[arg(long, value_name = "FILE")]
    json: Option<PathBuf>,
    /// Also write the results as markdown (`-`: stdout).
    #[arg(long, value_name = "FILE")]
    markdown: Option<PathBuf>,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Sweep a scenario's grid and report the best configurations.
    Sweep(SweepArgs),
    /// Merge the partial results of `sweep --shard` into the summary of the whole grid.
    Merge {
        /// `clustersweep.partial/1` files, one per shard, in any order.
        #[arg(required = true, num_args = 1..)]
        parts: Vec<PathBuf>,
        /// What stdout gets: the table for people, the JSON summary, the reported
        /// configurations as CSV, or markdown (as `sweep --format`).
        #[arg(long, value_enum, default_value = "table")]
        format: OutputFormat,
        /// The same as `--format json`.
        #[arg(long, conflicts_with = "format")]
        json: bool,
        /// No notices on stderr (errors still go there).
        #[arg(long, short = 'q')]
        quiet: bool,
        /// Write summary.json, best_by.csv and pareto.csv into this folder.
        #[arg(long, value_name = "DIR")]
        out: Option<PathBuf>,
    },
    /// The tornado: how far each input moves the best decision's objective, and where the
    /// grid's best decision changes.
    Sensitivity(SensitivityArgs),
    /// List the GPU adapters wgpu finds (name, vendor, type, driver, API, key limits).
    Adapters {
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
    /// Evaluate one configuration (axes at their first value unless set).
    Eval {
        /// Scenario file (TOML); the built-in default scenario when omitted.
        scenario: Option<PathBuf>,
        /// Set a parameter: name=value (repeatable).
        #[arg(long = "set", value_name = "NAME=VALUE")]
        set: Vec<String>,
        /// Draws to evaluate under the scenario's uncertainty (1 ..= 65536; default: the
        /// scenario's `samples`).
        #[arg(long, value_name = "N")]
        samples: Option<u32>,
        /// What stdout gets: the configuration for people, as JSON, as one CSV row, or as
        /// markdown.
        #[arg(long, value_enum, default_value = "table")]
        format: OutputFormat,
        /// The same as `--format json`.
        #[arg(long, conflicts_with = "format")]
        json: bool,
        #[command(flatten)]
        catalog: CatalogArg,
    },
    /// Run the built-in backtests against published training runs (exit 1 if any fails).
    Validate {
        /// Print JSON.
        #[arg(long)]
        json: bool,
        /// Also run every *.toml case in this folder.
        #[arg(long, value_name = "DIR")]
        dir: Option<PathBuf>,
        #[command(flatten)]
        catalog: CatalogArg,
    },
    /// Measure the kernel on every backend over one named workload (or compare results).
    #[command(args_conflicts_with_subcommands = true)]
    Bench {
        #[command(subcommand)]
        action: Option<BenchAction>,
        #[command(flatten)]
        args: BenchArgs,
    },
    /// Fit dvfs_exponent and idle_w (and load_frac) to measured power-limit traces.
    Calibrate(calibrate::CalibrateArgs),
    /// What changed between two sweep summaries (ignoring `run`); exit 4 when a
    /// `--max-change` limit is crossed.
    Diff {
        /// The older `clustersweep.summary/2` file.
        old: PathBuf,
        /// The newer one.
        new: PathBuf,
        /// Limit on the relative change of a metric of `best`: METRIC=-2% (a fall of more
        /// than 2% crosses it), =+2% (a rise), =2% (either way); repeatable.
        #[arg(long = "max-change", value_name = "METRIC=N%", value_parser = clustersweep::diff::parse_limit)]
        max_change: Vec<clustersweep::diff::ChangeLimit>,
        /// Print the comparison as JSON.
        #[arg(long, conflicts_with = "markdown")]
        json: bool,
        /// Print the comparison as a markdown table.
        #[arg(long)]
        markdown: bool,
    },
    /// Print the JSON Schema (draft 2020-12) of a document the tool writes.
    Schema {
        /// Which document.
        #[arg(value_enum)]
        document: SchemaChoice,
    },
    /// List the hardware catalog.
    Catalog {
        /// Print JSON.
        #[arg(long)]
        json: bool,
        #[command(flatten)]
        catalog: CatalogArg,
    },
}

/// Parse arguments and run; returns the exit code on success paths.
pub fn main() -> Result<i32, CliError> {
    let cli = Cli::parse();
    match cli.command {
        Command::Sweep(args) => sweep(SweepOptions::from_args(args)?),
        Command::Merge {
            parts,
            format,
            json,
            quiet,
            out,
        } => merge(parts, json_alias(format, json), quiet, out),
        Command::Sensitivity(args) => sensitivity(args),
        Command::Adapters { json } => list_adapters(json),
        Command::Eval {
            scenario,
            set,
            samples,
            format,
            json,
            catalog,
        } => eval(scenario, set, samples, json_alias(format, json), catalog),
        Command::Diff {
            old,
            new,
            max_change,
            json,
            markdown,
        } => diff_summaries(&old, &new, &max_change, json, markdown),
        Command::Catalog { json, catalog } => list_catalog(json, catalog),
        Command::Schema { document } => {
            print_json(&clustersweep::schema::Document::from(document).schema())?;
            Ok(0)
        }
        Command::Calibrate(args) => calibrate::run(args),
        Command::Validate { json, dir, catalog } => validate(json, dir, catalog),
        Command::Bench {
            action:
                Some(BenchAction::Compare {
                    files,
                    threshold,
                    json,
                    markdown,
                }),
            ..
        } => bench_compare(files, threshold, json, markdown),
        Command::Bench {
            action:
                Some(BenchAction::Collect {
                    dir,
                    csv,
                    markdown,
                    svg,
                }),
            ..
        } => bench_collect(&dir, csv, markdown, svg),
        Command::Bench { action: None, args } => bench(BenchCommandOptions::from_args(args)?),
    }
}

/// `--format`, with `--json` meaning `--format json`.
fn json_alias(format: OutputFormat, json: bool) -> OutputFormat {
    if json {
        OutputFormat::Json
    } else {
        format
    }
}

fn load_catalog(arg: &CatalogArg) -> Result<Catalog, CliError> {
    Ok(match &arg.catalog {
        Some(p) => Catalog::load(p)?,
        None => Catalog::builtin()?,
    })
}

fn load_scenario(path: &Option<PathBuf>, catalog: &Catalog) -> Result<Scenario, CliError> {
    Ok(match path {
        Some(p) => Scenario::load(p, catalog)?,
        None => Scenario::builtin_default(catalog)?,
    })
}

/// `sweep`'s options, validated: the scenarios loaded and planned (with their
/// `--group-by`), where to run them, where the results go and what they must pass.
struct SweepOptions {
    plans: Vec<SweepPlan>,
    backend: BackendChoice,
    /// `--adapter`, `--adapter-index`, `--require-device`: which GPU adapter.
    adapter: AdapterChoice,
    /// CPU threads; 0 for one per core.
    threads: usize,
    /// `--format` (`--json` is `json`).
    format: OutputFormat,
    /// `--quiet`: no progress bar, no notices.
    quiet: bool,
    out: Option<PathBuf>,
    /// `--check` and `--require-feasible` (each scenario's `[checks]` are added to these).
    checks: CheckSet,
    /// `--sensitivity`: add the tornado.
    sensitivity: bool,
    /// `--markdown FILE`: where each scenario's markdown section is appended.
    markdown: Option<PathBuf>,
    /// `--shard`: the part to run, where its partial goes, and the inputs it records.
    shard: Option<ShardRun>,
    /// `--checkpoint`: where progress is saved and resumed from.
    checkpoint: Option<CheckpointRun>,
    /// The catalog the scenarios were read with (its citations go into report.html).
    catalog: Catalog,
    /// `--chunk` (hidden): configurations per CPU piece and GPU chunk.
    chunk: Option<u64>,
}

/// A validated `--checkpoint`: the file and how often it is saved.
struct CheckpointRun {
    path: PathBuf,
    every: std::time::Duration,
    /// `--chunk`: fixed segments; `--stop-after-segments` (both hidden, for tests).
    segment: Option<u64>,
    stop_after_segments: Option<u64>,
    /// Set by SIGINT/SIGTERM once [`CheckpointRun::catch_signals`] has run.
    stop: checkpoint::StopRequest,
}

impl CheckpointRun {
    /// Check `--checkpoint` before any work: one scenario, a file (not a folder), a sane
    /// interval, and an existing checkpoint that belongs to this very run.
    fn from_args(
        args: &SweepArgs,
        plans: &[SweepPlan],
        shard: Option<&ShardRun>,
    ) -> Result<Option<CheckpointRun>, CliError> {
        let Some(path) = &args.checkpoint else {
            return Ok(None);
        };
        let [plan] = plans else {
            return Err(CliError::input("--checkpoint: one scenario at a time"));
        };
        if !(args.checkpoint_every.is_finite() && (0.0..=86_400.0).contains(&args.checkpoint_every))
        {
            return Err(CliError::input(format!(
                "--checkpoint-every {}: give seconds from 0 to 86400",
                args.checkpoint_every
            )));
        }
        let path = checkpoint::check_path(path).map_err(|e| CliError::input(e.to_string()))?;
        let range = match shard {
            Some(sh) => sh.spec.grid_range(plan),
            None => 0..plan.grid.size,
        };
        checkpoint::load(&path, &checkpoint::CheckpointKey::of(plan, &range))
            .map_err(checkpoint_error)?;
        Ok(Some(CheckpointRun {
            path,
            every: std::time::Duration::from_secs_f64(args.checkpoint_every),
            segment: args.chunk.filter(|&c| c > 0),
            stop_after_segments: args.stop_after_segments,
            stop: checkpoint::StopRequest::default(),
        }))
    }

    /// Catch SIGINT and SIGTERM from now on (before the backends open: a GPU can take
    /// seconds to start).
    fn catch_signals(&mut self) -> Result<(), CliError> {
        self.stop = checkpoint::StopRequest::catch_signals().map_err(checkpoint_error)?;
        Ok(())
    }
}

/// The exit code and message of a checkpoint problem: a file that is not this run's is bad
/// input; a failed save is a run-time failure; a failed backend a GPU failure.
fn checkpoint_error(e: checkpoint::CheckpointError) -> CliError {
    use checkpoint::CheckpointError as E;
    let code = match &e {
        E::NotCheckpoint { .. } | E::Foreign { .. } => EXIT_INPUT,
        E::Io(_) => EXIT_RUNTIME,
        E::Backend(_) => EXIT_GPU,
    };
    CliError {
        code,
        message: e.to_string(),
    }
}

/// What running a range gave: its result and run time, or the exit code of a run stopped
/// by a signal (its checkpoint saved).
enum RangeRun {
    Done(Box<clustersweep::sweep::RangeResult>, f64),
    Stopped(i32),
}

/// Run `range` of `plan`, straight through or in checkpointed segments.
fn run_range(
    plan: &SweepPlan,
    range: std::ops::Range<u64>,
    primary: &dyn Backend,
    fallback: Option<&dyn Backend>,
    tick: &(dyn Fn(u64) + Sync),
    checkpoint: Option<&CheckpointRun>,
) -> Result<RangeRun, CliError> {
    let Some(ck) = checkpoint else {
        let start = std::time::Instant::now();
        let r = clustersweep::sweep::sweep_range(plan, range, primary, fallback, tick).map_err(
            |e| CliError {
                code: EXIT_GPU,
                message: e.message,
            },
        )?;
        return Ok(RangeRun::Done(Box::new(r), start.elapsed().as_secs_f64()));
    };
    let outcome = checkpoint::run_checkpointed(
        plan,
        range,
        primary,
        fallback,
        tick,
        &checkpoint::Saving {
            path: &ck.path,
            every: ck.every,
            segment: ck.segment,
            stop_after_segments: ck.stop_after_segments,
        },
        &ck.stop,
    )
    .map_err(checkpoint_error)?;
    match outcome {
        checkpoint::CheckpointOutcome::Stopped {
            signal,
            done,
            total,
        } => {
            eprintln_escaped!(
                "clustersweep: stopped by {} after {done} of {total} configurations; progress saved to {} (rerun the same command to resume)",
                if signal == signal_hook::consts::SIGINT { "SIGINT" } else { "SIGTERM" },
                ck.path.display()
            );
            Ok(RangeRun::Stopped(128 + signal))
        }
        checkpoint::CheckpointOutcome::Finished {
            mut result,
            elapsed_s,
            resumed_from,
        } => {
            if resumed_from > 0 {
                result.notices.push(format!(
                    "resumed from the checkpoint {}: {resumed_from} configurations were done before",
                    ck.path.display()
                ));
            }
            Ok(RangeRun::Done(result, elapsed_s))
        }
    }
}

/// A validated `--shard`.
struct ShardRun {
    spec: clustersweep::shard::ShardSpec,
    partial: PathBuf,
    scenario: clustersweep::shard::InputText,
    catalog: clustersweep::shard::InputText,
    group_by: Option<Vec<String>>,
}

impl ShardRun {
    fn from_args(args: &SweepArgs, plan: &SweepPlan) -> Result<Option<ShardRun>, CliError> {
        let (Some(text), Some(partial)) = (&args.shard.shard, &args.shard.partial) else {
            return Ok(None);
        };
        let spec = clustersweep::shard::ShardSpec::from_env(text, |k| std::env::var(k).ok())
            .map_err(|e| CliError::input(e.to_string()))?;
        let read = |path: &Option<PathBuf>, what: &str, builtin: (&str, &str)| {
            Ok::<_, CliError>(match path {
                Some(p) => (
                    p.display().to_string(),
                    clustersweep::input::read_text_file(
                        p,
                        what,
                        clustersweep::input::MAX_TOML_BYTES,
                    )?,
                ),
                None => (builtin.0.to_string(), builtin.1.to_string()),
            })
        };
        let (sfile, stext) = read(
            &args.scenarios.first().cloned(),
            "scenario",
            (
                clustersweep::scenario::DEFAULT_SCENARIO_NAME,
                clustersweep::scenario::DEFAULT_SCENARIO,
            ),
        )?;
        let (cfile, ctext) = read(
            &args.catalog.catalog,
            "catalog",
            (
                clustersweep::catalog::BUILTIN_CATALOG_NAME,
                clustersweep::catalog::BUILTIN_CATALOG,
            ),
        )?;
        Ok(Some(ShardRun {
            spec,
            partial: partial.clone(),
            scenario: clustersweep::shard::InputText {
                file: plan.scenario.file.clone(),
                sha256: clustersweep::provenance::sha256_hex(stext.as_bytes()),
                text: stext,
            }
            .checked(&sfile, &plan.scenario.sha256)?,
            catalog: clustersweep::shard::InputText {
                file: cfile.clone(),
                sha256: clustersweep::provenance::sha256_hex(ctext.as_bytes()),
                text: ctext,
            }
            .checked(&cfile, &plan.scenario.catalog_sha256)?,
            group_by: args.group_by.clone(),
        }))
    }
}

impl SweepOptions {
    /// Load and check everything before anything runs; an error names the offending flag
    /// (or the input file).
    fn from_args(args: SweepArgs) -> Result<SweepOptions, CliError> {
        let catalog = load_catalog(&args.catalog)?;
        let scenarios = if args.scenarios.is_empty() {
            vec![Scenario::builtin_default(&catalog)?]
        } else {
            args.scenarios
                .iter()
                .map(|p| Scenario::load(p, &catalog))
                .collect::<Result<Vec<_>, _>>()?
        };
        if args.threads == Some(0) {
            return Err(CliError::input("--threads: must be at least 1"));
        }
        if let Some(dir) = &args.out {
            check_out_dir(dir)?;
        }
        if scenarios.len() > 1 {
            out_folder_names(&scenarios)?;
        }
        let plans = scenarios
            .into_iter()
            .map(|s| {
                SweepPlan::new(s, args.group_by.as_deref())
                    .and_then(|p| p.with_heatmap(args.heatmap.as_deref()))
                    .map_err(|e| CliError::input(e.to_string()))
            })
            .collect::<Result<Vec<_>, _>>()?;
        let shard = match plans.as_slice() {
            [plan] => ShardRun::from_args(&args, plan)?,
            _ if args.shard.shard.is_some() => {
                return Err(CliError::input("--shard: one scenario at a time"))
            }
            _ => None,
        };
        let checkpoint = CheckpointRun::from_args(&args, &plans, shard.as_ref())?;
        let format = json_alias(args.format, args.json);
        if let Some(md) = &args.markdown {
            if std::fs::metadata(md).is_ok_and(|m| m.is_dir()) {
                return Err(CliError::input(format!(
                    "--markdown {}: is a folder; give a file to append the markdown to",
                    md.display()
                )));
            }
        }
        if args
            .markdown
            .as_deref()
            .is_some_and(clustersweep::output::is_stdout)
            && format != OutputFormat::Table
        {
            return Err(CliError::input(format!(
                "--markdown -: stdout already gets --format {}; give --markdown a file",
                format
                    .to_possible_value()
                    .map_or("?".into(), |v| v.get_name().to_string())
            )));
        }
        for plan in &plans {
            let configs = match &shard {
                Some(sh) => {
                    let r = sh.spec.grid_range(plan);
                    r.end - r.start
                }
                None => plan.grid.size,
            };
            check_run_size(configs, args.max_configs, args.yes)?;
        }
        Ok(SweepOptions {
            shard,
            checkpoint,
            plans,
            backend: args.backend,
            adapter: args.gpu.choice(args.backend == BackendChoice::Cpu)?,
            threads: capped_threads(args.threads, args.quiet),
            format,
            quiet: args.quiet,
            out: args.out,
            checks: CheckSet {
                checks: args.checks,
                require_feasible: args.require_feasible,
            },
            sensitivity: args.sensitivity,
            markdown: args.markdown,
            catalog,
            chunk: args.chunk.filter(|&c| c > 0),
        })
    }
}

/// The folder under `--out` for each of several scenarios: its name, with characters other
/// than letters, digits, `-`, `_` and `.` replaced by `_`; two scenarios with the same
/// folder are bad input.
fn out_folder_names(scenarios: &[Scenario]) -> Result<Vec<String>, CliError> {
    let mut names: Vec<String> = Vec::new();
    for s in scenarios {
        let mut name: String = s
            .name
            .chars()
            .map(|c| {
                if c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.') {
                    c
                } else {
                    '_'
                }
            })
            .collect();
        if name.is_empty() || name.chars().all(|c| c == '.') {
            name = "scenario".into();
        }
        if let Some(k) = names.iter().position(|n| *n == name) {
            return Err(CliError::input(format!(
                "{}: scenario name `{}` gives the same --out folder `{name}` as {}; give the scenarios different names",
                s.file, s.name, scenarios[k].file
            )));
        }
        names.push(name);
    }
    Ok(names)
}

/// The backends of a run: the CPU always, and the GPU `--backend` asks for (or `auto`
/// finds: a real GPU, or the adapter `--adapter`/`--adapter-index` names). With
/// `--require-device`, the GPU is mandatory whatever `--backend` says: no adapter of that
/// type, or a GPU failure, is exit 3, never a quiet run on the CPU.
struct Backends {
    cpu: CpuBackend,
    gpu: Option<GpuBackend>,
    /// The CPU finishes what a failing GPU leaves (`auto`).
    fallback: bool,
    /// Why `auto` did not use a GPU (also printed on stderr when opening).
    notice: Option<String>,
}

impl Backends {
    /// `quiet`: no notice when `auto` finds no GPU; `chunk`: fixed CPU pieces and GPU
    /// chunks (configurations).
    fn open(
        choice: BackendChoice,
        adapter: &AdapterChoice,
        threads: usize,
        quiet: bool,
        chunk: Option<u64>,
    ) -> Result<Backends, CliError> {
        let cpu = CpuBackend::new(threads)
            .map_err(|e| CliError::runtime(e.message))?
            .with_piece(chunk);
        if threads > 0 {
            // The f64 re-evaluation of reported configurations runs on rayon's global pool:
            // as many threads as the CPU backend. Built once per process; a second open (the
            // same `--threads`) keeps it.
            let _ = rayon::ThreadPoolBuilder::new()
                .num_threads(threads)
                .build_global();
        }
        let gpu_options = GpuOptions {
            chunk,
            ..GpuOptions::default()
        };
        let mut auto_notice = None;
        let (gpu, fallback) = match (choice, adapter.require) {
            (BackendChoice::Cpu, _) => (None, false),
            (BackendChoice::Gpu, _) | (BackendChoice::Auto, Some(_)) => {
                let g =
                    GpuBackend::open_chosen(adapter, true, gpu_options.clone()).map_err(|e| {
                        CliError {
                            code: EXIT_GPU,
                            message: match adapter.require {
                                Some(r) => format!("--require-device {}: {e}", r.name()),
                                None => format!("--backend gpu: {e}"),
                            },
                        }
                    })?;
                (Some(g), false)
            }
            // A named adapter is used even when it is CPU-type; otherwise only real GPUs.
            (BackendChoice::Auto, None) => {
                match GpuBackend::open_chosen(adapter, adapter.is_explicit(), gpu_options.clone()) {
                    Ok(g) => (Some(g), true),
                    Err(e) => {
                        let why = format!("no usable GPU ({e}); running on the CPU");
                        if !quiet {
                            notice(&why);
                        }
                        auto_notice = Some(format!("--backend auto: {why}"));
                        (None, false)
                    }
                }
            }
        };
        Ok(Backends {
            cpu,
            gpu,
            fallback,
            notice: auto_notice,
        })
    }

    fn primary(&self) -> &dyn Backend {
        match &self.gpu {
            Some(g) => g,
            None => &self.cpu,
        }
    }

    fn fallback(&self) -> Option<&dyn Backend> {
        self.fallback.then_some(&self.cpu as &dyn Backend)
    }
}

/// Make the tornado; a failed sweep is a GPU failure (the CPU does not fail), no feasible
/// best a run-time failure.
fn make_tornado(
    scenario: &Scenario,
    backends: &Backends,
    quiet: bool,
) -> Result<clustersweep::sensitivity::Sensitivity, CliError> {
    use clustersweep::sensitivity::{tornado, SensitivityError};
    let t = tornado(scenario, backends.primary(), backends.fallback()).map_err(|e| {
        let code = match e {
            SensitivityError::Sweep { .. } => EXIT_GPU,
            SensitivityError::OutsideF32 { .. } => {
                return CliError::input(format!(
                    "{}: --backend gpu: {e}; use --backend cpu",
                    scenario.file
                ))
            }
            _ => EXIT_RUNTIME,
        };
        CliError {
            code,
            message: e.to_string(),
        }
    })?;
    if !quiet {
        for n in &t.notices {
            notice(&format!("sensitivity: {n}"));
        }
    }
    Ok(t)
}

fn sensitivity(args: SensitivityArgs) -> Result<i32, CliError> {
    let catalog = load_catalog(&args.catalog)?;
    let scenario = load_scenario(&args.scenario, &catalog)?;
    if args.threads == Some(0) {
        return Err(CliError::input("--threads: must be at least 1"));
    }
    let adapter = args.gpu.choice(args.backend == BackendChoice::Cpu)?;
    if args.backend == BackendChoice::Gpu || adapter.require.is_some() {
        // Before any device is opened, as `sweep` does; the tornado's other settings are
        // checked as it sweeps them (`SensitivityError::OutsideF32`).
        if let Ok(plan) = SweepPlan::new(scenario.clone(), Some(&[])) {
            refuse_outside_f32(&[plan])?;
        }
    }
    let backends = Backends::open(
        args.backend,
        &adapter,
        args.threads.unwrap_or(0),
        false,
        None,
    )?;
    let t = make_tornado(&scenario, &backends, false)?;
    if args.json {
        print_json(&report::sensitivity::json(&t))?;
    } else {
        emit(&report::sensitivity::table(&t))?;
    }
    Ok(0)
}

/// `--backend gpu` with an input the f32 kernels cannot represent is bad input (exit 2,
/// naming it), before any device is opened; `auto` runs such a plan on the CPU instead.
fn refuse_outside_f32(plans: &[SweepPlan]) -> Result<(), CliError> {
    for plan in plans {
        if let Some(what) = clustersweep::backend::gpu::f32_range::outside_f32(plan) {
            return Err(CliError::input(format!(
                "{}: --backend gpu: {what} cannot be represented in f32 (non-zero magnitudes from 1.2e-38 to 3.4e38), which the GPU kernels compute in; use --backend cpu",
                plan.scenario.file
            )));
        }
    }
    Ok(())
}

fn sweep(opts: SweepOptions) -> Result<i32, CliError> {
    let SweepOptions {
        plans,
        backend,
        adapter,
        threads,
        format,
        quiet,
        out,
        checks,
        shard,
        checkpoint,
        sensitivity,
        markdown,
        catalog,
        chunk,
    } = opts;
    // `--markdown -` owns stdout: the table goes to stderr.
    let markdown_on_stdout = markdown
        .as_deref()
        .is_some_and(clustersweep::output::is_stdout);
    let table_out = |text: &str| -> Result<(), CliError> {
        if markdown_on_stdout {
            eprint!("{}", clustersweep::format::printable(text));
            Ok(())
        } else {
            emit(text)
        }
    };
    let mut checkpoint = checkpoint;
    if let Some(ck) = checkpoint.as_mut() {
        ck.catch_signals()?;
    }
    let say = |text: &str| {
        if !quiet {
            notice(text);
        }
    };
    // `--require-device` makes the GPU mandatory: such a plan is refused as with `gpu`.
    if backend == BackendChoice::Gpu || adapter.require.is_some() {
        refuse_outside_f32(&plans)?;
    }
    let backends = Backends::open(backend, &adapter, threads, quiet, chunk)?;
    let (primary, fallback) = (backends.primary(), backends.fallback());
    if let Some(shard) = shard {
        return sweep_shard(
            &plans[0],
            &shard,
            primary,
            fallback,
            checkpoint.as_ref(),
            quiet,
        );
    }
    let several = plans.len() > 1;
    if several && format == OutputFormat::Csv {
        return Err(CliError::input(
            "--format csv: prints one scenario's rows (their columns differ); give one scenario, or use --out DIR for each scenario's CSV files",
        ));
    }
    let folders = if several {
        out_folder_names(&plans.iter().map(|p| p.scenario.clone()).collect::<Vec<_>>())?
    } else {
        vec![String::new()]
    };
    let mut docs = Vec::new();
    let mut failed_checks = 0;
    for (plan, folder) in plans.iter().zip(&folders) {
        let progress =
            SweepProgress::new(plan.grid.size, !quiet && std::io::stderr().is_terminal());
        let tick = |n: u64| progress.tick(n);
        let (r, elapsed_s) = match run_range(
            plan,
            0..plan.grid.size,
            primary,
            fallback,
            &tick,
            checkpoint.as_ref(),
        )? {
            RangeRun::Done(r, elapsed_s) => (r, elapsed_s),
            RangeRun::Stopped(code) => {
                progress.finish();
                return Ok(code);
            }
        };
        progress.finish();
        let mut summary = summarise_known(plan, &r.reductions, r.backend, elapsed_s, &r.draws);
        summary.notices = r.notices;
        summary.requested_backend = Some(backend.name().to_string());
        for n in &summary.notices {
            say(n);
        }
        if let Some(n) = &backends.notice {
            summary.notices.insert(0, n.clone());
        }
        let tornado = if sensitivity {
            Some(make_tornado(&plan.scenario, &backends, quiet)?)
        } else {
            None
        };
        let set = checks.merged(&plan.scenario.checks);
        let dir = out
            .as_ref()
            .map(|d| if several { d.join(folder) } else { d.clone() });
        // The JSON summary, built only where something reads it (a large grid's Pareto
        // front makes it megabytes): JSON on stdout, `--out`, checks.
        let mut doc = (format == OutputFormat::Json || dir.is_some() || !set.is_empty())
            .then(|| report::json::summary(&summary));
        if let (Some(doc), Some(t)) = (doc.as_mut().and_then(|d| d.as_object_mut()), &tornado) {
            doc.insert("sensitivity".into(), report::sensitivity::json(t));
        }
        let outcomes = match &mut doc {
            Some(doc) if !set.is_empty() => {
                let outcomes = clustersweep::checks::evaluate(&set, doc)
                    .map_err(|e| CliError::input(e.to_string()))?;
                report::json::add_checks(doc, &outcomes);
                outcomes
            }
            _ => Vec::new(),
        };
        if let (Some(dir), Some(doc)) = (&dir, &doc) {
            write_out(dir, plan, &summary, doc, Some(&catalog), tornado.as_ref())?;
            if !quiet {
                wrote_out(dir);
            }
        }
        let section = (format == OutputFormat::Markdown || markdown.is_some())
            .then(|| report::markdown::sweep_section(&summary, tornado.as_ref(), &outcomes));
        match format {
            OutputFormat::Json => {}
            OutputFormat::Table => {
                if several {
                    table_out(&format!(
                        "== {} ({})\n",
                        summary.scenario_name, summary.scenario_file
                    ))?;
                }
                table_out(&report::table::summary(&summary))?;
                if let Some(t) = &tornado {
                    table_out(&format!("\n{}", report::sensitivity::table(t)))?;
                }
            }
            OutputFormat::Markdown => emit(section.as_deref().unwrap_or_default())?,
            OutputFormat::Csv => emit_csv(&summary)?,
        }
        if let (Some(path), Some(section)) = (&markdown, &section) {
            append_markdown(path, section, &summary.scenario_name, quiet)?;
        }
        for o in &outcomes {
            let line = format!(
                "clustersweep: {}: check {}",
                summary.scenario_name,
                o.line()
            );
            if !o.pass {
                failed_checks += 1;
                eprintln_escaped!("{line}");
            } else if format == OutputFormat::Table {
                table_out(&format!("{line}\n"))?;
            }
        }
        docs.extend(doc);
    }
    if format == OutputFormat::Json {
        if several {
            print_json(&serde_json::Value::Array(docs))?;
        } else if let Some(doc) = docs.first() {
            print_json(doc)?;
        }
    }
    if failed_checks > 0 {
        eprintln_escaped!("clustersweep: {failed_checks} check(s) failed (exit {EXIT_CHECK})");
        return Ok(EXIT_CHECK);
    }
    Ok(0)
}

/// `sweep --markdown FILE`: append one scenario's section (control characters escaped as on
/// stdout) and say so on stderr.
fn append_markdown(
    path: &std::path::Path,
    section: &str,
    scenario: &str,
    quiet: bool,
) -> Result<(), CliError> {
    let text = clustersweep::format::printable(section);
    clustersweep::output::append_file(path, text.as_bytes()).map_err(write_error("--markdown"))?;
    if !quiet && !clustersweep::output::is_stdout(path) {
        eprintln_escaped!(
            "clustersweep: appended the markdown summary of {scenario} to {}",
            path.display()
        );
    }
    Ok(())
}

/// Run one shard's range and write its partial result.
fn sweep_shard(
    plan: &SweepPlan,
    shard: &ShardRun,
    primary: &dyn Backend,
    fallback: Option<&dyn Backend>,
    checkpoint: Option<&CheckpointRun>,
    quiet: bool,
) -> Result<i32, CliError> {
    use clustersweep::shard::{IndexRange, Partial, PARTIAL_SCHEMA};
    let range = shard.spec.grid_range(plan);
    let progress = SweepProgress::new(
        range.end - range.start,
        !quiet && std::io::stderr().is_terminal(),
    );
    let tick = |n: u64| progress.tick(n);
    let (r, elapsed_s) = match run_range(plan, range.clone(), primary, fallback, &tick, checkpoint)?
    {
        RangeRun::Done(r, elapsed_s) => (r, elapsed_s),
        RangeRun::Stopped(code) => {
            progress.finish();
            return Ok(code);
        }
    };
    progress.finish();
    for n in r.notices.iter().filter(|_| !quiet) {
        notice(n);
    }
    let partial = Partial {
        schema: PARTIAL_SCHEMA.to_string(),
        tool: clustersweep::provenance::build_info(),
        scenario: shard.scenario.clone(),
        catalog: shard.catalog.clone(),
        group_by: shard.group_by.clone(),
        grid_size: plan.grid.size,
        shard: shard.spec,
        range: IndexRange {
            start: range.start,
            end: range.end,
        },
        backend: r.backend,
        elapsed_s,
        notices: r.notices,
        reductions: r.reductions,
    };
    let mut text =
        serde_json::to_vec_pretty(&partial).map_err(|e| CliError::runtime(e.to_string()))?;
    text.push(b'\n');
    clustersweep::output::write_file(&shard.partial, &text).map_err(write_error("--partial"))?;
    if !quiet && !clustersweep::output::is_stdout(&shard.partial) {
        eprintln_escaped!(
            "clustersweep: wrote {} (shard {}/{}, configurations {}..{})",
            shard.partial.display(),
            shard.spec.index,
            shard.spec.count,
            range.start,
            range.end
        );
    }
    Ok(0)
}

/// `merge`: read the parts, check they fit together, and report the whole grid's summary
/// as `sweep` does.
fn merge(
    parts: Vec<PathBuf>,
    format: OutputFormat,
    quiet: bool,
    out: Option<PathBuf>,
) -> Result<i32, CliError> {
    use clustersweep::shard::{self, Partial};
    if let Some(dir) = &out {
        check_out_dir(dir)?;
    }
    let mut read = Vec::with_capacity(parts.len());
    for p in &parts {
        let name = p.display().to_string();
        let text =
            clustersweep::input::read_text_file(p, "partial result", shard::MAX_PARTIAL_BYTES)?;
        let part = Partial::parse(&name, &text).map_err(|e| CliError::input(e.to_string()))?;
        read.push((name, part));
    }
    let merged = shard::merge(&read).map_err(|e| CliError::input(e.to_string()))?;
    let mut summary = clustersweep::summary::summarise(
        &merged.plan,
        &merged.reductions,
        merged.backend,
        merged.elapsed_s,
    );
    summary.notices = merged.notices;
    if !quiet {
        for n in &summary.notices {
            notice(n);
        }
    }
    let doc = report::json::summary(&summary);
    if let Some(dir) = &out {
        // The partials record no catalog file: citations come from each accelerator's
        // `source` in the scenario.
        write_out(dir, &merged.plan, &summary, &doc, None, None)?;
        if !quiet {
            wrote_out(dir);
        }
    }
    match format {
        OutputFormat::Json => print_json(&doc)?,
        OutputFormat::Table => emit(&report::table::summary(&summary))?,
        OutputFormat::Markdown => emit(&report::markdown::summary(&summary))?,
        OutputFormat::Csv => emit_csv(&summary)?,
    }
    Ok(0)
}

/// A notice on stderr.
fn notice(text: &str) {
    eprintln_escaped!("clustersweep: notice: {text}");
}

/// The line saying what `--out` wrote.
fn wrote_out(dir: &std::path::Path) {
    eprintln_escaped!(
        "clustersweep: wrote {}/report.html, its plots (.svg, .png), summary.json, best_by.csv, pareto.csv, heatmap.csv",
        dir.display()
    );
}

/// The reported configurations as CSV on stdout (`--format csv`).
fn emit_csv(summary: &clustersweep::summary::Summary) -> Result<(), CliError> {
    let bytes = report::csv::summary(summary)
        .map_err(|e| CliError::runtime(format!("--format csv: {e}")))?;
    clustersweep::output::stdout_write(&bytes)?;
    Ok(())
}

/// Print a JSON document, pretty, on stdout.
fn print_json(doc: &serde_json::Value) -> Result<(), CliError> {
    let text = serde_json::to_string_pretty(doc).map_err(|e| CliError::runtime(e.to_string()))?;
    emit(&format!("{text}\n"))
}

fn write_out(
    dir: &std::path::Path,
    plan: &SweepPlan,
    summary: &clustersweep::summary::Summary,
    doc: &serde_json::Value,
    catalog: Option<&Catalog>,
    tornado: Option<&clustersweep::sensitivity::Sensitivity>,
) -> Result<(), CliError> {
    let fail = |what: &str, e: &dyn std::fmt::Display| {
        CliError::runtime(format!(
            "--out: cannot write {}: {e}",
            dir.join(what).display()
        ))
    };
    let json = serde_json::to_vec_pretty(doc).map_err(|e| fail("summary.json", &e))?;
    let best_by = report::csv::best_by(summary).map_err(|e| fail("best_by.csv", &e))?;
    let pareto = report::csv::pareto(summary).map_err(|e| fail("pareto.csv", &e))?;
    let mut files: Vec<(String, Vec<u8>)> = vec![
        ("summary.json".into(), json),
        ("best_by.csv".into(), best_by),
        ("pareto.csv".into(), pareto),
    ];
    if let Some(heatmap) = report::csv::heatmap(summary) {
        files.push((
            "heatmap.csv".into(),
            heatmap.map_err(|e| fail("heatmap.csv", &e))?,
        ));
    }
    files.extend(
        report::html::report_files(plan, summary, catalog, tornado)
            .map_err(|e| CliError::runtime(format!("--out: {e}")))?,
    );
    let set: Vec<(&str, &[u8])> = files
        .iter()
        .map(|(n, b)| (n.as_str(), b.as_slice()))
        .collect();
    clustersweep::output::write_set(dir, &set).map_err(|e| CliError::runtime(format!("--out: {e}")))
}

fn eval(
    scenario: Option<PathBuf>,
    set: Vec<String>,
    samples: Option<u32>,
    format: OutputFormat,
    catalog: CatalogArg,
) -> Result<i32, CliError> {
    let catalog = load_catalog(&catalog)?;
    let mut scenario = load_scenario(&scenario, &catalog)?;
    let mut given: Vec<(Param, &str)> = Vec::new();
    for s in &set {
        let (name, value) = s
            .split_once('=')
            .ok_or_else(|| CliError::input(format!("--set `{s}`: expected NAME=VALUE")))?;
        let param = Param::from_name(name.trim()).ok_or_else(|| {
            CliError::input(format!(
                "--set `{s}`: unknown parameter `{}`; expected one of: {}",
                name.trim(),
                Param::all().map(Param::name).collect::<Vec<_>>().join(", ")
            ))
        })?;
        if let Some((_, first)) = given.iter().find(|(p, _)| *p == param) {
            return Err(CliError::input(format!(
                "--set `{s}`: `{}` is already set by --set `{first}`; give each name once",
                param.name()
            )));
        }
        given.push((param, s));
        scenario
            .set_from_text(param, value.trim())
            .map_err(|e| CliError::input(format!("--set `{s}`: {e}")))?;
    }
    if !given.is_empty() {
        if let Some(free) = clustersweep::rent::free_rent(&scenario) {
            return Err(CliError::input(format!("--set: {}: {free}", scenario.file)));
        }
    }
    if let Some(n) = samples {
        let max = clustersweep::uncertain::MAX_SAMPLES;
        let u = scenario.uncertainty.as_mut().ok_or_else(|| {
            CliError::input(format!(
                "--samples: scenario `{}` has no uncertain inputs ([uncertain])",
                scenario.name
            ))
        })?;
        if n == 0 || n > max {
            return Err(CliError::input(format!(
                "--samples: expected 1 to {max}, got {n}"
            )));
        }
        u.samples = n;
    }
    let digits = vec![0u64; scenario.axes.len()];
    let r = describe(&scenario, 0, &scenario.values_at(&digits));
    match format {
        OutputFormat::Json => print_json(&report::json::eval_object(&r))?,
        OutputFormat::Table => emit(&report::table::eval(&scenario.name, &r))?,
        OutputFormat::Markdown => emit(&report::markdown::eval(&scenario.name, &r))?,
        OutputFormat::Csv => {
            let bytes = report::csv::eval(&r)
                .map_err(|e| CliError::runtime(format!("--format csv: {e}")))?;
            clustersweep::output::stdout_write(&bytes)?;
        }
    }
    Ok(0)
}

fn read_summary(path: &std::path::Path) -> Result<serde_json::Value, CliError> {
    let name = path.display();
    let text = std::fs::read_to_string(path)
        .map_err(|e| CliError::input(format!("{name}: cannot read: {e}")))?;
    let doc: serde_json::Value = serde_json::from_str(&text)
        .map_err(|e| CliError::input(format!("{name}: not JSON: {e}")))?;
    clustersweep::diff::check_schema(&doc).map_err(|e| CliError::input(format!("{name}: {e}")))?;
    Ok(doc)
}

fn diff_summaries(
    old: &std::path::Path,
    new: &std::path::Path,
    limits: &[clustersweep::diff::ChangeLimit],
    json: bool,
    markdown: bool,
) -> Result<i32, CliError> {
    use clustersweep::diff;
    let d = diff::diff(&read_summary(old)?, &read_summary(new)?, limits);
    if json {
        print_json(&diff::to_json(&d))?;
    } else if markdown {
        emit(&diff::markdown(&d))?;
    } else {
        emit(&diff::text(&d))?;
    }
    if d.crossed() {
        eprintln_escaped!(
            "clustersweep: diff: a --max-change limit was crossed (exit {EXIT_CHECK})"
        );
        return Ok(EXIT_CHECK);
    }
    Ok(0)
}

fn list_catalog(json: bool, catalog: CatalogArg) -> Result<i32, CliError> {
    let catalog = load_catalog(&catalog)?;
    if json {
        print_json(&report::catalog::json(&catalog))?;
    } else {
        emit(&report::catalog::table(&catalog))?;
    }
    Ok(0)
}

fn validate(json: bool, dir: Option<PathBuf>, catalog: CatalogArg) -> Result<i32, CliError> {
    let catalog = load_catalog(&catalog)?;
    let results = clustersweep::validate::run_all(&catalog, dir.as_deref())?;
    if json {
        print_json(&report::backtest::json(&results))?;
    } else {
        emit(&report::backtest::table(&results))?;
    }
    let failed = results.iter().any(|r| !r.pass);
    Ok(if failed { EXIT_RUNTIME } else { 0 })
}

fn list_adapters(json: bool) -> Result<i32, CliError> {
    let list: Vec<_> = clustersweep::backend::gpu::adapters()
        .iter()
        .enumerate()
        .map(|(i, a)| clustersweep::backend::gpu::summarize(i, a))
        .collect();
    if json {
        print_json(&report::adapters::json(&list))?;
    } else {
        emit(&report::adapters::table(&list))?;
    }
    Ok(0)
}

/// `bench`'s options, validated: how to measure, which backends and adapters, and where
/// the documents go.
struct BenchCommandOptions {
    measure: clustersweep::bench::BenchOptions,
    /// `--backend`: only the CPU, only GPU adapters, or both (`None`).
    backends: Option<BenchChoice>,
    /// `--adapter`, `--adapter-index`, `--require-device`: which GPU adapters.
    adapter: AdapterChoice,
    /// `--json`: also write the `clustersweep.bench/2` document here.
    json: Option<PathBuf>,
    /// `--markdown`: also write the markdown here.
    markdown: Option<PathBuf>,
}

impl BenchCommandOptions {
    /// Check the counts; an error names the offending flag.
    fn from_args(args: BenchArgs) -> Result<BenchCommandOptions, CliError> {
        use clustersweep::bench::{self, WorkloadKind};
        if !(1..=bench::MAX_REPEATS).contains(&args.repeats) {
            return Err(CliError::input(format!(
                "--repeats: must be within 1 ..= {}",
                bench::MAX_REPEATS
            )));
        }
        if args.warmup > bench::MAX_WARMUP {
            return Err(CliError::input(format!(
                "--warmup: at most {}",
                bench::MAX_WARMUP
            )));
        }
        if args.threads == Some(0) {
            return Err(CliError::input("--threads: must be at least 1"));
        }
        if args.configs == Some(0) {
            return Err(CliError::input("--configs: must be at least 1"));
        }
        let workload = match args.workload {
            WorkloadChoice::Default => WorkloadKind::Default,
            WorkloadChoice::Synthetic => WorkloadKind::Synthetic,
        };
        let most =
            bench::max_workload_configs(workload).map_err(|e| CliError::input(e.to_string()))?;
        if args.configs.is_some_and(|n| n > most) {
            return Err(CliError::input(format!(
                "--configs: at most {most} for the {} workload ({})",
                workload.name(),
                match workload {
                    WorkloadKind::Default => "the default scenario's grid",
                    WorkloadKind::Synthetic => "the benchmark grid's longest extra axis",
                }
            )));
        }
        let stdout_docs = [&args.json, &args.markdown]
            .iter()
            .filter(|p| p.as_deref().is_some_and(clustersweep::output::is_stdout))
            .count();
        if stdout_docs > 1 {
            return Err(CliError::input(
                "--json - and --markdown -: only one of them can go to stdout",
            ));
        }
        Ok(BenchCommandOptions {
            measure: bench::BenchOptions {
                workload,
                configs: args.configs,
                warmup: args.warmup,
                repeats: args.repeats,
                threads: capped_threads(args.threads, false),
            },
            adapter: args.gpu.choice(args.backend == Some(BenchChoice::Cpu))?,
            backends: args.backend,
            json: args.json,
            markdown: args.markdown,
        })
    }
}

fn bench(opts: BenchCommandOptions) -> Result<i32, CliError> {
    use clustersweep::backend::gpu::{self, GpuBackend, GpuOptions};
    use clustersweep::bench;
    let BenchCommandOptions {
        measure,
        backends,
        adapter,
        json,
        markdown,
    } = opts;
    let workload =
        bench::describe_workload(&measure).map_err(|e| CliError::input(e.to_string()))?;
    let mut results = Vec::new();
    if backends != Some(BenchChoice::Gpu) {
        eprintln_escaped!("clustersweep: bench: cpu ...");
        results.push(bench::bench_cpu(&measure).map_err(|e| CliError::runtime(e.to_string()))?);
    }
    // `--backend gpu` or `--require-device`: a GPU that cannot be measured is exit 3.
    let gpu_required = backends == Some(BenchChoice::Gpu) || adapter.require.is_some();
    if backends != Some(BenchChoice::Cpu) {
        // Every adapter the choice accepts, CPU-type ones included, in `adapters` order.
        let mut found = match adapter.filter(gpu::adapters(), true) {
            Ok(found) => found,
            Err(e) if gpu_required => {
                return Err(CliError {
                    code: EXIT_GPU,
                    message: format!("bench: {e}"),
                })
            }
            Err(e) => {
                eprintln_escaped!("clustersweep: notice: {e}; GPU not measured");
                Vec::new()
            }
        };
        found.sort_by_key(|(i, _)| *i);
        for (_, a) in &found {
            let name = a.get_info().name;
            eprintln_escaped!("clustersweep: bench: gpu {name} ...");
            let measured = GpuBackend::new(a, GpuOptions::default())
                .map_err(|e| e.to_string())
                .and_then(|g| bench::bench_gpu(&g, &measure).map_err(|e| e.to_string()));
            match measured {
                Ok(r) => results.push(r),
                Err(e) if gpu_required => {
                    return Err(CliError {
                        code: EXIT_GPU,
                        message: format!("bench: {name}: {e}"),
                    })
                }
                Err(e) => eprintln_escaped!("clustersweep: notice: bench: {name} failed: {e}"),
            }
        }
    }
    let bench_report = bench::report(workload, measure.warmup, measure.repeats, results);
    let table = report::bench::table(&bench_report);
    let doc_on_stdout = [&json, &markdown]
        .iter()
        .any(|p| p.as_deref().is_some_and(clustersweep::output::is_stdout));
    if doc_on_stdout {
        // The document owns stdout; the table goes to stderr.
        eprint!("{}", clustersweep::format::printable(&table));
    } else {
        emit(&table)?;
    }
    let mut json_text =
        serde_json::to_vec_pretty(&bench_report).map_err(|e| CliError::runtime(e.to_string()))?;
    json_text.push(b'\n');
    let markdown_text = report::bench::markdown(&bench_report);
    for (flag, path, text) in [
        ("--json", json, json_text),
        ("--markdown", markdown, markdown_text.into_bytes()),
    ] {
        let Some(path) = path else { continue };
        clustersweep::output::write_file(&path, &text).map_err(write_error(flag))?;
        if !clustersweep::output::is_stdout(&path) {
            eprintln_escaped!("clustersweep: wrote {}", path.display());
        }
    }
    Ok(0)
}

fn bench_compare(
    files: Vec<PathBuf>,
    threshold: f64,
    json: bool,
    markdown: bool,
) -> Result<i32, CliError> {
    use clustersweep::bench_compare;
    let mut reports = Vec::new();
    for f in &files {
        let name = f.display().to_string();
        let text = std::fs::read_to_string(f)
            .map_err(|e| CliError::input(format!("{name}: cannot read: {e}")))?;
        let r = bench_compare::parse(&text).map_err(|e| CliError::input(format!("{name}: {e}")))?;
        reports.push((name, r));
    }
    let (base_name, base) = reports.remove(0);
    let c = bench_compare::compare((&base_name, &base), &reports, threshold);
    for f in &c.comparisons {
        for w in &f.warnings {
            eprintln_escaped!("clustersweep: warning: {}: {w}", f.file);
        }
    }
    if json {
        let doc = serde_json::to_value(&c).map_err(|e| CliError::runtime(e.to_string()))?;
        print_json(&doc)?;
    } else if markdown {
        emit(&report::bench::compare_markdown(&c))?;
    } else {
        emit(&report::bench::compare_text(&c))?;
    }
    if c.regressed {
        eprintln_escaped!(
            "clustersweep: bench compare: slower than the baseline beyond the threshold and the noise (exit {EXIT_CHECK})"
        );
        return Ok(EXIT_CHECK);
    }
    Ok(0)
}

/// `bench collect`: read the folder, say which files were skipped, write the outputs.
fn bench_collect(
    dir: &std::path::Path,
    csv: Option<PathBuf>,
    markdown: Option<PathBuf>,
    svg: Option<PathBuf>,
) -> Result<i32, CliError> {
    use clustersweep::output::{is_stdout, write_file};
    let outputs = [("--csv", &csv), ("--markdown", &markdown), ("--svg", &svg)];
    let to_stdout = outputs
        .iter()
        .filter(|(_, p)| p.as_deref().is_some_and(is_stdout))
        .count();
    if to_stdout > 1 {
        return Err(CliError::input(
            "bench collect: only one of --csv, --markdown, --svg can be `-` (stdout)",
        ));
    }
    let collected =
        clustersweep::bench_collect::collect(dir).map_err(|e| CliError::input(e.to_string()))?;
    for s in &collected.skipped {
        eprintln_escaped!(
            "clustersweep: bench collect: skipped {}: {}",
            s.file,
            s.reason
        );
    }
    collected
        .require_rows(dir)
        .map_err(|e| CliError::input(e.to_string()))?;
    let rows = &collected.rows;
    let table = report::bench_collect::markdown(rows);
    if to_stdout == 0 {
        emit(&table)?;
    }
    for (flag, path) in outputs {
        let Some(path) = path else { continue };
        let bytes = match flag {
            "--csv" => report::bench_collect::csv(rows)
                .map_err(|e| CliError::runtime(format!("--csv: {e}")))?,
            "--svg" => report::bench_collect::svg(rows)
                .map_err(|e| CliError::runtime(format!("--svg: {e}")))?
                .into_bytes(),
            _ => clustersweep::format::printable(&table)
                .into_owned()
                .into_bytes(),
        };
        write_file(path, &bytes).map_err(write_error(flag))?;
        if !is_stdout(path) {
            eprintln_escaped!("clustersweep: wrote {}", path.display());
        }
    }
    Ok(0)
}
