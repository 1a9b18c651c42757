//! Rendering: everything the CLI prints or writes, one module per thing rendered. The sweep
//! summary ([`Summary`](crate::summary::Summary)) comes in four formats ([`table`],
//! [`json`], [`csv`], [`markdown`]) and the `eval` configuration
//! ([`Reported`](crate::summary::Reported)) in four too; `report.html` ([`html`]) with its
//! plots ([`plots`], and [`uncertainty_plots`] for the tornado and the draws); the hardware catalog
//! ([`catalog`]), the backtests ([`backtest`]), the GPU adapters ([`adapters`]) and the
//! benchmarks ([`bench`](mod@bench)) each have their own module. Writing files and stdout is
//! [`crate::output`]'s.

pub mod adapters;
pub mod backtest;
pub mod bench;
pub mod bench_collect;
pub mod catalog;
pub mod csv;
pub mod html;
pub mod json;
pub mod markdown;
pub mod plots;
pub mod sensitivity;
pub mod table;
pub mod uncertainty_plots;
