//! The whole journey through the real binaries, as the people in it use them: the ID
//! authority imports its registry and runs `tessera-issuer` on PostgreSQL; a hotel registers
//! its desk and runs `tessera-verify serve`; a citizen enrols with `tessera-wallet`, shows
//! both tiers at the desk (portrait, face check, check-in), renews, loses the phone and
//! moves the ID to a new one; the authority rotates its signing key; a copied code is
//! refused as a replay. Each step asserts what the person would see and the test prints a
//! timeline.
//!
//! Needs `TESSERA_TEST_POSTGRES_URL` (`scripts/postgres.sh`) and the OS keystore
//! (`scripts/with-keyring.sh`); see README.md.

mod support;

use std::path::{Path, PathBuf};

use serde_json::{Value, json};
use support::bins::Binaries;
use support::http::Terminal;
use support::services::{Desk, Issuer, said};
use support::timeline::Timeline;
use support::wallet::Wallet;
use support::{citizen_id, files_in, liveness, now, postgres};
use tessera_credential::{Kid, Presentation};

const PIN: &str = "246810";
const NEW_PHONE_PIN: &str = "135790";
const STAFF: &str = "alice";
const STAFF_PASSWORD: &str = "front desk password";
/// The desk refreshes its lists every second, so a revocation reaches it at once.
const VENUE_POLICY: &str = "refresh_interval_seconds = 1\n";

/// Everyone in the journey.
struct World {
    dir: PathBuf,
    issuer: Issuer,
    desk: Desk,
    /// The desk's first terminal, where the citizen is served.
    front: Terminal,
    anchor: PathBuf,
    phone: Wallet,
}

impl World {
    fn wallet(&self, name: &str) -> Wallet {
        Wallet::new(&self.dir, name, &self.issuer.base, &self.anchor)
    }
}

fn kid_of(qr: &str) -> Kid {
    Presentation::from_qr_text(qr)
        .expect("a Tessera code")
        .credential
        .kid
}

fn assert_valid(v: &Value, tier: &str) {
    assert_eq!(v["code"], "valid", "{v}");
    assert_eq!(v["valid"], true, "{v}");
    assert_eq!(v["tier"], tier, "{v}");
    assert_eq!(v["status"], "valid", "{v}");
}

fn assert_refused(v: &Value, code: &str) {
    assert_eq!(v["valid"], false, "{v}");
    assert_eq!(v["code"], code, "{v}");
}

/// Base64 of each picture in `dir`: frames of the guest from the desk camera.
fn camera_frames(dir: &Path) -> Vec<String> {
    use base64::Engine;
    files_in(dir)
        .iter()
        .map(|f| {
            base64::engine::general_purpose::STANDARD.encode(std::fs::read(f).expect("a frame"))
        })
        .collect()
}

#[test]
fn citizen_journey_enrol_show_check_in_renew_replace_rotate_replay() {
    // Fail fast, before anything is built, on what the environment lacks.
    let server = postgres::server_url();
    let mut timeline = Timeline::default();
    timeline
        .step("binaries: cargo brings tessera-issuer, tessera-verify, tessera-wallet up to date");
    Binaries::get();

    timeline.step("1. authority imports the registry and serves; the hotel registers its desk");
    let mut world = set_up(&server);

    timeline.step("2. citizen enrols, shows both tiers; staff see the portrait");
    let verification = enrol_and_show(&mut world);

    timeline.step("2. desk face check of the guest against the registry portrait");
    face_check(&mut world, &verification);

    timeline.step("2. staff check the guest in; the register's CSV has the stay");
    check_in(&mut world, &verification);

    timeline.step("3. citizen renews: the old code is refused, the new one accepted");
    renew(&mut world);

    timeline.step("4. phone lost: a new phone takes the ID over, the old one's codes are refused");
    let new_phone = replace_phone(&mut world);

    timeline.step("5. issuer rotates its key: old credentials verify, new ones carry the new kid");
    rotate_key(&mut world, &new_phone);

    timeline.step("6. the same code at a second terminal is refused as a replay");
    replay(&mut world, &new_phone);

    timeline.step("clean up: wallets reset, services stopped, database dropped");
    world.phone.reset(PIN);
    new_phone.reset(NEW_PHONE_PIN);
    let World {
        dir,
        mut issuer,
        desk,
        ..
    } = world;
    drop(desk);
    issuer.stop();
    postgres::drop_database(&server, &issuer.database_url);
    let _ = std::fs::remove_dir_all(&dir);
    timeline.finish();
}

/// Step 1: the registry import, the issuer on PostgreSQL, the desk registered with the
/// issuer (its API key in the desk's data dir), a staff account, the desk serving.
fn set_up(server: &str) -> World {
    let dir = support::run_dir();
    let database = postgres::fresh_database(server);
    support::timeline::say(&format!(
        "folder {} (service logs) and database {database}, kept if the journey fails",
        dir.display()
    ));
    let mut issuer = Issuer::new(&dir, &database);
    let anchor = dir.join("authority-trust-list-key.pem");
    let phone = Wallet::new(&dir, "phone-1", &issuer.base, &anchor);
    phone.check_keystore();
    let csv = support::write_registry(&dir.join("registry"));
    let out = issuer.admin(&["registry", "import", csv.to_str().unwrap()], None);
    assert_eq!(out.status.code(), Some(0), "{}", said(&out));
    assert_eq!(
        String::from_utf8_lossy(&out.stdout).trim(),
        "imported 3 new registry record(s); replaced 0; unchanged 0"
    );
    issuer.start();

    // The authority hands its trust-list key to wallets and desks out of band; the issuer
    // serves the same key.
    let anchor_pem = issuer.trust_list_key_pem();
    let served = support::http::get(&format!("{}/v1/trust-list-key", issuer.base));
    assert_eq!(served.text().trim(), anchor_pem.trim());
    std::fs::write(&anchor, &anchor_pem).unwrap();

    // The hotel registers its desk at the authority; the key goes into the desk's data dir.
    let desk_data = dir.join("desk-data");
    std::fs::create_dir_all(desk_data.join("cache")).unwrap();
    let out = issuer.admin(&["verifiers", "add", "Hotel Lakeside front desk"], None);
    assert_eq!(out.status.code(), Some(0), "{}", said(&out));
    let key = String::from_utf8(out.stdout).unwrap().trim().to_owned();
    assert!(
        !key.is_empty() && !key.contains(char::is_whitespace),
        "{key:?}"
    );
    std::fs::write(desk_data.join("issuer-api-key"), &key).unwrap();
    let out = issuer.admin(&["verifiers", "add", "Hotel Lakeside front desk"], None);
    assert_eq!(out.status.code(), Some(2), "a second desk of the same name");
    assert!(said(&out).contains("already exists"), "{}", said(&out));
    // The desk pins the authority's key out of band too, instead of trusting it on first use.
    std::fs::write(desk_data.join("cache/trust-list-key.pem"), &anchor_pem).unwrap();
    let out = Desk::add_staff(&desk_data, STAFF, STAFF_PASSWORD);
    assert_eq!(out.status.code(), Some(0), "{}", said(&out));
    let desk = Desk::start(
        &desk_data,
        &issuer.base,
        VENUE_POLICY,
        &dir.join("desk.log"),
    );

    let mut front = desk.terminal();
    let session = front.session();
    assert_eq!(
        session["staff"],
        Value::Null,
        "nobody logged in yet: {session}"
    );
    assert_eq!(session["portrait_enabled"], true, "{session}");
    assert!(
        session["cache_age"].is_u64(),
        "lists fetched at start: {session}"
    );

    World {
        dir,
        issuer,
        desk,
        front,
        anchor,
        phone,
    }
}

/// Step 2, first half: enrolment with a PIN; the lightweight code; the upgraded code (PIN
/// and a face check on the phone); the registry portrait for logged-in staff only. Returns
/// the upgraded verification's handle.
fn enrol_and_show(world: &mut World) -> String {
    let status = world
        .phone
        .enrol(&citizen_id(), &liveness("obama"), false, PIN);
    assert_eq!(status["state"], "active", "{status}");
    assert_eq!(status["pin_set"], true, "{status}");

    let light = world.phone.show_lightweight();
    let v = world.front.verify(&light);
    assert_valid(&v, "lightweight");
    assert_eq!(v["claims"]["masked_name"], "李*国", "{v}");
    assert!(v["claims"].get("full_name").is_none(), "{v}");
    assert!(v["verification"].is_null(), "nothing to check in: {v}");

    let upgraded = world.phone.show_upgraded(PIN, &liveness("obama"));
    let v = world.front.verify(&upgraded);
    assert_valid(&v, "upgraded");
    assert_eq!(v["claims"]["full_name"], "李建国", "{v}");
    assert_eq!(v["claims"]["id_number"], citizen_id(), "{v}");
    assert_eq!(v["portrait"], true, "{v}");
    let verification = v["verification"]
        .as_str()
        .expect("a verification handle")
        .to_owned();

    let portrait = format!("/api/portrait/{verification}");
    let r = world.front.get(&portrait);
    assert_eq!(r.status, 401, "not logged in: {}", r.text());
    world.front.login(STAFF, STAFF_PASSWORD);
    assert_eq!(world.front.session()["staff"], STAFF);
    let r = world.front.get(&portrait);
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(r.content_type, "image/jpeg");
    let registry_photo = std::fs::read(world.dir.join("registry/photos/obama.jpg")).unwrap();
    assert!(r.body == registry_photo, "the registry photo, as imported");
    verification
}

/// Step 2: the desk camera's frames of the guest compared with the registry portrait:
/// someone else at the counter is told apart, the holder is the same person.
fn face_check(world: &mut World, verification: &str) {
    let path = format!("/api/face-check/{verification}");
    let check = |front: &mut Terminal, person: &str| {
        let frames = camera_frames(&liveness(person).join("front"));
        assert!((2..=8).contains(&frames.len()));
        let r = front.post(&path, &json!({ "frames": frames }));
        assert_eq!(r.status, 200, "POST {path}: {}", r.text());
        r.json()
    };
    let v = check(&mut world.front, "biden");
    assert_eq!(v["outcome"], "not_same_person", "someone else: {v}");
    let v = check(&mut world.front, "obama");
    assert_eq!(v["outcome"], "same_person", "the holder: {v}");
    assert_eq!(v["reason"], Value::Null, "{v}");
    assert!(v["similarity"].is_number(), "{v}");
}

/// Step 2: the check-in and the register the authorities get.
fn check_in(world: &mut World, verification: &str) {
    let stay = json!({
        "verification": verification,
        "room": "1208",
        "arrival": "2026-11-25",
        "departure": "2026-11-27",
    });
    let r = world.front.post("/api/checkins", &stay);
    assert_eq!(r.status, 201, "{}", r.text());
    let r = world.front.post("/api/checkins", &stay);
    assert_eq!(r.status, 404, "one check-in per verification: {}", r.text());

    let r = world.front.get("/api/checkins.csv");
    assert_eq!(r.status, 200, "{}", r.text());
    let csv = r.text();
    let mut reader = csv::Reader::from_reader(csv.as_bytes());
    let header = reader.headers().expect("a header").clone();
    let rows: Vec<csv::StringRecord> = reader.records().map(|r| r.expect("a row")).collect();
    assert_eq!(rows.len(), 1, "{csv}");
    let cell = |name: &str| {
        let i = header.iter().position(|h| h == name);
        &rows[0][i.unwrap_or_else(|| panic!("no {name} column: {csv}"))]
    };
    assert_eq!(cell("room"), "1208");
    assert_eq!(cell("id_number"), citizen_id());
    assert_eq!(cell("full_name"), "李建国");
    assert_eq!(cell("staff"), STAFF);
    // The face check's outcome (the last one made), where the register records it.
    if let Some(i) = header.iter().position(|h| h == "face_check") {
        assert_eq!(&rows[0][i], "same_person", "{csv}");
    }

    let r = world.front.get("/api/checkins");
    assert_eq!(r.status, 200, "{}", r.text());
    let list = r.json();
    let guests = list.as_array().expect("a list");
    assert_eq!(guests.len(), 1, "{list}");
    assert_eq!(guests[0]["room"], "1208", "{list}");
    if let Some(face) = guests[0].get("face_check") {
        assert_eq!(face, "same_person", "{list}");
    }

    // Another terminal, nobody logged in: no register.
    let mut other = world.desk.terminal();
    assert_eq!(other.get("/api/checkins.csv").status, 401);
}

/// Step 3: a renewal revokes the old credentials: a code made before it (not yet scanned)
/// is refused once the desk's lists are fresh; the new credential's code is accepted.
fn renew(world: &mut World) {
    let before = world.phone.show_lightweight();
    let status = world.phone.renew(&liveness("obama"));
    assert_eq!(status["state"], "active", "{status}");
    world.desk.wait_for_lists_fetched_after(now());
    assert_refused(&world.front.verify(&before), "revoked");

    let after = world.phone.show_lightweight();
    assert_valid(&world.front.verify(&after), "lightweight");
    let holder = |qr: &str| {
        Presentation::from_qr_text(qr)
            .unwrap()
            .credential
            .claims
            .holder_key
    };
    assert_ne!(holder(&before), holder(&after), "a new device key");
}

/// Step 4: the phone is lost; a new phone enrols choosing to replace it. Every code of the
/// old phone is refused (one made before, and new ones the thief could make); the new
/// phone's codes are accepted.
fn replace_phone(world: &mut World) -> Wallet {
    let before = world.phone.show_lightweight();
    let new_phone = world.wallet("phone-2");
    let frames = liveness("obama");
    let out = new_phone.try_enrol(&citizen_id(), &frames, false, None);
    assert_eq!(out.status.code(), Some(1), "{}", said(&out));
    assert!(
        said(&out).contains("enrolled on another device"),
        "the new phone says why and how: {}",
        said(&out)
    );
    let status = new_phone.enrol(&citizen_id(), &frames, true, NEW_PHONE_PIN);
    assert_eq!(status["state"], "active", "{status}");
    world.desk.wait_for_lists_fetched_after(now());

    assert_refused(&world.front.verify(&before), "revoked");
    let stolen_light = world.phone.show_lightweight();
    assert_refused(&world.front.verify(&stolen_light), "revoked");
    let stolen_full = world.phone.show_upgraded(PIN, &frames);
    assert_refused(&world.front.verify(&stolen_full), "revoked");

    assert_valid(
        &world.front.verify(&new_phone.show_lightweight()),
        "lightweight",
    );
    let v = world
        .front
        .verify(&new_phone.show_upgraded(NEW_PHONE_PIN, &frames));
    assert_valid(&v, "upgraded");
    assert_eq!(v["claims"]["full_name"], "李建国", "{v}");
    new_phone
}

/// Step 5: `keys rotate` is refused while the issuer runs; stopped, rotated, started again,
/// the issuer publishes both keys: credentials of the old one verify until their end, and a
/// renewal brings credentials of the new one.
fn rotate_key(world: &mut World, phone: &Wallet) {
    let old_kid = kid_of(&phone.show_lightweight());
    let out = world.issuer.rotate_keys();
    assert_eq!(out.status.code(), Some(2), "{}", said(&out));
    assert!(
        said(&out).contains("running issuer service"),
        "{}",
        said(&out)
    );

    world.issuer.stop();
    let out = world.issuer.rotate_keys();
    assert_eq!(out.status.code(), Some(0), "{}", said(&out));
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    let new_kid = stdout
        .strip_prefix("new issuer key ")
        .and_then(|s| s.split(';').next())
        .unwrap_or_else(|| panic!("the new kid: {stdout}"))
        .to_owned();
    assert_ne!(new_kid, old_kid.to_hex());
    world.issuer.start();
    world.desk.wait_for_lists_fetched_after(now());

    let trust = world.issuer.trust_list();
    let old = trust.get(&old_kid).expect("the old key stays trusted");
    let retired_at = old.issued_until.expect("the old key signs no more");
    let trusted_until = old.valid_until.expect("the old key's trust ends");
    let new = trust
        .issuers
        .iter()
        .find(|i| i.kid.to_hex() == new_kid)
        .expect("the new key is published");
    assert_eq!(new.issued_until, None, "the new key signs");

    // The credential from before the rotation still verifies, and will until it expires.
    let code = phone.show_lightweight();
    let credential = Presentation::from_qr_text(&code).unwrap().credential;
    assert_eq!(credential.kid, old_kid);
    assert!(credential.claims.issued_at <= retired_at);
    assert!(
        credential.claims.expires_at <= trusted_until,
        "trusted to its end: expires {} > {trusted_until}",
        credential.claims.expires_at
    );
    assert_valid(&world.front.verify(&code), "lightweight");

    // A renewal brings credentials signed with the new key.
    phone.renew(&liveness("obama"));
    let code = phone.show_lightweight();
    assert_eq!(kid_of(&code).to_hex(), new_kid);
    assert_valid(&world.front.verify(&code), "lightweight");
}

/// Step 6: a code shown once, then the same text at a second terminal of the same desk (a
/// screenshot passed on): refused as a replay.
fn replay(world: &mut World, phone: &Wallet) {
    let code = phone.show_lightweight();
    assert_valid(&world.front.verify(&code), "lightweight");
    let mut second = world.desk.terminal();
    let v = second.verify(&code);
    assert_refused(&v, "replayed");
}
