//! Staff logins and the desk's own address, against the real desk server on loopback: the
//! wrong-password back-off survives a flood of made-up names, a new password or a removal
//! ends the name's sessions (set by the real `tessera-verify staff` command while the desk
//! runs), and a request naming another host (DNS rebinding) is refused.

mod common;

use std::io::Write;

use common::seed::{Codes, seed_cache};
use common::*;
use tessera_verify::desk::VenuePolicy;
use tessera_verify::desk::auth::LoginThrottle;

const NOW: u64 = 1_800_000_000;

async fn seeded_desk(label: &str, policy: &str) -> DeskServer {
    let dir = tmp_dir(label);
    seed_cache(&dir, NOW);
    DeskServer::start(&dir, None, VenuePolicy::parse(policy).unwrap(), NOW + 5).await
}

async fn try_login(t: &Terminal, name: &str, password: &str) -> (u16, serde_json::Value) {
    let r = t
        .post("/api/login")
        .json(&serde_json::json!({ "name": name, "password": password }))
        .send()
        .await
        .unwrap();
    (r.status().as_u16(), r.json().await.unwrap_or_default())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_flood_of_names_does_not_reset_a_staff_members_back_off() {
    let desk = seeded_desk("flood", "").await;
    let phc = tessera_verify::desk::auth::hash_password("front desk password").unwrap();
    desk.desk.store.set_staff("alice", &phc, NOW).await.unwrap();
    let t = desk.terminal().await;
    for _ in 0..5 {
        assert_eq!(try_login(&t, "alice", "guess guess guess").await.0, 401);
    }
    let r = t
        .post("/api/login")
        .json(&serde_json::json!({ "name": "alice", "password": "guess guess guess" }))
        .send()
        .await
        .unwrap();
    // The wait is also machine-readable (RFC 9110 §10.2.3).
    assert_eq!(r.headers()["retry-after"], "30");
    let (status, p): (u16, serde_json::Value) =
        (r.status().as_u16(), r.json().await.unwrap_or_default());
    assert_eq!(
        (status, p["code"].as_str()),
        (429, Some("too_many_attempts"))
    );

    // The 30 s pass. Meanwhile the attacker fails once for each of 10 001 made-up names
    // (recorded as the login handler records them: a real login per name would cost 10 001
    // Argon2 checks, minutes of CPU; what is tested is what the desk remembers).
    desk.advance(31);
    let now = desk.now();
    for i in 0..=LoginThrottle::MAX_OTHER_NAMES {
        desk.desk
            .login_throttle()
            .failed(&format!("made-up-{i}"), false, now);
    }
    // Alice's count was kept: one more wrong password and the wait doubles to 60 s, instead
    // of five fresh free tries.
    assert_eq!(try_login(&t, "alice", "guess guess guess").await.0, 401);
    let (status, p) = try_login(&t, "alice", "front desk password").await;
    assert_eq!(status, 429, "{p}");
    assert!(p["detail"].as_str().unwrap().contains("60 s"), "{p}");
}

fn staff_command(dir: &std::path::Path, args: &[&str], stdin: &[u8]) -> std::process::Output {
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_tessera-verify"))
        .arg("staff")
        .args(&args[..1])
        .arg("--data-dir")
        .arg(dir)
        .args(&args[1..])
        .stdin(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    child.stdin.take().unwrap().write_all(stdin).unwrap();
    child.wait_with_output().unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_new_password_or_a_removal_ends_the_names_sessions() {
    let desk = seeded_desk("sessions", "").await;
    let out = staff_command(&desk.dir, &["add", "alice"], b"first password!\n");
    assert!(out.status.success(), "{out:?}");
    let out = staff_command(&desk.dir, &["add", "bob"], b"bobs password!!\n");
    assert!(out.status.success(), "{out:?}");
    let mut alice = desk.terminal().await;
    alice.login("alice", "first password!").await;
    let mut bob = desk.terminal().await;
    bob.login("bob", "bobs password!!").await;
    let register = |t: &Terminal| {
        let r = t.get("/api/checkins");
        async move { r.send().await.unwrap().status().as_u16() }
    };
    assert_eq!(register(&alice).await, 200);

    // The password is reset (the staff command, while the desk runs): alice's session ends,
    // bob's does not.
    let out = staff_command(&desk.dir, &["add", "alice"], b"second password\n");
    assert!(out.status.success(), "{out:?}");
    assert_eq!(register(&alice).await, 401);
    assert_eq!(register(&bob).await, 200);
    assert_eq!(try_login(&alice, "alice", "first password!").await.0, 401);
    alice.login("alice", "second password").await;
    assert_eq!(register(&alice).await, 200);

    // Removed: the session ends and the name can no longer log in.
    let out = staff_command(&desk.dir, &["remove", "alice"], b"");
    assert!(out.status.success(), "{out:?}");
    assert_eq!(register(&alice).await, 401);
    assert_eq!(try_login(&alice, "alice", "second password").await.0, 401);
    assert_eq!(register(&bob).await, 200);
    let out = staff_command(&desk.dir, &["remove", "alice"], b"");
    assert_eq!(out.status.code(), Some(2), "{out:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn requests_for_another_host_are_refused() {
    let desk = seeded_desk("host", "public_hosts = [\"desk.hotel.example\"]").await;
    let t = desk.terminal().await;
    let port = desk.base.rsplit(':').next().unwrap().to_owned();
    let code = Codes::new(NOW + 5).valid_upgraded();

    // What a rebound page sends: the right address, the attacker's name (and, being the
    // page's own origin, the cookies and CSRF token it obtained from the desk).
    for host in [
        format!("attacker.example:{port}"),
        "attacker.example".to_owned(),
        format!("127.0.0.1.attacker.example:{port}"),
    ] {
        for r in [
            t.post("/api/verify")
                .header("host", &host)
                .json(&serde_json::json!({ "text": code })),
            t.get("/api/session").header("host", &host),
            t.get("/").header("host", &host),
        ] {
            let r = r.send().await.unwrap();
            assert_eq!(r.status(), 421, "{host}");
            assert_eq!(r.headers()["content-type"], "application/problem+json");
            let p: serde_json::Value = r.json().await.unwrap();
            assert_eq!(p["code"], "unknown_host", "{p}");
        }
    }

    // The desk's own names are answered.
    for host in [
        format!("127.0.0.1:{port}"),
        format!("localhost:{port}"),
        "desk.hotel.example".to_owned(),
        "Desk.Hotel.Example:443".to_owned(),
    ] {
        let r = t
            .get("/api/session")
            .header("host", &host)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200, "{host}");
    }
    let r = t
        .post("/api/verify")
        .header("host", format!("localhost:{port}"))
        .json(&serde_json::json!({ "text": code }))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    // A health probe may use any name.
    let r = t
        .get("/healthz")
        .header("host", "probe.internal")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
}
