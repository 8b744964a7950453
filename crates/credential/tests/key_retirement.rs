//! A retired issuer key's end of signing (`issued_until` in the trust list): what it signed
//! before stays valid until `valid_until`; a credential or status list it signed after is
//! refused, as only a leaked copy of the key can make one.

use tessera_credential::status_list::{StatusListError, StatusListToken};
use tessera_credential::*;
use tessera_vectors::*;

const DAY: u64 = 24 * 3600;
/// The standard wallet's credentials were issued 30 days before NOW; the key retired 20
/// days before NOW.
const RETIRED_AT: u64 = NOW - 20 * DAY;

fn retired_trust(w: &Wallet, issued_until: u64) -> TrustList {
    let mut t = TrustList::single("Demo ID authority", w.issuer.public_key());
    let e = &mut t.issuers[0];
    e.status_base = Some(STATUS_BASE.into());
    e.issued_until = Some(issued_until);
    e.valid_until = Some(issued_until + YEAR);
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

#[test]
fn a_credential_signed_before_the_end_of_signing_stays_valid_until_valid_until() {
    let mut w = Wallet::standard();
    let t = retired_trust(&w, RETIRED_AT);
    let v = check(&w.show_lightweight(NOW), &t, NOW).unwrap();
    assert!(v.checks.contains(&Check::IssuerSignature));
    check(&w.show_upgraded(NOW), &t, NOW).unwrap();
    // (RETIRED_AT + YEAR, the key's valid_until, is after NOW.)
    // Past the key's end of trust, it is refused like any retired key's.
    let mut ended = t.clone();
    ended.issuers[0].valid_until = Some(NOW - 3600);
    assert_eq!(
        check(&w.show_lightweight(NOW), &ended, NOW)
            .unwrap_err()
            .code(),
        "issuer_key_not_valid"
    );
}

#[test]
fn a_credential_signed_after_the_end_of_signing_is_refused() {
    // A leaked copy of the retired key signs a fresh credential 10 days after retirement.
    let mut w = Wallet::issued_at(RETIRED_AT + 10 * DAY);
    let t = retired_trust(&w, RETIRED_AT);
    for p in [w.show_lightweight(NOW), w.show_upgraded(NOW)] {
        let err = check(&p, &t, NOW).unwrap_err();
        assert_eq!(err.code(), "signed_after_key_retired");
        assert_eq!(
            err,
            VerifyError::SignedAfterKeyRetired {
                kid: w.issuer.kid(),
                issued_at: RETIRED_AT + 10 * DAY,
                issued_until: RETIRED_AT,
            }
        );
    }
    // The same credential under a list that does not end the key's signing is accepted:
    // the refusal comes from issued_until alone.
    let mut open = t.clone();
    open.issuers[0].issued_until = None;
    check(&w.show_lightweight(NOW), &open, NOW).unwrap();
}

#[test]
fn the_end_of_signing_allows_the_clock_skew() {
    let skew = verify::DEFAULT_SKEW;
    let signed = NOW - DAY;
    let mut w = Wallet::issued_at(signed);
    let p = w.show_lightweight(NOW);
    check(&p, &retired_trust(&w, signed - skew), NOW).unwrap();
    assert_eq!(
        check(&p, &retired_trust(&w, signed - skew - 1), NOW)
            .unwrap_err()
            .code(),
        "signed_after_key_retired"
    );
    let mut wide = VerifyOptions::at(NOW);
    wide.skew = skew + 1;
    verify(
        &p,
        &retired_trust(&w, signed - skew - 1),
        &wide,
        &status_list::NoStatusLists,
        &mut MemoryReplayCache::default(),
    )
    .unwrap();
}

fn status_token(w: &Wallet, issued_at: u64) -> Vec<u8> {
    StatusListToken {
        signer: w.issuer.kid(),
        uri: format!("{STATUS_BASE}1"),
        issued_at,
        expires_at: Some(NOW + DAY),
        ttl: Some(3600),
        list: StatusList::new(2, 64).unwrap(),
    }
    .sign(&w.issuer)
    .unwrap()
}

#[test]
fn a_status_list_signed_after_the_end_of_signing_is_refused() {
    let w = Wallet::standard();
    let t = retired_trust(&w, RETIRED_AT);
    // Signed before retirement (and within the list skew after it): accepted.
    for iat in [
        RETIRED_AT - DAY,
        RETIRED_AT,
        RETIRED_AT + status_list::MAX_FUTURE_SKEW,
    ] {
        let token = StatusListToken::verify(&status_token(&w, iat), &t, NOW).unwrap();
        assert_eq!(token.issued_at, iat);
    }
    // Signed by a leaked copy afterwards, dated to outrank the successor's lists: refused.
    for iat in [RETIRED_AT + status_list::MAX_FUTURE_SKEW + 1, NOW - 60] {
        assert_eq!(
            StatusListToken::verify(&status_token(&w, iat), &t, NOW),
            Err(StatusListError::SignedAfterKeyRetired {
                issued_at: iat,
                issued_until: RETIRED_AT,
            })
        );
    }
}
