//! The GPU backend: WGSL kernels (`shaders/`) run through wgpu on any adapter, headless.
//!
//! A range of flat indices is split into chunks (u64 base per chunk, chunk-local indices in
//! u32, 2-D dispatch beyond 65,535 workgroups); chunk size adapts so one submission takes
//! about [`GpuOptions::target`]. Per chunk the sweep kernel runs twice (pass 0: counts, stats
//! partial rows, best objective key per slot; pass 1: lowest index holding each slot's
//! key), a second kernel folds the partial rows, and the host reads back a few kilobytes and
//! merges them in f64 in a fixed order. Nothing per configuration leaves the device.
//!
//! Failures (pipeline errors, out-of-memory, a lost device, a submission that does not finish
//! within [`GpuOptions::timeout`]) never panic: [`Backend::run`] returns a [`BackendError`]
//! carrying the reductions of the finished chunks and the indices left, so the caller can
//! finish on the CPU.

mod prep;

pub use prep::{prepare, value_ok, Prepared, Unsupported};

use super::{Backend, BackendError, BackendInfo, Progress};
use crate::model::{Metric, Sense, METRIC_COUNT};
use crate::plan::SweepPlan;
use crate::reduce::{offer, Candidate, MetricStats, Reductions};
use std::ops::Range;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// The sweep kernel: shared definitions, the model, and the kernel itself.
pub const SWEEP_WGSL: &str = concat!(
    include_str!("../../shaders/common.wgsl"),
    include_str!("../../shaders/model.wgsl"),
    include_str!("../../shaders/sweep.wgsl"),
);
/// The partial-row reduction kernel.
pub const REDUCE_WGSL: &str = concat!(
    include_str!("../../shaders/common.wgsl"),
    include_str!("../../shaders/reduce.wgsl"),
);

/// Invocations per workgroup of the sweep kernel (`WG` in sweep.wgsl).
const WG: u64 = 64;
/// Configurations per invocation (`PER` in sweep.wgsl).
const PER: u64 = 32;
/// Configurations per workgroup.
const PER_WG: u64 = WG * PER;
/// u32 words per partial row (`ROW` in common.wgsl).
const ROW: u64 = 64;
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
    #[error("cannot open a device on adapter `{adapter}`: {message}")]
    Device { adapter: String, message: String },
    #[error("this scenario cannot run on the GPU kernels: {0}")]
    Unsupported(String),
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
}

impl Default for GpuOptions {
    fn default() -> Self {
        GpuOptions {
            chunk: None,
            target: Duration::from_millis(60),
            timeout: Duration::from_secs(60),
            fail_at_chunk: None,
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
            GpuError::NoAdapter(format!(
                " other than CPU-type adapters ({})",
                all_names.join(", ")
            ))
        }
    })
}

/// The GPU backend on one device.
pub struct GpuBackend {
    info: wgpu::AdapterInfo,
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
        let desc = wgpu::DeviceDescriptor {
            label: Some("clustersweep"),
            required_features: wgpu::Features::empty(),
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

    /// Largest chunk this device's buffer limits allow.
    fn max_chunk(&self) -> u64 {
        let bytes = self
            .limits
            .max_buffer_size
            .min(self.limits.max_storage_buffer_binding_size);
        let rows = (bytes / (ROW * 4)).saturating_sub(MAX_DIM + 1);
        (rows * PER_WG).clamp(PER_WG, MAX_CHUNK)
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
    staging: wgpu::Buffer,
    slots: u64,
    max_chunk: u64,
}

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
        let p = prepare(plan).map_err(|e| GpuError::Unsupported(e.0))?;
        let max_chunk = self.max_chunk().min(longest.max(1));
        self.scoped(|| self.build(&p, max_chunk))
    }

    fn build(&self, p: &Prepared, max_chunk: u64) -> Kernels {
        use wgpu::BufferUsages as U;
        let d = &self.device;
        let sweep_mod = d.create_shader_module(wgpu::ShaderModuleDescriptor {
            label: Some("sweep.wgsl"),
            source: wgpu::ShaderSource::Wgsl(SWEEP_WGSL.into()),
        });
        let reduce_mod = d.create_shader_module(wgpu::ShaderModuleDescriptor {
            label: Some("reduce.wgsl"),
            source: wgpu::ShaderSource::Wgsl(REDUCE_WGSL.into()),
        });
        let sweep_bgl = d.create_bind_group_layout(&wgpu::BindGroupLayoutDescriptor {
            label: Some("sweep"),
            entries: &[
                uniform_entry(0),
                storage_entry(1, true),
                storage_entry(2, true),
                storage_entry(3, true),
                storage_entry(4, true),
                storage_entry(5, true),
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
        let consts: Vec<(&str, f64)> = p.constants.iter().map(|(k, v)| (k.as_str(), *v)).collect();
        let sweep = d.create_compute_pipeline(&wgpu::ComputePipelineDescriptor {
            label: Some("sweep"),
            layout: Some(&sweep_pl),
            module: &sweep_mod,
            entry_point: Some("sweep"),
            compilation_options: wgpu::PipelineCompilationOptions {
                constants: &consts,
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

        let meta: Vec<u32> = p.axis_meta.iter().flatten().copied().collect();
        let meta_buf = self.buffer_init("axis_meta", bytemuck::cast_slice(&meta), U::STORAGE);
        let vals_buf =
            self.buffer_init("axis_vals", bytemuck::cast_slice(&p.axis_vals), U::STORAGE);
        let aux_buf = self.buffer_init("axis_aux", bytemuck::cast_slice(&p.axis_aux), U::STORAGE);
        let accs_buf = self.buffer_init("accs", bytemuck::cast_slice(&p.accs), U::STORAGE);
        let accu_buf = self.buffer_init("acc_u", bytemuck::cast_slice(&p.acc_u), U::STORAGE);
        let chunk_buf = self.buffer("chunk", 16 + 6 * 16, U::UNIFORM | U::COPY_DST);
        let reduce_buf = self.buffer("reduce_params", 16, U::UNIFORM | U::COPY_DST);
        let nwg_max = max_chunk.div_ceil(PER_WG);
        let (x, y) = dispatch_dims(nwg_max);
        let rows_cap = x as u64 * y as u64;
        let rows = self.buffer("rows", rows_cap * ROW * 4, U::STORAGE);
        let out_cap = rows_cap.div_ceil(RF);
        let rows_out = self.buffer("rows_out", out_cap * ROW * 4, U::STORAGE | U::COPY_SRC);
        let slots = p.slots as u64;
        let slot_key = self.buffer(
            "slot_key",
            slots * 4,
            U::STORAGE | U::COPY_SRC | U::COPY_DST,
        );
        let slot_idx = self.buffer(
            "slot_idx",
            slots * 4,
            U::STORAGE | U::COPY_SRC | U::COPY_DST,
        );
        let staging = self.buffer(
            "staging",
            out_cap * ROW * 4 + 2 * slots * 4,
            U::MAP_READ | U::COPY_DST,
        );
        let pass_bufs = [0u32, 1]
            .map(|n| self.buffer_init("pass", bytemuck::cast_slice(&[n, 0, 0, 0]), U::UNIFORM));
        let sweep_bg = pass_bufs.each_ref().map(|pb| {
            d.create_bind_group(&wgpu::BindGroupDescriptor {
                label: Some("sweep"),
                layout: &sweep_bgl,
                entries: &[
                    bind(0, &chunk_buf),
                    bind(1, &meta_buf),
                    bind(2, &vals_buf),
                    bind(3, &aux_buf),
                    bind(4, &accs_buf),
                    bind(5, &accu_buf),
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
            slots,
            max_chunk,
        }
    }

    /// Evaluate one chunk `[start, start + len)` and return its reductions.
    fn run_chunk(
        &self,
        plan: &SweepPlan,
        k: &Kernels,
        start: u64,
        len: u64,
    ) -> Result<Reductions, GpuError> {
        let nwg = len.div_ceil(PER_WG);
        let (x, y) = dispatch_dims(nwg);
        let n_rows = x as u64 * y as u64;
        let n_out = n_rows.div_ceil(RF);

        let mut digits = vec![0u64; plan.grid.lens.len()];
        plan.grid.decode(start, &mut digits);
        let mut chunk = [0u32; 4 + 24];
        chunk[0] = len as u32;
        chunk[1] = x;
        for (i, d) in digits.iter().enumerate() {
            chunk[4 + i] = *d as u32;
        }
        let reduce_params = [n_rows as u32, 0, 0, 0];
        let out_bytes = n_out * ROW * 4;
        let slot_bytes = k.slots * 4;

        let index = self.scoped(|| {
            self.queue
                .write_buffer(&k.chunk_buf, 0, bytemuck::cast_slice(&chunk));
            self.queue
                .write_buffer(&k.reduce_buf, 0, bytemuck::cast_slice(&reduce_params));
            let mut enc = self
                .device
                .create_command_encoder(&wgpu::CommandEncoderDescriptor {
                    label: Some("chunk"),
                });
            enc.clear_buffer(&k.slot_key, 0, None);
            enc.clear_buffer(&k.slot_idx, 0, None);
            for bg in &k.sweep_bg {
                let mut pass = enc.begin_compute_pass(&wgpu::ComputePassDescriptor {
                    label: Some("sweep"),
                    timestamp_writes: None,
                });
                pass.set_pipeline(&k.sweep);
                pass.set_bind_group(0, bg, &[]);
                pass.dispatch_workgroups(x, y, 1);
            }
            {
                let mut pass = enc.begin_compute_pass(&wgpu::ComputePassDescriptor {
                    label: Some("reduce"),
                    timestamp_writes: None,
                });
                pass.set_pipeline(&k.reduce);
                pass.set_bind_group(0, &k.reduce_bg, &[]);
                pass.dispatch_workgroups(n_out as u32, 1, 1);
            }
            enc.copy_buffer_to_buffer(&k.rows_out, 0, &k.staging, 0, out_bytes);
            enc.copy_buffer_to_buffer(&k.slot_key, 0, &k.staging, out_bytes, slot_bytes);
            enc.copy_buffer_to_buffer(
                &k.slot_idx,
                0,
                &k.staging,
                out_bytes + slot_bytes,
                slot_bytes,
            );
            self.queue.submit([enc.finish()])
        })?;

        let total = out_bytes + 2 * slot_bytes;
        let slice = k.staging.slice(0..total);
        let mapped: Arc<Mutex<Option<Result<(), String>>>> = Arc::new(Mutex::new(None));
        let m2 = mapped.clone();
        slice.map_async(wgpu::MapMode::Read, move |r| {
            if let Ok(mut g) = m2.lock() {
                *g = Some(r.map_err(|e| e.to_string()));
            }
        });
        self.device
            .poll(wgpu::PollType::Wait {
                submission_index: Some(index),
                timeout: Some(self.options.timeout),
            })
            .map_err(|e| GpuError::Wgpu(format!("waiting for the submission: {e}")))?;
        if let Some(e) = self.take_errors() {
            return Err(GpuError::Wgpu(e));
        }
        let state = mapped
            .lock()
            .map_err(|_| GpuError::Wgpu("map state poisoned".into()))?
            .clone();
        match state {
            Some(Ok(())) => {}
            Some(Err(e)) => return Err(GpuError::Wgpu(format!("reading results back: {e}"))),
            None => return Err(GpuError::Wgpu("results were not mapped in time".into())),
        }
        let words: Vec<u32> = {
            let view = slice
                .get_mapped_range()
                .map_err(|e| GpuError::Wgpu(format!("reading results back: {e}")))?;
            bytemuck::cast_slice(&view).to_vec()
        };
        k.staging.unmap();
        self.decode_chunk(plan, &words, n_out as usize, start, len)
    }

    fn decode_chunk(
        &self,
        plan: &SweepPlan,
        words: &[u32],
        n_out: usize,
        start: u64,
        len: u64,
    ) -> Result<Reductions, GpuError> {
        let s = &plan.scenario;
        let obj = s.objective;
        let mut r = Reductions::empty(plan);
        r.evaluated = len;
        let row = ROW as usize;
        for i in 0..n_out {
            let w = &words[i * row..(i + 1) * row];
            r.invalid += w[0] as u64;
            let f = w[1] as u64;
            r.feasible += f;
            if f == 0 {
                continue;
            }
            for m in 0..METRIC_COUNT {
                let part = MetricStats {
                    min: f32::from_bits(w[2 + m]) as f64,
                    max: f32::from_bits(w[22 + m]) as f64,
                    sum: f32::from_bits(w[42 + m]) as f64,
                };
                r.stats[m].merge(&part);
            }
        }
        if r.invalid + r.feasible > len {
            return Err(GpuError::Wgpu(format!(
                "inconsistent counts from the device ({} invalid + {} feasible > {len})",
                r.invalid, r.feasible
            )));
        }
        if r.feasible > 0 {
            for m in Metric::ALL.iter().filter(|m| !m.applies(&s.workload)) {
                r.stats[m.index()] = MetricStats {
                    min: f64::INFINITY,
                    max: f64::NEG_INFINITY,
                    sum: f64::NAN,
                };
            }
        }
        let slots = self.slot_count(plan);
        let keys = &words[n_out * row..n_out * row + slots];
        let idxs = &words[n_out * row + slots..n_out * row + 2 * slots];
        let max = obj.sense == Sense::Max;
        for (sl, (&key, &nidx)) in keys.iter().zip(idxs).enumerate() {
            if key == 0 {
                continue;
            }
            if nidx == 0 {
                return Err(GpuError::Wgpu(format!(
                    "slot {sl} has an objective but no index (the two passes disagree)"
                )));
            }
            let local = !nidx as u64;
            if local >= len {
                return Err(GpuError::Wgpu(format!("slot {sl}: index out of the chunk")));
            }
            let c = Candidate {
                objective: prep::key_value(key, max),
                index: start + local,
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

    fn slot_count(&self, plan: &SweepPlan) -> usize {
        1 + plan.group_count + plan.pareto.count
    }
}

impl Backend for GpuBackend {
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
        let mut total = Reductions::empty(plan);
        if range.is_empty() {
            return Ok(total);
        }
        let longest = self.options.chunk.unwrap_or(range.end - range.start);
        let k = match self.kernels(plan, longest) {
            Ok(k) => k,
            Err(e) => {
                return Err(BackendError {
                    message: format!("GPU setup on {}: {e}", self.info.name),
                    done: Some(Box::new(total)),
                    remaining: range,
                })
            }
        };
        let mut chunk = self
            .options
            .chunk
            .unwrap_or(FIRST_CHUNK)
            .clamp(1, k.max_chunk);
        let mut start = range.start;
        let mut n = 0usize;
        while start < range.end {
            let len = chunk.min(range.end - start);
            let t0 = Instant::now();
            let result = if self.options.fail_at_chunk == Some(n) {
                Err(GpuError::Wgpu("injected failure (test hook)".into()))
            } else {
                self.run_chunk(plan, &k, start, len)
            };
            match result {
                Ok(r) => total.merge(&r, &plan.scenario.objective),
                Err(e) => {
                    return Err(BackendError {
                        message: format!(
                            "GPU chunk {n} (indices {start}..{}) on {}: {e}",
                            start + len,
                            self.info.name
                        ),
                        done: Some(Box::new(total)),
                        remaining: start..range.end,
                    })
                }
            }
            progress(len);
            if self.options.chunk.is_none() {
                let dt = t0.elapsed().as_secs_f64().max(1e-4);
                let want = (len as f64 / dt * self.options.target.as_secs_f64()) as u64;
                chunk = want
                    .min(chunk.saturating_mul(8))
                    .max(MIN_CHUNK)
                    .min(k.max_chunk);
            }
            start += len;
            n += 1;
        }
        Ok(total)
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

    #[test]
    fn chunk_local_indices_fit_u32() {
        let (x, y) = dispatch_dims(MAX_CHUNK.div_ceil(PER_WG));
        assert!((x as u64 * y as u64) * PER_WG <= u32::MAX as u64);
    }
}
