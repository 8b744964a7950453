//! What the wallet's end-to-end tests share: a real issuer on loopback with one registry
//! person, and the `tessera-wallet` binary run against it.

#![allow(dead_code)]

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use tessera_credential::claims::Tier;
use tessera_credential::status_list::StatusLists;
use tessera_credential::verify::{StatusOutcome, VerifyOptions};
use tessera_face::analysis::FaceAnalyzer;
use tessera_issuer::config::SystemClock;

pub fn testdata() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../face/testdata")
}

pub fn obama_id() -> String {
    let first17 = "11010119610804011";
    format!(
        "{first17}{}",
        tessera_issuer::ids::check_character(first17.as_bytes())
    )
}

/// An issuer with Obama in its registry, on a background thread; returns its URL. Its
/// trust-list key is written to `dir/trust-list-key.pem`: the wallet's trust anchor, handed
/// over out of band as the authority would.
pub fn start_issuer(dir: &Path) -> String {
    start_issuer_with(dir, None)
}

/// [`start_issuer`], checking TPM key attestations against `tpm_roots` (`serve --tpm-roots`).
pub fn start_issuer_with(
    dir: &Path,
    tpm_roots: Option<tessera_tpm_attestation::TrustedRoots>,
) -> String {
    let dir = dir.to_owned();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let rt = tokio::runtime::Runtime::new().unwrap();
        rt.block_on(async move {
            let faces = Arc::new(FaceAnalyzer::load().unwrap());
            let csv = dir.join("registry.csv");
            // The issuer reads registry photos only from the CSV's folder.
            std::fs::copy(testdata().join("photos/obama.jpg"), dir.join("obama.jpg")).unwrap();
            std::fs::write(
                &csv,
                format!(
                    "id_number,full_name,date_of_birth,sex,photo\n{},李建国,1961-08-04,M,obama.jpg\n",
                    obama_id(),
                ),
            )
            .unwrap();
            let records = tessera_issuer::registry::read_csv(&csv, &faces).unwrap();
            let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
            let base = format!("http://{}", listener.local_addr().unwrap());
            let config = tessera_issuer::Config {
                public_url: base.clone(),
                tpm_roots,
                ..Default::default()
            };
            let issuer = tessera_issuer::open(
                &dir.join("issuer"),
                None,
                config,
                Arc::new(SystemClock),
                faces,
            )
            .await
            .unwrap();
            issuer.store().import_registry(&records, 0).await.unwrap();
            std::fs::write(dir.join("trust-list-key.pem"), issuer.trust_list_key_pem()).unwrap();
            tx.send(base).unwrap();
            tessera_issuer::api::serve(Arc::new(issuer), listener, std::future::pending())
                .await
                .unwrap();
        });
    });
    rx.recv().unwrap()
}

/// One wallet (keystore service + data folder) talking to one issuer URL.
pub struct Env {
    pub issuer: String,
    pub data: PathBuf,
    pub service: String,
}

impl Env {
    /// The issuer's trust-list key, which `start_issuer` writes beside the wallet's folder,
    /// given as the wallet's trust anchor.
    pub fn anchor(&self) -> Vec<std::ffi::OsString> {
        let pem = self.data.with_file_name("trust-list-key.pem");
        if pem.exists() {
            vec!["--trust-list-key".into(), pem.into()]
        } else {
            vec![]
        }
    }

    pub fn run(&self, args: &[&str], stdin: Option<&str>) -> Output {
        let mut child = Command::new(env!("CARGO_BIN_EXE_tessera-wallet"))
            .args([
                "--issuer",
                &self.issuer,
                "--keystore-service",
                &self.service,
                "--data-dir",
            ])
            .arg(&self.data)
            .args(self.anchor())
            .args(args)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let mut input = child.stdin.take().unwrap();
        if let Some(s) = stdin {
            input.write_all(s.as_bytes()).unwrap();
        }
        drop(input);
        child.wait_with_output().unwrap()
    }
}

pub fn text(o: &Output) -> String {
    format!(
        "status {:?}\nstdout: {}\nstderr: {}",
        o.status.code(),
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

/// A loopback proxy to `upstream` that passes everything, but holds back the issuer's
/// answer to the request starting with `request` (e.g. `POST /v1/refills`: the issuer has
/// committed it; the wallet never hears it) and raises `answered`, so a test can kill the
/// wallet at the worst moment.
pub fn holding_proxy(upstream: &str, request: &'static str, answered: Arc<AtomicBool>) -> String {
    use std::io::{Read, Write};
    use std::net::{TcpListener, TcpStream};
    let upstream = upstream.trim_start_matches("http://").to_owned();
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    std::thread::spawn(move || {
        for client in listener.incoming().flatten() {
            let upstream = upstream.clone();
            let answered = answered.clone();
            std::thread::spawn(move || {
                let server = TcpStream::connect(&upstream).unwrap();
                let (mut c_read, mut s_write) =
                    (client.try_clone().unwrap(), server.try_clone().unwrap());
                let (mut s_read, mut c_write) = (server, client);
                let hold = Arc::new(AtomicBool::new(false));
                let hold_up = hold.clone();
                std::thread::spawn(move || {
                    let mut buf = vec![0u8; 1 << 16];
                    while let Ok(n) = c_read.read(&mut buf) {
                        if n == 0 {
                            break;
                        }
                        if String::from_utf8_lossy(&buf[..n]).contains(request) {
                            hold_up.store(true, Ordering::SeqCst);
                        }
                        if s_write.write_all(&buf[..n]).is_err() {
                            break;
                        }
                    }
                });
                let mut buf = vec![0u8; 1 << 16];
                while let Ok(n) = s_read.read(&mut buf) {
                    if n == 0 {
                        break;
                    }
                    if hold.load(Ordering::SeqCst) {
                        answered.store(true, Ordering::SeqCst);
                        std::thread::sleep(Duration::from_secs(120));
                        break;
                    }
                    if c_write.write_all(&buf[..n]).is_err() {
                        break;
                    }
                }
            });
        }
    });
    format!("http://{addr}")
}

/// Now, Unix seconds.
pub fn unix_now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs()
}

/// The desk's check of `qr`, on the trust list and status lists the issuer serves.
pub fn check(issuer: &str, qr: &str, tier: Option<Tier>) -> Result<StatusOutcome, String> {
    check_at(issuer, qr, tier, unix_now())
}

/// [`check`] as a desk would have at `at` (the proof's 60 s window), with the status list
/// the issuer serves now.
pub fn check_at(
    issuer: &str,
    qr: &str,
    tier: Option<Tier>,
    at: u64,
) -> Result<StatusOutcome, String> {
    let get = |p: &str| {
        let out = Command::new("curl")
            .args(["-sf", &format!("{issuer}{p}")])
            .output()
            .unwrap();
        assert!(out.status.success(), "{p}");
        out.stdout
    };
    let pem = String::from_utf8(get("/v1/trust-list-key")).unwrap();
    let trust =
        tessera_verify::load_trust("trust-list", &get("/v1/trust-list"), Some(&pem)).unwrap();
    // Credentials land in one of the issuer's open status lists (four), at random.
    let mut lists = StatusLists::default();
    for n in 1..=4 {
        tessera_verify::load_status_list(
            &mut lists,
            &format!("status-{n}"),
            &get(&format!("/v1/status/{n}")),
            &trust,
            unix_now(),
        )
        .unwrap();
    }
    let mut options = VerifyOptions::at(at);
    options.required_tier = tier;
    options.require_status = true;
    match tessera_verify::check_text(qr, &trust, &options, &lists) {
        tessera_verify::Report::Valid { verdict, .. } => Ok(verdict.status),
        tessera_verify::Report::Invalid { error, .. } => Err(error.code.to_owned()),
    }
}
