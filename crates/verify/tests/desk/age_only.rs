//! The age-only tier at the desk, with one-time credentials from a real enrolment: accepted
//! with no policy and where the venue requires at least `age_only`, refused where it needs
//! a name (`required_tier = "lightweight"`), the only code a venue with `accepted_tiers =
//! ["age_only"]` takes; its verdict carries no name or ID number, and nothing personal is
//! kept for it.

use serde_json::Value;
use tessera_credential::claims::Tier;
use tessera_verify::desk::VenuePolicy;

use crate::common::*;

fn policy(text: &str) -> VenuePolicy {
    VenuePolicy::parse(text).unwrap()
}

/// Nothing in `v` names the person.
fn assert_nothing_personal(v: &Value) {
    let text = v.to_string();
    for word in [
        "masked_name",
        "masked_id_number",
        "full_name",
        "id_number",
        "date_of_birth",
        "李",
        "国",
        "110",
    ] {
        assert!(!text.contains(word), "{word} in {text}");
    }
}

/// The desk's database (its WAL included) holds no part of the person's name (the three
/// bytes of either character; the masked ID's digits could occur by chance in binary pages).
fn assert_nothing_personal_stored(dir: &std::path::Path) {
    for entry in std::fs::read_dir(dir).unwrap().flatten() {
        let path = entry.path();
        if !path
            .file_name()
            .unwrap()
            .to_string_lossy()
            .starts_with("desk.sqlite3")
        {
            continue;
        }
        let bytes = std::fs::read(&path).unwrap();
        for needle in ["李", "国"] {
            assert!(
                !bytes.windows(3).any(|w| w == needle.as_bytes()),
                "{} holds part of the name",
                path.display()
            );
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn age_only_codes_at_venues_of_each_policy() {
    let issuer = RealIssuer::start().await;
    let (batch, device, one_time) = issuer
        .enrol_with(&[Tier::AgeOnly, Tier::AgeOnly, Tier::Lightweight])
        .await;
    // The answer: the upgraded credential on the main key, then one per batch key.
    assert_eq!(batch.credentials.len(), 4, "{:?}", batch.credentials.len());
    assert_eq!(batch.credentials[0].tier, "upgraded");
    let age_key = &one_time[0].1;
    let light_key = &one_time[2].1;
    assert_eq!(credential_of(&batch, age_key).claims.tier(), Tier::AgeOnly);
    assert_eq!(
        credential_of(&batch, light_key).claims.tier(),
        Tier::Lightweight
    );
    let upgraded = || present(credential_of(&batch, &device), &device, START);

    // No policy: the age-only code is valid and says over 18, nothing else.
    let dir = tmp_dir("age-any");
    let desk = DeskServer::start(&dir, Some(&issuer.base), VenuePolicy::default(), START).await;
    desk.desk.cache.refresh(START).await.unwrap();
    let t = desk.terminal().await;
    let v = t.verify(&show_one_time(&batch, age_key, START)).await;
    assert_eq!(v["code"], "valid", "{v}");
    assert_eq!(v["tier"], "age_only", "{v}");
    assert_eq!(
        v["claims"],
        serde_json::json!({"tier": "age_only", "age_over_18": true}),
        "{v}"
    );
    assert!(v.get("verification").is_none(), "no check-in handle: {v}");
    assert_eq!(v["portrait"], false, "{v}");
    assert_nothing_personal(&v);
    let v = t.verify(&show_one_time(&batch, light_key, START)).await;
    assert_eq!(v["code"], "valid", "{v}");
    assert_eq!(v["claims"]["masked_name"], "李*国", "{v}");
    drop(desk);

    // `required_tier = "age_only"`: every tier passes (age_only is the lowest).
    let dir = tmp_dir("age-required");
    let desk = DeskServer::start(
        &dir,
        Some(&issuer.base),
        policy("required_tier = \"age_only\""),
        START,
    )
    .await;
    desk.desk.cache.refresh(START).await.unwrap();
    let t = desk.terminal().await;
    let session: Value = t
        .get("/api/session")
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(session["required_tier"], "age_only", "{session}");
    assert_eq!(session["accepted_tiers"], Value::Null, "{session}");
    let v = t
        .verify(&show_one_time(&batch, &one_time[1].1, START))
        .await;
    assert_eq!(v["code"], "valid", "{v}");
    assert_eq!(v["tier"], "age_only", "{v}");
    assert_eq!(t.verify(&upgraded()).await["code"], "valid");
    drop(desk);

    // A venue that needs a name: the age-only code is below its tier.
    let dir = tmp_dir("age-light");
    let desk = DeskServer::start(
        &dir,
        Some(&issuer.base),
        policy("required_tier = \"lightweight\""),
        START,
    )
    .await;
    desk.desk.cache.refresh(START).await.unwrap();
    let t = desk.terminal().await;
    let v = t.verify(&show_one_time(&batch, age_key, START)).await;
    assert_eq!(v["valid"], false, "{v}");
    assert_eq!(v["code"], "tier_requirement_not_met", "{v}");
    assert!(
        v["message"]
            .as_str()
            .unwrap()
            .contains("requires the lightweight tier, the code is age_only"),
        "{v}"
    );
    assert!(v.get("claims").is_none() && v.get("tier").is_none(), "{v}");
    assert_eq!(
        t.verify(&show_one_time(&batch, light_key, START)).await["code"],
        "valid"
    );
    drop(desk);

    // A bar that takes only the age-only code: the others are refused, with nothing of
    // them shown, and not used up.
    let dir = tmp_dir("age-only-bar");
    let desk = DeskServer::start(
        &dir,
        Some(&issuer.base),
        policy("accepted_tiers = [\"age_only\"]"),
        START,
    )
    .await;
    let phc = tessera_verify::desk::auth::hash_password("bar staff password").unwrap();
    desk.desk.store.set_staff("bob", &phc, START).await.unwrap();
    desk.desk.cache.refresh(START).await.unwrap();
    let mut t = desk.terminal().await;
    let session: Value = t
        .get("/api/session")
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(
        session["accepted_tiers"],
        serde_json::json!(["age_only"]),
        "{session}"
    );
    let light = show_one_time(&batch, light_key, START);
    for code in [light.clone(), upgraded()] {
        let v = t.verify(&code).await;
        assert_eq!(v["valid"], false, "{v}");
        assert_eq!(v["code"], "tier_not_accepted", "{v}");
        let message = v["message"].as_str().unwrap();
        assert!(
            message.contains("this venue only accepts the age-only code")
                && message.ends_with("show that instead"),
            "{v}"
        );
        assert!(v.get("claims").is_none() && v.get("tier").is_none(), "{v}");
        assert!(v.get("verification").is_none(), "{v}");
        assert_nothing_personal(&v);
    }
    // Refused, so not used up: the same code is still good at a venue that takes it.
    assert_eq!(t.verify(&light).await["code"], "tier_not_accepted");

    t.login("bob", "bar staff password").await;
    let v = t.verify(&show_one_time(&batch, age_key, START)).await;
    assert_eq!(v["code"], "valid", "{v}");
    assert_eq!(v["claims"]["age_over_18"], true, "{v}");
    assert!(v.get("verification").is_none(), "{v}");
    assert_nothing_personal(&v);

    // Nothing to check in and nothing registered: the register and its CSV stay empty.
    let r = t
        .post("/api/checkins")
        .json(&serde_json::json!({"verification": v["verification"], "room": "1", "arrival": "2026-11-25", "departure": "2026-11-25"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 400, "no handle, no check-in");
    let rows: Value = t
        .get("/api/checkins")
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(rows, serde_json::json!([]));
    let csv = t
        .get("/api/checkins.csv")
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert_eq!(csv.lines().count(), 1, "the header only: {csv}");
    assert_nothing_personal_stored(&dir);
}
