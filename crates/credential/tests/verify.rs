//! Verification outcomes, one per rule of DESIGN §2.3, on realistic fixtures.

use tessera_credential::status_list::{StatusListToken, status};
use tessera_credential::*;
use tessera_vectors::*;

fn trust(w: &Wallet) -> TrustList {
    let mut t = TrustList::single("Demo ID authority", w.issuer.public_key());
    t.issuers[0].status_base = Some(STATUS_BASE.into());
    t
}

fn check(p: &Presentation, trust: &TrustList, now: u64) -> Result<Verdict, VerifyError> {
    verify(
        p,
        trust,
        &VerifyOptions::at(now),
        &status_list::NoStatusLists,
        &mut MemoryReplayCache::default(),
    )
}

fn code(r: Result<Verdict, VerifyError>) -> &'static str {
    match r {
        Ok(_) => "valid",
        Err(e) => e.code(),
    }
}

#[test]
fn lightweight_discloses_only_masked_data() {
    let mut w = Wallet::standard();
    let p = w.show_lightweight(NOW);
    let v = check(&p, &trust(&w), NOW + 5).unwrap();
    assert_eq!(v.tier, Tier::Lightweight);
    let Identity::Lightweight(c) = &v.claims else {
        panic!("tier")
    };
    assert_eq!(c.masked_name, "张*明");
    assert_eq!(c.masked_id_number, "110*************2X");
    assert!(c.age_over_18);
    assert_eq!(v.proof_age, 5);
    assert_eq!(v.status, StatusOutcome::NotChecked);
    assert!(!v.checks.contains(&Check::Status));
    assert!(v.checks.contains(&Check::HolderProof));
    let json = serde_json::to_string(&v).unwrap();
    assert!(!json.contains("11010519491231002X") && !json.contains("张晓明"));
}

#[test]
fn upgraded_discloses_registration_data_and_amr() {
    let mut w = Wallet::standard();
    let p = w.show_upgraded(NOW);
    let v = check(&p, &trust(&w), NOW).unwrap();
    let Identity::Upgraded(c) = &v.claims else {
        panic!("tier")
    };
    assert_eq!(c.id_number, PERSON.id_number);
    assert_eq!(c.full_name, PERSON.full_name);
    assert_eq!(c.date_of_birth, "19491231");
    assert_eq!(v.auth.names(), ["user", "pin", "face"]);
    assert_eq!(v.face_verified_at, Some(NOW - 20));
}

#[test]
fn qr_text_round_trips() {
    let mut w = Wallet::standard();
    let p = w.show_upgraded(NOW);
    let text = p.to_qr_text();
    assert!(text.starts_with("TS1:"));
    let back = Presentation::from_qr_text(&format!("{text}\r\n")).unwrap();
    assert_eq!(back.credential.claims, p.credential.claims);
    assert_eq!(back.proof.claims, p.proof.claims);
    assert_eq!(back.to_qr_text(), text);
}

#[test]
fn time_windows() {
    let mut w = Wallet::standard();
    let t = trust(&w);
    let exp = w.lightweight.claims.expires_at;
    let p = w.show_lightweight(exp + 10);
    assert_eq!(code(check(&p, &t, exp + 40)), "expired");
    let p = w.show_lightweight(NOW);
    let nbf = w.lightweight.claims.not_before;
    assert_eq!(code(check(&p, &t, nbf - 31)), "not_yet_valid");
    assert_eq!(code(check(&p, &t, NOW + 60 + 31)), "proof_expired");
    // Within the 30 s skew, still valid.
    assert_eq!(code(check(&p, &t, NOW + 60 + 29)), "valid");
    assert_eq!(code(check(&p, &t, NOW - 31)), "proof_not_yet_valid");
}

#[test]
fn a_proof_longer_than_sixty_seconds_is_refused() {
    let w = Wallet::standard();
    let claims = ProofClaims {
        issued_at: NOW,
        expires_at: NOW + 600,
        nonce: [1; 8],
        tier: Tier::Lightweight,
        auth: AuthMethods::USER,
        face_verified_at: None,
    };
    let proof = HolderProof::sign(claims, &w.lightweight, &w.device).unwrap();
    let p = Presentation {
        credential: w.lightweight.clone(),
        proof,
    };
    assert_eq!(code(check(&p, &trust(&w), NOW)), "proof_lifetime_too_long");
}

#[test]
fn a_proof_moved_to_the_other_credential_is_caught() {
    let mut w = Wallet::standard();
    let up = w.show_upgraded(NOW);
    let moved = Presentation {
        credential: w.lightweight.clone(),
        proof: up.proof,
    };
    assert_eq!(
        code(check(&moved, &trust(&w), NOW)),
        "proof_bound_to_other_credential"
    );
}

#[test]
fn another_devices_proof_is_refused() {
    let mut w = Wallet::standard();
    let other = key("device-2");
    let p = w.show_lightweight(NOW);
    let forged = HolderProof::sign(p.proof.claims.clone(), &w.lightweight, &other);
    assert!(matches!(
        forged,
        Err(tessera_credential::proof::ProofError::WrongDeviceKey)
    ));
    // A credential bound to another device, with this device's proof on it.
    let mut rng = SeededRandomness::new("x");
    let cred2 = issue(
        claims(&other, identity(&PERSON, false), NOW - 10, 5, &mut rng),
        &w.issuer,
    );
    let p2 = Presentation {
        credential: cred2,
        proof: p.proof,
    };
    assert_eq!(code(check(&p2, &trust(&w), NOW)), "bad_holder_proof");
}

#[test]
fn unknown_and_retired_issuer_keys() {
    let mut w = Wallet::standard();
    let p = w.show_lightweight(NOW);
    let stranger = TrustList::single("Someone else", key("other-issuer").public_key());
    assert_eq!(code(check(&p, &stranger, NOW)), "unknown_issuer");
    let mut retired = trust(&w);
    retired.issuers[0].valid_until = Some(NOW - 3600);
    assert_eq!(code(check(&p, &retired, NOW)), "issuer_key_not_valid");
    let mut young = trust(&w);
    young.issuers[0].valid_from = w.lightweight.claims.issued_at + 3600;
    assert_eq!(code(check(&p, &young, NOW)), "issuer_key_not_valid");
}

#[test]
fn upgraded_requirements() {
    let mut w = Wallet::standard();
    // The wallet core refuses to make an upgraded proof without PIN and a fresh face.
    let request = ProofRequest {
        now: NOW,
        lifetime: 60,
        auth: AuthMethods::USER.with(AuthMethods::PIN),
        face_verified_at: None,
    };
    let r = HolderProof::create(&w.upgraded, &w.device, request, 300, &mut w.rng);
    assert!(r.is_err());
    let stale = ProofRequest {
        auth: AuthMethods::USER
            .with(AuthMethods::PIN)
            .with(AuthMethods::FACE),
        face_verified_at: Some(NOW - 301),
        ..request
    };
    assert!(HolderProof::create(&w.upgraded, &w.device, stale, 300, &mut w.rng).is_err());
    // A verifier refuses one signed anyway.
    let claims = ProofClaims {
        issued_at: NOW,
        expires_at: NOW + 60,
        nonce: [9; 8],
        tier: Tier::Upgraded,
        auth: AuthMethods::USER.with(AuthMethods::PIN),
        face_verified_at: Some(NOW - 10),
    };
    let proof = HolderProof::sign(claims.clone(), &w.upgraded, &w.device).unwrap();
    let p = Presentation {
        credential: w.upgraded.clone(),
        proof,
    };
    assert_eq!(code(check(&p, &trust(&w), NOW)), "tier_requirement_not_met");
    let old_face = ProofClaims {
        auth: AuthMethods::PIN.with(AuthMethods::FACE),
        face_verified_at: Some(NOW - 400),
        ..claims
    };
    let proof = HolderProof::sign(old_face, &w.upgraded, &w.device).unwrap();
    let p = Presentation {
        credential: w.upgraded.clone(),
        proof,
    };
    assert_eq!(code(check(&p, &trust(&w), NOW)), "tier_requirement_not_met");
}

#[test]
fn venue_tier_requirement() {
    let mut w = Wallet::standard();
    let p = w.show_lightweight(NOW);
    let mut opts = VerifyOptions::at(NOW);
    opts.required_tier = Some(Tier::Upgraded);
    let r = verify(
        &p,
        &trust(&w),
        &opts,
        &status_list::NoStatusLists,
        &mut MemoryReplayCache::default(),
    );
    assert_eq!(code(r), "tier_requirement_not_met");
    let p = w.show_upgraded(NOW);
    let r = verify(
        &p,
        &trust(&w),
        &opts,
        &status_list::NoStatusLists,
        &mut MemoryReplayCache::default(),
    );
    assert_eq!(code(r), "valid");
}

fn status_lists(w: &Wallet, set: &[(u64, u8)], bits: u8) -> StatusLists {
    let mut list = StatusList::new(bits, 1000).unwrap();
    for (i, s) in set {
        list.set(*i, *s).unwrap();
    }
    let token = StatusListToken {
        signer: w.issuer.kid(),
        uri: format!("{STATUS_BASE}1"),
        issued_at: NOW - 60,
        expires_at: Some(NOW + 86400),
        ttl: Some(3600),
        list,
    };
    let bytes = token.sign(&w.issuer).unwrap();
    let mut lists = StatusLists::default();
    lists.insert(StatusListToken::verify(&bytes, &trust(w), NOW).unwrap());
    lists
}

#[test]
fn status_valid_revoked_suspended() {
    let mut w = Wallet::standard();
    let t = trust(&w);
    let opts = VerifyOptions::at(NOW);
    let p = w.show_lightweight(NOW); // status index 0
    let r = |lists: &StatusLists| verify(&p, &t, &opts, lists, &mut MemoryReplayCache::default());
    let ok = r(&status_lists(&w, &[(1, status::INVALID)], 1)).unwrap();
    assert_eq!(ok.status, StatusOutcome::Valid);
    assert!(ok.checks.contains(&Check::Status));
    assert_eq!(
        code(r(&status_lists(&w, &[(0, status::INVALID)], 1))),
        "revoked"
    );
    assert_eq!(
        code(r(&status_lists(&w, &[(0, status::SUSPENDED)], 2))),
        "suspended"
    );
    assert_eq!(
        code(r(&status_lists(&w, &[(0, 3)], 2))),
        "status_unrecognised"
    );
    let mut strict = opts;
    strict.require_status = true;
    let none = verify(
        &p,
        &t,
        &strict,
        &status_list::NoStatusLists,
        &mut MemoryReplayCache::default(),
    );
    assert_eq!(code(none), "status_unavailable");
}

#[test]
fn status_list_token_is_authenticated() {
    let w = Wallet::standard();
    let token = StatusListToken {
        signer: w.issuer.kid(),
        uri: format!("{STATUS_BASE}1"),
        issued_at: NOW,
        expires_at: Some(NOW + 10),
        ttl: None,
        list: StatusList::new(1, 16).unwrap(),
    };
    let bytes = token.sign(&w.issuer).unwrap();
    assert_eq!(
        StatusListToken::verify(&bytes, &trust(&w), NOW)
            .unwrap()
            .list
            .len(),
        16
    );
    let stranger = TrustList::single("x", key("other").public_key());
    assert!(matches!(
        StatusListToken::verify(&bytes, &stranger, NOW),
        Err(status_list::StatusListError::UnknownSigner(_))
    ));
    assert!(matches!(
        StatusListToken::verify(&bytes, &trust(&w), NOW + 10),
        Err(status_list::StatusListError::Expired(_))
    ));
    let mut bad = bytes.clone();
    let n = bad.len();
    bad[n - 1] ^= 1;
    assert_eq!(
        StatusListToken::verify(&bad, &trust(&w), NOW),
        Err(status_list::StatusListError::BadSignature)
    );
    // A trust list is not a status list, even though both are signed CWTs.
    let tl = trust(&w).sign(&w.issuer).unwrap();
    assert!(matches!(
        StatusListToken::verify(&tl, &trust(&w), NOW),
        Err(status_list::StatusListError::Format(_))
    ));
}

#[test]
fn replays_are_caught_but_refusals_do_not_use_up_a_nonce() {
    let mut w = Wallet::standard();
    let t = trust(&w);
    let p = w.show_lightweight(NOW);
    let mut cache = MemoryReplayCache::default();
    let opts = VerifyOptions::at(NOW);
    let mut venue = opts;
    venue.required_tier = Some(Tier::Upgraded);
    assert!(verify(&p, &t, &venue, &status_list::NoStatusLists, &mut cache).is_err());
    assert!(verify(&p, &t, &opts, &status_list::NoStatusLists, &mut cache).is_ok());
    let again = verify(&p, &t, &opts, &status_list::NoStatusLists, &mut cache);
    assert_eq!(code(again), "replayed");
    // A fresh proof of the same credential is fine.
    let p2 = w.show_lightweight(NOW + 1);
    assert!(verify(&p2, &t, &opts, &status_list::NoStatusLists, &mut cache).is_ok());
    cache.purge(NOW + 200);
    assert!(verify(&p, &t, &opts, &status_list::NoStatusLists, &mut cache).is_ok());
}

#[test]
fn trust_list_signature_and_tampering() {
    let w = Wallet::standard();
    let tl_key = key("trust-list");
    let list = trust(&w);
    let bytes = list.sign(&tl_key).unwrap();
    assert_eq!(
        TrustList::verify(&bytes, &tl_key.public_key()).unwrap(),
        list
    );
    assert_eq!(
        TrustList::verify(&bytes, &w.issuer.public_key()),
        Err(tessera_credential::trust_list::TrustListError::BadSignature)
    );
    for i in 0..bytes.len() {
        let mut b = bytes.clone();
        b[i] ^= 0x20;
        assert!(
            TrustList::verify(&b, &tl_key.public_key()).is_err(),
            "byte {i}"
        );
    }
}

#[test]
fn the_credential_alone_is_a_claim_169_qr() {
    let w = Wallet::standard();
    let text = w.upgraded.to_claim169_qr_text();
    let zipped = base45::decode(&text).unwrap();
    assert_eq!(zipped[0], 0x78, "zlib header");
    let mut raw = Vec::new();
    use std::io::Read;
    flate2::read::ZlibDecoder::new(&zipped[..])
        .read_to_end(&mut raw)
        .unwrap();
    assert_eq!(raw[0], 0xd2, "COSE_Sign1 tag 18");
    let back = Credential::from_bytes(&raw).unwrap();
    assert_eq!(back.claims, w.upgraded.claims);
    // A generic CWT reader sees claim 169 with the standard keys.
    let v: ciborium::Value = ciborium::from_reader(&raw[..]).unwrap();
    let ciborium::Value::Tag(18, arr) = v else {
        panic!("tag")
    };
    let ciborium::Value::Array(items) = *arr else {
        panic!("array")
    };
    let ciborium::Value::Bytes(payload) = &items[2] else {
        panic!("payload")
    };
    let claims: ciborium::Value = ciborium::from_reader(&payload[..]).unwrap();
    let map = claims.as_map().unwrap();
    let c169 = map
        .iter()
        .find(|(k, _)| k.as_integer() == Some(169.into()))
        .unwrap();
    let id = c169.1.as_map().unwrap();
    let get = |k: i64| {
        id.iter()
            .find(|(kk, _)| kk.as_integer() == Some(k.into()))
            .map(|(_, v)| v.clone())
    };
    assert_eq!(get(1).unwrap().as_text(), Some(PERSON.id_number));
    assert_eq!(get(4).unwrap().as_text(), Some(PERSON.full_name));
    assert_eq!(get(8).unwrap().as_text(), Some("19491231"));
    assert_eq!(get(9).unwrap().as_integer(), Some(2.into()));
}

/// After a key rotation the issuer signs its status lists with the new key; they still
/// decide for credentials signed by the old one (both keys share the issuer's status base).
/// A key trusted for another issuer cannot sign lists at this issuer's URIs.
#[test]
fn status_lists_signed_by_a_rotated_key_decide_and_foreign_keys_cannot() {
    let mut w = Wallet::standard();
    let p = w.show_lightweight(NOW); // signed by the old key, status list 1 index 0
    let new_key = key("issuer-rotated");
    let mut t = trust(&w);
    let mut rotated = TrustedIssuer::new("Demo ID authority", new_key.public_key());
    rotated.status_base = Some(STATUS_BASE.into());
    t.issuers.push(rotated);
    let mut list = StatusList::new(2, 1000).unwrap();
    list.set(0, status::INVALID).unwrap();
    let token = |signer: &SoftwareKey, uri: String| {
        StatusListToken {
            signer: signer.kid(),
            uri,
            issued_at: NOW - 60,
            expires_at: Some(NOW + 86400),
            ttl: Some(3600),
            list: list.clone(),
        }
        .sign(signer)
        .unwrap()
    };
    let mut lists = StatusLists::default();
    lists.insert(
        StatusListToken::verify(&token(&new_key, format!("{STATUS_BASE}1")), &t, NOW).unwrap(),
    );
    let opts = VerifyOptions::at(NOW);
    let r = verify(&p, &t, &opts, &lists, &mut MemoryReplayCache::default());
    assert_eq!(
        code(r),
        "revoked",
        "the new key's list speaks for old credentials"
    );
    // An older list from the old key, still held, does not outvote the newer one.
    let stale = StatusListToken {
        signer: w.issuer.kid(),
        uri: format!("{STATUS_BASE}1"),
        issued_at: NOW - 3600,
        expires_at: Some(NOW + 86400),
        ttl: Some(3600),
        list: StatusList::new(2, 1000).unwrap(),
    }
    .sign(&w.issuer)
    .unwrap();
    lists.insert(StatusListToken::verify(&stale, &t, NOW).unwrap());
    assert_eq!(lists.tokens().len(), 2);
    let r = verify(&p, &t, &opts, &lists, &mut MemoryReplayCache::default());
    assert_eq!(code(r), "revoked", "the newest list decides");

    // Another issuer's key, in the same trust list with its own base, signing a list at
    // our URI: refused when the list is read, so it can never mark our credentials valid.
    let foreign_key = key("another-issuer");
    let mut foreign = TrustedIssuer::new("Another authority", foreign_key.public_key());
    foreign.status_base = Some("https://other.example/status/".into());
    t.issuers.push(foreign);
    assert!(matches!(
        StatusListToken::verify(&token(&foreign_key, format!("{STATUS_BASE}1")), &t, NOW),
        Err(status_list::StatusListError::OutsideSignerBase { .. })
    ));
    // Nor a key listed without any status base.
    let bare_key = key("bare-issuer");
    t.issuers
        .push(TrustedIssuer::new("Bare authority", bare_key.public_key()));
    assert!(matches!(
        StatusListToken::verify(&token(&bare_key, format!("{STATUS_BASE}1")), &t, NOW),
        Err(status_list::StatusListError::OutsideSignerBase { .. })
    ));
    // A list dated ahead of the clock (it would outrank every genuine one), or made by a
    // key after its trust ended, is refused.
    assert!(matches!(
        StatusListToken::verify(
            &StatusListToken {
                issued_at: NOW + 3600,
                ..StatusListToken::verify(&token(&new_key, format!("{STATUS_BASE}1")), &t, NOW)
                    .unwrap()
            }
            .sign(&new_key)
            .unwrap(),
            &t,
            NOW
        ),
        Err(status_list::StatusListError::OutsideSignerValidity { .. })
    ));
    let mut ended = t.clone();
    ended.issuers[1].valid_until = Some(NOW - 120);
    // Also a list made before the end, once the end has passed (beyond the skew).
    let before_end =
        StatusListToken::verify(&token(&new_key, format!("{STATUS_BASE}1")), &t, NOW).unwrap();
    let backdated = StatusListToken {
        issued_at: NOW - 1000,
        ..before_end
    }
    .sign(&new_key)
    .unwrap();
    assert!(matches!(
        StatusListToken::verify(&backdated, &ended, NOW + 1000),
        Err(status_list::StatusListError::OutsideSignerValidity { .. })
    ));
    assert!(matches!(
        StatusListToken::verify(&token(&new_key, format!("{STATUS_BASE}1")), &ended, NOW),
        Err(status_list::StatusListError::OutsideSignerValidity { .. })
    ));
    // Nor may a key sign something under its base that is not a list number.
    assert!(matches!(
        StatusListToken::verify(&token(&new_key, format!("{STATUS_BASE}1/../2")), &t, NOW),
        Err(status_list::StatusListError::OutsideSignerBase { .. })
    ));
}
