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
//!
//! This file owns the device ([`GpuBackend`]), its options and errors. The rest:
//! `adapter` (discovery and choice), `emit` (the plan's WGSL from its tape), `f32_range`
//! (inputs the f32 kernels cannot represent, refused), `pipelines`
//! (pipelines and buffers), `chunks` (the chunk scheduler, [`PreparedSweep`]) and
//! `readback` (results back into reductions).

mod adapter;
mod chunks;
mod draws;
mod emit;
pub mod f32_range;
mod montecarlo;
mod pipelines;
mod readback;

pub use adapter::{
    adapters, instance, pick_adapter, summarize, AdapterChoice, AdapterSummary, DeviceRequirement,
};
pub use chunks::PreparedSweep;
pub use emit::{
    emit, key_value, sum_tile, Emitted, Unsupported, BAND_CAP, CONSTRAINT_SLACK, MAX_AXES,
};
pub use montecarlo::{emit_montecarlo, McEmitted};

use super::{Backend, BackendError, BackendInfo, Progress};
use crate::plan::SweepPlan;
use crate::reduce::Reductions;
use emit::WG;
use std::ops::Range;
use std::sync::{Arc, Mutex};
use std::time::Duration;

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
    /// Adapters exist but none is the one `--adapter-index`, `--adapter` or
    /// `--require-device` asks for.
    #[error("no GPU adapter {0}")]
    NotChosen(String),
    #[error("only CPU-type adapters ({0}); the CPU backend is faster on the same cores (use --backend gpu or --adapter to run the WGSL kernels on them)")]
    OnlyCpuAdapters(String),
    #[error("cannot open a device on adapter `{adapter}`: {message}")]
    Device { adapter: String, message: String },
    #[error("this scenario cannot run on the GPU kernels: {0}")]
    Unsupported(#[from] Unsupported),
    #[error("out of memory: {0}")]
    OutOfMemory(String),
    /// A wgpu validation error (a pipeline or command the device rejected).
    #[error("{0}")]
    Validation(String),
    /// Errors reported outside a scope: a lost device, an uncaptured error.
    #[error("{0}")]
    Uncaptured(String),
    #[error("injected failure (test hook)")]
    Injected,
    #[error("waiting for the submission: {0}")]
    Wait(String),
    #[error("reading results back: {0}")]
    ReadBack(String),
    #[error("results were not mapped in time")]
    NotMapped,
    /// The device's results contradict themselves (counts, slots, indices).
    #[error("{0}")]
    Inconsistent(String),
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
    /// Largest draw table (bytes: drawn parameters x accelerators x samples x 4) that a
    /// Monte Carlo sweep generates on the device once and reads per draw; beyond it, or
    /// beyond the device's largest storage binding, each draw is generated where the
    /// kernel uses it. 0: always per draw (tests).
    pub mc_draw_table_bytes: u64,
    /// Workgroup memory (bytes, within the device's limit) that a Monte Carlo kernel with a
    /// percentile statistic may give its configuration's draw keys; with more draws than
    /// fit, the keys go through a storage buffer. 0: always the storage buffer (tests
    /// read the keys back from it).
    pub mc_workgroup_key_bytes: u64,
}

impl Default for GpuOptions {
    fn default() -> Self {
        GpuOptions {
            chunk: None,
            target: Duration::from_millis(60),
            timeout: Duration::from_secs(60),
            fail_at_chunk: None,
            int64_atomics: true,
            mc_draw_table_bytes: u64::MAX,
            mc_workgroup_key_bytes: u64::MAX,
        }
    }
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
    /// The device GPU tests run on: any adapter (lavapipe included), or `None` with a
    /// printed reason when there is none (the test is skipped); with
    /// `CLUSTERSWEEP_REQUIRE_GPU=1` (CI) a missing adapter panics, failing the test, and so
    /// does an adapter that cannot open a device. For tests only (the library and the CLI
    /// report these as errors).
    #[doc(hidden)]
    pub fn for_tests(options: GpuOptions) -> Option<GpuBackend> {
        match GpuBackend::open(None, true, options) {
            Ok(g) => Some(g),
            Err(e @ GpuError::NoAdapter(_)) => {
                if std::env::var("CLUSTERSWEEP_REQUIRE_GPU").as_deref() == Ok("1") {
                    panic!("CLUSTERSWEEP_REQUIRE_GPU=1 but no adapter: {e}");
                }
                eprintln!("skipping GPU test: {e}");
                None
            }
            Err(e) => panic!("GPU adapter present but unusable: {e}"),
        }
    }

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

    /// Pick an adapter by name substring (see [`pick_adapter`]) and open it.
    pub fn open(
        name: Option<&str>,
        allow_cpu: bool,
        options: GpuOptions,
    ) -> Result<GpuBackend, GpuError> {
        GpuBackend::open_chosen(&AdapterChoice::named(name), allow_cpu, options)
    }

    /// Pick the adapter `choice` asks for (see [`pick_adapter`]) and open it.
    pub fn open_chosen(
        choice: &AdapterChoice,
        allow_cpu: bool,
        options: GpuOptions,
    ) -> Result<GpuBackend, GpuError> {
        let a = pick_adapter(choice, allow_cpu)?;
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
        // Whole summation tiles (`max_chunk` is a multiple of the tile).
        let tile = k.emitted.sum_tile;
        let chunk = self
            .options
            .chunk
            .unwrap_or(FIRST_CHUNK)
            .clamp(1, k.max_chunk)
            .div_ceil(tile)
            * tile;
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
            return Err(GpuError::OutOfMemory(e.to_string()));
        }
        if let Some(e) = ve {
            return Err(GpuError::Validation(e.to_string()));
        }
        if let Some(e) = self.take_errors() {
            return Err(GpuError::Uncaptured(e));
        }
        Ok(out)
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
            driver: Some(crate::machine::AdapterDescription::from_wgpu(&self.info).driver_line()),
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
        if plan.scenario.uncertainty.is_some() {
            let mut done = Reductions::empty(plan);
            return match self.run_montecarlo(plan, range.clone(), progress, &mut done) {
                Ok(()) => Ok(done),
                Err((e, at)) => Err(BackendError {
                    message: format!("GPU Monte Carlo on {}: {e}", self.info.name),
                    done: Some(Box::new(done)),
                    remaining: at..range.end,
                }),
            };
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

#[cfg(test)]
mod tests {
    use super::pipelines::dispatch_dims;
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
