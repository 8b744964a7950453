//! The credential alone (tagged COSE_Sign1, zlib, Base45) decodes and verifies in an
//! independent MOSIP Claim 169 reader, `claim169-core`.

use claim169_core::Decoder;
use tessera_credential::keys::spki_pem;
use tessera_credential::{Es256Signer, Identity};
use tessera_vectors::*;

#[test]
fn claim169_core_reads_both_tiers() {
    let w = Wallet::standard();
    let pem = spki_pem(&w.issuer.public_key());
    for cred in [&w.lightweight, &w.upgraded] {
        let result = Decoder::new(cred.to_claim169_qr_text())
            .verify_with_ecdsa_p256_pem(&pem)
            .unwrap()
            // The fixtures are dated 2026-11; this test must not expire with them.
            .without_timestamp_validation()
            .decode()
            .unwrap();
        let c = &result.claim169;
        match &cred.claims.identity {
            Identity::Lightweight(l) => {
                assert_eq!(c.id.as_deref(), Some(l.masked_id_number.as_str()));
                assert_eq!(c.full_name.as_deref(), Some(l.masked_name.as_str()));
                assert!(c.date_of_birth.is_none());
            }
            Identity::Upgraded(u) => {
                assert_eq!(c.id.as_deref(), Some(u.id_number.as_str()));
                assert_eq!(c.full_name.as_deref(), Some(u.full_name.as_str()));
                assert_eq!(c.date_of_birth.as_deref(), Some("19491231"));
                assert!(c.gender.is_some());
            }
            Identity::AgeOnly(_) => {
                assert!(c.id.is_none() && c.full_name.is_none() && c.date_of_birth.is_none());
            }
        }
        // Tessera's own keys (tier, age, photo digest) arrive as unknown fields.
        assert!(c.unknown_fields.contains_key(&80));
        assert_eq!(result.cwt_meta.issuer.as_deref(), Some(ISSUER));
        assert_eq!(
            result.cwt_meta.expires_at,
            Some(cred.claims.expires_at as i64)
        );
    }
}

#[test]
fn claim169_core_refuses_a_tampered_credential() {
    let w = Wallet::standard();
    let pem = spki_pem(&key("someone-else").public_key());
    let r = Decoder::new(w.upgraded.to_claim169_qr_text())
        .verify_with_ecdsa_p256_pem(&pem)
        .unwrap()
        .without_timestamp_validation()
        .decode();
    assert!(r.is_err());
}
