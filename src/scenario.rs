//! Scenario files (TOML) in, validated plain data out. Every user-facing problem with a
//! scenario is reported here as an [`InputError`] naming the file, line:column, key and
//! reason; after parsing, a [`Scenario`] is known to be well formed (its configurations may
//! still be invalid, which the model counts, never reports as an error).

use crate::catalog::{self, find_accelerator, parse_accelerator, Catalog};
use crate::grid::Grid;
use crate::input::{get, join_key, Doc, InputError, Table, Value};
use crate::model::{
    Accelerator, Config, Constraints, Metric, MetricNeeds, Objective, Sense, Workload,
};
use crate::params::{
    round_integer, CostModel, FacilityBasis, Param, ParamKind, Precision, PARAM_COUNT,
};
use crate::uncertain::{self, Statistic, UncertainInput, Uncertainty};
use toml::de::DeValue;

/// The scenario run when none is given.
pub const DEFAULT_SCENARIO: &str = include_str!("../configs/scenarios/openai-aws-2025.toml");
/// Name of the default scenario in messages.
pub const DEFAULT_SCENARIO_NAME: &str = "<built-in configs/scenarios/openai-aws-2025.toml>";

/// Longest axis accepted (values are kept in memory).
pub const MAX_AXIS_LEN: u64 = 1 << 24;

/// Top-level keys of a scenario.
const TOP_KEYS: [&str; 10] = [
    "name",
    "description",
    "axes",
    "fixed",
    "constraints",
    "objective",
    "workload",
    "accelerators",
    "uncertain",
    "checks",
];

/// Where a parameter's value comes from.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Source {
    /// The spec's default (or the accelerator's figure).
    Default,
    /// One value for the whole grid (codes for categorical parameters).
    Fixed(f64),
    /// One multiplier for the whole grid: the value is `x` times the value the parameter
    /// would otherwise have (per-accelerator value, figure or default; spec v2 "Relative
    /// values").
    FixedTimes(f64),
    /// The axis at this position.
    Axis(usize),
}

/// One axis of the sweep.
#[derive(Clone, Debug, PartialEq)]
pub struct Axis {
    pub param: Param,
    /// Values; categorical parameters hold codes (accelerator index, precision, cost model).
    pub values: Vec<f64>,
    /// The values are multipliers of the value the parameter would otherwise have.
    pub times: bool,
}

/// Per-parameter raw values of one configuration; NaN = not set (use the default).
pub type ParamValues = [f64; PARAM_COUNT];

/// A parsed, validated scenario.
#[derive(Clone, Debug)]
pub struct Scenario {
    pub file: String,
    pub name: String,
    pub description: String,
    /// The accelerator table: the catalog (with the scenario's overrides), then the
    /// scenario's own definitions. Accelerator codes index this table.
    pub accelerators: Vec<Accelerator>,
    pub sources: [Source; PARAM_COUNT],
    pub axes: Vec<Axis>,
    pub constraints: Constraints,
    pub objective: Objective,
    pub workload: Workload,
    /// SHA-256 (hex) of the scenario text as read, and of the catalog it was read against.
    pub sha256: String,
    pub catalog_sha256: String,
    /// The uncertain inputs (`[uncertain]`, `[accelerators.ID.uncertain]`), if any.
    pub uncertainty: Option<Uncertainty>,
    /// `[objective] statistic`: what a configuration's draws are reduced to.
    pub statistic: Statistic,
    /// `[constraints] confidence`: the share of draws that must be feasible.
    pub confidence: f64,
    /// The `[checks]` table: what a run of this scenario must pass (exit 4 otherwise).
    pub checks: crate::checks::CheckSet,
}

impl Scenario {
    /// The built-in default scenario.
    pub fn builtin_default(catalog: &Catalog) -> Result<Scenario, InputError> {
        Scenario::parse(DEFAULT_SCENARIO_NAME, DEFAULT_SCENARIO, catalog)
    }

    /// Read and parse a scenario file.
    /// A path that is not UTF-8 is opened as it is and named lossily in messages.
    pub fn load(
        path: impl AsRef<std::path::Path>,
        catalog: &Catalog,
    ) -> Result<Scenario, InputError> {
        let path = path.as_ref();
        let text = crate::input::read_text_file(path, "scenario", crate::input::MAX_TOML_BYTES)?;
        Scenario::parse(&path.to_string_lossy(), &text, catalog)
    }

    /// Parse scenario text.
    pub fn parse(file: &str, text: &str, catalog: &Catalog) -> Result<Scenario, InputError> {
        let doc = Doc { file, text };
        let top = doc.parse()?;
        Scenario::from_table(&doc, &top, catalog, &[])
    }

    /// Build a scenario from a parsed table; `extra_keys` are top-level keys the caller
    /// handles itself (e.g. `compare` and `source` in validation cases).
    pub fn from_table(
        doc: &Doc<'_>,
        top: &Table<'_>,
        catalog: &Catalog,
        extra_keys: &[&str],
    ) -> Result<Scenario, InputError> {
        let allowed: Vec<&str> = TOP_KEYS.iter().chain(extra_keys).copied().collect();
        doc.only_keys(top, "", &allowed)?;
        let name = match get(top, "name") {
            Some(v) => doc.string(v, "name")?.to_string(),
            None => std::path::Path::new(doc.file).file_stem().map_or_else(
                || doc.file.to_string(),
                |s| s.to_string_lossy().into_owned(),
            ),
        };
        let description = match get(top, "description") {
            Some(v) => doc.string(v, "description")?.to_string(),
            None => String::new(),
        };
        let (accelerators, per_acc_uncertain) = parse_accelerators(doc, top, catalog)?;
        let workload = parse_workload(doc, top)?;

        let mut sources = [Source::Default; PARAM_COUNT];
        let mut axes = Vec::new();
        let mut first_key_of: [Option<(String, Value<'_>)>; PARAM_COUNT] = Default::default();

        if let Some(v) = get(top, "axes") {
            for (k, av) in doc.table(v, "axes")?.iter() {
                let key = join_key("axes", k.get_ref());
                let param = param_named(doc, k.get_ref(), k.span(), &key)?;
                check_not_twice(doc, &first_key_of, param, k.span(), &key)?;
                let (values, times) = match times_of(doc, av, &key, param)? {
                    Some(inner) => (parse_multipliers(doc, inner, &key, true, catalog)?, true),
                    None => (
                        parse_axis(doc, av, &key, param, &accelerators, catalog)?,
                        false,
                    ),
                };
                sources[param.index()] = Source::Axis(axes.len());
                axes.push(Axis {
                    param,
                    values,
                    times,
                });
                // Axis by axis, so that memory stays bounded before the grid is refused.
                check_grid_size(doc, top, &axes)?;
                first_key_of[param.index()] = Some((key, av.clone()));
            }
        }
        if let Some(v) = get(top, "fixed") {
            for (k, fv) in doc.table(v, "fixed")?.iter() {
                let key = join_key("fixed", k.get_ref());
                let param = param_named(doc, k.get_ref(), k.span(), &key)?;
                check_not_twice(doc, &first_key_of, param, k.span(), &key)?;
                sources[param.index()] = match times_of(doc, fv, &key, param)? {
                    Some(inner) => {
                        let x = parse_multipliers(doc, inner, &key, false, catalog)?;
                        Source::FixedTimes(x[0])
                    }
                    None => {
                        Source::Fixed(parse_value(doc, fv, &key, param, &accelerators, catalog)?)
                    }
                };
                first_key_of[param.index()] = Some((key, fv.clone()));
            }
        }
        if let (Some(_), Some((key, v))) = (
            &first_key_of[Param::PowerW.index()],
            &first_key_of[Param::PowerFrac.index()],
        ) {
            return Err(doc.error(v.span(), key, "set either power_w or power_frac, not both"));
        }
        let per_acc = |p: Param| {
            accelerators
                .iter()
                .any(|a| a.param_values[p.index()].is_some())
        };
        let sets = |p: Param| first_key_of[p.index()].is_some() || per_acc(p);
        if sets(Param::PowerW) && sets(Param::PowerFrac) {
            let span = get(top, "accelerators").map(|v| v.span()).unwrap_or(0..0);
            return Err(doc.error(
                span,
                "accelerators",
                "set either power_w or power_frac, not both (per-accelerator values included)",
            ));
        }
        for required in [Param::Accelerator, Param::GpuCount] {
            if sources[required.index()] == Source::Default {
                return Err(
                    doc.error_no_pos(required.name(), "required: set it in [fixed] or [axes]")
                );
            }
        }

        check_grid_size(doc, top, &axes)?;

        let (constraints, confidence) = parse_constraints(doc, top, &workload)?;
        let (objective, statistic) = parse_objective(doc, top, &workload)?;
        let uncertainty =
            parse_uncertainty(doc, top, per_acc_uncertain, &first_key_of, &accelerators)?;
        if let Some(u) = &uncertainty {
            let drawn = |p: Param| u.draws(p);
            if (drawn(Param::PowerW) && sets(Param::PowerFrac))
                || (drawn(Param::PowerFrac) && sets(Param::PowerW))
                || (drawn(Param::PowerW) && drawn(Param::PowerFrac))
            {
                let span = get(top, "uncertain").map(|v| v.span()).unwrap_or(0..0);
                return Err(doc.error(
                    span,
                    "uncertain",
                    "set either power_w or power_frac, not both (uncertain inputs included)",
                ));
            }
        }
        let scenario = Scenario {
            file: doc.file.to_string(),
            name,
            description,
            accelerators,
            sources,
            axes,
            constraints,
            objective,
            workload,
            sha256: crate::provenance::sha256_hex(doc.text.as_bytes()),
            catalog_sha256: catalog.sha256.clone(),
            uncertainty,
            statistic,
            confidence,
            checks: crate::checks::parse_checks_table(doc, top)?,
        };
        if let Some(free) = crate::rent::free_rent(&scenario) {
            // Point at the price if the scenario sets it, else at the cost model.
            let at = [Param::GpuHourUsd, Param::CostModel]
                .iter()
                .find_map(|p| first_key_of[p.index()].as_ref());
            return Err(match at {
                Some((key, v)) => doc.error(v.span(), key, free.to_string()),
                None => {
                    let span = get(top, "accelerators").map(|v| v.span()).unwrap_or(0..0);
                    doc.error(
                        span,
                        &format!("accelerators.{}", free.accelerator),
                        free.to_string(),
                    )
                }
            });
        }
        Ok(scenario)
    }

    /// The grid of this scenario.
    pub fn grid(&self) -> Grid {
        let lens: Vec<u64> = self.axes.iter().map(|a| a.values.len() as u64).collect();
        Grid::new(&lens).expect("axis lengths checked when parsing")
    }

    /// Raw parameter values at the given per-axis positions.
    pub fn values_at(&self, digits: &[u64]) -> ParamValues {
        let mut v = [f64::NAN; PARAM_COUNT];
        for (i, s) in self.sources.iter().enumerate() {
            v[i] = match *s {
                Source::Default => f64::NAN,
                Source::Fixed(x) | Source::FixedTimes(x) => x,
                Source::Axis(k) => self.axes[k].values[digits[k] as usize],
            };
        }
        v
    }

    /// Raw parameter values at a flat index.
    pub fn values_at_index(&self, index: u64) -> ParamValues {
        let grid = self.grid();
        let mut digits = vec![0; grid.lens.len()];
        grid.decode(index, &mut digits);
        self.values_at(&digits)
    }

    /// Whether `power_frac` sets the power limit (it is fixed, an axis, or set for some
    /// accelerator).
    pub fn power_from_frac(&self) -> bool {
        self.sources[Param::PowerFrac.index()] != Source::Default
            || self
                .accelerators
                .iter()
                .any(|a| a.param_values[Param::PowerFrac.index()].is_some())
            || self
                .uncertainty
                .as_ref()
                .is_some_and(|u| u.draws(Param::PowerFrac))
    }

    /// The uncertain input that draws `p` on the accelerator with code `acc`: its own
    /// (`[accelerators.ID.uncertain]`), else the table-wide one, else none.
    pub fn input_for(&self, p: Param, acc: usize) -> Option<&crate::uncertain::UncertainInput> {
        let u = self.uncertainty.as_ref()?;
        u.inputs_of(p)
            .find(|i| i.accelerator == Some(acc))
            .or_else(|| u.inputs_of(p).find(|i| i.accelerator.is_none()))
    }

    /// The value uncertain parameter `p` takes in draw `k` on the accelerator with code
    /// `acc` (its own input, else the table-wide one; a `times` draw multiplies the value
    /// it would otherwise have), or `None` where `p` is not drawn for that accelerator.
    pub fn drawn_value(&self, p: Param, acc: usize, k: u32) -> Option<f64> {
        let u = self.uncertainty.as_ref()?;
        let input = self.input_for(p, acc)?;
        let x = input.draw(u.seed, k);
        Some(if input.times {
            x * self.accelerators[acc].base(p)
        } else {
            x
        })
    }

    /// [`Scenario::resolve`] with the uncertain parameters at their values of draw `k`.
    pub fn resolve_draw<'a>(&'a self, v: &ParamValues, k: u32) -> (Config, &'a Accelerator) {
        let (mut c, acc) = self.resolve(v);
        if let Some(u) = &self.uncertainty {
            let code = v[Param::Accelerator.index()] as usize;
            for info in crate::params::PARAMS {
                if u.draws(info.param) {
                    if let Some(x) = self.drawn_value(info.param, code, k) {
                        c[info.param] = x;
                    }
                }
            }
        }
        (c, acc)
    }

    /// Draws per configuration: the uncertainty's samples, or 1.
    pub fn samples(&self) -> u32 {
        self.uncertainty.as_ref().map_or(1, |u| u.samples)
    }

    /// Whether the values of `p` (fixed or axis) are multipliers.
    pub fn is_times(&self, p: Param) -> bool {
        match self.sources[p.index()] {
            Source::FixedTimes(_) => true,
            Source::Axis(k) => self.axes[k].times,
            _ => false,
        }
    }

    /// Resolve raw values into a full configuration and its accelerator: every parameter's
    /// effective value (spec v2: the axis or fixed value, else the per-accelerator value,
    /// the accelerator's figure or the default; multipliers applied).
    pub fn resolve<'a>(&'a self, v: &ParamValues) -> (Config, &'a Accelerator) {
        let code = v[Param::Accelerator.index()];
        let acc = &self.accelerators[code as usize];
        let mut c = Config::base(acc);
        c[Param::Accelerator] = code;
        for info in crate::params::PARAMS {
            let p = info.param;
            let raw = v[p.index()];
            if p == Param::Accelerator || raw.is_nan() {
                continue;
            }
            c[p] = if self.is_times(p) {
                raw * acc.base(p)
            } else {
                raw
            };
        }
        if self.power_from_frac() {
            if c[Param::PowerFrac].is_nan() {
                c[Param::PowerFrac] = acc.base(Param::PowerFrac);
            }
        } else {
            c[Param::PowerFrac] = f64::NAN;
        }
        (c, acc)
    }

    /// The text form of a parameter's raw value (accelerator id, precision name, number).
    pub fn label(&self, param: Param, code: f64) -> String {
        match param {
            Param::Accelerator => self.accelerators[code as usize].id.clone(),
            Param::Precision => Precision::from_code(code).name().to_string(),
            Param::CostModel => CostModel::from_code(code).name().to_string(),
            Param::FacilityBasis => FacilityBasis::from_code(code).name().to_string(),
            _ => format!("{code}"),
        }
    }

    /// Position of the axis over `param`, if it is an axis.
    pub fn axis_of(&self, param: Param) -> Option<usize> {
        self.axes.iter().position(|a| a.param == param)
    }

    /// Replace a parameter's source with a fixed value given as text (`eval --set`).
    pub fn set_from_text(&mut self, param: Param, text: &str) -> Result<(), String> {
        let value = match param {
            Param::Accelerator => find_accelerator(&self.accelerators, text).ok_or_else(|| {
                format!(
                    "unknown accelerator `{text}`; known: {}",
                    self.accelerators
                        .iter()
                        .map(|a| a.id.as_str())
                        .collect::<Vec<_>>()
                        .join(", ")
                )
            })? as f64,
            Param::Precision => Precision::from_name(text)
                .ok_or_else(|| format!("unknown precision `{text}`; expected fp4, fp8 or bf16"))?
                as u8 as f64,
            Param::CostModel => CostModel::from_name(text)
                .ok_or_else(|| format!("unknown cost model `{text}`; expected own or rent"))?
                as u8 as f64,
            Param::FacilityBasis => FacilityBasis::from_name(text)
                .ok_or_else(|| format!("unknown facility basis `{text}`; expected tdp or limit"))?
                as u8 as f64,
            _ => {
                let x: f64 = text
                    .trim()
                    .parse()
                    .map_err(|_| format!("expected a number, got `{text}`"))?;
                if !x.is_finite() {
                    return Err(format!("expected a finite number, got `{text}`"));
                }
                if param.kind() == ParamKind::Integer {
                    round_integer(x)
                } else {
                    x
                }
            }
        };
        if let Some(u) = &mut self.uncertainty {
            // A value given on the command line is no longer uncertain.
            u.inputs.retain(|i| i.param != param);
        }
        if let Some(k) = self.axis_of(param) {
            // Keep the axis (positions stay meaningful) but make it a single value.
            self.axes[k].values = vec![value];
            self.axes[k].times = false;
        } else {
            self.sources[param.index()] = Source::Fixed(value);
        }
        // power_w and power_frac are alternatives: setting one drops the other.
        let other = match param {
            Param::PowerW => Some(Param::PowerFrac),
            Param::PowerFrac => Some(Param::PowerW),
            _ => None,
        };
        if let Some(o) = other {
            if let Some(k) = self.axis_of(o) {
                self.axes[k].values = vec![f64::NAN];
            }
            self.sources[o.index()] = match self.sources[o.index()] {
                Source::Axis(k) => Source::Axis(k),
                _ => Source::Default,
            };
        }
        Ok(())
    }
}

fn param_named(
    doc: &Doc<'_>,
    name: &str,
    span: std::ops::Range<usize>,
    key: &str,
) -> Result<Param, InputError> {
    Param::from_name(name).ok_or_else(|| {
        doc.error(
            span,
            key,
            format!(
                "unknown parameter; expected one of: {}",
                Param::all().map(Param::name).collect::<Vec<_>>().join(", ")
            ),
        )
    })
}

fn check_not_twice(
    doc: &Doc<'_>,
    seen: &[Option<(String, Value<'_>)>; PARAM_COUNT],
    param: Param,
    span: std::ops::Range<usize>,
    key: &str,
) -> Result<(), InputError> {
    if let Some((first, _)) = &seen[param.index()] {
        return Err(doc.error(
            span,
            key,
            format!("already set as `{first}`; a parameter is either fixed or an axis"),
        ));
    }
    Ok(())
}

fn parse_accelerators(
    doc: &Doc<'_>,
    top: &Table<'_>,
    catalog: &Catalog,
) -> Result<(Vec<Accelerator>, Vec<PerAccUncertain>), InputError> {
    let mut table: Vec<Accelerator> = catalog.accelerators.clone();
    let mut uncertain_tables = Vec::new();
    if let Some(v) = get(top, "accelerators") {
        for (id, av) in doc.table(v, "accelerators")?.iter() {
            let key = join_key("accelerators", id.get_ref());
            let full = doc.table(av, &key)?;
            // `[accelerators.ID.uncertain]` is read after the table is complete.
            let t: Table<'_> = full
                .iter()
                .filter(|(k, _)| k.get_ref() != "uncertain")
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect();
            let t = &t;
            // Keys that are parameters (and not catalog figures) set per-accelerator values.
            let is_param = |k: &str| -> bool {
                !catalog::FIELDS.contains(&k)
                    && Param::from_name(k).is_some_and(|p| p != Param::Accelerator)
            };
            let figures: Table<'_> = t
                .iter()
                .filter(|(k, _)| !is_param(k.get_ref()))
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect();
            let unknown = figures
                .iter()
                .find(|(k, _)| !catalog::FIELDS.contains(&k.get_ref().as_ref()));
            if let Some((k, _)) = unknown {
                return Err(doc.error(
                    k.span(),
                    &join_key(&key, k.get_ref()),
                    format!(
                        "unknown key; expected a catalog field ({}) or a parameter ({})",
                        catalog::FIELDS.join(", "),
                        Param::all()
                            .filter(|&p| p != Param::Accelerator)
                            .map(Param::name)
                            .collect::<Vec<_>>()
                            .join(", ")
                    ),
                ));
            }
            let existing = table.iter().position(|a| a.id == *id.get_ref());
            let mut acc = match existing {
                Some(i) => parse_accelerator(doc, &key, id.get_ref(), &figures, Some(&table[i]))?,
                None => parse_accelerator(doc, &key, id.get_ref(), &figures, None)?,
            };
            for (k, pv) in t.iter().filter(|(k, _)| is_param(k.get_ref())) {
                let pkey = join_key(&key, k.get_ref());
                let param = Param::from_name(k.get_ref()).expect("checked by is_param");
                let value = match times_of(doc, pv, &pkey, param)? {
                    Some(inner) => {
                        let x = parse_multipliers(doc, inner, &pkey, false, catalog)?[0];
                        x * acc.base(param)
                    }
                    None => parse_value(doc, pv, &pkey, param, &table, catalog)?,
                };
                acc.param_values[param.index()] = Some(value);
            }
            let code = match existing {
                Some(i) => {
                    table[i] = acc;
                    i
                }
                None => {
                    table.push(acc);
                    table.len() - 1
                }
            };
            if let Some(uv) = get(full, "uncertain") {
                let ukey = join_key(&key, "uncertain");
                let ut = doc.table(uv, &ukey)?;
                for (param, dist, times, span) in uncertain::parse_inputs(doc, ut, &ukey, &[])? {
                    let pkey = join_key(&ukey, param.name());
                    if !times && table[code].param_values[param.index()].is_some() {
                        return Err(doc.error(
                            span,
                            &pkey,
                            format!(
                                "`{}` is also set in [{key}]; a value is fixed or uncertain, not both (an uncertain `times` multiple of it is allowed)",
                                param.name()
                            ),
                        ));
                    }
                    uncertain_tables.push(PerAccUncertain {
                        input: UncertainInput {
                            param,
                            dist,
                            times,
                            accelerator: Some(code),
                        },
                        key: pkey,
                        span,
                    });
                }
            }
        }
    }
    Ok((table, uncertain_tables))
}

/// One input of an `[accelerators.ID.uncertain]` table, with where it was written.
struct PerAccUncertain {
    input: UncertainInput,
    key: String,
    span: std::ops::Range<usize>,
}

/// The scenario's uncertainty: `[uncertain]` and the per-accelerator tables; a parameter
/// that is an axis or fixed cannot also be uncertain.
fn parse_uncertainty(
    doc: &Doc<'_>,
    top: &Table<'_>,
    per_acc: Vec<PerAccUncertain>,
    set_as: &[Option<(String, Value<'_>)>; PARAM_COUNT],
    accelerators: &[Accelerator],
) -> Result<Option<Uncertainty>, InputError> {
    let table = get(top, "uncertain");
    if table.is_none() && per_acc.is_empty() {
        return Ok(None);
    }
    let (samples, seed, mut inputs) = match table {
        Some(v) => {
            let (samples, seed, list) = uncertain::parse_table(doc, v)?;
            let mut inputs = Vec::new();
            for (param, dist, times, span) in list {
                let key = join_key("uncertain", param.name());
                if let Some((first, _)) = &set_as[param.index()] {
                    return Err(doc.error(
                        span,
                        &key,
                        format!("already set as `{first}`; a parameter is an axis, fixed or uncertain, not two of them"),
                    ));
                }
                inputs.push((
                    UncertainInput {
                        param,
                        dist,
                        times,
                        accelerator: None,
                    },
                    key,
                    span,
                ));
            }
            (samples, seed, inputs)
        }
        None => (uncertain::DEFAULT_SAMPLES, 0, Vec::new()),
    };
    for a in per_acc {
        if let Some((first, _)) = &set_as[a.input.param.index()] {
            return Err(doc.error(
                a.span,
                &a.key,
                format!("already set as `{first}`; a parameter is an axis, fixed or uncertain, not two of them"),
            ));
        }
        inputs.push((a.input, a.key, a.span));
    }
    // Draws must keep each parameter inside what the model can take: a multiple is >= 0
    // (checked when parsing); other values are checked per draw by the model's ranges.
    let _ = accelerators;
    Ok(Some(Uncertainty {
        samples,
        seed,
        inputs: inputs.into_iter().map(|(i, _, _)| i).collect(),
    }))
}

/// The inside of a relative value `{ times = ... }`, or `None` for a plain value. Only
/// numeric parameters other than `gpu_count` and `job_gpus` take multipliers.
fn times_of<'t, 'i>(
    doc: &Doc<'_>,
    v: &'t Value<'i>,
    key: &str,
    param: Param,
) -> Result<Option<&'t Value<'i>>, InputError> {
    let DeValue::Table(t) = v.get_ref() else {
        return Ok(None);
    };
    let Some(inner) = get(t, "times") else {
        return Ok(None);
    };
    doc.only_keys(t, key, &["times"])?;
    if param.kind() != ParamKind::Real {
        return Err(doc.error(
            v.span(),
            key,
            format!(
                "`times` takes a multiple of a numeric value; `{}` is {}",
                param.name(),
                if param.kind() == ParamKind::Integer {
                    "a whole number of accelerators"
                } else {
                    "categorical"
                }
            ),
        ));
    }
    Ok(Some(inner))
}

/// Multipliers of a relative value: one number (`fixed`), or a list or range (`axis`).
/// Each is finite and >= 0.
fn parse_multipliers(
    doc: &Doc<'_>,
    v: &Value<'_>,
    key: &str,
    axis: bool,
    catalog: &Catalog,
) -> Result<Vec<f64>, InputError> {
    let key = join_key(key, "times");
    let values = match v.get_ref() {
        DeValue::Array(_) | DeValue::Table(_) if axis => {
            parse_axis(doc, v, &key, Param::Utilization, &[], catalog)?
        }
        _ if !axis => vec![doc.number(v, &key)?],
        other => {
            return Err(doc.error(
                v.span(),
                &key,
                format!(
                    "an axis of multipliers is a list or a range {{ from, to, steps, scale }}, found {}",
                    other.type_str()
                ),
            ))
        }
    };
    if let Some(x) = values.iter().find(|x| !(x.is_finite() && **x >= 0.0)) {
        return Err(doc.error(
            v.span(),
            &key,
            format!("a multiplier must be a finite number >= 0, got {x}"),
        ));
    }
    Ok(values)
}

fn parse_workload(doc: &Doc<'_>, top: &Table<'_>) -> Result<Workload, InputError> {
    let mut w = Workload::default();
    if let Some(v) = get(top, "workload") {
        let t = doc.table(v, "workload")?;
        doc.only_keys(t, "workload", &["train_flop", "model_params"])?;
        for (k, x) in t.iter() {
            let key = join_key("workload", k.get_ref());
            let n = doc.number(x, &key)?;
            if !(n.is_finite() && n > 0.0) {
                return Err(doc.error(
                    x.span(),
                    &key,
                    format!("must be a finite number > 0, got {n}"),
                ));
            }
            if k.get_ref() == "train_flop" {
                w.train_flop = Some(n);
            } else {
                w.model_params = Some(n);
            }
        }
    }
    Ok(w)
}

fn needs_workload(
    doc: &Doc<'_>,
    span: std::ops::Range<usize>,
    key: &str,
    metric: Metric,
    w: &Workload,
) -> Result<(), InputError> {
    if metric.applies(w) {
        return Ok(());
    }
    let what = if metric.needs() == MetricNeeds::TrainFlop {
        "train_flop"
    } else {
        "model_params"
    };
    Err(doc.error(span, key, format!("`{metric}` needs [workload] {what}")))
}

fn parse_constraints(
    doc: &Doc<'_>,
    top: &Table<'_>,
    w: &Workload,
) -> Result<(Constraints, f64), InputError> {
    let mut c = Constraints::default();
    let mut confidence = 1.0;
    if let Some(v) = get(top, "constraints") {
        let t = doc.table(v, "constraints")?;
        let mut allowed = Constraints::NAMES.to_vec();
        allowed.push("confidence");
        doc.only_keys(t, "constraints", &allowed)?;
        for (k, x) in t.iter() {
            let key = join_key("constraints", k.get_ref());
            let n = doc.number(x, &key)?;
            if k.get_ref() == "confidence" {
                if !(n > 0.0 && n <= 1.0) {
                    return Err(doc.error(x.span(), &key, format!("must be in (0, 1], got {n}")));
                }
                confidence = n;
                continue;
            }
            if k.get_ref() == "max_train_days" {
                needs_workload(doc, x.span(), &key, Metric::TrainDays, w)?;
            }
            c.set(k.get_ref(), n);
        }
    }
    Ok((c, confidence))
}

fn parse_objective(
    doc: &Doc<'_>,
    top: &Table<'_>,
    w: &Workload,
) -> Result<(Objective, Statistic), InputError> {
    let Some(v) = get(top, "objective") else {
        return Ok((Objective::default(), Statistic::Mean));
    };
    let t = doc.table(v, "objective")?;
    doc.only_keys(t, "objective", &["metric", "sense", "statistic"])?;
    let statistic = match get(t, "statistic") {
        None => Statistic::Mean,
        Some(sv) => {
            let name = doc.string(sv, "objective.statistic")?;
            Statistic::from_name(name).ok_or_else(|| {
                doc.error(
                    sv.span(),
                    "objective.statistic",
                    format!("expected \"mean\" or \"pNN\" with 0 < NN < 100 (e.g. \"p10\"), got `{name}`"),
                )
            })?
        }
    };
    let Some(mv) = get(t, "metric") else {
        return Err(doc.error(
            v.span(),
            "objective.metric",
            "missing: name the metric to optimise",
        ));
    };
    let name = doc.string(mv, "objective.metric")?;
    let metric = Metric::from_name(name).ok_or_else(|| {
        doc.error(
            mv.span(),
            "objective.metric",
            format!(
                "unknown metric `{name}`; expected one of: {}",
                Metric::ALL
                    .iter()
                    .map(|m| m.name())
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
        )
    })?;
    needs_workload(doc, mv.span(), "objective.metric", metric, w)?;
    let sense = match get(t, "sense") {
        Some(sv) => {
            let s = doc.string(sv, "objective.sense")?;
            Sense::from_name(s).ok_or_else(|| {
                doc.error(
                    sv.span(),
                    "objective.sense",
                    format!("expected \"max\" or \"min\", got `{s}`"),
                )
            })?
        }
        None => Objective::spec_default_sense(metric).ok_or_else(|| {
            doc.error(
                mv.span(),
                "objective.metric",
                format!("`{name}` has no default sense; add sense = \"max\" or \"min\""),
            )
        })?,
    };
    Ok((Objective { metric, sense }, statistic))
}

/// Parse one fixed value (or one list element) of a parameter into its raw code.
fn parse_value(
    doc: &Doc<'_>,
    v: &Value<'_>,
    key: &str,
    param: Param,
    accelerators: &[Accelerator],
    catalog: &Catalog,
) -> Result<f64, InputError> {
    match param {
        Param::Accelerator => {
            let id = doc.string(v, key)?;
            find_accelerator(accelerators, id)
                .map(|i| i as f64)
                .ok_or_else(|| {
                    doc.error(
                        v.span(),
                        key,
                        format!(
                            "unknown accelerator `{id}`; the catalog ({}) has: {} (or define it under [accelerators.{id}])",
                            catalog.file,
                            accelerators.iter().map(|a| a.id.as_str()).collect::<Vec<_>>().join(", ")
                        ),
                    )
                })
        }
        Param::Precision => {
            let s = doc.string(v, key)?;
            Precision::from_name(s)
                .map(|p| p as u8 as f64)
                .ok_or_else(|| {
                    doc.error(
                        v.span(),
                        key,
                        format!("unknown precision `{s}`; expected fp4, fp8 or bf16"),
                    )
                })
        }
        Param::CostModel => {
            let s = doc.string(v, key)?;
            CostModel::from_name(s)
                .map(|c| c as u8 as f64)
                .ok_or_else(|| {
                    doc.error(
                        v.span(),
                        key,
                        format!("unknown cost model `{s}`; expected own or rent"),
                    )
                })
        }
        Param::FacilityBasis => {
            let s = doc.string(v, key)?;
            FacilityBasis::from_name(s)
                .map(|b| b as u8 as f64)
                .ok_or_else(|| {
                    doc.error(
                        v.span(),
                        key,
                        format!("unknown facility basis `{s}`; expected tdp or limit"),
                    )
                })
        }
        _ => {
            let x = doc.number(v, key)?;
            if !x.is_finite() {
                return Err(doc.error(v.span(), key, format!("must be finite, got {x}")));
            }
            Ok(if param.kind() == ParamKind::Integer {
                round_integer(x)
            } else {
                x
            })
        }
    }
}

/// Parse an axis: a non-empty list, or a range table.
fn parse_axis(
    doc: &Doc<'_>,
    v: &Value<'_>,
    key: &str,
    param: Param,
    accelerators: &[Accelerator],
    catalog: &Catalog,
) -> Result<Vec<f64>, InputError> {
    let mut values = match v.get_ref() {
        DeValue::Array(items) => {
            if items.is_empty() {
                return Err(doc.error(v.span(), key, "an axis needs at least one value"));
            }
            if items.len() as u64 > MAX_AXIS_LEN {
                return Err(doc.error(
                    v.span(),
                    key,
                    format!("an axis may have at most {MAX_AXIS_LEN} values"),
                ));
            }
            items
                .iter()
                .enumerate()
                .map(|(i, item)| {
                    parse_value(
                        doc,
                        item,
                        &format!("{key}[{i}]"),
                        param,
                        accelerators,
                        catalog,
                    )
                })
                .collect::<Result<Vec<f64>, InputError>>()?
        }
        DeValue::Table(t) => {
            if param.kind() == ParamKind::Categorical {
                return Err(doc.error(
                    v.span(),
                    key,
                    "a categorical parameter takes a list of names, not a range",
                ));
            }
            parse_range(doc, v, t, key)?
        }
        other => {
            return Err(doc.error(
                v.span(),
                key,
                format!(
                    "an axis is a list or a range {{ from, to, steps, scale }}, found {}",
                    other.type_str()
                ),
            ))
        }
    };
    if param.kind() == ParamKind::Integer {
        let mut seen = std::collections::HashSet::new();
        values = values
            .into_iter()
            .map(|x| round_integer(x) + 0.0) // + 0.0: -0 and 0 are one value
            .filter(|x| seen.insert(x.to_bits()))
            .collect();
    }
    Ok(values)
}

fn parse_range(
    doc: &Doc<'_>,
    v: &Value<'_>,
    t: &Table<'_>,
    key: &str,
) -> Result<Vec<f64>, InputError> {
    doc.only_keys(t, key, &["from", "to", "steps", "scale"])?;
    let field = |name: &str| -> Result<(f64, &Value<'_>), InputError> {
        let k = join_key(key, name);
        let fv = get(t, name)
            .ok_or_else(|| doc.error(v.span(), &k, "missing: a range needs from, to and steps"))?;
        let x = doc.number(fv, &k)?;
        if !x.is_finite() {
            return Err(doc.error(fv.span(), &k, format!("must be finite, got {x}")));
        }
        Ok((x, fv))
    };
    let (from, _) = field("from")?;
    let (to, tv) = field("to")?;
    let (steps, sv) = field("steps")?;
    let steps_key = join_key(key, "steps");
    if !sv.get_ref().is_integer() {
        return Err(doc.error(sv.span(), &steps_key, "must be an integer"));
    }
    if steps < 1.0 {
        return Err(doc.error(
            sv.span(),
            &steps_key,
            format!("a range needs at least 1 step, got {steps}"),
        ));
    }
    if steps > MAX_AXIS_LEN as f64 {
        return Err(doc.error(
            sv.span(),
            &steps_key,
            format!("at most {MAX_AXIS_LEN} steps per axis"),
        ));
    }
    let log = match get(t, "scale") {
        None => false,
        Some(sc) => match doc.string(sc, &join_key(key, "scale"))? {
            "linear" => false,
            "log" => true,
            other => {
                return Err(doc.error(
                    sc.span(),
                    &join_key(key, "scale"),
                    format!("expected \"linear\" or \"log\", got `{other}`"),
                ))
            }
        },
    };
    if log && (from <= 0.0 || to <= 0.0) {
        return Err(doc.error(
            if from <= 0.0 { v.span() } else { tv.span() },
            key,
            format!("a log range needs from > 0 and to > 0, got from = {from}, to = {to}"),
        ));
    }
    let n = steps as u64;
    let values = range_values(from, to, n, log);
    if let Some(k) = values.iter().position(|x| !x.is_finite()) {
        return Err(doc.error(
            v.span(),
            key,
            format!(
                "value {k} of this range is {} (from = {from}, to = {to} overflow f64); narrow the range",
                values[k]
            ),
        ));
    }
    Ok(values)
}

/// Most axis values held in all (8 bytes each: 256 MiB): several axes of
/// [`MAX_AXIS_LEN`] values are refused as they are read, before they exhaust memory.
pub const MAX_AXIS_VALUES: u64 = 1 << 25;

/// Refuse a grid of more than 2^64 - 1 configurations, or axes holding more than
/// [`MAX_AXIS_VALUES`] values in all.
fn check_grid_size(doc: &Doc<'_>, top: &Table<'_>, axes: &[Axis]) -> Result<(), InputError> {
    let lens: Vec<u64> = axes.iter().map(|a| a.values.len() as u64).collect();
    let span = || get(top, "axes").map(|v| v.span()).unwrap_or(0..0);
    let shown = || {
        lens.iter()
            .map(u64::to_string)
            .collect::<Vec<_>>()
            .join(" x ")
    };
    if Grid::new(&lens).is_none() {
        return Err(doc.error(
            span(),
            "axes",
            format!(
                "the grid has more than 2^64 - 1 configurations (axis lengths {})",
                shown()
            ),
        ));
    }
    if lens.iter().sum::<u64>() > MAX_AXIS_VALUES {
        return Err(doc.error(
            span(),
            "axes",
            format!(
                "the axes hold more than {MAX_AXIS_VALUES} values in all (axis lengths {})",
                shown()
            ),
        ));
    }
    Ok(())
}

/// The values of a range `{ from, to, steps, scale }`, both ends included, each rounded to
/// 15 significant digits (spec v2 "values as people read them": 0.4, not
/// 0.39999999999999997). Every backend reads these values, so they agree.
pub fn range_values(from: f64, to: f64, steps: u64, log: bool) -> Vec<f64> {
    if steps == 1 {
        return vec![round_15_digits(from)];
    }
    // Exactly the spec's expressions, in its order of operations: the order decides on which
    // side of a bound (a power limit, an integer half) a value lands.
    let last = (steps - 1) as f64;
    (0..steps)
        .map(|k| {
            let k = k as f64;
            round_15_digits(if log {
                from * (to / from).powf(k / last)
            } else {
                from + (to - from) * k / last
            })
        })
        .collect()
}

/// `x` rounded to 15 significant decimal digits (the nearest f64 to that decimal); zero
/// and non-finite values as they are.
pub fn round_15_digits(x: f64) -> f64 {
    if x == 0.0 || !x.is_finite() {
        return x;
    }
    // `{:.14e}` is correctly rounded decimal (one digit, then 14), and parsing it back is
    // correctly rounded too.
    // Next to f64::MAX the rounded decimal can overflow; such a value stays as it is.
    let r: f64 = format!("{x:.14e}").parse().unwrap_or(x);
    if r.is_finite() {
        r
    } else {
        x
    }
}
