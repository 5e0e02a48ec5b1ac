//! Python packages the independent checks need, installed with pip when missing (as
//! ./scripts/test.sh does for the others), once per test binary.

use std::process::Command;
use std::sync::Mutex;

/// Makes `import MODULE` work, installing `package` from PyPI with pip when it does not;
/// panics with pip's output when that fails.
pub fn ensure_module(module: &str, package: &str) {
    ensure_package(package, &["python3", "-c", &format!("import {module}")]);
}

/// Makes the command `probe` succeed, installing `package` from PyPI with pip when it does
/// not (`taplo --version` for the taplo wheel); panics with pip's output when that fails.
pub fn ensure_package(package: &str, probe: &[&str]) {
    static INSTALLING: Mutex<()> = Mutex::new(());
    let _one_at_a_time = INSTALLING.lock().unwrap_or_else(|p| p.into_inner());
    let runs = || Command::new(probe[0]).args(&probe[1..]).output().is_ok_and(|o| o.status.success());
    if runs() {
        return;
    }
    let pip = |extra: &[&str]| {
        Command::new("python3")
            .args(["-m", "pip", "install", "--quiet", "--disable-pip-version-check"])
            .args(extra)
            .arg(package)
            .output()
            .expect("python3 runs")
    };
    let mut out = pip(&[]);
    if !out.status.success() {
        // Debian's own Python refuses installs outside a virtual environment (PEP 668).
        out = pip(&["--break-system-packages"]);
    }
    assert!(
        out.status.success() && runs(),
        "cannot install {package} with pip: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}
