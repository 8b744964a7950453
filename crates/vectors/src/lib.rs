//! Fixtures for tests, benchmarks and the committed test vectors: fixed keys, realistic
//! claims (a three-character Chinese name, an 18-character ID number) and a seeded random
//! source, so every run produces the same bytes.
//!
//! Never use anything here in a product: the keys are public and the randomness is not.

use sha2::{Digest, Sha256};
use tessera_credential::{
    AuthMethods, Credential, CredentialClaims, Es256Signer, Gender, HolderProof, Identity,
    LightweightClaims, Presentation, ProofRequest, Randomness, SoftwareKey, StatusRef,
    UpgradedClaims, mask_id_number, mask_name,
};

pub mod generate;

/// The fixed "now" of the vectors: 2026-11-25T12:00:00Z.
pub const NOW: u64 = 1_795_608_000;
/// A year, in seconds.
pub const YEAR: u64 = 365 * 24 * 3600;
/// The demo issuer's `iss`.
pub const ISSUER: &str = "CN";
/// The demo issuer's status base (list n is at STATUS_BASE + n).
pub const STATUS_BASE: &str = "https://id.tessera.example/v1/status/";

/// Deterministic bytes: SHA-256 of (label, counter). For fixtures only.
#[derive(Debug, Clone)]
pub struct SeededRandomness {
    label: Vec<u8>,
    counter: u64,
}

impl SeededRandomness {
    /// A stream named `label`.
    pub fn new(label: &str) -> SeededRandomness {
        SeededRandomness {
            label: label.as_bytes().to_vec(),
            counter: 0,
        }
    }
}

impl Randomness for SeededRandomness {
    fn fill(&mut self, dest: &mut [u8]) {
        for chunk in dest.chunks_mut(32) {
            let mut h = Sha256::new();
            h.update(&self.label);
            h.update(self.counter.to_be_bytes());
            self.counter += 1;
            let block = h.finalize();
            chunk.copy_from_slice(&block[..chunk.len()]);
        }
    }
}

/// A fixed key named `label`.
pub fn key(label: &str) -> SoftwareKey {
    SoftwareKey::generate(&mut SeededRandomness::new(label))
}

/// The registry record the fixtures describe.
#[derive(Debug, Clone)]
pub struct Person {
    /// Full name.
    pub full_name: &'static str,
    /// 18-character PRC citizen ID number (valid check digit).
    pub id_number: &'static str,
    /// `YYYYMMDD`.
    pub date_of_birth: &'static str,
    /// Gender.
    pub gender: Gender,
}

/// The fixtures' citizen.
pub const PERSON: Person = Person {
    full_name: "张晓明",
    id_number: "11010519491231002X",
    date_of_birth: "19491231",
    gender: Gender::Female,
};

/// The claims of one tier for `person`.
pub fn identity(person: &Person, upgraded: bool) -> Identity {
    if upgraded {
        Identity::Upgraded(UpgradedClaims {
            id_number: person.id_number.into(),
            full_name: person.full_name.into(),
            date_of_birth: person.date_of_birth.into(),
            gender: person.gender,
            photo_sha256: Sha256::digest(b"registry portrait of the fixture person").into(),
        })
    } else {
        Identity::Lightweight(LightweightClaims {
            masked_name: mask_name(person.full_name),
            masked_id_number: mask_id_number(person.id_number),
            age_over_18: true,
        })
    }
}

/// Credential claims valid for a year from `issued_at`.
pub fn claims(
    holder: &dyn Es256Signer,
    identity: Identity,
    issued_at: u64,
    status_idx: u64,
    rng: &mut dyn Randomness,
) -> CredentialClaims {
    let mut cti = [0u8; 8];
    rng.fill(&mut cti);
    CredentialClaims {
        issuer: ISSUER.into(),
        issued_at,
        not_before: issued_at,
        expires_at: issued_at + YEAR,
        credential_id: cti,
        holder_key: holder.public_key(),
        status: StatusRef {
            list: 1,
            idx: status_idx,
        },
        identity,
        key_protection: tessera_credential::KeyProtection::Software,
    }
}

/// An issuer, a device and the batch it holds (one credential per tier).
#[derive(Debug)]
pub struct Wallet {
    /// The issuer key.
    pub issuer: SoftwareKey,
    /// The holder's device key.
    pub device: SoftwareKey,
    /// Lightweight credential.
    pub lightweight: Credential,
    /// Upgraded credential.
    pub upgraded: Credential,
    /// Randomness for proofs.
    pub rng: SeededRandomness,
}

impl Wallet {
    /// The standard fixture: issued 30 days before [`NOW`], status indexes 0 and 1.
    pub fn standard() -> Wallet {
        Wallet::issued_at(NOW - 30 * 24 * 3600)
    }

    /// The fixture issued at `issued_at`.
    pub fn issued_at(issued_at: u64) -> Wallet {
        let issuer = key("issuer-2026");
        let device = key("device-1");
        let mut rng = SeededRandomness::new("wallet");
        let light = claims(&device, identity(&PERSON, false), issued_at, 0, &mut rng);
        let up = claims(&device, identity(&PERSON, true), issued_at, 1, &mut rng);
        Wallet {
            lightweight: issue(light, &issuer),
            upgraded: issue(up, &issuer),
            issuer,
            device,
            rng,
        }
    }

    /// A presentation of the lightweight credential at `now`.
    pub fn show_lightweight(&mut self, now: u64) -> Presentation {
        let request = ProofRequest {
            now,
            lifetime: 60,
            auth: AuthMethods::USER,
            face_verified_at: None,
        };
        present(&self.lightweight, &self.device, request, &mut self.rng)
    }

    /// A presentation of the upgraded credential at `now`, PIN and face 20 s before.
    pub fn show_upgraded(&mut self, now: u64) -> Presentation {
        let request = ProofRequest {
            now,
            lifetime: 60,
            auth: AuthMethods::USER
                .with(AuthMethods::PIN)
                .with(AuthMethods::FACE),
            face_verified_at: Some(now - 20),
        };
        present(&self.upgraded, &self.device, request, &mut self.rng)
    }
}

/// Issues, panicking on failure (fixtures only).
pub fn issue(claims: CredentialClaims, issuer: &SoftwareKey) -> Credential {
    Credential::issue(claims, issuer).expect("fixture issuance")
}

/// Presents, panicking on failure (fixtures only).
pub fn present(
    credential: &Credential,
    device: &SoftwareKey,
    request: ProofRequest,
    rng: &mut dyn Randomness,
) -> Presentation {
    let proof = HolderProof::create(
        credential,
        device,
        request,
        tessera_credential::verify::DEFAULT_MAX_FACE_AGE,
        rng,
    )
    .expect("fixture proof");
    Presentation {
        credential: credential.clone(),
        proof,
    }
}
