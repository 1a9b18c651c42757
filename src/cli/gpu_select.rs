//! The GPU-choice flags `sweep`, `sensitivity` and `bench` share (`--adapter`,
//! `--adapter-index`, `--require-device`) and their checks against `--backend`. A headless
//! runner with several identical GPUs picks one by number; a CI job that must run on a GPU
//! says so and fails (exit 3) rather than quietly running on the CPU.

use super::CliError;
use clap::ValueEnum;
use clustersweep::backend::gpu::{AdapterChoice, DeviceRequirement};

/// `--require-device`: the device type the run must use.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub(super) enum RequireDevice {
    /// A discrete GPU.
    Discrete,
    /// An integrated GPU.
    Integrated,
    /// Any adapter wgpu offers, CPU-type ones (llvmpipe) included; still never the CPU
    /// backend.
    Any,
}

impl From<RequireDevice> for DeviceRequirement {
    fn from(r: RequireDevice) -> DeviceRequirement {
        match r {
            RequireDevice::Discrete => DeviceRequirement::Discrete,
            RequireDevice::Integrated => DeviceRequirement::Integrated,
            RequireDevice::Any => DeviceRequirement::Any,
        }
    }
}

/// Which GPU adapter to use, as parsed.
#[derive(clap::Args, Debug, Clone, Default)]
pub(super) struct GpuSelectArgs {
    /// GPU adapter whose name contains this text (see `clustersweep adapters`).
    #[arg(long, value_name = "SUBSTRING")]
    pub adapter: Option<String>,
    /// The adapter numbered N in `clustersweep adapters` (identical GPUs share a name).
    #[arg(long, value_name = "N")]
    pub adapter_index: Option<usize>,
    /// Fail (exit 3) unless a GPU adapter of this type runs the work: discrete,
    /// integrated, or any (llvmpipe included); the CPU backend never stands in.
    #[arg(long, value_enum, value_name = "TYPE")]
    pub require_device: Option<RequireDevice>,
}

impl GpuSelectArgs {
    /// The adapter choice; `cpu_only`: `--backend cpu` was given, with which
    /// `--require-device` cannot be met (exit 2, naming both flags).
    pub fn choice(&self, cpu_only: bool) -> Result<AdapterChoice, CliError> {
        if cpu_only {
            if let Some(r) = self.require_device {
                let r: DeviceRequirement = r.into();
                return Err(CliError::input(format!(
                    "--require-device {}: --backend cpu runs no GPU; drop one of them",
                    r.name()
                )));
            }
        }
        Ok(AdapterChoice {
            name: self.adapter.clone(),
            index: self.adapter_index,
            require: self.require_device.map(Into::into),
        })
    }
}
