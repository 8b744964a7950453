//! The real app, end to end: the `tessera-app` binary in a real window (Xvfb), driven by
//! WebKitWebDriver, over the real Secret Service (run under `scripts/with-keyring.sh`), with
//! its embedded demo issuer and the built-in demo recording as the camera.
//!
//! enrol → PIN → home → lightweight QR read back from a screenshot of the window and verified
//! with `tessera-verify` against the issuer's trust and status lists → age-only QR likewise →
//! wrong PIN refused → upgraded QR after PIN and face → renewal, after which the first QR reads
//! as revoked → history (one entry per showing) → the PIN changed in Settings (with the current
//! one) → remove the ID with it.
//!
//! Set `TESSERA_E2E_SCREENSHOTS=DIR` to keep a PNG of each screen.

mod common;

use std::process::Command;

use serde_json::json;
use tessera_credential::claims::Tier;
use tessera_credential::status_list::StatusLists;
use tessera_credential::verify::{StatusOutcome, VerifyOptions};

use common::webdriver::Session;
use common::{QUICK, SLOW, Shots, now};

const APP: &str = env!("CARGO_BIN_EXE_tessera-app");
const PIN: &str = "246810";
/// What the PIN is changed to in Settings.
const NEW_PIN: &str = "802417";

fn curl(url: &str) -> Vec<u8> {
    let out = Command::new("curl")
        .args(["-sf", "--max-time", "60", url])
        .output()
        .expect("curl");
    assert!(out.status.success(), "GET {url} failed");
    out.stdout
}

/// `tessera-verify`'s own loading and checking, with the lists the demo issuer serves now.
fn verify(
    issuer: &str,
    qr: &str,
    tier: Tier,
) -> Result<(StatusOutcome, serde_json::Value), String> {
    verify_at(issuer, qr, tier, now())
}

/// [`verify`] as a desk would have at `at` (the proof's 60 s window), with the status list
/// the issuer serves now.
fn verify_at(
    issuer: &str,
    qr: &str,
    tier: Tier,
    at: u64,
) -> Result<(StatusOutcome, serde_json::Value), String> {
    let pem = String::from_utf8(curl(&format!("{issuer}/v1/trust-list-key"))).expect("PEM");
    let trust = tessera_verify::load_trust(
        "trust-list",
        &curl(&format!("{issuer}/v1/trust-list")),
        Some(&pem),
    )
    .expect("the issuer's trust list verifies");
    // Credentials land in one of the issuer's four open status lists, at random.
    let mut lists = StatusLists::default();
    for n in 1..=4 {
        tessera_verify::load_status_list(
            &mut lists,
            &format!("status-{n}"),
            &curl(&format!("{issuer}/v1/status/{n}")),
            &trust,
            now(),
        )
        .expect("the status list verifies");
    }
    let mut options = VerifyOptions::at(at);
    options.required_tier = Some(tier);
    options.require_status = true;
    match tessera_verify::check_text(qr, &trust, &options, &lists) {
        tessera_verify::Report::Valid { verdict, .. } => Ok((
            verdict.status,
            serde_json::to_value(&verdict).expect("verdict JSON"),
        )),
        tessera_verify::Report::Invalid { error, .. } => Err(error.code.to_owned()),
    }
}

/// Waits for the QR image to be drawn, then reads it back from a screenshot of the window.
fn read_qr(session: &Session, shots: &Shots, name: &str) -> String {
    session.wait_for("img#qr", SLOW);
    session.wait_until(
        "the QR image is drawn",
        "const q = document.querySelector('img#qr'); return !!q && q.offsetParent !== null && q.complete && q.naturalWidth > 0",
        QUICK,
    );
    // The window's snapshot is the last painted frame, which on a loaded machine can lag
    // behind the page: read it again until the compositor has caught up.
    let deadline = std::time::Instant::now() + QUICK;
    loop {
        std::thread::sleep(std::time::Duration::from_millis(500));
        let png = shots.keep(session, name);
        match tessera_qr::decode_image(&png) {
            Ok(text) => return text,
            Err(e) if std::time::Instant::now() >= deadline => {
                let path = std::env::temp_dir().join(format!("tessera-e2e-{name}.png"));
                let _ = std::fs::write(&path, &png);
                panic!(
                    "no QR code read from the window ({e}); screenshot in {}",
                    path.display()
                )
            }
            Err(_) => {}
        }
    }
}

fn home(session: &Session) {
    session.click("#nav-home");
    session.wait_for("[data-screen=\"home\"]", QUICK);
}

#[test]
fn enrol_show_both_tiers_renew_and_remove_in_the_real_app() {
    assert!(
        std::env::var_os("DBUS_SESSION_BUS_ADDRESS").is_some(),
        "no D-Bus session: run under scripts/with-keyring.sh (the app keeps its keys in the Secret Service)"
    );
    let shots = Shots::from_env();
    let app = common::launch(APP, &[("TESSERA_DEMO_VALIDITY_DAYS", "20")]);
    let session = &app.session;
    let issuer = app.issuer.clone();

    // Welcome → enrolment with the demo person's ID number and the demo recording.
    session.wait_for("[data-screen=\"welcome\"]", QUICK);
    shots.keep(session, "welcome");
    common::enrol(session, PIN, &mut |s| {
        shots.keep(s, "enrol-capture");
    });
    let name = session.text("#card-name");
    assert!(
        name.contains("王*红"),
        "the card shows the masked name: {name:?}"
    );
    assert!(
        session.try_find("#renewal-banner").is_some(),
        "renewal is due (20-day validity)"
    );
    shots.keep(session, "home");

    // Lightweight QR, read from the window and verified as a desk would.
    session.click("#show-id");
    session.wait_for("[data-screen=\"show\"]", QUICK);
    session.click("#tier-lightweight");
    let first_qr = read_qr(session, &shots, "show-lightweight");
    let first_qr_at = now();
    let (status, verdict) =
        verify(&issuer, &first_qr, Tier::Lightweight).expect("the lightweight QR verifies");
    assert_eq!(status, StatusOutcome::Valid);
    assert_eq!(verdict["claims"]["masked_name"], "王*红", "{verdict}");
    assert!(
        !verdict.to_string().contains("王小红"),
        "the lightweight tier must not disclose the full name"
    );
    let countdown = session.text("#qr-countdown");
    assert!(
        countdown.chars().any(|c| c.is_ascii_digit()),
        "{countdown:?}"
    );
    session.click("#qr-close");

    // Age only (bars, shops, ticket gates): "over 18" and nothing that names the person, from
    // another one-time credential than the basic check's.
    session.click("#show-id");
    session.click("#tier-age_only");
    let age_qr = read_qr(session, &shots, "show-age-only");
    let heading = session.text("#qr-title");
    assert!(
        heading.contains("18"),
        "the heading says what is shown: {heading:?}"
    );
    let (status, verdict) =
        verify(&issuer, &age_qr, Tier::AgeOnly).expect("the age-only QR verifies");
    assert_eq!(status, StatusOutcome::Valid);
    assert_eq!(verdict["claims"]["age_over_18"], true, "{verdict}");
    let shown = verdict.to_string();
    assert!(
        !shown.contains("masked_name") && !shown.contains('王') && !shown.contains("*24"),
        "the age-only tier discloses no name or ID number: {verdict}"
    );
    assert_ne!(age_qr, first_qr);
    session.click("#qr-close");

    // Upgraded: a wrong PIN is refused, the right one plus a face check unlocks.
    session.click("#show-id");
    session.click("#tier-upgraded");
    session.type_into("#unlock-pin", "999999");
    session.click("#unlock-submit");
    session.wait_for("[role=\"alert\"][data-error-kind=\"wrong_pin\"]", SLOW);
    shots.keep(session, "show-upgraded-wrong-pin");
    session.type_into("#unlock-pin", PIN);
    session.click("#unlock-submit");
    let upgraded_qr = read_qr(session, &shots, "show-upgraded");
    let (status, verdict) =
        verify(&issuer, &upgraded_qr, Tier::Upgraded).expect("the upgraded QR verifies");
    assert_eq!(status, StatusOutcome::Valid);
    assert_eq!(verdict["claims"]["full_name"], "王小红", "{verdict}");
    assert_eq!(verdict["claims"]["id_number"], "110101199003071524");
    session.click("#qr-close");

    // Renewal: new key and batch; the old batch is revoked at the issuer.
    home(session);
    session.click("#renew-start");
    session.click("#renew-confirm");
    session.wait_for("#renew-result.result-ok, #renew-result.result-fail", SLOW);
    let outcome = session.script(
        "const r = document.querySelector('#renew-result'); return [r.className, r.innerText]",
        json!([]),
    );
    assert!(
        outcome[0].as_str().is_some_and(|c| c.contains("result-ok")),
        "renewal: {outcome}"
    );
    shots.keep(session, "renewed");
    // Checked as of when it was shown: by now its 60 s proof may have expired, which
    // would hide the status.
    assert_eq!(
        verify_at(&issuer, &first_qr, Tier::Lightweight, first_qr_at).map(|v| v.0),
        Err("revoked".to_owned()),
        "the credential shown before renewal is revoked"
    );
    home(session);
    session.click("#show-id");
    session.click("#tier-lightweight");
    let renewed_qr = read_qr(session, &shots, "show-after-renewal");
    assert_ne!(renewed_qr, first_qr);
    verify(&issuer, &renewed_qr, Tier::Lightweight).expect("the renewed credential verifies");
    session.click("#qr-close");

    // History: the four showings, newest first, time and tier only: one entry per showing,
    // however long its screen stayed open regenerating codes.
    session.click("#nav-history");
    session.wait_for("#history-list li", QUICK);
    let entries = session.script(
        "return Array.from(document.querySelectorAll('#history-list li')).map((li) => li.dataset.tier)",
        json!([]),
    );
    assert_eq!(
        entries,
        json!(["lightweight", "upgraded", "age_only", "lightweight"]),
        "history entries"
    );
    shots.keep(session, "history");

    // Settings: change the PIN, which needs the current one (the form opens in place).
    session.click("#nav-settings");
    shots.keep(session, "settings");
    session.click("#change-pin");
    session.type_into("#pin-current", PIN);
    session.type_into("#pin-new", NEW_PIN);
    session.type_into("#pin-confirm", NEW_PIN);
    session.click("#pin-save");
    session.wait_for("#pin-changed:not([hidden])", QUICK);

    // Remove the ID, which needs the PIN once one is set (a stolen unlocked device or a
    // compromised web layer cannot remove it): the old PIN no longer works, the new one
    // does; the app is back at the welcome screen and the keystore empty.
    session.click("#remove-id");
    session.click("#remove-confirm");
    session.wait_for("[role=\"alert\"][data-error-kind=\"pin_required\"]", QUICK);
    session.type_into("#remove-pin", PIN);
    session.click("#remove-confirm");
    session.wait_for("[role=\"alert\"][data-error-kind=\"wrong_pin\"]", QUICK);
    session.type_into("#remove-pin", NEW_PIN);
    session.click("#remove-confirm");
    session.wait_for("[data-screen=\"welcome\"]", QUICK);
    app.end();
}
