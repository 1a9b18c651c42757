// Workgroup tree reduction of per-invocation metric statistics, shared by the sweep and
// reduce kernels (composed after common.wgsl): TREE invocations fold their min, max and sum
// of NM metrics in f32 by a tree, so sums keep ~log2 error growth.

const TREE: u32 = 64u;
var<workgroup> tree_f: array<f32, TREE * NM>;

// Invocation `m < NM` gets (min, max, sum) of metric m over the workgroup; the others get
// zeros. Contains barriers: call it from uniform control flow, from every invocation.
fn tree_stats(lid: u32, mn_in: array<f32, NM>, mx_in: array<f32, NM>, sm_in: array<f32, NM>) -> vec3<f32> {
    var mn = mn_in;
    var mx = mx_in;
    var sm = sm_in;
    var out = vec3<f32>(0.0);
    for (var op = 0u; op < 3u; op++) {
        for (var m = 0u; m < NM; m++) {
            var v = sm[m];
            if op == 0u { v = mn[m]; } else if op == 1u { v = mx[m]; }
            tree_f[lid * NM + m] = v;
        }
        workgroupBarrier();
        for (var s = TREE / 2u; s > 0u; s = s >> 1u) {
            if lid < s {
                for (var m = 0u; m < NM; m++) {
                    let a = tree_f[lid * NM + m];
                    let c = tree_f[(lid + s) * NM + m];
                    var v = a + c;
                    if op == 0u { v = min(a, c); } else if op == 1u { v = max(a, c); }
                    tree_f[lid * NM + m] = v;
                }
            }
            workgroupBarrier();
        }
        if lid < NM {
            out[op] = tree_f[lid];
        }
        workgroupBarrier();
    }
    return out;
}
