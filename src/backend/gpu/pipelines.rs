//! Device objects for one plan: compiling the emitted sweep kernel and the reduce kernel,
//! their bind groups, and the buffers (tables, partial rows, reduction slots, staging for
//! read-back, timestamp queries), sized for the largest chunk.

use super::chunks::{workgroups, ChunkParams};
use super::emit::{self, emit, Emitted};
use super::{GpuBackend, GpuError, MAX_DIM, RF};
use crate::plan::SweepPlan;

/// Device objects for one plan.
pub(super) struct Kernels {
    /// The emitted kernel's sizes (tiles, rows, metrics).
    pub(super) emitted: Emitted,
    pub(super) sweep: wgpu::ComputePipeline,
    pub(super) reduce: wgpu::ComputePipeline,
    /// Bind groups of pass 0 and pass 1.
    pub(super) sweep_bg: [wgpu::BindGroup; 2],
    pub(super) reduce_bg: wgpu::BindGroup,
    pub(super) chunk_buf: wgpu::Buffer,
    pub(super) reduce_buf: wgpu::Buffer,
    pub(super) rows_out: wgpu::Buffer,
    pub(super) slot_key: wgpu::Buffer,
    pub(super) slot_idx: wgpu::Buffer,
    /// Configurations near a constraint bound: [count, chunk-local index x BAND_CAP].
    pub(super) band: wgpu::Buffer,
    /// Per sweep workgroup, its f32 metric sums (`NM` each), read back unfolded.
    pub(super) wsum: wgpu::Buffer,
    /// Read-back buffers, used in turn so that one chunk is read while the next runs:
    /// [timestamps (`TS_BYTES`)][folded partial rows][slot keys, heatmap counts][slot
    /// indices][band][per-workgroup sums].
    pub(super) staging: [wgpu::Buffer; 2],
    /// Timestamp queries (begin and end of each pass) and their resolve buffer.
    pub(super) timer: Option<(wgpu::QuerySet, wgpu::Buffer)>,
    /// Compute passes per chunk: 2 (one sweep pass, reduce) or 3 (two sweep passes, reduce).
    pub(super) passes: u32,
    /// Bytes per slot in `slot_idx`: 4 (u32 index) or 8 (u64 key and index).
    pub(super) idx_stride: u64,
    pub(super) slots: u64,
    pub(super) max_chunk: u64,
}

/// Most compute passes per chunk (sweep pass 0, sweep pass 1, reduce).
const PASSES: u32 = 3;
/// Bytes of the band buffer (a count and `BAND_CAP` indices).
pub(super) const BAND_BYTES: u64 = 4 * (1 + emit::BAND_CAP);
/// Bytes at the head of each staging buffer for the chunk's timestamps.
pub(super) const TS_BYTES: u64 = 64;

/// Read-back buffers in flight.
pub(super) const DEPTH: usize = 2;

/// Workgroup grid for `nwg` workgroups: (x, y) with x, y <= 65,535.
pub(super) fn dispatch_dims(nwg: u64) -> (u32, u32) {
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

pub(super) fn bind(binding: u32, b: &wgpu::Buffer) -> wgpu::BindGroupEntry<'_> {
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
    pub(super) fn buffer_init(
        &self,
        label: &str,
        data: &[u8],
        usage: wgpu::BufferUsages,
    ) -> wgpu::Buffer {
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

    pub(super) fn buffer(&self, label: &str, size: u64, usage: wgpu::BufferUsages) -> wgpu::Buffer {
        self.device.create_buffer(&wgpu::BufferDescriptor {
            label: Some(label),
            size: size.max(16).next_multiple_of(4),
            usage,
            mapped_at_creation: false,
        })
    }

    pub(super) fn kernels(&self, plan: &SweepPlan, longest: u64) -> Result<Kernels, GpuError> {
        let e = emit(plan)?;
        // Chunks are whole summation tiles (but for a range's first and last).
        let tile = e.sum_tile;
        let max_chunk = super::chunks::whole_tiles(
            self.max_chunk(&e)
                .min(longest.max(1).saturating_add(tile - 1) / tile * tile),
            tile,
        );
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
                storage_entry(3, false),
                storage_entry(6, false),
                storage_entry(7, false),
                storage_entry(8, false),
                uniform_entry(9),
                storage_entry(10, false),
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
        let key_words = p.key_words() as u64;
        let slot_key = self.buffer(
            "slot_key",
            key_words * 4,
            U::STORAGE | U::COPY_SRC | U::COPY_DST,
        );
        let idx_stride = if self.one_pass { 8 } else { 4 };
        let passes = if self.one_pass { 2 } else { PASSES };
        let slot_idx = self.buffer(
            "slot_idx",
            slots * idx_stride,
            U::STORAGE | U::COPY_SRC | U::COPY_DST,
        );
        let band = self.buffer("band", BAND_BYTES, U::STORAGE | U::COPY_SRC | U::COPY_DST);
        let wsum_bytes = rows_cap * p.metrics.len() as u64 * 4;
        let wsum = self.buffer("wsum", wsum_bytes, U::STORAGE | U::COPY_SRC);
        let staging = [0, 1].map(|_| {
            self.buffer(
                "staging",
                TS_BYTES
                    + out_cap * row * 4
                    + key_words * 4
                    + slots * idx_stride
                    + BAND_BYTES
                    + wsum_bytes,
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
                    bind(3, &band),
                    bind(6, &rows),
                    bind(7, &slot_key),
                    bind(8, &slot_idx),
                    bind(9, pb),
                    bind(10, &wsum),
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
            band,
            wsum,
            staging,
            timer,
            passes,
            idx_stride,
            slots,
            max_chunk,
        }
    }
}
