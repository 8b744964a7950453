//! A desk data directory seeded, as if fetched from an issuer, with lists made from the
//! fixed fixture keys of `tessera-vectors`, and codes for every verdict the page shows.

use std::path::Path;

use tessera_credential::keys::spki_pem;
use tessera_credential::status_list::{StatusList, StatusListToken, status};
use tessera_credential::{
    AuthMethods, Es256Signer, Presentation, ProofRequest, SoftwareKey, TrustList, TrustedIssuer,
};
use tessera_vectors::{PERSON, STATUS_BASE, SeededRandomness, Wallet, YEAR};

/// Status index that the seeded status list marks revoked.
pub const REVOKED_IDX: u64 = 5;
/// Status index of the seeded age-only credentials (valid).
const AGE_ONLY_IDX: u64 = 9;

/// Writes `cache/` into `dir` as fetched at `now`.
pub fn seed_cache(dir: &Path, now: u64) {
    let issuer = tessera_vectors::key("issuer-2026");
    let list_key = tessera_vectors::key("trust-list-2026");
    let cache = dir.join("cache");
    std::fs::create_dir_all(&cache).unwrap();
    let mut entry = TrustedIssuer::new("Tessera demo issuer", issuer.public_key());
    entry.status_base = Some(STATUS_BASE.to_owned());
    let trust = TrustList {
        issued_at: now,
        sequence: 1,
        issuers: vec![entry],
    };
    std::fs::write(cache.join("trust-list.cwt"), trust.sign(&list_key).unwrap()).unwrap();
    std::fs::write(
        cache.join("trust-list-key.pem"),
        spki_pem(&list_key.public_key()),
    )
    .unwrap();
    let mut list = StatusList::new(2, 1024).unwrap();
    list.set(REVOKED_IDX, status::INVALID).unwrap();
    let token = StatusListToken {
        signer: issuer.kid(),
        uri: format!("{STATUS_BASE}1"),
        issued_at: now,
        expires_at: Some(now + 86_400),
        ttl: Some(3600),
        list,
    };
    std::fs::write(cache.join("status-1.cwt"), token.sign(&issuer).unwrap()).unwrap();
    std::fs::write(cache.join("fetched-at"), now.to_string()).unwrap();
}

/// Codes for each verdict, shown at `now`.
pub struct Codes {
    wallet: Wallet,
    now: u64,
    age_only_shown: u32,
}

fn upgraded_request(now: u64) -> ProofRequest {
    ProofRequest {
        now,
        lifetime: 60,
        auth: AuthMethods::USER
            .with(AuthMethods::PIN)
            .with(AuthMethods::FACE),
        face_verified_at: Some(now - 20),
    }
}

impl Codes {
    pub fn new(now: u64) -> Codes {
        Codes {
            wallet: Wallet::issued_at(now - 30 * 86_400),
            now,
            age_only_shown: 0,
        }
    }

    /// A fresh valid upgraded code (a new nonce each call).
    pub fn valid_upgraded(&mut self) -> String {
        self.wallet.show_upgraded(self.now).to_qr_text()
    }

    /// A fresh valid lightweight code (wrong tier where the venue requires upgraded).
    pub fn lightweight(&mut self) -> String {
        self.wallet.show_lightweight(self.now).to_qr_text()
    }

    /// A fresh valid age-only code (no name, no ID number) saying `over_18`, on its own
    /// one-time key (a new credential each call).
    pub fn age_only(&mut self, over_18: bool) -> String {
        use tessera_credential::claims::{AgeOnlyClaims, Identity};
        let issuer = tessera_vectors::key("issuer-2026");
        let mut rng = SeededRandomness::new(&format!("age-only-{}", self.age_only_shown));
        self.age_only_shown += 1;
        let key = SoftwareKey::generate(&mut rng);
        let claims = tessera_vectors::claims(
            &key,
            Identity::AgeOnly(AgeOnlyClaims {
                age_over_18: over_18,
            }),
            self.now - 3 * 86_400,
            AGE_ONLY_IDX,
            &mut rng,
        );
        let credential = tessera_vectors::issue(claims, &issuer);
        let request = ProofRequest {
            now: self.now,
            lifetime: 60,
            auth: AuthMethods::USER,
            face_verified_at: None,
        };
        tessera_vectors::present(&credential, &key, request, &mut rng).to_qr_text()
    }

    /// A fresh valid upgraded code whose credential says `protection` (issue 15), signed by
    /// the fixture issuer key as the issuer signs one for a TPM-attested key (the desk reads
    /// the issuer's word; the holder key is a software stand-in). A new credential each call.
    pub fn upgraded_with(&mut self, protection: tessera_credential::KeyProtection) -> String {
        let issuer = tessera_vectors::key("issuer-2026");
        let mut rng = SeededRandomness::new(&format!("keys-{}", self.age_only_shown));
        self.age_only_shown += 1;
        let device = SoftwareKey::generate(&mut rng);
        let mut claims = tessera_vectors::claims(
            &device,
            tessera_vectors::identity(&PERSON, true),
            self.now - 30 * 86_400,
            AGE_ONLY_IDX,
            &mut rng,
        );
        claims.key_protection = protection;
        let credential = tessera_vectors::issue(claims, &issuer);
        tessera_vectors::present(&credential, &device, upgraded_request(self.now), &mut rng)
            .to_qr_text()
    }

    /// An upgraded code whose credential expired.
    pub fn expired(&self) -> String {
        let mut w = Wallet::issued_at(self.now - 2 * YEAR);
        w.show_upgraded(self.now).to_qr_text()
    }

    /// An upgraded code whose status entry is revoked.
    pub fn revoked(&self) -> String {
        let issuer = tessera_vectors::key("issuer-2026");
        let device = tessera_vectors::key("device-1");
        let mut rng = SeededRandomness::new("revoked");
        let claims = tessera_vectors::claims(
            &device,
            tessera_vectors::identity(&PERSON, true),
            self.now - 30 * 86_400,
            REVOKED_IDX,
            &mut rng,
        );
        let credential = tessera_vectors::issue(claims, &issuer);
        let p: Presentation =
            tessera_vectors::present(&credential, &device, upgraded_request(self.now), &mut rng);
        p.to_qr_text()
    }
}
