//! Reading a chunk's results back: waiting for the submission and mapping its staging
//! buffer ([`PreparedSweep::finish`]), then decoding the folded partial rows, slot keys and
//! indices into [`Reductions`] ([`decode_chunk`]), adding each sweep workgroup's f32 metric
//! sums exactly ([`add_workgroup_sums`]), checking that the device's counts and slots are
//! consistent, and deciding in f64 the configurations the device found too close to a
//! constraint bound to decide in f32 ([`decide_band`]); a chunk with more of those than
//! the band holds runs again in halves, down to single summation tiles, and a tile that
//! still has too many is evaluated on the CPU ([`PreparedSweep::rerun_in_halves`]).

use super::chunks::{Pending, PreparedSweep, TileSpan};
use super::pipelines::BAND_BYTES;
use super::pipelines::TS_BYTES;
use super::{key_value, Emitted, GpuError, BAND_CAP};
use crate::backend::staged::StagedKernel;
use crate::model::{evaluate, is_feasible, Metric, Sense};
use crate::plan::SweepPlan;
use crate::reduce::{offer, Candidate, MetricStats, Reductions};
use std::ops::Range;

impl PreparedSweep<'_> {
    /// Wait for a submitted chunk and decode its results: (reductions, kernel seconds,
    /// configurations).
    pub(super) fn finish(&self, p: Pending) -> Result<(Reductions, Option<f64>, u64), GpuError> {
        let g = self.gpu;
        let staging = &self.k.staging[p.slot];
        let waited = g
            .device
            .poll(wgpu::PollType::Wait {
                submission_index: Some(p.index),
                timeout: Some(g.options.timeout),
            })
            .map_err(|e| GpuError::Wait(e.to_string()));
        let state = p
            .mapped
            .lock()
            .map_err(|_| GpuError::ReadBack("map state poisoned".into()))
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
                return Err(GpuError::Uncaptured(e));
            }
            match &state {
                Some(Ok(())) => {}
                Some(Err(e)) => return Err(GpuError::ReadBack(e.clone())),
                None => return Err(GpuError::NotMapped),
            }
            let view = staging
                .slice(0..p.bytes)
                .get_mapped_range()
                .map_err(|e| GpuError::ReadBack(e.to_string()))?;
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
        let e = &self.k.emitted;
        let mut r = decode_chunk(
            self.plan,
            e,
            &words[head..],
            p.n_out as usize,
            self.k.idx_stride == 8,
            span.base,
            span.local.clone(),
        )?;
        let band_at = head
            + p.n_out as usize * e.row as usize
            + e.key_words()
            + e.slots * self.k.idx_stride as usize / 4;
        let band = &words[band_at..band_at + 1 + BAND_CAP as usize];
        if band[0] as u64 > BAND_CAP {
            let (r, t) = self.rerun_in_halves(p.n, p.slot, p.start, p.len)?;
            let kernel = kernel.zip(t).map(|(a, b)| a + b);
            return Ok((r, kernel, p.len));
        }
        decide_band(self.plan, &band[1..1 + band[0] as usize], span, &mut r)?;
        let sums_at = band_at + (BAND_BYTES / 4) as usize;
        let nm = e.metrics.len();
        add_workgroup_sums(e, &words[sums_at..sums_at + p.n_rows as usize * nm], &mut r);
        Ok((r, kernel, p.len))
    }

    /// A chunk with more configurations near a constraint bound than the band holds: each
    /// half (cut on a summation tile) runs again on its own, and so on down to single
    /// tiles; a tile that still has too many is evaluated on the CPU (f64). Whether a
    /// configuration ends up on the CPU then depends on its tile only, not on the chunking.
    /// Runs synchronously in staging buffer `slot` (free: its results were read).
    pub(super) fn rerun_in_halves(
        &self,
        n: usize,
        slot: usize,
        start: u64,
        len: u64,
    ) -> Result<(Reductions, Option<f64>), GpuError> {
        let tile = self.k.emitted.sum_tile;
        let end = start + len;
        let first_end = (start / tile + 1).saturating_mul(tile);
        if end <= first_end {
            // One tile (or the part of one at a range's edge): the last resort is the CPU.
            let mut r = StagedKernel::new(self.plan).eval_range(self.plan, start..end);
            r.on_cpu = len;
            return Ok((r, self.k.timer.as_ref().map(|_| 0.0)));
        }
        let mid = ((start + len / 2) / tile * tile).max(first_end);
        let mut total = Reductions::empty(self.plan);
        let mut kernel = self.k.timer.as_ref().map(|_| 0.0);
        for (s, l) in [(start, mid - start), (mid, end - mid)] {
            let p = self.submit(n, slot, s, l)?;
            let (r, t, _) = self.finish(p)?;
            total.merge(&r, &self.plan.scenario.objective);
            kernel = kernel.zip(t).map(|(a, b)| a + b);
        }
        Ok((total, kernel))
    }
}

/// Add each sweep workgroup's f32 metric sums (`NM` per workgroup, in the order of
/// `e.metrics`) to the reductions' exact sums: a workgroup's sums depend only on the
/// configurations it covers (fixed by the summation tiles), and exact addition on no order.
pub(super) fn add_workgroup_sums(e: &Emitted, sums: &[u32], r: &mut Reductions) {
    let nm = e.metrics.len();
    if nm == 0 || r.feasible == 0 {
        return;
    }
    for row in sums.chunks_exact(nm) {
        for (m, &w) in e.metrics.iter().zip(row) {
            r.stats[m.index()].sum.add(f32::from_bits(w) as f64);
        }
    }
}

/// Decide in f64 the configurations the device found within the slack of a constraint
/// bound (chunk-local indices), adding those that are feasible to the reductions as the CPU
/// would (objectives rounded to f32, like the device's, so candidates compare alike).
fn decide_band(
    plan: &SweepPlan,
    band: &[u32],
    span: &TileSpan,
    r: &mut Reductions,
) -> Result<(), GpuError> {
    let s = &plan.scenario;
    let obj = s.objective;
    let mut digits = vec![0u64; plan.grid.lens.len()];
    for &at in band {
        if !span.local.contains(&(at as u64)) {
            return Err(GpuError::Inconsistent(format!(
                "a configuration near a bound is out of the chunk (local index {at})"
            )));
        }
        let index = span.base + at as u64;
        plan.grid.decode(index, &mut digits);
        let (c, a) = s.resolve(&s.values_at(&digits));
        let ev = evaluate(&c, a, &s.workload);
        if !is_feasible(&ev, &s.constraints) {
            r.invalid += !ev.valid as u64;
            continue;
        }
        r.feasible += 1;
        for m in Metric::ALL.iter().filter(|m| m.applies(&s.workload)) {
            r.stats[m.index()].add(ev.metrics[m.index()]);
        }
        let candidate = Candidate {
            objective: ev.metrics[obj.metric.index()] as f32 as f64,
            index,
        };
        offer(&mut r.best, candidate, &obj);
        let group = plan.group_of(&digits);
        offer(&mut r.best_by[group], candidate, &obj);
        r.group_feasible[group] += 1;
        let bin = plan.pareto.bin(ev.metrics[Metric::FacilityMw.index()]);
        offer(&mut r.pareto[bin], candidate, &obj);
        if let Some(h) = plan.heatmap_cell(&digits) {
            offer(&mut r.heatmap[h].best, candidate, &obj);
            r.heatmap[h].feasible += 1;
        }
    }
    Ok(())
}

/// Decode one chunk's read-back words (folded partial rows, slot keys and indices)
/// into reductions; chunk-local index `i` is flat index `base + i`.
#[allow(clippy::too_many_arguments)]
pub(super) fn decode_chunk(
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
            let st = &mut r.stats[m.index()];
            st.min = st.min.min(f32::from_bits(w[2 + q]) as f64);
            st.max = st.max.max(f32::from_bits(w[2 + nm + q]) as f64);
        }
    }
    if r.invalid + r.feasible > len {
        return Err(GpuError::Inconsistent(format!(
            "inconsistent counts from the device ({} invalid + {} feasible > {len})",
            r.invalid, r.feasible
        )));
    }
    if r.feasible > 0 {
        for m in Metric::ALL.iter().filter(|m| !m.applies(&s.workload)) {
            let mut st = MetricStats::default();
            st.sum.add(f64::NAN);
            r.stats[m.index()] = st;
        }
    }
    let slots = e.slots;
    let keys = &words[n_out * row..n_out * row + slots];
    let counts = &words[n_out * row + slots..n_out * row + slots + e.cells];
    let group_counts = &words[n_out * row + slots + e.cells..n_out * row + e.key_words()];
    let idx_words = &words[n_out * row + e.key_words()..];
    for (cell, &n) in r.heatmap.iter_mut().zip(counts) {
        cell.feasible = n as u64;
    }
    if e.groups == 0 {
        // One group (no group axes): its count is the feasible count.
        r.group_feasible[0] = r.feasible;
    } else {
        for (g, &n) in r.group_feasible.iter_mut().zip(group_counts) {
            *g = n as u64;
        }
        let counted: u64 = group_counts.iter().map(|&n| n as u64).sum();
        if counted != r.feasible {
            return Err(GpuError::Inconsistent(format!(
                "groups count {counted} feasible configurations, the rows {}",
                r.feasible
            )));
        }
    }
    let counted: u64 = counts.iter().map(|&n| n as u64).sum();
    if e.cells > 0 && counted != r.feasible {
        return Err(GpuError::Inconsistent(format!(
            "heatmap cells count {counted} feasible configurations, the rows {}",
            r.feasible
        )));
    }
    let idxs: Vec<u32> = if packed {
        // (key << 32) | index, little-endian: [index, key] per slot.
        let mut v = Vec::with_capacity(slots);
        for (sl, (pair, &key)) in idx_words.chunks_exact(2).zip(keys).enumerate() {
            if pair[1] != key {
                return Err(GpuError::Inconsistent(format!(
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
            return Err(GpuError::Inconsistent(format!(
                "slot {sl} has an objective but no index (the two passes disagree)"
            )));
        }
        let at = !nidx as u64;
        if !local.contains(&at) {
            return Err(GpuError::Inconsistent(format!(
                "slot {sl}: index out of the chunk"
            )));
        }
        let c = Candidate {
            objective: key_value(key, max),
            index: base + at,
        };
        let target = if sl == 0 {
            &mut r.best
        } else if sl <= plan.group_count {
            &mut r.best_by[sl - 1]
        } else if sl <= plan.group_count + plan.pareto.count {
            &mut r.pareto[sl - 1 - plan.group_count]
        } else {
            &mut r.heatmap[sl - 1 - plan.group_count - plan.pareto.count].best
        };
        offer(target, c, &obj);
    }
    if (r.feasible > 0) != r.best.is_some() {
        return Err(GpuError::Inconsistent(
            "feasible count and best configuration disagree".into(),
        ));
    }
    Ok(r)
}
