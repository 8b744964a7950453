//! Refills: fresh one-time credentials for the holder of a current one, without a face
//! check (issue 14). The numbered steps run cheapest first; nothing is signed before the
//! holder is proven and within their budget.

use std::net::IpAddr;

use tessera_issuer_api::batch::refill_sha256;
use tessera_issuer_api::challenge::device_key_sha256;
use tessera_issuer_api::{HolderAuthPurpose, Problem, ProblemType, RefillRequest, RefillResponse};

use super::{Issuer, internal, rate_limited, store_error};
use crate::store::{Audit, NewRefill};

impl Issuer {
    /// Retires the credentials the holder has shown and issues fresh ones on new keys, up
    /// to `batch_size` valid one-time credentials of each tier.
    pub async fn refill(
        &self,
        req: RefillRequest,
        ip: Option<IpAddr>,
    ) -> Result<RefillResponse, Problem> {
        if let Some(ip) = ip {
            self.sign_ins_per_ip
                .attempt(&ip.into())
                .map_err(|retry| rate_limited("too many requests", retry))?;
        }
        // 1. The challenge, drawn naming the first new key (as enrolment names its key).
        let first = req.keys.first().ok_or_else(|| {
            Problem::new(
                ProblemType::Malformed,
                "a refill needs at least one new key",
            )
        })?;
        let row = self.challenge_row(&req.challenge_id).await?;
        if row.device_key_sha256.as_deref() != Some(&device_key_sha256(&first.public_key)[..]) {
            return Err(Problem::new(
                ProblemType::ChallengeKeyMismatch,
                "this challenge was drawn for another key: ask for one naming the first new key",
            ));
        }
        // 2. A retry of a refill that was answered (the wallet crashed before storing it):
        //    the same answer, never a second set.
        if row.used_at.is_some()
            && let Some(kept) = self
                .store
                .refill_by_challenge(&row.id)
                .await
                .map_err(store_error)?
        {
            let kept: RefillResponse = serde_json::from_str(&kept).map_err(internal)?;
            return Ok(kept);
        }
        self.check_fresh(&row)?;
        // 3. The holder: a current credential's proof over this challenge, these keys and
        //    these retirements.
        let purpose = HolderAuthPurpose::Refill {
            request_sha256: refill_sha256(&req.keys, &req.retire),
        };
        let enrolment = match self.holder(&req.presentation, &row.nonce, purpose).await {
            Ok(e) => e,
            Err(p) => return Err(self.refuse(&row.id, "refill", None, p).await),
        };
        let who = enrolment.id_number.clone();
        // 4. The person's budget, charged only once they are proven.
        if let Err(retry) = self.refills_per_id.attempt(&who) {
            let p = rate_limited("too many refills today", retry);
            return Err(self.refuse(&row.id, "refill", Some(&who), p).await);
        }
        // 5. The keys: proofs of possession, batch tiers, at most a batch of each.
        let keys = match self.one_time_keys(&req.keys, &row) {
            Ok(k) => k,
            Err(p) => return Err(self.refuse(&row.id, "refill", Some(&who), p).await),
        };
        // A refill carries no TPM attestation: its credentials say software keys, even
        // from a wallet whose keys are in a TPM (documented in the issuer's README).
        let keys: Vec<_> = keys
            .into_iter()
            .map(|(tier, key)| (tier, key, tessera_credential::KeyProtection::Software))
            .collect();
        // 6. What is retired must be this enrolment's own valid one-time credentials, and
        //    afterwards the holder may hold at most `batch_size` valid ones of each tier.
        let held = self
            .store
            .one_time_credentials(&enrolment.id)
            .await
            .map_err(store_error)?;
        let mut retire: Vec<String> = Vec::with_capacity(req.retire.len());
        for cti in &req.retire {
            if !held.iter().any(|h| &h.cti == cti) {
                let p = Problem::new(
                    ProblemType::Malformed,
                    format!("retire: {cti:?} is not one of this holder's one-time credentials"),
                );
                return Err(self.refuse(&row.id, "refill", Some(&who), p).await);
            }
            if !retire.contains(cti) {
                retire.push(cti.clone());
            }
        }
        let max = self.config.batch_size as usize;
        for tier in tessera_issuer_api::batch::ONE_TIME_TIERS {
            let still_valid = held
                .iter()
                .filter(|h| {
                    h.tier == tier.name() && h.status == 0 && !h.retired && !retire.contains(&h.cti)
                })
                .count();
            let new = keys.iter().filter(|(t, _, _)| *t == tier).count();
            if still_valid + new > max {
                let p = Problem::new(
                    ProblemType::Malformed,
                    format!(
                        "{new} new {} credentials would make {} valid ones; at most {max} are held: retire the shown ones",
                        tier.name(),
                        still_valid + new
                    ),
                );
                return Err(self.refuse(&row.id, "refill", Some(&who), p).await);
            }
        }
        // 7. Sign and store, in one transaction with the retirements and the kept answer.
        let person = self
            .store
            .person(&who)
            .await
            .map_err(store_error)?
            .ok_or_else(|| internal("enrolled person missing from the registry"))?;
        let now = self.now();
        // Never past the enrolment's own end: renewal, with its face check, is yearly.
        let signer = self.signer_until(now, enrolment.expires_at);
        let enrolment_id = enrolment.id.clone();
        let retired = retire.clone();
        let build = |slots: &[crate::store::Slot]| {
            let (rows, credentials) = signer.sign_all(&person, &keys, slots)?;
            let answer = RefillResponse {
                enrolment_id: enrolment_id.clone(),
                credentials,
                retired: retired.clone(),
            };
            let json = serde_json::to_string(&answer).map_err(|e| e.to_string())?;
            Ok((rows, json))
        };
        let detail = format!("issued={} retired={}", keys.len(), retire.len());
        let audit = Audit {
            event: "refill",
            id_number: Some(&who),
            outcome: "issued",
            detail: &detail,
        };
        let new = NewRefill {
            challenge_id: &row.id,
            enrolment_id: &enrolment.id,
            retire: &retire,
            now,
        };
        self.store
            .refill(&new, keys.len(), &audit, build)
            .await
            .map_err(store_error)?;
        tracing::info!(event = "refill", outcome = "issued", "decision");
        let kept = self
            .store
            .refill_by_challenge(&row.id)
            .await
            .map_err(store_error)?
            .ok_or_else(|| internal("refill answer not found"))?;
        serde_json::from_str(&kept).map_err(internal)
    }
}
