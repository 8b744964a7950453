//! A software TPM (swtpm) for tests: its own state directory with EK certificates from
//! swtpm's local CA, its own TCP ports, stopped on drop.

use std::io;
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// Where `swtpm_setup --create-ek-cert` keeps its local CA (the EK certificates' issuer
/// and the root above it). Trust it in tests only.
pub fn local_ca_dir() -> PathBuf {
    PathBuf::from("/var/lib/swtpm-localca")
}

/// A running software TPM.
#[derive(Debug)]
pub struct SoftwareTpm {
    child: Child,
    state: tempfile::TempDir,
    port: u16,
    ctrl_port: u16,
}

impl SoftwareTpm {
    /// Manufactures a new TPM (RSA and ECC EK certificates in its NV, locked) and starts it.
    pub fn start() -> io::Result<SoftwareTpm> {
        let state = tempfile::Builder::new().prefix("swtpm-").tempdir()?;
        let setup = Command::new("swtpm_setup")
            .args(["--tpm2", "--tpmstate"])
            .arg(state.path())
            .args([
                "--create-ek-cert",
                "--create-platform-cert",
                "--lock-nvram",
                "--overwrite",
            ])
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .output()
            .map_err(|e| not_installed("swtpm_setup", e))?;
        if !setup.status.success() {
            return Err(io::Error::other(format!(
                "swtpm_setup failed: {}",
                String::from_utf8_lossy(&setup.stderr)
            )));
        }
        Self::run(state)
    }

    /// Starts swtpm on the state directory, on two free ports; retries if a port was taken
    /// between choosing and binding it.
    fn run(state: tempfile::TempDir) -> io::Result<SoftwareTpm> {
        let mut last = None;
        for _ in 0..5 {
            // The swtpm TCTI talks to the control channel on the next port up.
            let port = free_port_pair()?;
            let ctrl_port = port + 1;
            let mut child = Command::new("swtpm")
                .args(["socket", "--tpm2", "--tpmstate"])
                .arg(format!("dir={}", state.path().display()))
                .args([
                    "--server",
                    &format!("type=tcp,port={port},bindaddr=127.0.0.1"),
                ])
                .args([
                    "--ctrl",
                    &format!("type=tcp,port={ctrl_port},bindaddr=127.0.0.1"),
                ])
                .args(["--flags", "not-need-init,startup-clear"])
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .spawn()
                .map_err(|e| not_installed("swtpm", e))?;
            let deadline = Instant::now() + Duration::from_secs(10);
            loop {
                if TcpStream::connect(("127.0.0.1", port)).is_ok() {
                    return Ok(SoftwareTpm {
                        child,
                        state,
                        port,
                        ctrl_port,
                    });
                }
                if let Some(status) = child.try_wait()? {
                    last = Some(io::Error::other(format!("swtpm exited: {status}")));
                    break;
                }
                if Instant::now() > deadline {
                    let _ = child.kill();
                    let _ = child.wait();
                    last = Some(io::Error::other("swtpm did not listen within 10 s"));
                    break;
                }
                std::thread::sleep(Duration::from_millis(20));
            }
        }
        Err(last.unwrap_or_else(|| io::Error::other("swtpm did not start")))
    }

    /// The TCTI string for tss-esapi and tpm2-tools (`TPM2TOOLS_TCTI`).
    pub fn tcti(&self) -> String {
        format!("swtpm:host=127.0.0.1,port={}", self.port)
    }

    /// The TPM's state directory (copy it to clone the TPM).
    pub fn state_dir(&self) -> &Path {
        self.state.path()
    }

    /// Stops and starts the TPM on the same state, as a reboot does (transient objects
    /// and sessions are gone; keys, NV and the dictionary-attack counter stay).
    pub fn restart(&mut self) -> io::Result<()> {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let placeholder = tempfile::Builder::new().prefix("swtpm-").tempdir()?;
        let state = std::mem::replace(&mut self.state, placeholder);
        let mut started = Self::run(state)?;
        std::mem::swap(self, &mut started);
        // `started` now holds the killed child and the placeholder; dropping it is harmless.
        Ok(())
    }

    /// The control port (swtpm_ioctl).
    pub fn ctrl_port(&self) -> u16 {
        self.ctrl_port
    }
}

impl Drop for SoftwareTpm {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A port `p` with `p + 1` free too.
fn free_port_pair() -> io::Result<u16> {
    for _ in 0..50 {
        let p = TcpListener::bind(("127.0.0.1", 0))?.local_addr()?.port();
        if p < u16::MAX && TcpListener::bind(("127.0.0.1", p + 1)).is_ok() {
            return Ok(p);
        }
    }
    Err(io::Error::other(
        "no two neighbouring free ports on 127.0.0.1",
    ))
}

fn not_installed(what: &str, e: io::Error) -> io::Error {
    io::Error::new(
        e.kind(),
        format!("{what} could not be run ({e}): install swtpm and swtpm-tools (scripts/setup.sh)"),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn starts_answers_and_restarts() {
        let tpm = SoftwareTpm::start().unwrap();
        let probe = |tcti: &str| {
            Command::new("tpm2_getcap")
                .args(["-T", tcti, "properties-fixed"])
                .output()
                .unwrap()
        };
        let out = probe(&tpm.tcti());
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        assert!(String::from_utf8_lossy(&out.stdout).contains("TPM2_PT_MANUFACTURER"));
        let mut tpm = tpm;
        tpm.restart().unwrap();
        assert!(probe(&tpm.tcti()).status.success());
        assert!(local_ca_dir().join("issuercert.pem").exists());
    }
}
