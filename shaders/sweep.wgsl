// The sweep kernel: each invocation evaluates PER consecutive configurations of a chunk,
// checks validity, feasibility and constraints, and reduces. Pass 0: counts and stats are
// reduced in the workgroup into one partial row, and each feasible configuration offers its
// objective key and complemented chunk-local index to its slots (slot 0 = best overall, then
// best_by groups, then Pareto bins) through `offer`. With 32-bit atomics (slots32.wgsl) pass 0
// only raises the keys and a pass 1 (same kernel) offers the indices; with 64-bit atomics
// (slots64.wgsl) pass 0 does both and there is no pass 1. Nothing per configuration is
// written.

const WG: u32 = 64u;
const_assert WG == TREE;
const PER: u32 = 32u;

override OBJ: u32 = 2u;
override SENSE_MAX: u32 = 1u;
override GROUP_BASE: u32 = 1u;
override BIN_BASE: u32 = 2u;
override N_BINS: u32 = 512u;
override LN_LO: f32 = 0.0;
override PER_LN: f32 = 1.0;
// Constraints: max facility_mw, max tco, max capex, max train_days, min throughput.
override HAS_C0: u32 = 0u;
override C0: f32 = 0.0;
override HAS_C1: u32 = 0u;
override C1: f32 = 0.0;
override HAS_C2: u32 = 0u;
override C2: f32 = 0.0;
override HAS_C3: u32 = 0u;
override C3: f32 = 0.0;
override HAS_C4: u32 = 0u;
override C4: f32 = 0.0;

@group(0) @binding(6) var<storage, read_write> rows: array<u32>;
// Bindings 7 and 8 (the reduction slots) and `offer` come from slots32.wgsl (two passes) or
// slots64.wgsl (one pass, 64-bit atomics), composed on the host.
// Which pass (x). A runtime value, not an override, so that both passes run the very same
// compiled code and compute bit-identical objective keys.
@group(0) @binding(9) var<uniform> pass_no: vec4<u32>;

var<workgroup> w_inv: atomic<u32>;
var<workgroup> w_feas: atomic<u32>;
var<workgroup> w_any: u32;

fn feasible(e: Eval) -> bool {
    var f = e.valid & (e.m[2] > 0.0);
    if HAS_C0 != 0u { f = f & (e.m[4] <= C0); }
    if HAS_C1 != 0u { f = f & (e.m[8] <= C1); }
    if HAS_C2 != 0u { f = f & (e.m[7] <= C2); }
    if HAS_C3 != 0u { f = f & (e.m[14] <= C3); }
    if HAS_C4 != 0u { f = f & (e.m[2] >= C4); }
    return f;
}

@compute @workgroup_size(64)
fn sweep(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
    let pass_id = pass_no.x;
    let wg = wid.y * chunk.nwg_x + wid.x;
    let first = (wg * WG + lid) * PER;
    var inv = 0u;
    var feas = 0u;
    var mn: array<f32, 20>;
    var mx: array<f32, 20>;
    var sm: array<f32, 20>;
    for (var m = 0u; m < NM; m++) {
        mn[m] = F32_MAX;
        mx[m] = -F32_MAX;
        sm[m] = 0.0;
    }
    if first < chunk.len {
        decode(first);
        let cnt = min(PER, chunk.len - first);
        for (var i = 0u; i < cnt; i++) {
            let e = evaluate();
            if feasible(e) {
                let o = e.m[OBJ];
                let ok = ordered_key(o);
                let key = select(~ok, ok, SENSE_MAX != 0u);
                let fac = e.m[4];
                let b = u32(clamp(floor((log(fac) - LN_LO) * PER_LN), 0.0, f32(N_BINS - 1u)));
                let slots = vec3<u32>(0u, GROUP_BASE + group_of(), BIN_BASE + b);
                if pass_id == 0u {
                    feas += 1u;
                    for (var m = 0u; m < NM; m++) {
                        let v = e.m[m];
                        mn[m] = min(mn[m], v);
                        mx[m] = max(mx[m], v);
                        sm[m] = sm[m] + v;
                    }
                }
                let nidx = ~(first + i);
                offer(pass_id, slots.x, key, nidx);
                offer(pass_id, slots.y, key, nidx);
                offer(pass_id, slots.z, key, nidx);
            } else if !e.valid {
                inv += 1u;
            }
            advance();
        }
    }
    if pass_id != 0u {
        return;
    }
    // Workgroup reduction of counts and stats into this workgroup's partial row.
    atomicAdd(&w_inv, inv);
    atomicAdd(&w_feas, feas);
    workgroupBarrier();
    let rb = wg * ROW;
    if lid == 0u {
        let nf = atomicLoad(&w_feas);
        rows[rb] = atomicLoad(&w_inv);
        rows[rb + 1u] = nf;
        w_any = nf;
    }
    let any = workgroupUniformLoad(&w_any);
    if any == 0u {
        return;
    }
    let st = tree_stats(lid, mn, mx, sm);
    if lid < NM {
        rows[rb + R_MIN + lid] = bitcast<u32>(st.x);
        rows[rb + R_MAX + lid] = bitcast<u32>(st.y);
        rows[rb + R_SUM + lid] = bitcast<u32>(st.z);
    }
}
