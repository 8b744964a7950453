//! Sign in with Tessera, the wallet's part (DESIGN §9): fetch the request named by a
//! `tessera://sign-in` link from this wallet's own issuer, check the issuer signed it, show
//! the person who asks and for what, and approve with a holder proof bound to that request
//! and that relying party (or refuse). Every approved sign-in is kept in the history.

use std::path::PathBuf;

use serde::{Deserialize, Serialize};
use tessera_credential::claims::Tier;
use tessera_credential::proof::AuthMethods;
use tessera_issuer_api::binding::HolderAuthPurpose;
use tessera_issuer_api::holder_auth_nonce;
use tessera_oidc::claims::Claim;
use tessera_oidc::sign_in::{SignInApproval, SignInLink, SignInRequest};

use super::{UpgradedUnlock, Wallet, WalletError};
use crate::client::{IssuerClient, IssuerError};
use crate::lifecycle::{self, State, TransitionError};

/// A sign-in request checked and ready for the person's decision.
#[derive(Debug, Clone)]
pub struct SignInConsent {
    /// The request, as the issuer signed it.
    pub request: SignInRequest,
    /// The tier it needs.
    pub tier: Tier,
    /// The number from a same-device link; `None` when the person must pick it.
    pub match_code: Option<u8>,
}

impl SignInConsent {
    /// The relying party's registered name in the person's language.
    pub fn client_name(&self, chinese: bool) -> &str {
        match (&self.request.client_name_zh, chinese) {
            (Some(zh), true) => zh,
            _ => &self.request.client_name,
        }
    }

    /// What will be shared, one line per claim (or the pseudonym alone).
    pub fn shared(&self, chinese: bool) -> Vec<&'static str> {
        if self.request.claims.is_empty() {
            return vec![tessera_oidc::claims::describe_none(chinese)];
        }
        self.request
            .claims
            .iter()
            .map(|c: &Claim| c.describe(chinese))
            .collect()
    }
}

/// One approved sign-in, as the history keeps it: who, when, what was shared.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct SignInRecord {
    /// Unix seconds.
    pub at: u64,
    /// The relying party's registered name.
    pub client_name: String,
    /// Its client id.
    pub client_id: String,
    /// The claims shared (their names).
    pub claims: Vec<String>,
    /// `lightweight` or `upgraded`.
    pub tier: String,
}

impl Wallet {
    /// Fetches and checks the request `link` points at, from `client` (this wallet's issuer).
    pub async fn fetch_sign_in(
        &self,
        client: &IssuerClient,
        link: &SignInLink,
        now: u64,
    ) -> Result<SignInConsent, WalletError> {
        // 1. A link for this wallet's own issuer (both addresses in the form the issuer-URL
        //    rule gives them): another one's would need another ID.
        let same =
            crate::client::checked_issuer_url(&link.issuer).is_ok_and(|u| u == client.base());
        if !same {
            return Err(IssuerError::NotTrusted {
                url: link.issuer.clone(),
                detail: format!(
                    "this sign-in is for the ID issuer at {}, but this app holds an ID from {}; nothing was sent",
                    link.issuer,
                    client.base()
                ),
            }
            .into());
        }
        // 2. The request, signed by the issuer (checked against this wallet's anchor).
        let (request, tier) = client.sign_in_request(&link.request_id, now).await?;
        // 3. A same-device link's number must be one the request offers.
        if let Some(code) = link.match_code
            && !request.match_choices.contains(&code)
        {
            return Err(WalletError::Unlock(
                "the link's number is not one this sign-in offers: start again on the website"
                    .into(),
            ));
        }
        Ok(SignInConsent {
            request,
            tier,
            match_code: link.match_code,
        })
    }

    /// Approves `consent` with the number `match_code` the person picked (a same-device
    /// link's own number when `None`). The upgraded tier needs a fresh unlock (PIN + face).
    pub async fn approve_sign_in(
        &self,
        client: &IssuerClient,
        consent: &SignInConsent,
        match_code: Option<u8>,
        unlock: Option<&UpgradedUnlock>,
        now: u64,
    ) -> Result<SignInRecord, WalletError> {
        let vault = self.vault()?;
        // 1. An ID that can be used.
        let state = lifecycle::state(Some(&vault), now, super::RENEW_BEFORE);
        if !matches!(state, State::Active | State::RenewalDue | State::Renewing) {
            return Err(TransitionError {
                action: "sign in",
                state,
            }
            .into());
        }
        // 2. The number: picked by the person, or carried by a same-device link.
        let code = match_code
            .or(consent.match_code)
            .ok_or_else(|| WalletError::Unlock("pick the number the sign-in page shows".into()))?;
        // 3. The tier's unlock.
        let (auth, face_at) = match consent.tier {
            Tier::Lightweight | Tier::AgeOnly => (AuthMethods::USER, None),
            Tier::Upgraded => {
                let u = unlock.ok_or_else(|| {
                    WalletError::Unlock("this sign-in needs the PIN and a face check".into())
                })?;
                if now.saturating_sub(u.face_verified_at) > super::FACE_MATCH_VALIDITY {
                    return Err(WalletError::Unlock(
                        "the face check is more than 5 minutes old: check the PIN and face again"
                            .into(),
                    ));
                }
                (
                    AuthMethods::USER
                        .with(AuthMethods::PIN)
                        .with(AuthMethods::FACE),
                    Some(u.face_verified_at),
                )
            }
        };
        // 4. A holder proof bound to this request and this relying party.
        let r = &consent.request;
        let nonce = holder_auth_nonce(
            HolderAuthPurpose::sign_in(&r.request_id, &r.client_id),
            &r.nonce,
        );
        let presentation =
            self.presentation(&vault, consent.tier, None, auth, face_at, Some(nonce), now)?;
        let approval = SignInApproval {
            presentation: presentation.to_qr_text(),
            match_code: code,
        };
        client.approve_sign_in(&r.request_id, &approval).await?;
        // 5. Remembered: who, when, what.
        let record = SignInRecord {
            at: now,
            client_name: r.client_name.clone(),
            client_id: r.client_id.clone(),
            claims: r.claims.iter().map(|c| c.name().to_owned()).collect(),
            tier: tessera_oidc::claims::tier_name(consent.tier).to_owned(),
        };
        self.append_sign_in(&record)?;
        Ok(record)
    }

    /// Refuses `consent` (the relying party learns only that the person said no).
    pub async fn refuse_sign_in(
        &self,
        client: &IssuerClient,
        consent: &SignInConsent,
    ) -> Result<(), WalletError> {
        client.refuse_sign_in(&consent.request.request_id).await?;
        Ok(())
    }

    pub(super) fn sign_ins_path(&self) -> PathBuf {
        self.data_dir.join("sign-ins.jsonl")
    }

    fn append_sign_in(&self, record: &SignInRecord) -> Result<(), WalletError> {
        crate::journal::append(&self.sign_ins_path(), record)
    }

    /// Every approved sign-in, oldest first.
    pub fn sign_in_history(&self) -> Result<Vec<SignInRecord>, WalletError> {
        crate::journal::read(&self.sign_ins_path())
    }
}
