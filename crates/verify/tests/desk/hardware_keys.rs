//! The credential's key protection at the desk (issue 15): every valid verdict says how the
//! code's device key is kept, and a venue with `require_hardware_keys = true` refuses a
//! full-details code on software keys in its own words, leaving the lighter tiers alone.

use serde_json::Value;
use tessera_credential::KeyProtection;
use tessera_credential::claims::Tier;
use tessera_verify::desk::VenuePolicy;

use crate::common::seed::{Codes, seed_cache};
use crate::common::*;

const NOW: u64 = 1_800_000_000;

async fn seeded_desk(label: &str, policy: &str) -> DeskServer {
    let dir = tmp_dir(label);
    seed_cache(&dir, NOW);
    DeskServer::start(&dir, None, VenuePolicy::parse(policy).unwrap(), NOW + 5).await
}

fn assert_valid(v: &Value, protection: &str) {
    assert_eq!(v["code"], "valid", "{v}");
    assert_eq!(v["key_protection"], protection, "{v}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_valid_verdict_says_how_the_keys_are_kept() {
    let desk = seeded_desk("keys-default", "").await;
    let t = desk.terminal().await;
    let mut codes = Codes::new(NOW + 5);
    assert_valid(&t.verify(&codes.valid_upgraded()).await, "software");
    assert_valid(&t.verify(&codes.lightweight()).await, "software");
    assert_valid(&t.verify(&codes.age_only(true)).await, "software");
    let v = t
        .verify(&codes.upgraded_with(KeyProtection::HardwareWithPin))
        .await;
    assert_valid(&v, "hardware_with_pin");
    let v = t
        .verify(&codes.upgraded_with(KeyProtection::Hardware))
        .await;
    assert_valid(&v, "hardware");
    // A refusal says nothing about keys.
    let v = t.verify(&codes.expired()).await;
    assert!(v.get("key_protection").is_none(), "{v}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_venue_requiring_hardware_keys_refuses_upgraded_software_keys_only() {
    let desk = seeded_desk("keys-required", "require_hardware_keys = true\n").await;
    let t = desk.terminal().await;
    let mut codes = Codes::new(NOW + 5);
    let software = codes.valid_upgraded();
    let v = t.verify(&software).await;
    assert_eq!(v["valid"], false, "{v}");
    assert_eq!(v["code"], "hardware_keys_required", "{v}");
    assert!(
        v["message"].as_str().unwrap().contains("software keys"),
        "{v}"
    );
    assert!(
        v.get("claims").is_none(),
        "nothing of a refused code is shown: {v}"
    );
    assert!(v.get("verification").is_none(), "{v}");
    // Hardware-kept keys pass, with or without the PIN in the chip.
    let v = t
        .verify(&codes.upgraded_with(KeyProtection::HardwareWithPin))
        .await;
    assert_valid(&v, "hardware_with_pin");
    assert!(v["verification"].is_string(), "{v}");
    let v = t
        .verify(&codes.upgraded_with(KeyProtection::Hardware))
        .await;
    assert_valid(&v, "hardware");
    // The lighter tiers are left alone.
    assert_valid(&t.verify(&codes.lightweight()).await, "software");
    assert_valid(&t.verify(&codes.age_only(true)).await, "software");
    // The refused code was not used up: the same venue's rule, not a replay.
    assert_eq!(t.verify(&software).await["code"], "hardware_keys_required");
}

/// The real issuer's software-key credentials (no TPM) at such a venue.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_issuers_software_credentials_are_refused_for_full_details() {
    let issuer = RealIssuer::start().await;
    let (batch, device) = issuer.enrol().await;
    let dir = tmp_dir("keys-real");
    let policy = VenuePolicy::parse("require_hardware_keys = true\n").unwrap();
    let desk = DeskServer::start(&dir, Some(&issuer.base), policy, START).await;
    desk.desk.cache.refresh(desk.now()).await.unwrap();
    let t = desk.terminal().await;
    let v = t
        .verify(&show(&batch, &device, Tier::Upgraded, START))
        .await;
    assert_eq!(v["code"], "hardware_keys_required", "{v}");
    let v = t
        .verify(&show(&batch, &device, Tier::Lightweight, START))
        .await;
    assert_valid(&v, "software");
}
