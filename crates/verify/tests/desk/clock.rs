//! A phone whose clock is minutes off fails at every desk; the desk names the cause.

use tessera_credential::claims::Tier;
use tessera_verify::desk::VenuePolicy;

use crate::common::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_code_from_a_wrong_clock_is_named_as_such() {
    let issuer = RealIssuer::start().await;
    let (batch, device) = issuer.enrol().await;
    let dir = tmp_dir("clock");
    let desk = DeskServer::start(&dir, Some(&issuer.base), VenuePolicy::default(), START).await;
    desk.desk.cache.refresh(START).await.unwrap();
    let t = desk.terminal().await;

    // The phone is 5 minutes ahead.
    let v = t
        .verify(&show(&batch, &device, Tier::Lightweight, START + 300))
        .await;
    assert_eq!(v["code"], "proof_not_yet_valid", "{v}");
    assert_eq!(v["clock_offset_seconds"], 300, "{v}");
    assert!(
        v["message"].as_str().unwrap().contains("about 5 min ahead"),
        "{v}"
    );

    // The phone is 10 minutes behind (or the code is an old screenshot).
    let v = t
        .verify(&show(&batch, &device, Tier::Lightweight, START - 600))
        .await;
    assert_eq!(v["code"], "proof_expired", "{v}");
    assert_eq!(v["clock_offset_seconds"], -540, "{v}");
    assert!(
        v["message"]
            .as_str()
            .unwrap()
            .contains("about 9 min behind"),
        "{v}"
    );

    // A code a little late (a slow scan) is only expired: no clock is blamed.
    let v = t
        .verify(&show(&batch, &device, Tier::Lightweight, START - 100))
        .await;
    assert_eq!(v["code"], "proof_expired", "{v}");
    assert!(v.get("clock_offset_seconds").is_none(), "{v}");
}
