//! Finding GPU adapters: the wgpu instance, every adapter it sees (numbered in the order
//! wgpu enumerates them), a summary of each for `clustersweep adapters`, and picking one by
//! number, name, environment or device type ([`AdapterChoice`]).

use super::GpuError;

/// A description of one adapter (for `clustersweep adapters`): its number, what wgpu
/// reports of it (the same description a bench document records), and the limits that
/// size a sweep.
#[derive(Clone, Debug, serde::Serialize)]
pub struct AdapterSummary {
    /// Its number in [`adapters`]' order (`--adapter-index`).
    pub index: usize,
    #[serde(flatten)]
    pub adapter: crate::machine::AdapterDescription,
    #[serde(flatten)]
    pub limits: AdapterLimits,
}

/// The limits of an adapter that size a sweep (bytes, workgroups, invocations).
#[derive(Clone, Debug, serde::Serialize)]
pub struct AdapterLimits {
    pub max_buffer_size: u64,
    pub max_storage_buffer_binding_size: u64,
    pub max_compute_workgroups_per_dimension: u32,
    pub max_compute_invocations_per_workgroup: u32,
    pub max_compute_workgroup_storage_size: u32,
}

/// A wgpu instance honouring `WGPU_BACKEND` and the other wgpu environment variables.
pub fn instance() -> wgpu::Instance {
    wgpu::Instance::new(wgpu::InstanceDescriptor::new_without_display_handle_from_env())
}

/// Every adapter wgpu finds (respecting `WGPU_BACKEND`).
pub fn adapters() -> Vec<wgpu::Adapter> {
    let inst = instance();
    let backends = wgpu::Backends::from_env().unwrap_or(wgpu::Backends::all());
    pollster::block_on(inst.enumerate_adapters(backends))
}

/// Describe the adapter numbered `index` in [`adapters`]' order.
pub fn summarize(index: usize, a: &wgpu::Adapter) -> AdapterSummary {
    let l = a.limits();
    AdapterSummary {
        index,
        adapter: crate::machine::AdapterDescription::from_wgpu(&a.get_info()),
        limits: AdapterLimits {
            max_buffer_size: l.max_buffer_size,
            max_storage_buffer_binding_size: l.max_storage_buffer_binding_size,
            max_compute_workgroups_per_dimension: l.max_compute_workgroups_per_dimension,
            max_compute_invocations_per_workgroup: l.max_compute_invocations_per_workgroup,
            max_compute_workgroup_storage_size: l.max_compute_workgroup_storage_size,
        },
    }
}

fn type_rank(t: wgpu::DeviceType) -> u8 {
    match t {
        wgpu::DeviceType::DiscreteGpu => 0,
        wgpu::DeviceType::IntegratedGpu => 1,
        wgpu::DeviceType::VirtualGpu => 2,
        wgpu::DeviceType::Other => 3,
        wgpu::DeviceType::Cpu => 4,
    }
}

/// The device type `--require-device` asks for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DeviceRequirement {
    /// A discrete GPU (`wgpu::DeviceType::DiscreteGpu`).
    Discrete,
    /// An integrated GPU (`wgpu::DeviceType::IntegratedGpu`).
    Integrated,
    /// Any adapter wgpu offers, CPU-type ones (llvmpipe) included.
    Any,
}

impl DeviceRequirement {
    /// The requirement as written on the command line.
    pub fn name(self) -> &'static str {
        match self {
            DeviceRequirement::Discrete => "discrete",
            DeviceRequirement::Integrated => "integrated",
            DeviceRequirement::Any => "any",
        }
    }

    /// Whether an adapter of this type meets the requirement.
    pub fn accepts(self, t: wgpu::DeviceType) -> bool {
        match self {
            DeviceRequirement::Discrete => t == wgpu::DeviceType::DiscreteGpu,
            DeviceRequirement::Integrated => t == wgpu::DeviceType::IntegratedGpu,
            DeviceRequirement::Any => true,
        }
    }
}

/// Which adapter to use: by its number in [`adapters`]' order (`--adapter-index`), by a
/// name substring (`--adapter`, else `WGPU_ADAPTER_NAME`), and of which device type
/// (`--require-device`). With none given, the best real GPU.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct AdapterChoice {
    pub name: Option<String>,
    pub index: Option<usize>,
    pub require: Option<DeviceRequirement>,
}

impl AdapterChoice {
    /// Choose by name substring only (what `--adapter` alone asks).
    pub fn named(name: Option<&str>) -> AdapterChoice {
        AdapterChoice {
            name: name.map(str::to_string),
            ..AdapterChoice::default()
        }
    }

    /// Whether the user named an adapter or a device type (then a CPU-type adapter may be
    /// used and no GPU is not quietly replaced by the CPU backend).
    pub fn is_explicit(&self) -> bool {
        self.name.is_some() || self.index.is_some() || self.require.is_some()
    }

    /// The adapters of `list` (numbered in `list` order) this choice accepts, best device
    /// type first; an error says why none is. `allow_cpu`: CPU-type adapters may be picked
    /// even when nothing explicit asks for one.
    pub fn filter(
        &self,
        list: Vec<wgpu::Adapter>,
        allow_cpu: bool,
    ) -> Result<Vec<(usize, wgpu::Adapter)>, GpuError> {
        let described: Vec<String> = list
            .iter()
            .enumerate()
            .map(|(i, a)| {
                let info = a.get_info();
                format!("{i}: {} ({:?})", info.name, info.device_type)
            })
            .collect();
        let known = || {
            if described.is_empty() {
                "none".to_string()
            } else {
                described.join(", ")
            }
        };
        if list.is_empty() {
            return Err(GpuError::NoAdapter(String::new()));
        }
        let mut picked: Vec<(usize, wgpu::Adapter)> = list.into_iter().enumerate().collect();
        if let Some(i) = self.index {
            picked.retain(|(n, _)| *n == i);
            if picked.is_empty() {
                return Err(GpuError::NotChosen(format!(
                    "numbered {i} (--adapter-index; adapters: {})",
                    known()
                )));
            }
        }
        let env_name = std::env::var("WGPU_ADAPTER_NAME").ok();
        let name = self
            .name
            .as_deref()
            .or(if self.index.is_none() {
                env_name.as_deref()
            } else {
                None
            })
            .filter(|n| !n.is_empty());
        if let Some(n) = name {
            let n = n.to_lowercase();
            picked.retain(|(_, a)| a.get_info().name.to_lowercase().contains(&n));
            if picked.is_empty() {
                return Err(GpuError::NotChosen(format!(
                    "whose name contains `{n}`{} (adapters: {})",
                    self.index
                        .map(|i| format!(" numbered {i}"))
                        .unwrap_or_default(),
                    known()
                )));
            }
        }
        if let Some(r) = self.require {
            picked.retain(|(_, a)| r.accepts(a.get_info().device_type));
            if picked.is_empty() {
                return Err(GpuError::NotChosen(format!(
                    "of the type --require-device {} asks for (adapters{}: {})",
                    r.name(),
                    if self.index.is_some() || name.is_some() {
                        " matching --adapter-index/--adapter before the type"
                    } else {
                        ""
                    },
                    known()
                )));
            }
        }
        picked.sort_by_key(|(_, a)| type_rank(a.get_info().device_type));
        if !(allow_cpu || name.is_some() || self.is_explicit()) {
            picked.retain(|(_, a)| a.get_info().device_type != wgpu::DeviceType::Cpu);
            if picked.is_empty() {
                return Err(if described.is_empty() {
                    GpuError::NoAdapter(String::new())
                } else {
                    GpuError::OnlyCpuAdapters(known())
                });
            }
        }
        Ok(picked)
    }
}

/// Pick an adapter: by number, name substring (`WGPU_ADAPTER_NAME` when the choice names
/// none), device type, else by `WGPU_POWER_PREF`, else discrete before integrated before the
/// rest. With `allow_cpu = false` and nothing explicit in `choice`, CPU-type adapters
/// (llvmpipe) are not picked.
pub fn pick_adapter(choice: &AdapterChoice, allow_cpu: bool) -> Result<wgpu::Adapter, GpuError> {
    let mut list = adapters();
    let env_name = std::env::var("WGPU_ADAPTER_NAME").is_ok_and(|n| !n.is_empty());
    let by_preference = !choice.is_explicit() && !env_name;
    if by_preference {
        if let Some(pref) = wgpu::PowerPreference::from_env() {
            let inst = instance();
            let opts = wgpu::RequestAdapterOptions {
                power_preference: pref,
                ..Default::default()
            };
            if let Ok(a) = pollster::block_on(inst.request_adapter(&opts)) {
                list = vec![a];
            }
        }
    }
    let mut picked = choice.filter(list, allow_cpu)?;
    if picked.is_empty() {
        return Err(GpuError::NoAdapter(String::new()));
    }
    Ok(picked.swap_remove(0).1)
}
