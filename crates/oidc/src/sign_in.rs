//! The sign-in request as the wallet sees it, the `tessera:` link that points at it, and the
//! wallet's answer.
//!
//! A phishing page can show any text it likes, so the wallet believes nothing it is shown
//! there: it fetches the request from its own issuer and checks that the issuer signed it
//! with a key in the trust list verified with the wallet's own anchor (the same rule as for
//! enrolment challenges, `tessera_issuer_api::challenge`). The relying party's name and the
//! claims the person consents to are therefore the registered ones.
//!
//! The signature covers, with a domain-separation label and length prefixes:
//! `"tessera-sign-in-v1" ‖ request id ‖ issuer ‖ client_id ‖ name ‖ Chinese name ‖ claims
//! (comma-joined) ‖ tier ‖ issued_at (u64 BE) ‖ expires_at (u64 BE) ‖ nonce ‖ match choices`.

use serde::{Deserialize, Serialize};
use tessera_credential::claims::Tier;
use tessera_credential::keys::{Es256Signer, KeyError, Kid};
use tessera_credential::trust_list::TrustList;
use tessera_issuer_api::b64;
use tessera_issuer_api::signed::{self, SignatureError, put};

use crate::claims::{self, Claim};

/// The domain-separation label of a sign-in request signature.
pub const CONTEXT: &[u8] = b"tessera-sign-in-v1";

/// How many numbers the wallet offers for number matching (one is right).
pub const MATCH_CHOICES: usize = 3;

/// A sign-in request, as served to the wallet at `GET /oidc/sign-ins/{id}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SignInRequest {
    /// The request's id (32 hex digits).
    pub request_id: String,
    /// The issuer identifier.
    pub issuer: String,
    /// The relying party.
    pub client_id: String,
    /// Its registered name.
    pub client_name: String,
    /// Its registered Chinese name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client_name_zh: Option<String>,
    /// The claims it will receive.
    pub claims: Vec<Claim>,
    /// `lightweight` or `upgraded`.
    pub tier: String,
    /// When the request was made.
    pub issued_at: u64,
    /// When it stops being accepted.
    pub expires_at: u64,
    /// What the holder proof is bound to (with the request id and client id).
    #[serde(with = "b64")]
    pub nonce: Vec<u8>,
    /// The numbers the person picks from (the page shows the right one).
    pub match_choices: Vec<u8>,
    /// The issuer key that signed (its 8-byte `kid`).
    #[serde(default, with = "b64")]
    pub signer: Vec<u8>,
    /// ES256 over [`signing_input`].
    #[serde(default, with = "b64")]
    pub signature: Vec<u8>,
}

/// The bytes the issuer signs for `r`.
pub fn signing_input(r: &SignInRequest) -> Vec<u8> {
    let mut m = CONTEXT.to_vec();
    put(&mut m, r.request_id.as_bytes());
    put(&mut m, r.issuer.as_bytes());
    put(&mut m, r.client_id.as_bytes());
    put(&mut m, r.client_name.as_bytes());
    put(
        &mut m,
        r.client_name_zh.as_deref().unwrap_or_default().as_bytes(),
    );
    put(&mut m, claims::join(&r.claims).as_bytes());
    put(&mut m, r.tier.as_bytes());
    m.extend_from_slice(&r.issued_at.to_be_bytes());
    m.extend_from_slice(&r.expires_at.to_be_bytes());
    put(&mut m, &r.nonce);
    put(&mut m, &r.match_choices);
    m
}

/// Signs `r` with the issuer key `signer`.
pub fn sign(r: &mut SignInRequest, signer: &dyn Es256Signer) -> Result<(), KeyError> {
    r.signer = Kid::of(&signer.public_key()).0.to_vec();
    r.signature = signer.sign(&signing_input(r))?.to_vec();
    Ok(())
}

/// Why a wallet refuses a sign-in request.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SignInError {
    /// Unsigned.
    #[error("the sign-in request is not signed by your ID issuer: do not continue")]
    Unsigned,
    /// Signed by a key the trust list does not hold.
    #[error(
        "the sign-in request is signed by a key ({0}) your ID issuer does not use: do not continue"
    )]
    UnknownSigner(String),
    /// The signature does not verify.
    #[error("the sign-in request's signature does not verify: someone changed it; do not continue")]
    BadSignature,
    /// The signer was not allowed to sign then.
    #[error("the sign-in request is signed by an issuer key that was not valid at the time")]
    SignerNotValid,
    /// Made by another issuer than the wallet's.
    #[error("this sign-in request is from {found}, not from your ID issuer {expected}")]
    OtherIssuer {
        /// The wallet's issuer.
        expected: String,
        /// The request's.
        found: String,
    },
    /// Past its expiry.
    #[error("this sign-in request expired: start the sign-in again on the website")]
    Expired,
    /// Fields that cannot be right (unknown tier, claims above the tier, bad choices).
    #[error("the sign-in request is malformed: {0}")]
    Malformed(&'static str),
}

impl SignInRequest {
    /// The tier asked for.
    pub fn tier(&self) -> Option<Tier> {
        claims::parse_tier(&self.tier)
    }

    /// Checks a request the wallet fetched from its issuer `issuer`, with `trust` verified
    /// with the wallet's own anchor.
    pub fn verify(
        &self,
        trust: &TrustList,
        issuer: &str,
        now: u64,
        skew: u64,
    ) -> Result<Tier, SignInError> {
        // 1–2. Signed by a key the trust list holds; the signature, before any field.
        let trusted = signed::check(trust, &self.signer, &self.signature, &signing_input(self))
            .map_err(|e| match e {
                SignatureError::Unsigned => SignInError::Unsigned,
                SignatureError::UnknownSigner(kid) => SignInError::UnknownSigner(kid),
                SignatureError::BadSignature => SignInError::BadSignature,
            })?;
        // 3. The key could sign then and is trusted now.
        if !trusted.accepts_signature_at(self.issued_at, now, skew) {
            return Err(SignInError::SignerNotValid);
        }
        // 4. From the wallet's own issuer.
        if self.issuer.trim_end_matches('/') != issuer.trim_end_matches('/') {
            return Err(SignInError::OtherIssuer {
                expected: issuer.to_owned(),
                found: self.issuer.clone(),
            });
        }
        // 5. Still open.
        if now > self.expires_at.saturating_add(skew) {
            return Err(SignInError::Expired);
        }
        // 6. Coherent: a known tier covering every claim, distinct two-digit choices.
        let tier = self.tier().ok_or(SignInError::Malformed("unknown tier"))?;
        if self.claims.iter().any(|c| c.tier() > tier) {
            return Err(SignInError::Malformed("a claim above the tier"));
        }
        let mut choices = self.match_choices.clone();
        choices.sort_unstable();
        choices.dedup();
        if choices.len() != MATCH_CHOICES || choices.iter().any(|c| !(10..=99).contains(c)) {
            return Err(SignInError::Malformed("the match choices"));
        }
        Ok(tier)
    }
}

/// The wallet's approval, `POST /oidc/sign-ins/{id}/approval`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct SignInApproval {
    /// A presentation (QR text) of the holder's credential whose proof nonce is
    /// `holder_auth_nonce(HolderAuthPurpose::sign_in(request_id, client_id), nonce)`.
    pub presentation: String,
    /// The number the person picked.
    pub match_code: u8,
}

/// The outcome the wallet is told.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct SignInOutcome {
    /// `approved` or `refused`.
    pub state: String,
}

/// The page's view of a request (`POST /oidc/sign-ins/{id}/status`, with the page's secret).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct SignInStatus {
    /// `pending`, `approved`, `refused` or `expired`.
    pub state: String,
    /// Where the page continues (the relying party's redirect URI with the code or error).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub continue_to: Option<String>,
}

/// The link the sign-in page offers: `tessera://sign-in?issuer=…&request=…[&code=NN]`. The
/// QR code for another device carries no `code`: the person picks the number the page shows
/// (number matching). The page's own button, on the same device, carries it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SignInLink {
    /// The issuer identifier.
    pub issuer: String,
    /// The request id.
    pub request_id: String,
    /// The match code, when the link comes from the same device.
    pub match_code: Option<u8>,
}

/// Why a link is refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SignInLinkError {
    /// Not a Tessera sign-in link at all.
    #[error("this is not a Tessera sign-in link (it should start with tessera://sign-in?)")]
    NotASignInLink,
    /// A part is missing or malformed.
    #[error("the sign-in link is incomplete or damaged ({0}): start the sign-in again")]
    Malformed(&'static str),
}

/// The scheme.
pub const SCHEME: &str = "tessera";

impl SignInLink {
    /// The link's text.
    pub fn to_uri(&self) -> String {
        let mut url = url::Url::parse("tessera://sign-in").expect("a constant, valid URL");
        {
            let mut q = url.query_pairs_mut();
            q.append_pair("issuer", &self.issuer);
            q.append_pair("request", &self.request_id);
            if let Some(code) = self.match_code {
                q.append_pair("code", &code.to_string());
            }
        }
        url.into()
    }

    /// Parses a link (or the text of the page's QR code).
    pub fn parse(text: &str) -> Result<SignInLink, SignInLinkError> {
        let text = text.trim();
        if text.len() > 2048 {
            return Err(SignInLinkError::Malformed("too long"));
        }
        let url = url::Url::parse(text).map_err(|_| SignInLinkError::NotASignInLink)?;
        let is_sign_in = url.scheme() == SCHEME
            && (url.host_str() == Some("sign-in") || url.path().trim_matches('/') == "sign-in");
        if !is_sign_in {
            return Err(SignInLinkError::NotASignInLink);
        }
        let mut issuer = None;
        let mut request = None;
        let mut code = None;
        for (k, v) in url.query_pairs() {
            let slot = match k.as_ref() {
                "issuer" => &mut issuer,
                "request" => &mut request,
                "code" => &mut code,
                _ => continue,
            };
            if slot.replace(v.into_owned()).is_some() {
                return Err(SignInLinkError::Malformed("a repeated part"));
            }
        }
        let issuer = issuer.ok_or(SignInLinkError::Malformed("no issuer"))?;
        if !(issuer.starts_with("https://") || issuer.starts_with("http://")) {
            return Err(SignInLinkError::Malformed(
                "the issuer is not a web address",
            ));
        }
        let request_id = request.ok_or(SignInLinkError::Malformed("no request"))?;
        if !valid_request_id(&request_id) {
            return Err(SignInLinkError::Malformed("the request id"));
        }
        let match_code = match code {
            None => None,
            Some(c) => Some(
                c.parse::<u8>()
                    .ok()
                    .filter(|c| (10..=99).contains(c))
                    .ok_or(SignInLinkError::Malformed("the match code"))?,
            ),
        };
        Ok(SignInLink {
            issuer,
            request_id,
            match_code,
        })
    }
}

/// Whether `id` has the form of a request id (32 lowercase hex digits).
pub fn valid_request_id(id: &str) -> bool {
    id.len() == 32 && id.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
}

#[cfg(test)]
mod tests {
    use super::*;
    use tessera_credential::keys::SoftwareKey;

    fn key() -> SoftwareKey {
        SoftwareKey::from_secret_bytes(&[3; 32]).unwrap()
    }

    fn request() -> SignInRequest {
        let mut r = SignInRequest {
            request_id: "0123456789abcdef0123456789abcdef".into(),
            issuer: "https://id.example".into(),
            client_id: "rp_1".into(),
            client_name: "Ticket shop".into(),
            client_name_zh: None,
            claims: vec![Claim::AgeOver18],
            tier: "lightweight".into(),
            issued_at: 1000,
            expires_at: 1120,
            nonce: vec![1; 16],
            match_choices: vec![12, 57, 83],
            signer: vec![],
            signature: vec![],
        };
        sign(&mut r, &key()).unwrap();
        r
    }

    #[test]
    fn a_signed_request_verifies_and_any_change_is_refused() {
        let trust = TrustList::single("Tessera", key().public_key());
        let r = request();
        assert_eq!(
            r.verify(&trust, "https://id.example", 1010, 5),
            Ok(Tier::Lightweight)
        );
        let mut renamed = r.clone();
        renamed.client_name = "Your bank".into();
        assert_eq!(
            renamed.verify(&trust, "https://id.example", 1010, 5),
            Err(SignInError::BadSignature)
        );
        let mut more = r.clone();
        more.claims.push(Claim::IdNumber);
        assert_eq!(
            more.verify(&trust, "https://id.example", 1010, 5),
            Err(SignInError::BadSignature)
        );
        let mut unsigned = r.clone();
        unsigned.signature.clear();
        assert_eq!(
            unsigned.verify(&trust, "https://id.example", 1010, 5),
            Err(SignInError::Unsigned)
        );
        assert!(matches!(
            r.verify(&trust, "https://other.example", 1010, 5),
            Err(SignInError::OtherIssuer { .. })
        ));
        assert_eq!(
            r.verify(&trust, "https://id.example", 1200, 5),
            Err(SignInError::Expired)
        );
        let foreign = TrustList::single(
            "Other",
            SoftwareKey::from_secret_bytes(&[4; 32])
                .unwrap()
                .public_key(),
        );
        assert!(matches!(
            r.verify(&foreign, "https://id.example", 1010, 5),
            Err(SignInError::UnknownSigner(_))
        ));
    }

    #[test]
    fn links_round_trip_and_junk_is_named() {
        let link = SignInLink {
            issuer: "https://id.example".into(),
            request_id: "0123456789abcdef0123456789abcdef".into(),
            match_code: Some(42),
        };
        assert_eq!(SignInLink::parse(&link.to_uri()), Ok(link.clone()));
        let qr = SignInLink {
            match_code: None,
            ..link
        };
        assert_eq!(SignInLink::parse(&qr.to_uri()), Ok(qr));
        assert_eq!(
            SignInLink::parse("https://id.example/x"),
            Err(SignInLinkError::NotASignInLink)
        );
        assert!(matches!(
            SignInLink::parse("tessera://sign-in?issuer=https://a&request=zz"),
            Err(SignInLinkError::Malformed(_))
        ));
        assert!(matches!(
            SignInLink::parse(
                "tessera://sign-in?issuer=https://a&request=0123456789abcdef0123456789abcdef&code=7"
            ),
            Err(SignInLinkError::Malformed(_))
        ));
    }
}
