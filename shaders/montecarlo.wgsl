// The Monte Carlo kernel, a template: the `{{...}}` lines are filled by
// src/backend/gpu/montecarlo.rs with the model's code emitted from the plan's tape
// (`trace_draws`: every axis outer, one column over the draws). One workgroup evaluates
// one configuration: its draw-independent steps once per invocation ({{OUTER}}), then each
// invocation takes draws k = lid, lid + WG, ... ({{DRAW}} per draw). The workgroup reduces
// its draws into the configuration's row: [valid draws, feasible draws, statistic, sum of
// each metric over valid draws]. With a percentile statistic each valid draw's objective
// key is kept, each invocation keeps the least and greatest of its keys, and the workgroup
// finds the nearest-rank key exactly (shaders/mc_select.wgsl, {{SELECT}}). The keys are
// stored with `key_store` and read with `key_load`, emitted before this file: in workgroup
// memory when the configuration's draws fit, else in binding 3.

struct Chunk {
    // Configurations in this dispatch, and the workgroups per row of the dispatch.
    n_cfg: u32,
    nwg_x: u32,
    pad0: u32,
    pad1: u32,
    // Per-axis digits of the dispatch's first configuration (4 per vec4).
    base: array<vec4<u32>, 6>,
}

@group(0) @binding(0) var<uniform> chunk: Chunk;
// Axis values, axis validity flags (1.0 / 0.0), lookup tables (accelerator values) and the
// nearest ranks, at offsets emitted as literals. The draws of uncertain inputs are read
// from the sweep's draw table (binding 5, generated on the device before the first
// dispatch by shaders/draw_table.wgsl) or, where the table would be too large, generated
// per draw by shaders/draws.wgsl (binding 4), placed before this file.
@group(0) @binding(1) var<storage, read> data_f: array<f32>;
// Per configuration: MC_ROW words (see above).
@group(0) @binding(2) var<storage, read_write> rows: array<u32>;

const WG: u32 = 64u;

var<workgroup> w_valid: atomic<u32>;
var<workgroup> w_feas: atomic<u32>;
var<workgroup> w_sums: array<f32, NM * WG>;
var<workgroup> w_hist: array<atomic<u32>, 256>;
// The percentile's select (shaders/mc_select.wgsl): the complement of the least key and
// the greatest key, the bin counts, the sums of 4 bins, the gathered candidates, the answer.
var<workgroup> w_sel: vec4<u32>;
var<workgroup> w_nkmin: atomic<u32>;
var<workgroup> w_kmax: atomic<u32>;
var<workgroup> w_part: array<u32, WG>;
var<workgroup> w_ncand: atomic<u32>;
var<workgroup> w_cand: array<u32, WG>;
var<workgroup> w_ans: atomic<u32>;

fn base_digit(k: u32) -> u32 {
    return chunk.base[k / 4u][k % 4u];
}

fn test(t: bool) -> f32 {
    return select(0.0, 1.0, t);
}

@compute @workgroup_size(64)
fn montecarlo(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
    let o = wid.y * chunk.nwg_x + wid.x;
    if o >= chunk.n_cfg {
        return;
    }
    var nv = 0u;
    var nf = 0u;
    // The least and greatest key of the invocation's valid draws (percentile only).
    var kmin = 0xffffffffu;
    var kmax = 0u;
    var sm: array<f32, NM>;
    for (var m = 0u; m < NM; m++) {
        sm[m] = 0.0;
    }
    // The configuration's digits (the dispatch's base plus o, with carry), values and its
    // draw-independent steps.
{{OUTER}}
    let kb = o * SAMPLES;
    for (var k = lid; k < SAMPLES; k += WG) {
{{DRAW}}
    }
    // Counts and sums of the workgroup.
    atomicAdd(&w_valid, nv);
    atomicAdd(&w_feas, nf);
{{RANGE}}
    for (var m = 0u; m < NM; m++) {
        w_sums[m * WG + lid] = sm[m];
    }
    workgroupBarrier();
    let rb = o * MC_ROW;
    if lid < NM {
        var total = 0.0;
        for (var i = 0u; i < WG; i++) {
            total += w_sums[lid * WG + i];
        }
        rows[rb + 3u + lid] = bitcast<u32>(total);
    }
    let valid_draws = atomicLoad(&w_valid);
    if lid == 0u {
        rows[rb] = valid_draws;
        rows[rb + 1u] = atomicLoad(&w_feas);
    }
{{SELECT}}
}
