//! The signed sign-in request the wallet fetches from its issuer (JSON) → `SignInRequest`
//! and `verify` against a fixed trust list; the other sign-in bodies (the wallet's approval
//! the issuer reads, the outcome and page status the wallet and page read) on the same
//! bytes.
//!
//! The first byte picks what the rest is: even, the request as served (its `signer` and
//! `signature` as they are: the fuzzer cannot forge one, so this reaches the signature check
//! only); odd, a request the target signs with the trusted issuer key before verifying, so
//! the checks behind the signature (key period, issuer, expiry, tier, claims, match
//! choices) see the fuzzer's fields. A request that reads survives JSON parse → serialise →
//! parse; one that verifies is coherent.
#![no_main]

use libfuzzer_sys::fuzz_target;
use tessera_credential::verify::DEFAULT_SKEW as SKEW;
use tessera_oidc::sign_in::{
    self, MATCH_CHOICES, SignInApproval, SignInOutcome, SignInRequest, SignInStatus,
};

fuzz_target!(|data: &[u8]| {
    let Some((&mode, rest)) = data.split_first() else {
        return;
    };
    let _ = serde_json::from_slice::<SignInApproval>(rest);
    let _ = serde_json::from_slice::<SignInOutcome>(rest);
    let _ = serde_json::from_slice::<SignInStatus>(rest);
    let Ok(mut request) = serde_json::from_slice::<SignInRequest>(rest) else {
        return;
    };
    let json = serde_json::to_vec(&request)
        .unwrap_or_else(|e| panic!("a parsed request always serialises: {e}"));
    let again: SignInRequest = serde_json::from_slice(&json)
        .unwrap_or_else(|e| panic!("our own JSON must read back: {e}"));
    assert_eq!(again, request, "JSON round trip changed the request");
    if mode % 2 == 1 {
        sign_in::sign(&mut request, tessera_fuzz::issuer_key())
            .unwrap_or_else(|e| panic!("a software key always signs: {e}"));
    }
    let Ok(tier) = request.verify(
        tessera_fuzz::trust(),
        tessera_fuzz::OIDC_ISSUER,
        tessera_vectors::NOW,
        SKEW,
    ) else {
        return;
    };
    assert_eq!(request.tier(), Some(tier));
    assert!(request.claims.iter().all(|c| c.tier() <= tier));
    assert!(tessera_vectors::NOW <= request.expires_at.saturating_add(SKEW));
    let mut choices = request.match_choices.clone();
    choices.sort_unstable();
    choices.dedup();
    assert_eq!(choices.len(), MATCH_CHOICES);
    assert!(choices.iter().all(|c| (10..=99).contains(c)));
    // Any change to a signed field undoes the signature.
    let mut renamed = request.clone();
    renamed.client_name.push('!');
    assert!(
        renamed
            .verify(
                tessera_fuzz::trust(),
                tessera_fuzz::OIDC_ISSUER,
                tessera_vectors::NOW,
                SKEW,
            )
            .is_err()
    );
});
