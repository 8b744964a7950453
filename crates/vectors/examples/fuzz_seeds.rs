//! Writes the seed inputs of the fuzz targets (fuzz/README.md) into `OUT_DIR/<target>/`:
//! `cargo run -p tessera-vectors --example fuzz_seeds -- fuzz/corpus` (scripts/fuzz.sh
//! does). The seeds come from the committed vectors in docs/format/vectors (QR texts,
//! status list tokens, PNGs) and from the same fixture keys (signed trust lists, more
//! status lists, the issuer's JSON bodies), so they follow the format as it changes and
//! nothing generated is committed.
//!
//! The trust-list and status-list targets read a first byte that says what follows (see
//! their sources): 0 a signed document, 1 its payload, 2 (status list) a bits byte and the
//! compressed list. So do the Sign in with Tessera targets: `oidc_text` 0 a sign-in link, 1
//! an authorization query, 2 a token request (`HEADER\nFORM`); `sign_in_request` 0 the JSON
//! as served, 1 the JSON for the target to sign. Their relying party, issuer and PKCE
//! challenge are the fuzz crate's (`fuzz/src/lib.rs` `oidc_client`), written here again.

use std::path::{Path, PathBuf};

use ciborium::Value;
use tessera_credential::keys::spki_der;
use tessera_credential::status_list::{StatusListToken, status};
use tessera_credential::*;
use tessera_vectors::{NOW, STATUS_BASE, YEAR, key};

type Result<T> = std::result::Result<T, Box<dyn std::error::Error>>;

fn main() -> Result<()> {
    let out = PathBuf::from(std::env::args().nth(1).ok_or("usage: fuzz_seeds OUT_DIR")?);
    let vectors = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../docs/format/vectors");
    let mut seeds = Seeds { out, count: 0 };

    let mut names: Vec<PathBuf> = std::fs::read_dir(&vectors)?
        .map(|e| e.map(|e| e.path()))
        .collect::<std::io::Result<_>>()?;
    names.sort();
    let mut qr_texts = Vec::new();
    for path in &names {
        let name = stem(path);
        match path.extension().and_then(|e| e.to_str()) {
            Some("png") => seeds.write("qr_image", &name, &std::fs::read(path)?)?,
            Some("json") => {
                let v: serde_json::Value = serde_json::from_slice(&std::fs::read(path)?)?;
                let text = v["qr_text"].as_str().ok_or("a vector without qr_text")?;
                seeds.write("qr_text_to_verdict", &name, text.as_bytes())?;
                if let Some(b45) = text.strip_prefix(QR_PREFIX) {
                    seeds.write("presentation_cbor", &name, &base45::decode(b45)?)?;
                }
                if let Some(hex) = v["status_list_cwt_hex"].as_str() {
                    let token = unhex(hex)?;
                    seeds.write("presentation_cbor", &format!("{name}-status"), &token)?;
                    status_list_seeds(&mut seeds, &name, &token)?;
                }
                qr_texts.push(text.to_owned());
            }
            _ => {}
        }
    }

    // A JPEG too (phones upload photos), small: 2 px per module.
    let light = qr_texts
        .iter()
        .find(|t| t.starts_with(QR_PREFIX))
        .ok_or("no Tessera code among the vectors")?;
    let mut jpeg = Vec::new();
    tessera_qr::encode(light)?.to_luma(2).write_with_encoder(
        image::codecs::jpeg::JpegEncoder::new_with_quality(&mut jpeg, 85),
    )?;
    seeds.write("qr_image", "lightweight-valid-jpeg", &jpeg)?;

    trust_list_seeds(&mut seeds)?;
    generated_status_lists(&mut seeds)?;
    issuer_json_seeds(&mut seeds, light)?;
    oidc_text_seeds(&mut seeds)?;
    sign_in_request_seeds(&mut seeds, light)?;
    println!(
        "wrote {} fuzz seeds to {}",
        seeds.count,
        seeds.out.display()
    );
    Ok(())
}

struct Seeds {
    out: PathBuf,
    count: usize,
}

impl Seeds {
    fn write(&mut self, target: &str, name: &str, bytes: &[u8]) -> Result<()> {
        let dir = self.out.join(target);
        std::fs::create_dir_all(&dir)?;
        std::fs::write(dir.join(format!("seed-{name}")), bytes)?;
        self.count += 1;
        Ok(())
    }

    /// `mode` byte, then `bytes`.
    fn write_mode(&mut self, target: &str, name: &str, mode: u8, bytes: &[u8]) -> Result<()> {
        self.write(target, name, &[&[mode], bytes].concat())
    }
}

fn stem(path: &Path) -> String {
    path.file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_default()
}

fn unhex(hex: &str) -> Result<Vec<u8>> {
    (0..hex.len())
        .step_by(2)
        .map(|i| Ok(u8::from_str_radix(hex.get(i..i + 2).ok_or("odd hex")?, 16)?))
        .collect()
}

/// The payload of a tagged COSE_Sign1: `18([protected, unprotected, payload, signature])`.
fn payload(signed: &[u8]) -> Result<Vec<u8>> {
    match ciborium::from_reader(signed)? {
        Value::Tag(18, inner) => match *inner {
            Value::Array(mut parts) if parts.len() == 4 => match parts.swap_remove(2) {
                Value::Bytes(b) => Ok(b),
                _ => Err("payload is not bytes".into()),
            },
            _ => Err("not a COSE_Sign1 array".into()),
        },
        _ => Err("not a tagged COSE_Sign1".into()),
    }
}

fn trust_list_seeds(seeds: &mut Seeds) -> Result<()> {
    let tl_key = key("trust-list");
    let mut old = TrustedIssuer::new("Tessera demo issuer", key("issuer-2026").public_key());
    old.valid_until = Some(NOW + YEAR);
    old.status_base = Some(STATUS_BASE.to_owned());
    let mut new = TrustedIssuer::new("Tessera demo issuer", key("issuer-2027").public_key());
    new.valid_from = NOW;
    new.status_base = Some(STATUS_BASE.to_owned());
    let lists = [
        (
            "single",
            TrustList::single("CN", key("issuer-2026").public_key()),
        ),
        (
            "rotated",
            TrustList {
                issued_at: NOW,
                sequence: 7,
                issuers: vec![old, new],
            },
        ),
        ("empty", TrustList::default()),
    ];
    for (name, list) in lists {
        let signed = list.sign(&tl_key)?;
        seeds.write_mode("trust_list", &format!("{name}-signed"), 0, &signed)?;
        seeds.write_mode(
            "trust_list",
            &format!("{name}-payload"),
            1,
            &payload(&signed)?,
        )?;
    }
    Ok(())
}

/// A signed token as the three inputs of the status-list target.
fn status_list_seeds(seeds: &mut Seeds, name: &str, signed: &[u8]) -> Result<()> {
    let claims = payload(signed)?;
    seeds.write_mode("status_list", &format!("{name}-signed"), 0, signed)?;
    seeds.write_mode("status_list", &format!("{name}-payload"), 1, &claims)?;
    // The `status_list` claim (65533): {"bits": n, "lst": zlib bytes}.
    let Value::Map(claims) = ciborium::from_reader(&claims[..])? else {
        return Err("claims are not a map".into());
    };
    let list = claims
        .into_iter()
        .find(|(k, _)| *k == Value::Integer(65533.into()))
        .ok_or("no status_list claim")?
        .1;
    let Value::Map(list) = list else {
        return Err("status_list is not a map".into());
    };
    let field = |name: &str| {
        list.iter()
            .find(|(k, _)| *k == Value::Text(name.into()))
            .map(|(_, v)| v.clone())
    };
    let (Some(Value::Integer(bits)), Some(Value::Bytes(lst))) = (field("bits"), field("lst"))
    else {
        return Err("status_list without bits or lst".into());
    };
    let bits = u8::try_from(i128::from(bits))?;
    seeds.write_mode(
        "status_list",
        &format!("{name}-lst"),
        2,
        &[&[bits], &lst[..]].concat(),
    )
}

fn generated_status_lists(seeds: &mut Seeds) -> Result<()> {
    let issuer = key("issuer-2026");
    for (name, bits, len, exp, ttl) in [
        ("one-bit", 1, 16, None, None),
        ("two-bit", 2, 4096, Some(NOW + 86_400), Some(3600)),
        ("eight-bit", 8, 64, Some(NOW + 60), None),
    ] {
        let mut list = StatusList::new(bits, len)?;
        list.set(1, status::INVALID)?;
        if bits > 1 {
            list.set(len - 1, status::SUSPENDED)?;
        }
        let token = StatusListToken {
            signer: issuer.kid(),
            uri: format!("{STATUS_BASE}1"),
            issued_at: NOW - 600,
            expires_at: exp,
            ttl,
            list,
        };
        status_list_seeds(seeds, name, &token.sign(&issuer)?)?;
    }
    Ok(())
}

/// Unpadded base64url, as the issuer's API writes bytes.
fn b64(bytes: &[u8]) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    let mut out = String::new();
    for chunk in bytes.chunks(3) {
        let n = chunk
            .iter()
            .enumerate()
            .fold(0u32, |n, (i, b)| n | (u32::from(*b) << (16 - 8 * i)));
        for i in 0..=chunk.len() {
            out.push(char::from(ALPHABET[((n >> (18 - 6 * i)) & 63) as usize]));
        }
    }
    out
}

fn issuer_json_seeds(seeds: &mut Seeds, presentation: &str) -> Result<()> {
    let device = key("device-1");
    let der = spki_der(&device.public_key());
    let proof = device.sign(b"a proof of possession")?.to_bytes().to_vec();
    let device_key = serde_json::json!({"public_key": b64(&der), "proof": b64(&proof)});
    let frame = b64(b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR");
    let challenge_id = "00112233445566778899aabbccddeeff";
    let credential = key("issuer-2026")
        .sign(b"a credential")?
        .to_bytes()
        .to_vec();
    let bodies = [
        ("challenge-empty", serde_json::json!({})),
        ("challenge", serde_json::json!({"device_key": b64(&der)})),
        (
            "enrol",
            serde_json::json!({
                "challenge_id": challenge_id,
                "id_number": tessera_vectors::PERSON.id_number,
                "device_key": device_key,
                "frames": [frame, frame],
                "replace_existing": true,
            }),
        ),
        (
            "renew",
            serde_json::json!({
                "challenge_id": challenge_id,
                "presentation": presentation,
                "device_key": device_key,
                "frames": [frame],
            }),
        ),
        (
            "holder-revoke",
            serde_json::json!({"challenge_id": challenge_id, "presentation": presentation}),
        ),
        (
            "admin-revoke",
            serde_json::json!({"id_number": "11010519491231002x", "reason": "lost"}),
        ),
        (
            "challenge-response",
            serde_json::json!({
                "challenge_id": challenge_id,
                "nonce": b64(&[7; 16]),
                "actions": ["front", "left", "blink", "right"],
                "issued_at": NOW,
                "expires_at": NOW + 120,
                "device_key_sha256": b64(&[1; 32]),
                "signer": b64(&key("issuer-2026").kid().0),
                "signature": b64(&proof),
            }),
        ),
        (
            "batch",
            serde_json::json!({
                "enrolment_id": "e1",
                "issued_at": NOW,
                "expires_at": NOW + YEAR,
                "face_similarity": 0.62,
                "credentials": [{"tier": "lightweight", "credential": b64(&credential)}],
            }),
        ),
        (
            "problem",
            serde_json::json!({
                "type": "urn:tessera:problem:rate_limited",
                "title": "Too many requests",
                "status": 429,
                "detail": "try again later",
                "extra": {"retry_after": 60},
            }),
        ),
    ];
    for (name, body) in bodies {
        seeds.write("issuer_json", name, &serde_json::to_vec(&body)?)?;
    }
    for (name, text) in [
        ("id-number", tessera_vectors::PERSON.id_number),
        ("date-iso", "2024-02-29"),
        ("date-compact", "20240229"),
        ("b64-padded", "AAEC_-8="),
    ] {
        seeds.write("issuer_json", name, text.as_bytes())?;
    }
    Ok(())
}

/// The fuzz crate's relying party and issuer (`fuzz/src/lib.rs`).
const OIDC_ISSUER: &str = "https://id.example";
const OIDC_CLIENT_ID: &str = "rp_fuzz";
/// RFC 7636 appendix B: the verifier and its S256 challenge.
const PKCE_VERIFIER: &str = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";
const PKCE_CHALLENGE: &str = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM";
const REQUEST_ID: &str = "0123456789abcdef0123456789abcdef";

/// `pairs` as a form body or query string (`application/x-www-form-urlencoded`).
fn form(pairs: &[(&str, &str)]) -> String {
    let encode = |s: &str| {
        s.bytes()
            .map(|b| match b {
                b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'*' => {
                    char::from(b).to_string()
                }
                b' ' => "+".to_owned(),
                _ => format!("%{b:02X}"),
            })
            .collect::<String>()
    };
    pairs
        .iter()
        .map(|(k, v)| format!("{}={}", encode(k), encode(v)))
        .collect::<Vec<_>>()
        .join("&")
}

fn oidc_text_seeds(seeds: &mut Seeds) -> Result<()> {
    let link = form(&[("issuer", OIDC_ISSUER), ("request", REQUEST_ID)]);
    for (name, text) in [
        ("link-qr", format!("tessera://sign-in?{link}")),
        (
            "link-same-device",
            format!("tessera://sign-in?{link}&code=42"),
        ),
        ("link-path-form", format!("tessera:sign-in?{link}&code=17")),
    ] {
        seeds.write_mode("oidc_text", name, 0, text.as_bytes())?;
    }
    let cb = "https://shop.example/cb";
    let base = [
        ("client_id", OIDC_CLIENT_ID),
        ("redirect_uri", cb),
        ("response_type", "code"),
        ("scope", "openid age_over_18 masked_name"),
        ("state", "s1"),
        ("nonce", "n1"),
        ("code_challenge", PKCE_CHALLENGE),
        ("code_challenge_method", "S256"),
    ];
    let with = |extra: &[(&'static str, &'static str)]| {
        let mut p = base.to_vec();
        p.extend_from_slice(extra);
        form(&p)
    };
    for (name, query) in [
        ("authorize", form(&base)),
        (
            "authorize-options",
            with(&[
                ("response_mode", "query"),
                ("prompt", "login consent"),
                ("ui_locales", "zh-CN en"),
                ("acr_values", "urn:tessera:acr:lightweight"),
            ]),
        ),
        (
            "authorize-upgraded",
            with(&[("acr_values", "urn:tessera:acr:upgraded")]),
        ),
        (
            "authorize-other-redirect",
            form(&[
                ("client_id", OIDC_CLIENT_ID),
                ("redirect_uri", "https://shop.example/cb?from=app"),
                ("response_type", "code"),
                ("scope", "openid"),
                ("code_challenge", PKCE_CHALLENGE),
                ("code_challenge_method", "S256"),
            ]),
        ),
    ] {
        seeds.write_mode("oidc_text", name, 1, query.as_bytes())?;
    }
    let grant = [
        ("grant_type", "authorization_code"),
        ("code", "c29tZSBjb2Rl"),
        ("redirect_uri", cb),
        ("code_verifier", PKCE_VERIFIER),
    ];
    let mut posted = grant.to_vec();
    posted.extend([
        ("client_id", OIDC_CLIENT_ID),
        ("client_secret", "fuzz-secret"),
    ]);
    for (name, text) in [
        // base64("rp_fuzz:fuzz-secret"), as RFC 6749 §2.3.1 sends it.
        (
            "token-basic",
            format!("Basic cnBfZnV6ejpmdXp6LXNlY3JldA==\n{}", form(&grant)),
        ),
        ("token-post", form(&posted)),
    ] {
        seeds.write_mode("oidc_text", name, 2, text.as_bytes())?;
    }
    Ok(())
}

fn sign_in_request_seeds(seeds: &mut Seeds, presentation: &str) -> Result<()> {
    let issuer = key("issuer-2026");
    let signature = issuer.sign(b"a sign-in request")?.to_bytes().to_vec();
    let request = |claims: &[&str], tier: &str, zh: Option<&str>| {
        let mut r = serde_json::json!({
            "request_id": REQUEST_ID,
            "issuer": OIDC_ISSUER,
            "client_id": OIDC_CLIENT_ID,
            "client_name": "Fuzz shop",
            "claims": claims,
            "tier": tier,
            "issued_at": NOW - 10,
            "expires_at": NOW + 110,
            "nonce": b64(&[9; 16]),
            "match_choices": [12, 57, 83],
            "signer": b64(&issuer.kid().0),
            "signature": b64(&signature),
        });
        if let Some(zh) = zh {
            r["client_name_zh"] = zh.into();
        }
        r
    };
    let lightweight = request(
        &["age_over_18", "masked_name"],
        "lightweight",
        Some("模糊商店"),
    );
    let upgraded = request(
        &["name", "birthdate", "gender", "id_number"],
        "upgraded",
        None,
    );
    for (name, body) in [("lightweight", &lightweight), ("upgraded", &upgraded)] {
        let json = serde_json::to_vec(body)?;
        seeds.write_mode("sign_in_request", &format!("{name}-served"), 0, &json)?;
        seeds.write_mode("sign_in_request", &format!("{name}-to-sign"), 1, &json)?;
    }
    let continue_to = format!(
        "https://shop.example/cb?{}",
        form(&[
            ("code", "c29tZSBjb2Rl"),
            ("state", "s1"),
            ("iss", OIDC_ISSUER)
        ])
    );
    for (name, body) in [
        (
            "approval",
            serde_json::json!({"presentation": presentation, "match_code": 57}),
        ),
        ("outcome", serde_json::json!({"state": "refused"})),
        (
            "status",
            serde_json::json!({"state": "approved", "continue_to": continue_to}),
        ),
    ] {
        seeds.write_mode("sign_in_request", name, 0, &serde_json::to_vec(&body)?)?;
    }
    Ok(())
}
