//! The two services as their operators run them: `tessera-issuer` (on PostgreSQL) and
//! `tessera-verify serve` (the hotel's desk), each a child process killed when dropped, its
//! log kept in a file for the failure message.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use super::bins::Binaries;
use super::http::{self, Terminal};

/// How long a service may take to say it listens (loading the face models in a debug
/// build on a busy machine included).
const START_TIMEOUT: Duration = Duration::from_secs(180);

/// A command's output as a person reads it, for failure messages.
pub fn said(o: &Output) -> String {
    format!(
        "exit {:?}\nstdout: {}\nstderr: {}",
        o.status.code(),
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

/// Runs `cmd` with `stdin` and waits for it.
pub fn run(mut cmd: Command, stdin: Option<&str>) -> Output {
    use std::io::Write;
    let mut child = cmd
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("cannot start {cmd:?}: {e}"));
    let mut input = child.stdin.take().expect("a stdin pipe");
    if let Some(s) = stdin {
        input.write_all(s.as_bytes()).expect("write standard input");
    }
    drop(input);
    child.wait_with_output().expect("wait for the command")
}

/// A running service: a child process that printed `listening on URL`.
#[derive(Debug)]
pub struct Service {
    name: &'static str,
    child: Child,
    log: PathBuf,
    pub base: String,
}

impl Service {
    /// Starts `cmd` (its log appended to `log`) and waits for its `listening on` line.
    pub fn start(name: &'static str, mut cmd: Command, log: &Path) -> Service {
        let file = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(log)
            .expect("a log file");
        let mut child = cmd
            .env("RUST_LOG", "warn")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(file)
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {name}: {e}"));
        // The first line says where it listens; the rest is drained, so a later print
        // never meets a closed pipe.
        let stdout = child.stdout.take().expect("a stdout pipe");
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            let mut lines = BufReader::new(stdout);
            let mut first = String::new();
            let _ = lines.read_line(&mut first);
            let _ = tx.send(first);
            let _ = std::io::copy(&mut lines, &mut std::io::sink());
        });
        let mut service = Service {
            name,
            child,
            log: log.to_owned(),
            base: String::new(),
        };
        let first = rx.recv_timeout(START_TIMEOUT).unwrap_or_else(|_| {
            panic!(
                "{name} did not say where it listens within {START_TIMEOUT:?}:\n{}",
                service.log_tail()
            )
        });
        service.base = first
            .trim()
            .strip_prefix("listening on ")
            .unwrap_or_else(|| {
                panic!(
                    "{name} did not start (first line {first:?}):\n{}",
                    service.log_tail()
                )
            })
            .to_owned();
        service
    }

    /// The end of its log.
    pub fn log_tail(&self) -> String {
        let log = std::fs::read_to_string(&self.log).unwrap_or_default();
        let lines: Vec<&str> = log.lines().collect();
        let tail = lines[lines.len().saturating_sub(30)..].join("\n");
        format!("--- last lines of {} ---\n{tail}", self.log.display())
    }

    /// Stops it as an operator does (SIGTERM; SIGKILL after 30 s) and waits for it.
    pub fn stop(mut self) {
        let _ = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status();
        let started = Instant::now();
        while started.elapsed() < Duration::from_secs(30) {
            if let Ok(Some(_)) = self.child.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        eprintln!("{} ignored SIGTERM for 30 s; killing it", self.name);
        // Drop kills.
    }
}

impl Drop for Service {
    fn drop(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

/// A free loopback port (the issuer keeps its address across restarts: the desk and the
/// wallets are configured with it).
fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a free loopback port")
        .port()
}

/// The ID authority's issuer: its data directory (keys), its PostgreSQL database, and the
/// service when it runs.
#[derive(Debug)]
pub struct Issuer {
    pub data: PathBuf,
    pub database_url: String,
    pub base: String,
    listen: String,
    log: PathBuf,
    service: Option<Service>,
}

impl Issuer {
    pub fn new(dir: &Path, database_url: &str) -> Issuer {
        let listen = format!("127.0.0.1:{}", free_port());
        Issuer {
            data: dir.join("issuer-data"),
            database_url: database_url.to_owned(),
            base: format!("http://{listen}"),
            listen,
            log: dir.join("issuer.log"),
            service: None,
        }
    }

    fn command(&self) -> Command {
        let mut cmd = Command::new(&Binaries::get().issuer);
        cmd.env("RUST_LOG", "warn")
            .env_remove("TESSERA_DATABASE_URL");
        cmd
    }

    /// `tessera-issuer ARGS --data-dir … --database-url …` (the storage options of every
    /// subcommand but `keys rotate`).
    pub fn admin(&self, args: &[&str], stdin: Option<&str>) -> Output {
        let mut cmd = self.command();
        cmd.args(args)
            .arg("--data-dir")
            .arg(&self.data)
            .arg("--database-url")
            .arg(&self.database_url);
        run(cmd, stdin)
    }

    /// `tessera-issuer keys rotate --data-dir …`.
    pub fn rotate_keys(&self) -> Output {
        let mut cmd = self.command();
        cmd.args(["keys", "rotate", "--data-dir"]).arg(&self.data);
        run(cmd, None)
    }

    /// `tessera-issuer serve` on its address, until [`Issuer::stop`].
    pub fn start(&mut self) {
        assert!(self.service.is_none(), "the issuer already runs");
        let mut cmd = self.command();
        cmd.args(["serve", "--listen", &self.listen, "--data-dir"])
            .arg(&self.data)
            .arg("--database-url")
            .arg(&self.database_url);
        let service = Service::start("tessera-issuer", cmd, &self.log);
        assert_eq!(service.base, self.base, "the issuer listens where told");
        let health = http::get(&format!("{}/healthz", self.base));
        assert_eq!(health.status, 200, "{}", service.log_tail());
        self.service = Some(service);
    }

    pub fn stop(&mut self) {
        self.service.take().expect("the issuer runs").stop();
    }

    /// The authority's trust-list public key (SPKI PEM), taken from its key file as the
    /// authority hands it to wallets and desks out of band.
    pub fn trust_list_key_pem(&self) -> String {
        use p256::pkcs8::DecodePrivateKey;
        let path = self.data.join("keys/trust-list.pem");
        let pem =
            std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        let key = p256::ecdsa::SigningKey::from_pkcs8_pem(&pem).expect("a P-256 PKCS#8 key");
        tessera_credential::keys::spki_pem(key.verifying_key())
    }

    /// The trust list the issuer publishes, verified with the authority's key.
    pub fn trust_list(&self) -> tessera_credential::TrustList {
        let key = tessera_credential::keys::public_key_from_pem(&self.trust_list_key_pem())
            .expect("the authority's key");
        let r = http::get(&format!("{}/v1/trust-list", self.base));
        assert_eq!(r.status, 200);
        tessera_credential::TrustList::verify(&r.body, &key).expect("a trust list it signed")
    }
}

/// The hotel's front desk: `tessera-verify serve` with its data directory.
#[derive(Debug)]
pub struct Desk {
    service: Service,
}

impl Desk {
    /// `tessera-verify staff add --data-dir … NAME`, the password on standard input.
    pub fn add_staff(data: &Path, name: &str, password: &str) -> Output {
        let mut cmd = Command::new(&Binaries::get().verify);
        cmd.args(["staff", "add", "--data-dir"]).arg(data).arg(name);
        run(cmd, Some(&format!("{password}\n")))
    }

    /// `tessera-verify serve --data-dir … --issuer … --venue-policy …` on a free port.
    pub fn start(data: &Path, issuer: &str, venue_policy: &str, log: &Path) -> Desk {
        let policy = data.join("venue.toml");
        std::fs::write(&policy, venue_policy).expect("write the venue policy");
        let mut cmd = Command::new(&Binaries::get().verify);
        cmd.args(["serve", "--listen", "127.0.0.1:0", "--issuer", issuer])
            .arg("--data-dir")
            .arg(data)
            .arg("--venue-policy")
            .arg(&policy);
        Desk {
            service: Service::start("tessera-verify serve", cmd, log),
        }
    }

    pub fn base(&self) -> &str {
        &self.service.base
    }

    /// A new browser at the desk (its own connections and cookies).
    pub fn terminal(&self) -> Terminal {
        Terminal::open(self.base())
    }

    /// Waits until the desk holds lists it fetched after `t` (Unix seconds): its
    /// background refresh (every second by the journey's venue policy) has seen whatever
    /// the issuer changed by then. The issuer re-reads a status list at most once a second,
    /// so a fetch in a later second sees the change.
    pub fn wait_for_lists_fetched_after(&self, t: u64) {
        let mut terminal = self.terminal();
        let started = Instant::now();
        loop {
            let before = super::now();
            let age = terminal.session()["cache_age"].as_u64();
            if let Some(age) = age
                && before.saturating_sub(age) > t
            {
                return;
            }
            assert!(
                started.elapsed() < Duration::from_secs(60),
                "the desk did not refresh its lists within 60 s (cache age {age:?}):\n{}",
                self.service.log_tail()
            );
            std::thread::sleep(Duration::from_millis(200));
        }
    }
}
