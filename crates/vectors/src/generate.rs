//! The committed test vectors (docs/format/vectors), made from the fixtures. Signing is
//! deterministic (RFC 6979) and the randomness is seeded, so regenerating gives the same bytes.

use ciborium::Value;
use serde::Serialize;
use tessera_credential::keys::spki_pem;
use tessera_credential::status_list::{StatusListToken, status};
use tessera_credential::*;

use crate::*;

/// One vector, as written to `<name>.json`.
#[derive(Debug, Clone, Serialize)]
pub struct Vector {
    /// File stem.
    pub name: String,
    /// What it shows.
    pub description: String,
    /// The tier of the credential inside.
    pub tier: String,
    /// The QR text.
    pub qr_text: String,
    /// The issuer key to verify with (SPKI PEM).
    pub issuer_public_key_pem: String,
    /// The time to verify at (Unix seconds).
    pub now: u64,
    /// Allowed clock skew (seconds).
    pub skew: u64,
    /// `valid` or the error code.
    pub expect: String,
    /// For status vectors: the Status List Token (CWT) to check against, hex.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub status_list_cwt_hex: Option<String>,
    /// For vectors that need the trust list's periods: the signed trust list to verify
    /// against (instead of the bare issuer key), hex.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub trust_list_cwt_hex: Option<String>,
    /// The key that signed `trust_list_cwt_hex` (SPKI PEM).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub trust_list_public_key_pem: Option<String>,
    /// For valid vectors: the QR version the PNG uses.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub qr_version: Option<u8>,
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn tier_name(p: &Presentation) -> String {
    p.credential.claims.tier().name().to_owned()
}

fn vector(
    name: &str,
    description: &str,
    p: &Presentation,
    issuer: &SoftwareKey,
    expect: &str,
) -> Vector {
    vector_text(
        name,
        description,
        &tier_name(p),
        p.to_qr_text(),
        issuer,
        expect,
    )
}

fn vector_text(
    name: &str,
    description: &str,
    tier: &str,
    qr_text: String,
    issuer: &SoftwareKey,
    expect: &str,
) -> Vector {
    Vector {
        name: name.into(),
        description: description.into(),
        tier: tier.into(),
        qr_text,
        issuer_public_key_pem: spki_pem(&issuer.public_key()),
        now: NOW,
        skew: tessera_credential::verify::DEFAULT_SKEW,
        expect: expect.into(),
        status_list_cwt_hex: None,
        trust_list_cwt_hex: None,
        trust_list_public_key_pem: None,
        qr_version: None,
    }
}

/// Re-encodes a presentation after `edit` changed its CBOR value (signatures untouched).
fn edited(p: &Presentation, edit: impl FnOnce(&mut Vec<Value>)) -> String {
    let mut v: Value = ciborium::from_reader(&p.to_cbor()[..]).expect("own CBOR");
    let Value::Array(items) = &mut v else {
        unreachable!("presentation is an array")
    };
    edit(items);
    let mut out = Vec::new();
    ciborium::into_writer(&v, &mut out).expect("to vec");
    format!("{QR_PREFIX}{}", base45::encode(&out))
}

fn cose_parts(v: &mut Value) -> &mut Vec<Value> {
    match v {
        Value::Array(a) => a,
        _ => unreachable!("COSE_Sign1 is an array"),
    }
}

fn flip_last_byte(v: &mut Value) {
    if let Value::Bytes(b) = v
        && let Some(last) = b.last_mut()
    {
        *last ^= 0x01;
    }
}

/// Every vector.
pub fn vectors() -> Vec<Vector> {
    let mut w = Wallet::standard();
    let issuer = key("issuer-2026");
    let mut out = Vec::new();

    let light = w.show_lightweight(NOW - 10);
    out.push(vector(
        "lightweight-valid",
        "A lightweight code shown 10 s ago.",
        &light,
        &issuer,
        "valid",
    ));
    let up = w.show_upgraded(NOW - 10);
    out.push(vector(
        "upgraded-valid",
        "An upgraded code shown 10 s ago, PIN and face matched 20 s before that.",
        &up,
        &issuer,
        "valid",
    ));

    out.push(vector_text(
        "tampered-issuer-signature",
        "The last byte of the issuer signature is flipped.",
        "lightweight",
        edited(&light, |items| {
            flip_last_byte(&mut cose_parts(&mut items[0])[3])
        }),
        &issuer,
        "bad_issuer_signature",
    ));
    out.push(vector_text(
        "tampered-claims",
        "The masked name in the signed claims is changed from 张*明 to 李*明; the signature is kept.",
        "lightweight",
        edited(&light, |items| {
            let parts = cose_parts(&mut items[0]);
            if let Value::Bytes(payload) = &mut parts[2] {
                let from = "张*明".as_bytes();
                let to = "李*明".as_bytes();
                if let Some(pos) = payload.windows(from.len()).position(|w| w == from) {
                    payload[pos..pos + to.len()].copy_from_slice(to);
                }
            }
        }),
        &issuer,
        "bad_issuer_signature",
    ));
    out.push(vector_text(
        "tampered-proof",
        "The last byte of the holder proof's payload (its amr) is changed.",
        "lightweight",
        edited(&light, |items| {
            flip_last_byte(&mut cose_parts(&mut items[1])[2])
        }),
        &issuer,
        "bad_holder_proof",
    ));

    let mut old = Wallet::issued_at(NOW - YEAR - 3600);
    let p = old.show_lightweight(NOW - 10);
    out.push(vector(
        "expired-credential",
        "The credential expired an hour ago (the proof is fresh).",
        &p,
        &issuer,
        "expired",
    ));
    let mut future = Wallet::issued_at(NOW + 3600);
    let p = future.show_lightweight(NOW - 10);
    out.push(vector(
        "not-yet-valid-credential",
        "The credential becomes valid in an hour.",
        &p,
        &issuer,
        "not_yet_valid",
    ));
    let p = w.show_lightweight(NOW - 200);
    out.push(vector(
        "expired-proof",
        "The holder proof was made 200 s ago and lived 60 s.",
        &p,
        &issuer,
        "proof_expired",
    ));
    let moved = Presentation {
        credential: w.lightweight.clone(),
        proof: w.show_upgraded(NOW - 10).proof,
    };
    out.push(vector(
        "proof-moved-to-other-credential",
        "A proof made for the upgraded credential, put next to the holder's lightweight credential.",
        &moved,
        &issuer,
        "proof_bound_to_other_credential",
    ));
    let mut other = vector(
        "unknown-kid",
        "A valid code checked against another issuer's key: its kid is not trusted.",
        &light,
        &issuer,
        "unknown_issuer",
    );
    other.issuer_public_key_pem = spki_pem(&key("another-issuer").public_key());
    out.push(other);

    let claims = ProofClaims {
        issued_at: NOW - 10,
        expires_at: NOW + 50,
        nonce: [0x5a; 8],
        tier: Tier::Upgraded,
        auth: AuthMethods::USER,
        face_verified_at: None,
    };
    let proof = HolderProof::sign(claims, &w.upgraded, &w.device).expect("fixture proof");
    let weak = Presentation {
        credential: w.upgraded.clone(),
        proof,
    };
    out.push(vector(
        "upgraded-without-pin-and-face",
        "An upgraded code whose proof records only an unlocked app, no PIN or face match.",
        &weak,
        &issuer,
        "tier_requirement_not_met",
    ));

    for (name, value, expect) in [
        ("revoked", status::INVALID, "revoked"),
        ("suspended", status::SUSPENDED, "suspended"),
    ] {
        let mut list = StatusList::new(2, 1024).expect("list");
        list.set(0, value).expect("index 0");
        let token = StatusListToken {
            signer: issuer.kid(),
            uri: format!("{STATUS_BASE}1"),
            issued_at: NOW - 600,
            expires_at: Some(NOW + 86_400),
            ttl: Some(3600),
            list,
        };
        let mut v = vector(
            name,
            &format!(
                "A valid lightweight code whose status list entry (list 1, index 0) is {expect}."
            ),
            &light,
            &issuer,
            expect,
        );
        v.status_list_cwt_hex = Some(hex(&token.sign(&issuer).expect("status list")));
        out.push(v);
    }

    out.extend(retired_key_vectors(&mut w, &issuer));

    out.push(vector_text(
        "not-a-tessera-code",
        "A URL, as a QR scanner might read from a poster.",
        "none",
        "HTTPS://EXAMPLE.COM/".into(),
        &issuer,
        "malformed",
    ));
    out
}

/// The issuer key retired 20 days before [`NOW`] (its trust list entry has `issued_until`):
/// a credential it signed before then is valid, one signed after (by a leaked copy) is not.
fn retired_key_vectors(w: &mut Wallet, issuer: &SoftwareKey) -> Vec<Vector> {
    let retired_at = NOW - 20 * 24 * 3600;
    let trust_list_key = key("trust-list");
    let successor = key("issuer-2026-b");
    let mut old = TrustedIssuer::new("Demo ID authority", issuer.public_key());
    old.status_base = Some(STATUS_BASE.into());
    old.issued_until = Some(retired_at);
    old.valid_until = Some(retired_at + YEAR);
    let mut new = TrustedIssuer::new("Demo ID authority", successor.public_key());
    new.status_base = Some(STATUS_BASE.into());
    new.valid_from = retired_at;
    let list = TrustList {
        issued_at: retired_at,
        sequence: 2,
        issuers: vec![old, new],
    };
    let signed = hex(&list.sign(&trust_list_key).expect("trust list"));
    let with_list = |mut v: Vector| {
        v.trust_list_cwt_hex = Some(signed.clone());
        v.trust_list_public_key_pem = Some(spki_pem(&trust_list_key.public_key()));
        v
    };
    let before = w.show_lightweight(NOW - 10);
    let mut leaked = Wallet::issued_at(retired_at + 10 * 24 * 3600);
    let after = leaked.show_lightweight(NOW - 10);
    vec![
        with_list(vector(
            "retired-key-signed-before-end-of-signing",
            "A code whose credential (iat 30 days ago) was signed by a key retired 20 days ago: the trust list's issued_until is after iat, valid_until is a year after retirement, so it is valid.",
            &before,
            issuer,
            "valid",
        )),
        with_list(vector(
            "retired-key-signed-after-end-of-signing",
            "A credential signed 10 days ago by a key retired 20 days ago (a leaked copy of a retired key): its iat is after the key's issued_until in the trust list, so it is refused although the key is still trusted for what it signed before.",
            &after,
            issuer,
            "signed_after_key_retired",
        )),
    ]
}

/// Every file of the vectors folder: `(file name, bytes)`. Valid vectors get a PNG.
pub fn files() -> Result<Vec<(String, Vec<u8>)>, tessera_qr::QrError> {
    let mut files = vec![(
        "issuer-public-key.pem".to_owned(),
        spki_pem(&key("issuer-2026").public_key()).into_bytes(),
    )];
    for mut v in vectors() {
        if v.expect == "valid" {
            let qr = tessera_qr::encode(&v.qr_text)?;
            v.qr_version = Some(qr.version());
            files.push((format!("{}.png", v.name), qr.to_png(4)));
        }
        let mut json = serde_json::to_string_pretty(&v).unwrap_or_default();
        json.push('\n');
        files.push((format!("{}.json", v.name), json.into_bytes()));
    }
    Ok(files)
}
