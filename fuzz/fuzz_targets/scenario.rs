//! Fuzz target: scenario text (any bytes) through the parser and the planner. Whatever
//! comes in gives a plan or a clean error; a panic, a hang or runaway memory is a finding.
#![no_main]

use clustersweep::catalog::Catalog;
use clustersweep::plan::SweepPlan;
use clustersweep::scenario::Scenario;
use libfuzzer_sys::fuzz_target;
use std::sync::OnceLock;

fuzz_target!(|data: &[u8]| {
    static CATALOG: OnceLock<Catalog> = OnceLock::new();
    let catalog = CATALOG.get_or_init(|| Catalog::builtin().expect("built-in catalog"));
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    if let Ok(s) = Scenario::parse("fuzz.toml", text, catalog) {
        if let Ok(plan) = SweepPlan::new(s, None) {
            let _ = plan.with_heatmap(None);
        }
    }
});
