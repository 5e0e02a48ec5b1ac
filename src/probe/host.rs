//! `host`: observes the machine golive runs on: CPUs, memory, disk space for a path, load,
//! uptime, operating system and kernel. Go-live minimums are written as expectations, e.g.
//! `expect = { cpu_count = ">= 2", memory_total = ">= 2GiB", disk_free = ">= 20GiB" }`.

use std::time::Duration;

use futures::future::BoxFuture;

use super::{FactSpec, Facts, ParamSpec, ParamType, ProbeError, ProbeInput, ProbeSpec, Shared, blocking};
use crate::value::{FactType, Value};

pub static SPEC: ProbeSpec = ProbeSpec {
    kind: "host",
    summary: "Observes this machine: CPUs, memory, disk space for a path, load, uptime, OS and kernel.",
    params: &[ParamSpec::with_default(
        "path",
        ParamType::Path,
        "/",
        "the file system whose space disk_free and disk_total describe",
    )],
    facts: &[
        FactSpec::new("cpu_count", FactType::Integer, "CPUs this process may use (honours affinity and cgroup limits)"),
        FactSpec::new("memory_total", FactType::Bytes, "installed memory"),
        FactSpec::new("memory_available", FactType::Bytes, "memory available for new work without swapping"),
        FactSpec::new("swap_total", FactType::Bytes, "swap space"),
        FactSpec::new("disk_free", FactType::Bytes, "space available to unprivileged users on the file system of path"),
        FactSpec::new("disk_total", FactType::Bytes, "size of the file system of path"),
        FactSpec::new("load_average", FactType::Number, "1-minute load average"),
        FactSpec::new("load_average_per_cpu", FactType::Number, "1-minute load average divided by cpu_count"),
        FactSpec::new("uptime", FactType::Duration, "time since boot"),
        FactSpec::new("os", FactType::String, "operating system name and version"),
        FactSpec::new("kernel", FactType::Version, "kernel version"),
        FactSpec::new("hostname", FactType::String, "the machine's host name"),
        FactSpec::new("arch", FactType::String, "CPU architecture, e.g. x86_64"),
    ],
    default_expect: &[],
    observe: Some(observe),
    check: None,
    notes: &[],
};

fn observe<'a>(input: &'a ProbeInput, _shared: &'a Shared) -> BoxFuture<'a, Result<Facts, ProbeError>> {
    let path = input.params.str("path").unwrap_or("/").to_string();
    Box::pin(blocking(move || {
        let mut facts = Facts::default();
        let cpus = std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1);
        facts.set("cpu_count", Value::Int(cpus as i64));
        let mut system =
            sysinfo::System::new().map_err(|e| ProbeError::new(format!("cannot read system information: {e}")))?;
        system.refresh_memory();
        facts.set("memory_total", Value::Bytes(system.total_memory()));
        facts.set("memory_available", Value::Bytes(system.available_memory()));
        facts.set("swap_total", Value::Bytes(system.total_swap()));
        let stat = nix::sys::statvfs::statvfs(path.as_str())
            .map_err(|e| ProbeError::new(format!("cannot read file system of {path}: {e}")))?;
        let block = stat.fragment_size() as u64;
        facts.set("disk_free", Value::Bytes(stat.blocks_available() as u64 * block));
        facts.set("disk_total", Value::Bytes(stat.blocks() as u64 * block));
        if let Ok(load) = sysinfo::System::load_average() {
            facts.set("load_average", Value::Float(load.one));
            facts.set("load_average_per_cpu", Value::Float(load.one / cpus as f64));
        }
        if let Ok(uptime) = sysinfo::System::uptime() {
            facts.set("uptime", Value::Duration(Duration::from_secs(uptime)));
        }
        let os = sysinfo::System::long_os_version().unwrap_or_else(|_| std::env::consts::OS.to_string());
        facts.set("os", Value::Str(os));
        if let Ok(kernel) = sysinfo::System::kernel_version() {
            facts.set("kernel", Value::Version(kernel));
        }
        if let Ok(name) = sysinfo::System::host_name() {
            facts.set("hostname", Value::Str(name));
        }
        facts.set("arch", Value::str(std::env::consts::ARCH));
        Ok(facts)
    }))
}
