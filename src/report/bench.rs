//! The benchmark output (`clustersweep bench` and `bench compare`): the table of one
//! `clustersweep.bench/1` document, and documents side by side with configurations/s
//! ratios against the first.

use crate::bench::BenchReport;

fn opt(x: Option<f64>, f: impl Fn(f64) -> String) -> String {
    x.map_or_else(|| "-".into(), f)
}

fn truncate(s: &str, n: usize) -> String {
    if s.chars().count() <= n {
        s.to_string()
    } else {
        s.chars().take(n - 1).collect::<String>() + "…"
    }
}

/// The results as a table for people.
pub fn table(r: &BenchReport) -> String {
    let mut o = format!(
        "host: {} ({} threads); clustersweep {} ({}), wgpu {}; median of {}; {} ops/configuration\n",
        r.host.cpu,
        r.host.threads,
        r.clustersweep_version,
        r.git_commit,
        r.wgpu_version,
        r.repeats,
        r.ops_per_config
    );
    o.push_str(&format!(
        "{:<5} {:<44} {:>14} {:>14} {:>10} {:>11} {:>10} {:>7}\n",
        "kind", "adapter", "configs", "configs/s", "wall_s", "kernel_s", "GFLOP/s", "peak"
    ));
    for x in &r.results {
        o.push_str(&format!(
            "{:<5} {:<44} {:>14} {:>14.4e} {:>10.4} {:>11} {:>10} {:>7}\n",
            x.backend.kind,
            truncate(&x.backend.name, 44),
            x.configs,
            x.configs_per_s,
            x.wall_s,
            opt(x.kernel_s, |v| format!("{v:.4}")),
            opt(x.gflops, |v| format!("{v:.1}")),
            opt(x.peak_fraction, |v| format!("{:.1}%", v * 100.0)),
        ));
    }
    o
}

/// Side-by-side comparison of bench documents: every result's configurations/s, with the
/// ratio against the first document's result of the same kind (cpu or gpu).
pub fn compare(reports: &[(String, BenchReport)]) -> String {
    let mut o = String::new();
    let Some((_, first)) = reports.first() else {
        return o;
    };
    o.push_str(&format!(
        "{:<28} {:<5} {:<44} {:>14} {:>9} {:>10}\n",
        "file", "kind", "adapter", "configs/s", "ratio", "GFLOP/s"
    ));
    for (file, r) in reports {
        for x in &r.results {
            let base = first
                .results
                .iter()
                .find(|b| b.backend.kind == x.backend.kind && b.backend.name == x.backend.name)
                .or_else(|| {
                    first
                        .results
                        .iter()
                        .find(|b| b.backend.kind == x.backend.kind)
                });
            let ratio = base.map(|b| x.configs_per_s / b.configs_per_s);
            o.push_str(&format!(
                "{:<28} {:<5} {:<44} {:>14.4e} {:>9} {:>10}\n",
                truncate(file, 28),
                x.backend.kind,
                truncate(&x.backend.name, 44),
                x.configs_per_s,
                opt(ratio, |v| format!("{v:.2}x")),
                opt(x.gflops, |v| format!("{v:.1}")),
            ));
        }
        o.push_str(&format!(
            "{:<28} host {} ({} threads), commit {}, {}\n",
            "", r.host.cpu, r.host.threads, r.git_commit, r.date
        ));
    }
    o
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::backend::BackendInfo;
    use crate::bench::{report, BenchResult};

    #[test]
    fn compare_gives_ratios_against_the_first_file() {
        let mk = |rate: f64| BenchResult {
            backend: BackendInfo {
                kind: "cpu".into(),
                name: "x".into(),
                api: None,
                device_type: None,
                driver: None,
            },
            configs: 10,
            configs_per_s: rate,
            wall_s: 1.0,
            kernel_s: None,
            gflops: None,
            peak_fraction: None,
        };
        let a = report(vec![mk(100.0)], 5);
        let b = report(vec![mk(250.0)], 5);
        let out = compare(&[("a.json".into(), a), ("b.json".into(), b)]);
        assert!(out.contains("1.00x") && out.contains("2.50x"), "{out}");
    }
}
