//! The `calibrate` command's arguments and run: read a measurement CSV, fit the clock factor
//! (`clustersweep::calibrate`), print the table or JSON with the TOML snippets, and with
//! `--out` write calibration.json and calibration.svg.

use super::{check_out_dir, emit, print_json, CliError};
use clap::ValueEnum;
use clustersweep::calibrate::{self, holdout, plot, render, CalibrateError, ClockForm};
use clustersweep::catalog::Catalog;
use std::path::PathBuf;

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum FormChoice {
    /// ((P - idle) / (tdp - idle)) ^ (1 / gamma), the model's form.
    PowerLaw,
    /// The same with the uncapped draw `uncapped_w` in place of tdp; caps above it are free.
    Knee,
}

/// `calibrate`'s arguments.
#[derive(clap::Args, Debug)]
pub struct CalibrateArgs {
    /// Measurements: CSV with a power limit, a throughput or time, optionally average power.
    measurements: PathBuf,
    /// The accelerator's TDP (W): the highest power limit, where the clock factor is 1.
    #[arg(long, value_name = "W")]
    tdp_w: f64,
    /// Columns whose values name a workload (comma-separated); one fit per workload and a
    /// pooled fit.
    #[arg(long, value_name = "COLUMNS", value_delimiter = ',')]
    group: Vec<String>,
    /// Print JSON.
    #[arg(long)]
    json: bool,
    /// Write calibration.json and calibration.svg (measured points, fitted curve) here.
    #[arg(long, value_name = "DIR")]
    out: Option<PathBuf>,
    /// Column holding the power limit (W) [default: power_limit, power.limit, ...].
    #[arg(long, value_name = "NAME")]
    limit_col: Option<String>,
    /// Column holding a throughput (work per unit time).
    #[arg(long, value_name = "NAME", conflicts_with = "time_col")]
    throughput_col: Option<String>,
    /// Column holding a time per unit of work (converted to throughput = 1 / time).
    #[arg(long, value_name = "NAME")]
    time_col: Option<String>,
    /// Column holding the measured average power (W) [default: average_power, power.draw, ...].
    #[arg(long, value_name = "NAME")]
    power_col: Option<String>,
    /// Hold idle_w at this value (e.g. a measured idle draw) instead of fitting it.
    #[arg(long, value_name = "W")]
    idle_w: Option<f64>,
    /// Clock-factor form to fit.
    #[arg(long, value_enum, default_value = "power-law")]
    form: FormChoice,
    /// Also compare the power-law and knee forms on held-out points.
    #[arg(long)]
    compare_forms: bool,
    /// Accelerator id for the TOML snippets (the catalog's min_power_w then bounds idle_w).
    #[arg(long, value_name = "ID", default_value = "ID")]
    accelerator: String,
}

fn input(e: CalibrateError) -> CliError {
    CliError::input(e.to_string())
}

/// Run `calibrate`.
pub fn run(args: CalibrateArgs) -> Result<i32, CliError> {
    if let Some(dir) = &args.out {
        check_out_dir(dir)?;
    }
    let choice = calibrate::ColumnChoice {
        limit: args.limit_col,
        throughput: args.throughput_col,
        time: args.time_col,
        power: args.power_col,
        group: args.group,
    };
    let m = calibrate::Measurements::load(&args.measurements, &choice).map_err(input)?;
    let opts = calibrate::CalibrateOptions {
        tdp_w: args.tdp_w,
        form: match args.form {
            FormChoice::PowerLaw => ClockForm::PowerLaw,
            FormChoice::Knee => ClockForm::Knee,
        },
        idle_w: args.idle_w,
    };
    let c = calibrate::calibrate(&m, &opts).map_err(input)?;
    for e in &c.skipped {
        eprintln_escaped!("clustersweep: notice: left out: {e}");
    }
    let comparison = if args.compare_forms {
        Some(holdout::compare(&m, &opts, &[ClockForm::PowerLaw, ClockForm::Knee]).map_err(input)?)
    } else {
        None
    };
    let min_power_w = Catalog::builtin().ok().and_then(|cat| {
        cat.accelerators
            .iter()
            .find(|a| a.id == args.accelerator)
            .map(|a| a.min_power_w)
    });
    let snippets = render::snippets(c.headline(), &args.accelerator, min_power_w);
    let doc = render::json(&c, &snippets, comparison.as_deref());
    if let Some(dir) = &args.out {
        let text = serde_json::to_vec_pretty(&doc).map_err(|e| CliError::runtime(e.to_string()))?;
        let svg = plot::svg(&c).map_err(|e| CliError::runtime(e.to_string()))?;
        clustersweep::output::write_set(
            dir,
            &[
                ("calibration.json", &text),
                ("calibration.svg", svg.as_bytes()),
            ],
        )
        .map_err(|e| CliError::runtime(format!("--out: {e}")))?;
    }
    if args.json {
        print_json(&doc)?;
    } else {
        let mut text = render::table(&c);
        if let Some(rows) = &comparison {
            text.push('\n');
            text.push_str(&render::comparison_table(rows));
        }
        let which = if c.pooled.is_some() {
            "pooled fit"
        } else {
            "fit"
        };
        text.push_str(&format!(
            "\npoint estimates ({which}), for a scenario:\n{}\n\
             or, to draw them instead (a parameter is fixed or uncertain, not both; normal is \
             truncated to mean +/- 3 sd):\n{}",
            snippets.point, snippets.uncertain
        ));
        emit(&text)?;
    }
    if let Some(dir) = &args.out {
        eprintln_escaped!(
            "clustersweep: wrote {}/calibration.json, calibration.svg",
            dir.display()
        );
    }
    Ok(0)
}
