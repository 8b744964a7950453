//! Registry portraits for registered verifiers (a hotel desk comparing the guest's face
//! with the registry photo). Released only for a fresh, valid upgraded presentation, and
//! every decision is audited — the audit holds who asked and why, never the image.

use sha2::{Digest, Sha256};
use tessera_credential::claims::{Identity, Tier};
use tessera_credential::qr_text::Presentation;
use tessera_credential::verify::{MemoryReplayCache, VerifyOptions, verify};
use tessera_issuer_api::{Problem, ProblemType};

use super::{Issuer, KnownStatus, internal, store_error};
use crate::ratelimit::ClientKey;
use crate::store::Audit;
use std::net::IpAddr;

/// A registry photo and its media type.
#[derive(Debug, Clone)]
pub struct Portrait {
    /// `image/jpeg` or `image/png`.
    pub content_type: &'static str,
    /// The bytes as imported.
    pub bytes: Vec<u8>,
}

/// The SHA-256 (hex) under which a verifier key is stored.
pub fn verifier_key_hash(key: &str) -> String {
    hex::encode(Sha256::digest(key.as_bytes()))
}

/// A new verifier API key (shown once to the operator, stored only hashed).
pub fn new_verifier_key() -> String {
    format!("tvk_{}", hex::encode(crate::config::random_bytes::<32>()))
}

impl Issuer {
    /// The registry portrait of the holder of `presentation`, for the verifier whose API
    /// key is `api_key`, asked from `client` (whose rate limit is checked first: before any
    /// lookup or audit write).
    pub async fn portrait(
        &self,
        api_key: Option<&str>,
        presentation: &str,
        client: Option<IpAddr>,
    ) -> Result<Portrait, Problem> {
        let client = client.map(ClientKey::from);
        if let Some(c) = &client {
            self.portraits_per_ip
                .attempt(c)
                .map_err(|retry| super::rate_limited("too many portrait requests", retry))?;
        }
        let now = self.now();
        let verifier = match api_key {
            Some(k) if !k.is_empty() && k.len() <= 200 => {
                let hash = verifier_key_hash(k);
                let name = self
                    .store
                    .verifier_by_key(&hash)
                    .await
                    .map_err(store_error)?;
                name.map(|name| (name, hash))
            }
            _ => None,
        };
        let Some((name, hash)) = verifier else {
            self.audit_portrait_refusal(client, "unregistered verifier")
                .await?;
            return Err(Problem::new(
                ProblemType::Unauthorized,
                "a registered verifier's API key is required (Authorization: Bearer …)",
            ));
        };
        // Names can be reused after a removal; the key's fingerprint says which key asked.
        let verifier = verifier_label(&name, &hash);
        let refuse = |why: String| Problem::new(ProblemType::HolderAuthFailed, why);
        let p = match Presentation::from_qr_text(presentation) {
            Ok(p) => p,
            Err(e) => {
                let detail = format!("{verifier}: unreadable presentation");
                self.audit_portrait_refusal(client, &detail).await?;
                return Err(refuse(format!("the presentation cannot be read: {e}")));
            }
        };
        let cti = hex::encode(p.credential.claims.credential_id);
        let status = self
            .store
            .credential_status(
                p.credential.claims.status.list,
                p.credential.claims.status.idx,
            )
            .await
            .map_err(store_error)?;
        let trust = self.keys.trust_list(&self.config, now);
        let mut options = VerifyOptions::at(now);
        options.require_status = true;
        options.required_tier = Some(Tier::Upgraded);
        // The desk has already spent this proof's nonce in its own replay cache; here the
        // proof's 60 s window is what limits a leaked presentation, so no replay memory.
        if let Err(e) = verify(
            &p,
            &trust,
            &options,
            &KnownStatus(status),
            &mut MemoryReplayCache::default(),
        ) {
            let detail = format!("{verifier}: {}", e.code());
            self.audit_portrait_refusal(client, &detail).await?;
            return Err(refuse(format!(
                "the presentation does not verify now ({}): portraits are released only for a fresh, valid upgraded code",
                e.code()
            )));
        }
        let Some((id_number, bytes)) = self
            .store
            .photo_by_credential(&cti)
            .await
            .map_err(store_error)?
        else {
            return Err(internal("issued credential without a registry record"));
        };
        // The credential names the photo it was issued with; a registry photo replaced since
        // (a re-import) is not that person's verified portrait for this credential, and the
        // desk would refuse it anyway: say so plainly instead.
        let issued_with = match &p.credential.claims.identity {
            Identity::Upgraded(c) => Some(c.photo_sha256),
            Identity::Lightweight(_) | Identity::AgeOnly(_) => None,
        };
        if issued_with.is_none_or(|d| Sha256::digest(&bytes).as_slice() != d.as_slice()) {
            let detail =
                format!("{verifier}: registry photo changed since the credential was issued");
            self.audit_portrait(Some(&id_number), "refused", &detail)
                .await?;
            return Err(Problem::new(
                ProblemType::PortraitChanged,
                "the registry photo has changed since this credential was issued: no portrait is released; the holder should renew",
            ));
        }
        let detail = format!("to verifier {verifier}");
        let audit = Audit {
            event: "portrait",
            id_number: Some(&id_number),
            outcome: "released",
            detail: &detail,
        };
        self.store
            .portrait_released(&hash, now, &audit)
            .await
            .map_err(store_error)?;
        tracing::info!(event = "portrait", outcome = "released", "decision");
        Ok(Portrait {
            content_type: if bytes.starts_with(b"\x89PNG") {
                "image/png"
            } else {
                "image/jpeg"
            },
            bytes,
        })
    }

    async fn audit_portrait(
        &self,
        id_number: Option<&str>,
        outcome: &str,
        detail: &str,
    ) -> Result<(), Problem> {
        let audit = Audit {
            event: "portrait",
            id_number,
            outcome,
            detail,
        };
        self.store
            .audit(self.now(), &audit)
            .await
            .map_err(store_error)?;
        tracing::info!(event = "portrait", outcome, "decision");
        Ok(())
    }

    /// Audits a refusal that names nobody: one record per client, reason and rate-limit
    /// window, counting its occurrences, so a flood of bad requests cannot grow the table.
    async fn audit_portrait_refusal(
        &self,
        client: Option<ClientKey>,
        reason: &str,
    ) -> Result<(), Problem> {
        let Some(client) = client else {
            return self.audit_portrait(None, "refused", reason).await;
        };
        let now = self.now();
        let window = self.config.rate_window.as_secs().max(1);
        let detail = format!("from {client}: {reason}");
        let aggregate = format!("portrait|{client}|{reason}|{}", now - now % window);
        let audit = Audit {
            event: "portrait",
            id_number: None,
            outcome: "refused",
            detail: &detail,
        };
        self.store
            .audit_aggregated(now, &aggregate, &audit)
            .await
            .map_err(store_error)?;
        tracing::info!(event = "portrait", outcome = "refused", "decision");
        Ok(())
    }

    /// Registers a verifier; returns its new API key (to show once), or `None` if the name
    /// is taken.
    pub async fn add_verifier(&self, name: &str) -> Result<Option<String>, Problem> {
        add_verifier(&self.store, name, self.now()).await
    }
}

/// `NAME (key 1a2b3c4d)`: how audit records name a verifier.
fn verifier_label(name: &str, key_sha256: &str) -> String {
    format!("{name} (key {})", &key_sha256[..8])
}

/// Whether `name` can name a verifier (see [`tessera_issuer_api::names::valid_display_name`]).
pub fn valid_verifier_name(name: &str) -> bool {
    tessera_issuer_api::names::valid_display_name(name)
}

/// Registers verifier `name` in `store`; its new key, or `None` if the name is taken. The
/// registration and its audit record are one transaction.
pub async fn add_verifier(
    store: &crate::store::Store,
    name: &str,
    now: u64,
) -> Result<Option<String>, Problem> {
    if !valid_verifier_name(name) {
        return Err(Problem::new(
            ProblemType::Malformed,
            "a verifier name is 1-100 bytes of visible text without leading or trailing spaces",
        ));
    }
    let key = new_verifier_key();
    let hash = verifier_key_hash(&key);
    let detail = verifier_label(name, &hash);
    let audit = verifier_audit("added", &detail);
    let added = store
        .add_verifier(name, &hash, now, &audit)
        .await
        .map_err(store_error)?;
    Ok(added.then_some(key))
}

/// Removes verifier `name` from `store` (its key is refused from the next request on);
/// false if there is no such verifier. The removal and its audit record are one transaction.
pub async fn remove_verifier(
    store: &crate::store::Store,
    name: &str,
    now: u64,
) -> Result<bool, Problem> {
    store
        .remove_verifier(name, now, |key_sha256| verifier_label(name, key_sha256))
        .await
        .map_err(store_error)
}

fn verifier_audit<'a>(outcome: &'a str, detail: &'a str) -> Audit<'a> {
    Audit {
        event: "verifier",
        id_number: None,
        outcome,
        detail,
    }
}
