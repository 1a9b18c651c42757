//! Rendering: everything the CLI prints or writes, one module per thing rendered. The sweep
//! summary and the `eval` configuration come in three formats ([`table`], [`json`], [`csv`])
//! over a [`Summary`](crate::summary::Summary) or a single
//! [`Reported`](crate::summary::Reported) configuration; the hardware catalog
//! ([`catalog`]), the backtests ([`backtest`]), the GPU adapters ([`adapters`]) and the
//! benchmarks ([`bench`](mod@bench)) each have their own module. Writing files and stdout is
//! [`crate::output`]'s.

pub mod adapters;
pub mod backtest;
pub mod bench;
pub mod catalog;
pub mod csv;
pub mod html;
pub mod json;
pub mod plots;
pub mod sensitivity;
pub mod table;
