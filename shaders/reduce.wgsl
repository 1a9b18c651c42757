// Second reduction stage: each workgroup folds up to RF partial rows of the sweep kernel into
// one row (counts in u32; min/max in f32 by the tree of stats_tree.wgsl). Sums are not
// folded here (the sum words are written as 0): the host adds the sweep kernel's
// per-workgroup sums (`wsum`) exactly, so they do not depend on how rows fall into folds.

const RWG: u32 = 64u;
const_assert RWG == TREE;
const RF: u32 = 1024u;

struct ReduceParams {
    n_rows: u32,
    _p0: u32,
    _p1: u32,
    _p2: u32,
}

@group(0) @binding(0) var<uniform> rp: ReduceParams;
@group(0) @binding(1) var<storage, read> rin: array<u32>;
@group(0) @binding(2) var<storage, read_write> rout: array<u32>;

var<workgroup> r_inv: array<u32, RWG>;
var<workgroup> r_feas: array<u32, RWG>;

@compute @workgroup_size(64)
fn reduce(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
    var inv = 0u;
    var feas = 0u;
    var mn: array<f32, NM>;
    var mx: array<f32, NM>;
    var sm: array<f32, NM>;
    for (var m = 0u; m < NM; m++) {
        mn[m] = F32_MAX;
        mx[m] = -F32_MAX;
        sm[m] = 0.0;
    }
    for (var i = 0u; i < RF / RWG; i++) {
        let r = wid.x * RF + i * RWG + lid;
        if r < rp.n_rows {
            let b = r * ROW;
            inv += rin[b];
            let f = rin[b + 1u];
            feas += f;
            if f > 0u {
                for (var m = 0u; m < NM; m++) {
                    mn[m] = min(mn[m], bitcast<f32>(rin[b + R_MIN + m]));
                    mx[m] = max(mx[m], bitcast<f32>(rin[b + R_MAX + m]));
                }
            }
        }
    }
    r_inv[lid] = inv;
    r_feas[lid] = feas;
    workgroupBarrier();
    for (var s = RWG / 2u; s > 0u; s = s >> 1u) {
        if lid < s {
            r_inv[lid] += r_inv[lid + s];
            r_feas[lid] += r_feas[lid + s];
        }
        workgroupBarrier();
    }
    let ob = wid.x * ROW;
    if lid == 0u {
        rout[ob] = r_inv[0];
        rout[ob + 1u] = r_feas[0];
    }
    let st = tree_stats(lid, mn, mx, sm);
    if lid < NM {
        rout[ob + R_MIN + lid] = bitcast<u32>(st.x);
        rout[ob + R_MAX + lid] = bitcast<u32>(st.y);
        rout[ob + R_SUM + lid] = bitcast<u32>(st.z);
    }
}
