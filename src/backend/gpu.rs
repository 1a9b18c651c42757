//! The GPU backend: WGSL kernels (`shaders/`) run through wgpu on any adapter, headless.
//!
//! [`GpuBackend::prepare`] compiles the kernels and uploads a plan's tables once; the
//! resulting [`PreparedSweep`] evaluates any sub-range of the plan's grid, as often as wanted
//! ([`Backend::run`] is prepare + run). A range of flat indices is split into chunks (u64 base
//! per chunk, chunk-local indices in u32, 2-D dispatch beyond 65,535 workgroups); chunk size
//! adapts so one submission takes about [`GpuOptions::target`]. Per chunk the sweep kernel
//! computes counts, stats partial rows and the best configuration per slot (best overall,
//! best_by groups, Pareto bins): in one pass with 64-bit atomicMax on (key, index) where the
//! device has `SHADER_INT64_ATOMIC_MIN_MAX` (`shaders/slots64.wgsl`), else in two passes with
//! 32-bit atomics (pass 0: best key per slot, pass 1: lowest index holding it;
//! `shaders/slots32.wgsl`). A second kernel folds the partial rows, and the host reads back a
//! few kilobytes and merges them in f64 in a fixed order. Two chunks are in flight (two
//! read-back buffers), so the host's merge of one overlaps the device's work on the next.
//! Nothing per configuration leaves the device. Where the device has `TIMESTAMP_QUERY`, every
//! pass is timed with timestamp queries and [`PreparedSweep::run`] returns the summed kernel
//! time.
//!
//! Failures (pipeline errors, out-of-memory, a lost device, a submission that does not finish
//! within [`GpuOptions::timeout`]) never panic: [`Backend::run`] returns a [`BackendError`]
//! carrying the reductions of the finished chunks and the indices left, so the caller can
//! finish on the CPU.

mod emit;

pub use emit::{emit, key_value, Emitted, Unsupported, CONSTRAINT_SLACK, MAX_AXES};

use super::{Backend, BackendError, BackendInfo, Progress};
use crate::model::Sense;
use crate::plan::SweepPlan;
use crate::reduce::{offer, Candidate, MetricStats, Reductions};
use emit::WG;
use std::ops::Range;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// Partial rows folded per reduce workgroup (`RF` in reduce.wgsl).
const RF: u64 = 1024;
/// Most workgroups per dispatch dimension.
const MAX_DIM: u64 = 65_535;
/// Largest chunk (chunk-local indices stay far inside u32).
const MAX_CHUNK: u64 = 1 << 29;
/// Smallest adaptive chunk.
const MIN_CHUNK: u64 = 1 << 14;
/// First adaptive chunk.
const FIRST_CHUNK: u64 = 1 << 18;

/// A GPU problem: no adapter, no device, or a failure while running.
#[derive(Debug, Clone, thiserror::Error)]
pub enum GpuError {
    #[error("no GPU adapter found{0}; to run on the CPU through Vulkan, install Mesa's lavapipe (Debian/Ubuntu: apt-get install mesa-vulkan-drivers), or use --backend cpu")]
    NoAdapter(String),
    #[error("only CPU-type adapters ({0}); the CPU backend is faster on the same cores (use --backend gpu or --adapter to run the WGSL kernels on them)")]
    OnlyCpuAdapters(String),
    #[error("cannot open a device on adapter `{adapter}`: {message}")]
    Device { adapter: String, message: String },
    #[error("this scenario cannot run on the GPU kernels: {0}")]
    Unsupported(#[from] Unsupported),
    #[error("{0}")]
    Wgpu(String),
}

/// Tuning and test knobs of the GPU backend.
#[derive(Clone, Debug)]
pub struct GpuOptions {
    /// Fixed chunk size (configurations); `None` adapts to [`GpuOptions::target`].
    pub chunk: Option<u64>,
    /// Wall time aimed at per submission when adapting.
    pub target: Duration,
    /// A submission not finished after this long fails the chunk.
    pub timeout: Duration,
    /// Test hook: fail (as if the device were lost) when starting this chunk number.
    pub fail_at_chunk: Option<usize>,
    /// Run the sweep kernel in one pass with 64-bit atomics where the device has
    /// `SHADER_INT64_ATOMIC_MIN_MAX` (else two passes with 32-bit atomics).
    pub int64_atomics: bool,
}

impl Default for GpuOptions {
    fn default() -> Self {
        GpuOptions {
            chunk: None,
            target: Duration::from_millis(60),
            timeout: Duration::from_secs(60),
            fail_at_chunk: None,
            int64_atomics: true,
        }
    }
}

/// A description of one adapter (for `clustersweep adapters`).
#[derive(Clone, Debug, serde::Serialize)]
pub struct AdapterSummary {
    pub name: String,
    pub vendor: String,
    pub device_type: String,
    pub driver: String,
    pub api: String,
    pub max_buffer_size: u64,
    pub max_storage_buffer_binding_size: u64,
    pub max_compute_workgroups_per_dimension: u32,
    pub max_compute_invocations_per_workgroup: u32,
    pub max_compute_workgroup_storage_size: u32,
}

/// A wgpu instance honouring `WGPU_BACKEND` and the other wgpu environment variables.
pub fn instance() -> wgpu::Instance {
    wgpu::Instance::new(wgpu::InstanceDescriptor::new_without_display_handle_from_env())
}

/// Every adapter wgpu finds (respecting `WGPU_BACKEND`).
pub fn adapters() -> Vec<wgpu::Adapter> {
    let inst = instance();
    let backends = wgpu::Backends::from_env().unwrap_or(wgpu::Backends::all());
    pollster::block_on(inst.enumerate_adapters(backends))
}

/// Describe an adapter.
pub fn summarize(a: &wgpu::Adapter) -> AdapterSummary {
    let i = a.get_info();
    let l = a.limits();
    AdapterSummary {
        name: i.name.clone(),
        vendor: format!("0x{:04x}", i.vendor),
        device_type: format!("{:?}", i.device_type),
        driver: driver_string(&i),
        api: format!("{:?}", i.backend),
        max_buffer_size: l.max_buffer_size,
        max_storage_buffer_binding_size: l.max_storage_buffer_binding_size,
        max_compute_workgroups_per_dimension: l.max_compute_workgroups_per_dimension,
        max_compute_invocations_per_workgroup: l.max_compute_invocations_per_workgroup,
        max_compute_workgroup_storage_size: l.max_compute_workgroup_storage_size,
    }
}

fn driver_string(i: &wgpu::AdapterInfo) -> String {
    match (i.driver.is_empty(), i.driver_info.is_empty()) {
        (false, false) => format!("{} {}", i.driver, i.driver_info),
        (false, true) => i.driver.clone(),
        (true, false) => i.driver_info.clone(),
        (true, true) => "unknown".into(),
    }
}

fn type_rank(t: wgpu::DeviceType) -> u8 {
    match t {
        wgpu::DeviceType::DiscreteGpu => 0,
        wgpu::DeviceType::IntegratedGpu => 1,
        wgpu::DeviceType::VirtualGpu => 2,
        wgpu::DeviceType::Other => 3,
        wgpu::DeviceType::Cpu => 4,
    }
}

/// Pick an adapter: by name substring (`name`, else `WGPU_ADAPTER_NAME`), else by
/// `WGPU_POWER_PREF`, else discrete before integrated before the rest. With
/// `allow_cpu = false`, CPU-type adapters (llvmpipe) are not picked.
pub fn pick_adapter(name: Option<&str>, allow_cpu: bool) -> Result<wgpu::Adapter, GpuError> {
    let env_name = std::env::var("WGPU_ADAPTER_NAME").ok();
    let name = name.or(env_name.as_deref()).filter(|n| !n.is_empty());
    // An adapter asked for by name is used even when it is CPU-type.
    let allow_cpu = allow_cpu || name.is_some();
    let mut list = adapters();
    let all_names: Vec<String> = list.iter().map(|a| a.get_info().name).collect();
    if let Some(n) = name {
        let n = n.to_lowercase();
        list.retain(|a| a.get_info().name.to_lowercase().contains(&n));
        if list.is_empty() {
            return Err(GpuError::NoAdapter(format!(
                " whose name contains `{n}` (adapters: {})",
                if all_names.is_empty() {
                    "none".to_string()
                } else {
                    all_names.join(", ")
                }
            )));
        }
    } else if let Some(pref) = wgpu::PowerPreference::from_env() {
        let inst = instance();
        let opts = wgpu::RequestAdapterOptions {
            power_preference: pref,
            ..Default::default()
        };
        if let Ok(a) = pollster::block_on(inst.request_adapter(&opts)) {
            list = vec![a];
        }
    }
    list.sort_by_key(|a| type_rank(a.get_info().device_type));
    if !allow_cpu {
        list.retain(|a| a.get_info().device_type != wgpu::DeviceType::Cpu);
    }
    list.into_iter().next().ok_or_else(|| {
        if all_names.is_empty() {
            GpuError::NoAdapter(String::new())
        } else {
            GpuError::OnlyCpuAdapters(all_names.join(", "))
        }
    })
}

/// The GPU backend on one device.
pub struct GpuBackend {
    info: wgpu::AdapterInfo,
    timestamps: bool,
    /// The sweep kernel runs in one pass (64-bit atomic slots).
    one_pass: bool,
    limits: wgpu::Limits,
    device: wgpu::Device,
    queue: wgpu::Queue,
    options: GpuOptions,
    errors: Arc<Mutex<Vec<String>>>,
    lost: Arc<Mutex<Option<String>>>,
}

impl GpuBackend {
    /// Open a device on `adapter`.
    pub fn new(adapter: &wgpu::Adapter, options: GpuOptions) -> Result<GpuBackend, GpuError> {
        let info = adapter.get_info();
        let limits = adapter.limits();
        let int64 = wgpu::Features::SHADER_INT64 | wgpu::Features::SHADER_INT64_ATOMIC_MIN_MAX;
        let mut features = adapter.features() & wgpu::Features::TIMESTAMP_QUERY;
        if options.int64_atomics && adapter.features().contains(int64) {
            features |= int64;
        }
        let desc = wgpu::DeviceDescriptor {
            label: Some("clustersweep"),
            required_features: features,
            required_limits: limits.clone(),
            ..Default::default()
        };
        let (device, queue) =
            pollster::block_on(adapter.request_device(&desc)).map_err(|e| GpuError::Device {
                adapter: info.name.clone(),
                message: e.to_string(),
            })?;
        let errors = Arc::new(Mutex::new(Vec::new()));
        let sink = errors.clone();
        device.on_uncaptured_error(Arc::new(move |e: wgpu::Error| {
            if let Ok(mut v) = sink.lock() {
                v.push(e.to_string());
            }
        }));
        let lost = Arc::new(Mutex::new(None));
        let lost_sink = lost.clone();
        device.set_device_lost_callback(move |reason, msg| {
            if let Ok(mut l) = lost_sink.lock() {
                *l = Some(format!("device lost ({reason:?}): {msg}"));
            }
        });
        Ok(GpuBackend {
            info,
            timestamps: features.contains(wgpu::Features::TIMESTAMP_QUERY),
            one_pass: features.contains(wgpu::Features::SHADER_INT64_ATOMIC_MIN_MAX),
            limits,
            device,
            queue,
            options,
            errors,
            lost,
        })
    }

    /// Pick an adapter (see [`pick_adapter`]) and open it.
    pub fn open(
        name: Option<&str>,
        allow_cpu: bool,
        options: GpuOptions,
    ) -> Result<GpuBackend, GpuError> {
        let a = pick_adapter(name, allow_cpu)?;
        GpuBackend::new(&a, options)
    }

    /// The adapter's wgpu description.
    pub fn adapter_info(&self) -> &wgpu::AdapterInfo {
        &self.info
    }

    /// Whether the sweep kernel runs in one pass with 64-bit atomics (else two passes).
    pub fn one_pass(&self) -> bool {
        self.one_pass
    }

    /// Whether this device records kernel timestamps (`wgpu::Features::TIMESTAMP_QUERY`,
    /// requested at device creation when the adapter has it).
    pub fn has_timestamps(&self) -> bool {
        self.timestamps
    }

    /// Compile kernels and upload the plan's tables (pipelines, buffers) once. The returned
    /// [`PreparedSweep`] evaluates any sub-range of the plan's grid, as often as wanted.
    pub fn prepare<'a>(&'a self, plan: &'a SweepPlan) -> Result<PreparedSweep<'a>, GpuError> {
        let longest = self.options.chunk.unwrap_or(plan.grid.size);
        self.prepare_for(plan, longest)
    }

    /// [`GpuBackend::prepare`] with buffers sized for chunks of at most `longest`.
    fn prepare_for<'a>(
        &'a self,
        plan: &'a SweepPlan,
        longest: u64,
    ) -> Result<PreparedSweep<'a>, GpuError> {
        let k = self.kernels(plan, longest)?;
        let chunk = self
            .options
            .chunk
            .unwrap_or(FIRST_CHUNK)
            .clamp(1, k.max_chunk);
        Ok(PreparedSweep {
            gpu: self,
            plan,
            k,
            chunk,
        })
    }

    /// Largest chunk this device's buffer limits allow for a kernel's tiles and rows.
    fn max_chunk(&self, e: &Emitted) -> u64 {
        let bytes = self
            .limits
            .max_buffer_size
            .min(self.limits.max_storage_buffer_binding_size);
        let rows = (bytes / (e.row * 4)).saturating_sub(MAX_DIM + 1);
        // The inverse of `workgroups`: a chunk of c configurations touches at most
        // c / block + 2 outer combinations, each `tiles` invocations, WG per workgroup.
        ((rows * WG / e.tiles).saturating_sub(2) * e.block).clamp(e.block, MAX_CHUNK)
    }

    fn take_errors(&self) -> Option<String> {
        if let Ok(l) = self.lost.lock() {
            if let Some(m) = l.as_ref() {
                return Some(m.clone());
            }
        }
        let mut v = self.errors.lock().ok()?;
        if v.is_empty() {
            None
        } else {
            Some(std::mem::take(&mut *v).join("; "))
        }
    }

    /// Run `f` inside validation and out-of-memory error scopes.
    fn scoped<T>(&self, f: impl FnOnce() -> T) -> Result<T, GpuError> {
        let oom = self.device.push_error_scope(wgpu::ErrorFilter::OutOfMemory);
        let val = self.device.push_error_scope(wgpu::ErrorFilter::Validation);
        let out = f();
        let ve = pollster::block_on(val.pop());
        let oe = pollster::block_on(oom.pop());
        if let Some(e) = oe {
            return Err(GpuError::Wgpu(format!("out of memory: {e}")));
        }
        if let Some(e) = ve {
            return Err(GpuError::Wgpu(e.to_string()));
        }
        if let Some(e) = self.take_errors() {
            return Err(GpuError::Wgpu(e));
        }
        Ok(out)
    }
}

/// Device objects for one plan.
struct Kernels {
    /// The emitted kernel's sizes (tiles, rows, metrics).
    emitted: Emitted,
    sweep: wgpu::ComputePipeline,
    reduce: wgpu::ComputePipeline,
    /// Bind groups of pass 0 and pass 1.
    sweep_bg: [wgpu::BindGroup; 2],
    reduce_bg: wgpu::BindGroup,
    chunk_buf: wgpu::Buffer,
    reduce_buf: wgpu::Buffer,
    rows_out: wgpu::Buffer,
    slot_key: wgpu::Buffer,
    slot_idx: wgpu::Buffer,
    /// Read-back buffers, used in turn so that one chunk is read while the next runs:
    /// [timestamps (`TS_BYTES`)][folded partial rows][slot keys][slot indices].
    staging: [wgpu::Buffer; 2],
    /// Timestamp queries (begin and end of each pass) and their resolve buffer.
    timer: Option<(wgpu::QuerySet, wgpu::Buffer)>,
    /// Compute passes per chunk: 2 (one sweep pass, reduce) or 3 (two sweep passes, reduce).
    passes: u32,
    /// Bytes per slot in `slot_idx`: 4 (u32 index) or 8 (u64 key and index).
    idx_stride: u64,
    slots: u64,
    max_chunk: u64,
}

/// Most compute passes per chunk (sweep pass 0, sweep pass 1, reduce).
const PASSES: u32 = 3;
/// Bytes at the head of each staging buffer for the chunk's timestamps.
const TS_BYTES: u64 = 64;

/// Read-back buffers in flight.
const DEPTH: usize = 2;

/// Workgroup grid for `nwg` workgroups: (x, y) with x, y <= 65,535.
fn dispatch_dims(nwg: u64) -> (u32, u32) {
    let y = nwg.div_ceil(MAX_DIM).max(1);
    let x = nwg.div_ceil(y).max(1);
    (x as u32, y as u32)
}

fn storage_entry(binding: u32, read_only: bool) -> wgpu::BindGroupLayoutEntry {
    wgpu::BindGroupLayoutEntry {
        binding,
        visibility: wgpu::ShaderStages::COMPUTE,
        ty: wgpu::BindingType::Buffer {
            ty: wgpu::BufferBindingType::Storage { read_only },
            has_dynamic_offset: false,
            min_binding_size: None,
        },
        count: None,
    }
}

fn bind(binding: u32, b: &wgpu::Buffer) -> wgpu::BindGroupEntry<'_> {
    wgpu::BindGroupEntry {
        binding,
        resource: b.as_entire_binding(),
    }
}

fn uniform_entry(binding: u32) -> wgpu::BindGroupLayoutEntry {
    wgpu::BindGroupLayoutEntry {
        binding,
        visibility: wgpu::ShaderStages::COMPUTE,
        ty: wgpu::BindingType::Buffer {
            ty: wgpu::BufferBindingType::Uniform,
            has_dynamic_offset: false,
            min_binding_size: None,
        },
        count: None,
    }
}

impl GpuBackend {
    fn buffer_init(&self, label: &str, data: &[u8], usage: wgpu::BufferUsages) -> wgpu::Buffer {
        let size = (data.len() as u64).max(16).next_multiple_of(4);
        let buf = self.device.create_buffer(&wgpu::BufferDescriptor {
            label: Some(label),
            size,
            usage: usage | wgpu::BufferUsages::COPY_DST,
            mapped_at_creation: false,
        });
        if !data.is_empty() {
            self.queue.write_buffer(&buf, 0, data);
        }
        buf
    }

    fn buffer(&self, label: &str, size: u64, usage: wgpu::BufferUsages) -> wgpu::Buffer {
        self.device.create_buffer(&wgpu::BufferDescriptor {
            label: Some(label),
            size: size.max(16).next_multiple_of(4),
            usage,
            mapped_at_creation: false,
        })
    }

    fn kernels(&self, plan: &SweepPlan, longest: u64) -> Result<Kernels, GpuError> {
        let e = emit(plan)?;
        let max_chunk = self.max_chunk(&e).min(longest.max(1));
        self.scoped(|| self.build(e, max_chunk))
    }

    fn build(&self, p: Emitted, max_chunk: u64) -> Kernels {
        use wgpu::BufferUsages as U;
        let d = &self.device;
        let slots_src = if self.one_pass {
            emit::SLOTS64
        } else {
            emit::SLOTS32
        };
        let sweep_mod = d.create_shader_module(wgpu::ShaderModuleDescriptor {
            label: Some("sweep.wgsl"),
            source: wgpu::ShaderSource::Wgsl(p.sweep_source(slots_src).into()),
        });
        let reduce_mod = d.create_shader_module(wgpu::ShaderModuleDescriptor {
            label: Some("reduce.wgsl"),
            source: wgpu::ShaderSource::Wgsl(p.reduce_source().into()),
        });
        let sweep_bgl = d.create_bind_group_layout(&wgpu::BindGroupLayoutDescriptor {
            label: Some("sweep"),
            entries: &[
                uniform_entry(0),
                storage_entry(1, true),
                storage_entry(2, true),
                storage_entry(6, false),
                storage_entry(7, false),
                storage_entry(8, false),
                uniform_entry(9),
            ],
        });
        let reduce_bgl = d.create_bind_group_layout(&wgpu::BindGroupLayoutDescriptor {
            label: Some("reduce"),
            entries: &[
                uniform_entry(0),
                storage_entry(1, true),
                storage_entry(2, false),
            ],
        });
        let sweep_pl = d.create_pipeline_layout(&wgpu::PipelineLayoutDescriptor {
            label: Some("sweep"),
            bind_group_layouts: &[Some(&sweep_bgl)],
            immediate_size: 0,
        });
        let reduce_pl = d.create_pipeline_layout(&wgpu::PipelineLayoutDescriptor {
            label: Some("reduce"),
            bind_group_layouts: &[Some(&reduce_bgl)],
            immediate_size: 0,
        });
        let sweep = d.create_compute_pipeline(&wgpu::ComputePipelineDescriptor {
            label: Some("sweep"),
            layout: Some(&sweep_pl),
            module: &sweep_mod,
            entry_point: Some("sweep"),
            compilation_options: wgpu::PipelineCompilationOptions {
                constants: &[],
                zero_initialize_workgroup_memory: true,
            },
            cache: None,
        });
        let reduce = d.create_compute_pipeline(&wgpu::ComputePipelineDescriptor {
            label: Some("reduce"),
            layout: Some(&reduce_pl),
            module: &reduce_mod,
            entry_point: Some("reduce"),
            compilation_options: Default::default(),
            cache: None,
        });

        let f_buf = self.buffer_init("data_f", bytemuck::cast_slice(&p.data_f), U::STORAGE);
        let u_buf = self.buffer_init("data_u", bytemuck::cast_slice(&p.data_u), U::STORAGE);
        let chunk_buf = self.buffer(
            "chunk",
            std::mem::size_of::<ChunkParams>() as u64,
            U::UNIFORM | U::COPY_DST,
        );
        let reduce_buf = self.buffer("reduce_params", 16, U::UNIFORM | U::COPY_DST);
        let nwg_max = workgroups(&p, max_chunk);
        let (x, y) = dispatch_dims(nwg_max);
        let rows_cap = x as u64 * y as u64;
        let row = p.row;
        let rows = self.buffer("rows", rows_cap * row * 4, U::STORAGE);
        let out_cap = rows_cap.div_ceil(RF);
        let rows_out = self.buffer("rows_out", out_cap * row * 4, U::STORAGE | U::COPY_SRC);
        let slots = p.slots as u64;
        let slot_key = self.buffer(
            "slot_key",
            slots * 4,
            U::STORAGE | U::COPY_SRC | U::COPY_DST,
        );
        let idx_stride = if self.one_pass { 8 } else { 4 };
        let passes = if self.one_pass { 2 } else { PASSES };
        let slot_idx = self.buffer(
            "slot_idx",
            slots * idx_stride,
            U::STORAGE | U::COPY_SRC | U::COPY_DST,
        );
        let staging = [0, 1].map(|_| {
            self.buffer(
                "staging",
                TS_BYTES + out_cap * row * 4 + slots * (4 + idx_stride),
                U::MAP_READ | U::COPY_DST,
            )
        });
        let timer = self.timestamps.then(|| {
            let qs = d.create_query_set(&wgpu::QuerySetDescriptor {
                label: Some("pass timestamps"),
                ty: wgpu::QueryType::Timestamp,
                count: 2 * passes,
            });
            let resolve = self.buffer(
                "timestamps",
                wgpu::QUERY_RESOLVE_BUFFER_ALIGNMENT,
                U::QUERY_RESOLVE | U::COPY_SRC,
            );
            (qs, resolve)
        });
        let pass_bufs = [0u32, 1]
            .map(|n| self.buffer_init("pass", bytemuck::cast_slice(&[n, 0, 0, 0]), U::UNIFORM));
        let sweep_bg = pass_bufs.each_ref().map(|pb| {
            d.create_bind_group(&wgpu::BindGroupDescriptor {
                label: Some("sweep"),
                layout: &sweep_bgl,
                entries: &[
                    bind(0, &chunk_buf),
                    bind(1, &f_buf),
                    bind(2, &u_buf),
                    bind(6, &rows),
                    bind(7, &slot_key),
                    bind(8, &slot_idx),
                    bind(9, pb),
                ],
            })
        });
        let reduce_bg = d.create_bind_group(&wgpu::BindGroupDescriptor {
            label: Some("reduce"),
            layout: &reduce_bgl,
            entries: &[bind(0, &reduce_buf), bind(1, &rows), bind(2, &rows_out)],
        });
        Kernels {
            emitted: p,
            sweep,
            reduce,
            sweep_bg,
            reduce_bg,
            chunk_buf,
            reduce_buf,
            rows_out,
            slot_key,
            slot_idx,
            staging,
            timer,
            passes,
            idx_stride,
            slots,
            max_chunk,
        }
    }

    #[allow(clippy::too_many_arguments)]
    fn decode_chunk(
        &self,
        plan: &SweepPlan,
        e: &Emitted,
        words: &[u32],
        n_out: usize,
        packed: bool,
        base: u64,
        local: Range<u64>,
    ) -> Result<Reductions, GpuError> {
        let s = &plan.scenario;
        let obj = s.objective;
        let len = local.end - local.start;
        let mut r = Reductions::empty(plan);
        r.evaluated = len;
        let row = e.row as usize;
        let nm = e.metrics.len();
        for i in 0..n_out {
            let w = &words[i * row..(i + 1) * row];
            r.invalid += w[0] as u64;
            let f = w[1] as u64;
            r.feasible += f;
            if f == 0 {
                continue;
            }
            for (q, m) in e.metrics.iter().enumerate() {
                let part = MetricStats {
                    min: f32::from_bits(w[2 + q]) as f64,
                    max: f32::from_bits(w[2 + nm + q]) as f64,
                    sum: f32::from_bits(w[2 + 2 * nm + q]) as f64,
                };
                r.stats[m.index()].merge(&part);
            }
        }
        if r.invalid + r.feasible > len {
            return Err(GpuError::Wgpu(format!(
                "inconsistent counts from the device ({} invalid + {} feasible > {len})",
                r.invalid, r.feasible
            )));
        }
        if r.feasible > 0 {
            for m in crate::model::Metric::ALL
                .iter()
                .filter(|m| !m.applies(&s.workload))
            {
                r.stats[m.index()] = MetricStats {
                    min: f64::INFINITY,
                    max: f64::NEG_INFINITY,
                    sum: f64::NAN,
                };
            }
        }
        let slots = e.slots;
        let keys = &words[n_out * row..n_out * row + slots];
        let idx_words = &words[n_out * row + slots..];
        let idxs: Vec<u32> = if packed {
            // (key << 32) | index, little-endian: [index, key] per slot.
            let mut v = Vec::with_capacity(slots);
            for (sl, (pair, &key)) in idx_words.chunks_exact(2).zip(keys).enumerate() {
                if pair[1] != key {
                    return Err(GpuError::Wgpu(format!(
                        "slot {sl}: 64-bit slot key {:#x} differs from the 32-bit key {key:#x}",
                        pair[1]
                    )));
                }
                v.push(pair[0]);
            }
            v
        } else {
            idx_words[..slots].to_vec()
        };
        let max = obj.sense == Sense::Max;
        for (sl, (&key, &nidx)) in keys.iter().zip(&idxs).enumerate() {
            if key == 0 {
                continue;
            }
            if nidx == 0 {
                return Err(GpuError::Wgpu(format!(
                    "slot {sl} has an objective but no index (the two passes disagree)"
                )));
            }
            let at = !nidx as u64;
            if !local.contains(&at) {
                return Err(GpuError::Wgpu(format!("slot {sl}: index out of the chunk")));
            }
            let c = Candidate {
                objective: key_value(key, max),
                index: base + at,
            };
            let target = if sl == 0 {
                &mut r.best
            } else if sl <= plan.group_count {
                &mut r.best_by[sl - 1]
            } else {
                &mut r.pareto[sl - 1 - plan.group_count]
            };
            offer(target, c, &obj);
        }
        if (r.feasible > 0) != r.best.is_some() {
            return Err(GpuError::Wgpu(
                "feasible count and best configuration disagree".into(),
            ));
        }
        Ok(r)
    }
}

impl Backend for GpuBackend {
    fn exact(&self) -> bool {
        false
    }

    fn info(&self) -> BackendInfo {
        BackendInfo {
            kind: "gpu".into(),
            name: self.info.name.clone(),
            api: Some(format!("{:?}", self.info.backend)),
            device_type: Some(format!("{:?}", self.info.device_type)),
            driver: Some(driver_string(&self.info)),
        }
    }

    fn run(
        &self,
        plan: &SweepPlan,
        range: Range<u64>,
        progress: Progress<'_>,
    ) -> Result<Reductions, BackendError> {
        if range.is_empty() {
            return Ok(Reductions::empty(plan));
        }
        let longest = self.options.chunk.unwrap_or(range.end - range.start);
        let mut prepared = self.prepare_for(plan, longest).map_err(|e| BackendError {
            message: format!("GPU setup on {}: {e}", self.info.name),
            done: Some(Box::new(Reductions::empty(plan))),
            remaining: range.clone(),
        })?;
        prepared.run(range, progress).map(|(r, _)| r)
    }
}

/// A plan's kernels compiled and its tables uploaded on one device ([`GpuBackend::prepare`]):
/// run it on any number of sub-ranges of the plan's grid without rebuilding pipelines. The
/// adaptive chunk size carries over from one [`PreparedSweep::run`] to the next.
pub struct PreparedSweep<'a> {
    gpu: &'a GpuBackend,
    plan: &'a SweepPlan,
    k: Kernels,
    /// Current chunk size (configurations per submission).
    chunk: u64,
}

/// A submitted chunk whose results are not read yet.
struct Pending {
    /// Chunk number within the run.
    n: usize,
    start: u64,
    len: u64,
    /// The chunk as whole tiles.
    span: TileSpan,
    /// Which staging buffer holds its results.
    slot: usize,
    n_out: u64,
    /// Bytes of the staging buffer mapped for reading.
    bytes: u64,
    index: wgpu::SubmissionIndex,
    mapped: Arc<Mutex<Option<Result<(), String>>>>,
    submitted: Instant,
}

impl PreparedSweep<'_> {
    /// Evaluate `range` of flat indices; returns the reductions and the summed GPU kernel
    /// time in seconds measured with timestamp queries (`None` when the device has no
    /// timestamps).
    ///
    /// Two chunks are in flight at a time: chunk k+1 is submitted before the results of
    /// chunk k are read back and merged, so the host's work overlaps the device's. On a
    /// failure the error carries the merged reductions of every chunk before the first one
    /// that did not finish, and the indices from there on.
    pub fn run(
        &mut self,
        range: Range<u64>,
        progress: Progress<'_>,
    ) -> Result<(Reductions, Option<f64>), BackendError> {
        let plan = self.plan;
        let mut total = Reductions::empty(plan);
        let mut kernel = self.gpu.timestamps.then_some(0.0);
        if range.is_empty() {
            return Ok((total, kernel));
        }
        let mut pending: Option<Pending> = None;
        let mut start = range.start;
        let mut n = 0usize;
        // When the device last finished a chunk (for timing chunks that overlap).
        let mut last_done: Option<Instant> = None;
        loop {
            let next = if start < range.end {
                let len = self.chunk.min(range.end - start);
                let slot = n % DEPTH;
                let submitted = if self.gpu.options.fail_at_chunk == Some(n) {
                    Err(GpuError::Wgpu("injected failure (test hook)".into()))
                } else {
                    self.submit(n, slot, start, len)
                };
                match submitted {
                    Ok(p) => {
                        start += len;
                        n += 1;
                        Some(p)
                    }
                    Err(e) => {
                        // Keep what the chunk before it computed, then report.
                        let mut from = start;
                        if let Some(p) = pending.take() {
                            let p_start = p.start;
                            match self.finish(p) {
                                Ok((r, t, len)) => {
                                    total.merge(&r, &plan.scenario.objective);
                                    add_time(&mut kernel, t);
                                    progress(len);
                                }
                                Err(_) => from = p_start,
                            }
                        }
                        return Err(self.failure(n, start, len, e, total, from..range.end));
                    }
                }
            } else {
                None
            };
            if let Some(p) = pending.take() {
                let (p_n, p_start, p_len, submitted) = (p.n, p.start, p.len, p.submitted);
                match self.finish(p) {
                    Ok((r, t, len)) => {
                        total.merge(&r, &plan.scenario.objective);
                        add_time(&mut kernel, t);
                        progress(len);
                        let now = Instant::now();
                        let began = last_done.map_or(submitted, |d| d.max(submitted));
                        last_done = Some(now);
                        self.adapt(len, now.duration_since(began).as_secs_f64());
                    }
                    Err(e) => {
                        // Let the chunk behind it finish (or fail) before giving up.
                        if let Some(q) = next {
                            let _ = self.finish(q);
                        }
                        return Err(self.failure(
                            p_n,
                            p_start,
                            p_len,
                            e,
                            total,
                            p_start..range.end,
                        ));
                    }
                }
            }
            match next {
                Some(p) => pending = Some(p),
                None => break,
            }
        }
        Ok((total, kernel))
    }

    fn failure(
        &self,
        n: usize,
        start: u64,
        len: u64,
        e: GpuError,
        done: Reductions,
        remaining: Range<u64>,
    ) -> BackendError {
        BackendError {
            message: format!(
                "GPU chunk {n} (indices {start}..{}) on {}: {e}",
                start + len,
                self.gpu.info.name
            ),
            done: Some(Box::new(done)),
            remaining,
        }
    }

    /// Adapt the chunk size so one submission takes about the target time.
    fn adapt(&mut self, len: u64, seconds: f64) {
        let o = &self.gpu.options;
        if o.chunk.is_some() || len < self.chunk {
            return;
        }
        let dt = seconds.max(1e-4);
        let want = (len as f64 / dt * o.target.as_secs_f64()) as u64;
        self.chunk = want
            .min(self.chunk.saturating_mul(8))
            .max(MIN_CHUNK)
            .min(self.k.max_chunk);
    }

    /// Encode and submit chunk `[start, start + len)`; its results land in staging `slot`.
    fn submit(&self, n: usize, slot: usize, start: u64, len: u64) -> Result<Pending, GpuError> {
        let (g, k, plan) = (self.gpu, &self.k, self.plan);
        let e = &k.emitted;
        let span = TileSpan::of(e, start, len);
        let nwg = (span.n_outer * e.tiles).div_ceil(WG);
        let (x, y) = dispatch_dims(nwg);
        let n_rows = x as u64 * y as u64;
        let n_out = n_rows.div_ceil(RF);

        let mut digits = vec![0u64; plan.grid.lens.len()];
        plan.grid.decode(span.base, &mut digits);
        let mut chunk = ChunkParams {
            n_outer: span.n_outer as u32,
            nwg_x: x,
            lo: span.local.start as u32,
            hi: span.local.end as u32,
            base: [0; MAX_AXES],
        };
        for (i, d) in digits.iter().enumerate() {
            chunk.base[i] = *d as u32;
        }
        let reduce_params = [n_rows as u32, 0, 0, 0];
        let out_bytes = n_out * e.row * 4;
        let slot_bytes = k.slots * 4;
        let idx_bytes = k.slots * k.idx_stride;
        let staging = &k.staging[slot];
        let ts = |pass: u32| {
            k.timer
                .as_ref()
                .map(|(qs, _)| wgpu::ComputePassTimestampWrites {
                    query_set: qs,
                    beginning_of_pass_write_index: Some(2 * pass),
                    end_of_pass_write_index: Some(2 * pass + 1),
                })
        };

        let index = g.scoped(|| {
            g.queue
                .write_buffer(&k.chunk_buf, 0, bytemuck::bytes_of(&chunk));
            g.queue
                .write_buffer(&k.reduce_buf, 0, bytemuck::cast_slice(&reduce_params));
            let mut enc = g
                .device
                .create_command_encoder(&wgpu::CommandEncoderDescriptor {
                    label: Some("chunk"),
                });
            enc.clear_buffer(&k.slot_key, 0, None);
            enc.clear_buffer(&k.slot_idx, 0, None);
            for (i, bg) in k.sweep_bg.iter().take(k.passes as usize - 1).enumerate() {
                let mut pass = enc.begin_compute_pass(&wgpu::ComputePassDescriptor {
                    label: Some("sweep"),
                    timestamp_writes: ts(i as u32),
                });
                pass.set_pipeline(&k.sweep);
                pass.set_bind_group(0, bg, &[]);
                pass.dispatch_workgroups(x, y, 1);
            }
            {
                let mut pass = enc.begin_compute_pass(&wgpu::ComputePassDescriptor {
                    label: Some("reduce"),
                    timestamp_writes: ts(k.passes - 1),
                });
                pass.set_pipeline(&k.reduce);
                pass.set_bind_group(0, &k.reduce_bg, &[]);
                pass.dispatch_workgroups(n_out as u32, 1, 1);
            }
            if let Some((qs, resolve)) = &k.timer {
                enc.resolve_query_set(qs, 0..2 * k.passes, resolve, 0);
                enc.copy_buffer_to_buffer(resolve, 0, staging, 0, 8 * 2 * k.passes as u64);
            }
            let o = TS_BYTES;
            enc.copy_buffer_to_buffer(&k.rows_out, 0, staging, o, out_bytes);
            enc.copy_buffer_to_buffer(&k.slot_key, 0, staging, o + out_bytes, slot_bytes);
            enc.copy_buffer_to_buffer(
                &k.slot_idx,
                0,
                staging,
                o + out_bytes + slot_bytes,
                idx_bytes,
            );
            g.queue.submit([enc.finish()])
        })?;

        let mapped: Arc<Mutex<Option<Result<(), String>>>> = Arc::new(Mutex::new(None));
        let m2 = mapped.clone();
        let bytes = TS_BYTES + out_bytes + slot_bytes + idx_bytes;
        staging
            .slice(0..bytes)
            .map_async(wgpu::MapMode::Read, move |r| {
                if let Ok(mut s) = m2.lock() {
                    *s = Some(r.map_err(|e| e.to_string()));
                }
            });
        Ok(Pending {
            n,
            start,
            len,
            span,
            slot,
            n_out,
            bytes,
            index,
            mapped,
            submitted: Instant::now(),
        })
    }

    /// Wait for a submitted chunk and decode its results: (reductions, kernel seconds,
    /// configurations).
    fn finish(&self, p: Pending) -> Result<(Reductions, Option<f64>, u64), GpuError> {
        let g = self.gpu;
        let staging = &self.k.staging[p.slot];
        let waited = g
            .device
            .poll(wgpu::PollType::Wait {
                submission_index: Some(p.index),
                timeout: Some(g.options.timeout),
            })
            .map_err(|e| GpuError::Wgpu(format!("waiting for the submission: {e}")));
        let state = p
            .mapped
            .lock()
            .map_err(|_| GpuError::Wgpu("map state poisoned".into()))
            .map(|s| s.clone());
        let state = match state {
            Ok(s) => s,
            Err(e) => {
                staging.unmap();
                return Err(e);
            }
        };
        // A buffer whose mapping is pending or done is unmapped on every path below, so the
        // next chunk (or run) can use it again.
        let result = (|| {
            waited?;
            if let Some(e) = g.take_errors() {
                return Err(GpuError::Wgpu(e));
            }
            match &state {
                Some(Ok(())) => {}
                Some(Err(e)) => return Err(GpuError::Wgpu(format!("reading results back: {e}"))),
                None => return Err(GpuError::Wgpu("results were not mapped in time".into())),
            }
            let view = staging
                .slice(0..p.bytes)
                .get_mapped_range()
                .map_err(|e| GpuError::Wgpu(format!("reading results back: {e}")))?;
            let words: Vec<u32> = bytemuck::cast_slice(&view).to_vec();
            Ok(words)
        })();
        if !matches!(state, Some(Err(_))) {
            staging.unmap();
        }
        let words = result?;
        let head = (TS_BYTES / 4) as usize;
        let kernel = self.k.timer.as_ref().map(|_| {
            let t: Vec<u64> = words[..4 * self.k.passes as usize]
                .chunks_exact(2)
                .map(|w| w[0] as u64 | (w[1] as u64) << 32)
                .collect();
            let ticks: u64 = t.chunks_exact(2).map(|b| b[1].saturating_sub(b[0])).sum();
            ticks as f64 * g.queue.get_timestamp_period() as f64 * 1e-9
        });
        let span = &p.span;
        let r = g.decode_chunk(
            self.plan,
            &self.k.emitted,
            &words[head..],
            p.n_out as usize,
            self.k.idx_stride == 8,
            span.base,
            span.local.clone(),
        )?;
        Ok((r, kernel, p.len))
    }
}

/// The uniform `Chunk` of sweep.wgsl.
#[repr(C)]
#[derive(Clone, Copy, bytemuck::Pod, bytemuck::Zeroable)]
struct ChunkParams {
    n_outer: u32,
    nwg_x: u32,
    lo: u32,
    hi: u32,
    /// Digits of the chunk's first outer combination (the inner ones are 0).
    base: [u32; MAX_AXES],
}

/// A chunk of flat indices `[start, start + len)` as whole tiles: the outer combinations
/// it touches, the flat index of the first one's inner position 0 (`base`), and the
/// chunk-local indices to evaluate.
struct TileSpan {
    n_outer: u64,
    base: u64,
    local: Range<u64>,
}

impl TileSpan {
    fn of(e: &Emitted, start: u64, len: u64) -> TileSpan {
        let first = start / e.block;
        let last = (start + len - 1) / e.block;
        let base = first * e.block;
        TileSpan {
            n_outer: last - first + 1,
            base,
            local: start - base..start - base + len,
        }
    }
}

/// Workgroups for a chunk of at most `len` configurations.
fn workgroups(e: &Emitted, len: u64) -> u64 {
    ((len / e.block + 2) * e.tiles).div_ceil(WG)
}

fn add_time(total: &mut Option<f64>, t: Option<f64>) {
    if let (Some(a), Some(b)) = (total.as_mut(), t) {
        *a += b;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dispatch_dims_cover_and_fit() {
        for nwg in [1u64, 5, 65_535, 65_536, 200_000, 262_144] {
            let (x, y) = dispatch_dims(nwg);
            assert!(x as u64 <= MAX_DIM && y as u64 <= MAX_DIM);
            assert!(x as u64 * y as u64 >= nwg);
            assert!(x as u64 * y as u64 - nwg < y as u64);
        }
    }

    /// Every emitted kernel parses, validates with only the capabilities the device path
    /// requests for it, and compiles to SPIR-V, for every shipped scenario and scenarios
    /// with per-accelerator values, multipliers and inner group and power axes: including
    /// the 64-bit-atomic sweep that only runs on devices with `SHADER_INT64_ATOMIC_MIN_MAX`
    /// (lavapipe in CI has none).
    #[test]
    fn every_emitted_kernel_compiles() {
        use crate::catalog::Catalog;
        use crate::scenario::Scenario;
        use naga::back::spv;
        use naga::valid::{Capabilities, ValidationFlags, Validator};
        use naga::ShaderStage;

        let int64 = Capabilities::SHADER_INT64 | Capabilities::SHADER_INT64_ATOMIC_MIN_MAX;
        let catalog = Catalog::builtin().expect("built-in catalog");
        let mut scenarios: Vec<(String, Scenario)> = Vec::new();
        for entry in std::fs::read_dir("configs/scenarios").expect("configs/scenarios") {
            let path = entry.expect("entry").path();
            let path = path.to_string_lossy().into_owned();
            scenarios.push((
                path.clone(),
                Scenario::load(&path, &catalog).expect("scenario"),
            ));
        }
        let inline = r#"
name = "inner groups and power"
[axes]
gpu_count = [1000, 20000]
cost_model = ["own", "rent"]
accelerator = ["H100-SXM", "GB200", "B200"]
utilization = { times = [0.9, 1.1] }
power_frac = { from = 0.5, to = 1.0, steps = 6 }
[fixed]
gpu_price_usd = { times = 1.2 }
[constraints]
max_facility_mw = 30
max_tco_usd = 3e9
[accelerators.GB200]
gpu_hour_usd = 4.0
dvfs_exponent = 2.5
[accelerators.H100-SXM]
gpu_hour_usd = 2.0
[accelerators.B200]
gpu_hour_usd = 3.0
"#;
        scenarios.push((
            "inline".into(),
            Scenario::parse("inline.toml", inline, &catalog).expect("inline scenario"),
        ));
        for (path, scenario) in scenarios {
            for group_by in [None, Some(vec!["power_frac".to_string()])] {
                let Ok(plan) = SweepPlan::new(scenario.clone(), group_by.as_deref()) else {
                    continue;
                };
                let e = emit(&plan).expect("emitted");
                let kernels = [
                    (
                        "sweep (32-bit slots)",
                        e.sweep_source(emit::SLOTS32),
                        "sweep",
                        Capabilities::empty(),
                    ),
                    (
                        "sweep (64-bit slots)",
                        e.sweep_source(emit::SLOTS64),
                        "sweep",
                        int64,
                    ),
                    ("reduce", e.reduce_source(), "reduce", Capabilities::empty()),
                ];
                for (name, src, entry, caps) in kernels {
                    let ctx = format!("{path} ({group_by:?}): {name}");
                    let module = naga::front::wgsl::parse_str(&src)
                        .unwrap_or_else(|err| panic!("{ctx}: {}\n{src}", err.emit_to_string(&src)));
                    let info = Validator::new(ValidationFlags::all(), caps)
                        .validate(&module)
                        .unwrap_or_else(|err| panic!("{ctx}: {err:?}"));
                    let pipeline = spv::PipelineOptions {
                        shader_stage: ShaderStage::Compute,
                        entry_point: entry.to_string(),
                    };
                    let words =
                        spv::write_vec(&module, &info, &spv::Options::default(), Some(&pipeline))
                            .unwrap_or_else(|err| panic!("{ctx}: SPIR-V: {err:?}"));
                    assert!(words.len() > 100, "{ctx}: {} SPIR-V words", words.len());
                }
            }
        }
    }

    #[test]
    fn chunk_local_indices_fit_u32() {
        // The largest chunk plus the inner block it may start inside.
        assert!(MAX_CHUNK + (1 << 28) <= u32::MAX as u64 / 2);
    }
}
