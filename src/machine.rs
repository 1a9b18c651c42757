//! The machine and the build a benchmark ran on, described for `clustersweep bench`
//! (`machine` and `build` of the `clustersweep.bench/2` document): CPU model, family and
//! the ISA extensions the kernel can use, physical cores and logical threads, memory, OS and
//! kernel, hypervisor; the rustc version, profile, opt-level, target and target CPU of this
//! binary (recorded by `build.rs`); a GPU adapter's vendor and device ids, driver and API.
//!
//! Sources (Linux): `/proc/cpuinfo` (model, family, flags, `physical id`/`core id` pairs),
//! `/proc/meminfo` (`MemTotal`), `/etc/os-release` (`PRETTY_NAME`),
//! `/proc/sys/kernel/osrelease`, the CPUID hypervisor leaf 0x40000000 (x86), and
//! `/sys/class/dmi/id/{sys_vendor,product_name}`, `/sys/hypervisor/type`. A field that cannot
//! be read on a platform is null, never guessed.

use serde::{Deserialize, Serialize};

/// The CPU.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct CpuDescription {
    /// Model name (`/proc/cpuinfo` `model name`, else the architecture).
    pub model: String,
    /// Vendor id (`GenuineIntel`, `AuthenticAMD`, ...).
    pub vendor: Option<String>,
    /// CPU family, model number and stepping (x86 CPUID as `/proc/cpuinfo` gives them).
    pub family: Option<u32>,
    pub model_number: Option<u32>,
    pub stepping: Option<u32>,
    /// The ISA extensions relevant to the kernels that this CPU has (detected at run time).
    pub isa: Vec<String>,
    /// Physical cores (distinct `physical id`/`core id` pairs); null where not listed
    /// (some virtual machines).
    pub physical_cores: Option<usize>,
    /// Logical threads this process may use (its CPU affinity).
    pub logical_threads: usize,
    /// `cpu MHz` of the first processor when measured (the current clock, not the turbo).
    pub clock_mhz: Option<f64>,
}

/// The operating system.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct OsDescription {
    /// `PRETTY_NAME` of `/etc/os-release` (else the OS family).
    pub name: String,
    /// Kernel release (`uname -r`).
    pub kernel: Option<String>,
    /// CPU architecture this binary was built for.
    pub arch: String,
}

/// Whether the machine is virtual and what it runs under.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct HypervisorDescription {
    /// The `hypervisor` CPU flag (x86: CPUID.1:ECX bit 31) is set; null where unknown.
    pub virtual_machine: Option<bool>,
    /// The hypervisor's CPUID vendor signature (`KVMKVMKVM`, `Microsoft Hv`,
    /// `VMwareVMware`, `XenVMMXenVMM`, ...) or `/sys/hypervisor/type`.
    pub vendor: Option<String>,
    /// `/sys/class/dmi/id/sys_vendor` and `product_name` (`Amazon EC2 m7i.large`, `QEMU
    /// Standard PC`, `Google Compute Engine`), where readable.
    pub platform: Option<String>,
}

/// The machine.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct Machine {
    pub cpu: CpuDescription,
    /// Total memory (`MemTotal`), bytes.
    pub memory_bytes: Option<u64>,
    pub os: OsDescription,
    pub hypervisor: HypervisorDescription,
}

/// The binary: version, commit, toolchain and settings.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct BuildDescription {
    pub clustersweep_version: String,
    /// 12-digit git commit (`unknown` outside git) and whether the tree was dirty.
    pub git_commit: String,
    pub git_dirty: Option<bool>,
    pub wgpu_version: String,
    /// `rustc --version` of the compiler that built it.
    pub rustc: String,
    /// Cargo profile (`release`, `debug`) and its opt-level.
    pub profile: String,
    pub opt_level: String,
    /// Target triple.
    pub target: String,
    /// `-C target-cpu` (`default (no -C target-cpu)` when not given: the target's baseline).
    pub target_cpu: String,
    /// The target features enabled at compile time (comma-separated); run-time detected
    /// extensions are in `machine.cpu.isa`.
    pub target_features: String,
}

/// This binary's build.
pub fn build_description() -> BuildDescription {
    let b = crate::provenance::build_info();
    BuildDescription {
        clustersweep_version: b.version,
        git_commit: b.commit,
        git_dirty: b.dirty,
        wgpu_version: env!("CLUSTERSWEEP_WGPU_VERSION").into(),
        rustc: env!("CLUSTERSWEEP_RUSTC_VERSION").into(),
        profile: env!("CLUSTERSWEEP_PROFILE").into(),
        opt_level: env!("CLUSTERSWEEP_OPT_LEVEL").into(),
        target: env!("CLUSTERSWEEP_TARGET").into(),
        target_cpu: env!("CLUSTERSWEEP_TARGET_CPU").into(),
        target_features: env!("CLUSTERSWEEP_TARGET_FEATURES").into(),
    }
}

/// The first `key : value` line of a `/proc/cpuinfo`-style text.
fn field<'a>(text: &'a str, key: &str) -> Option<&'a str> {
    text.lines().find_map(|l| {
        let (k, v) = l.split_once(':')?;
        (k.trim() == key).then_some(v.trim())
    })
}

/// Physical cores from `/proc/cpuinfo` text: distinct (`physical id`, `core id`) pairs.
pub fn physical_cores(cpuinfo: &str) -> Option<usize> {
    let mut seen = std::collections::BTreeSet::new();
    for block in cpuinfo.split("\n\n") {
        if let (Some(p), Some(c)) = (field(block, "physical id"), field(block, "core id")) {
            seen.insert((p.to_string(), c.to_string()));
        }
    }
    (!seen.is_empty()).then_some(seen.len())
}

/// The kernel-relevant ISA extensions this CPU has (run-time detection).
pub fn isa_extensions() -> Vec<String> {
    #[allow(unused_mut)]
    let mut found: Vec<&str> = Vec::new();
    #[cfg(target_arch = "x86_64")]
    {
        macro_rules! probe {
            ($($f:tt),*) => {$(
                if std::arch::is_x86_feature_detected!($f) {
                    found.push($f);
                }
            )*};
        }
        probe!(
            "sse4.2", "avx", "avx2", "fma", "f16c", "avx512f", "avx512dq", "avx512vl", "avx512bw"
        );
    }
    #[cfg(target_arch = "aarch64")]
    {
        macro_rules! probe {
            ($($f:tt),*) => {$(
                if std::arch::is_aarch64_feature_detected!($f) {
                    found.push($f);
                }
            )*};
        }
        probe!("neon", "fp16", "sve", "sve2");
    }
    found.into_iter().map(String::from).collect()
}

/// The hypervisor's CPUID vendor signature (leaf 0x40000000), when the hypervisor bit
/// (leaf 1, ECX bit 31) is set; `(flag, signature)`.
fn cpuid_hypervisor() -> (Option<bool>, Option<String>) {
    #[cfg(target_arch = "x86_64")]
    {
        // CPUID is available on every x86_64 CPU.
        #[allow(unused_unsafe)]
        let leaf1 = unsafe { std::arch::x86_64::__cpuid(1) };
        let present = leaf1.ecx & (1 << 31) != 0;
        if !present {
            return (Some(false), None);
        }
        #[allow(unused_unsafe)]
        let r = unsafe { std::arch::x86_64::__cpuid(0x4000_0000) };
        let bytes: Vec<u8> = [r.ebx, r.ecx, r.edx]
            .iter()
            .flat_map(|w| w.to_le_bytes())
            .filter(|b| *b != 0)
            .collect();
        let sig = String::from_utf8_lossy(&bytes).trim().to_string();
        let printable = !sig.is_empty() && sig.chars().all(|c| c.is_ascii_graphic() || c == ' ');
        (Some(true), printable.then_some(sig))
    }
    #[cfg(not(target_arch = "x86_64"))]
    {
        (None, None)
    }
}

fn read_trimmed(path: &str) -> Option<String> {
    std::fs::read_to_string(path)
        .ok()
        .map(|s| s.trim().to_string())
        .filter(|s| !s.is_empty())
}

/// Describe this machine.
pub fn describe_machine() -> Machine {
    let cpuinfo = std::fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
    let num = |k: &str| field(&cpuinfo, k).and_then(|v| v.parse::<u32>().ok());
    let cpu = CpuDescription {
        model: crate::backend::cpu::cpu_name(),
        vendor: field(&cpuinfo, "vendor_id").map(String::from),
        family: num("cpu family"),
        model_number: num("model"),
        stepping: num("stepping"),
        isa: isa_extensions(),
        physical_cores: physical_cores(&cpuinfo),
        logical_threads: std::thread::available_parallelism().map_or(1, |n| n.get()),
        clock_mhz: field(&cpuinfo, "cpu MHz").and_then(|v| v.parse().ok()),
    };
    let memory_bytes = std::fs::read_to_string("/proc/meminfo").ok().and_then(|m| {
        let kb: u64 = field(&m, "MemTotal")?
            .trim_end_matches("kB")
            .trim()
            .parse()
            .ok()?;
        Some(kb * 1024)
    });
    let os = OsDescription {
        name: std::fs::read_to_string("/etc/os-release")
            .ok()
            .and_then(|t| {
                t.lines().find_map(|l| {
                    l.strip_prefix("PRETTY_NAME=")
                        .map(|v| v.trim_matches('"').to_string())
                })
            })
            .unwrap_or_else(|| std::env::consts::OS.to_string()),
        kernel: read_trimmed("/proc/sys/kernel/osrelease"),
        arch: std::env::consts::ARCH.to_string(),
    };
    let (flag, signature) = cpuid_hypervisor();
    let platform = match (
        read_trimmed("/sys/class/dmi/id/sys_vendor"),
        read_trimmed("/sys/class/dmi/id/product_name"),
    ) {
        (Some(v), Some(p)) => Some(format!("{v} {p}")),
        (v, p) => v.or(p),
    };
    let hypervisor = HypervisorDescription {
        virtual_machine: flag.or_else(|| {
            field(&cpuinfo, "flags").map(|f| f.split_whitespace().any(|x| x == "hypervisor"))
        }),
        vendor: signature.or_else(|| read_trimmed("/sys/hypervisor/type")),
        platform,
    };
    Machine {
        cpu,
        memory_bytes,
        os,
        hypervisor,
    }
}

/// A GPU adapter as wgpu reports it (`AdapterInfo`).
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct AdapterDescription {
    pub name: String,
    /// PCI vendor id (0x10de NVIDIA, 0x1002 AMD, 0x8086 Intel, 0x10005 Mesa) and device id.
    pub vendor_id: u32,
    pub device_id: u32,
    /// `DiscreteGpu`, `IntegratedGpu`, `VirtualGpu`, `Cpu`, `Other`.
    pub device_type: String,
    /// Driver name and driver information (version) as the API reports them.
    pub driver: String,
    pub driver_info: String,
    /// Graphics API (`Vulkan`, `Metal`, `Dx12`, `Gl`).
    pub api: String,
}

impl AdapterDescription {
    /// From wgpu's adapter information.
    pub fn from_wgpu(i: &wgpu::AdapterInfo) -> AdapterDescription {
        AdapterDescription {
            name: i.name.clone(),
            vendor_id: i.vendor,
            device_id: i.device,
            device_type: format!("{:?}", i.device_type),
            driver: i.driver.clone(),
            driver_info: i.driver_info.clone(),
            api: format!("{:?}", i.backend),
        }
    }

    /// The driver and its information in one line (`unknown` when the API says nothing).
    pub fn driver_line(&self) -> String {
        match (self.driver.is_empty(), self.driver_info.is_empty()) {
            (false, false) => format!("{} {}", self.driver, self.driver_info),
            (false, true) => self.driver.clone(),
            (true, false) => self.driver_info.clone(),
            (true, true) => "unknown".into(),
        }
    }
}

/// One line for people: model, cores/threads, ISA, memory, OS, kernel, hypervisor.
pub fn machine_line(m: &Machine) -> String {
    let cores = m
        .cpu
        .physical_cores
        .map_or("?".to_string(), |c| c.to_string());
    let fam = match (m.cpu.family, m.cpu.model_number) {
        (Some(f), Some(n)) => format!(" (family {f} model {n})"),
        _ => String::new(),
    };
    let mem = m.memory_bytes.map_or("? GiB".into(), |b| {
        format!("{:.1} GiB", b as f64 / 1073741824.0)
    });
    let virt = match (&m.hypervisor.virtual_machine, &m.hypervisor.vendor) {
        (Some(true), Some(v)) => format!("virtual machine ({v})"),
        (Some(true), None) => "virtual machine".into(),
        (Some(false), _) => "bare metal".into(),
        (None, _) => "hypervisor unknown".into(),
    };
    format!(
        "{}{fam}, {cores} cores / {} threads, {}, {mem}, {}, kernel {}, {virt}",
        m.cpu.model,
        m.cpu.logical_threads,
        if m.cpu.isa.is_empty() {
            "no ISA extensions detected".to_string()
        } else {
            m.cpu.isa.join(" ")
        },
        m.os.name,
        m.os.kernel.as_deref().unwrap_or("?"),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn physical_cores_count_distinct_core_ids_per_package() {
        let two_sockets = "processor\t: 0\nphysical id\t: 0\ncore id\t: 0\n\n\
processor\t: 1\nphysical id\t: 0\ncore id\t: 0\n\n\
processor\t: 2\nphysical id\t: 0\ncore id\t: 1\n\n\
processor\t: 3\nphysical id\t: 1\ncore id\t: 0\n";
        assert_eq!(physical_cores(two_sockets), Some(3));
        assert_eq!(physical_cores("processor\t: 0\nmodel name\t: x\n"), None);
    }

    #[test]
    fn this_machine_is_described() {
        let m = describe_machine();
        assert!(m.cpu.logical_threads >= 1);
        assert!(!m.cpu.model.is_empty());
        assert_eq!(m.os.arch, std::env::consts::ARCH);
        let b = build_description();
        assert!(b.rustc.starts_with("rustc "), "{}", b.rustc);
        assert!(!b.target.is_empty() && b.target != "unknown");
        assert!(machine_line(&m).contains(&m.cpu.model));
    }
}
