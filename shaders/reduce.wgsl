// Second reduction stage: each workgroup folds up to RF partial rows of the sweep kernel into
// one row (counts in u32, min/max/sum in f32 by a tree, so sums keep ~log2 error growth).

const RWG: u32 = 64u;
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
var<workgroup> r_f: array<f32, 1280>; // RWG * NM

@compute @workgroup_size(64)
fn reduce(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
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
                    sm[m] = sm[m] + bitcast<f32>(rin[b + R_SUM + m]);
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
    for (var op = 0u; op < 3u; op++) {
        for (var m = 0u; m < NM; m++) {
            var v = sm[m];
            if op == 0u { v = mn[m]; } else if op == 1u { v = mx[m]; }
            r_f[lid * NM + m] = v;
        }
        workgroupBarrier();
        for (var s = RWG / 2u; s > 0u; s = s >> 1u) {
            if lid < s {
                for (var m = 0u; m < NM; m++) {
                    let a = r_f[lid * NM + m];
                    let c = r_f[(lid + s) * NM + m];
                    var v = a + c;
                    if op == 0u { v = min(a, c); } else if op == 1u { v = max(a, c); }
                    r_f[lid * NM + m] = v;
                }
            }
            workgroupBarrier();
        }
        if lid < NM {
            let base = select(R_SUM, select(R_MAX, R_MIN, op == 0u), op < 2u);
            rout[ob + base + lid] = bitcast<u32>(r_f[lid]);
        }
        workgroupBarrier();
    }
}
