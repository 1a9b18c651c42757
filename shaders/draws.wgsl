// The draws of uncertain inputs, generated on the device: the counter-based generator and
// the quantile functions of src/uncertain.rs (the f64 reference) in f32. When the Monte Carlo
// tape draws, src/backend/gpu/montecarlo.rs places this file before shaders/draw_table.wgsl,
// whose kernel generates every draw once per sweep into the draw table that the Monte Carlo
// kernel reads; only where that table would exceed the device's largest storage binding (or
// GpuOptions::mc_draw_table_bytes) is it placed before the Monte Carlo kernel itself, which
// then computes each draw where its tape has a Draw step (one per drawn parameter). The
// records are built by src/backend/gpu/draws.rs, which also tests this file against the f64
// reference.
//
// `draw_words`: the seed's low and high halves (words 0 and 1), then one record of 8 words
// per drawn parameter and accelerator:
//   [kind (| DRAW_ROUND), stream, f0, f1, f2, f3, f4, scale]
// (f0 .. f4 and scale are f32 bits), then the choices' (bound, value bits) pairs.
//   DRAW_CONST       f0 = the value (not drawn on this accelerator, or a single value)
//   DRAW_UNIFORM     f0 = lo, f1 = hi - lo
//   DRAW_TRIANGULAR  f0 = lo, f1 = hi, f2 = (hi - lo)(mode - lo), f3 = (hi - lo)(hi - mode),
//                    f4 = (mode - lo) / (hi - lo)
//   DRAW_NORMAL      f0 = mean, f1 = sd (truncated to mean +/- 3 sd)
//   DRAW_LOGNORMAL   f0 = median, f1 = sigma
//   DRAW_CHOICE      words 2, 3 = the first pair's word and the number of pairs; value i is
//                    drawn where the random bits are below bound i (and not below bound
//                    i - 1): the f64 comparison of the uniform with the cumulative weight,
//                    made exact in integers
// A draw is the quantile of the uniform, rounded half away from zero for an integer
// parameter (DRAW_ROUND), times `scale` (the accelerator's value for a `times` input, else 1).

@group(0) @binding(4) var<storage, read> draw_words: array<u32>;

const DRAW_CONST: u32 = 0u;
const DRAW_UNIFORM: u32 = 1u;
const DRAW_TRIANGULAR: u32 = 2u;
const DRAW_NORMAL: u32 = 3u;
const DRAW_LOGNORMAL: u32 = 4u;
const DRAW_CHOICE: u32 = 5u;
const DRAW_ROUND: u32 = 256u;
// 2^23: the uniform has 23 random bits (src/uncertain.rs UNIFORM_BITS).
const UNIFORM_SCALE: f32 = 8388608.0;
// The standard normal CDF at -3.
const PHI_MINUS_3: f32 = 0.0013498980316300946;

// Chris Wellons' "lowbias32" integer hash (u32 arithmetic wraps, as in Rust's mix32).
fn mix32(x0: u32) -> u32 {
    var x = x0;
    x ^= x >> 16u;
    x *= 0x7feb352du;
    x ^= x >> 15u;
    x *= 0x846ca68bu;
    x ^= x >> 16u;
    return x;
}

// The random bits of draw k of a stream whose key (draw_key) is `key`: src/uncertain.rs
// draw_bits, mix32 applied to the seed's halves, the stream, then k.
fn keyed_bits(key: u32, k: u32) -> u32 {
    return mix32(k ^ key) >> 9u;
}

// (m + 0.5) / 2^23 and 1 minus it, both exact in f32.
fn uniform_of_bits(m: u32) -> f32 {
    return (f32(m) + 0.5) / UNIFORM_SCALE;
}

fn uniform_complement(m: u32) -> f32 {
    return (f32(8388608u - m) - 0.5) / UNIFORM_SCALE;
}

// The standard normal quantile at p, given p and 1 - p (each computed without cancellation,
// so both tails keep f32's relative precision): sqrt(2) erfinv(2p - 1) with Mike Giles'
// single-precision erfinv ("Approximating the erfinv function", GPU Computing Gems Jade
// Edition, 2011), where -ln(1 - x^2) = -ln(4 p (1 - p)). The host's Acklam approximation
// is not used here: its central rational function cancels in f32 near |p - 0.5| = 0.476
// (errors up to 4e-4 in z), while this one stays within 1e-6 of it over the generator's range.
fn normal_quantile(p: f32, pc: f32) -> f32 {
    var w = -log(4.0 * p * pc);
    var r: f32;
    if w < 5.0 {
        w = w - 2.5;
        r = 2.81022636e-08;
        r = 3.43273939e-07 + r * w;
        r = -3.5233877e-06 + r * w;
        r = -4.39150654e-06 + r * w;
        r = 0.00021858087 + r * w;
        r = -0.00125372503 + r * w;
        r = -0.00417768164 + r * w;
        r = 0.246640727 + r * w;
        r = 1.50140941 + r * w;
    } else {
        w = sqrt(w) - 3.0;
        r = -0.000200214257;
        r = 0.000100950558 + r * w;
        r = 0.00134934322 + r * w;
        r = -0.00367342844 + r * w;
        r = 0.00573950773 + r * w;
        r = -0.0076224613 + r * w;
        r = 0.00943887047 + r * w;
        r = 1.00167406 + r * w;
        r = 2.83297682 + r * w;
    }
    return 1.4142135623730951 * r * (p - pc);
}

fn draw_f(r: u32, i: u32) -> f32 {
    return bitcast<f32>(draw_words[r + i]);
}

// The hash of the record's stream under the seed: what keyed_bits hashes k with. The
// per-draw Monte Carlo kernel computes it once per configuration and drawn parameter; the
// draw table kernel once per table entry.
fn draw_key(r: u32) -> u32 {
    return mix32(draw_words[r + 1u] ^ mix32(draw_words[1] ^ mix32(draw_words[0])));
}

// The quantile of each kind at the random bits m (the record at word r).
fn quantile_uniform(r: u32, m: u32) -> f32 {
    return draw_f(r, 2u) + draw_f(r, 3u) * uniform_of_bits(m);
}

fn quantile_triangular(r: u32, m: u32) -> f32 {
    let u = uniform_of_bits(m);
    if u < draw_f(r, 6u) {
        return draw_f(r, 2u) + sqrt(u * draw_f(r, 4u));
    }
    return draw_f(r, 3u) - sqrt(uniform_complement(m) * draw_f(r, 5u));
}

fn quantile_normal(r: u32, m: u32) -> f32 {
    let w = 1.0 - 2.0 * PHI_MINUS_3;
    let z = normal_quantile(PHI_MINUS_3 + uniform_of_bits(m) * w, PHI_MINUS_3 + uniform_complement(m) * w);
    return draw_f(r, 2u) + draw_f(r, 3u) * z;
}

fn quantile_lognormal(r: u32, m: u32) -> f32 {
    return draw_f(r, 2u) * exp(draw_f(r, 3u) * normal_quantile(uniform_of_bits(m), uniform_complement(m)));
}

fn quantile_choice(r: u32, m: u32) -> f32 {
    let first = draw_words[r + 2u];
    let n = draw_words[r + 3u];
    for (var i = 0u; i + 1u < n; i++) {
        if m < draw_words[first + 2u * i] {
            return bitcast<f32>(draw_words[first + 2u * i + 1u]);
        }
    }
    return bitcast<f32>(draw_words[first + 2u * max(n, 1u) - 1u]);
}

// Rounded half away from zero, as Rust's f64::round.
fn round_away(x: f32) -> f32 {
    let t = trunc(x);
    return select(t, t + sign(x), abs(x - t) >= 0.5);
}

// Draw k of the record at word r whose stream key is `key`, of any kind: the draw table
// kernel (shaders/draw_table.wgsl) calls it for every entry; the per-draw Monte Carlo kernel
// calls it where a parameter's records have several drawn kinds, and calls its kind's
// quantile directly where they have one (see src/backend/gpu/draws.rs, DrawnParam::wgsl).
fn draw(r: u32, key: u32, k: u32) -> f32 {
    let kind = draw_words[r];
    let m = keyed_bits(key, k);
    var x = draw_f(r, 2u);
    switch kind & 255u {
        case DRAW_CONST: {
            return x;
        }
        case DRAW_UNIFORM: {
            x = quantile_uniform(r, m);
        }
        case DRAW_TRIANGULAR: {
            x = quantile_triangular(r, m);
        }
        case DRAW_NORMAL: {
            x = quantile_normal(r, m);
        }
        case DRAW_LOGNORMAL: {
            x = quantile_lognormal(r, m);
        }
        default: {
            x = quantile_choice(r, m);
        }
    }
    if (kind & DRAW_ROUND) != 0u {
        x = round_away(x);
    }
    return x * draw_f(r, 7u);
}
