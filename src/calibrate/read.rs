//! Reading measurement CSV files: which column is the power limit, the throughput (or the
//! time per unit of work) and the average power, for Zeus traces, nvidia-smi and DCGM
//! exports or named columns, and turning each row into a [`Point`].

use super::CalibrateError;
use std::path::Path;

/// Which columns to read; `None` picks one by its usual names.
#[derive(Clone, Debug, Default)]
pub struct ColumnChoice {
    pub limit: Option<String>,
    pub throughput: Option<String>,
    pub time: Option<String>,
    pub power: Option<String>,
    /// Columns whose values together name a workload (`--group`).
    pub group: Vec<String>,
}

/// Names (lower case, a trailing ` [unit]` dropped) recognised for each role, in order.
pub const LIMIT_NAMES: &[&str] = &[
    "power_limit",
    "power.limit",
    "enforced.power.limit",
    "power.management.limit",
    "power_limit_w",
    "limit_w",
    "dcgm_fi_dev_power_mgmt_limit",
];
pub const THROUGHPUT_NAMES: &[&str] = &[
    "throughput",
    "rel_throughput",
    "samples_per_s",
    "tokens_per_s",
    "items_per_s",
];
pub const TIME_NAMES: &[&str] = &[
    "time_per_epoch",
    "time_per_step",
    "step_time_s",
    "time_s",
    "time",
];
pub const POWER_NAMES: &[&str] = &[
    "average_power",
    "power.draw",
    "power.draw.average",
    "avg_power_w",
    "power_w",
    "dcgm_fi_dev_power_usage",
];

/// Whether a row's work rate came as a throughput or as a time per unit of work.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RateKind {
    Throughput,
    Time,
}

/// The columns used, by header name.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ColumnsUsed {
    pub limit: String,
    pub rate: String,
    pub rate_kind: RateKind,
    pub power: Option<String>,
    pub group: Vec<String>,
}

/// One measured row.
#[derive(Clone, Debug, PartialEq)]
pub struct Point {
    /// 1-based line in the file.
    pub line: u64,
    pub group: String,
    pub limit_w: f64,
    /// Work per unit time (1 / time when the file gives times).
    pub throughput: f64,
    pub power_w: Option<f64>,
}

/// A measurement file, read.
#[derive(Clone, Debug)]
pub struct Measurements {
    pub file: String,
    pub columns: ColumnsUsed,
    pub points: Vec<Point>,
}

/// Header name as matched: trimmed, lower case, without a trailing `[unit]` or `(unit)`.
fn normalized(header: &str) -> String {
    let h = header.trim().to_lowercase();
    let h = match h.find(['[', '(']) {
        Some(i) if i > 0 => h[..i].trim_end().to_string(),
        _ => h,
    };
    h
}

/// A cell's number: surrounding spaces and a unit suffix (`W`, `s`, `ms`) allowed; `ms` is
/// converted to seconds.
fn number(cell: &str) -> Option<f64> {
    let c = cell.trim();
    let lower = c.to_ascii_lowercase();
    let (digits, factor) = if let Some(d) = lower.strip_suffix("ms") {
        (d, 1e-3)
    } else if let Some(d) = lower.strip_suffix('w').or_else(|| lower.strip_suffix('s')) {
        (d, 1.0)
    } else {
        (lower.as_str(), 1.0)
    };
    let v: f64 = digits.trim().parse().ok()?;
    v.is_finite().then_some(v * factor)
}

impl Measurements {
    /// Read and check a CSV file.
    pub fn load(path: &Path, choice: &ColumnChoice) -> Result<Measurements, CalibrateError> {
        let file = path.display().to_string();
        let text = std::fs::read(path).map_err(|e| CalibrateError::Read {
            file: file.clone(),
            reason: e.to_string(),
        })?;
        Measurements::parse(&file, &text, choice)
    }

    /// Parse CSV text (`file` names it in errors).
    pub fn parse(
        file: &str,
        text: &[u8],
        choice: &ColumnChoice,
    ) -> Result<Measurements, CalibrateError> {
        let mut reader = csv::ReaderBuilder::new()
            .trim(csv::Trim::All)
            .flexible(false)
            .from_reader(text);
        let headers: Vec<String> = reader
            .headers()
            .map_err(|e| csv_error(file, &e))?
            .iter()
            .map(str::to_string)
            .collect();
        if headers.iter().all(|h| h.is_empty()) {
            return Err(CalibrateError::Empty { file: file.into() });
        }
        let find = |role: &str, flag: &str, given: &Option<String>, names: &[&str]| {
            find_column(file, &headers, role, flag, given.as_deref(), names)
        };
        let limit = find("power limit", "--limit-col", &choice.limit, LIMIT_NAMES)?
            .ok_or_else(|| missing(file, "power limit", "--limit-col", LIMIT_NAMES, &headers))?;
        let (rate, rate_kind) = match (&choice.throughput, &choice.time) {
            (Some(_), Some(_)) => {
                return Err(CalibrateError::Options(
                    "--throughput-col and --time-col: give one of the two".into(),
                ))
            }
            (Some(_), None) => (
                find("throughput", "--throughput-col", &choice.throughput, &[])?,
                RateKind::Throughput,
            ),
            (None, Some(_)) => (
                find("time", "--time-col", &choice.time, &[])?,
                RateKind::Time,
            ),
            (None, None) => {
                match find("throughput", "--throughput-col", &None, THROUGHPUT_NAMES)? {
                    Some(i) => (Some(i), RateKind::Throughput),
                    None => (
                        find("time", "--time-col", &None, TIME_NAMES)?,
                        RateKind::Time,
                    ),
                }
            }
        };
        let rate = rate.ok_or_else(|| {
            let names: Vec<&str> = THROUGHPUT_NAMES.iter().chain(TIME_NAMES).copied().collect();
            missing(
                file,
                "throughput or time",
                "--throughput-col or --time-col",
                &names,
                &headers,
            )
        })?;
        // A column read as the limit is not also the draw (clock-lock data give the
        // measured power as the limit).
        let power = find("average power", "--power-col", &choice.power, POWER_NAMES)?
            .filter(|&i| i != limit || choice.power.is_some());
        let mut group = Vec::new();
        for g in &choice.group {
            let i = find("group", "--group", &Some(g.clone()), &[])?
                .ok_or_else(|| missing(file, "group", "--group", &[], &headers))?;
            group.push(i);
        }

        let mut points = Vec::new();
        for record in reader.records() {
            let record = record.map_err(|e| csv_error(file, &e))?;
            let line = record.position().map_or(0, |p| p.line());
            if record.iter().all(str::is_empty) {
                continue;
            }
            let cell = |i: usize, what: &str| -> Result<f64, CalibrateError> {
                let raw = record.get(i).unwrap_or("");
                let bad = |why: &str| CalibrateError::Cell {
                    file: file.into(),
                    line,
                    column: headers[i].clone(),
                    column_number: i + 1,
                    value: raw.into(),
                    why: why.into(),
                };
                let v = number(raw).ok_or_else(|| bad(&format!("{what} is not a number")))?;
                if v <= 0.0 {
                    return Err(bad(&format!("{what} must be positive")));
                }
                Ok(v)
            };
            let limit_w = cell(limit, "the power limit")?;
            let rate_value = cell(
                rate,
                match rate_kind {
                    RateKind::Throughput => "the throughput",
                    RateKind::Time => "the time",
                },
            )?;
            let throughput = match rate_kind {
                RateKind::Throughput => rate_value,
                RateKind::Time => 1.0 / rate_value,
            };
            let power_w = power.map(|i| cell(i, "the average power")).transpose()?;
            let group = group
                .iter()
                .map(|&i| record.get(i).unwrap_or(""))
                .collect::<Vec<_>>()
                .join("/");
            points.push(Point {
                line,
                group,
                limit_w,
                throughput,
                power_w,
            });
        }
        if points.is_empty() {
            return Err(CalibrateError::Empty { file: file.into() });
        }
        Ok(Measurements {
            file: file.into(),
            columns: ColumnsUsed {
                limit: headers[limit].clone(),
                rate: headers[rate].clone(),
                rate_kind,
                power: power.map(|i| headers[i].clone()),
                group: group.iter().map(|&i| headers[i].clone()).collect(),
            },
            points,
        })
    }

    /// The groups in order of first appearance, each with its points.
    pub fn groups(&self) -> Vec<(String, Vec<&Point>)> {
        let mut out: Vec<(String, Vec<&Point>)> = Vec::new();
        for p in &self.points {
            match out.iter_mut().find(|(g, _)| *g == p.group) {
                Some((_, v)) => v.push(p),
                None => out.push((p.group.clone(), vec![p])),
            }
        }
        out
    }
}

/// The index of the column for a role: the one named by its flag, else the first usual name.
fn find_column(
    file: &str,
    headers: &[String],
    role: &str,
    flag: &str,
    given: Option<&str>,
    names: &[&str],
) -> Result<Option<usize>, CalibrateError> {
    let normalized_headers: Vec<String> = headers.iter().map(|h| normalized(h)).collect();
    if let Some(name) = given {
        let want = name.trim();
        return headers
            .iter()
            .position(|h| h == want)
            .or_else(|| {
                normalized_headers
                    .iter()
                    .position(|h| *h == normalized(want))
            })
            .map(Some)
            .ok_or_else(|| CalibrateError::MissingColumn {
                file: file.into(),
                role: role.into(),
                hint: format!("{flag} `{want}` is not a column"),
                have: headers.join(", "),
            });
    }
    Ok(names
        .iter()
        .find_map(|n| normalized_headers.iter().position(|h| h == n)))
}

fn missing(
    file: &str,
    role: &str,
    flag: &str,
    names: &[&str],
    headers: &[String],
) -> CalibrateError {
    CalibrateError::MissingColumn {
        file: file.into(),
        role: role.into(),
        hint: if names.is_empty() {
            format!("name it with {flag}")
        } else {
            format!("looked for {}; name it with {flag}", names.join(", "))
        },
        have: headers.join(", "),
    }
}

fn csv_error(file: &str, e: &csv::Error) -> CalibrateError {
    let line = e.position().map(|p| p.line());
    let reason = match e.kind() {
        csv::ErrorKind::UnequalLengths {
            expected_len, len, ..
        } => {
            format!("{len} fields where the header has {expected_len}")
        }
        csv::ErrorKind::Utf8 { .. } => "not UTF-8 text".into(),
        _ => e.to_string(),
    };
    CalibrateError::Csv {
        file: file.into(),
        line,
        reason,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cells_with_units_are_numbers() {
        assert_eq!(number(" 250.00 W"), Some(250.0));
        assert_eq!(number("12.5s"), Some(12.5));
        assert_eq!(number("1500 ms"), Some(1.5));
        assert_eq!(number("abc"), None);
        assert_eq!(number(""), None);
        assert_eq!(number("inf"), None);
    }

    #[test]
    fn headers_drop_their_units() {
        assert_eq!(normalized(" power.limit [W]"), "power.limit");
        assert_eq!(normalized("Power_Limit (W)"), "power_limit");
    }
}
