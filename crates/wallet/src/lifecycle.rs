//! The credential life cycle: not enrolled → enrolling → active → renewal due → renewing →
//! expired / revoked. The state is derived from the vault and the clock; every transition
//! is a change of the vault written in one keystore operation, so a crash mid-way resumes
//! from the last written state and the previous credential stays usable until a new one is
//! stored.

use serde::Serialize;

use crate::vault::{OneTime, Pending, StoredBatch, Vault};

/// Where the wallet is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum State {
    /// Nothing stored.
    NotEnrolled,
    /// An enrolment was started and not finished (resumable).
    Enrolling,
    /// A valid batch.
    Active,
    /// A valid batch that expires within the renewal window.
    RenewalDue,
    /// A renewal was started and not finished; the current batch is still usable.
    Renewing,
    /// The batch expired.
    Expired,
    /// The issuer revoked the batch.
    Revoked,
}

/// The state of `vault` at `now`, with renewal offered `renew_before` seconds before expiry.
pub fn state(vault: Option<&Vault>, now: u64, renew_before: u64) -> State {
    let Some(v) = vault else {
        return State::NotEnrolled;
    };
    match (&v.batch, &v.pending) {
        (None, Some(_)) => State::Enrolling,
        (None, None) => State::NotEnrolled,
        (Some(_), _) if v.revoked => State::Revoked,
        (Some(b), _) if now >= b.expires_at => State::Expired,
        (Some(_), Some(p)) if p.kind == "renew" => State::Renewing,
        (Some(b), _) if now + renew_before >= b.expires_at => State::RenewalDue,
        (Some(_), _) => State::Active,
    }
}

/// Why a transition is not allowed now.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("cannot {action} while the wallet is {state:?}")]
pub struct TransitionError {
    /// What was tried.
    pub action: &'static str,
    /// The state it was in.
    pub state: State,
}

/// Records an enrolment in flight (before anything is sent to the issuer).
pub fn begin_enrolment(
    vault: &mut Vault,
    pending: Pending,
    now: u64,
) -> Result<(), TransitionError> {
    let s = state(Some(vault), now, 0);
    if !matches!(
        s,
        State::NotEnrolled | State::Enrolling | State::Revoked | State::Expired
    ) {
        return Err(TransitionError {
            action: "enrol",
            state: s,
        });
    }
    vault.pending = Some(pending);
    Ok(())
}

/// Records a renewal in flight; the current batch stays.
pub fn begin_renewal(vault: &mut Vault, pending: Pending, now: u64) -> Result<(), TransitionError> {
    let s = state(Some(vault), now, 0);
    if !matches!(s, State::Active | State::RenewalDue | State::Renewing) {
        return Err(TransitionError {
            action: "renew",
            state: s,
        });
    }
    vault.pending = Some(pending);
    Ok(())
}

/// The issuer answered: the pending key, the new batch and its one-time credentials become
/// current (the old ones go: the issuer revoked or superseded them), in one write.
pub fn complete(
    vault: &mut Vault,
    batch: StoredBatch,
    one_time: Vec<OneTime>,
) -> Result<(), TransitionError> {
    let Some(pending) = vault.pending.take() else {
        return Err(TransitionError {
            action: "store a batch",
            state: state(Some(vault), 0, 0),
        });
    };
    vault.device_key = Some(pending.device_key.clone());
    vault.batch = Some(batch);
    vault.one_time = one_time;
    vault.refill = None;
    vault.revoked = false;
    Ok(())
}

/// Gives up an enrolment or renewal in flight (the current batch, if any, is kept).
pub fn abandon(vault: &mut Vault) {
    vault.pending = None;
}

#[cfg(test)]
mod tests {
    use super::*;

    fn batch(expires_at: u64) -> StoredBatch {
        StoredBatch {
            enrolment_id: "e".into(),
            issued_at: 0,
            expires_at,
            lightweight: vec![],
            upgraded: vec![2],
        }
    }

    fn pending(kind: &str, key: u8) -> Pending {
        Pending {
            kind: kind.into(),
            challenge_id: "c".into(),
            challenge_nonce: vec![0; 16],
            id_number: "x".into(),
            device_key: vec![key; 32],
            face_template: None,
            batch_keys: vec![],
            device_key_auth: None,
            tpm_attestation: None,
        }
    }

    #[test]
    fn the_states_in_order() {
        let mut v = Vault::default();
        assert_eq!(state(None, 0, 30), State::NotEnrolled);
        assert_eq!(state(Some(&v), 0, 30), State::NotEnrolled);
        begin_enrolment(&mut v, pending("enrol", 1), 0).unwrap();
        assert_eq!(state(Some(&v), 0, 30), State::Enrolling);
        complete(&mut v, batch(1000), vec![]).unwrap();
        assert_eq!(v.device_key, Some(vec![1; 32]));
        assert_eq!(state(Some(&v), 0, 30), State::Active);
        assert_eq!(state(Some(&v), 970, 30), State::RenewalDue);
        begin_renewal(&mut v, pending("renew", 2), 980).unwrap();
        assert_eq!(state(Some(&v), 980, 30), State::Renewing);
        // While renewing, the old batch and key are still there to show.
        assert_eq!(v.device_key, Some(vec![1; 32]));
        assert!(v.batch.is_some());
        assert_eq!(state(Some(&v), 1000, 30), State::Expired);
        complete(&mut v, batch(5000), vec![]).unwrap();
        assert_eq!(v.device_key, Some(vec![2; 32]));
        assert_eq!(state(Some(&v), 1000, 30), State::Active);
        v.revoked = true;
        assert_eq!(state(Some(&v), 1000, 30), State::Revoked);
    }

    #[test]
    fn transitions_that_make_no_sense_are_refused() {
        let mut v = Vault::default();
        assert!(begin_renewal(&mut v, pending("renew", 1), 0).is_err());
        assert!(complete(&mut v, batch(10), vec![]).is_err());
        begin_enrolment(&mut v, pending("enrol", 1), 0).unwrap();
        complete(&mut v, batch(1000), vec![]).unwrap();
        let e = begin_enrolment(&mut v, pending("enrol", 2), 0).unwrap_err();
        assert_eq!(e.state, State::Active);
        abandon(&mut v);
        assert_eq!(state(Some(&v), 0, 0), State::Active);
    }
}
