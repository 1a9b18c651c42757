// Shared by every kernel: the order-preserving key of an f32. The layout of partial rows
// (NM, ROW, R_MIN, R_MAX, R_SUM) is generated from the metric table by
// src/backend/gpu/emit.rs and placed before this file.

const F32_MAX: f32 = 3.4028235e38;

// A u32 that orders like the f32 it encodes (never 0 for a non-NaN value).
fn ordered_key(x: f32) -> u32 {
    let b = bitcast<u32>(x);
    return select(b | 0x80000000u, ~b, (b & 0x80000000u) != 0u);
}
