//! The issuer's API from the wallet's side (HTTP with rustls), with problem details turned
//! into messages a person can act on.
//!
//! The client follows no redirects and talks `https://` only (plain `http://` only to a
//! loopback address): a redirect could otherwise send the enrolment (frames, ID number) to
//! another host, around every check of the issuer URL. What the issuer signs is checked
//! against the wallet's own trust anchor ([`crate::trust`]), never a key from this channel.

use std::net::IpAddr;
use std::time::Duration;
use tessera_credential::claims::Tier;
use tessera_oidc::sign_in::{SignInApproval, SignInOutcome, SignInRequest};

use tessera_credential::trust_list::TrustList;
use tessera_credential::verify::DEFAULT_SKEW;
use tessera_issuer_api::{
    BatchResponse, ChallengeRequest, ChallengeResponse, EnrolRequest, Problem, ProblemType,
    RenewRequest, challenge,
};

use crate::trust::TrustAnchor;

/// Why the issuer could not be used.
#[derive(Debug, thiserror::Error)]
pub enum IssuerError {
    /// No answer (offline, wrong URL, timeout).
    #[error(
        "the issuer at {url} cannot be reached ({detail}): check the network and the issuer URL"
    )]
    Unreachable {
        /// Where.
        url: String,
        /// Why.
        detail: String,
    },
    /// The issuer refused, with a problem document.
    #[error("{}", advice(.0))]
    Refused(Problem),
    /// The issuer answered something that is not the API.
    #[error("the issuer's answer could not be understood ({0})")]
    BadAnswer(String),
    /// The issuer URL is not one the wallet may send personal data to.
    #[error("the issuer address {url} cannot be used: {why}")]
    BadUrl {
        /// What was given.
        url: String,
        /// Why.
        why: String,
    },
    /// The server could not prove it is the issuer the wallet's trust anchor vouches for, or
    /// something between changed what it signed. Nothing was sent to it.
    #[error("{detail} (issuer at {url})")]
    NotTrusted {
        /// Where.
        url: String,
        /// Why, in words a person can act on.
        detail: String,
    },
}

impl IssuerError {
    /// The problem type, if the issuer refused.
    pub fn kind(&self) -> Option<ProblemType> {
        match self {
            IssuerError::Refused(p) => p.kind(),
            _ => None,
        }
    }
}

/// What to tell the person for each refusal.
pub fn advice(p: &Problem) -> String {
    let what = match p.kind() {
        Some(ProblemType::FaceMismatch) => {
            "the face does not match the registry photo for this ID number. Check the ID number; if it is right, contact the ID office"
        }
        Some(ProblemType::LivenessFailed) => {
            "the liveness check failed: do the actions shown, in order, in good light, and try again"
        }
        Some(ProblemType::FaceNotUsable) => {
            "the camera pictures could not be used: one face, well lit, filling the guide"
        }
        Some(ProblemType::UnknownIdNumber) => {
            "this ID number is not in the registry: check it, or contact the ID office"
        }
        Some(ProblemType::AlreadyEnrolled) => {
            "this ID is active on another device; enrol again choosing to replace it (the other device stops working)"
        }
        Some(ProblemType::RateLimited) => "too many attempts; wait and try again later",
        Some(ProblemType::RequestTimeout) => {
            "the upload was too slow to reach the issuer; try again on a better connection"
        }
        Some(ProblemType::ChallengeExpired | ProblemType::ChallengeReused) => {
            "the check took too long; start again"
        }
        Some(ProblemType::CredentialNotActive) => "this ID was revoked or replaced; enrol again",
        Some(ProblemType::SignInEnded) => {
            "this sign-in was already answered or has expired; start it again on the website"
        }
        Some(ProblemType::WrongMatchCode) => {
            "that was not the number the sign-in page shows, so the sign-in was stopped; if you did not start it yourself, someone may be trying to sign in as you"
        }
        Some(ProblemType::TierTooLow) => {
            "this website needs your upgraded ID (PIN and face); approve again with it"
        }
        Some(ProblemType::Unavailable | ProblemType::Internal) => {
            "the issuer has a problem right now; nothing was issued, try again later"
        }
        _ => "the issuer refused the request",
    };
    match &p.detail {
        Some(d) => format!("{what} (issuer: {d})"),
        None => what.to_owned(),
    }
}

/// Checks an issuer base URL: `https://` with a host, or `http://` only to a loopback
/// address; no credentials, query or fragment. Returns it without trailing slashes.
pub fn checked_issuer_url(base: &str) -> Result<String, IssuerError> {
    let bad = |why: &str| IssuerError::BadUrl {
        url: base.to_owned(),
        why: why.to_owned(),
    };
    let url = reqwest::Url::parse(base.trim()).map_err(|e| bad(&e.to_string()))?;
    let loopback = match url.host() {
        Some(url::Host::Ipv4(ip)) => IpAddr::V4(ip).is_loopback(),
        Some(url::Host::Ipv6(ip)) => IpAddr::V6(ip).is_loopback(),
        Some(url::Host::Domain(_)) => false,
        None => return Err(bad("it has no host")),
    };
    match url.scheme() {
        "https" => {}
        "http" if loopback => {}
        "http" => {
            return Err(bad(
                "plain http is allowed only to 127.0.0.1 or [::1]; use https",
            ));
        }
        _ => return Err(bad("use an https:// address")),
    }
    if !url.username().is_empty() || url.password().is_some() {
        return Err(bad("it must not carry a user name or password"));
    }
    if url.query().is_some() || url.fragment().is_some() {
        return Err(bad("it must not have a query or fragment"));
    }
    Ok(url.as_str().trim_end_matches('/').to_owned())
}

/// A client of one issuer, trusted through `anchor`.
#[derive(Debug, Clone)]
pub struct IssuerClient {
    base: String,
    http: reqwest::Client,
    anchor: TrustAnchor,
    /// Where to keep the difference between the issuer's clock and the device's.
    clock_file: Option<std::path::PathBuf>,
}

impl IssuerClient {
    /// A client for the issuer at `base` (`https://…`, or `http://` on loopback) whose
    /// trust list must verify with `anchor`.
    pub fn new(base: &str, anchor: TrustAnchor) -> Result<IssuerClient, IssuerError> {
        let base = checked_issuer_url(base)?;
        // ring as rustls' crypto provider: pure Rust/asm, builds for every mobile target.
        let _ = rustls::crypto::ring::default_provider().install_default();
        let http = reqwest::Client::builder()
            .timeout(Duration::from_secs(60))
            .connect_timeout(Duration::from_secs(10))
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .map_err(|e| IssuerError::Unreachable {
                url: base.clone(),
                detail: e.to_string(),
            })?;
        Ok(IssuerClient {
            base,
            http,
            anchor,
            clock_file: None,
        })
    }

    /// Keeps the issuer's clock against the device's in `file` after every answer
    /// ([`crate::clock`]).
    pub fn remembering_clock_in(mut self, file: std::path::PathBuf) -> IssuerClient {
        self.clock_file = Some(file);
        self
    }

    /// Notes the answer's `Date` header (best effort: a clock reading never fails a call).
    fn note_clock(&self, headers: &reqwest::header::HeaderMap) {
        let Some(file) = &self.clock_file else {
            return;
        };
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_secs());
        if let Some(reading) = headers
            .get(reqwest::header::DATE)
            .and_then(|v| v.to_str().ok())
            .and_then(|d| crate::clock::reading_from_date(d, now))
        {
            let _ = crate::clock::save(file, &reading);
        }
    }

    /// The issuer's base URL.
    pub fn base(&self) -> &str {
        &self.base
    }

    async fn answer<T: serde::de::DeserializeOwned>(
        &self,
        sent: Result<reqwest::Response, reqwest::Error>,
    ) -> Result<T, IssuerError> {
        let r = sent.map_err(|e| IssuerError::Unreachable {
            url: self.base.clone(),
            detail: e.to_string(),
        })?;
        self.note_clock(r.headers());
        let status = r.status();
        let bytes = r.bytes().await.map_err(|e| IssuerError::Unreachable {
            url: self.base.clone(),
            detail: e.to_string(),
        })?;
        if status.is_success() {
            return serde_json::from_slice(&bytes)
                .map_err(|e| IssuerError::BadAnswer(e.to_string()));
        }
        if status.is_redirection() {
            return Err(self.redirected(status));
        }
        match serde_json::from_slice::<Problem>(&bytes) {
            Ok(p) => Err(IssuerError::Refused(p)),
            Err(_) => Err(IssuerError::BadAnswer(format!("HTTP {status}"))),
        }
    }

    fn redirected(&self, status: reqwest::StatusCode) -> IssuerError {
        IssuerError::BadAnswer(format!(
            "HTTP {status}: the issuer redirects elsewhere, which this app never follows; check the issuer address"
        ))
    }

    /// The trust list, verified with the wallet's trust anchor.
    pub async fn trust_list(&self) -> Result<TrustList, IssuerError> {
        let bytes = self.get_bytes("/v1/trust-list").await?;
        TrustList::verify(&bytes, self.anchor.key()).map_err(|e| IssuerError::NotTrusted {
            url: self.base.clone(),
            detail: format!(
                "this server's list of issuer keys is not signed by the ID authority this app trusts ({e}): check the issuer address; nothing was sent"
            ),
        })
    }

    /// A new liveness challenge for the new device key `device_key_der` (SPKI DER), checked
    /// against the trust list: signed by a trusted issuer key and bound to this key. Returns
    /// the trust list too, to check the credentials that answer it.
    pub async fn challenge(
        &self,
        device_key_der: &[u8],
        now: u64,
    ) -> Result<(ChallengeResponse, TrustList), IssuerError> {
        self.challenge_attested(device_key_der, None, now).await
    }

    /// [`challenge`](Self::challenge) drawn with a TPM's EK certificate and attestation key:
    /// an issuer that checks TPM attestations answers with a credential to activate
    /// (`tpm_activation`); one that does not answers without.
    pub async fn challenge_attested(
        &self,
        device_key_der: &[u8],
        tpm: Option<tessera_issuer_api::tpm::TpmAttestationStart>,
        now: u64,
    ) -> Result<(ChallengeResponse, TrustList), IssuerError> {
        let trust = self.trust_list().await?;
        let sent = self
            .http
            .post(format!("{}/v1/challenges", self.base))
            .json(&ChallengeRequest {
                device_key: Some(device_key_der.to_vec()),
                tpm,
            })
            .send()
            .await;
        let c: ChallengeResponse = self.answer(sent).await?;
        challenge::verify(&c, &trust, device_key_der, now, DEFAULT_SKEW).map_err(|e| {
            IssuerError::NotTrusted {
                url: self.base.clone(),
                detail: e.to_string(),
            }
        })?;
        Ok((c, trust))
    }

    /// Sends an enrolment.
    pub async fn enrol(&self, req: &EnrolRequest) -> Result<BatchResponse, IssuerError> {
        let sent = self
            .http
            .post(format!("{}/v1/enrolments", self.base))
            .json(req)
            .send()
            .await;
        self.answer(sent).await
    }

    /// Sends a renewal.
    pub async fn renew(&self, req: &RenewRequest) -> Result<BatchResponse, IssuerError> {
        let sent = self
            .http
            .post(format!("{}/v1/renewals", self.base))
            .json(req)
            .send()
            .await;
        self.answer(sent).await
    }

    /// Sends a refill.
    pub async fn refill(
        &self,
        req: &tessera_issuer_api::RefillRequest,
    ) -> Result<tessera_issuer_api::RefillResponse, IssuerError> {
        let sent = self
            .http
            .post(format!("{}/v1/refills", self.base))
            .json(req)
            .send()
            .await;
        self.answer(sent).await
    }

    /// The sign-in request `request_id`, checked: signed by a key in the trust list this
    /// wallet verified with its own anchor, made by this issuer, still open. Returns the tier
    /// it asks for.
    pub async fn sign_in_request(
        &self,
        request_id: &str,
        now: u64,
    ) -> Result<(SignInRequest, Tier), IssuerError> {
        if !tessera_oidc::sign_in::valid_request_id(request_id) {
            return Err(IssuerError::BadAnswer(
                "the sign-in request id is malformed".into(),
            ));
        }
        let trust = self.trust_list().await?;
        let sent = self
            .http
            .get(format!("{}/oidc/sign-ins/{request_id}", self.base))
            .send()
            .await;
        let r: SignInRequest = self.answer(sent).await?;
        if r.request_id != request_id {
            return Err(IssuerError::BadAnswer(
                "the issuer answered with another sign-in request".into(),
            ));
        }
        let tier = r
            .verify(&trust, &self.base, now, DEFAULT_SKEW)
            .map_err(|e| IssuerError::NotTrusted {
                url: self.base.clone(),
                detail: e.to_string(),
            })?;
        Ok((r, tier))
    }

    /// Sends the approval of sign-in request `request_id`.
    pub async fn approve_sign_in(
        &self,
        request_id: &str,
        approval: &SignInApproval,
    ) -> Result<SignInOutcome, IssuerError> {
        let sent = self
            .http
            .post(format!("{}/oidc/sign-ins/{request_id}/approval", self.base))
            .json(approval)
            .send()
            .await;
        self.answer(sent).await
    }

    /// Refuses sign-in request `request_id`.
    pub async fn refuse_sign_in(&self, request_id: &str) -> Result<SignInOutcome, IssuerError> {
        let sent = self
            .http
            .post(format!("{}/oidc/sign-ins/{request_id}/refusal", self.base))
            .send()
            .await;
        self.answer(sent).await
    }

    /// The bytes at `path` (trust list, status lists).
    pub async fn get_bytes(&self, path: &str) -> Result<Vec<u8>, IssuerError> {
        let r = self
            .http
            .get(format!("{}{path}", self.base))
            .send()
            .await
            .map_err(|e| IssuerError::Unreachable {
                url: self.base.clone(),
                detail: e.to_string(),
            })?;
        self.note_clock(r.headers());
        if r.status().is_redirection() {
            return Err(self.redirected(r.status()));
        }
        if !r.status().is_success() {
            return Err(IssuerError::BadAnswer(format!("HTTP {}", r.status())));
        }
        Ok(r.bytes()
            .await
            .map_err(|e| IssuerError::BadAnswer(e.to_string()))?
            .to_vec())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn issuer_urls_are_https_or_loopback_http() {
        for ok in [
            "https://id.example.org",
            "https://id.example.org/base/",
            "http://127.0.0.1:8443",
            "http://[::1]:8443/",
        ] {
            assert!(checked_issuer_url(ok).is_ok(), "{ok}");
        }
        assert_eq!(
            checked_issuer_url("https://id.example.org/base/").unwrap(),
            "https://id.example.org/base"
        );
        for bad in [
            "http://id.example.org",
            "http://127.0.0.1.example.com",
            "http://localhost.evil.example",
            "ftp://127.0.0.1",
            "https://user:pw@id.example.org",
            "https://id.example.org/?x=1",
            "https://id.example.org/#f",
            "not a url",
        ] {
            assert!(
                matches!(checked_issuer_url(bad), Err(IssuerError::BadUrl { .. })),
                "{bad}"
            );
        }
    }

    #[test]
    fn refusals_become_advice_a_person_can_act_on() {
        let said = |kind| advice(&Problem::new(kind, "why"));
        assert!(said(ProblemType::RequestTimeout).contains("better connection"));
        assert!(said(ProblemType::FaceMismatch).contains("does not match"));
        assert!(said(ProblemType::RateLimited).contains("wait"));
        // Every refusal says something, and passes on the issuer's own words.
        for kind in ProblemType::ALL {
            let text = said(kind);
            assert!(text.ends_with("(issuer: why)"), "{text}");
            assert!(text.len() > "(issuer: why)".len() + 10, "{text}");
        }
    }
}
