//! A real issuer on a loopback port (SQLite in a temporary directory, or a fresh PostgreSQL
//! database on the server named by `TESSERA_TEST_POSTGRES_URL`), a test clock, and a client
//! that answers challenges with the committed liveness frames as a person would.

#![allow(dead_code)]

/// Runs each named `async fn(Backend)` as a test on SQLite and on PostgreSQL (the test files
/// that use it say `#[macro_use] mod common;`).
#[allow(unused_macros)]
macro_rules! on_both_backends {
    ($($name:ident),* $(,)?) => {
        mod sqlite {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    super::$name(super::Backend::Sqlite).await
                }
            )*
        }
        mod postgres {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    super::$name(super::Backend::Postgres).await
                }
            )*
        }
    };
}

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, OnceLock};

use reqwest::StatusCode;
use tessera_credential::claims::Tier;
use tessera_credential::credential::Credential;
use tessera_credential::keys::{Es256Signer, SoftwareKey, public_key_from_pem};
use tessera_credential::proof::{AuthMethods, HolderProof, ProofClaims};
use tessera_credential::qr_text::Presentation;
use tessera_credential::status_list::StatusListToken;
use tessera_credential::trust_list::TrustList;
use tessera_face::analysis::FaceAnalyzer;
use tessera_issuer::config::OsRandomness;
use tessera_issuer::{Clock, Config, Issuer};
use tessera_issuer_api::binding::HolderAuthPurpose;
use tessera_issuer_api::{
    BatchResponse, ChallengeRequest, ChallengeResponse, DeviceKey, DeviceKeyProof, EnrolRequest,
    Problem, ProblemType, RenewRequest, holder_auth_nonce,
};

/// reqwest's rustls needs a process-wide crypto provider when the workspace also builds the
/// wallet (which picks ring); these tests speak plain HTTP on loopback but must install one.
pub fn install_tls_provider() {
    let _ = rustls::crypto::ring::default_provider().install_default();
}

/// An HTTP client for the tests.
pub fn http_client() -> reqwest::Client {
    install_tls_provider();
    reqwest::Client::new()
}

/// Which database.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

/// A settable clock.
#[derive(Debug)]
pub struct TestClock(pub AtomicU64);

impl Clock for TestClock {
    fn now(&self) -> u64 {
        self.0.load(Ordering::SeqCst)
    }
}

impl TestClock {
    pub fn advance(&self, secs: u64) {
        self.0.fetch_add(secs, Ordering::SeqCst);
    }
}

pub fn faces() -> Arc<FaceAnalyzer> {
    static FACES: OnceLock<Arc<FaceAnalyzer>> = OnceLock::new();
    FACES
        .get_or_init(|| Arc::new(FaceAnalyzer::load().expect("models load")))
        .clone()
}

pub fn face_testdata() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../face/testdata")
}

/// A valid 18-character ID number for a birth date and sequence number.
pub fn id_number(region: &str, born: &str, seq: u32) -> String {
    let first17 = format!("{region}{born}{seq:03}");
    format!(
        "{first17}{}",
        tessera_issuer::ids::check_character(first17.as_bytes())
    )
}

/// Obama's photo; male.
pub fn obama_id() -> String {
    id_number("110101", "19610804", 11)
}
/// Biden's photo; male.
pub fn biden_id() -> String {
    id_number("110101", "19421120", 13)
}
/// The astronaut; female.
pub fn astronaut_id() -> String {
    id_number("110101", "19460819", 22)
}
/// Extra people whose registry photo is Obama's (load and crash tests).
pub fn extra_id(n: u32) -> String {
    id_number("310104", "19800101", 100 + 2 * n + 1)
}

/// Copies the face crate's test photos into `dir/photos` (an import reads photos only from
/// the CSV's folder).
pub fn copy_photos(dir: &Path) {
    let to = dir.join("photos");
    std::fs::create_dir_all(&to).unwrap();
    for entry in std::fs::read_dir(face_testdata().join("photos")).unwrap() {
        let from = entry.unwrap().path();
        std::fs::copy(&from, to.join(from.file_name().unwrap())).unwrap();
    }
}

/// Writes the test registry CSV (with `extra` more people) into `dir`, its photos in
/// `dir/photos`.
pub fn write_registry(dir: &Path, extra: u32) -> PathBuf {
    copy_photos(dir);
    let p = |f: &str| format!("photos/{f}");
    let mut csv = String::from("id_number,full_name,date_of_birth,sex,photo\n");
    csv += &format!("{},李建国,1961-08-04,M,{}\n", obama_id(), p("obama.jpg"));
    csv += &format!("{},赵德明,1942-11-20,M,{}\n", biden_id(), p("biden.jpg"));
    csv += &format!(
        "{},孙丽华,1946-08-19,F,{}\n",
        astronaut_id(),
        p("astronaut.jpg")
    );
    for n in 0..extra {
        csv += &format!("{},测试{n},1980-01-01,M,{}\n", extra_id(n), p("obama.jpg"));
    }
    let path = dir.join("registry.csv");
    std::fs::write(&path, csv).unwrap();
    path
}

fn tmp_dir(label: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!(
        "tessera-issuer-{label}-{}-{}",
        std::process::id(),
        hex::encode(tessera_issuer::config::random_bytes::<6>())
    ));
    std::fs::create_dir_all(&d).unwrap();
    d
}

/// A fresh PostgreSQL database URL, or a panic that says how to get one.
pub async fn postgres_database() -> String {
    let admin = std::env::var("TESSERA_TEST_POSTGRES_URL").unwrap_or_else(|_| {
        panic!(
            "TESSERA_TEST_POSTGRES_URL is not set: the PostgreSQL half of the suite needs a server \
             (scripts/test.sh starts one: postgres://tessera:tessera@127.0.0.1:5432/postgres)"
        )
    });
    sqlx::any::install_default_drivers();
    let pool = sqlx::AnyPool::connect(&admin)
        .await
        .expect("connect to TESSERA_TEST_POSTGRES_URL");
    let name = format!(
        "tessera_test_{}",
        hex::encode(tessera_issuer::config::random_bytes::<6>())
    );
    sqlx::query(sqlx::AssertSqlSafe(format!("CREATE DATABASE {name}")))
        .execute(&pool)
        .await
        .expect("create test database");
    pool.close().await;
    let base = admin.rsplit_once('/').map_or(admin.as_str(), |(b, _)| b);
    format!("{base}/{name}")
}

/// A running issuer.
pub struct Harness {
    pub base: String,
    pub client: reqwest::Client,
    pub clock: Arc<TestClock>,
    pub dir: PathBuf,
    pub database_url: Option<String>,
    issuer: Option<Arc<Issuer>>,
    server: Option<tokio::task::JoinHandle<()>>,
}

impl Drop for Harness {
    fn drop(&mut self) {
        if let Some(s) = &self.server {
            s.abort();
            let _ = std::fs::remove_dir_all(&self.dir);
        }
    }
}

pub async fn start(backend: Backend) -> Harness {
    start_with(backend, |_| {}).await
}

pub async fn start_with(backend: Backend, tweak: impl FnOnce(&mut Config)) -> Harness {
    let dir = tmp_dir("api");
    let database_url = match backend {
        Backend::Sqlite => None,
        Backend::Postgres => Some(postgres_database().await),
    };
    let clock = Arc::new(TestClock(AtomicU64::new(1_795_608_000)));
    // Listening first, so the issuer knows the URL it is reached at (its OpenID Connect
    // issuer identifier and status list URIs).
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let mut config = Config {
        public_url: format!("http://{}", listener.local_addr().unwrap()),
        ..Config::default()
    };
    tweak(&mut config);
    let faces = faces();
    let csv = write_registry(&dir, 0);
    let records = tessera_issuer::registry::read_csv(&csv, &faces).expect("registry is valid");
    let issuer = tessera_issuer::open(&dir, database_url.as_deref(), config, clock.clone(), faces)
        .await
        .expect("issuer opens");
    issuer
        .store()
        .import_registry(&records, clock.now())
        .await
        .unwrap();
    let (issuer, base, server) = serve_on(issuer, listener);
    Harness {
        base,
        client: http_client(),
        issuer: Some(issuer),
        clock,
        dir,
        database_url,
        server: Some(server),
    }
}

fn serve_on(
    issuer: Issuer,
    listener: tokio::net::TcpListener,
) -> (Arc<Issuer>, String, tokio::task::JoinHandle<()>) {
    let issuer = Arc::new(issuer);
    let base = format!("http://{}", listener.local_addr().unwrap());
    let server = tokio::spawn({
        let issuer = issuer.clone();
        async move {
            tessera_issuer::api::serve(issuer, listener, std::future::pending())
                .await
                .unwrap();
        }
    });
    (issuer, base, server)
}

/// The committed liveness frames of `person` answering `actions`, in order.
pub fn frames(person: &str, actions: &[String]) -> Vec<Vec<u8>> {
    let mut out = Vec::new();
    for a in actions {
        let dir = face_testdata().join("liveness").join(person).join(a);
        let mut files: Vec<_> = std::fs::read_dir(&dir)
            .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
            .flatten()
            .map(|e| e.path())
            .collect();
        files.sort();
        for f in files {
            out.push(std::fs::read(f).unwrap());
        }
    }
    out
}

/// An enrolment answering `c` for `id_number` with `frames`, bound to `device`.
pub fn answer_challenge(
    c: &ChallengeResponse,
    id_number: &str,
    frames: Vec<Vec<u8>>,
    device: &SoftwareKey,
) -> EnrolRequest {
    let pop = DeviceKeyProof::create(device, &c.challenge_id, &c.nonce).unwrap();
    EnrolRequest {
        challenge_id: c.challenge_id.clone(),
        id_number: id_number.to_owned(),
        device_key: DeviceKey {
            public_key: pop.key_der,
            proof: pop.signature,
        },
        frames,
        replace_existing: false,
        batch: None,
        tpm: None,
    }
}

/// A new liveness challenge from the issuer at `base`, bound to `device` (as a wallet draws
/// it for enrolment and renewal) or to no key (revocation).
pub async fn challenge_at(
    http: &reqwest::Client,
    base: &str,
    device: Option<&SoftwareKey>,
) -> Result<ChallengeResponse, reqwest::Error> {
    let body = ChallengeRequest {
        device_key: device.map(|d| tessera_credential::keys::spki_der(&d.public_key())),
        tpm: None,
    };
    http.post(format!("{base}/v1/challenges"))
        .json(&body)
        .send()
        .await?
        .json()
        .await
}

/// A new challenge from the issuer at `base`, answered with `person`'s frames for
/// `id_number` by a new device key.
pub async fn enrol_request_at(
    http: &reqwest::Client,
    base: &str,
    id_number: &str,
    person: &str,
) -> Result<EnrolRequest, reqwest::Error> {
    let device = new_device();
    let c = challenge_at(http, base, Some(&device)).await?;
    Ok(answer_challenge(
        &c,
        id_number,
        frames(person, &c.actions),
        &device,
    ))
}

/// The `tessera-issuer` binary serving `data` on an ephemeral loopback port, with
/// `RUST_LOG=rust_log` and its log going to `stderr`; returns the process and the base URL
/// it printed.
pub fn spawn_issuer(
    data: &Path,
    database_url: Option<&str>,
    extra_args: &[&str],
    rust_log: &str,
    stderr: std::process::Stdio,
) -> (std::process::Child, String) {
    use std::io::BufRead;
    let mut cmd = std::process::Command::new(env!("CARGO_BIN_EXE_tessera-issuer"));
    cmd.args(["serve", "--listen", "127.0.0.1:0", "--data-dir"])
        .arg(data)
        .args(extra_args)
        .env("RUST_LOG", rust_log)
        .env_remove("TESSERA_DATABASE_URL")
        .stdout(std::process::Stdio::piped())
        .stderr(stderr);
    if let Some(url) = database_url {
        cmd.arg("--database-url").arg(url);
    }
    let mut child = cmd.spawn().unwrap();
    let mut line = String::new();
    std::io::BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    let base = line
        .trim()
        .strip_prefix("listening on ")
        .unwrap_or_else(|| panic!("unexpected first line {line:?}"))
        .to_owned();
    (child, base)
}

/// What the issuer answered.
#[derive(Debug)]
pub enum Answer<T> {
    Ok(StatusCode, T),
    Problem(StatusCode, Problem),
}

impl<T: std::fmt::Debug> Answer<T> {
    pub fn ok(self) -> T {
        match self {
            Answer::Ok(_, t) => t,
            Answer::Problem(s, p) => panic!("expected success, got {s}: {p:?}"),
        }
    }

    pub fn problem(self) -> (StatusCode, ProblemType) {
        match self {
            Answer::Problem(s, p) => (s, p.kind().expect("a Tessera problem type")),
            Answer::Ok(s, t) => panic!("expected a problem, got {s}: {t:?}"),
        }
    }
}

pub async fn answer<T: serde::de::DeserializeOwned>(r: reqwest::Response) -> Answer<T> {
    let status = r.status();
    let ct = r
        .headers()
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    let bytes = r.bytes().await.unwrap();
    if status.is_success() {
        Answer::Ok(status, serde_json::from_slice(&bytes).expect("JSON body"))
    } else {
        assert_eq!(ct, "application/problem+json", "{status}: {bytes:?}");
        let p: Problem = serde_json::from_slice(&bytes).expect("problem body");
        assert_eq!(p.status, status.as_u16());
        Answer::Problem(status, p)
    }
}

pub fn new_device() -> SoftwareKey {
    SoftwareKey::generate(&mut OsRandomness)
}

impl Harness {
    /// A client of a server running elsewhere (another process), on the system clock.
    pub fn attach(base: &str) -> Harness {
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_secs();
        Harness {
            base: base.to_owned(),
            client: http_client(),
            clock: Arc::new(TestClock(AtomicU64::new(now))),
            dir: PathBuf::new(),
            database_url: None,
            issuer: None,
            server: None,
        }
    }

    /// Stops the in-process server, rotates the signing key as `tessera-issuer keys rotate`
    /// does, and starts it again on the same data directory and database (a new port).
    pub async fn restart_with_rotated_key(&mut self) {
        if let Some(s) = self.server.take() {
            s.abort();
            let _ = s.await;
        }
        // The client's pooled connections keep the old server's connection tasks, and the
        // issuer they hold, alive; a rotation is refused while a service holds the keys.
        // Close them and wait for the old issuer to be gone, as an operator stops the service.
        self.client = http_client();
        if let Some(issuer) = self.issuer.take() {
            let started = std::time::Instant::now();
            while Arc::strong_count(&issuer) > 1 {
                assert!(
                    started.elapsed() < std::time::Duration::from_secs(30),
                    "the old issuer was never released"
                );
                tokio::time::sleep(std::time::Duration::from_millis(20)).await;
            }
        }
        tessera_issuer::keys::KeyRing::rotate(&self.dir, self.clock.now()).unwrap();
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let issuer = tessera_issuer::open(
            &self.dir,
            self.database_url.as_deref(),
            Config {
                public_url: format!("http://{}", listener.local_addr().unwrap()),
                ..Config::default()
            },
            self.clock.clone(),
            faces(),
        )
        .await
        .expect("issuer reopens");
        let (issuer, base, server) = serve_on(issuer, listener);
        self.issuer = Some(issuer);
        self.base = base;
        self.server = Some(server);
    }

    /// The in-process issuer.
    pub fn issuer(&self) -> &Issuer {
        self.issuer.as_ref().expect("an in-process issuer")
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    async fn draw_challenge(&self, device: Option<&SoftwareKey>) -> ChallengeResponse {
        let body = ChallengeRequest {
            device_key: device.map(|d| tessera_credential::keys::spki_der(&d.public_key())),
            tpm: None,
        };
        let r = self
            .client
            .post(self.url("/v1/challenges"))
            .json(&body)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::CREATED);
        r.json().await.unwrap()
    }

    /// A challenge bound to `device`, for an enrolment or renewal with that key.
    pub async fn challenge_for(&self, device: &SoftwareKey) -> ChallengeResponse {
        self.draw_challenge(Some(device)).await
    }

    /// A challenge bound to no key (revocation by the holder).
    pub async fn challenge_unbound(&self) -> ChallengeResponse {
        self.draw_challenge(None).await
    }

    pub fn enrol_request(
        &self,
        c: &ChallengeResponse,
        id_number: &str,
        frames: Vec<Vec<u8>>,
        device: &SoftwareKey,
    ) -> EnrolRequest {
        answer_challenge(c, id_number, frames, device)
    }

    pub async fn post_json<B: serde::Serialize, T: serde::de::DeserializeOwned>(
        &self,
        path: &str,
        body: &B,
    ) -> Answer<T> {
        let r = self
            .client
            .post(self.url(path))
            .json(body)
            .send()
            .await
            .unwrap();
        answer(r).await
    }

    /// A full enrolment of `id_number` answered with `person`'s frames.
    pub async fn enrol(
        &self,
        id_number: &str,
        person: &str,
        device: &SoftwareKey,
    ) -> Answer<BatchResponse> {
        let c = self.challenge_for(device).await;
        let req = self.enrol_request(&c, id_number, frames(person, &c.actions), device);
        self.post_json("/v1/enrolments", &req).await
    }

    /// A QR text from `credential` bound to `challenge` for `purpose`.
    pub fn holder_presentation(
        &self,
        credential: &[u8],
        device: &SoftwareKey,
        challenge: &ChallengeResponse,
        purpose: HolderAuthPurpose,
    ) -> String {
        let credential = Credential::from_bytes(credential).unwrap();
        let now = self.clock.now();
        let claims = ProofClaims {
            issued_at: now,
            expires_at: now + 60,
            nonce: holder_auth_nonce(purpose, &challenge.nonce),
            tier: credential.claims.tier(),
            auth: AuthMethods::USER,
            face_verified_at: None,
        };
        let proof = HolderProof::sign(claims, &credential, device).unwrap();
        Presentation { credential, proof }.to_qr_text()
    }

    pub async fn renew(
        &self,
        batch: &BatchResponse,
        old_device: &SoftwareKey,
        new_device: &SoftwareKey,
        person: &str,
    ) -> Answer<BatchResponse> {
        let c = self.challenge_for(new_device).await;
        let presentation = self.holder_presentation(
            &lightweight(batch),
            old_device,
            &c,
            HolderAuthPurpose::renew(&tessera_credential::keys::spki_der(
                &new_device.public_key(),
            )),
        );
        let pop = DeviceKeyProof::create(new_device, &c.challenge_id, &c.nonce).unwrap();
        let req = RenewRequest {
            challenge_id: c.challenge_id.clone(),
            presentation,
            device_key: DeviceKey {
                public_key: pop.key_der,
                proof: pop.signature,
            },
            frames: frames(person, &c.actions),
            batch: None,
            tpm: None,
        };
        self.post_json("/v1/renewals", &req).await
    }

    pub async fn get_bytes(&self, path: &str) -> Vec<u8> {
        let r = self.client.get(self.url(path)).send().await.unwrap();
        assert_eq!(r.status(), StatusCode::OK, "{path}");
        r.bytes().await.unwrap().to_vec()
    }

    /// The trust list, verified with the served trust-list key.
    pub async fn trust_list(&self) -> TrustList {
        let pem = String::from_utf8(self.get_bytes("/v1/trust-list-key").await).unwrap();
        let key = public_key_from_pem(&pem).unwrap();
        TrustList::verify(&self.get_bytes("/v1/trust-list").await, &key).unwrap()
    }

    /// The status of `credential` read from the served, verified status list.
    pub async fn status_of(&self, credential: &[u8]) -> u8 {
        let credential = Credential::from_bytes(credential).unwrap();
        let trust = self.trust_list().await;
        let r = credential.claims.status;
        let bytes = self.get_bytes(&format!("/v1/status/{}", r.list)).await;
        let token = StatusListToken::verify(&bytes, &trust, self.clock.now()).unwrap();
        token.list.get(r.idx).unwrap()
    }
}

pub fn credential_of(batch: &BatchResponse, tier: Tier) -> Vec<u8> {
    batch
        .credentials
        .iter()
        .find(|c| c.tier == tier.name())
        .expect("tier in batch")
        .credential
        .clone()
}

pub fn lightweight(batch: &BatchResponse) -> Vec<u8> {
    credential_of(batch, Tier::Lightweight)
}

pub fn upgraded(batch: &BatchResponse) -> Vec<u8> {
    credential_of(batch, Tier::Upgraded)
}
