//! The CPU backend: evaluates index ranges on all cores with rayon, in f64, with memory
//! independent of grid size. The range is cut into pieces evaluated in parallel in waves;
//! each wave's reductions are merged in index order, so results do not depend on the
//! number of threads. Within a piece the grid is walked with an odometer (no division per
//! axis) in blocks of configurations laid out as columns (structure of arrays), so the
//! model and the reductions run as simple loops over arrays that the compiler vectorises;
//! validity checks that depend on one parameter are decided once per axis value, and the
//! clock factor (a `powf`) is recomputed only when the accelerator or power changes.

// The kernel indexes many parallel columns with one loop variable; that reads better than
// zipping a dozen iterators and vectorises the same.
#![allow(clippy::needless_range_loop)]

use super::{Backend, BackendError, BackendInfo, Progress};
use crate::grid::Grid;
use crate::model::{
    clock_factor, Metric, DAYS_PER_SECOND, HOMES_PER_W, HOURS_PER_YEAR, KWH_PER_W_YEAR,
    METRIC_COUNT, SECONDS_PER_YEAR,
};
use crate::params::{Param, ParamDefault, PARAMS, PARAM_COUNT};
use crate::plan::SweepPlan;
use crate::reduce::{offer, Candidate, Reductions};
use crate::scenario::Source;
use rayon::prelude::*;
use std::ops::Range;

/// Configurations per piece (a unit of parallel work and of progress).
const PIECE: u64 = 1 << 18;

/// The CPU backend.
pub struct CpuBackend {
    pool: rayon::ThreadPool,
}

impl CpuBackend {
    /// A backend on `threads` threads (0 = one per core).
    pub fn new(threads: usize) -> Result<CpuBackend, BackendError> {
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(threads)
            .build()
            .map_err(|e| BackendError {
                message: format!("cannot start CPU threads: {e}"),
                done: None,
                remaining: 0..0,
            })?;
        Ok(CpuBackend { pool })
    }

    pub fn threads(&self) -> usize {
        self.pool.current_num_threads()
    }
}

/// The CPU model name from /proc/cpuinfo (or the architecture).
pub fn cpu_name() -> String {
    std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("model name"))
                .and_then(|l| l.split(':').nth(1))
                .map(|s| s.trim().to_string())
        })
        .unwrap_or_else(|| std::env::consts::ARCH.to_string())
}

impl Backend for CpuBackend {
    fn info(&self) -> BackendInfo {
        BackendInfo {
            kind: "cpu".into(),
            name: format!("{} ({} threads)", cpu_name(), self.threads()),
            api: None,
            device_type: None,
            driver: None,
        }
    }

    fn run(
        &self,
        plan: &SweepPlan,
        range: Range<u64>,
        progress: Progress<'_>,
    ) -> Result<Reductions, BackendError> {
        let mut total = Reductions::empty(plan);
        let wave = PIECE * 4 * self.threads() as u64;
        self.pool.install(|| {
            for wave_range in Grid::split(range, wave) {
                let pieces: Vec<Range<u64>> = Grid::split(wave_range, PIECE).collect();
                let parts: Vec<Reductions> = pieces
                    .into_par_iter()
                    .map(|r| {
                        let n = r.end - r.start;
                        let red = eval_range(plan, r);
                        progress(n);
                        red
                    })
                    .collect();
                for p in &parts {
                    total.merge(p, &plan.scenario.objective);
                }
            }
        });
        Ok(total)
    }
}

/// Configurations evaluated together as one structure-of-arrays block.
const BLOCK: usize = 256;

/// Per-plan tables the block kernel reads: per-axis value validity (decided once, in f64,
/// with the model's own `is_valid` rules) and the accelerator table as columns.
struct KernelTables {
    /// For each axis, whether each of its values is inside its parameter's valid range
    /// (checks that depend on the accelerator are done per configuration).
    value_ok: Vec<Vec<bool>>,
    /// Whether every fixed/default value is inside its range.
    fixed_ok: bool,
}

fn value_in_range(p: Param, x: f64) -> bool {
    match p {
        Param::Accelerator | Param::Precision | Param::CostModel | Param::PowerW => true,
        Param::GpuCount => (1.0..=1e8).contains(&x) && x.fract() == 0.0,
        Param::PowerFrac => x > 0.0 && x <= 1.0,
        Param::Utilization => x > 0.0 && x <= 1.0,
        Param::LoadFrac => (0.0..=1.0).contains(&x),
        Param::Pue => (1.0..=3.0).contains(&x),
        Param::JobGpus => x >= 0.0 && x.fract() == 0.0,
        Param::MtbfHours | Param::Years => x > 0.0,
        Param::HostW
        | Param::CheckpointS
        | Param::RestartS
        | Param::ElectricityUsdPerKwh
        | Param::GpuPriceUsd
        | Param::HostCapexUsd
        | Param::FacilityUsdPerW
        | Param::GpuHourUsd
        | Param::CarbonKgPerKwh => x >= 0.0,
    }
}

impl KernelTables {
    fn new(plan: &SweepPlan) -> KernelTables {
        let s = &plan.scenario;
        let value_ok = s
            .axes
            .iter()
            .map(|a| {
                a.values
                    .iter()
                    .map(|&x| value_in_range(a.param, x))
                    .collect()
            })
            .collect();
        let fixed_ok = s.sources.iter().enumerate().all(|(i, src)| match src {
            Source::Fixed(x) => value_in_range(PARAMS[i].param, *x),
            _ => true,
        });
        KernelTables { value_ok, fixed_ok }
    }
}

/// Structure-of-arrays scratch for one block.
struct Block {
    /// Resolved parameter values, one column per parameter.
    cols: Vec<[f64; BLOCK]>,
    /// Accelerator index per configuration.
    acc: [usize; BLOCK],
    /// Every per-value validity check passed; after evaluation: valid.
    ok: [bool; BLOCK],
    /// `best_by` group per configuration.
    group: [usize; BLOCK],
    metrics: Vec<[f64; BLOCK]>,
    feasible: [bool; BLOCK],
}

impl Block {
    fn new() -> Box<Block> {
        Box::new(Block {
            cols: vec![[0.0; BLOCK]; PARAM_COUNT],
            acc: [0; BLOCK],
            ok: [true; BLOCK],
            group: [0; BLOCK],
            metrics: vec![[f64::NAN; BLOCK]; METRIC_COUNT],
            feasible: [false; BLOCK],
        })
    }
}

/// Evaluate and reduce one contiguous range on the calling thread: walk it in blocks of
/// [`BLOCK`] configurations; fill parameter columns run by run, evaluate the model column
/// by column, then reduce the block. Uses AVX2 where the processor has it.
pub fn eval_range(plan: &SweepPlan, range: Range<u64>) -> Reductions {
    #[cfg(target_arch = "x86_64")]
    if std::arch::is_x86_feature_detected!("avx2") {
        // SAFETY: the processor supports AVX2 (checked just above).
        return unsafe { eval_range_avx2(plan, range) };
    }
    eval_range_portable(plan, range)
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
unsafe fn eval_range_avx2(plan: &SweepPlan, range: Range<u64>) -> Reductions {
    eval_range_portable(plan, range)
}

#[inline(always)]
fn eval_range_portable(plan: &SweepPlan, range: Range<u64>) -> Reductions {
    let s = &plan.scenario;
    let tables = KernelTables::new(plan);
    let mut red = Reductions::empty(plan);
    if range.is_empty() {
        return red;
    }
    let mut b = Block::new();
    fill_constant_columns(plan, &mut b);
    let mut start = range.start;
    let mut clock_cache = ClockCache::default();
    let acc_is_axis = matches!(s.sources[Param::Accelerator.index()], Source::Axis(_));
    while start < range.end {
        let len = ((range.end - start) as usize).min(BLOCK);
        fill_block(plan, &tables, &mut b, start, acc_is_axis);
        evaluate_block(plan, &mut b, &mut clock_cache);
        reduce_block(plan, &b, len, start, &mut red);
        start += len as u64;
    }
    red
}

/// Columns of parameters that are not axes: the fixed value, or the default (the spec's,
/// or the accelerator's when the accelerator is fixed).
fn fill_constant_columns(plan: &SweepPlan, b: &mut Block) {
    let s = &plan.scenario;
    let digits = vec![0u64; s.axes.len()];
    let fixed = s.values_at(&digits);
    for (pi, info) in PARAMS.iter().enumerate() {
        if matches!(s.sources[pi], Source::Axis(_)) {
            continue;
        }
        let v = fixed[pi];
        let value = match info.default {
            _ if !v.is_nan() => v,
            ParamDefault::Value(d) => d,
            _ => f64::NAN,
        };
        b.cols[pi].fill(value);
    }
    let acc = b.cols[Param::Accelerator.index()][0];
    if !acc.is_nan() {
        b.acc.fill(acc as usize);
        resolve_accelerator_columns(plan, b);
    }
}

/// Columns that follow the accelerator: its defaults, and the power from `power_frac`.
#[inline(always)]
fn resolve_accelerator_columns(plan: &SweepPlan, b: &mut Block) {
    let s = &plan.scenario;
    let accs = &s.accelerators;
    for p in [
        Param::HostW,
        Param::MtbfHours,
        Param::GpuPriceUsd,
        Param::HostCapexUsd,
    ] {
        if s.sources[p.index()] != Source::Default {
            continue;
        }
        let col = &mut b.cols[p.index()];
        for (x, &a) in col.iter_mut().zip(b.acc.iter()) {
            let acc = &accs[a];
            *x = match p {
                Param::HostW => acc.host_w,
                Param::MtbfHours => acc.mtbf_hours,
                Param::GpuPriceUsd => acc.price_usd,
                _ => acc.host_capex_usd,
            };
        }
    }
    let frac_set = s.sources[Param::PowerFrac.index()] != Source::Default;
    let power_set = s.sources[Param::PowerW.index()] != Source::Default;
    if frac_set {
        let (lo, hi) = b.cols.split_at_mut(Param::PowerFrac.index());
        let power = &mut lo[Param::PowerW.index()];
        for ((p, &f), &a) in power.iter_mut().zip(hi[0].iter()).zip(b.acc.iter()) {
            *p = f * accs[a].tdp_w;
        }
    } else if !power_set {
        for (p, &a) in b.cols[Param::PowerW.index()].iter_mut().zip(b.acc.iter()) {
            *p = accs[a].tdp_w;
        }
    }
}

/// Fill the axis columns of the block of [`BLOCK`] configurations starting at `start`
/// (past the range's end the columns hold wrapped-around values, ignored by the
/// reduction). Each axis's value is constant over runs of `stride` configurations, so
/// columns are filled run by run: one decode per block, no division per configuration.
#[inline(always)]
fn fill_block(
    plan: &SweepPlan,
    tables: &KernelTables,
    b: &mut Block,
    start: u64,
    acc_is_axis: bool,
) {
    let s = &plan.scenario;
    let grid = &plan.grid;
    b.ok.fill(tables.fixed_ok);
    let has_groups = plan.group_count > 1;
    if has_groups {
        b.group.fill(0);
    }
    let mut group_mult = vec![0usize; s.axes.len()];
    let mut mult = 1usize;
    for &k in plan.group_axes.iter().rev() {
        group_mult[k] = mult;
        mult *= grid.lens[k] as usize;
    }
    for (k, axis) in s.axes.iter().enumerate() {
        let stride = grid.strides[k];
        let len = grid.lens[k];
        let mut d = ((start / stride) % len) as usize;
        let col = &mut b.cols[axis.param.index()];
        let ok_k = &tables.value_ok[k];
        let gm = group_mult[k];
        if stride == 1 {
            let values = &axis.values;
            for i in 0..BLOCK {
                col[i] = values[d];
                b.ok[i] &= ok_k[d];
                if gm != 0 {
                    b.group[i] += d * gm;
                }
                d += 1;
                if d == values.len() {
                    d = 0;
                }
            }
            continue;
        }
        let mut run = (stride - start % stride) as usize;
        let mut i = 0usize;
        while i < BLOCK {
            let n = run.min(BLOCK - i);
            col[i..i + n].fill(axis.values[d]);
            if !ok_k[d] {
                b.ok[i..i + n].fill(false);
            }
            if gm != 0 {
                for g in &mut b.group[i..i + n] {
                    *g += d * gm;
                }
            }
            i += n;
            d += 1;
            if d as u64 == len {
                d = 0;
            }
            run = stride.min(BLOCK as u64) as usize;
        }
    }
    if acc_is_axis {
        for (a, &x) in b
            .acc
            .iter_mut()
            .zip(b.cols[Param::Accelerator.index()].iter())
        {
            *a = x as usize;
        }
        resolve_accelerator_columns(plan, b);
    } else if s.sources[Param::PowerFrac.index()] != Source::Default
        && matches!(s.sources[Param::PowerFrac.index()], Source::Axis(_))
    {
        resolve_accelerator_columns(plan, b);
    }
}

/// Memo of the last clock factor: it depends only on the accelerator and the power.
#[derive(Default)]
struct ClockCache {
    key: Option<(usize, u64)>,
    value: f64,
}

/// The model over a block's columns: the same formulas, in the same order, as
/// `model::evaluate`, written as loops over fixed-size arrays with selects instead of
/// branches so they vectorise.
#[inline(always)]
fn evaluate_block(plan: &SweepPlan, b: &mut Block, clock_cache: &mut ClockCache) {
    let s = &plan.scenario;
    let accs = &s.accelerators;
    let w = &s.workload;
    let mut clock = [0.0f64; BLOCK];
    let mut peak = [0.0f64; BLOCK];
    let mut idle = [0.0f64; BLOCK];
    let mut tdp = [0.0f64; BLOCK];
    {
        let pw = &b.cols[Param::PowerW.index()];
        let prec = &b.cols[Param::Precision.index()];
        for i in 0..BLOCK {
            let a = &accs[b.acc[i]];
            let p = pw[i];
            let key = (b.acc[i], p.to_bits());
            if clock_cache.key != Some(key) {
                clock_cache.key = Some(key);
                clock_cache.value = clock_factor(p, a);
            }
            clock[i] = clock_cache.value;
            let pk = a.peak_tflops[prec[i] as usize];
            peak[i] = pk.unwrap_or(0.0);
            idle[i] = a.idle_w;
            tdp[i] = a.tdp_w;
            b.ok[i] = b.ok[i] && pk.is_some_and(|x| x > 0.0) && p >= a.min_power_w && p <= a.tdp_w;
        }
    }
    let col = |p: Param| &b.cols[p.index()];
    let (n, pw, u, load, pue, host) = (
        col(Param::GpuCount),
        col(Param::PowerW),
        col(Param::Utilization),
        col(Param::LoadFrac),
        col(Param::Pue),
        col(Param::HostW),
    );
    let (job, mtbf, ckpt, restart, years) = (
        col(Param::JobGpus),
        col(Param::MtbfHours),
        col(Param::CheckpointS),
        col(Param::RestartS),
        col(Param::Years),
    );
    let (elec, price, hcap, fac_usd, hour_usd, carbon, cost) = (
        col(Param::ElectricityUsdPerKwh),
        col(Param::GpuPriceUsd),
        col(Param::HostCapexUsd),
        col(Param::FacilityUsdPerW),
        col(Param::GpuHourUsd),
        col(Param::CarbonKgPerKwh),
        col(Param::CostModel),
    );
    let mut m = std::mem::take(&mut b.metrics);
    let [m_clock, m_good, m_tput, m_it, m_fac, m_avg, m_energy, m_capex, m_tco, m_total, m_usd, m_gpw, m_homes, m_co2, m_days, m_gpuh, m_temwh, m_tcost, m_tco2, m_tok] =
        &mut m[..]
    else {
        unreachable!("METRIC_COUNT metric columns")
    };
    let mut flops_col = [0.0f64; BLOCK];
    let mut avg_col = [0.0f64; BLOCK];
    for i in 0..BLOCK {
        let f = peak[i] * 1e12 * u[i] * clock[i];
        let j = if job[i] == 0.0 {
            n[i]
        } else {
            job[i].min(n[i])
        };
        let inv_m = j / (mtbf[i] * 3600.0);
        let lost = (2.0 * ckpt[i] * inv_m).sqrt() + restart[i] * inv_m;
        let g = (1.0 - lost).clamp(0.0, 1.0);
        let flops = n[i] * f * g;
        let draw_w = idle[i] + (pw[i] - idle[i]) * load[i];
        let it_w = n[i] * (pw[i] + host[i]);
        let facility_w = it_w * pue[i];
        let avg_w = n[i] * (draw_w + host[i]) * pue[i];
        let energy_kwh = avg_w * KWH_PER_W_YEAR * years[i];
        let own_capex =
            n[i] * (price[i] + hcap[i]) + n[i] * (tdp[i] + host[i]) * pue[i] * fac_usd[i];
        let own = cost[i] == 0.0;
        let own_tco = own_capex + energy_kwh * elec[i];
        let rent_tco = n[i] * HOURS_PER_YEAR * years[i] * hour_usd[i];
        let tco = if own { own_tco } else { rent_tco };
        let total_flop = flops * SECONDS_PER_YEAR * years[i];
        let per = tco * 1e18 / total_flop;
        flops_col[i] = flops;
        avg_col[i] = avg_w;
        m_clock[i] = clock[i];
        m_good[i] = g;
        m_tput[i] = flops * 1e-15;
        m_it[i] = it_w * 1e-6;
        m_fac[i] = facility_w * 1e-6;
        m_avg[i] = avg_w * 1e-6;
        m_energy[i] = energy_kwh * 1e-6;
        m_capex[i] = if own { own_capex } else { 0.0 };
        m_tco[i] = tco;
        m_total[i] = total_flop * 1e-18;
        m_usd[i] = if total_flop == 0.0 {
            f64::INFINITY
        } else {
            per
        };
        m_gpw[i] = flops / avg_w * 1e-9;
        m_homes[i] = avg_w * HOMES_PER_W;
        m_co2[i] = energy_kwh * carbon[i] * 1e-3;
    }
    if let Some(train_flop) = w.train_flop {
        let train_cost_scale = train_flop * 1e-18;
        for i in 0..BLOCK {
            let flops = flops_col[i];
            let d = train_flop / flops * DAYS_PER_SECOND;
            let days = if flops == 0.0 { f64::INFINITY } else { d };
            let energy_mwh = avg_col[i] * days * 24.0 * 1e-6;
            m_days[i] = days;
            m_gpuh[i] = n[i] * days * 24.0;
            m_temwh[i] = energy_mwh;
            m_tcost[i] = m_usd[i] * train_cost_scale;
            m_tco2[i] = energy_mwh * carbon[i];
        }
    }
    if let Some(model_params) = w.model_params {
        let per_token = 1.0 / (6.0 * model_params);
        for i in 0..BLOCK {
            m_tok[i] = flops_col[i] * per_token;
        }
    }
    let mut feasible = [false; BLOCK];
    for i in 0..BLOCK {
        feasible[i] = b.ok[i] && m_tput[i] > 0.0;
    }
    for (metric, bound, upper) in s.constraints.bounds() {
        let v = &m[metric as usize];
        if upper {
            for i in 0..BLOCK {
                feasible[i] &= v[i] <= bound;
            }
        } else {
            for i in 0..BLOCK {
                feasible[i] &= v[i] >= bound;
            }
        }
    }
    b.feasible = feasible;
    b.metrics = m;
}

/// Reduce one evaluated block into `red` (configurations `start .. start + len`).
#[inline(always)]
fn reduce_block(plan: &SweepPlan, b: &Block, len: usize, start: u64, red: &mut Reductions) {
    let s = &plan.scenario;
    let objective = s.objective;
    red.evaluated += len as u64;
    let invalid = b.ok[..len].iter().filter(|&&v| !v).count() as u64;
    red.invalid += invalid;
    let feasible = b.feasible[..len].iter().filter(|&&v| v).count();
    if feasible == 0 {
        return;
    }
    red.feasible += feasible as u64;
    // Stats: four independent lanes per metric so the loops vectorise.
    for (mi, metric) in Metric::ALL.iter().enumerate() {
        if !metric.applies(&s.workload) {
            continue;
        }
        let col = &b.metrics[mi];
        let mut lo = [f64::INFINITY; 4];
        let mut hi = [f64::NEG_INFINITY; 4];
        let mut sum = [0.0f64; 4];
        for (xs, fs) in col[..len].chunks(4).zip(b.feasible[..len].chunks(4)) {
            for l in 0..xs.len() {
                let x = xs[l];
                let f = fs[l];
                lo[l] = if f && x < lo[l] { x } else { lo[l] };
                hi[l] = if f && x > hi[l] { x } else { hi[l] };
                sum[l] += if f { x } else { 0.0 };
            }
        }
        let st = &mut red.stats[mi];
        for l in 0..4 {
            st.min = st.min.min(lo[l]);
            st.max = st.max.max(hi[l]);
        }
        st.sum += (sum[0] + sum[1]) + (sum[2] + sum[3]);
    }
    // Best, best per group and per Pareto bin: one pass over the feasible configurations.
    let obj = &b.metrics[objective.metric as usize];
    let fac = &b.metrics[Metric::FacilityMw as usize];
    let mut last_fac = f64::NAN;
    let mut bin = 0usize;
    let mut block_best: Option<Candidate> = None;
    for i in 0..len {
        if !b.feasible[i] {
            continue;
        }
        let cand = Candidate {
            objective: obj[i],
            index: start + i as u64,
        };
        offer(&mut block_best, cand, &objective);
        if plan.group_count > 1 {
            offer(&mut red.best_by[b.group[i]], cand, &objective);
        }
        if fac[i] != last_fac {
            last_fac = fac[i];
            bin = plan.pareto.bin(fac[i]);
        }
        offer(&mut red.pareto[bin], cand, &objective);
    }
    if let Some(c) = block_best {
        offer(&mut red.best, c, &objective);
        if plan.group_count == 1 {
            offer(&mut red.best_by[0], c, &objective);
        }
    }
}
