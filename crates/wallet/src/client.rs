//! The issuer's API from the wallet's side (HTTP with rustls), with problem details turned
//! into messages a person can act on.

use std::time::Duration;

use tessera_issuer_api::{
    BatchResponse, ChallengeResponse, EnrolRequest, Problem, ProblemType, RenewRequest,
};

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

/// A client of one issuer.
#[derive(Debug, Clone)]
pub struct IssuerClient {
    base: String,
    http: reqwest::Client,
}

impl IssuerClient {
    /// A client for the issuer at `base` (`https://…`, or `http://` on loopback).
    pub fn new(base: &str) -> Result<IssuerClient, IssuerError> {
        // ring as rustls' crypto provider: pure Rust/asm, builds for every mobile target.
        let _ = rustls::crypto::ring::default_provider().install_default();
        let http = reqwest::Client::builder()
            .timeout(Duration::from_secs(60))
            .connect_timeout(Duration::from_secs(10))
            .build()
            .map_err(|e| IssuerError::Unreachable {
                url: base.to_owned(),
                detail: e.to_string(),
            })?;
        Ok(IssuerClient {
            base: base.trim_end_matches('/').to_owned(),
            http,
        })
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
        let status = r.status();
        let bytes = r.bytes().await.map_err(|e| IssuerError::Unreachable {
            url: self.base.clone(),
            detail: e.to_string(),
        })?;
        if status.is_success() {
            return serde_json::from_slice(&bytes)
                .map_err(|e| IssuerError::BadAnswer(e.to_string()));
        }
        match serde_json::from_slice::<Problem>(&bytes) {
            Ok(p) => Err(IssuerError::Refused(p)),
            Err(_) => Err(IssuerError::BadAnswer(format!("HTTP {status}"))),
        }
    }

    /// A new liveness challenge.
    pub async fn challenge(&self) -> Result<ChallengeResponse, IssuerError> {
        let sent = self
            .http
            .post(format!("{}/v1/challenges", self.base))
            .send()
            .await;
        self.answer(sent).await
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
