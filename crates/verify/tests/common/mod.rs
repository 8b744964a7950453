//! A real issuer (in process, SQLite, on loopback, with the face crate's test photos as its
//! registry and a settable clock) and a real desk server on loopback in front of it.

#![allow(dead_code)]

pub mod seed;

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use tessera_credential::claims::Tier;
use tessera_credential::credential::Credential;
use tessera_credential::keys::SoftwareKey;
use tessera_credential::proof::{AuthMethods, HolderProof, ProofRequest};
use tessera_credential::qr_text::Presentation;
use tessera_issuer::config::OsRandomness;
use tessera_issuer::{Clock, Config, Issuer};
use tessera_issuer_api::{
    BatchKey, BatchKeys, BatchResponse, ChallengeResponse, DeviceKey, DeviceKeyProof, EnrolRequest,
};
use tessera_verify::desk::{self, Desk, VenuePolicy};

pub const START: u64 = 1_795_608_000;

#[derive(Debug)]
pub struct TestClock(pub AtomicU64);

impl Clock for TestClock {
    fn now(&self) -> u64 {
        self.0.load(Ordering::SeqCst)
    }
}

pub fn tmp_dir(label: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!(
        "tessera-desk-{label}-{}-{}",
        std::process::id(),
        hex::encode(tessera_verify::desk::auth::random_bytes::<6>())
    ));
    std::fs::create_dir_all(&d).unwrap();
    d
}

fn face_testdata() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../face/testdata")
}

/// Obama's photo in the test registry.
pub fn obama_id() -> String {
    let first17 = "11010119610804011";
    format!(
        "{first17}{}",
        tessera_issuer::ids::check_character(first17.as_bytes())
    )
}

pub struct RealIssuer {
    pub base: String,
    pub clock: Arc<TestClock>,
    pub issuer: Arc<Issuer>,
    pub http: reqwest::Client,
    server: tokio::task::JoinHandle<()>,
}

impl RealIssuer {
    pub async fn start() -> RealIssuer {
        let _ = rustls::crypto::ring::default_provider().install_default();
        let dir = tmp_dir("issuer");
        // The issuer reads registry photos only from the CSV's folder.
        std::fs::copy(
            face_testdata().join("photos/obama.jpg"),
            dir.join("obama.jpg"),
        )
        .unwrap();
        let csv = format!(
            "id_number,full_name,date_of_birth,sex,photo\n{},李建国,1961-08-04,M,obama.jpg\n",
            obama_id(),
        );
        std::fs::write(dir.join("registry.csv"), csv).unwrap();
        let faces = Arc::new(tessera_face::analysis::FaceAnalyzer::load().unwrap());
        let records =
            tessera_issuer::registry::read_csv(&dir.join("registry.csv"), &faces).unwrap();
        let clock = Arc::new(TestClock(AtomicU64::new(START)));
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        let config = Config {
            public_url: base.clone(),
            ..Config::default()
        };
        let issuer = tessera_issuer::open(&dir, None, config, clock.clone(), faces)
            .await
            .unwrap();
        issuer
            .store()
            .import_registry(&records, START)
            .await
            .unwrap();
        let issuer = Arc::new(issuer);
        let server = tokio::spawn({
            let issuer = issuer.clone();
            async move {
                tessera_issuer::api::serve(issuer, listener, std::future::pending())
                    .await
                    .unwrap();
            }
        });
        RealIssuer {
            base,
            clock,
            issuer,
            http: reqwest::Client::new(),
            server,
        }
    }

    /// Stops listening: when this returns, the port refuses connections (connections
    /// already open live on, so callers drop their clients first).
    pub async fn stop(&mut self) {
        self.server.abort();
        let _ = (&mut self.server).await;
    }

    pub fn advance(&self, secs: u64) {
        self.clock.0.fetch_add(secs, Ordering::SeqCst);
    }

    /// Enrols Obama with the committed liveness frames; returns the batch and device key
    /// (no one-time batch: the upgraded and lightweight credentials on the device key).
    pub async fn enrol(&self) -> (BatchResponse, SoftwareKey) {
        let (batch, device, _) = self.enrol_with(&[]).await;
        (batch, device)
    }

    /// Enrols with a batch of one-time credentials, one per tier in `tiers`, each on its
    /// own new software key: the answer, the main device key, and the one-time keys with
    /// their tiers, in `tiers`' order (show one with [`show_one_time`]). An empty `tiers`
    /// asks for no batch.
    pub async fn enrol_with(
        &self,
        tiers: &[Tier],
    ) -> (BatchResponse, SoftwareKey, Vec<(Tier, SoftwareKey)>) {
        let device = SoftwareKey::generate(&mut OsRandomness);
        let c: ChallengeResponse = self
            .http
            .post(format!("{}/v1/challenges", self.base))
            .json(&tessera_issuer_api::ChallengeRequest {
                device_key: Some(tessera_credential::keys::spki_der(
                    &tessera_credential::keys::Es256Signer::public_key(&device),
                )),
                tpm: None,
            })
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        let mut frames = Vec::new();
        for a in &c.actions {
            let dir = face_testdata().join("liveness/obama").join(a);
            let mut files: Vec<_> = std::fs::read_dir(&dir)
                .unwrap()
                .flatten()
                .map(|e| e.path())
                .collect();
            files.sort();
            for f in files {
                frames.push(std::fs::read(f).unwrap());
            }
        }
        let one_time: Vec<(Tier, SoftwareKey)> = tiers
            .iter()
            .map(|t| (*t, SoftwareKey::generate(&mut OsRandomness)))
            .collect();
        let batch = (!one_time.is_empty()).then(|| {
            let keys = one_time
                .iter()
                .map(|(tier, key)| BatchKey::create(*tier, key, &c.challenge_id, &c.nonce).unwrap())
                .collect();
            BatchKeys::create(keys, &device, &c.challenge_id, &c.nonce).unwrap()
        });
        let pop = DeviceKeyProof::create(&device, &c.challenge_id, &c.nonce).unwrap();
        let req = EnrolRequest {
            challenge_id: c.challenge_id.clone(),
            id_number: obama_id(),
            device_key: DeviceKey {
                public_key: pop.key_der,
                proof: pop.signature,
            },
            frames,
            replace_existing: false,
            batch,
            tpm: None,
        };
        let r = self
            .http
            .post(format!("{}/v1/enrolments", self.base))
            .json(&req)
            .send()
            .await
            .unwrap();
        assert!(r.status().is_success(), "enrolment: {}", r.status());
        (r.json().await.unwrap(), device, one_time)
    }

    pub async fn revoke_all(&self) {
        let r = self
            .http
            .post(format!("{}/v1/admin/revocations", self.base))
            .bearer_auth(self.issuer.keys().admin_token.as_str())
            .json(&serde_json::json!({"id_number": obama_id(), "reason": "test"}))
            .send()
            .await
            .unwrap();
        assert!(r.status().is_success());
    }
}

pub fn credential(batch: &BatchResponse, tier: Tier) -> Credential {
    let c = batch
        .credentials
        .iter()
        .find(|c| c.tier == tier.name())
        .unwrap();
    Credential::from_bytes(&c.credential).unwrap()
}

/// What the wallet shows at `now`: a fresh proof (PIN + face for the upgraded tier). For
/// an enrolment without a one-time batch ([`RealIssuer::enrol`]).
pub fn show(batch: &BatchResponse, device: &SoftwareKey, tier: Tier, now: u64) -> String {
    present(credential(batch, tier), device, now)
}

/// The credential of `batch` bound to `key` (its `cnf`): a one-time credential's own key
/// finds it.
pub fn credential_of(batch: &BatchResponse, key: &SoftwareKey) -> Credential {
    let public = tessera_credential::keys::Es256Signer::public_key(key);
    batch
        .credentials
        .iter()
        .map(|c| Credential::from_bytes(&c.credential).unwrap())
        .find(|c| c.claims.holder_key == public)
        .expect("no credential of the batch is bound to this key")
}

/// What the wallet shows at `now` for the one-time credential on `key` (from
/// [`RealIssuer::enrol_with`]), signed with that key.
pub fn show_one_time(batch: &BatchResponse, key: &SoftwareKey, now: u64) -> String {
    present(credential_of(batch, key), key, now)
}

/// A presentation of `credential` with `key` at `now`: PIN + face for the upgraded tier.
pub fn present(credential: Credential, key: &SoftwareKey, now: u64) -> String {
    let (auth, face) = match credential.claims.tier() {
        Tier::Upgraded => (
            AuthMethods::USER
                .with(AuthMethods::PIN)
                .with(AuthMethods::FACE),
            Some(now),
        ),
        Tier::Lightweight | Tier::AgeOnly => (AuthMethods::USER, None),
    };
    let request = ProofRequest {
        now,
        lifetime: 60,
        auth,
        face_verified_at: face,
    };
    let proof = HolderProof::create(&credential, key, request, 300, &mut OsRandomness).unwrap();
    Presentation { credential, proof }.to_qr_text()
}

/// A desk server on loopback with its own settable clock.
pub struct DeskServer {
    pub base: String,
    pub desk: Arc<Desk>,
    pub clock: Arc<AtomicU64>,
    pub dir: PathBuf,
    server: tokio::task::JoinHandle<()>,
}

impl Drop for DeskServer {
    fn drop(&mut self) {
        self.server.abort();
    }
}

impl DeskServer {
    pub async fn start(
        dir: &Path,
        issuer: Option<&str>,
        policy: VenuePolicy,
        now: u64,
    ) -> DeskServer {
        let clock = Arc::new(AtomicU64::new(now));
        let c = clock.clone();
        let d = Desk::open(
            dir,
            issuer.map(str::to_owned),
            policy,
            Arc::new(move || c.load(Ordering::SeqCst)),
        )
        .await
        .unwrap();
        let desk = Arc::new(d);
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        let server = tokio::spawn({
            let desk = desk.clone();
            async move {
                desk::serve(desk, listener, std::future::pending())
                    .await
                    .unwrap();
            }
        });
        DeskServer {
            base,
            desk,
            clock,
            dir: dir.to_owned(),
            server,
        }
    }

    pub fn advance(&self, secs: u64) {
        self.clock.fetch_add(secs, Ordering::SeqCst);
    }

    pub fn now(&self) -> u64 {
        self.clock.load(Ordering::SeqCst)
    }

    /// A browser-like terminal of this desk (its own cookies).
    pub async fn terminal(&self) -> Terminal {
        let http = reqwest::Client::new();
        let r = http
            .get(format!("{}/api/session", self.base))
            .send()
            .await
            .unwrap();
        let cookie = r
            .headers()
            .get_all("set-cookie")
            .iter()
            .map(|v| v.to_str().unwrap().split(';').next().unwrap().to_owned())
            .collect::<Vec<_>>()
            .join("; ");
        let body: serde_json::Value = r.json().await.unwrap();
        Terminal {
            base: self.base.clone(),
            http,
            cookies: cookie,
            csrf: body["csrf"].as_str().unwrap().to_owned(),
        }
    }
}

pub struct Terminal {
    pub base: String,
    pub http: reqwest::Client,
    pub cookies: String,
    pub csrf: String,
}

impl Terminal {
    pub fn post(&self, path: &str) -> reqwest::RequestBuilder {
        self.http
            .post(format!("{}{path}", self.base))
            .header("cookie", &self.cookies)
            .header("x-csrf-token", &self.csrf)
    }

    pub fn get(&self, path: &str) -> reqwest::RequestBuilder {
        self.http
            .get(format!("{}{path}", self.base))
            .header("cookie", &self.cookies)
    }

    pub async fn verify(&self, text: &str) -> serde_json::Value {
        let r = self
            .post("/api/verify")
            .json(&serde_json::json!({ "text": text }))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200);
        r.json().await.unwrap()
    }

    pub async fn login(&mut self, name: &str, password: &str) {
        let r = self
            .post("/api/login")
            .json(&serde_json::json!({ "name": name, "password": password }))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200, "login");
        self.cookies = r
            .headers()
            .get_all("set-cookie")
            .iter()
            .map(|v| v.to_str().unwrap().split(';').next().unwrap().to_owned())
            .collect::<Vec<_>>()
            .join("; ");
        let body: serde_json::Value = r.json().await.unwrap();
        self.csrf = body["csrf"].as_str().unwrap().to_owned();
    }
}
