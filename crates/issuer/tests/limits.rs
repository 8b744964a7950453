//! Rate limits and the audit trail's growth, on a real issuer on loopback (SQLite and
//! PostgreSQL): junk requests naming a person's ID number cannot lock that person out, IPv6
//! clients are counted per /64, the portrait endpoint is limited before it audits anything,
//! its refusals are aggregated, and audit records are purged after the retention period.

#[macro_use]
mod common;

use common::*;
use reqwest::StatusCode;
use tessera_issuer::Clock;
use tessera_issuer::store::AuditRecord;
use tessera_issuer_api::{BatchResponse, EnrolRequest, ProblemType};

on_both_backends!(
    junk_enrolments_do_not_lock_the_person_out,
    ipv6_clients_share_one_budget_per_64,
    portrait_requests_are_limited_before_auditing_and_refusals_aggregate,
    audit_records_are_purged_after_the_retention_period,
);

/// Posts `req` as if from `client` (the test's loopback address is a trusted proxy).
async fn post_from(h: &Harness, client: &str, req: &EnrolRequest) -> Answer<BatchResponse> {
    let r = h
        .client
        .post(h.url("/v1/enrolments"))
        .header("x-forwarded-for", client)
        .json(req)
        .send()
        .await
        .unwrap();
    answer(r).await
}

async fn junk_enrolments_do_not_lock_the_person_out(backend: Backend) {
    let h = start_with(backend, |c| {
        c.trusted_proxies = vec!["127.0.0.1".parse().unwrap()];
    })
    .await;
    let victim = obama_id();
    let mut refused = Vec::new();
    for n in 0..20u32 {
        // Each from its own address: the attacker is not short of addresses.
        let attacker = format!("198.51.100.{n}");
        let device_1 = new_device();
        let c = h.challenge_for(&device_1).await;
        let mut req = h.enrol_request(&c, &victim, frames("biden", &c.actions), &device_1);
        match n % 4 {
            // A challenge id the issuer never made.
            0 => req.challenge_id = hex::encode(n.to_be_bytes()).repeat(4),
            // A proof of possession that does not verify.
            1 => req.device_key.proof[10] ^= 1,
            // Another key's proof of possession.
            2 => {
                let other = h.enrol_request(&c, &victim, vec![], &new_device());
                req.device_key.proof = other.device_key.proof;
            }
            // A challenge past its expiry.
            _ => {
                h.clock.advance(121);
            }
        }
        let (_, kind) = post_from(&h, &attacker, &req).await.problem();
        refused.push(kind);
    }
    for kind in [ProblemType::UnknownChallenge, ProblemType::ChallengeExpired] {
        assert!(refused.contains(&kind), "{refused:?}");
    }
    assert!(
        !refused
            .iter()
            .any(|k| matches!(k, ProblemType::RateLimited | ProblemType::FaceMismatch)),
        "{refused:?}"
    );
    // The person's own enrolment goes through.
    let device_2 = new_device();
    let c = h.challenge_for(&device_2).await;
    let req = h.enrol_request(&c, &victim, frames("obama", &c.actions), &device_2);
    post_from(&h, "203.0.113.9", &req).await.ok();
}

async fn ipv6_clients_share_one_budget_per_64(backend: Backend) {
    let h = start_with(backend, |c| {
        c.attempts_per_ip = 2;
        c.trusted_proxies = vec!["127.0.0.1".parse().unwrap()];
    })
    .await;
    let attempt = |client: &'static str| {
        let h = &h;
        async move {
            let device_3 = new_device();
            let c = h.challenge_for(&device_3).await;
            let mut req = h.enrol_request(&c, &obama_id(), frames("obama", &c.actions), &device_3);
            req.challenge_id = "00".repeat(16);
            post_from(h, client, &req).await.problem().1
        }
    };
    // Two addresses in one /64: its budget of two is spent.
    assert_eq!(
        attempt("2001:db8:1:2::1").await,
        ProblemType::UnknownChallenge
    );
    assert_eq!(
        attempt("2001:db8:1:2:aaaa::7").await,
        ProblemType::UnknownChallenge
    );
    assert_eq!(
        attempt("2001:db8:1:2:ffff:ffff:ffff:ffff").await,
        ProblemType::RateLimited
    );
    // The next /64 has its own.
    assert_eq!(
        attempt("2001:db8:1:3::1").await,
        ProblemType::UnknownChallenge
    );
    // An IPv4-mapped IPv6 address is its IPv4 address.
    assert_eq!(attempt("203.0.113.5").await, ProblemType::UnknownChallenge);
    assert_eq!(
        attempt("::ffff:203.0.113.5").await,
        ProblemType::UnknownChallenge
    );
    let (status, kind) = {
        let device_4 = new_device();
        let c = h.challenge_for(&device_4).await;
        let mut req = h.enrol_request(&c, &obama_id(), vec![], &device_4);
        req.challenge_id = "00".repeat(16);
        post_from(&h, "::ffff:203.0.113.5", &req).await.problem()
    };
    assert_eq!(
        (status, kind),
        (StatusCode::TOO_MANY_REQUESTS, ProblemType::RateLimited)
    );
}

/// The portrait refusals in the audit log.
async fn portrait_refusals(h: &Harness) -> Vec<AuditRecord> {
    let log = h.issuer().store().audit_log().await.unwrap();
    log.into_iter()
        .filter(|a| a.event == "portrait" && a.outcome == "refused")
        .collect()
}

async fn portrait_requests_are_limited_before_auditing_and_refusals_aggregate(backend: Backend) {
    let h = start_with(backend, |c| {
        c.portraits_per_ip = 5;
        c.trusted_proxies = vec!["127.0.0.1".parse().unwrap()];
    })
    .await;
    let ask = |client: &'static str| {
        let h = &h;
        async move {
            let r = h
                .client
                .post(h.url("/v1/portraits"))
                .header("x-forwarded-for", client)
                .bearer_auth("tvk_not-a-registered-key")
                .json(&serde_json::json!({ "presentation": "junk" }))
                .send()
                .await
                .unwrap();
            answer::<serde_json::Value>(r).await.problem()
        }
    };
    for _ in 0..5 {
        assert_eq!(
            ask("198.51.100.1").await,
            (StatusCode::UNAUTHORIZED, ProblemType::Unauthorized)
        );
    }
    // One record for the five, with their count.
    let log = portrait_refusals(&h).await;
    assert_eq!(log.len(), 1, "{log:?}");
    assert_eq!(log[0].occurrences, 5);
    assert!(
        log[0].detail == "from 198.51.100.1: unregistered verifier",
        "{log:?}"
    );
    // Over the limit: refused before anything is looked up or written.
    for _ in 0..20 {
        assert_eq!(
            ask("198.51.100.1").await,
            (StatusCode::TOO_MANY_REQUESTS, ProblemType::RateLimited)
        );
    }
    let log = portrait_refusals(&h).await;
    assert_eq!((log.len(), log[0].occurrences), (1, 5), "{log:?}");
    // Another client (two addresses of one /64) has its own budget and its own record.
    ask("2001:db8:5:6::1").await;
    ask("2001:db8:5:6::2").await;
    let log = portrait_refusals(&h).await;
    assert_eq!(log.len(), 2, "{log:?}");
    assert_eq!(log[1].occurrences, 2);
    assert!(log[1].detail.contains("2001:db8:5:6::/64"), "{log:?}");
    // The next window starts a new record.
    h.clock.advance(3600);
    ask("198.51.100.1").await;
    assert_eq!(portrait_refusals(&h).await.len(), 3);
}

async fn audit_records_are_purged_after_the_retention_period(backend: Backend) {
    let h = start_with(backend, |c| {
        c.audit_retention = std::time::Duration::from_secs(30 * 86_400);
    })
    .await;
    async fn refused(h: &Harness) {
        let (_, kind) = h.enrol(&obama_id(), "biden", &new_device()).await.problem();
        assert_eq!(kind, ProblemType::FaceMismatch);
    }
    refused(&h).await;
    let old = h.clock.now();
    h.clock.advance(20 * 86_400);
    refused(&h).await;
    h.clock.advance(11 * 86_400);
    let issuer = h.issuer();
    let deleted =
        tessera_issuer::purge_expired_audit(issuer.store(), &issuer.config, h.clock.now())
            .await
            .unwrap();
    assert_eq!(deleted, 1);
    let log = issuer.store().audit_log().await.unwrap();
    assert_eq!(log.len(), 1, "{log:?}");
    assert!(log[0].at > old);
    // Purging again finds nothing more.
    let again = tessera_issuer::purge_expired_audit(issuer.store(), &issuer.config, h.clock.now())
        .await
        .unwrap();
    assert_eq!(again, 0);
}
