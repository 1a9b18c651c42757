//! Uncertain inputs (spec v2 "uncertain inputs"): the distributions a scenario's
//! `[uncertain]` and `[accelerators.ID.uncertain]` tables give, the counter-based generator
//! whose draw `k` of a parameter is the same on every backend and for every configuration
//! (common random numbers), each distribution's quantile function (a draw is the quantile
//! of a generated uniform), the objective's statistic and nearest-rank percentiles.
//! Parsing the tables into [`Uncertainty`] lives here too; `scenario` calls it.

use crate::input::{get, join_key, Doc, InputError, Table, Value};
use crate::params::{Param, ParamKind};
use toml::de::DeValue;

/// Draws per configuration when `samples` is not given.
pub const DEFAULT_SAMPLES: u32 = 1000;
/// Most draws per configuration.
pub const MAX_SAMPLES: u32 = 65_536;
/// Standard normal quantile at 0.9 (lognormal `[median, p90]`).
const Z90: f64 = 1.281_551_565_544_600_5;
/// Standard normal CDF at -3 (a normal is truncated to mean +/- 3 sd).
const PHI_MINUS_3: f64 = 0.001_349_898_031_630_094_6;

/// One distribution.
#[derive(Clone, Debug, PartialEq)]
pub enum Distribution {
    Uniform {
        lo: f64,
        hi: f64,
    },
    Triangular {
        lo: f64,
        mode: f64,
        hi: f64,
    },
    /// Truncated to mean +/- 3 sd.
    Normal {
        mean: f64,
        sd: f64,
    },
    /// Given by its median and 90th percentile.
    LogNormal {
        median: f64,
        p90: f64,
    },
    /// One of `values`, with probabilities `weights` (normalised; equal when not given).
    Choice {
        values: Vec<f64>,
        weights: Vec<f64>,
    },
}

impl Distribution {
    /// The value at cumulative probability `q` (0 < q < 1): a draw is `quantile(u)` of a
    /// generated uniform `u`, and p10/p50/p90 are `quantile(0.1)`... For a normal, of the
    /// truncated distribution.
    pub fn quantile(&self, q: f64) -> f64 {
        match *self {
            Distribution::Uniform { lo, hi } => lo + (hi - lo) * q,
            Distribution::Triangular { lo, mode, hi } => {
                let w = hi - lo;
                if w <= 0.0 {
                    return lo;
                }
                if q * w < mode - lo {
                    lo + (q * w * (mode - lo)).sqrt()
                } else {
                    hi - ((1.0 - q) * w * (hi - mode)).sqrt()
                }
            }
            Distribution::Normal { mean, sd } => {
                let p = PHI_MINUS_3 + q * (1.0 - 2.0 * PHI_MINUS_3);
                mean + sd * normal_quantile(p)
            }
            Distribution::LogNormal { median, p90 } => {
                let sigma = (p90 / median).ln() / Z90;
                median * (sigma * normal_quantile(q)).exp()
            }
            Distribution::Choice {
                ref values,
                ref weights,
            } => values
                .iter()
                .zip(cumulative(weights))
                .find(|&(_, cum)| q < cum)
                .map_or_else(|| *values.last().expect("a choice has values"), |(v, _)| *v),
        }
    }

    /// The median (the base value of sensitivity analysis).
    pub fn median(&self) -> f64 {
        self.quantile(0.5)
    }

    /// The smallest and largest value a draw can take.
    pub fn support(&self) -> (f64, f64) {
        match self {
            Distribution::Choice { values, .. } => (
                values.iter().copied().fold(f64::INFINITY, f64::min),
                values.iter().copied().fold(f64::NEG_INFINITY, f64::max),
            ),
            _ => (self.quantile(U_MIN), self.quantile(U_MAX)),
        }
    }

    /// The distribution as written in a scenario, e.g. `uniform = [0.3, 0.5]`.
    pub fn describe(&self) -> String {
        let list = |v: &[f64]| {
            v.iter()
                .map(|x| format!("{x}"))
                .collect::<Vec<_>>()
                .join(", ")
        };
        match self {
            Distribution::Uniform { lo, hi } => format!("uniform = [{}]", list(&[*lo, *hi])),
            Distribution::Triangular { lo, mode, hi } => {
                format!("triangular = [{}]", list(&[*lo, *mode, *hi]))
            }
            Distribution::Normal { mean, sd } => format!("normal = [{}]", list(&[*mean, *sd])),
            Distribution::LogNormal { median, p90 } => {
                format!("lognormal = [{}]", list(&[*median, *p90]))
            }
            Distribution::Choice { values, weights } => {
                format!("choice = [{}], weights = [{}]", list(values), list(weights))
            }
        }
    }
}

/// The cumulative probabilities of a choice's values (weights normalised), as its quantile
/// compares them: value `i` is drawn where the uniform is below entry `i` (and above the
/// entry before).
pub fn cumulative(weights: &[f64]) -> Vec<f64> {
    let total: f64 = weights.iter().sum();
    weights
        .iter()
        .scan(0.0, |cum, w| {
            *cum += w / total;
            Some(*cum)
        })
        .collect()
}

/// Random bits per uniform: 23, so that `m + 0.5` and `2^23 - m - 0.5` (the uniform and its
/// complement, scaled) are exact in f32 as well as f64.
pub const UNIFORM_BITS: u32 = 23;
/// `2^UNIFORM_BITS`.
pub const UNIFORM_SCALE: f64 = (1u32 << UNIFORM_BITS) as f64;
/// The smallest and largest uniform the generator gives.
const U_MIN: f64 = 0.5 / UNIFORM_SCALE;
const U_MAX: f64 = 1.0 - 0.5 / UNIFORM_SCALE;

/// The standard normal quantile (Acklam's rational approximation, relative error below
/// 1.2e-9), for 0 < p < 1.
pub fn normal_quantile(p: f64) -> f64 {
    const A: [f64; 6] = [
        -3.969_683_028_665_376e1,
        2.209_460_984_245_205e2,
        -2.759_285_104_469_687e2,
        1.383_577_518_672_69e2,
        -3.066_479_806_614_716e1,
        2.506_628_277_459_239,
    ];
    const B: [f64; 5] = [
        -5.447_609_879_822_406e1,
        1.615_858_368_580_409e2,
        -1.556_989_798_598_866e2,
        6.680_131_188_771_972e1,
        -1.328_068_155_288_572e1,
    ];
    const C: [f64; 6] = [
        -7.784_894_002_430_293e-3,
        -3.223_964_580_411_365e-1,
        -2.400_758_277_161_838,
        -2.549_732_539_343_734,
        4.374_664_141_464_968,
        2.938_163_982_698_783,
    ];
    const D: [f64; 4] = [
        7.784_695_709_041_462e-3,
        3.224_671_290_700_398e-1,
        2.445_134_137_142_996,
        3.754_408_661_907_416,
    ];
    const P_LOW: f64 = 0.024_25;
    let tail = |q: f64| {
        (((((C[0] * q + C[1]) * q + C[2]) * q + C[3]) * q + C[4]) * q + C[5])
            / ((((D[0] * q + D[1]) * q + D[2]) * q + D[3]) * q + 1.0)
    };
    if p < P_LOW {
        tail((-2.0 * p.ln()).sqrt())
    } else if p > 1.0 - P_LOW {
        -tail((-2.0 * (1.0 - p).ln()).sqrt())
    } else {
        let q = p - 0.5;
        let r = q * q;
        (((((A[0] * r + A[1]) * r + A[2]) * r + A[3]) * r + A[4]) * r + A[5]) * q
            / (((((B[0] * r + B[1]) * r + B[2]) * r + B[3]) * r + B[4]) * r + 1.0)
    }
}

/// A 32-bit integer hash with good avalanche (Chris Wellons' "lowbias32"); WGSL has the
/// same function, so the CPU and the GPU generate the same bits.
#[inline]
pub fn mix32(mut x: u32) -> u32 {
    x ^= x >> 16;
    x = x.wrapping_mul(0x7feb_352d);
    x ^= x >> 15;
    x = x.wrapping_mul(0x846c_a68b);
    x ^= x >> 16;
    x
}

/// The random bits of draw `k` of stream `stream` under `seed`: the top [`UNIFORM_BITS`]
/// of `mix32` applied in turn to the seed's low and high halves, the stream and `k`. The
/// device computes the same integers (`shaders/draws.wgsl`).
#[inline]
pub fn draw_bits(seed: u64, stream: u32, k: u32) -> u32 {
    mix32(k ^ mix32(stream ^ mix32((seed >> 32) as u32 ^ mix32(seed as u32))))
        >> (32 - UNIFORM_BITS)
}

/// The uniform of the random bits `m`: `(m + 0.5) / 2^23`, exact in f32 and f64, never 0
/// or 1.
#[inline]
pub fn uniform_of_bits(m: u32) -> f64 {
    (m as f64 + 0.5) / UNIFORM_SCALE
}

/// The uniform of draw `k` of stream `stream` under `seed`.
#[inline]
pub fn uniform(seed: u64, stream: u32, k: u32) -> f64 {
    uniform_of_bits(draw_bits(seed, stream, k))
}

/// The stream of a parameter's draws: table-wide, or for one accelerator (by code).
pub fn stream_id(param: Param, accelerator: Option<usize>) -> u32 {
    ((param.index() as u32) << 16) | accelerator.map_or(0, |a| a as u32 + 1)
}

/// One uncertain input.
#[derive(Clone, Debug, PartialEq)]
pub struct UncertainInput {
    pub param: Param,
    pub dist: Distribution,
    /// Draws are multiples of the value the parameter would otherwise have.
    pub times: bool,
    /// `None` for the table-wide `[uncertain]` (one draw shared by every accelerator), or
    /// the accelerator's code for `[accelerators.ID.uncertain]` (its own draws).
    pub accelerator: Option<usize>,
}

impl UncertainInput {
    /// Draw `k` (the distribution's value, before any `times` product).
    pub fn draw(&self, seed: u64, k: u32) -> f64 {
        let x = self
            .dist
            .quantile(uniform(seed, stream_id(self.param, self.accelerator), k));
        if self.param.kind() == ParamKind::Integer {
            crate::params::round_integer(x)
        } else {
            x
        }
    }

    /// The key it was written under, e.g. `uncertain.utilization`.
    pub fn key(&self, accelerators: &[crate::model::Accelerator]) -> String {
        match self.accelerator {
            None => format!("uncertain.{}", self.param.name()),
            Some(a) => format!(
                "accelerators.{}.uncertain.{}",
                accelerators[a].id,
                self.param.name()
            ),
        }
    }
}

/// The objective's statistic over a configuration's draws.
#[derive(Clone, Copy, Debug, PartialEq, Default)]
pub enum Statistic {
    #[default]
    Mean,
    /// Nearest-rank percentile, 0 < q < 100.
    Percentile(f64),
}

impl Statistic {
    pub fn from_name(s: &str) -> Option<Statistic> {
        if s == "mean" {
            return Some(Statistic::Mean);
        }
        let q: f64 = s.strip_prefix('p')?.parse().ok()?;
        (q > 0.0 && q < 100.0 && q.is_finite()).then_some(Statistic::Percentile(q))
    }

    pub fn name(&self) -> String {
        match self {
            Statistic::Mean => "mean".into(),
            Statistic::Percentile(q) => format!("p{q}"),
        }
    }
}

/// The rank (0-based) of nearest-rank percentile `q` among `n` sorted values:
/// `ceil(q / 100 * n) - 1`, at least 0.
pub fn nearest_rank(q: f64, n: usize) -> usize {
    ((q / 100.0 * n as f64).ceil() as usize).clamp(1, n.max(1)) - 1
}

/// Nearest-rank percentile `q` of `values` (reordered); NaN when empty.
pub fn percentile(values: &mut [f64], q: f64) -> f64 {
    if values.is_empty() {
        return f64::NAN;
    }
    let r = nearest_rank(q, values.len());
    *values.select_nth_unstable_by(r, f64::total_cmp).1
}

/// A scenario's uncertainty: its inputs and draws.
#[derive(Clone, Debug, PartialEq)]
pub struct Uncertainty {
    pub samples: u32,
    pub seed: u64,
    pub inputs: Vec<UncertainInput>,
}

impl Uncertainty {
    /// The inputs that act on parameter `p`.
    pub fn inputs_of(&self, p: Param) -> impl Iterator<Item = &UncertainInput> {
        self.inputs.iter().filter(move |i| i.param == p)
    }

    /// Whether `p` is drawn (for some accelerator or all).
    pub fn draws(&self, p: Param) -> bool {
        self.inputs_of(p).next().is_some()
    }
}

/// One input as parsed: the parameter, its distribution, whether it is a `times` multiple,
/// and where its key is.
pub type ParsedInput = (Param, Distribution, bool, std::ops::Range<usize>);

const DISTRIBUTIONS: [&str; 5] = ["uniform", "triangular", "normal", "lognormal", "choice"];

/// Parse the top-level `[uncertain]` table's `samples`, `seed` and inputs.
pub fn parse_table(
    doc: &Doc<'_>,
    v: &Value<'_>,
) -> Result<(u32, u64, Vec<ParsedInput>), InputError> {
    let t = doc.table(v, "uncertain")?;
    let mut samples = DEFAULT_SAMPLES;
    let mut seed = 0u64;
    if let Some(sv) = get(t, "samples") {
        let n = doc.number(sv, "uncertain.samples")?;
        if !(sv.get_ref().is_integer() && n >= 1.0 && n <= MAX_SAMPLES as f64) {
            return Err(doc.error(
                sv.span(),
                "uncertain.samples",
                format!("must be a whole number from 1 to {MAX_SAMPLES}, got {n}"),
            ));
        }
        samples = n as u32;
    }
    if let Some(sv) = get(t, "seed") {
        let n = doc.number(sv, "uncertain.seed")?;
        if !(sv.get_ref().is_integer() && n >= 0.0) {
            return Err(doc.error(
                sv.span(),
                "uncertain.seed",
                format!("must be a whole number >= 0, got {n}"),
            ));
        }
        seed = match sv.get_ref() {
            DeValue::Integer(i) => i.as_str().parse::<u64>().unwrap_or(n as u64),
            _ => n as u64,
        };
    }
    let inputs = parse_inputs(doc, t, "uncertain", &["samples", "seed"])?;
    Ok((samples, seed, inputs))
}

/// Parse the inputs of an uncertain table (`prefix` is its key), skipping `skip` keys.
pub fn parse_inputs(
    doc: &Doc<'_>,
    t: &Table<'_>,
    prefix: &str,
    skip: &[&str],
) -> Result<Vec<ParsedInput>, InputError> {
    let mut out = Vec::new();
    for (k, dv) in t.iter() {
        let name = k.get_ref().as_ref();
        if skip.contains(&name) {
            continue;
        }
        let key = join_key(prefix, name);
        let param = Param::from_name(name)
            .filter(|p| p.kind() != ParamKind::Categorical)
            .ok_or_else(|| {
                doc.error(
                    k.span(),
                    &key,
                    format!(
                        "not an uncertain input; expected a numeric parameter ({}){}",
                        Param::all()
                            .filter(|p| p.kind() != ParamKind::Categorical)
                            .map(Param::name)
                            .collect::<Vec<_>>()
                            .join(", "),
                        if skip.is_empty() {
                            String::new()
                        } else {
                            format!(" or {}", skip.join(", "))
                        }
                    ),
                )
            })?;
        let table = doc.table(dv, &key)?;
        let (dist, times) = match get(table, "times") {
            Some(inner) => {
                doc.only_keys(table, &key, &["times"])?;
                if param.kind() != ParamKind::Real {
                    return Err(doc.error(
                        dv.span(),
                        &key,
                        format!(
                            "`times` takes a multiple of a numeric value; `{}` is a whole number of accelerators",
                            param.name()
                        ),
                    ));
                }
                let tkey = join_key(&key, "times");
                let it = doc.table(inner, &tkey)?;
                let d = parse_distribution(doc, inner, it, &tkey)?;
                let (lo, _) = d.support();
                if lo < 0.0 {
                    return Err(doc.error(
                        inner.span(),
                        &tkey,
                        format!("a multiplier must be >= 0; this distribution reaches {lo}"),
                    ));
                }
                (d, true)
            }
            None => (parse_distribution(doc, dv, table, &key)?, false),
        };
        out.push((param, dist, times, k.span()));
    }
    Ok(out)
}

/// One distribution table, e.g. `{ uniform = [0.3, 0.5] }`.
fn parse_distribution(
    doc: &Doc<'_>,
    v: &Value<'_>,
    t: &Table<'_>,
    key: &str,
) -> Result<Distribution, InputError> {
    let mut allowed: Vec<&str> = DISTRIBUTIONS.to_vec();
    allowed.push("weights");
    allowed.push("times");
    doc.only_keys(t, key, &allowed)?;
    let given: Vec<&str> = DISTRIBUTIONS
        .iter()
        .copied()
        .filter(|d| get(t, d).is_some())
        .collect();
    let [name] = given[..] else {
        return Err(doc.error(
            v.span(),
            key,
            format!(
                "give exactly one distribution ({}), or `times = {{ ... }}`; found {}",
                DISTRIBUTIONS.join(", "),
                if given.is_empty() {
                    "none".to_string()
                } else {
                    given.join(", ")
                }
            ),
        ));
    };
    let dkey = join_key(key, name);
    let lv = get(t, name).expect("found above");
    let list = numbers(doc, lv, &dkey)?;
    let want = |n: usize, what: &str| -> Result<(), InputError> {
        if list.len() != n {
            return Err(doc.error(
                lv.span(),
                &dkey,
                format!("expected {n} numbers [{what}], got {}", list.len()),
            ));
        }
        Ok(())
    };
    let bad = |reason: String| Err(doc.error(lv.span(), &dkey, reason));
    if name != "choice" && get(t, "weights").is_some() {
        return bad("`weights` go with `choice` only".into());
    }
    match name {
        "uniform" => {
            want(2, "lo, hi")?;
            if list[0] > list[1] {
                return bad(format!("lo > hi ({} > {})", list[0], list[1]));
            }
            Ok(Distribution::Uniform {
                lo: list[0],
                hi: list[1],
            })
        }
        "triangular" => {
            want(3, "lo, mode, hi")?;
            if !(list[0] <= list[1] && list[1] <= list[2]) {
                return bad(format!(
                    "needs lo <= mode <= hi, got [{}, {}, {}]",
                    list[0], list[1], list[2]
                ));
            }
            Ok(Distribution::Triangular {
                lo: list[0],
                mode: list[1],
                hi: list[2],
            })
        }
        "normal" => {
            want(2, "mean, sd")?;
            if list[1] < 0.0 {
                return bad(format!("sd must be >= 0, got {}", list[1]));
            }
            Ok(Distribution::Normal {
                mean: list[0],
                sd: list[1],
            })
        }
        "lognormal" => {
            want(2, "median, p90")?;
            if list[0] <= 0.0 {
                return bad(format!("the median must be > 0, got {}", list[0]));
            }
            if list[1] < list[0] {
                return bad(format!(
                    "the p90 is below the median ({} < {})",
                    list[1], list[0]
                ));
            }
            Ok(Distribution::LogNormal {
                median: list[0],
                p90: list[1],
            })
        }
        _ => {
            if list.is_empty() {
                return bad("a choice needs at least one value".into());
            }
            let weights = match get(t, "weights") {
                None => vec![1.0; list.len()],
                Some(wv) => {
                    let wkey = join_key(key, "weights");
                    let w = numbers(doc, wv, &wkey)?;
                    if w.len() != list.len() {
                        return Err(doc.error(
                            wv.span(),
                            &wkey,
                            format!(
                                "{} weights for {} values; give one weight per value",
                                w.len(),
                                list.len()
                            ),
                        ));
                    }
                    if w.iter().any(|x| *x < 0.0) || w.iter().sum::<f64>() <= 0.0 {
                        return Err(doc.error(
                            wv.span(),
                            &wkey,
                            "weights must be >= 0 with a positive sum",
                        ));
                    }
                    w
                }
            };
            Ok(Distribution::Choice {
                values: list,
                weights,
            })
        }
    }
}

/// A list of finite numbers.
fn numbers(doc: &Doc<'_>, v: &Value<'_>, key: &str) -> Result<Vec<f64>, InputError> {
    let DeValue::Array(items) = v.get_ref() else {
        return Err(doc.error(
            v.span(),
            key,
            format!(
                "expected a list of numbers, found {}",
                v.get_ref().type_str()
            ),
        ));
    };
    items
        .iter()
        .enumerate()
        .map(|(i, item)| {
            let k = format!("{key}[{i}]");
            let x = doc.number(item, &k)?;
            if !x.is_finite() {
                return Err(doc.error(item.span(), &k, format!("must be finite, got {x}")));
            }
            Ok(x)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_normal_quantile_matches_known_values() {
        for (p, z) in [
            (0.5, 0.0),
            (0.9, Z90),
            (0.975, 1.959_963_984_540_054),
            (0.001, -3.090_232_306_167_813_6),
            (1e-7, -5.199_337_582_192_816),
        ] {
            assert!(
                (normal_quantile(p) - z).abs() < 1e-8 * z.abs().max(1.0),
                "{p}"
            );
        }
        assert!((normal_quantile(PHI_MINUS_3) + 3.0).abs() < 1e-8);
    }

    #[test]
    fn quantiles_of_each_distribution() {
        let u = Distribution::Uniform { lo: 2.0, hi: 4.0 };
        assert_eq!(u.quantile(0.1), 2.2);
        let t = Distribution::Triangular {
            lo: 0.0,
            mode: 1.0,
            hi: 2.0,
        };
        assert_eq!(t.median(), 1.0);
        assert!((t.quantile(0.125) - 0.5).abs() < 1e-15);
        let l = Distribution::LogNormal {
            median: 50.0,
            p90: 100.0,
        };
        assert!((l.quantile(0.9) - 100.0).abs() < 1e-6);
        assert!((l.median() - 50.0).abs() < 1e-9);
        let n = Distribution::Normal { mean: 1.0, sd: 0.5 };
        assert_eq!(n.median(), 1.0);
        let (lo, hi) = n.support();
        assert!(
            lo >= 1.0 - 1.5 - 1e-6 && hi <= 1.0 + 1.5 + 1e-6,
            "{lo} {hi}"
        );
        let c = Distribution::Choice {
            values: vec![1.0, 2.0, 3.0],
            weights: vec![1.0, 2.0, 1.0],
        };
        assert_eq!(c.quantile(0.2), 1.0);
        assert_eq!(c.quantile(0.5), 2.0);
        assert_eq!(c.quantile(0.8), 3.0);
    }

    #[test]
    fn the_generator_is_uniform_and_streams_differ() {
        let n = 100_000;
        let draws: Vec<f64> = (0..n).map(|k| uniform(7, 3, k)).collect();
        let mean = draws.iter().sum::<f64>() / n as f64;
        assert!((mean - 0.5).abs() < 0.005, "{mean}");
        let below = draws.iter().filter(|&&u| u < 0.1).count() as f64 / n as f64;
        assert!((below - 0.1).abs() < 0.005, "{below}");
        assert!(draws.iter().all(|&u| u > 0.0 && u < 1.0));
        let other: Vec<f64> = (0..n).map(|k| uniform(7, 4, k)).collect();
        let corr = draws
            .iter()
            .zip(&other)
            .map(|(a, b)| (a - 0.5) * (b - 0.5))
            .sum::<f64>()
            / n as f64
            * 12.0;
        assert!(corr.abs() < 0.02, "{corr}");
        assert_ne!(uniform(8, 3, 0), uniform(7, 3, 0));
    }

    #[test]
    fn nearest_rank_percentiles() {
        let mut v: Vec<f64> = (1..=10).map(f64::from).rev().collect();
        assert_eq!(percentile(&mut v, 10.0), 1.0);
        assert_eq!(percentile(&mut v, 50.0), 5.0);
        assert_eq!(percentile(&mut v, 55.0), 6.0);
        assert_eq!(percentile(&mut v, 99.0), 10.0);
        assert!(percentile(&mut [], 50.0).is_nan());
        assert_eq!(
            Statistic::from_name("p10"),
            Some(Statistic::Percentile(10.0))
        );
        assert_eq!(Statistic::from_name("p100"), None);
        assert_eq!(Statistic::from_name("mean"), Some(Statistic::Mean));
    }
}
