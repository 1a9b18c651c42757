// The cluster model of spec model.md for one configuration, in f32, plus flat-index decoding.
// Shared by the sweep kernel. Where each parameter comes from (a constant, an axis, or the
// accelerator's figure) is fixed per scenario through pipeline-overridable constants, so the
// driver folds the choice away. Validity is decided from flags the host computed in f64
// (per axis value, per accelerator, and ranks for the power axis), so it matches the f64
// model exactly; only the metrics are f32.

const MAXA: u32 = 24u;
const ACC_STRIDE: u32 = 16u;
const HOURS: f32 = 8766.0;
const SECONDS: f32 = 31557600.0;

struct Chunk {
    len: u32,
    nwg_x: u32,
    _p0: u32,
    _p1: u32,
    // Per-axis digits of the chunk's first flat index (4 per vec4).
    base: array<vec4<u32>, 6>,
}

@group(0) @binding(0) var<uniform> chunk: Chunk;
// Per axis: (length, offset into axis_vals/axis_aux, best_by group multiplier, 0).
@group(0) @binding(1) var<storage, read> axis_meta: array<vec4<u32>>;
@group(0) @binding(2) var<storage, read> axis_vals: array<f32>;
// Per axis value: bit 0 = the value passes its own range checks; bits 1.. = rank among the
// axis's distinct values (power axes).
@group(0) @binding(3) var<storage, read> axis_aux: array<u32>;
// Per accelerator, ACC_STRIDE figures: peak fp4/fp8/bf16 (TFLOP/s, 0 = none), tdp, idle,
// min_power, 1/gamma, host_w, mtbf_hours, price, host_capex.
@group(0) @binding(4) var<storage, read> accs: array<f32>;
// Per accelerator, 4 words: flags (bit 0 = checks that depend on the accelerator alone pass;
// bits 1..3 = has a peak for precision 0..2), power rank lower bound, power rank end.
@group(0) @binding(5) var<storage, read> acc_u: array<u32>;

override N_AXES: u32 = 0u;
// 0: P = power_w (constant, axis, or the accelerator's tdp); 1: P = power_frac * tdp.
override POWER_MODE: u32 = 0u;
// Axis position of the power parameter (power_w or power_frac), or MAXA when not an axis.
override POWER_AXIS: u32 = 24u;
override FIXED_OK: u32 = 1u;
override HAS_TRAIN: u32 = 0u;
override TRAIN_PF: f32 = 0.0; // train_flop / 1e15
override TRAIN_EF: f32 = 0.0; // train_flop / 1e18
override HAS_TOKENS: u32 = 0u;
override TOKENS_K: f32 = 0.0; // 1e15 / (6 * model_params)
override k_accelerator: u32 = 0u;
override s_accelerator: u32 = 0u;
override c_accelerator: f32 = 0.0;
override k_precision: u32 = 0u;
override s_precision: u32 = 0u;
override c_precision: f32 = 0.0;
override k_cost_model: u32 = 0u;
override s_cost_model: u32 = 0u;
override c_cost_model: f32 = 0.0;
override k_gpu_count: u32 = 0u;
override s_gpu_count: u32 = 0u;
override c_gpu_count: f32 = 0.0;
override k_power_w: u32 = 0u;
override s_power_w: u32 = 0u;
override c_power_w: f32 = 0.0;
override k_power_frac: u32 = 0u;
override s_power_frac: u32 = 0u;
override c_power_frac: f32 = 0.0;
override k_utilization: u32 = 0u;
override s_utilization: u32 = 0u;
override c_utilization: f32 = 0.0;
override k_load_frac: u32 = 0u;
override s_load_frac: u32 = 0u;
override c_load_frac: f32 = 0.0;
override k_pue: u32 = 0u;
override s_pue: u32 = 0u;
override c_pue: f32 = 0.0;
override k_host_w: u32 = 0u;
override s_host_w: u32 = 0u;
override c_host_w: f32 = 0.0;
override k_job_gpus: u32 = 0u;
override s_job_gpus: u32 = 0u;
override c_job_gpus: f32 = 0.0;
override k_mtbf_hours: u32 = 0u;
override s_mtbf_hours: u32 = 0u;
override c_mtbf_hours: f32 = 0.0;
override k_checkpoint_s: u32 = 0u;
override s_checkpoint_s: u32 = 0u;
override c_checkpoint_s: f32 = 0.0;
override k_restart_s: u32 = 0u;
override s_restart_s: u32 = 0u;
override c_restart_s: f32 = 0.0;
override k_years: u32 = 0u;
override s_years: u32 = 0u;
override c_years: f32 = 0.0;
override k_electricity_usd_per_kwh: u32 = 0u;
override s_electricity_usd_per_kwh: u32 = 0u;
override c_electricity_usd_per_kwh: f32 = 0.0;
override k_gpu_price_usd: u32 = 0u;
override s_gpu_price_usd: u32 = 0u;
override c_gpu_price_usd: f32 = 0.0;
override k_host_capex_usd: u32 = 0u;
override s_host_capex_usd: u32 = 0u;
override c_host_capex_usd: f32 = 0.0;
override k_facility_usd_per_w: u32 = 0u;
override s_facility_usd_per_w: u32 = 0u;
override c_facility_usd_per_w: f32 = 0.0;
override k_gpu_hour_usd: u32 = 0u;
override s_gpu_hour_usd: u32 = 0u;
override c_gpu_hour_usd: f32 = 0.0;
override k_carbon_kg_per_kwh: u32 = 0u;
override s_carbon_kg_per_kwh: u32 = 0u;
override c_carbon_kg_per_kwh: f32 = 0.0;

// Per-axis positions of the configuration being evaluated.
var<private> dg: array<u32, MAXA>;

fn base_digit(k: u32) -> u32 {
    return chunk.base[k / 4u][k % 4u];
}

// Set `dg` to the digits of chunk-local index `local` (added to the chunk base with carry:
// no 64-bit division).
fn decode(local: u32) {
    var l = local;
    var carry = 0u;
    for (var i = 0u; i < N_AXES; i++) {
        let k = N_AXES - 1u - i;
        let len = axis_meta[k].x;
        let q = l / len;
        var d = base_digit(k) + (l - q * len) + carry;
        carry = select(0u, 1u, d >= len);
        d -= carry * len;
        dg[k] = d;
        l = q;
    }
}

// Move `dg` to the next flat index.
fn advance() {
    for (var i = 0u; i < N_AXES; i++) {
        let k = N_AXES - 1u - i;
        let d = dg[k] + 1u;
        if d < axis_meta[k].x {
            dg[k] = d;
            return;
        }
        dg[k] = 0u;
    }
}

// A parameter's value: kind 0 = the constant c, 1 = axis `slot`, 2 = accelerator figure `slot`.
fn pv(kind: u32, slot: u32, c: f32, acc: u32) -> f32 {
    if kind == 1u {
        return axis_vals[axis_meta[slot].y + dg[slot]];
    }
    if kind == 2u {
        return accs[acc * ACC_STRIDE + slot];
    }
    return c;
}

fn group_of() -> u32 {
    var g = 0u;
    for (var k = 0u; k < N_AXES; k++) {
        g += dg[k] * axis_meta[k].z;
    }
    return g;
}

struct Eval {
    valid: bool,
    m: array<f32, 20>,
}

fn evaluate() -> Eval {
    var e: Eval;
    var ok = FIXED_OK != 0u;
    for (var k = 0u; k < N_AXES; k++) {
        ok = ok & ((axis_aux[axis_meta[k].y + dg[k]] & 1u) != 0u);
    }
    let acc = u32(pv(k_accelerator, s_accelerator, c_accelerator, 0u));
    let ab = acc * ACC_STRIDE;
    let af = acc_u[acc * 4u];
    let pc = u32(pv(k_precision, s_precision, c_precision, acc));
    let prec = select(2u, pc, pc < 2u);
    ok = ok & ((af & 1u) != 0u) & (((af >> (1u + prec)) & 1u) != 0u);
    if POWER_AXIS < MAXA {
        // (min() keeps the constant index in bounds when the branch is folded away.)
        let pa = min(POWER_AXIS, MAXA - 1u);
        let r = axis_aux[axis_meta[pa].y + dg[pa]] >> 1u;
        ok = ok & (r >= acc_u[acc * 4u + 1u]) & (r < acc_u[acc * 4u + 2u]);
    }
    e.valid = ok;

    let tdp = accs[ab + 3u];
    let idle = accs[ab + 4u];
    var p: f32;
    if POWER_MODE == 1u {
        p = pv(k_power_frac, s_power_frac, c_power_frac, acc) * tdp;
    } else {
        p = pv(k_power_w, s_power_w, c_power_w, acc);
    }
    let rent = u32(pv(k_cost_model, s_cost_model, c_cost_model, acc)) == 1u;
    let n = pv(k_gpu_count, s_gpu_count, c_gpu_count, acc);
    let u = pv(k_utilization, s_utilization, c_utilization, acc);
    let load = pv(k_load_frac, s_load_frac, c_load_frac, acc);
    let pue = pv(k_pue, s_pue, c_pue, acc);
    let host = pv(k_host_w, s_host_w, c_host_w, acc);
    let job = pv(k_job_gpus, s_job_gpus, c_job_gpus, acc);
    let mtbf = pv(k_mtbf_hours, s_mtbf_hours, c_mtbf_hours, acc);
    let ck = pv(k_checkpoint_s, s_checkpoint_s, c_checkpoint_s, acc);
    let rs = pv(k_restart_s, s_restart_s, c_restart_s, acc);
    let years = pv(k_years, s_years, c_years, acc);
    let elec = pv(k_electricity_usd_per_kwh, s_electricity_usd_per_kwh, c_electricity_usd_per_kwh, acc);
    let gprice = pv(k_gpu_price_usd, s_gpu_price_usd, c_gpu_price_usd, acc);
    let hcapex = pv(k_host_capex_usd, s_host_capex_usd, c_host_capex_usd, acc);
    let fac_usd = pv(k_facility_usd_per_w, s_facility_usd_per_w, c_facility_usd_per_w, acc);
    let ghour = pv(k_gpu_hour_usd, s_gpu_hour_usd, c_gpu_hour_usd, acc);
    let carbon = pv(k_carbon_kg_per_kwh, s_carbon_kg_per_kwh, c_carbon_kg_per_kwh, acc);

    // Clock factor and goodput (guarded so invalid configurations stay finite).
    let x = max((p - idle) / (tdp - idle), 0.0);
    let s = select(pow(x, accs[ab + 6u]), 0.0, x <= 0.0);
    let j = select(min(job, n), n, job == 0.0);
    let mt = mtbf * 3600.0 / max(j, 1.0);
    let lost = sqrt(2.0 * ck / mt) + rs / mt;
    let g = clamp(1.0 - lost, 0.0, 1.0);
    // Useful throughput in PFLOP/s (peak is TFLOP/s).
    let fp = n * (accs[ab + prec] * 1e-3 * u * s) * g;

    let draw = idle + (p - idle) * load;
    let it_w = n * (p + host);
    let fac_w = it_w * pue;
    let avg_w = n * (draw + host) * pue;
    let energy_kwh = avg_w * (HOURS * 1e-3) * years;
    let capex_own = n * (gprice + hcapex) + n * (tdp + host) * pue * fac_usd;
    let tco_own = capex_own + energy_kwh * elec;
    let tco_rent = n * HOURS * years * ghour;
    let capex = select(capex_own, 0.0, rent);
    let tco = select(tco_own, tco_rent, rent);
    let eflop = fp * SECONDS * years * 1e-3;
    let pos = fp > 0.0;
    let usd_per_eflop = select(F32_MAX, tco / eflop, pos);

    e.m[0] = s;
    e.m[1] = g;
    e.m[2] = fp;
    e.m[3] = it_w * 1e-6;
    e.m[4] = fac_w * 1e-6;
    e.m[5] = avg_w * 1e-6;
    e.m[6] = energy_kwh * 1e-6;
    e.m[7] = capex;
    e.m[8] = tco;
    e.m[9] = eflop;
    e.m[10] = usd_per_eflop;
    e.m[11] = fp * 1e6 / avg_w;
    e.m[12] = avg_w * HOURS / 1000.0 / 10500.0;
    e.m[13] = energy_kwh * carbon / 1000.0;
    if HAS_TRAIN != 0u {
        let days = select(F32_MAX, TRAIN_PF / fp / 86400.0, pos);
        let energy_mwh = avg_w * days * 24.0 * 1e-6;
        e.m[14] = days;
        e.m[15] = n * days * 24.0;
        e.m[16] = energy_mwh;
        e.m[17] = usd_per_eflop * TRAIN_EF;
        e.m[18] = energy_mwh * carbon;
    }
    if HAS_TOKENS != 0u {
        e.m[19] = fp * TOKENS_K;
    }
    return e;
}
