//! The draws of uncertain inputs on the device: `shaders/draws.wgsl` (the generator of
//! `uncertain` and its quantile functions in f32) and the words it reads, built here from a
//! scenario: the seed, and per drawn parameter and accelerator one record with the
//! distribution's parameters (derived in f64, stored as f32), its stream, whether the
//! parameter is an integer (rounded per draw) and the `times` scale; a choice's values with
//! the integer bounds of the random bits that select them. Only these words are uploaded,
//! never draws: the draw table kernel (`shaders/draw_table.wgsl`, placed after
//! `draws.wgsl` by `montecarlo`) generates every draw once per sweep on the device and the
//! Monte Carlo kernel reads it from that table. Where the table would exceed the device's
//! largest storage binding (or `GpuOptions::mc_draw_table_bytes`), the Monte Carlo kernel
//! includes `draws.wgsl` and computes each draw where its tape has a `Draw` step (one per
//! drawn parameter, however many formulas read it): the parameter's own quantile, or the
//! generic `draw(record, key, k)` where its accelerators have several kinds
//! (`DrawnParam::wgsl`).

use crate::params::{Param, ParamKind};
use crate::scenario::Scenario;
use crate::uncertain::{cumulative, stream_id, uniform_of_bits, Distribution, UncertainInput};

/// The WGSL module (binding 4: the words).
pub(super) const DRAWS_WGSL: &str = include_str!("../../../shaders/draws.wgsl");
/// Words per record.
pub(super) const RECORD_WORDS: u32 = 8;

const DRAW_CONST: u32 = 0;
const DRAW_UNIFORM: u32 = 1;
const DRAW_TRIANGULAR: u32 = 2;
const DRAW_NORMAL: u32 = 3;
const DRAW_LOGNORMAL: u32 = 4;
const DRAW_CHOICE: u32 = 5;
const DRAW_ROUND: u32 = 256;
/// Standard normal quantile at 0.9 (as `uncertain` uses it for the lognormal's sigma).
const Z90: f64 = 1.281_551_565_544_600_5;

/// One record and, for a choice, its (bound, value bits) pairs.
#[derive(Clone, Debug)]
pub(super) struct Record {
    words: [u32; RECORD_WORDS as usize],
    choices: Vec<[u32; 2]>,
}

/// The record of `input` on an accelerator where the parameter would otherwise be `base`
/// (the value when not drawn, the scale of a `times` input).
pub(super) fn record(input: Option<&UncertainInput>, base: f64) -> Record {
    let f = |x: f64| (x as f32).to_bits();
    let constant = |x: f64| Record {
        words: [DRAW_CONST, 0, f(x), 0, 0, 0, 0, f(1.0)],
        choices: Vec::new(),
    };
    let Some(i) = input else {
        return constant(base);
    };
    let scale = if i.times { base } else { 1.0 };
    let (lo, hi) = i.dist.support();
    if lo == hi {
        // One value: the draw itself, exactly as the host computes it.
        return constant(i.draw(0, 0) * scale);
    }
    let (kind, p) = parameters(&i.dist);
    let choices = match i.dist {
        Distribution::Choice {
            ref values,
            ref weights,
        } => values
            .iter()
            .zip(cumulative(weights))
            .map(|(v, cum)| [bits_below(cum), f(*v)])
            .collect(),
        _ => Vec::new(),
    };
    let round = if i.param.kind() == ParamKind::Integer {
        DRAW_ROUND
    } else {
        0
    };
    let stream = stream_id(i.param, i.accelerator);
    Record {
        words: [
            kind | round,
            stream,
            f(p[0]),
            f(p[1]),
            f(p[2]),
            f(p[3]),
            f(p[4]),
            f(scale),
        ],
        choices,
    }
}

/// A distribution's kind and the parameters its record carries (in f64, stored as f32; a
/// choice's values are in its pairs instead).
pub(super) fn parameters(dist: &Distribution) -> (u32, [f64; 5]) {
    match *dist {
        Distribution::Uniform { lo, hi } => (DRAW_UNIFORM, [lo, hi - lo, 0.0, 0.0, 0.0]),
        Distribution::Triangular { lo, mode, hi } => {
            let w = hi - lo;
            (
                DRAW_TRIANGULAR,
                [lo, hi, w * (mode - lo), w * (hi - mode), (mode - lo) / w],
            )
        }
        Distribution::Normal { mean, sd } => (DRAW_NORMAL, [mean, sd, 0.0, 0.0, 0.0]),
        Distribution::LogNormal { median, p90 } => (
            DRAW_LOGNORMAL,
            [median, (p90 / median).ln() / Z90, 0.0, 0.0, 0.0],
        ),
        Distribution::Choice { .. } => (DRAW_CHOICE, [0.0; 5]),
    }
}

/// The number of random-bit values `m` whose uniform is below `cum`: the smallest `m` with
/// `uniform_of_bits(m) >= cum` (2^23 when there is none), so that `m < bound` on the device
/// is the f64 test `u < cum` of [`Distribution::quantile`].
fn bits_below(cum: f64) -> u32 {
    let (mut lo, mut hi) = (0u32, 1u32 << crate::uncertain::UNIFORM_BITS);
    while lo < hi {
        let mid = lo + (hi - lo) / 2;
        if uniform_of_bits(mid) < cum {
            lo = mid + 1;
        } else {
            hi = mid;
        }
    }
    lo
}

/// The words the device reads: the seed, the records, then the choices' pairs (each
/// choice record points at its own).
pub(super) fn layout(seed: u64, records: &[Record]) -> Vec<u32> {
    let mut words = vec![seed as u32, (seed >> 32) as u32];
    for r in records {
        words.extend(r.words);
    }
    for (j, r) in records.iter().enumerate() {
        if r.choices.is_empty() {
            continue;
        }
        let at = 2 + j * RECORD_WORDS as usize;
        words[at + 2] = words.len() as u32;
        words[at + 3] = r.choices.len() as u32;
        for c in &r.choices {
            words.extend(c);
        }
    }
    words
}

/// Where one parameter's records are and what they hold.
#[derive(Clone, Debug)]
pub(super) struct DrawnParam {
    pub param: Param,
    /// The word of its first record (its record on accelerator code `a` is
    /// `RECORD_WORDS * a` further).
    pub first: u32,
    /// Whether some accelerator's record is a constant.
    pub constant: bool,
    /// The drawn kinds among its records, each once.
    kinds: Vec<u32>,
}

impl DrawnParam {
    /// The WGSL of its draw for the record at `r` (a WGSL u32) with stream key `key` and
    /// draw index `k`: its kind's quantile where its records have one drawn kind (a
    /// constant record selects its value), else the generic `draw`.
    pub fn wgsl(&self, r: &str, key: &str, k: &str) -> String {
        let [kind] = self.kinds[..] else {
            return format!("draw({r}, {key}, {k})");
        };
        let name = match kind {
            DRAW_UNIFORM => "uniform",
            DRAW_TRIANGULAR => "triangular",
            DRAW_NORMAL => "normal",
            DRAW_LOGNORMAL => "lognormal",
            _ => "choice",
        };
        let mut x = format!("quantile_{name}({r}, keyed_bits({key}, {k}))");
        if self.param.kind() == ParamKind::Integer {
            x = format!("round_away({x})");
        }
        let x = format!("{x} * draw_f({r}, 7u)");
        if self.constant {
            format!("select({x}, draw_f({r}, 2u), draw_words[{r}] == {DRAW_CONST}u)")
        } else {
            x
        }
    }
}

/// The device's draws of `params` under `s`: the words, and where each parameter's records
/// are.
pub(super) fn device_draws(s: &Scenario, params: &[Param]) -> (Vec<u32>, Vec<DrawnParam>) {
    let seed = s.uncertainty.as_ref().map_or(0, |u| u.seed);
    let mut records = Vec::new();
    let mut drawn = Vec::new();
    for &p in params {
        let mut d = DrawnParam {
            param: p,
            first: 2 + RECORD_WORDS * records.len() as u32,
            constant: false,
            kinds: Vec::new(),
        };
        for (a, acc) in s.accelerators.iter().enumerate() {
            let r = record(s.input_for(p, a), acc.base(p));
            let kind = r.words[0] & !DRAW_ROUND;
            if kind == DRAW_CONST {
                d.constant = true;
            } else if !d.kinds.contains(&kind) {
                d.kinds.push(kind);
            }
            records.push(r);
        }
        drawn.push(d);
    }
    (layout(seed, &records), drawn)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::backend::gpu::chunks::ChunkParams;
    use crate::backend::gpu::pipelines::{bind, dispatch_dims};
    use crate::backend::gpu::{GpuBackend, GpuOptions, MAX_AXES};
    use crate::uncertain::{draw_bits, uniform};

    /// The largest difference between a device draw (f32) and the host's (f64), relative to
    /// the larger of the value's magnitude and the distribution's spread: the tolerance
    /// `docs/uncertainty.md` states.
    const TOLERANCE: f64 = 1e-6;

    /// Run `body` (WGSL with `i`, the invocation, below `n`) for `n` invocations, with
    /// `words` bound as the draw words when given, and read back `per` u32 per invocation
    /// from `rows`.
    fn run(g: &GpuBackend, body: &str, n: u64, per: u64, words: Option<&[u32]>) -> Vec<u32> {
        use wgpu::BufferUsages as U;
        let source = format!(
            "struct Chunk {{ n_cfg: u32, nwg_x: u32, pad0: u32, pad1: u32, base: array<vec4<u32>, 6> }}
@group(0) @binding(0) var<uniform> chunk: Chunk;
@group(0) @binding(2) var<storage, read_write> rows: array<u32>;
{DRAWS_WGSL}
@compute @workgroup_size(64)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) lid: u32) {{
    let i = (wid.y * chunk.nwg_x + wid.x) * 64u + lid;
    if i >= chunk.n_cfg {{
        return;
    }}
{body}
}}"
        );
        let d = &g.device;
        let module = d.create_shader_module(wgpu::ShaderModuleDescriptor {
            label: Some("draws test"),
            source: wgpu::ShaderSource::Wgsl(source.as_str().into()),
        });
        let pipeline = d.create_compute_pipeline(&wgpu::ComputePipelineDescriptor {
            label: Some("draws test"),
            layout: None,
            module: &module,
            entry_point: Some("main"),
            compilation_options: Default::default(),
            cache: None,
        });
        let chunk = g.buffer(
            "chunk",
            std::mem::size_of::<ChunkParams>() as u64,
            U::UNIFORM | U::COPY_DST,
        );
        let rows = g.buffer("rows", n * per * 4, U::STORAGE | U::COPY_SRC);
        let staging = g.buffer("staging", n * per * 4, U::MAP_READ | U::COPY_DST);
        let words_buf = words.map(|w| g.buffer_init("words", bytemuck::cast_slice(w), U::STORAGE));
        let mut entries = vec![bind(0, &chunk), bind(2, &rows)];
        if let Some(w) = &words_buf {
            entries.push(bind(4, w));
        }
        let bg = d.create_bind_group(&wgpu::BindGroupDescriptor {
            label: None,
            layout: &pipeline.get_bind_group_layout(0),
            entries: &entries,
        });
        let dims = dispatch_dims(n.div_ceil(64));
        let params = ChunkParams {
            n_outer: n as u32,
            nwg_x: dims.0,
            lo: 0,
            hi: 0,
            base: [0; MAX_AXES],
        };
        g.dispatch_rows(
            &pipeline,
            &bg,
            &chunk,
            &rows,
            &staging,
            &params,
            dims,
            n * per,
        )
        .expect("the test kernel runs")
    }

    #[test]
    fn the_device_generator_is_bit_identical_to_the_host() {
        let Some(g) = GpuBackend::for_tests(GpuOptions::default()) else {
            return;
        };
        // 32 streams (parameters, table-wide and per accelerator) under 4 seeds, 65,536
        // draw indices each, spread over the u32 range.
        let streams: Vec<UncertainInput> = Param::all()
            .filter(|p| p.kind() != ParamKind::Categorical)
            .take(8)
            .flat_map(|param| {
                [None, Some(0), Some(3), Some(200)].map(|accelerator| UncertainInput {
                    param,
                    dist: Distribution::Uniform { lo: 0.0, hi: 1.0 },
                    times: false,
                    accelerator,
                })
            })
            .collect();
        let records: Vec<Record> = streams.iter().map(|i| record(Some(i), 1.0)).collect();
        let n = 1u32 << 16;
        let body = format!(
            "    let r = 2u + (i % {}u) * {RECORD_WORDS}u;
    let k = i * 0x9e3779b9u + (i >> 5u);
    let m = keyed_bits(draw_key(r), k);
    rows[3u * i] = mix32(i);
    rows[3u * i + 1u] = m;
    rows[3u * i + 2u] = bitcast<u32>(uniform_of_bits(m));",
            streams.len()
        );
        for seed in [0, 2026, 0x0000_0007_dead_beef, u64::MAX] {
            let out = run(&g, &body, n as u64, 3, Some(&layout(seed, &records)));
            for i in 0..n {
                let input = &streams[i as usize % streams.len()];
                let stream = stream_id(input.param, input.accelerator);
                let k = i.wrapping_mul(0x9e37_79b9).wrapping_add(i >> 5);
                let row = &out[3 * i as usize..3 * i as usize + 3];
                assert_eq!(row[0], crate::uncertain::mix32(i), "mix32({i})");
                assert_eq!(row[1], draw_bits(seed, stream, k), "bits {seed} {i}");
                let u = uniform(seed, stream, k);
                assert_eq!(u as f32 as f64, u, "the uniform is exact in f32");
                assert_eq!(row[2], (u as f32).to_bits(), "uniform {seed} {i}");
            }
        }
    }

    #[test]
    fn device_draws_match_the_f64_quantiles() {
        let Some(g) = GpuBackend::for_tests(GpuOptions::default()) else {
            return;
        };
        let input = |param, dist, times| UncertainInput {
            param,
            dist,
            times,
            accelerator: None,
        };
        let cases = [
            (
                input(
                    Param::Utilization,
                    Distribution::Uniform { lo: 0.3, hi: 0.5 },
                    false,
                ),
                1.0,
            ),
            (
                input(
                    Param::GpuPriceUsd,
                    Distribution::Uniform {
                        lo: 20000.0,
                        hi: 35000.0,
                    },
                    false,
                ),
                1.0,
            ),
            (
                input(
                    Param::Utilization,
                    Distribution::Triangular {
                        lo: 0.3,
                        mode: 0.4,
                        hi: 0.5,
                    },
                    false,
                ),
                1.0,
            ),
            (
                input(
                    Param::DvfsExponent,
                    Distribution::Triangular {
                        lo: 1.0,
                        mode: 1.0,
                        hi: 3.0,
                    },
                    false,
                ),
                1.0,
            ),
            (
                input(
                    Param::HostW,
                    Distribution::Normal {
                        mean: 1500.0,
                        sd: 200.0,
                    },
                    false,
                ),
                1.0,
            ),
            (
                input(
                    Param::MtbfHours,
                    Distribution::LogNormal {
                        median: 50000.0,
                        p90: 100000.0,
                    },
                    false,
                ),
                1.0,
            ),
            (
                input(
                    Param::MtbfHours,
                    Distribution::LogNormal {
                        median: 1.0,
                        p90: 2.0,
                    },
                    true,
                ),
                80000.0,
            ),
            (
                input(
                    Param::GpuPriceUsd,
                    Distribution::Uniform { lo: 0.8, hi: 1.3 },
                    true,
                ),
                30000.0,
            ),
            (
                input(
                    Param::Pue,
                    Distribution::Choice {
                        values: vec![1.1, 1.2, 1.4],
                        weights: vec![1.0, 2.0, 1.0],
                    },
                    false,
                ),
                1.0,
            ),
            (
                input(
                    Param::GpuCount,
                    Distribution::Uniform {
                        lo: 1000.0,
                        hi: 2000.0,
                    },
                    false,
                ),
                1.0,
            ),
            (
                input(
                    Param::Utilization,
                    Distribution::Uniform { lo: 0.4, hi: 0.4 },
                    false,
                ),
                1.0,
            ),
        ];
        let seed = 0x0000_0007_dead_beef_u64;
        let draws = 20_000u32;
        let records: Vec<Record> = cases
            .iter()
            .map(|(i, base)| record(Some(i), *base))
            .collect();
        let words = layout(seed, &records);
        // Each draw twice: by the generic `draw` and by the code the kernel emits for a
        // parameter whose records have that one kind.
        let mut specialised = String::new();
        for (c, r) in records.iter().enumerate() {
            let kind = r.words[0] & !DRAW_ROUND;
            let d = DrawnParam {
                param: cases[c].0.param,
                first: 2 + c as u32 * RECORD_WORDS,
                constant: kind == DRAW_CONST,
                kinds: if kind == DRAW_CONST {
                    vec![]
                } else {
                    vec![kind]
                },
            };
            specialised += &format!(
                "        case {c}u: {{\n            x = {};\n        }}\n",
                d.wgsl("r", "key", "k")
            );
        }
        let out = run(
            &g,
            &format!(
                "    let r = 2u + (i / {draws}u) * {RECORD_WORDS}u;
    let k = i % {draws}u;
    let key = draw_key(r);
    rows[2u * i] = bitcast<u32>(draw(r, key, k));
    var x = 0.0;
    switch i / {draws}u {{
{specialised}        default: {{}}
    }}
    rows[2u * i + 1u] = bitcast<u32>(x);"
            ),
            (cases.len() as u32 * draws) as u64,
            2,
            Some(&words),
        );
        for (c, (i, base)) in cases.iter().enumerate() {
            let scale = if i.times { *base } else { 1.0 };
            let (lo, hi) = i.dist.support();
            let mut worst = 0.0f64;
            let mut straddles = 0u32;
            for k in 0..draws {
                let host = i.draw(seed, k) * scale;
                let at = 2 * (c * draws as usize + k as usize);
                let dev = f32::from_bits(out[at]) as f64;
                assert_eq!(
                    out[at],
                    out[at + 1],
                    "{:?} draw {k}: generic vs specialised",
                    i.dist
                );
                if i.param.kind() == ParamKind::Integer {
                    // Rounded: equal, except where the f32 and f64 values straddle a
                    // half (about 1e-4 of the draws here).
                    assert!((dev - host).abs() <= 1.0, "{:?} draw {k}", i.dist);
                    straddles += (dev != host) as u32;
                } else if matches!(i.dist, Distribution::Choice { .. }) || lo == hi {
                    assert_eq!(dev, host as f32 as f64, "{:?} draw {k}", i.dist);
                } else {
                    let err = (dev - host).abs() / host.abs().max((hi - lo) * scale);
                    worst = worst.max(err);
                }
            }
            eprintln!(
                "{:?}: worst relative error {worst:e}, {straddles} rounded differently",
                i.dist
            );
            assert!(straddles <= draws / 1000, "{:?}: {straddles}", i.dist);
            assert!(worst <= TOLERANCE, "{:?}: {worst:e}", i.dist);
        }
    }
}
