// The sweep kernel, a template: the `{{...}}` lines are filled by src/backend/gpu/emit.rs
// with the model's code emitted from the plan's tape (constants folded into literals) and
// with the plan's sizes. The grid is walked in tiles: an invocation takes one combination
// of the outer axes (`o`, computed once: every step that depends on outer axes only runs
// here) and up to PER consecutive positions of the inner block (the last axes; the steps
// that depend on them run per configuration). TILES (invocations per block) is a power of
// two, so a workgroup covers whole blocks or a fixed part of one; chunks start on such
// workgroup boundaries (src/backend/gpu/emit.rs `sum_tile`), so each workgroup's f32 metric
// sums are the same whatever the chunking. Pass 0 reduces counts, min and max in the
// workgroup into one partial row and writes the workgroup's sums to `wsum` (the host adds
// them exactly); each tile offers its best feasible configuration (key
// and complemented chunk-local index) to its reduction slots through `offer` (slot 0 =
// best overall, then best_by groups, then Pareto bins), per configuration only for slots
// that change inside the tile. With 32-bit atomics (slots32.wgsl) pass 0 only raises the
// keys and a pass 1 (same kernel) offers the indices; with 64-bit atomics (slots64.wgsl)
// pass 0 does both. Nothing per configuration is written, except the few configurations
// within the slack of a constraint bound tested in f32, whose indices go to `band` for the
// host to decide in f64.

struct Chunk {
    // Outer combinations in this chunk, and the workgroups per row of the dispatch.
    n_outer: u32,
    nwg_x: u32,
    // Chunk-local indices [lo, hi) to evaluate (local index 0 = the chunk's first outer
    // combination, inner position 0).
    lo: u32,
    hi: u32,
    // Per-axis digits of the chunk's first outer combination (4 per vec4).
    base: array<vec4<u32>, 6>,
}

@group(0) @binding(0) var<uniform> chunk: Chunk;
// Axis values, axis validity flags (1.0 / 0.0) and lookup tables, at offsets emitted as
// literals.
@group(0) @binding(1) var<storage, read> data_f: array<f32>;
// Tests decided on the host in f64 (0 / 1), indexed by the digits of the axes they read.
@group(0) @binding(2) var<storage, read> data_u: array<u32>;
// Configurations within the slack of a constraint bound, for the host to decide in f64:
// [count, chunk-local index x BAND_CAP] (the count goes on past BAND_CAP on overflow).
@group(0) @binding(3) var<storage, read_write> band: array<atomic<u32>>;
@group(0) @binding(6) var<storage, read_write> rows: array<u32>;
// Bindings 7 and 8 (the reduction slots) and `offer` come from slots32.wgsl or slots64.wgsl.
// Which pass (x): a runtime value, not an override, so both passes run the same code.
@group(0) @binding(9) var<uniform> pass_no: vec4<u32>;
// Per workgroup, its metric sums (NM f32; zeros where no configuration is feasible).
@group(0) @binding(10) var<storage, read_write> wsum: array<f32>;

const WG: u32 = 64u;
const_assert WG == TREE;

var<workgroup> w_inv: atomic<u32>;
var<workgroup> w_feas: atomic<u32>;
var<workgroup> w_any: u32;

fn base_digit(k: u32) -> u32 {
    return chunk.base[k / 4u][k % 4u];
}

fn band_push(local: u32) {
    let k = atomicAdd(&band[0], 1u);
    if k < BAND_CAP {
        atomicStore(&band[1u + k], local);
    }
}

fn pareto_bin(facility_mw: f32) -> u32 {
    return u32(clamp(floor((log(facility_mw) - LN_LO) * PER_LN), 0.0, f32(N_BINS - 1u)));
}

fn test(t: bool) -> f32 {
    return select(0.0, 1.0, t);
}

@compute @workgroup_size(64)
fn sweep(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
    let pass_id = pass_no.x;
    let wg = wid.y * chunk.nwg_x + wid.x;
    let gid = wg * WG + lid;
    let o = gid / TILES;
    let t = gid - o * TILES;
    var inv = 0u;
    var nf = 0u;
    var mn: array<f32, NM>;
    var mx: array<f32, NM>;
    var sm: array<f32, NM>;
    for (var m = 0u; m < NM; m++) {
        mn[m] = F32_MAX;
        mx[m] = -F32_MAX;
        sm[m] = 0.0;
    }
    if o < chunk.n_outer {
        let ob = o * B;
        let lo_j = select(0u, chunk.lo - ob, chunk.lo > ob);
        let hi_j = select(0u, min(chunk.hi - ob, B), chunk.hi > ob);
        let ja = max(t * PER, lo_j);
        let jb = min(t * PER + PER, hi_j);
        if ja < jb {
            // Outer digits (the chunk's base plus o, with carry), values and steps.
{{OUTER}}
            var lb_key = 0u;
            var lb_j = 0u;
            // Inner digits of position ja.
{{INNER_START}}
            for (var j = ja; j < jb; j++) {
{{INNER}}
                // Next inner position (odometer).
{{ADVANCE}}
            }
{{AFTER}}
        }
    }
    if pass_id != 0u {
        return;
    }
    // Workgroup reduction of counts and stats into this workgroup's partial row.
    atomicAdd(&w_inv, inv);
    atomicAdd(&w_feas, nf);
    workgroupBarrier();
    let rb = wg * ROW;
    if lid == 0u {
        let n = atomicLoad(&w_feas);
        rows[rb] = atomicLoad(&w_inv);
        rows[rb + 1u] = n;
        w_any = n;
    }
    let any = workgroupUniformLoad(&w_any);
    if any == 0u {
        if lid < NM {
            wsum[wg * NM + lid] = 0.0;
        }
        return;
    }
    let st = tree_stats(lid, mn, mx, sm);
    if lid < NM {
        rows[rb + R_MIN + lid] = bitcast<u32>(st.x);
        rows[rb + R_MAX + lid] = bitcast<u32>(st.y);
        wsum[wg * NM + lid] = st.z;
    }
}
