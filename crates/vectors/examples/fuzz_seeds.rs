//! Writes the seed inputs of the fuzz targets (fuzz/README.md) into `OUT_DIR/<target>/`:
//! `cargo run -p tessera-vectors --example fuzz_seeds -- fuzz/corpus` (scripts/fuzz.sh
//! does). The seeds come from the committed vectors in docs/format/vectors (QR texts,
//! status list tokens, PNGs) and from the same fixture keys (signed trust lists, more
//! status lists, the issuer's JSON bodies), so they follow the format as it changes and
//! nothing generated is committed.
//!
//! The trust-list and status-list targets read a first byte that says what follows (see
//! their sources): 0 a signed document, 1 its payload, 2 (status list) a bits byte and the
//! compressed list.

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
