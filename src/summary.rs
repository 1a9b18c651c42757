//! Describing the results of a sweep: turns a plan's reductions into a [`Summary`], and
//! describes reported configurations (best, best_by, Pareto) by re-evaluating them with the
//! f64 model, so printed numbers are exact for that index whatever backend found it.
//! Running the sweep is [`crate::sweep`]'s.

use crate::backend::BackendInfo;
use crate::draws::{over_draws, DrawStats};
use crate::model::{evaluate, is_feasible, reasons, Metric, Objective, Sense};
use crate::params::{Param, ParamKind, PARAMS};
use crate::plan::SweepPlan;
use crate::reduce::Reductions;
use crate::scenario::Scenario;
use rayon::prelude::*;

/// A parameter's value as reported.
#[derive(Clone, Debug, PartialEq)]
pub enum ParamValue {
    Text(String),
    Int(i64),
    Real(f64),
}

impl std::fmt::Display for ParamValue {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ParamValue::Text(s) => f.write_str(s),
            ParamValue::Int(i) => write!(f, "{i}"),
            ParamValue::Real(x) => write!(f, "{}", crate::format::fmt_num(*x)),
        }
    }
}

/// One configuration, fully described.
#[derive(Clone, Debug, PartialEq)]
pub struct Reported {
    pub index: u64,
    pub params: Vec<(Param, ParamValue)>,
    /// The metrics that apply to the scenario, in the spec's order.
    pub metrics: Vec<(Metric, f64)>,
    pub valid: bool,
    pub feasible: bool,
    /// Why the configuration is invalid or infeasible (`model::reasons`; empty when it is
    /// feasible, and under uncertainty, where `p_feasible` says it).
    pub reasons: Vec<String>,
    /// Under uncertainty: the configuration over its draws (`metrics` then holds the
    /// means, `valid` is "valid in some draw" and `feasible` "p_feasible >= confidence").
    pub spread: Option<DrawStats>,
}

impl Reported {
    /// The value the objective ranks this configuration by: the metric, or under
    /// uncertainty the scenario's statistic of it.
    pub fn ranked_by(&self, objective: &Objective) -> f64 {
        match &self.spread {
            Some(d) => d.statistic,
            None => self.metric(objective.metric),
        }
    }

    pub fn metric(&self, m: Metric) -> f64 {
        self.metrics
            .iter()
            .find(|(k, _)| *k == m)
            .map_or(f64::NAN, |(_, v)| *v)
    }
}

/// The best configuration of one `best_by` group.
#[derive(Clone, Debug, PartialEq)]
pub struct GroupBest {
    pub group: Vec<(Param, ParamValue)>,
    pub best: Reported,
    /// Feasible configurations in the group.
    pub feasible: u64,
}

/// Min, max and mean of one metric over feasible configurations.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct StatRow {
    pub metric: Metric,
    pub min: f64,
    pub max: f64,
    pub mean: f64,
}

/// The result of a sweep.
#[derive(Clone, Debug)]
pub struct Summary {
    pub scenario_name: String,
    pub scenario_file: String,
    pub description: String,
    pub backend: BackendInfo,
    pub axes: Vec<(Param, u64)>,
    pub size: u64,
    pub evaluated: u64,
    pub invalid: u64,
    pub feasible: u64,
    pub objective: Objective,
    pub best: Option<Reported>,
    pub best_by: Vec<GroupBest>,
    /// The `best_by` groups with no feasible configuration (count 0), in group order.
    pub empty_groups: Vec<Vec<(Param, ParamValue)>>,
    pub pareto: Vec<Reported>,
    pub stats: Vec<StatRow>,
    pub elapsed_s: f64,
    pub configs_per_s: f64,
    /// Things the user should know about how the run went (e.g. a fallback).
    pub notices: Vec<String>,
    /// The axes that group `best_by`.
    pub group_by: Vec<Param>,
    /// The metrics that apply to the scenario (the columns of every report).
    pub metric_names: Vec<Metric>,
    /// The scenario's uncertainty, as applied.
    pub uncertainty: Option<UncertaintySummary>,
    /// The heatmap reduction (`--heatmap`), cells re-evaluated in f64.
    pub heatmap: Option<crate::heatmap::Heatmap>,
    /// The constraints the sweep applied (the scenario's `[constraints]`).
    pub constraints: crate::model::Constraints,
    /// SHA-256 (hex) of the scenario text and of the catalog it was read against.
    pub scenario_sha256: String,
    pub catalog_sha256: String,
    /// When the sweep finished (UTC, ISO 8601).
    pub date: String,
    /// The backend that was asked for (`auto`, `cpu`, `gpu`), where the caller says.
    pub requested_backend: Option<String>,
}

/// How a sweep treated uncertain inputs.
#[derive(Clone, Debug, PartialEq)]
pub struct UncertaintySummary {
    pub samples: u32,
    pub seed: u64,
    /// The objective's statistic, e.g. `mean` or `p10`.
    pub statistic: String,
    pub confidence: f64,
    /// Each input: its key and its distribution as written.
    pub inputs: Vec<(String, String)>,
}

impl UncertaintySummary {
    pub fn of(s: &Scenario) -> Option<UncertaintySummary> {
        let u = s.uncertainty.as_ref()?;
        Some(UncertaintySummary {
            samples: u.samples,
            seed: u.seed,
            statistic: s.statistic.name(),
            confidence: s.confidence,
            inputs: u
                .inputs
                .iter()
                .map(|i| {
                    let d = i.dist.describe();
                    (
                        i.key(&s.accelerators),
                        if i.times {
                            format!("times = {{ {d} }}")
                        } else {
                            d
                        },
                    )
                })
                .collect(),
        })
    }
}

/// Reported configurations' draws already evaluated, by flat index.
pub type KnownDraws = std::collections::HashMap<u64, DrawStats>;

/// Describe one configuration of a scenario given its raw parameter values.
pub fn describe(s: &Scenario, index: u64, values: &crate::scenario::ParamValues) -> Reported {
    describe_known(s, index, values, None)
}

/// [`describe`], with the configuration's draws when they were already evaluated.
fn describe_known(
    s: &Scenario,
    index: u64,
    values: &crate::scenario::ParamValues,
    known: Option<&DrawStats>,
) -> Reported {
    let (cfg, acc) = s.resolve(values);
    let mut e = evaluate(&cfg, acc, &s.workload);
    let mut feasible = is_feasible(&e, &s.constraints);
    let spread = s.uncertainty.as_ref().map(|_| {
        known
            .cloned()
            .unwrap_or_else(|| over_draws(s, values, None))
    });
    if let Some(d) = &spread {
        for (m, sp) in &d.metrics {
            e.metrics[*m as usize] = sp.mean;
        }
        e.valid = d.valid > 0;
        feasible = d.feasible(s);
    }
    let code = values[Param::Accelerator.index()] as usize;
    let mut params = Vec::with_capacity(PARAMS.len());
    // The power limit as both power_w and power_frac, whichever set it.
    let power_w = cfg.power_w(acc);
    for info in PARAMS.iter() {
        let p = info.param;
        let real = match p {
            Param::PowerW => power_w,
            Param::PowerFrac if cfg.power_from_frac() => cfg[p],
            Param::PowerFrac => power_w / acc.tdp_w,
            _ if info.kind == ParamKind::Categorical => {
                params.push((p, ParamValue::Text(s.label(p, cfg[p]))));
                continue;
            }
            _ if s.drawn_value(p, code, 0).is_some() => {
                params.push((p, ParamValue::Text(drawn_as(s, p, code))));
                continue;
            }
            _ => cfg[p],
        };
        let v = if info.kind == ParamKind::Integer && real.fract() == 0.0 && real.abs() < 9e15 {
            ParamValue::Int(real as i64)
        } else {
            ParamValue::Real(real)
        };
        params.push((p, v));
    }
    let metrics = Metric::ALL
        .iter()
        .filter(|m| m.applies(&s.workload))
        .map(|&m| (m, e.metrics[m as usize]))
        .collect();
    Reported {
        index,
        params,
        metrics,
        valid: e.valid,
        feasible,
        reasons: if spread.is_none() && !feasible {
            reasons(&cfg, acc, &s.workload, &s.constraints)
        } else {
            Vec::new()
        },
        spread,
    }
}

/// How an uncertain parameter is drawn on an accelerator, e.g. `uniform = [0.3, 0.5]`.
fn drawn_as(s: &Scenario, p: Param, acc: usize) -> String {
    let Some(u) = &s.uncertainty else {
        return String::new();
    };
    let input = u
        .inputs_of(p)
        .find(|i| i.accelerator == Some(acc))
        .or_else(|| u.inputs_of(p).find(|i| i.accelerator.is_none()));
    match input {
        Some(i) if i.times => format!("times {{ {} }}", i.dist.describe()),
        Some(i) => i.dist.describe(),
        None => String::new(),
    }
}

/// Describe the configuration at a flat index (its draws from `known` where they are).
fn report_index(plan: &SweepPlan, index: u64, known: &KnownDraws) -> Reported {
    describe_known(
        &plan.scenario,
        index,
        &plan.values_at(index),
        known.get(&index),
    )
}

/// Turn reductions into a summary (re-evaluating reported configurations in f64).
pub fn summarise(
    plan: &SweepPlan,
    r: &Reductions,
    backend: BackendInfo,
    elapsed_s: f64,
) -> Summary {
    summarise_known(plan, r, backend, elapsed_s, &KnownDraws::new())
}

/// [`summarise`], reusing the draws of reported configurations in `known`.
pub fn summarise_known(
    plan: &SweepPlan,
    r: &Reductions,
    backend: BackendInfo,
    elapsed_s: f64,
    known: &KnownDraws,
) -> Summary {
    let s = &plan.scenario;
    let best = r.best.map(|c| report_index(plan, c.index, known));
    let group_values = |g: usize| -> Vec<(Param, ParamValue)> {
        plan.group_digits(g)
            .into_iter()
            .map(|(k, d)| {
                let axis = &s.axes[k];
                let code = axis.values[d as usize];
                let v = match axis.param.kind() {
                    ParamKind::Categorical => ParamValue::Text(s.label(axis.param, code)),
                    ParamKind::Integer => ParamValue::Int(code as i64),
                    ParamKind::Real => ParamValue::Real(code),
                };
                (axis.param, v)
            })
            .collect()
    };
    let groups = if plan.group_axes.is_empty() {
        0
    } else {
        r.best_by.len()
    };
    let best_by = r
        .best_by
        .iter()
        .take(groups)
        .enumerate()
        .filter_map(|(g, c)| c.map(|c| (g, c)))
        .map(|(g, c)| GroupBest {
            group: group_values(g),
            best: report_index(plan, c.index, known),
            feasible: r.group_feasible.get(g).copied().unwrap_or(0),
        })
        .collect();
    let empty_groups = r
        .best_by
        .iter()
        .take(groups)
        .enumerate()
        .filter(|(_, c)| c.is_none())
        .map(|(g, _)| group_values(g))
        .collect();
    let pareto = pareto_front(plan, r, known);
    let stats = if r.feasible == 0 {
        Vec::new()
    } else {
        Metric::ALL
            .iter()
            .filter(|m| m.applies(&s.workload))
            .map(|&m| {
                let st = &r.stats[m as usize];
                StatRow {
                    metric: m,
                    min: st.min,
                    max: st.max,
                    // The exact sum rounded once: the same whatever split the grid.
                    mean: st.sum.value() / r.feasible as f64,
                }
            })
            .collect()
    };
    Summary {
        scenario_name: s.name.clone(),
        scenario_file: s.file.clone(),
        description: s.description.clone(),
        backend,
        axes: s
            .axes
            .iter()
            .map(|a| (a.param, a.values.len() as u64))
            .collect(),
        size: plan.grid.size,
        evaluated: r.evaluated,
        invalid: r.invalid,
        feasible: r.feasible,
        objective: s.objective,
        best,
        best_by,
        empty_groups,
        pareto,
        stats,
        elapsed_s,
        group_by: plan.group_axes.iter().map(|&k| s.axes[k].param).collect(),
        metric_names: Metric::ALL
            .iter()
            .copied()
            .filter(|m| m.applies(&s.workload))
            .collect(),
        configs_per_s: if elapsed_s > 0.0 {
            r.evaluated as f64 / elapsed_s
        } else {
            0.0
        },
        notices: Vec::new(),
        uncertainty: UncertaintySummary::of(s),
        heatmap: crate::heatmap::heatmap(plan, r),
        constraints: s.constraints,
        scenario_sha256: s.sha256.clone(),
        catalog_sha256: s.catalog_sha256.clone(),
        date: crate::provenance::utc_now(),
        requested_backend: None,
    }
}

/// The non-dominated bin leaders: lower facility power and a better objective are both
/// preferred. Sorted by facility power, ascending.
fn pareto_front(plan: &SweepPlan, r: &Reductions, known: &KnownDraws) -> Vec<Reported> {
    let obj = plan.scenario.objective;
    // Each point is re-evaluated in f64 (under uncertainty: every draw), independently: on
    // rayon's global pool (`--threads` sizes it in the CLI).
    let indices: Vec<u64> = r.pareto.iter().flatten().map(|c| c.index).collect();
    let mut points: Vec<Reported> = indices
        .par_iter()
        .map(|&i| report_index(plan, i, known))
        .collect();
    points.sort_by(|a, b| {
        let fa = a.metric(Metric::FacilityMw);
        let fb = b.metric(Metric::FacilityMw);
        fa.total_cmp(&fb).then_with(|| {
            let (oa, ob) = (a.ranked_by(&obj), b.ranked_by(&obj));
            let better = match obj.sense {
                Sense::Max => ob.total_cmp(&oa),
                Sense::Min => oa.total_cmp(&ob),
            };
            better.then(a.index.cmp(&b.index))
        })
    });
    let mut front: Vec<Reported> = Vec::new();
    for p in points {
        let v = p.ranked_by(&obj);
        let dominated = front.last().is_some_and(|q| {
            let best = q.ranked_by(&obj);
            match obj.sense {
                Sense::Max => v <= best,
                Sense::Min => v >= best,
            }
        });
        if !dominated {
            front.push(p);
        }
    }
    front
}
