//! The chunk scheduler: a [`PreparedSweep`] splits a range of flat indices into chunks cut
//! on multiples of the summation tile ([`super::sum_tile`]: whole sweep workgroups at fixed
//! places in the grid, so the f32 metric sums of each workgroup, added exactly on the host,
//! do not depend on the chunking), submits each (two in flight, so the host's merge of one
//! overlaps the device's work on the next), adapts the chunk size (a multiple of the tile)
//! to a target time per submission, and turns a failure into a [`BackendError`] carrying
//! what finished.

use super::emit::WG;
use super::pipelines::{dispatch_dims, Kernels, BAND_BYTES, DEPTH, TS_BYTES};
use super::{Emitted, GpuBackend, GpuError, MAX_AXES, MIN_CHUNK, RF};
use crate::backend::{BackendError, Progress};
use crate::plan::SweepPlan;
use crate::reduce::Reductions;
use std::ops::Range;
use std::sync::{Arc, Mutex};
use std::time::Instant;

/// A plan's kernels compiled and its tables uploaded on one device ([`GpuBackend::prepare`]):
/// run it on any number of sub-ranges of the plan's grid without rebuilding pipelines. The
/// adaptive chunk size carries over from one [`PreparedSweep::run`] to the next.
pub struct PreparedSweep<'a> {
    pub(super) gpu: &'a GpuBackend,
    pub(super) plan: &'a SweepPlan,
    pub(super) k: Kernels,
    /// Current chunk size (configurations per submission).
    pub(super) chunk: u64,
}

/// A submitted chunk whose results are not read yet.
pub(super) struct Pending {
    /// Chunk number within the run.
    pub(super) n: usize,
    pub(super) start: u64,
    pub(super) len: u64,
    /// The chunk as whole tiles.
    pub(super) span: TileSpan,
    /// Which staging buffer holds its results.
    pub(super) slot: usize,
    pub(super) n_out: u64,
    /// Sweep workgroups dispatched (each wrote its metric sums to `wsum`).
    pub(super) n_rows: u64,
    /// Bytes of the staging buffer mapped for reading.
    pub(super) bytes: u64,
    pub(super) index: wgpu::SubmissionIndex,
    pub(super) mapped: Arc<Mutex<Option<Result<(), String>>>>,
    pub(super) submitted: Instant,
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
                let len = chunk_end(start, self.chunk, self.k.emitted.sum_tile, range.end) - start;
                let slot = n % DEPTH;
                let submitted = if self.gpu.options.fail_at_chunk == Some(n) {
                    Err(GpuError::Injected)
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
        self.chunk = whole_tiles(
            want.min(self.chunk.saturating_mul(8))
                .max(MIN_CHUNK)
                .min(self.k.max_chunk),
            self.k.emitted.sum_tile,
        );
    }

    /// Encode and submit chunk `[start, start + len)`; its results land in staging `slot`.
    pub(super) fn submit(
        &self,
        n: usize,
        slot: usize,
        start: u64,
        len: u64,
    ) -> Result<Pending, GpuError> {
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
        let wsum_bytes = n_rows * e.metrics.len() as u64 * 4;
        let slot_bytes = e.key_words() as u64 * 4;
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
            enc.clear_buffer(&k.band, 0, None);
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
            enc.copy_buffer_to_buffer(
                &k.band,
                0,
                staging,
                o + out_bytes + slot_bytes + idx_bytes,
                BAND_BYTES,
            );
            if wsum_bytes > 0 {
                enc.copy_buffer_to_buffer(
                    &k.wsum,
                    0,
                    staging,
                    o + out_bytes + slot_bytes + idx_bytes + BAND_BYTES,
                    wsum_bytes,
                );
            }
            g.queue.submit([enc.finish()])
        })?;

        let mapped: Arc<Mutex<Option<Result<(), String>>>> = Arc::new(Mutex::new(None));
        let m2 = mapped.clone();
        let bytes = TS_BYTES + out_bytes + slot_bytes + idx_bytes + BAND_BYTES + wsum_bytes;
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
            n_rows,
            bytes,
            index,
            mapped,
            submitted: Instant::now(),
        })
    }
}

/// The uniform `Chunk` of sweep.wgsl.
#[repr(C)]
#[derive(Clone, Copy, bytemuck::Pod, bytemuck::Zeroable)]
pub(super) struct ChunkParams {
    pub(super) n_outer: u32,
    pub(super) nwg_x: u32,
    pub(super) lo: u32,
    pub(super) hi: u32,
    /// Digits of the chunk's first outer combination (the inner ones are 0).
    pub(super) base: [u32; MAX_AXES],
}

/// A chunk of flat indices `[start, start + len)` as whole tiles: the outer combinations
/// it touches, the flat index of the first one's inner position 0 (`base`), and the
/// chunk-local indices to evaluate.
pub(super) struct TileSpan {
    pub(super) n_outer: u64,
    pub(super) base: u64,
    pub(super) local: Range<u64>,
}

impl TileSpan {
    pub(super) fn of(e: &Emitted, start: u64, len: u64) -> TileSpan {
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

/// Where the chunk that starts at `start` ends: after about `chunk` configurations, on a
/// multiple of the summation tile `tile` (the next one after `start` at least), or at `end`.
pub(super) fn chunk_end(start: u64, chunk: u64, tile: u64, end: u64) -> u64 {
    let cut = start.saturating_add(chunk) / tile * tile;
    let next = (start / tile).saturating_add(1).saturating_mul(tile);
    cut.max(next).min(end)
}

/// `chunk` rounded to a whole number of summation tiles (at least one).
pub(super) fn whole_tiles(chunk: u64, tile: u64) -> u64 {
    (chunk / tile).max(1) * tile
}

/// Workgroups for a chunk of at most `len` configurations.
pub(super) fn workgroups(e: &Emitted, len: u64) -> u64 {
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

    /// Chunks end on tile multiples whatever the chunk size asked for, so two chunkings of
    /// a range cut it on the same grid of tiles.
    #[test]
    fn chunks_end_on_tiles() {
        let tile = 16_016;
        assert_eq!(chunk_end(0, 1, tile, 111_111), tile);
        assert_eq!(chunk_end(0, 997, tile, 111_111), tile);
        assert_eq!(chunk_end(0, 40_000, tile, 111_111), 2 * tile);
        assert_eq!(chunk_end(5 * tile, 1 << 30, tile, 111_111), 111_111);
        // A range that starts off the grid of tiles reaches it with its first chunk.
        assert_eq!(chunk_end(100, 2 * tile, tile, 111_111), 2 * tile);
        assert_eq!(chunk_end(100, tile, tile, 111_111), tile);
        assert_eq!(chunk_end(u64::MAX - 5, 10, tile, u64::MAX), u64::MAX);
        assert_eq!(whole_tiles(1, tile), tile);
        assert_eq!(whole_tiles(3 * tile + 5, tile), 3 * tile);
    }
}
