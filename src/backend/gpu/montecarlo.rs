//! Monte Carlo sweeps on the GPU: the tape of `trace_draws` (every axis outer, the draw as
//! the one column) emitted into `shaders/montecarlo.wgsl`, one workgroup per configuration
//! with its draws across the invocations; each draw of an uncertain input is generated on
//! the device (`shaders/draws.wgsl`, records from `draws`); the per-draw sums, counts and,
//! for a percentile statistic, the exact nearest-rank key (a radix select in workgroup
//! memory) are computed on the device. Each configuration's row (valid and feasible draws, statistic, sums) is
//! read back and reduced on the host into the same [`Reductions`] as the CPU kernel
//! (best, groups, Pareto bins over the mean facility power, statistics of the means), with
//! the f32 row values widened to f64.

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
    /// The metrics whose sums a row carries, in row order.
    pub metrics: Vec<Metric>,
    /// u32 words per configuration row.
    pub row: u64,
    /// Whether the statistic is a percentile (keys are kept and selected).
    pub percentile: bool,
    pub samples: u64,
}

/// Emit the Monte Carlo kernel for `plan` (a scenario with uncertain inputs).
pub fn emit_montecarlo(plan: &SweepPlan) -> Result<McEmitted, Unsupported> {
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
            TapeOp::Draw { param } => {
                // The record and the stream key, once per configuration (before the first
                // draw of the parameter); the quantile per draw.
                let d = records
                    .iter()
                    .find(|d| d.param.index() == param as usize)
                    .expect("a record for every drawn parameter");
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
    let mut select = String::new();
    if percentile.is_some() {
        let _ = writeln!(
            draw,
            "{pad}    keys[kb + k] = ordered_key({});\n{pad}}} else {{\n{pad}    keys[kb + k] = 0u;\n{pad}}}",
            name(obj.slot)
        );
        let _ = writeln!(
            select,
            "    // Nearest-rank percentile of the valid draws' keys: radix select, 8 bits a pass.
    if lid == 0u {{
        w_sel = vec2<u32>(valid_draws, 0u);
    }}
    let nvalid = workgroupUniformLoad(&w_sel).x;
    if nvalid == 0u {{
        if lid == 0u {{
            rows[rb + 2u] = 0u;
        }}
        return;
    }}
    var prefix = 0u;
    var mask = 0u;
    var r = u32(data_f[{rank_off}u + nvalid]);
    for (var round = 0u; round < 4u; round++) {{
        let shift = 24u - 8u * round;
        for (var b = lid; b < 256u; b += WG) {{
            atomicStore(&w_hist[b], 0u);
        }}
        workgroupBarrier();
        for (var k = lid; k < SAMPLES; k += WG) {{
            let key = keys[kb + k];
            if key != 0u && (key & mask) == prefix {{
                atomicAdd(&w_hist[(key >> shift) & 255u], 1u);
            }}
        }}
        workgroupBarrier();
        if lid == 0u {{
            var rr = r;
            var bin = 255u;
            for (var b = 0u; b < 256u; b++) {{
                let c = atomicLoad(&w_hist[b]);
                if rr < c {{
                    bin = b;
                    break;
                }}
                rr -= c;
            }}
            w_sel = vec2<u32>(prefix | (bin << shift), rr);
        }}
        let sel = workgroupUniformLoad(&w_sel);
        prefix = sel.x;
        r = sel.y;
        mask = mask | (255u << shift);
    }}
    if lid == 0u {{
        rows[rb + 2u] = prefix;
    }}"
        );
    } else {
        let _ = writeln!(draw, "{pad}}}");
    }
    let nm = metrics.len() as u64;
    let row = 3 + nm;
    let consts = format!(
        "// Generated for scenario `{}`: draws and the row layout.\nconst SAMPLES: u32 = {n}u;\nconst NM: u32 = {nm}u;\nconst MC_ROW: u32 = {row}u;\n",
        s.name.replace('\n', " ")
    );
    let body = TEMPLATE
        .replace("{{OUTER}}\n", &outer)
        .replace("{{DRAW}}\n", &draw)
        .replace("{{SELECT}}\n", &select);
    let draws_module = if draw_words.is_empty() {
        ""
    } else {
        DRAWS_WGSL
    };
    Ok(McEmitted {
        source: format!("{consts}{COMMON}{draws_module}{body}"),
        data_f,
        draw_words,
        metrics,
        row,
        percentile: percentile.is_some(),
        samples: n,
    })
}

impl GpuBackend {
    /// Run a Monte Carlo sweep of `range` (configurations) and reduce it on the host.
    pub(super) fn run_montecarlo(
        &self,
        plan: &SweepPlan,
        range: Range<u64>,
        progress: &(dyn Fn(u64) + Sync),
        done: &mut Reductions,
    ) -> Result<(), (GpuError, u64)> {
        use wgpu::BufferUsages as U;
        let start = range.start;
        let e = emit_montecarlo(plan).map_err(|e| (e.into(), start))?;
        let bytes = self
            .limits
            .max_buffer_size
            .min(self.limits.max_storage_buffer_binding_size);
        let per_cfg_keys = if e.percentile { e.samples * 4 } else { 0 };
        let cap = (bytes / (e.row * 4).max(per_cfg_keys))
            .clamp(1, MAX_DISPATCH)
            .min(range.end - range.start);
        let d = &self.device;
        let built = self
            .scoped(|| {
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
                let f_buf =
                    self.buffer_init("mc_data_f", bytemuck::cast_slice(&e.data_f), U::STORAGE);
                let chunk_buf = self.buffer(
                    "mc_chunk",
                    std::mem::size_of::<ChunkParams>() as u64,
                    U::UNIFORM | U::COPY_DST,
                );
                let rows = self.buffer("mc_rows", cap * e.row * 4, U::STORAGE | U::COPY_SRC);
                let keys = self.buffer("mc_keys", cap * per_cfg_keys, U::STORAGE);
                let staging = self.buffer("mc_staging", cap * e.row * 4, U::MAP_READ | U::COPY_DST);
                let layout = pipeline.get_bind_group_layout(0);
                let draw_buf = (!e.draw_words.is_empty()).then(|| {
                    self.buffer_init(
                        "mc_draw_words",
                        bytemuck::cast_slice(&e.draw_words),
                        U::STORAGE,
                    )
                });
                let mut entries = vec![bind(0, &chunk_buf), bind(1, &f_buf), bind(2, &rows)];
                if e.percentile {
                    entries.push(bind(3, &keys));
                }
                if let Some(b) = &draw_buf {
                    entries.push(bind(4, b));
                }
                let bg = d.create_bind_group(&wgpu::BindGroupDescriptor {
                    label: Some("montecarlo"),
                    layout: &layout,
                    entries: &entries,
                });
                (pipeline, bg, chunk_buf, rows, staging)
            })
            .map_err(|err| (err, start))?;
        let (pipeline, bg, chunk_buf, rows, staging) = built;
        let mut at = start;
        let mut digits = vec![0u64; plan.grid.lens.len()];
        while at < range.end {
            let len = cap.min(range.end - at);
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
            let words = self
                .dispatch_rows(
                    &pipeline,
                    &bg,
                    &chunk_buf,
                    &rows,
                    &staging,
                    &params,
                    (x, y),
                    len * e.row,
                )
                .map_err(|err| (err, at))?;
            reduce_rows(plan, &e, at, &words, done);
            progress(len);
            at += len;
        }
        Ok(())
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
            let x = mean(q);
            let st = &mut red.stats[*m as usize];
            st.min = st.min.min(x);
            st.max = st.max.max(x);
            st.sum += x;
        }
    }
}
