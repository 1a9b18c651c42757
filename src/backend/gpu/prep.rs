//! Host-side preparation of a plan for the GPU kernels: axis value tables (f32), per-value
//! validity flags and power ranks decided in f64, the accelerator table, and the
//! pipeline-overridable constants that tell the kernel where each parameter comes from.
//! Validity never depends on f32 rounding: every check is decided here in f64, exactly as
//! [`crate::model::is_valid`] decides it, and the kernel only combines the flags.

use crate::model::{Accelerator, Sense};
use crate::params::{Param, ParamDefault, PARAMS};
use crate::plan::SweepPlan;
use crate::scenario::Source;

/// Relative widening of constraint bounds on the device (2^-18, about 3.8e-6: many times
/// the f32 error of the constrained metrics, well inside the 1e-5 agreement tolerance).
pub const CONSTRAINT_SLACK: f64 = 1.0 / 262_144.0;

/// Most axes the kernel decodes.
pub const MAX_AXES: usize = 24;
/// f32 figures per accelerator in the kernel's table.
pub const ACC_STRIDE: usize = 16;

/// Everything the kernels need about a plan, ready to upload.
#[derive(Debug, Clone)]
pub struct Prepared {
    /// Per axis: (length, offset, group multiplier, 0).
    pub axis_meta: Vec<[u32; 4]>,
    pub axis_vals: Vec<f32>,
    pub axis_aux: Vec<u32>,
    pub accs: Vec<f32>,
    pub acc_u: Vec<u32>,
    /// Pipeline-overridable constants of the sweep kernel.
    pub constants: Vec<(String, f64)>,
    /// Number of reduction slots: best, then groups, then Pareto bins.
    pub slots: usize,
}

/// Why a plan cannot run on the GPU kernels (the CPU handles it).
#[derive(Debug, Clone, thiserror::Error)]
#[error("{0}")]
pub struct Unsupported(pub String);

/// The accelerator figure a parameter defaults to, as (table field, value).
fn acc_default(param: Param, a: &Accelerator) -> Option<(u32, f64)> {
    match param {
        Param::PowerW => Some((3, a.tdp_w)),
        Param::HostW => Some((7, a.host_w)),
        Param::MtbfHours => Some((8, a.mtbf_hours)),
        Param::GpuPriceUsd => Some((9, a.price_usd)),
        Param::HostCapexUsd => Some((10, a.host_capex_usd)),
        _ => None,
    }
}

/// Power as the f64 model computes it from a raw value.
fn power_of(frac_mode: bool, v: f64, a: &Accelerator) -> f64 {
    if frac_mode {
        v * a.tdp_w
    } else {
        v
    }
}

fn power_ok(p: f64, a: &Accelerator) -> bool {
    p >= a.min_power_w && p <= a.tdp_w
}

/// Prepare a plan for the kernels.
pub fn prepare(plan: &SweepPlan) -> Result<Prepared, Unsupported> {
    let s = &plan.scenario;
    if s.axes.len() > MAX_AXES {
        return Err(Unsupported(format!(
            "the GPU kernels decode at most {MAX_AXES} axes; this scenario has {}",
            s.axes.len()
        )));
    }
    if s.accelerators.is_empty() {
        return Err(Unsupported("no accelerators".into()));
    }
    for a in &s.axes {
        if a.values.iter().any(|v| v.is_nan()) {
            return Err(Unsupported(format!(
                "axis `{}` holds an unset value",
                a.param.name()
            )));
        }
        if a.values.len() as u64 >= u32::MAX as u64 / 2 {
            return Err(Unsupported(format!(
                "axis `{}` is too long",
                a.param.name()
            )));
        }
    }
    let frac_mode = !matches!(s.sources[Param::PowerFrac.index()], Source::Default);
    let power_param = if frac_mode {
        Param::PowerFrac
    } else {
        Param::PowerW
    };
    let power_axis = match s.sources[power_param.index()] {
        Source::Axis(k) => Some(k),
        _ => None,
    };

    // Axis tables.
    let mut axis_meta = Vec::new();
    let mut axis_vals = Vec::new();
    let mut axis_aux = Vec::new();
    let mut group_mul = vec![0u64; s.axes.len()];
    let mut m = 1u64;
    for &k in plan.group_axes.iter().rev() {
        group_mul[k] = m;
        m *= plan.grid.lens[k];
    }
    // Distinct sorted values of the power axis, for ranks.
    let mut power_sorted: Vec<f64> = Vec::new();
    if let Some(k) = power_axis {
        power_sorted = s.axes[k].values.clone();
        power_sorted.sort_by(f64::total_cmp);
        power_sorted.dedup();
    }
    for (k, axis) in s.axes.iter().enumerate() {
        axis_meta.push([
            axis.values.len() as u32,
            axis_vals.len() as u32,
            group_mul[k] as u32,
            0,
        ]);
        for &v in &axis.values {
            axis_vals.push(v as f32);
            let mut aux = crate::model::value_in_range(axis.param, v) as u32;
            if Some(k) == power_axis {
                let rank = power_sorted.partition_point(|&x| x < v) as u32;
                aux |= rank << 1;
            }
            axis_aux.push(aux);
        }
    }

    // Constants for parameters that are fixed or take the spec's default.
    let mut fixed_ok = true;
    let mut constants: Vec<(String, f64)> = Vec::new();
    for info in PARAMS.iter() {
        let p = info.param;
        let (kind, slot, c) = match s.sources[p.index()] {
            Source::Axis(k) => (1u32, k as u32, 0.0),
            Source::Fixed(x) => (0, 0, x),
            Source::Default => match info.default {
                ParamDefault::Value(d) => (0, 0, d),
                ParamDefault::FromAccelerator => match acc_default(p, &s.accelerators[0]) {
                    Some((field, _)) => (2, field, 0.0),
                    None => (0, 0, 0.0),
                },
                ParamDefault::Required | ParamDefault::Unset => (0, 0, 0.0),
            },
        };
        let check = match p {
            Param::PowerW => false,
            Param::PowerFrac => frac_mode,
            _ => true,
        };
        if kind == 0 && check {
            fixed_ok &= crate::model::value_in_range(p, c);
        }
        constants.push((format!("k_{}", p.name()), kind as f64));
        constants.push((format!("s_{}", p.name()), slot as f64));
        constants.push((format!("c_{}", p.name()), f32v(c)));
    }

    // Accelerator table and flags.
    let mut accs = Vec::with_capacity(s.accelerators.len() * ACC_STRIDE);
    let mut acc_u = Vec::with_capacity(s.accelerators.len() * 4);
    for a in &s.accelerators {
        let mut row = [0f32; ACC_STRIDE];
        for (i, pk) in a.peak_tflops.iter().enumerate() {
            row[i] = pk.unwrap_or(0.0) as f32;
        }
        row[3] = a.tdp_w as f32;
        row[4] = a.idle_w as f32;
        row[5] = a.min_power_w as f32;
        row[6] = (1.0 / a.dvfs_exponent) as f32;
        row[7] = a.host_w as f32;
        row[8] = a.mtbf_hours as f32;
        row[9] = a.price_usd as f32;
        row[10] = a.host_capex_usd as f32;
        accs.extend_from_slice(&row);

        // Checks that depend on this accelerator alone.
        let mut ok = true;
        for info in PARAMS.iter() {
            if s.sources[info.param.index()] == Source::Default {
                if let Some((_, v)) = acc_default(info.param, a) {
                    if info.param != Param::PowerW {
                        ok &= crate::model::value_in_range(info.param, v);
                    }
                }
            }
        }
        let (mut lo, mut hi) = (0u32, u32::MAX);
        match power_axis {
            None => {
                let p = match s.sources[power_param.index()] {
                    Source::Fixed(x) => power_of(frac_mode, x, a),
                    _ => a.tdp_w,
                };
                ok &= power_ok(p, a);
            }
            Some(_) => {
                // Valid power is an interval of ranks: power_of is monotone in the raw value.
                lo = power_sorted.partition_point(|&v| power_of(frac_mode, v, a) < a.min_power_w)
                    as u32;
                hi = power_sorted.partition_point(|&v| power_of(frac_mode, v, a) <= a.tdp_w) as u32;
            }
        }
        let mut flags = ok as u32;
        for (i, pk) in a.peak_tflops.iter().enumerate() {
            if pk.is_some_and(|x| x > 0.0) {
                flags |= 1 << (1 + i);
            }
        }
        acc_u.extend_from_slice(&[flags, lo, hi, 0]);
    }

    let obj = s.objective;
    let c = &s.constraints;
    let wl = &s.workload;
    let slots = 1 + plan.group_count + plan.pareto.count;
    let mut add = |k: &str, v: f64| constants.push((k.to_string(), v));
    add("N_AXES", s.axes.len() as f64);
    add("POWER_MODE", frac_mode as u32 as f64);
    add("POWER_AXIS", power_axis.unwrap_or(MAX_AXES) as f64);
    add("FIXED_OK", fixed_ok as u32 as f64);
    add("HAS_TRAIN", wl.train_flop.is_some() as u32 as f64);
    add("TRAIN_PF", f32v(wl.train_flop.unwrap_or(0.0) / 1e15));
    add("TRAIN_EF", f32v(wl.train_flop.unwrap_or(0.0) / 1e18));
    add("HAS_TOKENS", wl.model_params.is_some() as u32 as f64);
    add(
        "TOKENS_K",
        f32v(wl.model_params.map_or(0.0, |m| 1e15 / (6.0 * m))),
    );
    add("OBJ", obj.metric.index() as f64);
    add("SENSE_MAX", (obj.sense == Sense::Max) as u32 as f64);
    add("GROUP_BASE", 1.0);
    add("BIN_BASE", (1 + plan.group_count) as f64);
    add("N_BINS", plan.pareto.count as f64);
    add("LN_LO", f32v(plan.pareto.ln_lo));
    add("PER_LN", f32v(plan.pareto.per_ln));
    let cons = [
        c.max_facility_mw,
        c.max_tco_usd,
        c.max_capex_usd,
        c.max_train_days,
        c.min_throughput_pflops,
    ];
    for (i, b) in cons.iter().enumerate() {
        add(&format!("HAS_C{i}"), b.is_some() as u32 as f64);
        // Constraints are checked in f32 on the device: widen each bound by CONSTRAINT_SLACK
        // (relative) so a configuration the f64 model puts exactly on (or just inside) a
        // bound is never lost to f32 rounding. Configurations admitted by the slack but
        // outside the bound in f64 are caught by `summary::run_sweep`, which re-checks every
        // reported configuration in f64 and re-runs on the CPU if one is infeasible.
        let bound = b.unwrap_or(0.0);
        let widen = bound.abs() * CONSTRAINT_SLACK;
        let upper = i < 4;
        add(
            &format!("C{i}"),
            f32v(if upper { bound + widen } else { bound - widen }),
        );
    }
    Ok(Prepared {
        axis_meta,
        axis_vals,
        axis_aux,
        accs,
        acc_u,
        constants,
        slots,
    })
}

/// An f64 as the nearest f32 (clamped to the f32 range), for an f32 override.
fn f32v(x: f64) -> f64 {
    if x.is_nan() {
        return 0.0;
    }
    x.clamp(f32::MIN as f64, f32::MAX as f64) as f32 as f64
}

/// The f32 an order key encodes (inverse of the kernel's `ordered_key`).
pub fn key_value(key: u32, sense_max: bool) -> f64 {
    let k = if sense_max { key } else { !key };
    let bits = if k & 0x8000_0000 != 0 {
        k & 0x7fff_ffff
    } else {
        !k
    };
    f32::from_bits(bits) as f64
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn key_round_trip() {
        for x in [0.0f32, 1.5, -2.0, 3.4e38, 1e-30, -7.25] {
            let b = x.to_bits();
            let ok = if b & 0x8000_0000 != 0 {
                !b
            } else {
                b | 0x8000_0000
            };
            assert_eq!(key_value(ok, true), x as f64);
            assert_eq!(key_value(!ok, false), x as f64);
        }
    }
}
