//! Batches of one-time credentials and refills (issue 14), on SQLite and PostgreSQL:
//! what is issued and how it is bound, what a relay or a greedy holder cannot get, the
//! refill's retry and limits, and revocation and renewal covering every credential.

#[macro_use]
mod common;

use common::*;
use reqwest::StatusCode;
use tessera_credential::claims::{Identity, Tier};
use tessera_credential::credential::Credential;
use tessera_credential::keys::{Es256Signer, SoftwareKey, spki_der};
use tessera_issuer::Clock;
use tessera_issuer_api::batch::refill_sha256;
use tessera_issuer_api::binding::HolderAuthPurpose;
use tessera_issuer_api::{
    AdminRevokeRequest, BatchKey, BatchKeys, BatchResponse, ChallengeResponse, DeviceKey,
    DeviceKeyProof, EnrolRequest, ProblemType, RefillRequest, RefillResponse, RevokeResponse,
};

on_both_backends!(
    enrolment_issues_one_time_credentials_each_on_its_own_key,
    a_batch_must_be_signed_by_the_device_key_and_stay_within_the_batch_size,
    a_refill_retires_the_shown_and_issues_fresh_ones_once,
    refills_are_refused_beyond_the_batch_for_others_and_past_the_daily_limit,
    revocation_and_renewal_cover_every_one_time_credential,
    concurrent_refills_of_three_people_all_go_through,
);

const SIZE: u32 = 3;

async fn small_batches(backend: Backend) -> Harness {
    start_with(backend, |c| {
        c.batch_size = SIZE;
        c.refills_per_day = 3;
    })
    .await
}

/// One-time keys: `n` of each batch tier.
fn keys(n: u32) -> Vec<(Tier, SoftwareKey)> {
    let mut out = Vec::new();
    for tier in [Tier::Lightweight, Tier::AgeOnly] {
        for _ in 0..n {
            out.push((tier, new_device()));
        }
    }
    out
}

fn proven(keys: &[(Tier, SoftwareKey)], c: &ChallengeResponse) -> Vec<BatchKey> {
    keys.iter()
        .map(|(t, k)| BatchKey::create(*t, k, &c.challenge_id, &c.nonce).unwrap())
        .collect()
}

fn with_batch(
    c: &ChallengeResponse,
    device: &SoftwareKey,
    batch_signer: &SoftwareKey,
    keys: &[(Tier, SoftwareKey)],
) -> EnrolRequest {
    let mut req = answer_challenge(c, &obama_id(), frames("obama", &c.actions), device);
    req.batch =
        Some(BatchKeys::create(proven(keys, c), batch_signer, &c.challenge_id, &c.nonce).unwrap());
    req
}

/// Enrols obama with `n` one-time keys of each tier.
async fn enrol_batch(
    h: &Harness,
    n: u32,
) -> (SoftwareKey, Vec<(Tier, SoftwareKey)>, BatchResponse) {
    let device = new_device();
    let keys = keys(n);
    let c = h.challenge_for(&device).await;
    let batch: BatchResponse = h
        .post_json("/v1/enrolments", &with_batch(&c, &device, &device, &keys))
        .await
        .ok();
    (device, keys, batch)
}

fn copy(k: &SoftwareKey) -> SoftwareKey {
    SoftwareKey::from_secret_bytes(&k.secret_bytes()).unwrap()
}

fn parsed(bytes: &[u8]) -> Credential {
    Credential::from_bytes(bytes).unwrap()
}

/// The one-time credential bound to `key` in `issued`.
fn bound_to<'a>(issued: &'a [tessera_issuer_api::IssuedCredential], key: &SoftwareKey) -> &'a [u8] {
    &issued
        .iter()
        .find(|c| parsed(&c.credential).claims.holder_key == key.public_key())
        .expect("a credential bound to the key")
        .credential
}

fn cti(bytes: &[u8]) -> String {
    hex::encode(parsed(bytes).claims.credential_id)
}

async fn enrolment_issues_one_time_credentials_each_on_its_own_key(backend: Backend) {
    let h = small_batches(backend).await;
    let (device, keys, batch) = enrol_batch(&h, SIZE).await;
    assert_eq!(batch.credentials.len(), 1 + 2 * SIZE as usize);
    let upgraded = parsed(&batch.credentials[0].credential);
    assert_eq!(upgraded.claims.tier(), Tier::Upgraded);
    assert_eq!(upgraded.claims.holder_key, device.public_key());
    let mut seen_cti = std::collections::HashSet::new();
    let mut seen_slot = std::collections::HashSet::new();
    let mut times = std::collections::HashSet::new();
    for (tier, key) in &keys {
        let bytes = bound_to(&batch.credentials, key);
        let c = parsed(bytes);
        assert_eq!(c.claims.tier(), *tier);
        match &c.claims.identity {
            Identity::AgeOnly(a) => assert!(a.age_over_18),
            Identity::Lightweight(l) => assert_eq!(l.masked_name, "李*国"),
            Identity::Upgraded(_) => panic!("an upgraded credential on a batch key"),
        }
        assert!(seen_cti.insert(c.claims.credential_id), "a cti repeats");
        assert!(
            seen_slot.insert((c.claims.status.list, c.claims.status.idx)),
            "a status slot repeats"
        );
        // Day-rounded times, the same for every one-time credential: the day's start, or
        // the signing key's valid_from if the key is younger than the day.
        let now = h.clock.now();
        let key_since = h.trust_list().await.issuers[0].valid_from;
        assert_eq!(c.claims.issued_at, (now - now % 86_400).max(key_since));
        assert_eq!(c.claims.expires_at % 86_400, 0);
        assert_eq!(c.claims.not_before, c.claims.issued_at);
        times.insert((c.claims.issued_at, c.claims.expires_at));
        assert_eq!(h.status_of(bytes).await, 0);
    }
    assert_eq!(times.len(), 1);
    // The upgraded credential keeps its exact times.
    assert_eq!(upgraded.claims.issued_at, h.clock.now());
    // Retrying the same request gets the same batch, not a second one.
    let again: Vec<_> = batch
        .credentials
        .iter()
        .map(|c| cti(&c.credential))
        .collect();
    assert_eq!(again.len(), 1 + 2 * SIZE as usize);
}

async fn a_batch_must_be_signed_by_the_device_key_and_stay_within_the_batch_size(backend: Backend) {
    let h = small_batches(backend).await;
    // A relay puts its own keys in the person's batch: the binding is not the device's.
    let device = new_device();
    let relay = new_device();
    let c = h.challenge_for(&device).await;
    let (status, kind) = h
        .post_json::<_, BatchResponse>("/v1/enrolments", &with_batch(&c, &device, &relay, &keys(1)))
        .await
        .problem();
    assert_eq!(kind, ProblemType::BadDeviceKey, "{status}");
    // More keys than the batch size.
    let device = new_device();
    let c = h.challenge_for(&device).await;
    let (_, kind) = h
        .post_json::<_, BatchResponse>(
            "/v1/enrolments",
            &with_batch(&c, &device, &device, &keys(SIZE + 1)),
        )
        .await
        .problem();
    assert_eq!(kind, ProblemType::Malformed);
    // A key's proof made for another challenge.
    let device = new_device();
    let c = h.challenge_for(&device).await;
    let other = h.challenge_for(&new_device()).await;
    let one = keys(1);
    let mut req = answer_challenge(&c, &obama_id(), frames("obama", &c.actions), &device);
    req.batch =
        Some(BatchKeys::create(proven(&one, &other), &device, &c.challenge_id, &c.nonce).unwrap());
    let (_, kind) = h
        .post_json::<_, BatchResponse>("/v1/enrolments", &req)
        .await
        .problem();
    assert_eq!(kind, ProblemType::BadDeviceKey);
    // The main key as a batch key.
    let device = new_device();
    let c = h.challenge_for(&device).await;
    let mut req = answer_challenge(&c, &obama_id(), frames("obama", &c.actions), &device);
    let same = BatchKey::create(Tier::Lightweight, &device, &c.challenge_id, &c.nonce).unwrap();
    req.batch = Some(BatchKeys::create(vec![same], &device, &c.challenge_id, &c.nonce).unwrap());
    let (_, kind) = h
        .post_json::<_, BatchResponse>("/v1/enrolments", &req)
        .await
        .problem();
    assert_eq!(kind, ProblemType::DeviceKeyReused);
    // After all that, the genuine enrolment still goes through.
    let (_, _, batch) = enrol_batch(&h, SIZE).await;
    assert_eq!(batch.credentials.len(), 1 + 2 * SIZE as usize);
}

/// A refill request: fresh keys for `new` of each tier, retiring `retire`, proven by the
/// one-time credential `proving` (held with `proving_key`).
async fn refill_request(
    h: &Harness,
    proving: &[u8],
    proving_key: &SoftwareKey,
    new: &[(Tier, SoftwareKey)],
    retire: Vec<String>,
) -> RefillRequest {
    let c = h.challenge_for(&new[0].1).await;
    let keys = proven(new, &c);
    let purpose = HolderAuthPurpose::Refill {
        request_sha256: refill_sha256(&keys, &retire),
    };
    let presentation = h.holder_presentation(proving, proving_key, &c, purpose);
    RefillRequest {
        challenge_id: c.challenge_id,
        presentation,
        keys,
        retire,
    }
}

async fn a_refill_retires_the_shown_and_issues_fresh_ones_once(backend: Backend) {
    let h = small_batches(backend).await;
    let (_, keys, batch) = enrol_batch(&h, SIZE).await;
    // Two lightweight ones were shown: retire them, ask for two new ones.
    let shown: Vec<&(Tier, SoftwareKey)> = keys
        .iter()
        .filter(|(t, _)| *t == Tier::Lightweight)
        .take(2)
        .collect();
    let retire: Vec<String> = shown
        .iter()
        .map(|(_, k)| cti(bound_to(&batch.credentials, k)))
        .collect();
    let new: Vec<(Tier, SoftwareKey)> = (0..2).map(|_| (Tier::Lightweight, new_device())).collect();
    let proving = bound_to(&batch.credentials, &shown[0].1).to_vec();
    let req = refill_request(&h, &proving, &shown[0].1, &new, retire.clone()).await;
    let r = h
        .client
        .post(h.url("/v1/refills"))
        .json(&req)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::CREATED);
    let answer: RefillResponse = r.json().await.unwrap();
    assert_eq!(answer.retired, retire);
    assert_eq!(answer.credentials.len(), 2);
    for (_, k) in &new {
        let bytes = bound_to(&answer.credentials, k);
        assert_eq!(parsed(bytes).claims.tier(), Tier::Lightweight);
        assert_eq!(h.status_of(bytes).await, 0, "a new one is valid");
    }
    // Retired, not revoked: their status bits stay as they were (flipping every retired
    // credential at once would let list-polling verifiers group the showings they saw);
    // the wallet deletes them with their keys.
    for (_, k) in &shown {
        assert_eq!(
            h.status_of(bound_to(&batch.credentials, k)).await,
            0,
            "retired, not revoked"
        );
    }
    // A retry of the same request (a wallet that crashed before storing the answer) gets
    // the same credentials, not a second set.
    let again: RefillResponse = h.post_json("/v1/refills", &req).await.ok();
    assert_eq!(again, answer);
    // A retired credential proves nothing any more.
    let more: Vec<(Tier, SoftwareKey)> = vec![(Tier::AgeOnly, new_device())];
    let req = refill_request(&h, &proving, &shown[0].1, &more, vec![]).await;
    let (_, kind) = h
        .post_json::<_, RefillResponse>("/v1/refills", &req)
        .await
        .problem();
    assert_eq!(kind, ProblemType::CredentialNotActive);
}

async fn refills_are_refused_beyond_the_batch_for_others_and_past_the_daily_limit(
    backend: Backend,
) {
    let h = small_batches(backend).await;
    let (_, keys, batch) = enrol_batch(&h, SIZE).await;
    let (tier0, key0) = &keys[0];
    assert_eq!(*tier0, Tier::Lightweight);
    let proving = bound_to(&batch.credentials, key0).to_vec();
    // Nothing retired: a new key would make SIZE + 1 valid lightweight ones.
    let new = vec![(Tier::Lightweight, new_device())];
    let req = refill_request(&h, &proving, key0, &new, vec![]).await;
    let (_, kind) = h
        .post_json::<_, RefillResponse>("/v1/refills", &req)
        .await
        .problem();
    assert_eq!(kind, ProblemType::Malformed);
    // Retiring someone else's credential.
    let (other_keys, other) = keys_for(&h, &new_device()).await;
    let foreign = cti(bound_to(&other.credentials, &other_keys[0].1));
    let req = refill_request(&h, &proving, key0, &new, vec![foreign]).await;
    let (_, kind) = h
        .post_json::<_, RefillResponse>("/v1/refills", &req)
        .await
        .problem();
    assert_eq!(kind, ProblemType::Malformed);
    // A relay swapping a key after the holder proved the request.
    let mut req = refill_request(&h, &proving, key0, &new, vec![cti(&proving)]).await;
    let relay = new_device();
    let c_id = req.challenge_id.clone();
    let nonce = h
        .issuer()
        .store()
        .challenge(&c_id)
        .await
        .unwrap()
        .unwrap()
        .nonce;
    req.keys[0] = BatchKey::create(Tier::Lightweight, &relay, &c_id, &nonce).unwrap();
    let (_, kind) = h
        .post_json::<_, RefillResponse>("/v1/refills", &req)
        .await
        .problem();
    assert!(
        matches!(
            kind,
            ProblemType::ChallengeKeyMismatch | ProblemType::HolderAuthFailed
        ),
        "{kind:?}"
    );
    // The daily limit (3 here), counted once the holder is proven: two refills retiring
    // one each, then the third and fourth.
    let mut proving = (proving, copy(key0));
    let mut ok = 0;
    let mut limited = false;
    for _ in 0..4 {
        let new = vec![(Tier::Lightweight, new_device())];
        let req = refill_request(&h, &proving.0, &proving.1, &new, vec![cti(&proving.0)]).await;
        let r = h
            .client
            .post(h.url("/v1/refills"))
            .json(&req)
            .send()
            .await
            .unwrap();
        match r.status() {
            StatusCode::CREATED => {
                let a: RefillResponse = r.json().await.unwrap();
                proving = (
                    bound_to(&a.credentials, &new[0].1).to_vec(),
                    copy(&new[0].1),
                );
                ok += 1;
            }
            StatusCode::TOO_MANY_REQUESTS => {
                assert!(r.headers().contains_key("retry-after"));
                limited = true;
                break;
            }
            other => panic!("{other}: {}", r.text().await.unwrap()),
        }
    }
    assert!(limited, "the daily limit applies");
    assert!(ok <= 3, "{ok} refills went through");
}

/// Enrols biden with one key of each tier (another person's batch).
async fn keys_for(h: &Harness, device: &SoftwareKey) -> (Vec<(Tier, SoftwareKey)>, BatchResponse) {
    let keys = keys(1);
    let c = h.challenge_for(device).await;
    let mut req = answer_challenge(&c, &biden_id(), frames("biden", &c.actions), device);
    req.batch =
        Some(BatchKeys::create(proven(&keys, &c), device, &c.challenge_id, &c.nonce).unwrap());
    let batch: BatchResponse = h.post_json("/v1/enrolments", &req).await.ok();
    (keys, batch)
}

async fn revocation_and_renewal_cover_every_one_time_credential(backend: Backend) {
    let h = small_batches(backend).await;
    // Renewal: the old batch's one-time credentials are all superseded.
    let (device, keys, batch) = enrol_batch(&h, SIZE).await;
    let next = new_device();
    let next_keys = self::keys(SIZE);
    let c = h.challenge_for(&next).await;
    let presentation = h.holder_presentation(
        bound_to(&batch.credentials, &keys[0].1),
        &keys[0].1,
        &c,
        HolderAuthPurpose::renew(&spki_der(&next.public_key())),
    );
    let pop = DeviceKeyProof::create(&next, &c.challenge_id, &c.nonce).unwrap();
    let req = tessera_issuer_api::RenewRequest {
        challenge_id: c.challenge_id.clone(),
        presentation,
        device_key: DeviceKey {
            public_key: pop.key_der,
            proof: pop.signature,
        },
        frames: frames("obama", &c.actions),
        batch: Some(
            BatchKeys::create(proven(&next_keys, &c), &next, &c.challenge_id, &c.nonce).unwrap(),
        ),
        tpm: None,
    };
    let renewed: BatchResponse = h.post_json("/v1/renewals", &req).await.ok();
    for (_, k) in &keys {
        assert_eq!(h.status_of(bound_to(&batch.credentials, k)).await, 1);
    }
    let _ = device;
    // A refill, then an administrator's revocation: every credential of the enrolment,
    // the refilled one included, is revoked in the served lists.
    let (_, k0) = &next_keys[0];
    let proving = bound_to(&renewed.credentials, k0).to_vec();
    let new = vec![(Tier::Lightweight, new_device())];
    let req = refill_request(&h, &proving, k0, &new, vec![cti(&proving)]).await;
    let refilled: RefillResponse = h.post_json("/v1/refills", &req).await.ok();
    let token = h.issuer().keys().admin_token.to_string();
    let r = h
        .client
        .post(h.url("/v1/admin/revocations"))
        .bearer_auth(token)
        .json(&AdminRevokeRequest {
            id_number: obama_id(),
            reason: "test".into(),
        })
        .send()
        .await
        .unwrap();
    let revoked: RevokeResponse = r.json().await.unwrap();
    assert!(revoked.revoked >= 2 * SIZE as u64, "{}", revoked.revoked);
    for c in renewed.credentials.iter().chain(&refilled.credentials) {
        assert_eq!(h.status_of(&c.credential).await, 1);
    }
    // And a refill afterwards is refused as for a revoked credential.
    let (_, k1) = &next_keys[1];
    let proving = bound_to(&renewed.credentials, k1).to_vec();
    let req = refill_request(
        &h,
        &proving,
        k1,
        &[(Tier::Lightweight, new_device())],
        vec![],
    )
    .await;
    let (_, kind) = h
        .post_json::<_, RefillResponse>("/v1/refills", &req)
        .await
        .problem();
    assert_eq!(kind, ProblemType::CredentialNotActive);
    let _ = Es256Signer::public_key(&next);
}

/// Three people refilling at the same moment, several rounds: with slots in random lists,
/// transactions updating the lists' counters in different orders deadlocked on PostgreSQL
/// (500s, found by the refill benchmark); the counters are now updated in list order.
async fn concurrent_refills_of_three_people_all_go_through(backend: Backend) {
    let h = small_batches(backend).await;
    let mut holders = Vec::new();
    for (id, person) in [
        (obama_id(), "obama"),
        (biden_id(), "biden"),
        (astronaut_id(), "astronaut"),
    ] {
        let device = new_device();
        let keys = keys(SIZE);
        let c = h.challenge_for(&device).await;
        let mut req = answer_challenge(&c, &id, frames(person, &c.actions), &device);
        req.batch =
            Some(BatchKeys::create(proven(&keys, &c), &device, &c.challenge_id, &c.nonce).unwrap());
        let batch: BatchResponse = h.post_json("/v1/enrolments", &req).await.ok();
        let held: Vec<(Tier, SoftwareKey, Vec<u8>)> = keys
            .into_iter()
            .map(|(t, k)| {
                let c = bound_to(&batch.credentials, &k).to_vec();
                (t, k, c)
            })
            .collect();
        holders.push(held);
    }
    for round in 0..3 {
        let mut requests = Vec::new();
        let mut new_keys = Vec::new();
        for held in &holders {
            let new: Vec<(Tier, SoftwareKey)> =
                held.iter().map(|(t, _, _)| (*t, new_device())).collect();
            let retire: Vec<String> = held.iter().map(|(_, _, c)| cti(c)).collect();
            let (_, key, credential) = &held[0];
            requests.push(refill_request(&h, credential, key, &new, retire).await);
            new_keys.push(new);
        }
        let sent = requests
            .iter()
            .map(|req| h.client.post(h.url("/v1/refills")).json(req).send());
        let mut answers = Vec::new();
        for r in futures_join(sent.collect()).await {
            let r = r.unwrap();
            assert_eq!(
                r.status(),
                StatusCode::CREATED,
                "round {round}: {}",
                r.text().await.unwrap()
            );
            answers.push(r.json::<RefillResponse>().await.unwrap());
        }
        for ((held, new), answer) in holders.iter_mut().zip(new_keys).zip(answers) {
            *held = new
                .into_iter()
                .map(|(t, k)| {
                    let c = bound_to(&answer.credentials, &k).to_vec();
                    (t, k, c)
                })
                .collect();
        }
    }
}

/// Polls the futures together on this task (the server runs on its own tasks).
async fn futures_join<F: std::future::Future>(fs: Vec<F>) -> Vec<F::Output> {
    let mut pending: Vec<(usize, std::pin::Pin<Box<F>>)> =
        fs.into_iter().map(Box::pin).enumerate().collect();
    let mut out: Vec<Option<F::Output>> = (0..pending.len()).map(|_| None).collect();
    std::future::poll_fn(|cx| {
        pending.retain_mut(|(i, f)| match f.as_mut().poll(cx) {
            std::task::Poll::Ready(v) => {
                out[*i] = Some(v);
                false
            }
            std::task::Poll::Pending => true,
        });
        if pending.is_empty() {
            std::task::Poll::Ready(())
        } else {
            std::task::Poll::Pending
        }
    })
    .await;
    out.into_iter()
        .map(|o| o.expect("every future finished"))
        .collect()
}
