//! Fuzz target: a shard's partial result (`clustersweep.partial/1`, any bytes) through the
//! reader, the plan it records, and a merge with itself. A clean error or a merged result;
//! never a panic, a hang or runaway memory.
#![no_main]

use clustersweep::shard::{merge, Partial};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    if let Ok(p) = Partial::parse("fuzz.json", text) {
        if p.plan("fuzz.json").is_ok() {
            let _ = merge(&[("fuzz.json".to_string(), p)]);
        }
    }
});
