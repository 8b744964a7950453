//! One verification at the desk: the cache-age and policy gates around
//! `tessera_credential::verify`, the replay check shared by every terminal (SQLite), and
//! the verdict the page shows. Only the claims the code's tier discloses ever leave here.

use serde::Serialize;
use tessera_credential::{
    Identity, KeyProtection, Presentation, ReplayCache, StatusOutcome, Tier, UpgradedClaims,
    VerifyError, VerifyOptions,
};

use super::Desk;
use super::store::StoreError;

/// QR texts are at most a few hundred characters (version 20 holds ~850); a scanner
/// typing more is typing something else.
pub const MAX_TEXT: usize = 4096;

/// What the page shows.
#[derive(Debug, Clone, Serialize)]
pub struct DeskVerdict {
    /// Valid or not.
    pub valid: bool,
    /// `valid`, or a stable reason code the page words in the user's language.
    pub code: &'static str,
    /// The reason in English (for logs of the operator, and when the page has no words).
    pub message: String,
    /// The tier of a valid code.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tier: Option<Tier>,
    /// The disclosed claims of a valid code.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub claims: Option<Identity>,
    /// Seconds since the holder made the proof.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub proof_age: Option<u64>,
    /// How the code's device key is kept, as its issuer attested (`software`, `hardware`,
    /// `hardware_with_pin`), for a valid code of any tier.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub key_protection: Option<KeyProtection>,
    /// Whether the status was checked.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub status: Option<StatusOutcome>,
    /// Seconds since the issuer last confirmed the trust and status lists.
    pub cache_age: Option<u64>,
    /// For a valid upgraded code: the handle for check-in and the portrait (never for the
    /// other tiers: only an upgraded guest can be registered).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub verification: Option<String>,
    /// Whether the desk can fetch the registry portrait for this verification.
    pub portrait: bool,
    /// Time spent finding the QR in an image, when there was one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub decode_ms: Option<f64>,
    /// Time spent verifying.
    pub verify_ms: f64,
    /// For a proof refused for its time: how far the code's clock seems to be from this
    /// desk's, in seconds (positive: the code's clock is ahead). Proofs live 60 s, so an
    /// offset of minutes names a wrong clock on the phone (or, behind, an old screenshot).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub clock_offset_seconds: Option<i64>,
}

impl DeskVerdict {
    /// A refusal.
    pub fn invalid(
        code: &'static str,
        message: impl Into<String>,
        cache_age: Option<u64>,
    ) -> DeskVerdict {
        DeskVerdict {
            valid: false,
            code,
            message: message.into(),
            tier: None,
            claims: None,
            proof_age: None,
            key_protection: None,
            status: None,
            cache_age,
            verification: None,
            portrait: false,
            decode_ms: None,
            verify_ms: 0.0,
            clock_offset_seconds: None,
        }
    }
}

/// A valid upgraded verification, kept briefly for check-in and the portrait.
#[derive(Debug, Clone)]
pub struct Pending {
    /// The QR text (sent to the issuer for the portrait, never stored on disk).
    pub text: String,
    /// The disclosed claims.
    pub claims: UpgradedClaims,
    /// When this handle lapses.
    pub expires_at: u64,
    /// The face check's outcome, once staff ran one.
    pub face_check: Option<super::face_check::FaceCheckRecord>,
    /// The registry portrait's template, made while the desk camera captures
    /// (`POST /api/face-check/{id}/reference`); taken by the next face check, dropped with
    /// this verification. Never the picture.
    pub reference: Option<tessera_face::template::Template>,
}

/// How long after a verification the clerk may check the guest in.
pub const PENDING_SECONDS: u64 = 15 * 60;
const MAX_PENDING: usize = 10_000;

/// A replay cache that only notes the key: the real, shared record is written to SQLite
/// after every other check passed (verify() consults the cache last).
#[derive(Default)]
struct NoteKey(Option<([u8; 16], u64)>);

impl ReplayCache for NoteKey {
    fn check_and_record(&mut self, key: [u8; 16], keep_until: u64) -> bool {
        self.0 = Some((key, keep_until));
        false
    }
}

impl Desk {
    /// Verifies QR text as of `now`.
    pub async fn verify_text(&self, text: &str, now: u64) -> Result<DeskVerdict, StoreError> {
        let started = std::time::Instant::now();
        let mut v = self.verify_inner(text, now).await?;
        v.verify_ms = started.elapsed().as_secs_f64() * 1e3;
        Ok(v)
    }

    async fn verify_inner(&self, text: &str, now: u64) -> Result<DeskVerdict, StoreError> {
        // A USB scanner ends with Enter; some add a carriage return or spaces.
        let text = text.trim();
        let policy = &self.policy;
        let Some(mut snapshot) = self.cache.snapshot() else {
            return Ok(DeskVerdict::invalid(
                "no_trust_list",
                "this desk has no trust list yet: connect it to the issuer once",
                None,
            ));
        };
        if text.is_empty() {
            return Ok(DeskVerdict::invalid(
                "empty",
                "nothing was scanned",
                Some(now.saturating_sub(snapshot.fetched_at)),
            ));
        }
        if text.len() > MAX_TEXT {
            return Ok(DeskVerdict::invalid(
                "malformed",
                "this is far too long to be a Tessera code",
                Some(now.saturating_sub(snapshot.fetched_at)),
            ));
        }
        let presentation = match Presentation::from_qr_text(text) {
            Ok(p) => p,
            Err(e) => {
                return Ok(DeskVerdict::invalid(
                    "malformed",
                    e.to_string(),
                    Some(now.saturating_sub(snapshot.fetched_at)),
                ));
            }
        };
        let list = presentation.credential.claims.status.list;
        // Only a code the trust list vouches for may make the desk fetch a list: a forged
        // one naming list 9999 must not cost a refresh on every scan.
        let vouched = snapshot
            .trust
            .get(&presentation.credential.kid)
            .is_some_and(|i| {
                presentation
                    .credential
                    .issuer_signature_valid(&i.public_key)
            });
        let new_list = vouched && self.cache.want_list(list);
        if self.cache.has_issuer() && (new_list || policy.online_status_required) {
            match self.cache.refresh(now).await {
                Ok(()) => {
                    if let Some(s) = self.cache.snapshot() {
                        snapshot = s;
                    }
                }
                Err(e) if policy.online_status_required => {
                    return Ok(DeskVerdict::invalid(
                        "status_unavailable",
                        format!("this venue requires an online status check: {e}"),
                        Some(now.saturating_sub(snapshot.fetched_at)),
                    ));
                }
                Err(e) => tracing::warn!(error = %e, "status refresh failed; using the cache"),
            }
        }
        let cache_age = now.saturating_sub(snapshot.fetched_at);
        if cache_age > policy.max_cache_age_seconds {
            return Ok(DeskVerdict::invalid(
                "stale_cache",
                format!(
                    "the trust and status lists are {cache_age} s old, more than the {} s this venue allows: reconnect the desk to the issuer",
                    policy.max_cache_age_seconds
                ),
                Some(cache_age),
            ));
        }
        let options = VerifyOptions {
            skew: policy.clock_skew_seconds,
            required_tier: self.required_tier,
            max_face_age: policy.max_face_age_seconds,
            require_status: policy.online_status_required,
            ..VerifyOptions::at(now)
        };
        let mut note = NoteKey::default();
        let result = tessera_credential::verify(
            &presentation,
            &snapshot.trust,
            &options,
            &snapshot.statuses,
            &mut note,
        );
        let verdict = match result {
            Ok(v) => v,
            Err(e) => return Ok(refusal_at(&e, cache_age, now)),
        };
        // A genuine code of a tier the venue does not take (a bar taking only the age-only
        // code): refused before anything of it is kept, and its claims are not shown. The
        // nonce is not used up.
        if let Some(accepted) = &self.accepted_tiers
            && !accepted.contains(&verdict.tier)
        {
            return Ok(DeskVerdict::invalid(
                "tier_not_accepted",
                not_accepted_message(accepted, verdict.tier),
                Some(cache_age),
            ));
        }
        // A venue requiring hardware keys for the full details: an upgraded code whose key
        // the issuer did not attest as kept in a TPM (or secure element) could have been
        // copied with the keystore. Refused like a tier not taken: nothing kept or shown.
        let key_protection = presentation.credential.claims.key_protection;
        if policy.require_hardware_keys
            && verdict.tier == Tier::Upgraded
            && key_protection == KeyProtection::Software
        {
            return Ok(DeskVerdict::invalid(
                "hardware_keys_required",
                "this venue requires the full-details code from a phone or computer whose ID keys \
                 are in its security chip; this code's keys are software keys: check the guest's \
                 ID another way",
                Some(cache_age),
            ));
        }
        if let Some((key, keep_until)) = note.0
            && !self.store.record_nonce(&key, keep_until).await?
        {
            return Ok(refusal(&VerifyError::Replayed, cache_age));
        }
        let mut handle = None;
        if let Identity::Upgraded(claims) = &verdict.claims {
            let id = super::auth::new_token();
            let mut pending = self.pending.lock().unwrap_or_else(|p| p.into_inner());
            pending.retain(|_, p| p.expires_at > now);
            if pending.len() < MAX_PENDING {
                pending.insert(
                    id.clone(),
                    Pending {
                        text: text.to_owned(),
                        claims: claims.clone(),
                        expires_at: now + PENDING_SECONDS,
                        face_check: None,
                        reference: None,
                    },
                );
                handle = Some(id);
            }
        }
        Ok(DeskVerdict {
            valid: true,
            code: "valid",
            message: format!(
                "valid {} code issued by {}",
                verdict.tier.name(),
                verdict.issuer_name
            ),
            tier: Some(verdict.tier),
            portrait: handle.is_some() && self.issuer_key.is_some(),
            claims: Some(verdict.claims),
            proof_age: Some(verdict.proof_age),
            key_protection: Some(key_protection),
            status: Some(verdict.status),
            cache_age: Some(cache_age),
            verification: handle,
            decode_ms: None,
            verify_ms: 0.0,
            clock_offset_seconds: None,
        })
    }
}

/// How a person names a tier's code (the citizen's app: *Age only*, *Basic check*, *Full
/// details*).
fn tier_words(tier: Tier) -> &'static str {
    match tier {
        Tier::AgeOnly => "age-only",
        Tier::Lightweight => "basic (lightweight)",
        Tier::Upgraded => "full-details (upgraded)",
    }
}

/// "this venue only accepts the age-only code, not a basic (lightweight) one: show that instead"
fn not_accepted_message(accepted: &[Tier], shown: Tier) -> String {
    let names: Vec<&str> = accepted.iter().map(|t| tier_words(*t)).collect();
    let (list, instead) = match names.as_slice() {
        [one] => ((*one).to_owned(), "show that instead"),
        [rest @ .., last] => (
            format!("{} or {last}", rest.join(", ")),
            "show one of those instead",
        ),
        [] => (String::new(), "show another"),
    };
    format!(
        "this venue only accepts the {list} code, not a {} one: {instead}",
        tier_words(shown)
    )
}

fn refusal(e: &VerifyError, cache_age: u64) -> DeskVerdict {
    DeskVerdict::invalid(e.code(), e.to_string(), Some(cache_age))
}

/// Past this, a proof's time names a clock, not a slow scan (proofs live 60 s).
const CLOCK_NAMED_AFTER: i64 = 120;

/// A refusal; one for the proof's time says how far off the code's clock seems.
fn refusal_at(e: &VerifyError, cache_age: u64, now: u64) -> DeskVerdict {
    let signed = |t: u64| i64::try_from(t).unwrap_or(i64::MAX);
    let offset = match *e {
        VerifyError::ProofNotYetValid { issued_at } => signed(issued_at) - signed(now),
        VerifyError::ProofExpired { expires_at } => signed(expires_at) - signed(now),
        _ => return refusal(e, cache_age),
    };
    let mut v = refusal(e, cache_age);
    if offset.abs() >= CLOCK_NAMED_AFTER {
        let minutes = (offset.abs() + 30) / 60;
        v.message = if offset > 0 {
            format!(
                "the code's clock is about {minutes} min ahead of this desk's: the guest should \
                 set the phone's date and time automatically, then show a new code"
            )
        } else {
            format!(
                "this code was made about {minutes} min ago by its clock: ask for a new one; if \
                 the guest has just made it, the phone's clock is about {minutes} min behind \
                 this desk's"
            )
        };
        v.clock_offset_seconds = Some(offset);
    }
    v
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_refusal_names_what_the_venue_takes() {
        assert_eq!(
            not_accepted_message(&[Tier::AgeOnly], Tier::Lightweight),
            "this venue only accepts the age-only code, not a basic (lightweight) one: show that instead"
        );
        assert_eq!(
            not_accepted_message(&[Tier::AgeOnly, Tier::Lightweight], Tier::Upgraded),
            "this venue only accepts the age-only or basic (lightweight) code, not a \
             full-details (upgraded) one: show one of those instead"
        );
    }
}
