//! Finding GPU adapters: the wgpu instance, every adapter it sees, a summary of each for
//! `clustersweep adapters`, and picking one by name, environment or device type.

use super::GpuError;

/// A description of one adapter (for `clustersweep adapters`).
#[derive(Clone, Debug, serde::Serialize)]
pub struct AdapterSummary {
    pub name: String,
    pub vendor: String,
    pub device_type: String,
    pub driver: String,
    pub api: String,
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

/// Describe an adapter.
pub fn summarize(a: &wgpu::Adapter) -> AdapterSummary {
    let i = a.get_info();
    let l = a.limits();
    AdapterSummary {
        name: i.name.clone(),
        vendor: format!("0x{:04x}", i.vendor),
        device_type: format!("{:?}", i.device_type),
        driver: driver_string(&i),
        api: format!("{:?}", i.backend),
        max_buffer_size: l.max_buffer_size,
        max_storage_buffer_binding_size: l.max_storage_buffer_binding_size,
        max_compute_workgroups_per_dimension: l.max_compute_workgroups_per_dimension,
        max_compute_invocations_per_workgroup: l.max_compute_invocations_per_workgroup,
        max_compute_workgroup_storage_size: l.max_compute_workgroup_storage_size,
    }
}

pub(super) fn driver_string(i: &wgpu::AdapterInfo) -> String {
    match (i.driver.is_empty(), i.driver_info.is_empty()) {
        (false, false) => format!("{} {}", i.driver, i.driver_info),
        (false, true) => i.driver.clone(),
        (true, false) => i.driver_info.clone(),
        (true, true) => "unknown".into(),
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

/// Pick an adapter: by name substring (`name`, else `WGPU_ADAPTER_NAME`), else by
/// `WGPU_POWER_PREF`, else discrete before integrated before the rest. With
/// `allow_cpu = false`, CPU-type adapters (llvmpipe) are not picked.
pub fn pick_adapter(name: Option<&str>, allow_cpu: bool) -> Result<wgpu::Adapter, GpuError> {
    let env_name = std::env::var("WGPU_ADAPTER_NAME").ok();
    let name = name.or(env_name.as_deref()).filter(|n| !n.is_empty());
    // An adapter asked for by name is used even when it is CPU-type.
    let allow_cpu = allow_cpu || name.is_some();
    let mut list = adapters();
    let all_names: Vec<String> = list.iter().map(|a| a.get_info().name).collect();
    if let Some(n) = name {
        let n = n.to_lowercase();
        list.retain(|a| a.get_info().name.to_lowercase().contains(&n));
        if list.is_empty() {
            return Err(GpuError::NoAdapter(format!(
                " whose name contains `{n}` (adapters: {})",
                if all_names.is_empty() {
                    "none".to_string()
                } else {
                    all_names.join(", ")
                }
            )));
        }
    } else if let Some(pref) = wgpu::PowerPreference::from_env() {
        let inst = instance();
        let opts = wgpu::RequestAdapterOptions {
            power_preference: pref,
            ..Default::default()
        };
        if let Ok(a) = pollster::block_on(inst.request_adapter(&opts)) {
            list = vec![a];
        }
    }
    list.sort_by_key(|a| type_rank(a.get_info().device_type));
    if !allow_cpu {
        list.retain(|a| a.get_info().device_type != wgpu::DeviceType::Cpu);
    }
    list.into_iter().next().ok_or_else(|| {
        if all_names.is_empty() {
            GpuError::NoAdapter(String::new())
        } else {
            GpuError::OnlyCpuAdapters(all_names.join(", "))
        }
    })
}
