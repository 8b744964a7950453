//! The front desk against a real issuer on loopback: status refresh sees a revocation, the
//! desk verifies offline from its cached lists and refuses once they are older than the
//! policy allows, replays are caught across terminals and restarts, and the registry
//! portrait flows issuer → desk server → logged-in staff only.

mod common;
mod desk {
    mod age_only;
    mod clock;
    mod face_check;
    mod hardware_keys;
}

use common::*;
use tessera_credential::claims::Tier;
use tessera_verify::desk::VenuePolicy;

fn policy(text: &str) -> VenuePolicy {
    VenuePolicy::parse(text).unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn status_refresh_sees_a_revocation() {
    let issuer = RealIssuer::start().await;
    let (batch, device) = issuer.enrol().await;
    let dir = tmp_dir("revocation");
    let desk = DeskServer::start(&dir, Some(&issuer.base), VenuePolicy::default(), START).await;
    desk.desk.cache.refresh(desk.now()).await.unwrap();
    let t = desk.terminal().await;
    // The guest register's database is the desk user's only (WAL files inherit the mode).
    #[cfg(unix)]
    for file in ["desk.sqlite3", "desk.sqlite3-wal"] {
        use std::os::unix::fs::PermissionsExt;
        if let Ok(m) = std::fs::metadata(dir.join(file)) {
            assert_eq!(m.permissions().mode() & 0o777, 0o600, "{file}");
        }
    }
    assert!(dir.join("desk.sqlite3").exists());

    let v = t
        .verify(&show(&batch, &device, Tier::Lightweight, START))
        .await;
    assert_eq!(v["code"], "valid", "{v}");
    assert_eq!(v["status"], "valid");
    assert_eq!(v["claims"]["masked_name"], "李*国");
    assert!(
        v["claims"].get("full_name").is_none(),
        "lightweight discloses no full name"
    );

    issuer.revoke_all().await;
    // Until the desk refreshes, its cached list says valid (that is what a cache is).
    issuer.advance(5);
    desk.advance(5);
    desk.desk.cache.refresh(desk.now()).await.unwrap();
    let v = t
        .verify(&show(&batch, &device, Tier::Lightweight, desk.now()))
        .await;
    assert_eq!(v["valid"], false);
    assert_eq!(v["code"], "revoked", "{v}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn desk_verifies_offline_from_its_cache_and_refuses_when_stale() {
    let mut issuer = RealIssuer::start().await;
    let (batch, device) = issuer.enrol().await;
    let dir = tmp_dir("offline");
    let p = "max_cache_age_seconds = 3600\n";
    {
        let desk = DeskServer::start(&dir, Some(&issuer.base), policy(p), START).await;
        desk.desk.cache.refresh(desk.now()).await.unwrap();
    }
    let dead = issuer.base.clone();
    issuer.stop().await;

    // A restarted desk, issuer unreachable: the last good copy on disk is used.
    let desk = DeskServer::start(&dir, Some(&dead), policy(p), START + 600).await;
    assert!(
        desk.desk.cache.refresh(desk.now()).await.is_err(),
        "issuer is down"
    );
    let t = desk.terminal().await;
    let v = t
        .verify(&show(&batch, &device, Tier::Upgraded, desk.now()))
        .await;
    assert_eq!(v["code"], "valid", "{v}");
    assert_eq!(v["cache_age"], 600);
    assert_eq!(v["claims"]["full_name"], "李建国");

    // An hour and more later the lists are too old for this venue.
    desk.advance(3001);
    let v = t
        .verify(&show(&batch, &device, Tier::Upgraded, desk.now()))
        .await;
    assert_eq!(v["valid"], false);
    assert_eq!(v["code"], "stale_cache", "{v}");
    assert_eq!(v["cache_age"], 3601);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn replays_are_caught_across_terminals_and_restarts() {
    let issuer = RealIssuer::start().await;
    let (batch, device) = issuer.enrol().await;
    let dir = tmp_dir("replay");
    let code = show(&batch, &device, Tier::Lightweight, START);
    {
        let desk = DeskServer::start(&dir, Some(&issuer.base), VenuePolicy::default(), START).await;
        desk.desk.cache.refresh(START).await.unwrap();
        let (a, b) = (desk.terminal().await, desk.terminal().await);
        assert_eq!(a.verify(&code).await["code"], "valid");
        assert_eq!(b.verify(&code).await["code"], "replayed");
    }
    let desk =
        DeskServer::start(&dir, Some(&issuer.base), VenuePolicy::default(), START + 10).await;
    let v = desk.terminal().await.verify(&code).await;
    assert_eq!(
        v["code"], "replayed",
        "the replay cache survives a restart: {v}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn portrait_goes_through_the_desk_to_logged_in_staff_for_fresh_codes_only() {
    let issuer = RealIssuer::start().await;
    let (batch, device) = issuer.enrol().await;
    let dir = tmp_dir("portrait");
    let key = issuer
        .issuer
        .add_verifier("Desk test")
        .await
        .unwrap()
        .unwrap();
    std::fs::write(dir.join("issuer-api-key"), &key).unwrap();
    let phc = tessera_verify::desk::auth::hash_password("front desk password").unwrap();
    let desk = DeskServer::start(
        &dir,
        Some(&issuer.base),
        policy("required_tier = \"upgraded\""),
        START,
    )
    .await;
    desk.desk
        .store
        .set_staff("alice", &phc, START)
        .await
        .unwrap();
    desk.desk.cache.refresh(START).await.unwrap();

    let mut t = desk.terminal().await;
    // The venue requires the upgraded tier.
    let v = t
        .verify(&show(&batch, &device, Tier::Lightweight, START))
        .await;
    assert_eq!(v["code"], "tier_requirement_not_met", "{v}");

    let v = t
        .verify(&show(&batch, &device, Tier::Upgraded, START))
        .await;
    assert_eq!(v["code"], "valid", "{v}");
    assert_eq!(v["portrait"], true);
    let id = v["verification"].as_str().unwrap().to_owned();
    let path = format!("/api/portrait/{id}");

    // Not logged in: refused by the desk.
    let r = t.get(&path).send().await.unwrap();
    assert_eq!(r.status(), 401);
    assert_eq!(r.headers()["content-type"], "application/problem+json");

    t.login("alice", "front desk password").await;
    let r = t.get(&path).send().await.unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(r.headers()["content-type"], "image/jpeg");
    let photo = r.bytes().await.unwrap();
    let person = issuer
        .issuer
        .store()
        .person(&obama_id())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(photo.as_ref(), person.photo.as_slice());

    // Two minutes later the proof is stale: the issuer refuses, the desk says so.
    issuer.advance(120);
    let r = t.get(&path).send().await.unwrap();
    assert_eq!(r.status(), 502);
    let p: serde_json::Value = r.json().await.unwrap();
    assert_eq!(p["code"], "portrait_refused", "{p}");
    assert!(
        p["detail"].as_str().unwrap().contains("proof_expired"),
        "{p}"
    );

    // Check-in records the verified claims; the register needs the session.
    let r = t
        .post("/api/checkins")
        .json(&serde_json::json!({"verification": id, "room": "1208", "arrival": "2026-11-25", "departure": "2026-11-27"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 201);
    let csv = t
        .get("/api/checkins.csv")
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        csv.contains(&obama_id()) && csv.contains("李建国") && csv.contains("1208"),
        "{csv}"
    );
    let anonymous = desk.terminal().await;
    assert_eq!(
        anonymous
            .get("/api/checkins.csv")
            .send()
            .await
            .unwrap()
            .status(),
        401
    );
    assert_eq!(
        anonymous
            .get("/api/checkins")
            .send()
            .await
            .unwrap()
            .status(),
        401
    );

    // The audit on the issuer holds both decisions, and never the image.
    let log = issuer.issuer.store().audit_log().await.unwrap();
    let outcomes: Vec<_> = log
        .iter()
        .filter(|a| a.event == "portrait")
        .map(|a| a.outcome.as_str())
        .collect();
    assert_eq!(outcomes, ["released", "refused"]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_desk_without_an_issuer_key_gets_no_portrait() {
    let issuer = RealIssuer::start().await;
    let (batch, device) = issuer.enrol().await;
    let dir = tmp_dir("nokey");
    let desk = DeskServer::start(&dir, Some(&issuer.base), VenuePolicy::default(), START).await;
    desk.desk.cache.refresh(START).await.unwrap();
    let phc = tessera_verify::desk::auth::hash_password("front desk password").unwrap();
    desk.desk.store.set_staff("bob", &phc, START).await.unwrap();
    let mut t = desk.terminal().await;
    t.login("bob", "front desk password").await;
    let v = t
        .verify(&show(&batch, &device, Tier::Upgraded, START))
        .await;
    assert_eq!(v["portrait"], false);
    let id = v["verification"].as_str().unwrap();
    let r = t.get(&format!("/api/portrait/{id}")).send().await.unwrap();
    assert_eq!(r.status(), 409);
    // An issuer asked directly by an unregistered verifier refuses too.
    let r = reqwest::Client::new()
        .post(format!("{}/v1/portraits", issuer.base))
        .json(&serde_json::json!({"presentation": show(&batch, &device, Tier::Upgraded, START)}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 401);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn online_status_required_refuses_when_the_issuer_is_unreachable() {
    let mut issuer = RealIssuer::start().await;
    let (batch, device) = issuer.enrol().await;
    let dir = tmp_dir("online");
    let p = policy("online_status_required = true\n");
    let desk = DeskServer::start(&dir, Some(&issuer.base), p.clone(), START).await;
    desk.desk.cache.refresh(START).await.unwrap();
    let t = desk.terminal().await;
    let v = t
        .verify(&show(&batch, &device, Tier::Lightweight, START))
        .await;
    assert_eq!(v["code"], "valid", "{v}");
    assert_eq!(v["status"], "valid");

    // The issuer goes away (a new desk process: no kept-alive connection to the old one).
    drop(desk);
    issuer.stop().await;
    let desk = DeskServer::start(&dir, Some(&issuer.base), p, START + 1).await;
    let t = desk.terminal().await;
    let v = t
        .verify(&show(&batch, &device, Tier::Lightweight, START + 1))
        .await;
    assert_eq!(v["code"], "status_unavailable", "{v}");
}
