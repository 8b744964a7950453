//! What the fuzz targets share: the fixture keys (the same ones as docs/format/vectors), a
//! trust list, signing of fuzzer-made payloads, and the registered relying party of the
//! Sign in with Tessera targets.
//!
//! A fuzzer cannot forge an ES256 signature, so a target fed only whole signed documents
//! would stop at the signature check and never reach the parser behind it. The trust-list
//! and status-list targets therefore also sign the fuzzer's bytes as the payload of a
//! document of the right type, with the key the verifier trusts, and hand that to the real
//! `verify` functions. [`sign_document`] must make exactly what `tessera-credential` makes;
//! [`check_signing`] proves it on first use, so a format change cannot silently leave the
//! parsers unfuzzed.

use std::sync::OnceLock;

use coset::cbor::value::Value;
use coset::{CoseSign1, CoseSign1Builder, HeaderBuilder, TaggedCborSerializable};
use tessera_credential::status_list::STATUS_LIST_TYP;
use tessera_credential::trust_list::TRUST_LIST_TYP;
use tessera_credential::{Es256Signer, Kid, SoftwareKey, TrustList, TrustedIssuer};

/// COSE header parameter 16 (`typ`, RFC 9596).
const COSE_HEADER_TYP: i64 = 16;

/// The key that signs trust lists in the vectors.
pub fn trust_list_key() -> &'static SoftwareKey {
    static K: OnceLock<SoftwareKey> = OnceLock::new();
    K.get_or_init(|| tessera_vectors::key("trust-list"))
}

/// The issuer key of the vectors.
pub fn issuer_key() -> &'static SoftwareKey {
    static K: OnceLock<SoftwareKey> = OnceLock::new();
    K.get_or_init(|| tessera_vectors::key("issuer-2026"))
}

/// A trust list holding the issuer key with the vectors' status base, as a desk has it.
pub fn trust() -> &'static TrustList {
    static T: OnceLock<TrustList> = OnceLock::new();
    T.get_or_init(|| {
        check_signing();
        let mut issuer = TrustedIssuer::new("fuzz", issuer_key().public_key());
        issuer.status_base = Some(tessera_vectors::STATUS_BASE.to_owned());
        TrustList {
            issued_at: tessera_vectors::NOW,
            sequence: 1,
            issuers: vec![issuer],
        }
    })
}

/// Signs `payload` as a tagged COSE_Sign1 of type `typ`, as `tessera-credential` signs trust
/// lists and status lists (ES256, `kid` and `typ` in the protected header).
pub fn sign_document(typ: &str, payload: &[u8], signer: &SoftwareKey) -> Vec<u8> {
    let protected = HeaderBuilder::new()
        .algorithm(coset::iana::Algorithm::ES256)
        .key_id(Kid::of(&signer.public_key()).0.to_vec())
        .value(COSE_HEADER_TYP, Value::Text(typ.into()))
        .build();
    CoseSign1Builder::new()
        .protected(protected)
        .payload(payload.to_vec())
        .create_signature(&[], |data| match signer.sign(data) {
            Ok(sig) => sig.to_bytes().to_vec(),
            Err(e) => panic!("a software key always signs: {e}"),
        })
        .build()
        .to_tagged_vec()
        .unwrap_or_else(|e| panic!("a COSE_Sign1 always encodes: {e}"))
}

/// Panics (a crash the first time any target runs) unless [`sign_document`] gives the same
/// bytes as the crate's own signing of a trust list and of a status list. RFC 6979 makes
/// ES256 deterministic, so equal inputs give equal bytes.
pub fn check_signing() {
    static DONE: OnceLock<()> = OnceLock::new();
    DONE.get_or_init(|| {
        let key = trust_list_key();
        let list = TrustList::single("check", issuer_key().public_key());
        let real = list.sign(key).unwrap_or_else(|e| panic!("trust list: {e}"));
        assert_eq!(
            sign_document(TRUST_LIST_TYP, &payload(&real), key),
            real,
            "fuzz/src/lib.rs sign_document no longer matches the crate's trust-list signing"
        );
        let token = tessera_credential::StatusListToken {
            signer: issuer_key().kid(),
            uri: format!("{}1", tessera_vectors::STATUS_BASE),
            issued_at: tessera_vectors::NOW,
            expires_at: None,
            ttl: None,
            list: tessera_credential::StatusList::new(1, 16)
                .unwrap_or_else(|e| panic!("status list: {e}")),
        };
        let real = token
            .sign(issuer_key())
            .unwrap_or_else(|e| panic!("status list: {e}"));
        assert_eq!(
            sign_document(STATUS_LIST_TYP, &payload(&real), issuer_key()),
            real,
            "fuzz/src/lib.rs sign_document no longer matches the crate's status-list signing"
        );
    });
}

/// The payload of a signed document made by this process.
fn payload(signed: &[u8]) -> Vec<u8> {
    CoseSign1::from_tagged_slice(signed)
        .ok()
        .and_then(|s| s.payload)
        .unwrap_or_else(|| panic!("our own signed document has a payload"))
}

/// The issuer identifier the Sign in with Tessera targets use (their seeds too:
/// `crates/vectors/examples/fuzz_seeds.rs` writes the same values).
pub const OIDC_ISSUER: &str = "https://id.example";
/// The registered relying party's client id.
pub const OIDC_CLIENT_ID: &str = "rp_fuzz";
/// Its client secret.
pub const OIDC_CLIENT_SECRET: &str = "fuzz-secret";
/// The PKCE challenge of the grant the token request is checked against: RFC 7636
/// appendix B's, whose verifier is `dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk`.
pub const OIDC_CODE_CHALLENGE: &str = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM";

/// The registered relying party: a lightweight shop for `age_over_18` and `masked_name`
/// with two redirect URIs, so asking for more claims or the upgraded tier is refused.
pub fn oidc_client() -> &'static tessera_oidc::client::Client {
    use tessera_oidc::claims::Claim;
    static C: OnceLock<tessera_oidc::client::Client> = OnceLock::new();
    C.get_or_init(|| tessera_oidc::client::Client {
        client_id: OIDC_CLIENT_ID.to_owned(),
        name: "Fuzz shop".to_owned(),
        name_zh: Some("模糊商店".to_owned()),
        redirect_uris: vec![
            "https://shop.example/cb".to_owned(),
            "https://shop.example/cb?from=app".to_owned(),
        ],
        tier: tessera_credential::Tier::Lightweight,
        claims: vec![Claim::AgeOver18, Claim::MaskedName],
        sector: "shop.example".to_owned(),
        secret_sha256: tessera_oidc::client::secret_sha256(OIDC_CLIENT_SECRET),
    })
}

/// `tessera_qr::decode_image` runs the image decoders and rxing (which panics on some
/// inputs) behind `catch_unwind` and answers `NotAnImage` / `NoQrCode`: in the services a
/// panic there is caught and harmless. libfuzzer-sys's panic hook aborts on *every* panic,
/// caught or not, which would report those as crashes. This hook lets a panic unwind
/// instead; a panic that escapes the target still aborts (libfuzzer-sys wraps each run in
/// `catch_unwind` and aborts if it unwound), so only panics `decode_image` itself lets out
/// count. Panics inside rxing are expected and not printed; any other is printed.
pub fn let_caught_panics_unwind() {
    static DONE: OnceLock<()> = OnceLock::new();
    DONE.get_or_init(|| {
        // The first take removes libfuzzer-sys's aborting hook; the second gives std's own.
        let _aborting = std::panic::take_hook();
        let default_hook = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            let in_rxing = info
                .location()
                .is_some_and(|l| l.file().contains("/rxing-"));
            if !in_rxing {
                default_hook(info);
            }
        }));
    });
}
