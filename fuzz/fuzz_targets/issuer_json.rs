//! The issuer's JSON request bodies, what the service parses out of them, and the JSON
//! answers the wallet reads back from the issuer.
//!
//! Every request type must survive parse → serialise → parse unchanged (the base64url
//! fields, the optional ones, the flags); its contents then go through the parsers the
//! issuer runs on them: the ID number, the device key's SubjectPublicKeyInfo and proof of
//! possession, and the presentation (a QR text). The same bytes, read as text, go through
//! the base64url decoder, the ID number parser and the date parsers, each with its own
//! round trip.
#![no_main]

use libfuzzer_sys::fuzz_target;
use serde::Serialize;
use serde::de::DeserializeOwned;
use tessera_credential::{
    Credential, MemoryReplayCache, VerifyOptions, status_list, verify_qr_text,
};
use tessera_issuer_api::ids::{CivilDate, IdNumber};
use tessera_issuer_api::*;

/// Parses `data` as a `T`; if it is one, checks that it reads back the same after writing.
fn round_trip<T>(data: &[u8]) -> Option<T>
where
    T: DeserializeOwned + Serialize + PartialEq + std::fmt::Debug,
{
    let value: T = serde_json::from_slice(data).ok()?;
    let json = serde_json::to_vec(&value)
        .unwrap_or_else(|e| panic!("a parsed request always serialises: {e}"));
    let again: T = serde_json::from_slice(&json)
        .unwrap_or_else(|e| panic!("our own JSON must read back: {e}"));
    assert_eq!(again, value, "JSON round trip changed the value");
    Some(value)
}

fn id_number(text: &str) {
    if let Ok(id) = IdNumber::parse(text) {
        assert_eq!(id.as_str().len(), 18);
        assert_eq!(IdNumber::parse(id.as_str()).as_ref(), Ok(&id));
        assert_eq!(id.birth_date().compact(), id.as_str()[6..14]);
        let _ = id.is_male();
    }
}

fn device_key(challenge_id: &str, key: &DeviceKey) {
    let proof = DeviceKeyProof {
        key_der: key.public_key.clone(),
        signature: key.proof.clone(),
    };
    let _ = proof.verify(challenge_id, &[0u8; 16]);
}

fn presentation(text: &str) {
    let mut replay = MemoryReplayCache::default();
    let _ = verify_qr_text(
        text,
        tessera_fuzz::trust(),
        &VerifyOptions::at(tessera_vectors::NOW),
        &status_list::NoStatusLists,
        &mut replay,
    );
}

fuzz_target!(|data: &[u8]| {
    // Requests (the issuer parses these from anyone on the network).
    if let Some(r) = round_trip::<ChallengeRequest>(data)
        && let Some(der) = r.device_key
    {
        let _ = tessera_credential::keys::public_key_from_der(&der);
    }
    if let Some(r) = round_trip::<EnrolRequest>(data) {
        id_number(&r.id_number);
        device_key(&r.challenge_id, &r.device_key);
    }
    if let Some(r) = round_trip::<RenewRequest>(data) {
        presentation(&r.presentation);
        device_key(&r.challenge_id, &r.device_key);
    }
    if let Some(r) = round_trip::<HolderRevokeRequest>(data) {
        presentation(&r.presentation);
    }
    if let Some(r) = round_trip::<AdminRevokeRequest>(data) {
        id_number(&r.id_number);
    }
    // Answers (the wallet parses these from whatever its issuer URL reaches).
    let _ = round_trip::<ChallengeResponse>(data);
    let _ = round_trip::<RevokeResponse>(data);
    if let Ok(batch) = serde_json::from_slice::<BatchResponse>(data) {
        for c in &batch.credentials {
            let _ = Credential::from_bytes(&c.credential);
        }
    }
    if let Ok(p) = serde_json::from_slice::<Problem>(data) {
        let _ = p.kind();
    }
    // The helpers on their own.
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    if let Ok(bytes) = b64::decode(text) {
        assert_eq!(b64::decode(&b64::encode(&bytes)).as_ref(), Ok(&bytes));
    }
    id_number(text);
    if let Some(d) = CivilDate::parse_compact(text) {
        assert_eq!(d.compact(), text);
    }
    if let Some(d) = CivilDate::parse_iso(text) {
        assert_eq!(CivilDate::parse_compact(&d.compact()), Some(d));
    }
});
