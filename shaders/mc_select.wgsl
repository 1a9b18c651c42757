    // The nearest-rank percentile of the valid draws' keys, exactly (placed at the end of
    // the Monte Carlo kernel by src/backend/gpu/montecarlo.rs when the statistic is a
    // percentile). The wanted key is the one at 0-based rank r among the valid keys; it
    // lies in [lo, hi] (first the keys' min and max), which holds cnt keys. While cnt >
    // WG, one pass over the keys counts those in [lo, hi] in 256 bins of equal width (a
    // histogram in workgroup memory) and [lo, hi] becomes the bin that holds rank r: each
    // pass divides the width by 256, so after at most 4 passes [lo, hi] holds at most WG
    // keys or one value. Those keys are gathered into workgroup memory and each invocation
    // ranks one of them against the others. The keys are not sorted; nothing is
    // approximated. A configuration that is not feasible skips it (key 0: not read).
    if lid == 0u {
        w_sel = vec4<u32>(valid_draws, ~atomicLoad(&w_nkmin), atomicLoad(&w_kmax), atomicLoad(&w_feas));
    }
    let head = workgroupUniformLoad(&w_sel);
    if head.x == 0u || head.w < FEASIBLE_MIN {
        if lid == 0u {
            rows[rb + 2u] = 0u;
        }
        return;
    }
    var lo = head.y;
    var hi = head.z;
    var cnt = head.x;
    var r = u32(data_f[RANK_OFF + head.x]);
    for (var round = 0u; round < 4u && cnt > WG && lo < hi; round++) {
        // (hi - lo) >> shift < 256.
        let shift = max(firstLeadingBit(hi - lo), 7u) - 7u;
        // The bins start at zero (workgroup memory is zero-initialised); later passes clear
        // them.
        if round > 0u {
            for (var b = lid; b < 256u; b += WG) {
                atomicStore(&w_hist[b], 0u);
            }
            workgroupBarrier();
        }
        for (var k = lid; k < SAMPLES; k += WG) {
            let key = key_load(kb, k);
            if key >= lo && key <= hi {
                atomicAdd(&w_hist[(key - lo) >> shift], 1u);
            }
        }
        workgroupBarrier();
        // Each invocation sums 4 bins; invocation 0 finds the group of 4 holding rank r,
        // then the bin.
        let b4 = lid * 4u;
        w_part[lid] = atomicLoad(&w_hist[b4]) + atomicLoad(&w_hist[b4 + 1u]) + atomicLoad(&w_hist[b4 + 2u]) + atomicLoad(&w_hist[b4 + 3u]);
        workgroupBarrier();
        if lid == 0u {
            var rr = r;
            var g = 0u;
            for (; g < WG - 1u; g++) {
                let c = w_part[g];
                if rr < c {
                    break;
                }
                rr -= c;
            }
            var bin = g * 4u + 3u;
            var c = 0u;
            for (var j = g * 4u; j < g * 4u + 4u; j++) {
                c = atomicLoad(&w_hist[j]);
                if rr < c {
                    bin = j;
                    break;
                }
                rr -= c;
            }
            let nlo = lo + (bin << shift);
            w_sel = vec4<u32>(nlo, nlo + min(hi - nlo, (1u << shift) - 1u), rr, c);
        }
        let sel = workgroupUniformLoad(&w_sel);
        lo = sel.x;
        hi = sel.y;
        r = sel.z;
        cnt = sel.w;
    }
    if lo < hi {
        for (var k = lid; k < SAMPLES; k += WG) {
            let key = key_load(kb, k);
            if key >= lo && key <= hi {
                let at = atomicAdd(&w_ncand, 1u);
                if at < WG {
                    w_cand[at] = key;
                }
            }
        }
        workgroupBarrier();
        let m = min(cnt, WG);
        if lid < m {
            let x = w_cand[lid];
            var below = 0u;
            var upto = 0u;
            for (var i = 0u; i < m; i++) {
                let y = w_cand[i];
                below += select(0u, 1u, y < x);
                upto += select(0u, 1u, y <= x);
            }
            if below <= r && r < upto {
                atomicStore(&w_ans, x);
            }
        }
        workgroupBarrier();
    } else if lid == 0u {
        atomicStore(&w_ans, lo);
    }
    if lid == 0u {
        rows[rb + 2u] = atomicLoad(&w_ans);
    }
