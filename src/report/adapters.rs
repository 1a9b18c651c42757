//! The adapter listing (`clustersweep adapters`): every GPU adapter wgpu finds (name,
//! vendor, device type, driver, API and the limits that size a sweep) for people, or what
//! to install when there is none, and the JSON document of the same.

use crate::backend::gpu::AdapterSummary;
use serde_json::Value;
use std::fmt::Write;

/// The `adapters --json` document.
pub fn json(list: &[AdapterSummary]) -> Value {
    serde_json::json!({ "adapters": list })
}

/// The adapters for people; with none, how to get a Vulkan CPU adapter.
pub fn table(list: &[AdapterSummary]) -> String {
    let mut o = String::new();
    if list.is_empty() {
        let _ = writeln!(o, "no GPU adapters found; for a Vulkan CPU adapter install Mesa's lavapipe (apt-get install mesa-vulkan-drivers)");
        return o;
    }
    for summary in list {
        let a = &summary.adapter;
        let _ = writeln!(o, "{}: {}", summary.index, a.name);
        let _ = writeln!(
            o,
            "  vendor       0x{:04x}  device 0x{:04x}",
            a.vendor_id, a.device_id
        );
        let _ = writeln!(o, "  device type  {}", a.device_type);
        let _ = writeln!(o, "  driver       {}", a.driver_line());
        let _ = writeln!(o, "  api          {}", a.api);
        let l = &summary.limits;
        let _ = writeln!(
            o,
            "  limits       max_buffer_size {} B, max_storage_buffer_binding_size {} B, \
             max_compute_workgroups_per_dimension {}, max_compute_invocations_per_workgroup {}, \
             max_compute_workgroup_storage_size {} B",
            l.max_buffer_size,
            l.max_storage_buffer_binding_size,
            l.max_compute_workgroups_per_dimension,
            l.max_compute_invocations_per_workgroup,
            l.max_compute_workgroup_storage_size
        );
    }
    o
}
