//! A relay between a real wallet and a real issuer (a phishing issuer URL that proxies to the
//! real issuer, or a compromised TLS-terminating proxy) tries to redirect the person's live
//! answer to a device key of its own (DESIGN §11, issue 12 item 1). Runs the `tessera-wallet`
//! binary against the real Secret Service (`scripts/with-keyring.sh`).

mod common;

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::{Arc, Mutex};

use common::{Env, obama_id, start_issuer, testdata, text};
use tessera_credential::keys::{Es256Signer, Kid, SoftwareKey, spki_der};
use tessera_credential::qr_text::Presentation;
use tessera_issuer::config::OsRandomness;
use tessera_issuer_api::{
    ChallengeRequest, ChallengeResponse, DeviceKey, DeviceKeyProof, EnrolRequest, Problem,
    RenewRequest,
};

/// Where the relay swaps in its own key.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Swap {
    /// In `POST /v1/challenges`: the wallet is shown a genuine challenge bound to the
    /// relay's key.
    Challenge,
    /// In `POST /v1/enrolments` and `/v1/renewals`: the relay submits the person's frames
    /// (and renewal presentation) with its own key and proof of possession first, then
    /// passes the original on.
    Answer,
}

#[derive(Default)]
struct Seen {
    /// Nonces of the challenges relayed, by id (a relay sees them all).
    nonces: Vec<(String, Vec<u8>)>,
    /// The issuer's answers to the relay's own submissions.
    relay_answers: Vec<(u16, String)>,
    /// Paths of the requests that reached the issuer.
    paths: Vec<String>,
}

/// One HTTP/1.1 request or response: head and body.
fn read_message(stream: &mut TcpStream) -> Option<(String, Vec<u8>)> {
    let mut buf = Vec::new();
    let mut byte = [0u8; 1];
    while !buf.ends_with(b"\r\n\r\n") {
        if stream.read(&mut byte).ok()? == 0 {
            return None;
        }
        buf.push(byte[0]);
    }
    let head = String::from_utf8(buf).ok()?;
    let length = head
        .lines()
        .find_map(|l| {
            let (k, v) = l.split_once(':')?;
            k.eq_ignore_ascii_case("content-length")
                .then(|| v.trim().parse::<usize>().ok())
                .flatten()
        })
        .unwrap_or(0);
    let mut body = vec![0u8; length];
    stream.read_exact(&mut body).ok()?;
    Some((head, body))
}

/// Sends `head` (with its length and `connection: close` rewritten) and `body` upstream;
/// returns the status, the raw response and its body.
fn forward(upstream: &str, head: &str, body: &[u8]) -> (u16, Vec<u8>, Vec<u8>) {
    let mut lines: Vec<String> = head
        .trim_end()
        .lines()
        .filter(|l| {
            let name = l.split(':').next().unwrap_or("").to_ascii_lowercase();
            name != "content-length" && name != "connection"
        })
        .map(str::to_owned)
        .collect();
    lines.push(format!("content-length: {}", body.len()));
    lines.push("connection: close".into());
    let mut s = TcpStream::connect(upstream).unwrap();
    s.write_all(format!("{}\r\n\r\n", lines.join("\r\n")).as_bytes())
        .unwrap();
    s.write_all(body).unwrap();
    let (rhead, rbody) = read_message(&mut s).expect("an answer from the issuer");
    let status = rhead
        .split_whitespace()
        .nth(1)
        .and_then(|c| c.parse().ok())
        .unwrap_or(0);
    let mut raw = rhead.into_bytes();
    raw.extend_from_slice(&rbody);
    (status, raw, rbody)
}

/// A relay in front of `upstream` that swaps in `relay_key` where `swap` says.
fn relay(
    upstream: &str,
    swap: Swap,
    relay_key: Arc<SoftwareKey>,
    seen: Arc<Mutex<Seen>>,
) -> String {
    let upstream = upstream.trim_start_matches("http://").to_owned();
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    std::thread::spawn(move || {
        for mut client in listener.incoming().flatten() {
            let Some((head, body)) = read_message(&mut client) else {
                continue;
            };
            let path = head.split_whitespace().nth(1).unwrap_or("").to_owned();
            seen.lock().unwrap().paths.push(path.clone());
            let relay_der = spki_der(&relay_key.public_key());
            let nonce_of = |id: &str| {
                seen.lock()
                    .unwrap()
                    .nonces
                    .iter()
                    .find(|(i, _)| i == id)
                    .map(|(_, n)| n.clone())
                    .expect("a challenge the relay saw")
            };
            let relay_pop = |id: &str| {
                let pop = DeviceKeyProof::create(relay_key.as_ref(), id, &nonce_of(id)).unwrap();
                DeviceKey {
                    public_key: pop.key_der,
                    proof: pop.signature,
                }
            };
            let mut body = body;
            if path == "/v1/challenges" && swap == Swap::Challenge {
                body = serde_json::to_vec(&ChallengeRequest {
                    device_key: Some(relay_der.clone()),
                    tpm: None,
                })
                .unwrap();
            }
            // The relay's own submission first, with the person's frames.
            let own = match path.as_str() {
                "/v1/enrolments" if swap == Swap::Answer => {
                    let mut req: EnrolRequest = serde_json::from_slice(&body).unwrap();
                    req.device_key = relay_pop(&req.challenge_id);
                    Some(serde_json::to_vec(&req).unwrap())
                }
                "/v1/renewals" if swap == Swap::Answer => {
                    let mut req: RenewRequest = serde_json::from_slice(&body).unwrap();
                    req.device_key = relay_pop(&req.challenge_id);
                    Some(serde_json::to_vec(&req).unwrap())
                }
                _ => None,
            };
            if let Some(own) = own {
                let (status, _, rbody) = forward(&upstream, &head, &own);
                let kind = serde_json::from_slice::<Problem>(&rbody)
                    .map(|p| p.type_uri)
                    .unwrap_or_else(|_| "issued".into());
                seen.lock().unwrap().relay_answers.push((status, kind));
            }
            let (_, raw, rbody) = forward(&upstream, &head, &body);
            if path == "/v1/challenges"
                && let Ok(c) = serde_json::from_slice::<ChallengeResponse>(&rbody)
            {
                seen.lock().unwrap().nonces.push((c.challenge_id, c.nonce));
            }
            let _ = client.write_all(&raw);
        }
    });
    format!("http://{addr}")
}

/// Whether the issuer holds an enrolment for `key`.
fn enrolled(dir: &std::path::Path, key: &SoftwareKey) -> bool {
    let url = tessera_issuer::default_database_url(&dir.join("issuer"));
    let rt = tokio::runtime::Runtime::new().unwrap();
    rt.block_on(async {
        let store = tessera_issuer::store::Store::connect(&url).await.unwrap();
        let found = store
            .enrolment_by_device(&Kid::of(&key.public_key()).to_hex())
            .await
            .unwrap()
            .is_some();
        store.close().await;
        found
    })
}

#[test]
fn a_relay_that_swaps_the_device_key_gains_nothing() {
    let dir = std::env::temp_dir().join(format!("tessera-wallet-relay-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let issuer = start_issuer(&dir);
    let frames = testdata().join("liveness/obama");
    let frames = frames.to_str().unwrap();
    let service = format!("tessera-wallet-relay-test-{}", std::process::id());
    let relay_key = Arc::new(SoftwareKey::generate(&mut OsRandomness));
    let through = |swap: Swap, seen: &Arc<Mutex<Seen>>| Env {
        issuer: relay(&issuer, swap, relay_key.clone(), seen.clone()),
        data: dir.join("wallet"),
        service: service.clone(),
    };

    // 1. The relay binds the challenge to its own key: the wallet sees a genuine, signed
    //    challenge for another key, refuses it, and sends nothing.
    let seen = Arc::new(Mutex::new(Seen::default()));
    let out = through(Swap::Challenge, &seen).run(
        &["enrol", "--id-number", &obama_id(), "--frames", frames],
        None,
    );
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("bound to another device key"),
        "{}",
        text(&out)
    );
    assert!(
        !seen
            .lock()
            .unwrap()
            .paths
            .iter()
            .any(|p| p == "/v1/enrolments"),
        "no answer left the wallet: {:?}",
        seen.lock().unwrap().paths
    );
    assert!(!enrolled(&dir, &relay_key));

    // 2. The relay submits the person's frames with its own key and proof of possession
    //    first: refused, and nothing issued to it. The person's own answer, passed on
    //    afterwards, still enrols them (the refusal did not spend their challenge).
    let seen = Arc::new(Mutex::new(Seen::default()));
    let env = through(Swap::Answer, &seen);
    let out = env.run(
        &["enrol", "--id-number", &obama_id(), "--frames", frames],
        None,
    );
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    assert_eq!(
        seen.lock().unwrap().relay_answers,
        vec![(409, "urn:tessera:problem:challenge-key-mismatch".to_owned())]
    );
    assert!(!enrolled(&dir, &relay_key));
    let out = env.run(&["show", "--tier", "lightweight"], None);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let shown = Presentation::from_qr_text(String::from_utf8_lossy(&out.stdout).trim()).unwrap();
    assert_ne!(shown.credential.claims.holder_key, relay_key.public_key());

    // 3. The same at renewal: the relay keeps the person's frames and renewal presentation
    //    and swaps in its key; refused, the person's renewal goes through.
    let out = env.run(&["renew", "--frames", frames], None);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    assert_eq!(
        seen.lock().unwrap().relay_answers,
        vec![
            (409, "urn:tessera:problem:challenge-key-mismatch".to_owned()),
            (409, "urn:tessera:problem:challenge-key-mismatch".to_owned())
        ]
    );
    assert!(!enrolled(&dir, &relay_key));

    // 4. Directly (a new challenge): still fine, and the wallet refuses an issuer whose
    //    trust list its anchor does not sign.
    let direct = Env {
        issuer: issuer.clone(),
        data: dir.join("wallet"),
        service: service.clone(),
    };
    let out = direct.run(&["status"], None);
    assert!(
        String::from_utf8_lossy(&out.stdout).contains("\"active\""),
        "{}",
        text(&out)
    );
    let other_anchor = dir.join("other-key.pem");
    std::fs::write(
        &other_anchor,
        tessera_credential::keys::spki_pem(&relay_key.public_key()),
    )
    .unwrap();
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_tessera-wallet"))
        .args(["--issuer", &issuer, "--keystore-service", &service])
        .arg("--data-dir")
        .arg(dir.join("wallet"))
        .arg("--trust-list-key")
        .arg(&other_anchor)
        .args(["renew", "--frames", frames])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("not signed by the ID authority"),
        "{}",
        text(&out)
    );
    let out = direct.run(&["reset", "--yes"], None);
    let _ = out;
    std::fs::remove_dir_all(&dir).unwrap();
}
