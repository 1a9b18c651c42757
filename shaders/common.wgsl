// Shared by every kernel: the layout of per-workgroup partial rows and the order-preserving
// key of an f32. Composed by string concatenation on the host (src/backend/gpu.rs).

// Metrics per configuration (model::METRIC_COUNT).
const NM: u32 = 20u;
// Partial row: [invalid, feasible, min x NM, max x NM, sum x NM], padded.
const ROW: u32 = 64u;
const R_MIN: u32 = 2u;
const R_MAX: u32 = 22u;
const R_SUM: u32 = 42u;
const F32_MAX: f32 = 3.4028235e38;

// A u32 that orders like the f32 it encodes (never 0 for a non-NaN value).
fn ordered_key(x: f32) -> u32 {
    let b = bitcast<u32>(x);
    return select(b | 0x80000000u, ~b, (b & 0x80000000u) != 0u);
}
