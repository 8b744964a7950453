//! The desk's face check (`POST /api/face-check/{verification}`) against a real issuer's
//! registry portrait: the registry person, another person, a still picture; the outcome in
//! the register and the CSV; the venue's `require_face_match`; hostile input; and that no
//! frame or portrait reaches the disk or the logs.

use std::io::Write;
use std::sync::{Arc, Mutex, OnceLock};

use base64::Engine;
use tessera_credential::claims::Tier;
use tessera_verify::desk::VenuePolicy;

use crate::common::*;

const PASSWORD: &str = "front desk password";

fn liveness_frames(person: &str, folder: &str) -> Vec<Vec<u8>> {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../face/testdata/liveness")
        .join(person)
        .join(folder);
    (0..4)
        .map(|i| std::fs::read(dir.join(format!("{i:02}.jpg"))).unwrap())
        .collect()
}

fn b64(frames: &[Vec<u8>]) -> Vec<String> {
    frames
        .iter()
        .map(|f| base64::engine::general_purpose::STANDARD.encode(f))
        .collect()
}

/// Every log line of this test binary, from the moment `capture_logs` is first called.
#[derive(Clone, Default)]
struct Logs(Arc<Mutex<Vec<u8>>>);

impl Write for Logs {
    fn write(&mut self, b: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(b);
        Ok(b.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

fn capture_logs() -> Logs {
    static LOGS: OnceLock<Logs> = OnceLock::new();
    LOGS.get_or_init(|| {
        let logs = Logs::default();
        let writer = logs.clone();
        // Everything, at the most verbose level, from every crate.
        tracing_subscriber::fmt()
            .with_max_level(tracing::Level::TRACE)
            .with_writer(move || writer.clone())
            .try_init()
            .ok();
        logs
    })
    .clone()
}

struct Setup {
    issuer: RealIssuer,
    batch: tessera_issuer_api::BatchResponse,
    device: tessera_credential::keys::SoftwareKey,
    desk: DeskServer,
}

async fn setup(label: &str, policy: &str) -> Setup {
    let issuer = RealIssuer::start().await;
    let (batch, device) = issuer.enrol().await;
    let dir = tmp_dir(label);
    let key = issuer
        .issuer
        .add_verifier("Face check desk")
        .await
        .unwrap()
        .unwrap();
    std::fs::write(dir.join("issuer-api-key"), &key).unwrap();
    let desk = DeskServer::start(
        &dir,
        Some(&issuer.base),
        VenuePolicy::parse(policy).unwrap(),
        START,
    )
    .await;
    let phc = tessera_verify::desk::auth::hash_password(PASSWORD).unwrap();
    desk.desk
        .store
        .set_staff("alice", &phc, START)
        .await
        .unwrap();
    desk.desk.cache.refresh(START).await.unwrap();
    Setup {
        issuer,
        batch,
        device,
        desk,
    }
}

impl Setup {
    async fn clerk(&self) -> Terminal {
        let mut t = self.desk.terminal().await;
        t.login("alice", PASSWORD).await;
        t
    }

    /// A fresh upgraded verification's handle.
    async fn verification(&self, t: &Terminal) -> String {
        let now = self.desk.now();
        let v = t
            .verify(&show(&self.batch, &self.device, Tier::Upgraded, now))
            .await;
        assert_eq!(v["code"], "valid", "{v}");
        v["verification"].as_str().unwrap().to_owned()
    }
}

async fn face_check(t: &Terminal, id: &str, frames: &[Vec<u8>]) -> (u16, serde_json::Value) {
    let r = t
        .post(&format!("/api/face-check/{id}"))
        .json(&serde_json::json!({ "frames": b64(frames) }))
        .send()
        .await
        .unwrap();
    let status = r.status().as_u16();
    (status, r.json().await.unwrap())
}

async fn check_in(t: &Terminal, id: &str) -> (u16, serde_json::Value) {
    let r = t
        .post("/api/checkins")
        .json(&serde_json::json!({
            "verification": id, "room": "1208",
            "arrival": "2026-12-04", "departure": "2026-12-05",
        }))
        .send()
        .await
        .unwrap();
    let status = r.status().as_u16();
    (status, r.json().await.unwrap_or_default())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_face_check_tells_the_holder_from_another_person_and_a_still_picture() {
    let logs = capture_logs();
    let s = setup("face-check", "").await;
    let t = s.clerk().await;
    let obama = liveness_frames("obama", "front");

    // Staff only, with the CSRF token.
    let id = s.verification(&t).await;
    let stranger = s.desk.terminal().await;
    let (status, p) = face_check(&stranger, &id, &obama).await;
    assert_eq!((status, p["code"].as_str()), (401, Some("login_required")));
    let r = t
        .http
        .post(format!("{}/api/face-check/{id}", t.base))
        .header("cookie", &t.cookies)
        .json(&serde_json::json!({ "frames": b64(&obama) }))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 403);

    // The registry person, with the portrait prepared while the camera captured (as the
    // page does); staff only, for a pending verification.
    let prepare =
        |t: &Terminal, id: &str| t.post(&format!("/api/face-check/{id}/reference")).send();
    assert_eq!(prepare(&stranger, &id).await.unwrap().status(), 401);
    assert_eq!(
        prepare(&t, "no-such-verification").await.unwrap().status(),
        404
    );
    assert_eq!(prepare(&t, &id).await.unwrap().status(), 204);
    let (status, a) = face_check(&t, &id, &obama).await;
    assert_eq!(status, 200, "{a}");
    assert_eq!(a["outcome"], "same_person", "{a}");
    assert!(a["similarity"].as_f64().unwrap() >= 0.363, "{a}");
    assert_eq!(a["reason"], serde_json::Value::Null);
    let (status, _) = check_in(&t, &id).await;
    assert_eq!(status, 201);

    // Another person in front of the camera.
    let id = s.verification(&t).await;
    let (_, a) = face_check(&t, &id, &liveness_frames("biden", "front")).await;
    assert_eq!(a["outcome"], "not_same_person", "{a}");
    assert!(a["similarity"].as_f64().unwrap() < 0.363, "{a}");
    // Staff may still check in by hand (the venue does not require the match); the
    // register says what the desk found.
    let (status, _) = check_in(&t, &id).await;
    assert_eq!(status, 201);

    // One picture sent four times.
    let id = s.verification(&t).await;
    let (_, a) = face_check(&t, &id, &liveness_frames("obama", "static")).await;
    assert_eq!(a["outcome"], "could_not_check", "{a}");
    assert_eq!(a["reason"], "still_picture", "{a}");

    // The register and its export carry the outcomes, newest first.
    let list: serde_json::Value = t
        .get("/api/checkins")
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(list[0]["face_check"], "not_same_person", "{list}");
    assert_eq!(list[1]["face_check"], "same_person", "{list}");
    assert!(list[1]["face_similarity"].as_f64().unwrap() >= 0.363);
    let csv = t
        .get("/api/checkins.csv")
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let header = csv.lines().next().unwrap();
    assert!(header.ends_with(",face_check,face_similarity"), "{header}");
    assert!(
        csv.lines().nth(1).unwrap().contains(",same_person,0."),
        "{csv}"
    );
    assert!(
        csv.lines().nth(2).unwrap().contains(",not_same_person,"),
        "{csv}"
    );

    // Nothing of the frames or the portrait on disk or in the logs.
    let portrait = std::fs::read(
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../face/testdata/photos/obama.jpg"),
    )
    .unwrap();
    let mut samples: Vec<Vec<u8>> = obama
        .iter()
        .chain(std::iter::once(&portrait))
        .map(|f| f[f.len() / 2..f.len() / 2 + 48].to_vec())
        .collect();
    samples.extend(b64(&obama).iter().map(|t| t.as_bytes()[200..264].to_vec()));
    for entry in walk(&s.desk.dir) {
        let bytes = std::fs::read(&entry).unwrap();
        for sample in &samples {
            assert!(
                !contains(&bytes, sample),
                "{} holds picture data",
                entry.display()
            );
        }
    }
    let logged = logs.0.lock().unwrap().clone();
    assert!(
        String::from_utf8_lossy(&logged).contains("face_check"),
        "the log capture works"
    );
    for sample in &samples {
        assert!(!contains(&logged, sample), "the logs hold picture data");
    }
    for personal in [obama_id(), "李建国".to_owned()] {
        assert!(
            !contains(&logged, personal.as_bytes()),
            "the logs hold personal data"
        );
    }
    drop(s.issuer);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_venue_that_requires_the_match_checks_in_only_the_same_person() {
    let s = setup("face-required", "require_face_match = true").await;
    let t = s.clerk().await;
    let session: serde_json::Value = t
        .get("/api/session")
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(session["require_face_match"], true);

    let id = s.verification(&t).await;
    let (status, p) = check_in(&t, &id).await;
    assert_eq!(
        (status, p["code"].as_str()),
        (409, Some("face_check_required")),
        "{p}"
    );
    let (_, a) = face_check(&t, &id, &liveness_frames("biden", "front")).await;
    assert_eq!(a["outcome"], "not_same_person");
    let (status, p) = check_in(&t, &id).await;
    assert_eq!(
        (status, p["code"].as_str()),
        (409, Some("face_check_required")),
        "{p}"
    );
    // The verification stays usable: the right person, then check-in.
    let (_, a) = face_check(&t, &id, &liveness_frames("obama", "front")).await;
    assert_eq!(a["outcome"], "same_person", "{a}");
    let (status, _) = check_in(&t, &id).await;
    assert_eq!(status, 201);
    // Used up by the check-in.
    let (status, p) = face_check(&t, &id, &liveness_frames("obama", "front")).await;
    assert_eq!(
        (status, p["code"].as_str()),
        (404, Some("unknown_verification"))
    );
    drop(s.issuer);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hostile_face_check_requests_get_problem_details() {
    let s = setup("face-hostile", "").await;
    let t = s.clerk().await;
    let id = s.verification(&t).await;
    let one = liveness_frames("obama", "front").remove(0);
    let text = b"not an image at all, just words".to_vec();
    let wide = {
        let img = image::RgbImage::from_pixel(4000, 80, image::Rgb([90, 90, 90]));
        let mut png = Vec::new();
        img.write_to(&mut std::io::Cursor::new(&mut png), image::ImageFormat::Png)
            .unwrap();
        png
    };
    let cases: Vec<(&str, serde_json::Value, u16, &str)> = vec![
        (
            "zero frames",
            serde_json::json!({"frames": []}),
            400,
            "bad_frames",
        ),
        (
            "one frame",
            serde_json::json!({"frames": b64(std::slice::from_ref(&one))}),
            400,
            "bad_frames",
        ),
        (
            "nine frames",
            serde_json::json!({"frames": b64(&vec![one.clone(); 9])}),
            400,
            "bad_frames",
        ),
        (
            "not base64",
            serde_json::json!({"frames": ["%%%", "%%%"]}),
            400,
            "bad_frames",
        ),
        (
            "not images",
            serde_json::json!({"frames": b64(&[text.clone(), text])}),
            415,
            "not_an_image",
        ),
        (
            "huge images",
            serde_json::json!({"frames": b64(&[wide.clone(), wide])}),
            413,
            "too_large",
        ),
        (
            "not the JSON asked for",
            serde_json::json!({"photos": []}),
            400,
            "bad_request",
        ),
    ];
    for (what, body, status, code) in cases {
        let r = t
            .post(&format!("/api/face-check/{id}"))
            .json(&body)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status().as_u16(), status, "{what}");
        assert_eq!(
            r.headers()["content-type"],
            "application/problem+json",
            "{what}"
        );
        let p: serde_json::Value = r.json().await.unwrap();
        assert_eq!(p["code"], code, "{what}: {p}");
    }
    // A body past the limit.
    let r = t
        .post(&format!("/api/face-check/{id}"))
        .header("content-type", "application/json")
        .body(vec![b' '; 13 * 1024 * 1024])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 413);
    // An unknown verification.
    let (status, p) = face_check(
        &t,
        "no-such-verification",
        &liveness_frames("obama", "front"),
    )
    .await;
    assert_eq!(
        (status, p["code"].as_str()),
        (404, Some("unknown_verification"))
    );
    // After all that, the genuine check still works. Prepared first (one portrait released
    // by the issuer), the check rests on the prepared template and asks the issuer for
    // nothing; the next check, with nothing prepared, fetches the portrait again.
    let released = || async {
        s.issuer
            .issuer
            .store()
            .audit_log()
            .await
            .unwrap()
            .iter()
            .filter(|a| a.event == "portrait" && a.outcome == "released")
            .count()
    };
    let before = released().await;
    let r = t
        .post(&format!("/api/face-check/{id}/reference"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 204);
    assert_eq!(released().await, before + 1);
    let (_, a) = face_check(&t, &id, &liveness_frames("obama", "front")).await;
    assert_eq!(a["outcome"], "same_person", "{a}");
    assert_eq!(
        released().await,
        before + 1,
        "the prepared template was used"
    );
    let (_, a) = face_check(&t, &id, &liveness_frames("obama", "front")).await;
    assert_eq!(a["outcome"], "same_person", "{a}");
    assert_eq!(released().await, before + 2, "and used up");
}

fn walk(dir: &std::path::Path) -> Vec<std::path::PathBuf> {
    let mut files = Vec::new();
    for e in std::fs::read_dir(dir).unwrap().flatten() {
        let p = e.path();
        if p.is_dir() {
            files.extend(walk(&p));
        } else {
            files.push(p);
        }
    }
    files
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle)
}
