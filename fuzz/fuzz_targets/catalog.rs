//! Fuzz target: catalog text (any bytes) through the catalog parser, and a parsed catalog
//! under the built-in default scenario. A clean error or a catalog; never a panic or a hang.
#![no_main]

use clustersweep::catalog::Catalog;
use clustersweep::scenario::Scenario;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    if let Ok(catalog) = Catalog::parse("fuzz-catalog.toml", text) {
        let _ = Scenario::builtin_default(&catalog);
    }
});
