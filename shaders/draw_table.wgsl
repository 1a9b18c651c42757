// The draw table of a Monte Carlo sweep, generated on the device once per sweep: entry
// `rec * SAMPLES + k` is draw k of record rec (a drawn parameter on one accelerator, in the
// order of shaders/draws.wgsl's words), computed by `draw` of shaders/draws.wgsl, which is
// placed before this file with the constants SAMPLES and RECORDS. Common random numbers
// make draw k the same for every configuration, so the Monte Carlo kernel reads it from
// here (binding 5) instead of generating it once per configuration
// (src/backend/gpu/montecarlo.rs).

@group(0) @binding(5) var<storage, read_write> draw_table: array<f32>;

@compute @workgroup_size(64)
fn draw_table_main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
    let i = (wid.y * nwg.x + wid.x) * 64u + lid;
    if i >= RECORDS * SAMPLES {
        return;
    }
    let r = 2u + (i / SAMPLES) * RECORD_WORDS;
    draw_table[i] = draw(r, draw_key(r), i % SAMPLES);
}
