//! Monte Carlo sweeps on the GPU: the tape of `trace_draws` (every axis outer, the draw as
//! the one column) emitted into `shaders/montecarlo.wgsl`, one workgroup per configuration
//! with its draws across the invocations. The draws of uncertain inputs are generated on
//! the device (`shaders/draws.wgsl`, records from `draws`): once per sweep into a draw
//! table (`shaders/draw_table.wgsl`; draw k is the same for every configuration) that the
//! kernel reads, or, where that table would exceed [`GpuOptions::mc_draw_table_bytes`] or
//! the device's largest storage binding, per draw where the kernel uses it. The per-draw
//! sums, counts and, for a percentile statistic, the exact nearest-rank key (histogram
//! passes over a shrinking key range, then a rank among at most 64 candidates;
//! `shaders/mc_select.wgsl`) are computed on the device. Each configuration's row (valid
//! and feasible draws, statistic, sums) is read back and reduced on the host into the same
//! [`Reductions`] as the CPU kernel (best, groups, Pareto bins over the mean facility
//! power, statistics of the means), with the f32 row values widened to f64.
//!
//! [`GpuOptions::mc_draw_table_bytes`]: super::GpuOptions::mc_draw_table_bytes

use super::chunks::ChunkParams;
use super::draws::{device_draws, DRAWS_WGSL, RECORD_WORDS};
use super::emit::{arith, axis_data, key_value, lit, outer_values, Unsupported, MAX_AXES};
use super::pipelines::{bind, dispatch_dims};
use super::{GpuBackend, GpuError};
use crate::backend::tape::trace::{trace_draws, value_ok};
use crate::backend::tape::{Slot, TapeOp};
use crate::model::Metric;
use crate::params::PARAMS;
use crate::plan::SweepPlan;
use crate::reduce::{offer, Candidate, Reductions};
use crate::uncertain::{nearest_rank, Statistic};
use std::collections::HashSet;
use std::fmt::Write;
use std::ops::Range;
use std::sync::{Arc, Mutex};

const TEMPLATE: &str = include_str!("../../../shaders/montecarlo.wgsl");
const SELECT: &str = include_str!("../../../shaders/mc_select.wgsl");
/// A percentile's draw keys in workgroup memory (they fit) or in a storage buffer.
const KEYS_IN_WORKGROUP: &str = "// The configuration's draw keys, in workgroup memory.\nvar<workgroup> w_keys: array<u32, SAMPLES>;\nfn key_store(kb: u32, k: u32, key: u32) {\n    w_keys[k] = key;\n}\nfn key_load(kb: u32, k: u32) -> u32 {\n    return w_keys[k];\n}\n";
const KEYS_IN_STORAGE: &str = "// Per configuration: the objective's key of each valid draw, 0 for an invalid one.\n@group(0) @binding(3) var<storage, read_write> keys: array<u32>;\nfn key_store(kb: u32, k: u32, key: u32) {\n    keys[kb + k] = key;\n}\nfn key_load(kb: u32, k: u32) -> u32 {\n    return keys[kb + k];\n}\n";
const DRAW_TABLE: &str = include_str!("../../../shaders/draw_table.wgsl");
const COMMON: &str = include_str!("../../../shaders/common.wgsl");
/// Most configurations per dispatch (one workgroup each).
const MAX_DISPATCH: u64 = 1 << 16;

/// The Monte Carlo kernel of one plan.
#[derive(Debug, Clone)]
pub struct McEmitted {
    pub source: String,
    pub data_f: Vec<f32>,
    /// The words the device's generator reads (`shaders/draws.wgsl`); empty when nothing
    /// is drawn (every distribution has one value).
    pub draw_words: Vec<u32>,
    /// The generator of the sweep's draw table, when the kernel reads one (binding 5)
    /// instead of generating each draw (binding 4: `draw_words`).
    pub draw_table: Option<DrawTable>,
    /// The metrics whose sums a row carries, in row order.
    pub metrics: Vec<Metric>,
    /// u32 words per configuration row.
    pub row: u64,
    /// Whether the statistic is a percentile (keys are kept and selected).
    pub percentile: bool,
    /// Whether the keys stay in workgroup memory (else binding 3, one row of `samples`
    /// keys per configuration).
    pub workgroup_keys: bool,
    pub samples: u64,
}

/// The kernel that fills a Monte Carlo sweep's draw table (`shaders/draw_table.wgsl`).
#[derive(Debug, Clone)]
pub struct DrawTable {
    pub source: String,
    /// Records (drawn parameter x accelerator); the table has `records x samples` f32.
    pub records: u64,
}

/// Workgroup memory the Monte Carlo template itself declares (shaders/montecarlo.wgsl), in
/// 32-bit words: the per-metric sums (`NM * WG`) plus this many.
const TEMPLATE_WORKGROUP_WORDS: u64 = 2 + 256 + 4 + 1 + 1 + 64 + 1 + 64 + 1;

/// Emit the Monte Carlo kernel for `plan` (a scenario with uncertain inputs), reading its
/// draws from a table generated once per sweep when that table has at most
/// `max_table_bytes`, else generating each draw where it is used; a percentile's keys stay
/// in workgroup memory when they fit in `workgroup_bytes` beside the template's own.
pub fn emit_montecarlo(
    plan: &SweepPlan,
    max_table_bytes: u64,
    workgroup_bytes: u64,
) -> Result<McEmitted, Unsupported> {
    let s = &plan.scenario;
    let lens = &plan.grid.lens;
    super::emit::check_plan(plan)?;
    let n = s.samples() as u64;
    let traced = trace_draws(plan);
    let t = &traced.tracer;
    let ok = value_ok(plan);
    let draw_bit = 1u64 << lens.len();

    let (mut data_f, axis_off, table_off) = axis_data(plan, &ok, &t.tables);
    // The drawn parameters, in the order of their first draw.
    let mut drawn = Vec::new();
    for st in &t.steps {
        if let TapeOp::Draw { param } = st.op {
            let p = PARAMS[param as usize].param;
            if !drawn.contains(&p) {
                drawn.push(p);
            }
        }
    }
    let (draw_words, records) = if drawn.is_empty() {
        (Vec::new(), Vec::new())
    } else {
        device_draws(s, &drawn)
    };
    let n_records = (drawn.len() * s.accelerators.len()) as u64;
    let draw_table = (!draw_words.is_empty() && n_records * n * 4 <= max_table_bytes).then(|| {
        DrawTable {
            source: format!(
                "const SAMPLES: u32 = {n}u;\nconst RECORDS: u32 = {n_records}u;\nconst RECORD_WORDS: u32 = {RECORD_WORDS}u;\n{DRAWS_WGSL}{DRAW_TABLE}"
            ),
            records: n_records,
        }
    });
    // The 0-based nearest rank for each count of valid draws (exact, from f64).
    let rank_off = data_f.len();
    let percentile = match s.statistic {
        Statistic::Mean => None,
        Statistic::Percentile(q) => Some(q),
    };
    if let Some(q) = percentile {
        data_f.extend((0..=n as usize).map(|nv| nearest_rank(q, nv) as f32));
    }

    let produced: HashSet<Slot> = t.steps.iter().map(|st| st.out).collect();
    let axis_slot: HashSet<u32> = traced
        .axis_slots
        .iter()
        .flat_map(|&(v, o)| [v, o])
        .collect();
    let name = |slot: Slot| -> String {
        match slot {
            Slot::Column(i) => format!("c{i}"),
            Slot::Scalar(i) if produced.contains(&slot) || axis_slot.contains(&i) => {
                format!("s{i}")
            }
            Slot::Scalar(i) => lit(t.scalars[i as usize]),
        }
    };

    let mut outer = outer_values(lens, lens.len(), &traced.axis_slots, &axis_off, "    ");
    let mut draw = String::new();
    let mut keyed: Vec<u32> = Vec::new();
    // The device record of a drawn parameter (`Draw` steps read only drawn parameters).
    let record_of = |param: u32| {
        records
            .iter()
            .find(|d| d.param.index() == param as usize)
            .expect("a record for every drawn parameter")
    };
    for st in &t.steps {
        let (a, b, c) = (name(st.a), name(st.b), name(st.c));
        let expr = match st.op {
            TapeOp::Arith(op) => arith(op, &a, &b),
            TapeOp::Select => format!("select({c}, {b}, {a} != 0.0)"),
            TapeOp::Lookup { table, stride } => format!(
                "data_f[{}u + u32({a}) * {stride}u + u32({b})]",
                table_off[table as usize]
            ),
            TapeOp::Fill { ax, .. } if ax as usize == lens.len() => "f32(k)".into(),
            TapeOp::Draw { param } if draw_table.is_some() => {
                // The parameter's draws on accelerator a start at record first + a.
                let first = (record_of(param).first - 2) / RECORD_WORDS;
                format!(
                    "draw_table[{}u + u32({a}) * {n}u + u32({b})]",
                    first as u64 * n
                )
            }
            TapeOp::Draw { param } => {
                // The record and the stream key, once per configuration (before the first
                // draw of the parameter); the quantile per draw.
                let d = record_of(param);
                let (r, key) = (format!("dr{param}"), format!("dk{param}"));
                if !keyed.contains(&param) {
                    keyed.push(param);
                    let _ = writeln!(
                        outer,
                        "    let {r} = {}u + u32({a}) * {RECORD_WORDS}u;\n    let {key} = draw_key({r});",
                        d.first
                    );
                }
                d.wgsl(&r, &key, &format!("u32({b})"))
            }
            TapeOp::Fill { ax, ok } => {
                let (vo, oo) = axis_off[ax as usize];
                format!("data_f[{}u + d{ax}]", if ok { oo } else { vo })
            }
        };
        let line = format!("let {} = {expr};\n", name(st.out));
        if st.deps & draw_bit == 0 {
            outer.push_str("    ");
            outer.push_str(&line);
        } else {
            draw.push_str("        ");
            draw.push_str(&line);
        }
    }
    let mask = |m: &crate::backend::tape::Mask| match m.col {
        Some(c) => format!("{} * {}", name(m.gate.slot), name(c.slot)),
        None => name(m.gate.slot),
    };
    let metrics: Vec<Metric> = Metric::ALL
        .iter()
        .copied()
        .filter(|m| m.applies(&s.workload))
        .collect();
    let pad = "        ";
    let _ = writeln!(
        draw,
        "{pad}if ({}) != 0.0 {{\n{pad}    nf += 1u;\n{pad}}}\n{pad}if ({}) != 0.0 {{\n{pad}    nv += 1u;",
        mask(&traced.feasible),
        mask(&traced.valid)
    );
    for (q, m) in metrics.iter().enumerate() {
        let v = traced.metrics[*m as usize].expect("applies");
        let _ = writeln!(draw, "{pad}    sm[{q}] += {};", name(v.slot));
    }
    let obj = traced.metrics[s.objective.metric as usize].expect("the objective applies");
    let (mut select, mut range) = (String::new(), String::new());
    if percentile.is_some() {
        let _ = writeln!(
            draw,
            "{pad}    let key = ordered_key({});\n{pad}    key_store(kb, k, key);\n{pad}    kmin = min(kmin, key);\n{pad}    kmax = max(kmax, key);\n{pad}}} else {{\n{pad}    key_store(kb, k, 0u);\n{pad}}}",
            name(obj.slot)
        );
        range.push_str("    atomicMax(&w_nkmin, ~kmin);\n    atomicMax(&w_kmax, kmax);\n");
        select.push_str(SELECT);
    } else {
        let _ = writeln!(draw, "{pad}}}");
    }
    let nm = metrics.len() as u64;
    let row = 3 + nm;
    // Where a percentile's keys live: workgroup memory when they fit, else binding 3.
    let workgroup_keys =
        percentile.is_some() && (n + nm * 64 + TEMPLATE_WORKGROUP_WORDS) * 4 <= workgroup_bytes;
    let keys_module = match (percentile, workgroup_keys) {
        (None, _) => "",
        (Some(_), true) => KEYS_IN_WORKGROUP,
        (Some(_), false) => KEYS_IN_STORAGE,
    };
    // The fewest feasible draws that make the configuration feasible (`p_feasible >=
    // confidence`, decided in f64 as the host does): below it, the select is skipped.
    let feasible_min = (0..=n)
        .find(|&c| c as f64 / n as f64 >= s.confidence)
        .unwrap_or(n + 1);
    let consts = format!(
        "// Generated for scenario `{}`: draws, the row layout, the nearest ranks' offset, the\n// fewest feasible draws of a feasible configuration.\nconst SAMPLES: u32 = {n}u;\nconst NM: u32 = {nm}u;\nconst MC_ROW: u32 = {row}u;\nconst RANK_OFF: u32 = {rank_off}u;\nconst FEASIBLE_MIN: u32 = {feasible_min}u;\n",
        s.name.replace('\n', " ")
    );
    let body = TEMPLATE
        .replace("{{OUTER}}\n", &outer)
        .replace("{{DRAW}}\n", &draw)
        .replace("{{RANGE}}\n", &range)
        .replace("{{SELECT}}\n", &select);
    let draws_module = if draw_table.is_some() {
        "// The sweep's draw table (shaders/draw_table.wgsl): draw k of record rec at rec * SAMPLES + k.\n@group(0) @binding(5) var<storage, read> draw_table: array<f32>;\n"
    } else if draw_words.is_empty() {
        ""
    } else {
        DRAWS_WGSL
    };
    Ok(McEmitted {
        source: format!("{consts}{COMMON}{draws_module}{keys_module}{body}"),
        data_f,
        draw_words,
        draw_table,
        metrics,
        row,
        percentile: percentile.is_some(),
        workgroup_keys,
        samples: n,
    })
}

/// A compiled Monte Carlo kernel with its buffers, for dispatches of up to `cap`
/// configurations.
struct McKernel {
    pipeline: wgpu::ComputePipeline,
    bg: wgpu::BindGroup,
    chunk_buf: wgpu::Buffer,
    rows: wgpu::Buffer,
    staging: wgpu::Buffer,
    /// The valid draws' keys (percentile with keys in storage only; read back by tests).
    #[cfg_attr(not(test), allow(dead_code))]
    keys: wgpu::Buffer,
    cap: u64,
}

impl GpuBackend {
    /// The Monte Carlo kernel of `plan`, its draw table (when it has one) filled.
    fn mc_kernel(&self, plan: &SweepPlan, longest: u64) -> Result<(McEmitted, McKernel), GpuError> {
        use wgpu::BufferUsages as U;
        let bytes = self
            .limits
            .max_buffer_size
            .min(self.limits.max_storage_buffer_binding_size);
        let e = emit_montecarlo(
            plan,
            bytes.min(self.options.mc_draw_table_bytes),
            self.options
                .mc_workgroup_key_bytes
                .min(self.limits.max_compute_workgroup_storage_size as u64),
        )?;
        let per_cfg_keys = if e.percentile && !e.workgroup_keys {
            e.samples * 4
        } else {
            0
        };
        let cap = (bytes / (e.row * 4).max(per_cfg_keys))
            .clamp(1, MAX_DISPATCH)
            .min(longest.max(1));
        let d = &self.device;
        let k = self.scoped(|| {
            let module = d.create_shader_module(wgpu::ShaderModuleDescriptor {
                label: Some("montecarlo.wgsl"),
                source: wgpu::ShaderSource::Wgsl(e.source.as_str().into()),
            });
            let pipeline = d.create_compute_pipeline(&wgpu::ComputePipelineDescriptor {
                label: Some("montecarlo"),
                layout: None,
                module: &module,
                entry_point: Some("montecarlo"),
                compilation_options: wgpu::PipelineCompilationOptions {
                    constants: &[],
                    zero_initialize_workgroup_memory: true,
                },
                cache: None,
            });
            let f_buf = self.buffer_init("mc_data_f", bytemuck::cast_slice(&e.data_f), U::STORAGE);
            let chunk_buf = self.buffer(
                "mc_chunk",
                std::mem::size_of::<ChunkParams>() as u64,
                U::UNIFORM | U::COPY_DST,
            );
            let rows = self.buffer("mc_rows", cap * e.row * 4, U::STORAGE | U::COPY_SRC);
            let keys = self.buffer(
                "mc_keys",
                (cap * per_cfg_keys).max(4),
                U::STORAGE | U::COPY_SRC,
            );
            let staging = self.buffer("mc_staging", cap * e.row * 4, U::MAP_READ | U::COPY_DST);
            let layout = pipeline.get_bind_group_layout(0);
            let draw_buf = (!e.draw_words.is_empty()).then(|| {
                self.buffer_init(
                    "mc_draw_words",
                    bytemuck::cast_slice(&e.draw_words),
                    U::STORAGE,
                )
            });
            let table = match (&e.draw_table, &draw_buf) {
                (Some(t), Some(words)) => Some(self.fill_draw_table(t, e.samples, words)),
                _ => None,
            };
            let mut entries = vec![bind(0, &chunk_buf), bind(1, &f_buf), bind(2, &rows)];
            if per_cfg_keys > 0 {
                entries.push(bind(3, &keys));
            }
            match (&table, &draw_buf) {
                (Some(t), _) => entries.push(bind(5, t)),
                (None, Some(b)) => entries.push(bind(4, b)),
                (None, None) => {}
            }
            let bg = d.create_bind_group(&wgpu::BindGroupDescriptor {
                label: Some("montecarlo"),
                layout: &layout,
                entries: &entries,
            });
            McKernel {
                pipeline,
                bg,
                chunk_buf,
                rows,
                staging,
                keys,
                cap,
            }
        })?;
        Ok((e, k))
    }

    /// The chunk parameters and workgroup counts of configurations `at .. at + len`.
    fn mc_chunk(plan: &SweepPlan, at: u64, len: u64) -> (ChunkParams, (u32, u32)) {
        let mut digits = vec![0u64; plan.grid.lens.len()];
        plan.grid.decode(at, &mut digits);
        let (x, y) = dispatch_dims(len);
        let mut params = ChunkParams {
            n_outer: len as u32,
            nwg_x: x,
            lo: 0,
            hi: 0,
            base: [0; MAX_AXES],
        };
        for (b, &dg) in params.base.iter_mut().zip(&digits) {
            *b = dg as u32;
        }
        (params, (x, y))
    }

    /// Run a Monte Carlo sweep of `range` (configurations) and reduce it on the host.
    pub(super) fn run_montecarlo(
        &self,
        plan: &SweepPlan,
        range: Range<u64>,
        progress: &(dyn Fn(u64) + Sync),
        done: &mut Reductions,
    ) -> Result<(), (GpuError, u64)> {
        let start = range.start;
        let (e, k) = self
            .mc_kernel(plan, range.end - range.start)
            .map_err(|err| (err, start))?;
        let mut at = start;
        while at < range.end {
            let len = k.cap.min(range.end - at);
            let (params, dims) = Self::mc_chunk(plan, at, len);
            let words = self
                .dispatch_rows(
                    &k.pipeline,
                    &k.bg,
                    &k.chunk_buf,
                    &k.rows,
                    &k.staging,
                    &params,
                    dims,
                    len * e.row,
                )
                .map_err(|err| (err, at))?;
            reduce_rows(plan, &e, at, &words, done);
            progress(len);
            at += len;
        }
        Ok(())
    }

    /// Create the draw table of `t` and submit the kernel that fills it (once per sweep,
    /// before the Monte Carlo dispatches, which the queue orders after it).
    fn fill_draw_table(&self, t: &DrawTable, samples: u64, words: &wgpu::Buffer) -> wgpu::Buffer {
        let d = &self.device;
        let entries = t.records * samples;
        let table = self.buffer("mc_draw_table", entries * 4, wgpu::BufferUsages::STORAGE);
        let module = d.create_shader_module(wgpu::ShaderModuleDescriptor {
            label: Some("draw_table.wgsl"),
            source: wgpu::ShaderSource::Wgsl(t.source.as_str().into()),
        });
        let pipeline = d.create_compute_pipeline(&wgpu::ComputePipelineDescriptor {
            label: Some("draw_table"),
            layout: None,
            module: &module,
            entry_point: Some("draw_table_main"),
            compilation_options: Default::default(),
            cache: None,
        });
        let bg = d.create_bind_group(&wgpu::BindGroupDescriptor {
            label: Some("draw_table"),
            layout: &pipeline.get_bind_group_layout(0),
            entries: &[bind(4, words), bind(5, &table)],
        });
        let (x, y) = dispatch_dims(entries.div_ceil(64));
        let mut enc = d.create_command_encoder(&wgpu::CommandEncoderDescriptor { label: None });
        {
            let mut pass = enc.begin_compute_pass(&wgpu::ComputePassDescriptor {
                label: Some("draw_table"),
                timestamp_writes: None,
            });
            pass.set_pipeline(&pipeline);
            pass.set_bind_group(0, &bg, &[]);
            pass.dispatch_workgroups(x, y, 1);
        }
        self.queue.submit([enc.finish()]);
        table
    }

    /// One dispatch of `dims` workgroups; returns the first `words` of `rows`.
    #[allow(clippy::too_many_arguments)]
    pub(super) fn dispatch_rows(
        &self,
        pipeline: &wgpu::ComputePipeline,
        bg: &wgpu::BindGroup,
        chunk_buf: &wgpu::Buffer,
        rows: &wgpu::Buffer,
        staging: &wgpu::Buffer,
        params: &ChunkParams,
        dims: (u32, u32),
        words: u64,
    ) -> Result<Vec<u32>, GpuError> {
        let index = self.scoped(|| {
            self.queue
                .write_buffer(chunk_buf, 0, bytemuck::bytes_of(params));
            let mut enc = self
                .device
                .create_command_encoder(&wgpu::CommandEncoderDescriptor { label: None });
            {
                let mut pass = enc.begin_compute_pass(&wgpu::ComputePassDescriptor {
                    label: Some("montecarlo"),
                    timestamp_writes: None,
                });
                pass.set_pipeline(pipeline);
                pass.set_bind_group(0, bg, &[]);
                pass.dispatch_workgroups(dims.0, dims.1, 1);
            }
            enc.copy_buffer_to_buffer(rows, 0, staging, 0, words * 4);
            self.queue.submit([enc.finish()])
        })?;
        let mapped: Arc<Mutex<Option<Result<(), String>>>> = Arc::new(Mutex::new(None));
        let m2 = mapped.clone();
        staging
            .slice(0..words * 4)
            .map_async(wgpu::MapMode::Read, move |r| {
                if let Ok(mut s) = m2.lock() {
                    *s = Some(r.map_err(|e| e.to_string()));
                }
            });
        self.device
            .poll(wgpu::PollType::Wait {
                submission_index: Some(index),
                timeout: Some(self.options.timeout),
            })
            .map_err(|e| GpuError::Wait(e.to_string()))?;
        let state = mapped
            .lock()
            .map_err(|_| GpuError::ReadBack("map state poisoned".into()))?
            .clone();
        match state {
            Some(Ok(())) => {}
            Some(Err(e)) => return Err(GpuError::ReadBack(e)),
            None => return Err(GpuError::NotMapped),
        }
        let out = {
            let view = staging
                .slice(0..words * 4)
                .get_mapped_range()
                .map_err(|e| GpuError::ReadBack(e.to_string()))?;
            bytemuck::cast_slice::<u8, u32>(&view).to_vec()
        };
        staging.unmap();
        if let Some(e) = self.take_errors() {
            return Err(GpuError::Uncaptured(e));
        }
        Ok(out)
    }
}

/// Reduce the rows of configurations `first ..` into `red`, like the CPU kernel does.
fn reduce_rows(plan: &SweepPlan, e: &McEmitted, first: u64, words: &[u32], red: &mut Reductions) {
    let s = &plan.scenario;
    let n = e.samples as f64;
    let obj_q = e
        .metrics
        .iter()
        .position(|&m| m == s.objective.metric)
        .expect("the objective applies");
    let fac_q = e
        .metrics
        .iter()
        .position(|&m| m == Metric::FacilityMw)
        .expect("facility_mw applies");
    let mut digits = vec![0u64; plan.grid.lens.len()];
    for (i, row) in words.chunks_exact(e.row as usize).enumerate() {
        let index = first + i as u64;
        let (nv, nf) = (row[0], row[1]);
        red.evaluated += 1;
        if nv == 0 {
            red.invalid += 1;
            continue;
        }
        let mean = |q: usize| f32::from_bits(row[3 + q]) as f64 / nv as f64;
        let statistic = if e.percentile {
            key_value(row[2], true)
        } else {
            mean(obj_q)
        };
        if nf as f64 / n < s.confidence || !statistic.is_finite() {
            continue;
        }
        red.feasible += 1;
        let c = Candidate {
            objective: statistic,
            index,
        };
        offer(&mut red.best, c, &s.objective);
        plan.grid.decode(index, &mut digits);
        let group = plan.group_of(&digits);
        if let Some(slot) = red.best_by.get_mut(group) {
            offer(slot, c, &s.objective);
            red.group_feasible[group] += 1;
        }
        let bin = plan.pareto.bin(mean(fac_q));
        offer(&mut red.pareto[bin], c, &s.objective);
        for (q, m) in e.metrics.iter().enumerate() {
            red.stats[*m as usize].add(mean(q));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::backend::gpu::GpuOptions;
    use crate::catalog::Catalog;
    use crate::scenario::Scenario;

    /// Every configuration's row and (keys in storage) valid keys from the device, for the
    /// whole grid.
    fn rows_and_keys(g: &GpuBackend, plan: &SweepPlan) -> (McEmitted, Vec<u32>, Vec<u32>) {
        let n = plan.grid.size;
        let (e, k) = g.mc_kernel(plan, n).expect("kernel");
        assert_eq!(k.cap, n, "one dispatch");
        let (params, dims) = GpuBackend::mc_chunk(plan, 0, n);
        let run = |out: &wgpu::Buffer, words: u64| {
            let staging = g.buffer(
                "keys_staging",
                words * 4,
                wgpu::BufferUsages::MAP_READ | wgpu::BufferUsages::COPY_DST,
            );
            g.dispatch_rows(
                &k.pipeline,
                &k.bg,
                &k.chunk_buf,
                out,
                &staging,
                &params,
                dims,
                words,
            )
            .expect("dispatch")
        };
        let rows = run(&k.rows, n * e.row);
        let keys = if e.workgroup_keys {
            Vec::new()
        } else {
            run(&k.keys, n * e.samples)
        };
        (e, rows, keys)
    }

    /// The percentile's select on the device gives, for every configuration, exactly the
    /// key at the nearest rank of the valid draws' keys the device computed (read back and
    /// sorted on the host): continuous objectives, objectives with a few values (many equal
    /// keys: the histogram passes shrink to one value), more draws than one histogram pass
    /// resolves (several passes), few valid draws (no pass), invalid draws, with the draw
    /// table and with draws generated per draw. A configuration with too few feasible draws
    /// skips the select (key 0). Keys kept in workgroup memory give the same rows.
    #[test]
    fn the_device_select_finds_the_exact_nearest_rank_key() {
        let catalog = Catalog::builtin().expect("catalog");
        let base = r#"
[axes]
accelerator = ["H100-SXM", "B200"]
gpu_count = { from = 1000, to = 20000, steps = 3 }
power_frac = { from = 0.5, to = 1.0, steps = 2 }
[fixed]
cost_model = "own"
[uncertain]
samples = SAMPLES
seed = 5
UTILIZATION
dvfs_exponent = { uniform = [1.5, 4.0] }
[accelerators.B200.uncertain]
idle_w = { choice = [80, 120, 700], weights = [2, 2, 1] }
[objective]
metric = "throughput_pflops"
statistic = "STAT"
CONSTRAINTS
"#;
        let continuous = "utilization = { triangular = [0.3, 0.4, 0.5] }";
        let few =
            "utilization = { choice = [0.3, 0.4, 0.5] }\nmtbf_hours = { choice = [40000, 90000] }";
        // Some configurations above 10 MW in more than half their draws.
        let bound = "[constraints]\nmax_facility_mw = 10\nconfidence = 0.5";
        let cases = [
            (continuous, 1000, "p10", bound),
            (continuous, 20_000, "p50", ""),
            (continuous, 50, "p90", ""),
            (few, 4000, "p10", bound),
            (few, 300, "p99", ""),
            (continuous, 3000, "p1", ""),
        ];
        let (mut feasible_seen, mut infeasible_seen) = (0, 0);
        let mut in_workgroup_memory = 0;
        for table in [u64::MAX, 0] {
            // Keys read back from storage; and (where they fit) kept in workgroup memory.
            let (Some(g), Some(gw)) = (
                GpuBackend::for_tests(GpuOptions {
                    mc_draw_table_bytes: table,
                    mc_workgroup_key_bytes: 0,
                    ..GpuOptions::default()
                }),
                GpuBackend::for_tests(GpuOptions {
                    mc_draw_table_bytes: table,
                    ..GpuOptions::default()
                }),
            ) else {
                return;
            };
            for (util, samples, stat, constraints) in cases {
                let text = base
                    .replace("SAMPLES", &samples.to_string())
                    .replace("UTILIZATION", util)
                    .replace("STAT", stat)
                    .replace("CONSTRAINTS", constraints);
                let s = Scenario::parse("select.toml", &text, &catalog).expect("scenario");
                let plan = SweepPlan::new(s, None).expect("plan");
                let (e, rows, keys) = rows_and_keys(&g, &plan);
                assert_eq!(e.draw_table.is_some(), table > 0);
                assert!(!e.workgroup_keys);
                let (ew, rows_w, _) = rows_and_keys(&gw, &plan);
                if ew.workgroup_keys {
                    in_workgroup_memory += 1;
                }
                assert_eq!(
                    rows_w, rows,
                    "{util} {samples} {stat}: keys in workgroup memory"
                );
                let q = match plan.scenario.statistic {
                    Statistic::Percentile(q) => q,
                    Statistic::Mean => unreachable!(),
                };
                let mut distinct_seen = 0;
                for (c, row) in rows.chunks_exact(e.row as usize).enumerate() {
                    let mut valid: Vec<u32> = keys[c * samples..(c + 1) * samples]
                        .iter()
                        .copied()
                        .filter(|&k| k != 0)
                        .collect();
                    valid.sort_unstable();
                    let ctx = format!("{util} {samples} {stat} table {table}: configuration {c}");
                    assert_eq!(row[0] as usize, valid.len(), "{ctx}");
                    let feasible = row[1] as f64 / samples as f64 >= plan.scenario.confidence;
                    if valid.is_empty() || !feasible {
                        assert_eq!(row[2], 0, "{ctx}");
                        infeasible_seen += usize::from(!valid.is_empty());
                        continue;
                    }
                    feasible_seen += 1;
                    let mut d = valid.clone();
                    d.dedup();
                    distinct_seen = distinct_seen.max(d.len());
                    assert_eq!(row[2], valid[nearest_rank(q, valid.len())], "{ctx}");
                }
                assert!(distinct_seen > 1, "{util} {samples}: keys vary");
            }
        }
        assert!(
            feasible_seen > 0 && infeasible_seen > 0,
            "both kinds of configuration"
        );
        assert!(in_workgroup_memory > 0, "some keys fit in workgroup memory");
    }
}
