//! Every endpoint of a real issuer on loopback, with real photos and frames, on SQLite and
//! on PostgreSQL (`TESSERA_TEST_POSTGRES_URL`; `scripts/test.sh` starts a server).

#[macro_use]
mod common;

use common::*;
use reqwest::StatusCode;
use tessera_credential::claims::{Identity, Tier};
use tessera_credential::credential::Credential;
use tessera_credential::keys::Es256Signer;
use tessera_credential::proof::{AuthMethods, HolderProof, ProofRequest};
use tessera_credential::qr_text::Presentation;
use tessera_credential::status_list::{StatusListToken, StatusLists};
use tessera_credential::verify::{MemoryReplayCache, StatusOutcome, VerifyOptions, verify};
use tessera_issuer::Clock;
use tessera_issuer_api::binding::HolderAuthPurpose;
use tessera_issuer_api::{
    AdminRevokeRequest, BatchResponse, HolderRevokeRequest, ProblemType, RevokeResponse,
};

on_both_backends!(
    matching_face_gets_a_batch_that_verifies_offline_and_online,
    another_persons_face_is_refused_and_the_challenge_is_spent,
    wrong_unknown_expired_and_reused_challenges_are_refused,
    static_photo_frames_fail_liveness,
    retried_enrolment_returns_the_same_batch,
    second_device_needs_replace_which_revokes_the_first,
    renewal_rotates_the_key_and_revokes_the_old_batch,
    holder_and_admin_revocation,
    enrolment_is_rate_limited_per_id_number,
    per_client_limits_believe_forwarded_for_only_from_trusted_proxies,
    bad_requests_get_problem_details,
    lists_and_service_endpoints,
    lists_signed_after_a_key_rotation_still_decide_for_old_credentials,
);

async fn matching_face_gets_a_batch_that_verifies_offline_and_online(backend: Backend) {
    let h = start(backend).await;
    let device = new_device();
    let batch = h.enrol(&obama_id(), "obama", &device).await.ok();
    assert_eq!(batch.credentials.len(), 2);
    assert!(batch.face_similarity >= tessera_face::template::MATCH_THRESHOLD);
    assert_eq!(batch.expires_at - batch.issued_at, 365 * 86_400);

    let trust = h.trust_list().await;
    for tier in [Tier::Lightweight, Tier::Upgraded] {
        let credential = Credential::from_bytes(&credential_of(&batch, tier)).unwrap();
        assert_eq!(credential.claims.holder_key, device.public_key());
        assert_eq!(credential.claims.tier(), tier);
        match (&credential.claims.identity, tier) {
            (Identity::Lightweight(c), Tier::Lightweight) => {
                assert_eq!(c.masked_name, "李*国");
                assert!(c.age_over_18);
            }
            (Identity::Upgraded(c), Tier::Upgraded) => {
                assert_eq!(c.id_number, obama_id());
                assert_eq!(c.full_name, "李建国");
                assert_eq!(c.date_of_birth, "19610804");
            }
            other => panic!("{other:?}"),
        }
        // The wallet shows it; a verifier checks it with the served lists.
        let now = h.clock.0.load(std::sync::atomic::Ordering::SeqCst);
        let face = Some(now);
        let request = ProofRequest {
            now,
            lifetime: 60,
            auth: AuthMethods::USER
                .with(AuthMethods::PIN)
                .with(AuthMethods::FACE),
            face_verified_at: face,
        };
        let proof = HolderProof::create(
            &credential,
            &device,
            request,
            300,
            &mut tessera_issuer::config::OsRandomness,
        )
        .unwrap();
        let p = Presentation { credential, proof };
        let mut lists = StatusLists::default();
        let bytes = h
            .get_bytes(&format!("/v1/status/{}", p.credential.claims.status.list))
            .await;
        lists.insert(
            tessera_credential::status_list::StatusListToken::verify(&bytes, &trust, now).unwrap(),
        );
        let mut options = VerifyOptions::at(now);
        options.require_status = true;
        let verdict = verify(
            &p,
            &trust,
            &options,
            &lists,
            &mut MemoryReplayCache::default(),
        )
        .expect("verifies");
        assert_eq!(verdict.status, StatusOutcome::Valid);
        assert_eq!(h.status_of(&credential_of(&batch, tier)).await, 0);
    }
    // The decision is audited, without images.
    let log = h.issuer().store().audit_log().await.unwrap();
    assert!(
        log.iter()
            .any(|a| a.event == "enrol" && a.outcome == "issued")
    );
}

async fn another_persons_face_is_refused_and_the_challenge_is_spent(backend: Backend) {
    let h = start(backend).await;
    let device = new_device();
    let c = h.challenge_for(&device).await;
    let req = h.enrol_request(&c, &obama_id(), frames("biden", &c.actions), &device);
    let (status, kind) = h
        .post_json::<_, BatchResponse>("/v1/enrolments", &req)
        .await
        .problem();
    assert_eq!(
        (status, kind),
        (StatusCode::UNPROCESSABLE_ENTITY, ProblemType::FaceMismatch)
    );
    // Single use: the same challenge, now with the right face, is refused.
    let req = h.enrol_request(&c, &obama_id(), frames("obama", &c.actions), &device);
    let (_, kind) = h
        .post_json::<_, BatchResponse>("/v1/enrolments", &req)
        .await
        .problem();
    assert_eq!(kind, ProblemType::ChallengeReused);
    let log = h.issuer().store().audit_log().await.unwrap();
    let refusal = log.iter().find(|a| a.outcome == "refused").unwrap();
    assert!(refusal.detail.starts_with("face-mismatch"), "{refusal:?}");
    // And a fresh challenge with the right face works.
    h.enrol(&obama_id(), "obama", &device).await.ok();
}

async fn wrong_unknown_expired_and_reused_challenges_are_refused(backend: Backend) {
    let h = start(backend).await;
    // Answering a different order than asked.
    let device_2 = new_device();
    let c = h.challenge_for(&device_2).await;
    let mut wrong = c.actions.clone();
    let n = wrong.len();
    wrong.swap(n - 1, n - 2);
    let req = h.enrol_request(&c, &obama_id(), frames("obama", &wrong), &device_2);
    let (status, kind) = h
        .post_json::<_, BatchResponse>("/v1/enrolments", &req)
        .await
        .problem();
    assert_eq!(
        (status, kind),
        (
            StatusCode::UNPROCESSABLE_ENTITY,
            ProblemType::LivenessFailed
        )
    );

    // A challenge this issuer never made.
    let device_3 = new_device();
    let mut forged = h.challenge_for(&device_3).await;
    forged.challenge_id = "00".repeat(16);
    let req = h.enrol_request(
        &forged,
        &obama_id(),
        frames("obama", &forged.actions),
        &device_3,
    );
    let (status, kind) = h
        .post_json::<_, BatchResponse>("/v1/enrolments", &req)
        .await
        .problem();
    assert_eq!(
        (status, kind),
        (StatusCode::NOT_FOUND, ProblemType::UnknownChallenge)
    );

    // Too late.
    let device_4 = new_device();
    let c = h.challenge_for(&device_4).await;
    h.clock.advance(121);
    let req = h.enrol_request(&c, &obama_id(), frames("obama", &c.actions), &device_4);
    let (status, kind) = h
        .post_json::<_, BatchResponse>("/v1/enrolments", &req)
        .await
        .problem();
    assert_eq!(
        (status, kind),
        (StatusCode::GONE, ProblemType::ChallengeExpired)
    );

    // Used by one device, then replayed by another.
    let device_5 = new_device();
    let c = h.challenge_for(&device_5).await;
    let req = h.enrol_request(&c, &obama_id(), frames("obama", &c.actions), &device_5);
    h.post_json::<_, BatchResponse>("/v1/enrolments", &req)
        .await
        .ok();
    let req = h.enrol_request(&c, &obama_id(), frames("obama", &c.actions), &new_device());
    let (status, kind) = h
        .post_json::<_, BatchResponse>("/v1/enrolments", &req)
        .await
        .problem();
    assert_eq!(
        (status, kind),
        (StatusCode::CONFLICT, ProblemType::ChallengeKeyMismatch)
    );
    // Spent by a refused answer, then answered again by the same key.
    let device_7 = new_device();
    let c = h.challenge_for(&device_7).await;
    let req = h.enrol_request(&c, &biden_id(), frames("obama", &c.actions), &device_7);
    let (_, kind) = h
        .post_json::<_, BatchResponse>("/v1/enrolments", &req)
        .await
        .problem();
    assert_eq!(kind, ProblemType::FaceMismatch);
    let req = h.enrol_request(&c, &biden_id(), frames("biden", &c.actions), &device_7);
    let (status, kind) = h
        .post_json::<_, BatchResponse>("/v1/enrolments", &req)
        .await
        .problem();
    assert_eq!(
        (status, kind),
        (StatusCode::CONFLICT, ProblemType::ChallengeReused)
    );
}

async fn static_photo_frames_fail_liveness(backend: Backend) {
    let h = start(backend).await;
    let device_6 = new_device();
    let c = h.challenge_for(&device_6).await;
    let still = frames("obama", &["static".to_owned()]);
    let req = h.enrol_request(&c, &obama_id(), still, &device_6);
    let answer = h
        .post_json::<_, BatchResponse>("/v1/enrolments", &req)
        .await;
    match answer {
        Answer::Problem(_, p) => {
            assert_eq!(p.kind(), Some(ProblemType::LivenessFailed));
            assert!(p.extra.unwrap().to_string().contains("static_image"));
        }
        other => panic!("{other:?}"),
    }
}

async fn retried_enrolment_returns_the_same_batch(backend: Backend) {
    let h = start(backend).await;
    let device = new_device();
    let c = h.challenge_for(&device).await;
    let req = h.enrol_request(&c, &obama_id(), frames("obama", &c.actions), &device);
    let first = h
        .post_json::<_, BatchResponse>("/v1/enrolments", &req)
        .await
        .ok();
    let again = h
        .post_json::<_, BatchResponse>("/v1/enrolments", &req)
        .await
        .ok();
    assert_eq!(first, again);
    let (enrolments, credentials, broken) = h.issuer().store().consistency().await.unwrap();
    assert_eq!((enrolments, credentials, broken), (1, 2, 0));
    // The same device key cannot start a second enrolment.
    let (_, kind) = h
        .enrol(&astronaut_id(), "astronaut", &device)
        .await
        .problem();
    assert_eq!(kind, ProblemType::DeviceKeyReused);
}

async fn second_device_needs_replace_which_revokes_the_first(backend: Backend) {
    let h = start(backend).await;
    let first = h.enrol(&obama_id(), "obama", &new_device()).await.ok();
    let (status, kind) = h.enrol(&obama_id(), "obama", &new_device()).await.problem();
    assert_eq!(
        (status, kind),
        (StatusCode::CONFLICT, ProblemType::AlreadyEnrolled)
    );

    let device_8 = new_device();
    let c = h.challenge_for(&device_8).await;
    let mut req = h.enrol_request(&c, &obama_id(), frames("obama", &c.actions), &device_8);
    req.replace_existing = true;
    let second = h
        .post_json::<_, BatchResponse>("/v1/enrolments", &req)
        .await
        .ok();
    assert_eq!(h.status_of(&lightweight(&first)).await, 1);
    assert_eq!(h.status_of(&upgraded(&first)).await, 1);
    assert_eq!(h.status_of(&lightweight(&second)).await, 0);
}

async fn renewal_rotates_the_key_and_revokes_the_old_batch(backend: Backend) {
    let h = start(backend).await;
    let old_device = new_device();
    let old = h
        .enrol(&astronaut_id(), "astronaut", &old_device)
        .await
        .ok();
    h.clock.advance(86_400);
    let new_device_key = new_device();
    let new = h
        .renew(&old, &old_device, &new_device_key, "astronaut")
        .await
        .ok();
    assert_ne!(new.enrolment_id, old.enrolment_id);
    let renewed = Credential::from_bytes(&upgraded(&new)).unwrap();
    assert_eq!(renewed.claims.holder_key, new_device_key.public_key());
    for c in [lightweight(&old), upgraded(&old)] {
        assert_eq!(h.status_of(&c).await, 1, "old credential revoked");
    }
    assert_eq!(h.status_of(&upgraded(&new)).await, 0);
    // The old credential cannot renew again.
    let (status, kind) = h
        .renew(&old, &old_device, &new_device(), "astronaut")
        .await
        .problem();
    assert_eq!(
        (status, kind),
        (StatusCode::CONFLICT, ProblemType::CredentialNotActive)
    );
    // Another person's face cannot renew this credential.
    let (_, kind) = h
        .renew(&new, &new_device_key, &new_device(), "obama")
        .await
        .problem();
    assert_eq!(kind, ProblemType::FaceMismatch);
    // A proof not bound to the challenge and the new key is refused: one made for another
    // purpose (e.g. revocation), or for renewal onto another key (a relay that swaps the new
    // key keeps the person's presentation, which names the person's key).
    let next = new_device();
    let relay_key = new_device();
    for purpose in [
        HolderAuthPurpose::Revoke,
        HolderAuthPurpose::renew(&tessera_credential::keys::spki_der(&relay_key.public_key())),
    ] {
        let c = h.challenge_for(&next).await;
        let presentation = h.holder_presentation(&lightweight(&new), &new_device_key, &c, purpose);
        let pop =
            tessera_issuer_api::DeviceKeyProof::create(&next, &c.challenge_id, &c.nonce).unwrap();
        let req = tessera_issuer_api::RenewRequest {
            challenge_id: c.challenge_id.clone(),
            presentation,
            device_key: tessera_issuer_api::DeviceKey {
                public_key: pop.key_der,
                proof: pop.signature,
            },
            frames: frames("astronaut", &c.actions),
            batch: None,
            tpm: None,
        };
        let (status, kind) = h
            .post_json::<_, BatchResponse>("/v1/renewals", &req)
            .await
            .problem();
        assert_eq!(
            (status, kind),
            (StatusCode::UNAUTHORIZED, ProblemType::HolderAuthFailed),
            "{purpose:?}"
        );
    }
}

async fn holder_and_admin_revocation(backend: Backend) {
    let h = start(backend).await;
    let device = new_device();
    let batch = h.enrol(&obama_id(), "obama", &device).await.ok();
    let c = h.challenge_unbound().await;
    let req = HolderRevokeRequest {
        challenge_id: c.challenge_id.clone(),
        presentation: h.holder_presentation(
            &lightweight(&batch),
            &device,
            &c,
            HolderAuthPurpose::Revoke,
        ),
    };
    let r: RevokeResponse = h.post_json("/v1/revocations", &req).await.ok();
    assert_eq!(r.revoked, 2);
    assert_eq!(h.status_of(&upgraded(&batch)).await, 1);

    let other = h.enrol(&biden_id(), "biden", &new_device()).await.ok();
    let body = AdminRevokeRequest {
        id_number: biden_id(),
        reason: "reported stolen".into(),
    };
    for token in [None, Some("wrong-token-wrong-token-wrong-token")] {
        let mut r = h.client.post(h.url("/v1/admin/revocations")).json(&body);
        if let Some(t) = token {
            r = r.bearer_auth(t);
        }
        let (status, kind) = answer::<RevokeResponse>(r.send().await.unwrap())
            .await
            .problem();
        assert_eq!(
            (status, kind),
            (StatusCode::UNAUTHORIZED, ProblemType::Unauthorized)
        );
    }
    assert_eq!(h.status_of(&lightweight(&other)).await, 0);
    let token = h.issuer().keys().admin_token.to_string();
    let r = h
        .client
        .post(h.url("/v1/admin/revocations"))
        .bearer_auth(token)
        .json(&body)
        .send()
        .await
        .unwrap();
    let r: RevokeResponse = answer(r).await.ok();
    assert_eq!(r.revoked, 2);
    assert_eq!(h.status_of(&lightweight(&other)).await, 1);
    let log = h.issuer().store().audit_log().await.unwrap();
    assert!(
        log.iter()
            .any(|a| a.event == "admin_revoke" && a.detail.contains("reported stolen"))
    );
}

async fn enrolment_is_rate_limited_per_id_number(backend: Backend) {
    let h = start_with(backend, |c| c.attempts_per_id = 2).await;
    for _ in 0..2 {
        let (_, kind) = h.enrol(&obama_id(), "biden", &new_device()).await.problem();
        assert_eq!(kind, ProblemType::FaceMismatch);
    }
    let device_9 = new_device();
    let c = h.challenge_for(&device_9).await;
    let req = h.enrol_request(&c, &obama_id(), frames("obama", &c.actions), &device_9);
    let r = h
        .client
        .post(h.url("/v1/enrolments"))
        .json(&req)
        .send()
        .await
        .unwrap();
    assert!(r.headers().get("retry-after").is_some());
    let (status, kind) = answer::<BatchResponse>(r).await.problem();
    assert_eq!(
        (status, kind),
        (StatusCode::TOO_MANY_REQUESTS, ProblemType::RateLimited)
    );
    // Other people are not affected.
    h.enrol(&biden_id(), "biden", &new_device()).await.ok();
}

async fn per_client_limits_believe_forwarded_for_only_from_trusted_proxies(backend: Backend) {
    async fn attempt(h: &Harness, forwarded_for: &str) -> ProblemType {
        let device_10 = new_device();
        let c = h.challenge_for(&device_10).await;
        let req = h.enrol_request(&c, &obama_id(), frames("biden", &c.actions), &device_10);
        let r = h
            .client
            .post(h.url("/v1/enrolments"))
            .header("x-forwarded-for", forwarded_for)
            .json(&req)
            .send()
            .await
            .unwrap();
        answer::<BatchResponse>(r).await.problem().1
    }
    // Behind a trusted proxy (the test client's loopback address): one attempt per client.
    let h = start_with(backend, |c| {
        c.attempts_per_ip = 1;
        c.attempts_per_id = 100;
        c.trusted_proxies = vec!["127.0.0.1".parse().unwrap()];
    })
    .await;
    assert_eq!(attempt(&h, "203.0.113.1").await, ProblemType::FaceMismatch);
    assert_eq!(attempt(&h, "203.0.113.2").await, ProblemType::FaceMismatch);
    assert_eq!(attempt(&h, "203.0.113.1").await, ProblemType::RateLimited);
    drop(h);
    // Without trusted proxies the header is ignored: a client cannot dodge the limit with it.
    let h = start_with(backend, |c| {
        c.attempts_per_ip = 1;
        c.attempts_per_id = 100;
    })
    .await;
    assert_eq!(attempt(&h, "203.0.113.1").await, ProblemType::FaceMismatch);
    assert_eq!(attempt(&h, "203.0.113.2").await, ProblemType::RateLimited);
}

async fn bad_requests_get_problem_details(backend: Backend) {
    let h = start_with(backend, |c| c.max_body_bytes = 2 * 1024 * 1024).await;
    let post = |path: &'static str, body: Vec<u8>, ct: &'static str| {
        let r = h
            .client
            .post(h.url(path))
            .header("content-type", ct)
            .body(body);
        async move {
            answer::<serde_json::Value>(r.send().await.unwrap())
                .await
                .problem()
        }
    };
    // Oversized.
    let big = vec![b'a'; 3 * 1024 * 1024];
    assert_eq!(
        post("/v1/enrolments", big, "application/json").await,
        (StatusCode::PAYLOAD_TOO_LARGE, ProblemType::PayloadTooLarge)
    );
    // Small-body endpoints have a small limit.
    assert_eq!(
        post(
            "/v1/revocations",
            vec![b'a'; 100 * 1024],
            "application/json"
        )
        .await,
        (StatusCode::PAYLOAD_TOO_LARGE, ProblemType::PayloadTooLarge)
    );
    // Malformed JSON, wrong type, wrong content type.
    assert_eq!(
        post("/v1/enrolments", b"{not json".to_vec(), "application/json")
            .await
            .1,
        ProblemType::Malformed
    );
    assert_eq!(
        post(
            "/v1/enrolments",
            b"{\"frames\": 3}".to_vec(),
            "application/json"
        )
        .await
        .1,
        ProblemType::Malformed
    );
    assert_eq!(
        post("/v1/renewals", b"{}".to_vec(), "text/plain").await.1,
        ProblemType::Malformed
    );
    // An ID number with a wrong check character.
    let device_11 = new_device();
    let c = h.challenge_for(&device_11).await;
    let mut bad = obama_id();
    bad.pop();
    bad.push(if obama_id().ends_with('0') { '1' } else { '0' });
    let req = h.enrol_request(&c, &bad, frames("obama", &c.actions), &device_11);
    let (status, kind) = h
        .post_json::<_, BatchResponse>("/v1/enrolments", &req)
        .await
        .problem();
    assert_eq!(
        (status, kind),
        (StatusCode::BAD_REQUEST, ProblemType::Malformed)
    );
    // Not in the registry.
    let stranger = id_number("500101", "19900101", 5);
    let req = h.enrol_request(&c, &stranger, frames("obama", &c.actions), &device_11);
    let (status, kind) = h
        .post_json::<_, BatchResponse>("/v1/enrolments", &req)
        .await
        .problem();
    assert_eq!(
        (status, kind),
        (StatusCode::NOT_FOUND, ProblemType::UnknownIdNumber)
    );
    // Another key than the challenge's.
    let device_12 = new_device();
    let c = h.challenge_for(&device_12).await;
    let mut req = h.enrol_request(&c, &obama_id(), frames("obama", &c.actions), &device_12);
    req.device_key.public_key = tessera_credential::keys::spki_der(&new_device().public_key());
    let (status, kind) = h
        .post_json::<_, BatchResponse>("/v1/enrolments", &req)
        .await
        .problem();
    assert_eq!(
        (status, kind),
        (StatusCode::CONFLICT, ProblemType::ChallengeKeyMismatch)
    );
    // The challenge's key with a proof of possession that does not verify.
    let mut req = h.enrol_request(&c, &obama_id(), frames("obama", &c.actions), &device_12);
    req.device_key.proof[5] ^= 1;
    let (status, kind) = h
        .post_json::<_, BatchResponse>("/v1/enrolments", &req)
        .await
        .problem();
    assert_eq!(
        (status, kind),
        (StatusCode::BAD_REQUEST, ProblemType::BadDeviceKey)
    );
    // Frames that are not images.
    let device_13 = new_device();
    let c = h.challenge_for(&device_13).await;
    let req = h.enrol_request(
        &c,
        &obama_id(),
        vec![b"GIF89a junk".to_vec(); 3],
        &device_13,
    );
    let (status, kind) = h
        .post_json::<_, BatchResponse>("/v1/enrolments", &req)
        .await
        .problem();
    assert_eq!(
        (status, kind),
        (StatusCode::UNPROCESSABLE_ENTITY, ProblemType::FaceNotUsable)
    );
    // Frames each within the side limit but too many pixels together (blank 1920×1080 PNGs
    // are a few kilobytes each; decoded, 17 of them are 35 megapixels).
    let device_14 = new_device();
    let c = h.challenge_for(&device_14).await;
    let req = h.enrol_request(&c, &obama_id(), vec![blank_png(1920, 1080); 17], &device_14);
    match h
        .post_json::<_, BatchResponse>("/v1/enrolments", &req)
        .await
    {
        Answer::Problem(status, p) => {
            assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE);
            assert_eq!(p.kind(), Some(ProblemType::PayloadTooLarge));
            let detail = p.detail.unwrap_or_default();
            assert!(detail.contains("35.3 megapixels"), "{detail}");
        }
        Answer::Ok(s, b) => panic!("{s}: {b:?}"),
    }
    // One frame too large on a side.
    let device_15 = new_device();
    let c = h.challenge_for(&device_15).await;
    let req = h.enrol_request(&c, &obama_id(), vec![blank_png(2000, 100)], &device_15);
    let (status, kind) = h
        .post_json::<_, BatchResponse>("/v1/enrolments", &req)
        .await
        .problem();
    assert_eq!(
        (status, kind),
        (StatusCode::UNPROCESSABLE_ENTITY, ProblemType::FaceNotUsable)
    );
    // No frames at all.
    let device_16 = new_device();
    let c = h.challenge_for(&device_16).await;
    let req = h.enrol_request(&c, &obama_id(), vec![], &device_16);
    let (_, kind) = h
        .post_json::<_, BatchResponse>("/v1/enrolments", &req)
        .await
        .problem();
    assert_eq!(kind, ProblemType::Malformed);
    // Nothing was issued by any of it.
    assert_eq!(h.issuer().store().consistency().await.unwrap().0, 0);
}

/// A black PNG of `width`×`height` (a few kilobytes, however large).
fn blank_png(width: u32, height: u32) -> Vec<u8> {
    let mut png = Vec::new();
    image::RgbImage::new(width, height)
        .write_to(&mut std::io::Cursor::new(&mut png), image::ImageFormat::Png)
        .unwrap();
    png
}

async fn lists_and_service_endpoints(backend: Backend) {
    let h = start(backend).await;
    h.enrol(&obama_id(), "obama", &new_device()).await.ok();
    // Caching headers and conditional requests.
    for path in ["/v1/trust-list", "/v1/status/1"] {
        let r = h.client.get(h.url(path)).send().await.unwrap();
        assert_eq!(r.status(), StatusCode::OK);
        let etag = r.headers()["etag"].to_str().unwrap().to_owned();
        assert!(
            r.headers()["cache-control"]
                .to_str()
                .unwrap()
                .contains("max-age=")
        );
        let r = h
            .client
            .get(h.url(path))
            .header("if-none-match", &etag)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::NOT_MODIFIED, "{path}");
    }
    let trust = h.trust_list().await;
    assert_eq!(trust.issuers.len(), 1);
    assert!(
        trust.issuers[0]
            .status_base
            .as_deref()
            .unwrap()
            .ends_with("/v1/status/")
    );
    for path in ["/v1/status/99", "/v1/status/abc", "/nothing"] {
        let r = h.client.get(h.url(path)).send().await.unwrap();
        let (status, kind) = answer::<serde_json::Value>(r).await.problem();
        assert_eq!(
            (status, kind),
            (StatusCode::NOT_FOUND, ProblemType::NotFound),
            "{path}"
        );
    }
    let health: serde_json::Value = h
        .client
        .get(h.url("/healthz"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(health["status"], "ok");
    assert_eq!(health["registry"], 3);
    // The OpenAPI document names every route the router serves.
    let doc: serde_json::Value = h
        .client
        .get(h.url("/openapi.json"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    for path in [
        "/healthz",
        "/openapi.json",
        "/v1/challenges",
        "/v1/enrolments",
        "/v1/renewals",
        "/v1/revocations",
        "/v1/admin/revocations",
        "/v1/trust-list",
        "/v1/trust-list-key",
        "/v1/status/{list}",
        "/.well-known/openid-configuration",
        "/oidc/jwks",
        "/oidc/authorize",
        "/oidc/token",
        "/oidc/sign-ins/{id}",
        "/oidc/sign-ins/{id}/approval",
        "/oidc/sign-ins/{id}/refusal",
        "/oidc/sign-ins/{id}/status",
    ] {
        assert!(
            doc["paths"].get(path).is_some(),
            "{path} missing from openapi.json"
        );
    }
    let types = doc["components"]["schemas"]["Problem"]["properties"]["type"]["enum"].to_string();
    for t in ProblemType::ALL {
        assert!(
            types.contains(&t.uri()),
            "{} missing from openapi.json",
            t.uri()
        );
    }
}

/// After `keys rotate` the issuer signs status lists with the new key; a desk must still
/// see a revocation of a credential signed by the old one (it once saw "status unavailable",
/// which a lenient desk shows as valid).
async fn lists_signed_after_a_key_rotation_still_decide_for_old_credentials(backend: Backend) {
    let mut h = start(backend).await;
    let device = new_device();
    let batch = h.enrol(&obama_id(), "obama", &device).await.ok();
    let old = lightweight(&batch);
    let old_kid = Credential::from_bytes(&old).unwrap().kid;
    h.restart_with_rotated_key().await;

    let body = serde_json::json!({"id_number": obama_id(), "reason": "reported stolen"});
    let r = h
        .client
        .post(h.url("/v1/admin/revocations"))
        .bearer_auth(h.issuer().keys().admin_token.to_string())
        .json(&body)
        .send()
        .await
        .unwrap();
    assert_eq!(answer::<RevokeResponse>(r).await.ok().revoked, 2);

    let trust = h.trust_list().await;
    assert_eq!(trust.issuers.len(), 2, "both keys are trusted");
    // The list the credential's slot is in (one of the open lists, at random).
    let list = Credential::from_bytes(&old).unwrap().claims.status.list;
    let bytes = h.get_bytes(&format!("/v1/status/{list}")).await;
    let token = StatusListToken::verify(&bytes, &trust, h.clock.now()).unwrap();
    assert_ne!(token.signer, old_kid, "the list is signed by the new key");
    let mut lists = StatusLists::default();
    lists.insert(token);
    let challenge = h.challenge_unbound().await;
    let shown = h.holder_presentation(&old, &device, &challenge, HolderAuthPurpose::Revoke);
    let p = Presentation::from_qr_text(&shown).unwrap();
    let mut options = VerifyOptions::at(h.clock.now());
    options.require_status = false; // a lenient desk: an unknown status would pass
    let r = verify(
        &p,
        &trust,
        &options,
        &lists,
        &mut MemoryReplayCache::default(),
    );
    assert_eq!(r.map(|v| v.status).map_err(|e| e.code()), Err("revoked"));
}
