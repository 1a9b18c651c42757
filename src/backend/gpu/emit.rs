//! The sweep kernel's WGSL, emitted per plan from the model's tape (`backend::tape`): the
//! template `shaders/sweep.wgsl` gets the plan's sizes and the traced steps, constants as
//! literals. Steps that depend on outer axes only run once per tile (an outer combination
//! and up to `PER` inner positions); the others run per configuration. Tests whose axes
//! span a small table (validity of an axis value, a power limit on an accelerator, a cost
//! model) are decided on the host in f64 and read from `data_u`, so validity never depends
//! on f32 rounding. A constraint test that stays on the device is emitted twice, against
//! the bound narrowed and widened by [`CONSTRAINT_SLACK`]: a configuration that meets the
//! narrowed bound is feasible, one that meets only the widened bound goes to the `band`
//! buffer and the host decides it in f64 (`readback`), so a best on a bound needs no re-run.
//! The layout of partial rows (`NM`, `ROW`, offsets) is generated from the metric table.

use crate::backend::tape::trace::{trace, value_ok, Traced};
use crate::backend::tape::{Slot, TapeOp, Val};
use crate::model::formulas::{mean_exp_series, ramp_mean_series, RAMP_SERIES_BELOW};
use crate::model::{Metric, Op, Sense};
use crate::plan::SweepPlan;
use std::collections::{HashMap, HashSet};
use std::fmt::Write;

/// Relative widening of constraint bounds tested in f32 on the device (2^-18, about
/// 3.8e-6: many times the f32 error of the constrained metrics, well inside the 1e-5
/// agreement tolerance).
pub const CONSTRAINT_SLACK: f64 = 1.0 / 262_144.0;
/// Most axes the kernel decodes (the chunk's base digits).
pub const MAX_AXES: usize = 24;
/// Invocations per workgroup (`WG` in sweep.wgsl).
pub const WG: u64 = 64;
/// Most inner positions per invocation (kept far below lavapipe's loop limit).
const PER_MAX: u64 = 256;
/// Inner axes are taken from the last until their block has at least this many positions.
const MIN_BLOCK: u64 = 256;
/// Configurations within the slack of a constraint bound that one chunk can hand to the
/// host (beyond it the chunk is evaluated on the CPU).
pub const BAND_CAP: u64 = 4096;
/// Largest host-decided table of one test (entries).
const MAX_TABLE: u64 = 1 << 16;
/// Largest total of host-decided tables (entries).
const MAX_TABLES: u64 = 1 << 22;

/// Largest inner block the kernels take (chunk-local indices stay in u32).
const MAX_BLOCK: u64 = 1 << 28;

/// How the sweep kernel walks a grid: the first inner axis, the inner block (configurations
/// per outer combination), the invocations per block (`TILES`, a power of two, so that a
/// workgroup of [`WG`] invocations covers whole blocks or a fixed part of one) and the
/// inner positions per invocation (`PER`, at most [`PER_MAX`]).
struct Layout {
    inner: usize,
    block: u64,
    tiles: u64,
    per: u64,
}

impl Layout {
    fn of(lens: &[u64]) -> Layout {
        let (inner, block) = crate::grid::Grid::inner_block(lens, MIN_BLOCK);
        let tiles = block
            .div_ceil(PER_MAX)
            .checked_next_power_of_two()
            .unwrap_or(u64::MAX);
        let per = block.div_ceil(tiles.max(1));
        Layout {
            inner,
            block,
            tiles,
            per,
        }
    }
}

/// Configurations per summation tile of a grid with these axis lengths: the sweep kernel
/// sums each metric in f32 over one workgroup's invocations, and a workgroup covers
/// `WG / TILES` whole inner blocks (or, with 64 or more invocations per block, a fixed
/// part of one). A range of flat indices that starts and ends on multiples of this (or at
/// the grid's end) is made of whole workgroups at fixed places in the grid, so its f32
/// partial sums do not depend on how it was split: the GPU backend cuts chunks there,
/// checkpointed GPU runs cut segments there and shards start there (`src/shard.rs`). At
/// most 16,384, or the inner block when it is larger; 1 for grids the kernels refuse.
pub fn sum_tile(lens: &[u64]) -> u64 {
    let l = Layout::of(lens);
    if l.block > MAX_BLOCK {
        return 1;
    }
    l.block * (WG / l.tiles).max(1)
}

/// Why a plan cannot run on the GPU kernels (the CPU handles it).
#[derive(Debug, Clone, thiserror::Error)]
pub enum Unsupported {
    #[error("the GPU kernels decode at most {MAX_AXES} axes; this scenario has {0}")]
    TooManyAxes(usize),
    #[error("the inner block of {0} configurations is too large for 32-bit chunk indices")]
    BlockTooLarge(u64),
    /// An input outside what f32 represents ([`super::f32_range::outside_f32`]).
    #[error("{0} cannot be represented in f32 (non-zero magnitudes from 1.2e-38 to 3.4e38), which the GPU kernels compute in")]
    OutsideF32(String),
}

/// A plan's kernel, ready to compile and upload.
#[derive(Debug, Clone)]
pub struct Emitted {
    /// The sweep kernel's WGSL without its slots module (see [`Emitted::sweep_source`]).
    pub body: String,
    /// Layout constants shared with the reduce kernel.
    pub layout: String,
    pub data_f: Vec<f32>,
    pub data_u: Vec<u32>,
    /// Configurations per inner block (the product of the inner axes' lengths), and the
    /// tiles (invocations) that cover one block.
    pub block: u64,
    pub tiles: u64,
    /// Configurations per summation tile ([`sum_tile`]): chunks start on multiples of it.
    pub sum_tile: u64,
    /// The metrics whose statistics the partial rows carry, in row order.
    pub metrics: Vec<Metric>,
    /// u32 words per partial row.
    pub row: u64,
    /// Reduction slots: best, then groups, then Pareto bins, then heatmap cells.
    pub slots: usize,
    /// Heatmap cells: their feasible counts follow the slot keys in `slot_key`.
    pub cells: usize,
    /// `best_by` groups counted on the device (the plan's group count with group axes, else
    /// 0: the one group's count is the feasible count): their feasible counts follow the
    /// heatmap cells' in `slot_key`.
    pub groups: usize,
}

/// The WGSL of the modules around the sweep kernel.
const COMMON: &str = include_str!("../../../shaders/common.wgsl");
const STATS_TREE: &str = include_str!("../../../shaders/stats_tree.wgsl");
const SWEEP: &str = include_str!("../../../shaders/sweep.wgsl");
const REDUCE: &str = include_str!("../../../shaders/reduce.wgsl");
/// Reduction slots with 32-bit atomics (two passes).
pub const SLOTS32: &str = include_str!("../../../shaders/slots32.wgsl");
/// Reduction slots with 64-bit atomics (one pass).
pub const SLOTS64: &str = include_str!("../../../shaders/slots64.wgsl");

impl Emitted {
    /// u32 words of `slot_key`: the slots' keys, then the heatmap cells' feasible counts,
    /// then the groups'.
    pub fn key_words(&self) -> usize {
        self.slots + self.cells + self.groups
    }

    /// The sweep kernel with the given slots module.
    pub fn sweep_source(&self, slots: &str) -> String {
        format!("{}{COMMON}{slots}{STATS_TREE}{}", self.layout, self.body)
    }

    /// The partial-row reduction kernel for this plan's row layout.
    pub fn reduce_source(&self) -> String {
        format!("{}{COMMON}{STATS_TREE}{REDUCE}", self.layout)
    }
}

/// An f64 as a WGSL f32 expression (clamped to the f32 range; NaN by its bits).
pub(super) fn lit(x: f64) -> String {
    if x.is_nan() {
        return "bitcast<f32>(0x7fc00000u)".into();
    }
    let f = x.clamp(f32::MIN as f64, f32::MAX as f64) as f32;
    format!("{f:e}f")
}

/// Which version of a step computed from a constraint's bound.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Side {
    /// Against the bound narrowed by the slack: met for sure (and every other step).
    Narrow,
    /// Against the bound widened by the slack: possibly met.
    Wide,
}

/// What every emitted kernel needs of a plan: at most [`MAX_AXES`] axes, and every value it
/// reads representable in f32.
pub(super) fn check_plan(plan: &SweepPlan) -> Result<(), Unsupported> {
    let axes = plan.grid.lens.len();
    if axes > MAX_AXES {
        return Err(Unsupported::TooManyAxes(axes));
    }
    match super::f32_range::outside_f32(plan) {
        Some(what) => Err(Unsupported::OutsideF32(what)),
        None => Ok(()),
    }
}

/// Emit the sweep kernel for `plan`.
pub fn emit(plan: &SweepPlan) -> Result<Emitted, Unsupported> {
    let s = &plan.scenario;
    let lens = &plan.grid.lens;
    check_plan(plan)?;
    let Layout {
        inner,
        block,
        tiles,
        per,
    } = Layout::of(lens);
    if block > MAX_BLOCK {
        return Err(Unsupported::BlockTooLarge(block));
    }
    let ok = value_ok(plan);
    let traced = trace(plan, inner, &ok);
    let inner_bits: u64 = (inner..lens.len()).fold(0, |m, k| m | 1 << k);

    let (data_f, axis_off, table_off) = axis_data(plan, &ok, &traced.tracer.tables);

    let host = host_tests(plan, &traced, &ok);
    let mut data_u: Vec<u32> = Vec::new();
    let mut host_at: HashMap<Slot, (usize, u64)> = HashMap::new();
    for (slot, deps, table) in host {
        host_at.insert(slot, (data_u.len(), deps));
        data_u.extend(table);
    }
    if data_u.is_empty() {
        data_u.push(0);
    }

    // Names of values.
    let t = &traced.tracer;
    let bound_of: HashMap<Slot, bool> = traced.bounds.iter().copied().collect();
    let axis_slot: HashMap<u32, (usize, bool)> = traced
        .axis_slots
        .iter()
        .enumerate()
        .flat_map(|(k, &(v, o))| [(v, (k, false)), (o, (k, true))])
        .collect();
    let produced: HashSet<Slot> = t.steps.iter().map(|st| st.out).collect();
    // Steps computed on the device from a constraint's bound: emitted twice, against the
    // bound narrowed (`_n`, surely met) and widened (`_w`, possibly met) by the slack.
    let mut banded: HashSet<Slot> = HashSet::new();
    for st in &t.steps {
        let reads = |s: Slot| bound_of.contains_key(&s) || banded.contains(&s);
        if !host_at.contains_key(&st.out) && [st.a, st.b, st.c].into_iter().any(reads) {
            banded.insert(st.out);
        }
    }
    let name = |slot: Slot, side: Side| -> String {
        let base = match slot {
            Slot::Column(i) => format!("c{i}"),
            Slot::Scalar(i) if produced.contains(&slot) || axis_slot.contains_key(&i) => {
                format!("s{i}")
            }
            Slot::Scalar(i) => {
                let x = t.scalars[i as usize];
                return match bound_of.get(&slot) {
                    Some(&upper) => {
                        let w = x.abs() * CONSTRAINT_SLACK;
                        let wider = (side == Side::Wide) == upper;
                        lit(if wider { x + w } else { x - w })
                    }
                    None => lit(x),
                };
            }
        };
        match (banded.contains(&slot), side) {
            (true, Side::Narrow) => format!("{base}_n"),
            (true, Side::Wide) => format!("{base}_w"),
            _ => base,
        }
    };
    let index_of = |deps: u64| -> String {
        // Mixed radix over the axes in `deps` (the last varies fastest).
        let mut terms = Vec::new();
        let mut mult = 1u64;
        for k in (0..lens.len()).rev() {
            if deps & (1 << k) != 0 {
                terms.push(format!("d{k} * {mult}u"));
                mult *= lens[k];
            }
        }
        if terms.is_empty() {
            "0u".into()
        } else {
            terms.join(" + ")
        }
    };

    let mut outer = outer_values(lens, inner, &traced.axis_slots, &axis_off, "            ");
    let mut innr = String::new();
    for (st, side) in t.steps.iter().flat_map(|st| {
        let sides: &[Side] = if banded.contains(&st.out) {
            &[Side::Narrow, Side::Wide]
        } else {
            &[Side::Narrow]
        };
        sides.iter().map(move |&side| (st, side))
    }) {
        let at_outer = st.deps & inner_bits == 0;
        let name = |slot: Slot| name(slot, side);
        let out = name(st.out);
        let expr = if let Some(&(off, deps)) = host_at.get(&st.out) {
            format!("f32(data_u[{off}u + {}])", index_of(deps))
        } else {
            let (a, b, c) = (name(st.a), name(st.b), name(st.c));
            match st.op {
                TapeOp::Arith(op) => arith(op, &a, &b),
                TapeOp::Select => format!("select({c}, {b}, {a} != 0.0)"),
                TapeOp::Lookup { table, stride } => format!(
                    "data_f[{}u + u32({a}) * {stride}u + u32({b})]",
                    table_off[table as usize]
                ),
                TapeOp::Fill { ax, ok } => {
                    let (vo, oo) = axis_off[ax as usize];
                    format!("data_f[{}u + d{ax}]", if ok { oo } else { vo })
                }
                TapeOp::Draw { .. } => unreachable!("draws are in Monte Carlo tapes only"),
            }
        };
        let line = format!("let {out} = {expr};\n");
        if at_outer {
            outer.push_str("            ");
            outer.push_str(&line);
        } else {
            innr.push_str("                ");
            innr.push_str(&line);
        }
    }

    // Inner digits of ja, and the odometer.
    let mut inner_start = String::from("            var r = ja;\n");
    for k in (inner..lens.len()).rev() {
        let len = lens[k];
        let _ = writeln!(
            inner_start,
            "            var d{k} = r % {len}u;\n            r = r / {len}u;"
        );
    }
    let mut advance = String::new();
    let mut close = String::new();
    for (depth, k) in (inner..lens.len()).rev().enumerate() {
        let pad = "    ".repeat(depth + 4);
        let _ = writeln!(
            advance,
            "{pad}d{k} += 1u;\n{pad}if d{k} == {}u {{\n{pad}    d{k} = 0u;",
            lens[k]
        );
        close = format!("{pad}}}\n{close}");
    }
    advance.push_str(&close);

    // Validity, feasibility, statistics and offers.
    let mask = |m: &crate::backend::tape::Mask, side: Side| match m.col {
        Some(c) => format!("{} * {}", name(m.gate.slot, side), name(c.slot, side)),
        None => name(m.gate.slot, side),
    };
    // Metrics, keys and bins read no bound: one name.
    let name = |slot: Slot| name(slot, Side::Narrow);
    let is_inner = |v: Val| v.deps & inner_bits != 0;
    let metrics: Vec<Metric> = Metric::ALL
        .iter()
        .copied()
        .filter(|m| m.applies(&s.workload))
        .collect();
    let obj = s.objective;
    let obj_val = traced.metrics[obj.metric as usize].expect("the objective applies");
    let fac_val = traced.metrics[Metric::FacilityMw as usize].expect("facility_mw always applies");
    let key_expr = |v: Val| {
        let k = format!("ordered_key({})", name(v.slot));
        if obj.sense == Sense::Max {
            k
        } else {
            format!("~{k}")
        }
    };
    // The group's position among the groups (`group_of`), and its slot (after the best).
    let group_index = {
        let mut terms = vec!["0u".to_string()];
        let mut mult = 1u64;
        for &k in plan.group_axes.iter().rev() {
            terms.push(format!("d{k} * {mult}u"));
            mult *= lens[k];
        }
        terms.join(" + ")
    };
    let group_expr = format!("1u + {group_index}");
    let group_inner = plan.group_axes.iter().any(|&k| k >= inner);
    let bin_base = 1 + plan.group_count;
    let bin_expr = format!("{bin_base}u + pareto_bin({})", name(fac_val.slot));
    // Heatmap cells: offered like groups; feasible counts added in `slot_key` after the
    // slots (per tile, or per run of one cell inside a tile), in pass 0 only.
    let heat_base = bin_base + plan.pareto.count;
    let count_base = heat_base + plan.heatmap_cells();
    // Group feasible counts after the heatmap cells' (only with group axes).
    let group_count_base = count_base + plan.heatmap_cells();
    let groups_counted = if plan.group_axes.is_empty() {
        0
    } else {
        plan.group_count
    };
    let heat = plan.heatmap.map(|h| {
        let cell = format!("d{} * {}u + d{}", h.x, lens[h.y], h.y);
        (cell, h.x >= inner || h.y >= inner)
    });

    let mut per_config = String::new();
    let pad = "                ";
    let _ = writeln!(
        per_config,
        "{pad}let valid = ({}) != 0.0;\n{pad}let feas = ({}) != 0.0;\n{pad}if feas {{\n{pad}    nf += 1u;",
        mask(&traced.valid, Side::Narrow),
        mask(&traced.feasible, Side::Narrow)
    );
    let maybe = mask(&traced.feasible, Side::Wide);
    let has_band = maybe != mask(&traced.feasible, Side::Narrow);
    let mut after = String::from("            if nf > 0u {\n");
    let count_at = |base: usize, cell: &str, n: &str| {
        format!("if pass_id == 0u {{ atomicAdd(&slot_key[{base}u + {cell}], {n}); }}")
    };
    let count = |cell: &str, n: &str| count_at(count_base, cell, n);
    let group_count = |cell: &str, n: &str| count_at(group_count_base, cell, n);
    match &heat {
        Some((cell, false)) => {
            let _ = writeln!(after, "                {}", count(cell, "nf"));
        }
        Some((cell, true)) => {
            inner_start.push_str("            var hm_cell = 0u;\n            var hm_n = 0u;\n");
            let _ = writeln!(
                per_config,
                "{pad}    let hc = {cell};\n{pad}    if hm_n > 0u && hc != hm_cell {{\n{pad}        {}\n{pad}        hm_n = 0u;\n{pad}    }}\n{pad}    hm_cell = hc;\n{pad}    hm_n += 1u;",
                count("hm_cell", "hm_n")
            );
        }
        None => {}
    }
    // Group feasible counts: per tile when the group is fixed in the tile, else per run of
    // one group inside the tile (like the heatmap cells).
    if groups_counted > 0 {
        if group_inner {
            inner_start.push_str("            var gr_cell = 0u;\n            var gr_n = 0u;\n");
            let _ = writeln!(
                per_config,
                "{pad}    let gc = {group_index};\n{pad}    if gr_n > 0u && gc != gr_cell {{\n{pad}        {}\n{pad}        gr_n = 0u;\n{pad}    }}\n{pad}    gr_cell = gc;\n{pad}    gr_n += 1u;",
                group_count("gr_cell", "gr_n")
            );
        } else {
            let _ = writeln!(after, "                {}", group_count(&group_index, "nf"));
        }
    }
    // Statistics of the metrics that change inside the tile, per configuration. (Skipping
    // them in pass 1 behind `if pass_id == 0u` measured no faster on lavapipe.)
    for (q, m) in metrics.iter().enumerate() {
        let v = traced.metrics[*m as usize].expect("applies");
        let n = name(v.slot);
        if is_inner(v) {
            let _ = writeln!(
                per_config,
                "{pad}    mn[{q}] = min(mn[{q}], {n});\n{pad}    mx[{q}] = max(mx[{q}], {n});\n{pad}    sm[{q}] = sm[{q}] + {n};"
            );
        } else {
            let _ = writeln!(
                after,
                "                mn[{q}] = min(mn[{q}], {n});\n                mx[{q}] = max(mx[{q}], {n});\n                sm[{q}] = sm[{q}] + {n} * f32(nf);"
            );
        }
    }
    after.push_str("            }\n");
    if let Some((_, true)) = &heat {
        let _ = writeln!(
            after,
            "            if hm_n > 0u {{ {} }}",
            count("hm_cell", "hm_n")
        );
    }
    if groups_counted > 0 && group_inner {
        let _ = writeln!(
            after,
            "            if gr_n > 0u {{ {} }}",
            group_count("gr_cell", "gr_n")
        );
    }
    if is_inner(obj_val) {
        let _ = writeln!(
            per_config,
            "{pad}    let key = {};\n{pad}    if key > lb_key {{\n{pad}        lb_key = key;\n{pad}        lb_j = j;\n{pad}    }}",
            key_expr(obj_val)
        );
    } else {
        let _ = writeln!(
            per_config,
            "{pad}    let key = {};\n{pad}    if lb_key == 0u {{\n{pad}        lb_key = key;\n{pad}        lb_j = j;\n{pad}    }}",
            key_expr(obj_val)
        );
    }
    let mut tile_offers = vec!["0u".to_string()];
    let mut config_offers = Vec::new();
    if group_inner {
        config_offers.push(group_expr.clone());
    } else {
        tile_offers.push(group_expr.clone());
    }
    if is_inner(fac_val) {
        config_offers.push(bin_expr.clone());
    } else {
        tile_offers.push(bin_expr.clone());
    }
    match &heat {
        Some((cell, true)) => config_offers.push(format!("{heat_base}u + {cell}")),
        Some((cell, false)) => tile_offers.push(format!("{heat_base}u + {cell}")),
        None => {}
    }
    for slot in &config_offers {
        let _ = writeln!(
            per_config,
            "{pad}    offer(pass_id, {slot}, key, ~(ob + j));"
        );
    }
    if has_band {
        // Within the slack of a bound: the host decides in f64.
        let _ = writeln!(
            per_config,
            "{pad}}} else if ({maybe}) != 0.0 {{\n{pad}    if pass_id == 0u {{\n{pad}        band_push(ob + j);\n{pad}    }}"
        );
    }
    let _ = writeln!(
        per_config,
        "{pad}}} else if !valid {{\n{pad}    inv += 1u;\n{pad}}}"
    );
    let _ = writeln!(
        after,
        "            if lb_key != 0u {{\n                let nidx = ~(ob + lb_j);"
    );
    for slot in &tile_offers {
        let _ = writeln!(
            after,
            "                offer(pass_id, {slot}, lb_key, nidx);"
        );
    }
    after.push_str("            }\n");
    innr.push_str(&per_config);

    let nm = metrics.len() as u64;
    let row = 2 + 3 * nm;
    let layout = format!(
        "// Generated from the metric table (src/backend/gpu/emit.rs): the partial row is\n// [invalid, feasible, min x NM, max x NM, sum x NM].\nconst NM: u32 = {nm}u;\nconst ROW: u32 = {row}u;\nconst R_MIN: u32 = 2u;\nconst R_MAX: u32 = {}u;\nconst R_SUM: u32 = {}u;\n",
        2 + nm,
        2 + 2 * nm
    );
    let consts = format!(
        "// Generated for scenario `{}`: tile sizes and Pareto bins.\nconst B: u32 = {block}u;\nconst PER: u32 = {per}u;\nconst TILES: u32 = {tiles}u;\nconst BAND_CAP: u32 = {BAND_CAP}u;\nconst N_BINS: u32 = {}u;\nconst LN_LO: f32 = {};\nconst PER_LN: f32 = {};\n",
        s.name.replace('\n', " "),
        plan.pareto.count,
        lit(plan.pareto.ln_lo),
        lit(plan.pareto.per_ln)
    );
    let body = SWEEP
        .replace("{{OUTER}}\n", &outer)
        .replace("{{INNER_START}}\n", &inner_start)
        .replace("{{INNER}}\n", &innr)
        .replace("{{ADVANCE}}\n", &advance)
        .replace("{{AFTER}}\n", &after);
    Ok(Emitted {
        body: format!("{consts}{body}"),
        layout,
        data_f,
        data_u,
        block,
        tiles,
        sum_tile: sum_tile(lens),
        metrics,
        row,
        slots: 1 + plan.group_count + plan.pareto.count + plan.heatmap_cells(),
        cells: plan.heatmap_cells(),
        groups: groups_counted,
    })
}

/// The `data_f` buffer: per axis its values and validity flags, then the lookup tables;
/// returns it with each axis's (values, flags) offsets and each table's offset.
pub(super) type AxisData = (Vec<f32>, Vec<(usize, usize)>, Vec<usize>);

pub(super) fn axis_data(plan: &SweepPlan, ok: &[Vec<f64>], tables: &[Vec<f64>]) -> AxisData {
    let mut data_f: Vec<f32> = Vec::new();
    let mut axis_off = Vec::new();
    for (a, okv) in plan.scenario.axes.iter().zip(ok) {
        let vo = data_f.len();
        data_f.extend(a.values.iter().map(|&v| v as f32));
        let oo = data_f.len();
        data_f.extend(okv.iter().map(|&v| v as f32));
        axis_off.push((vo, oo));
    }
    let mut table_off = Vec::new();
    for t in tables {
        table_off.push(data_f.len());
        data_f.extend(t.iter().map(|&v| v as f32));
    }
    (data_f, axis_off, table_off)
}

/// WGSL that decodes the digits `d0 .. d{outer - 1}` of outer combination `o` (the chunk's
/// base digits plus `o`, with carry) and reads each outer axis's value and validity flag
/// into its scalar slots; each line starts with `pad`.
pub(super) fn outer_values(
    lens: &[u64],
    outer: usize,
    axis_slots: &[(u32, u32)],
    axis_off: &[(usize, usize)],
    pad: &str,
) -> String {
    let mut out = format!("{pad}var l = o;\n{pad}var carry = 0u;\n");
    for k in (0..outer).rev() {
        let len = lens[k];
        let _ = writeln!(
            out,
            "{pad}let q{k} = l / {len}u;\n{pad}var e{k} = base_digit({k}u) + (l - q{k} * {len}u) + carry;\n{pad}carry = select(0u, 1u, e{k} >= {len}u);\n{pad}let d{k} = e{k} - carry * {len}u;\n{pad}l = q{k};"
        );
    }
    for (k, &(vi, oi)) in axis_slots.iter().enumerate() {
        let (vo, oo) = axis_off[k];
        let _ = writeln!(
            out,
            "{pad}let s{vi} = data_f[{vo}u + d{k}];\n{pad}let s{oi} = data_f[{oo}u + d{k}];"
        );
    }
    out
}

/// A model operation in f32 WGSL.
pub(super) fn arith(op: Op, x: &str, y: &str) -> String {
    match op {
        Op::Add => format!("{x} + {y}"),
        Op::Sub => format!("{x} - {y}"),
        Op::Mul => format!("{x} * {y}"),
        Op::Div => format!("{x} / {y}"),
        Op::DivOrInf => format!("select({x} / {y}, F32_MAX, {y} == 0.0)"),
        Op::JobSize => format!("select(min({x}, {y}), {y}, {x} == 0.0)"),
        Op::Eq => format!("test({x} == {y})"),
        Op::Gt => format!("test({x} > {y})"),
        Op::Ge => format!("test({x} >= {y})"),
        Op::Le => format!("test({x} <= {y})"),
        Op::Lt => format!("test({x} < {y})"),
        Op::IsWhole => format!("test({x} == trunc({x}))"),
        // By the exponent bits: WGSL lets a compiler assume no infinities or NaNs, so a
        // comparison like `x - x == 0.0` could be folded away.
        Op::IsFinite => format!("test({})", finite(x)),
        Op::MulIsFinite => format!("test({})", finite(&format!("{x} * {y}"))),
        Op::DivIsFinite => format!("test({})", finite(&format!("{x} / {y}"))),
        Op::DivOrInfIsFinite => format!("test({y} != 0.0 && {})", finite(&format!("{x} / {y}"))),
        Op::Sqrt => format!("sqrt({x})"),
        // pow of a non-positive base is undefined in WGSL; such a configuration is invalid.
        Op::Pow => format!("select(pow({x}, {y}), 0.0, {x} <= 0.0)"),
        Op::Clamp01 => format!("clamp({x}, 0.0, 1.0)"),
        Op::ExpNeg => format!("exp(-{x})"),
        // WGSL has no log1p or expm1: near 0, where the closed forms cancel in f32, a
        // series (both sides computed, `select` picks one: no branch).
        Op::Ln1p => format!(
            "select(log(1.0 + {x}), {x} * ({}), abs({x}) < {})",
            horner(&LN1P_OVER_X, x),
            lit(LN1P_SERIES_BELOW)
        ),
        Op::MeanExpNeg => format!(
            "select((1.0 - exp(-{x})) / {x}, {}, abs({x}) < {})",
            horner(&MEAN_EXP_F32, x),
            lit(MEAN_EXP_SERIES_BELOW)
        ),
        Op::RampMeanExpNeg => format!(
            "select((1.0 - exp(-{x}) * (1.0 + {x})) / ({x} * {x}), {}, abs({x}) < {})",
            horner(&RAMP_MEAN_F32, x),
            lit(RAMP_SERIES_BELOW)
        ),
    }
}

/// Whether the f32 `x` is finite, by its exponent bits.
fn finite(x: &str) -> String {
    format!("(bitcast<u32>({x}) & 0x7f800000u) != 0x7f800000u")
}

/// Below this `|x|` the emitted `ln(1 + x)` is `x` times [`LN1P_OVER_X`] (the first term
/// left out, `x^6 / 6`, is under 3e-9 of `x`); above it `log(1 + x)` loses at most
/// about 1e-6 (relative) to the rounding of `1 + x`.
const LN1P_SERIES_BELOW: f64 = 0.05;
/// `ln(1 + x) / x = 1 - x/2 + x^2/3 - x^3/4 + x^4/5 - x^5/6`.
const LN1P_OVER_X: [f64; 6] = [1.0, -0.5, 1.0 / 3.0, -0.25, 0.2, -1.0 / 6.0];
/// Below this `|x|` the emitted `(1 - e^(-x)) / x` is its series (10 terms: the first
/// left out, `0.5^10 / 11!`, is under 3e-11); above it the closed form loses at most
/// about 2e-7 to the rounding of `e^(-x)`.
const MEAN_EXP_SERIES_BELOW: f64 = 0.5;
const MEAN_EXP_F32: [f64; 10] = mean_exp_series::<10>();
/// The emitted `(1 - e^(-x) (1 + x)) / x^2` below [`RAMP_SERIES_BELOW`]: 12 terms (the
/// first left out, `1 / (12! 14)`, is under 2e-10).
const RAMP_MEAN_F32: [f64; 12] = ramp_mean_series::<12>();

/// A polynomial in `x` (coefficients lowest power first) as a WGSL Horner expression.
fn horner(coeffs: &[f64], x: &str) -> String {
    let mut out = lit(coeffs[coeffs.len() - 1]);
    for &c in coeffs[..coeffs.len() - 1].iter().rev() {
        out = format!("{} + {x} * ({out})", lit(c));
    }
    out
}

/// The 0/1 steps decided on the host in f64: tests (and products of tests) whose axes span
/// at most [`MAX_TABLE`] entries, each the largest such step of its axes (a step whose
/// readers all are tests of the same axes is left to them). Returns (slot, axes, table).
fn host_tests(plan: &SweepPlan, traced: &Traced, ok: &[Vec<f64>]) -> Vec<(Slot, u64, Vec<u32>)> {
    let t = &traced.tracer;
    let lens = &plan.grid.lens;
    let size = |deps: u64| -> u64 {
        (0..lens.len())
            .filter(|k| deps & (1 << k) != 0)
            .map(|k| lens[k])
            .product()
    };
    // Which slots hold 0/1 values: tests, axis flags, products of them.
    let produced: HashSet<Slot> = t.steps.iter().map(|s| s.out).collect();
    let mut binary: HashSet<Slot> = HashSet::new();
    for st in &t.steps {
        let is_bin = |s: Slot| {
            binary.contains(&s)
                || (!produced.contains(&s)
                    && matches!(s, Slot::Scalar(i) if {
                        let x = t.scalars[i as usize];
                        x == 0.0 || x == 1.0
                    }))
        };
        let b = match st.op {
            TapeOp::Arith(op) if op.is_test() => true,
            TapeOp::Arith(Op::Mul) => is_bin(st.a) && is_bin(st.b),
            TapeOp::Fill { ok: true, .. } => true,
            _ => false,
        };
        if b {
            binary.insert(st.out);
        }
    }
    let mut readers: HashMap<Slot, Vec<(Slot, u64)>> = HashMap::new();
    for st in &t.steps {
        for o in [st.a, st.b, st.c] {
            readers.entry(o).or_default().push((st.out, st.deps));
        }
    }
    let mut roots = vec![traced.valid.gate.slot, traced.feasible.gate.slot];
    roots.extend(traced.valid.col.map(|c| c.slot));
    roots.extend(traced.feasible.col.map(|c| c.slot));

    // The steps to tabulate, grouped by the axes they read (one pass over each group's
    // combinations fills all of its tables).
    let mut groups: Vec<(u64, Vec<Slot>)> = Vec::new();
    let mut total = 0u64;
    for st in &t.steps {
        if !binary.contains(&st.out) || st.deps == 0 || matches!(st.op, TapeOp::Fill { .. }) {
            continue;
        }
        let n = size(st.deps);
        if n > MAX_TABLE || total + n > MAX_TABLES {
            continue;
        }
        let covered = !roots.contains(&st.out)
            && readers
                .get(&st.out)
                .is_some_and(|rs| rs.iter().all(|(r, d)| binary.contains(r) && *d == st.deps));
        if covered {
            continue;
        }
        total += n;
        match groups.iter_mut().find(|(d, _)| *d == st.deps) {
            Some((_, slots)) => slots.push(st.out),
            None => groups.push((st.deps, vec![st.out])),
        }
    }
    let mut out = Vec::new();
    for (deps, slots) in groups {
        let tables = tabulate(plan, traced, ok, &slots, deps, size(deps));
        out.extend(
            slots
                .into_iter()
                .zip(tables)
                .map(|(s, table)| (s, deps, table)),
        );
    }
    out
}

/// The values of `slots` at every combination of the axes in `deps` (mixed radix, the last
/// axis fastest), evaluated in f64 by the tape's interpreter: one table per slot.
fn tabulate(
    plan: &SweepPlan,
    traced: &Traced,
    ok: &[Vec<f64>],
    slots: &[Slot],
    deps: u64,
    n: u64,
) -> Vec<Vec<u32>> {
    let t = &traced.tracer;
    let s = &plan.scenario;
    let lens = &plan.grid.lens;
    let axes: Vec<usize> = (0..lens.len()).filter(|k| deps & (1 << k) != 0).collect();
    let at: Vec<usize> = slots.iter().map(|&slot| t.point_index(slot)).collect();
    let mut digits = vec![0usize; lens.len()];
    let mut tables = vec![Vec::with_capacity(n as usize); slots.len()];
    let mut v = Vec::new();
    for mut i in 0..n {
        for &k in axes.iter().rev() {
            digits[k] = (i % lens[k]) as usize;
            i /= lens[k];
        }
        v.clear();
        v.extend_from_slice(&t.scalars);
        for (k, &(vi, oi)) in traced.axis_slots.iter().enumerate() {
            v[vi as usize] = s.axes[k].values[digits[k]];
            v[oi as usize] = ok[k][digits[k]];
        }
        let fill = |ax: u32, is_ok: bool| {
            let k = ax as usize;
            if is_ok {
                ok[k][digits[k]]
            } else {
                s.axes[k].values[digits[k]]
            }
        };
        t.eval_point(&fill, &mut v);
        for (table, &a) in tables.iter_mut().zip(&at) {
            table.push((v[a] != 0.0) as u32);
        }
    }
    tables
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
