//! The token request (RFC 6749 §4.1.3, RFC 7636 §4.5) and the ID token (OIDC Core §2,
//! §3.1.3), in numbered steps. The code is looked up and spent by the caller *before*
//! [`check_grant`] runs, so a code is single-use even when the request that spends it fails
//! (RFC 6749 §4.1.2: a code must not be used twice).

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use serde::Serialize;
use serde_json::{Map, Value};
use tessera_credential::claims::Tier;
use tessera_credential::keys::{Es256Signer, KeyError, Kid};
use tessera_issuer_api::ids::CivilDate;

use crate::claims::{self, Claim};
use crate::client::Client;
use crate::error::{ErrorBody, ErrorCode};
use crate::pkce;

/// A parsed token request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TokenRequest {
    /// The authorization code.
    pub code: String,
    /// The redirect URI of the authorization request.
    pub redirect_uri: String,
    /// The PKCE verifier.
    pub code_verifier: String,
    /// The authenticating client.
    pub client_id: String,
    /// Its secret.
    pub client_secret: String,
}

/// Why a token request is refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{description}")]
pub struct TokenError {
    /// The OAuth code.
    pub code: ErrorCode,
    /// For the relying party's developer.
    pub description: String,
}

impl TokenError {
    fn new(code: ErrorCode, description: impl Into<String>) -> TokenError {
        TokenError {
            code,
            description: description.into(),
        }
    }

    /// The HTTP status: 401 for failed client authentication (RFC 6749 §5.2), else 400.
    pub fn status(&self) -> u16 {
        if self.code == ErrorCode::InvalidClient {
            401
        } else {
            400
        }
    }

    /// The response body.
    pub fn body(&self) -> ErrorBody {
        ErrorBody::new(self.code, self.description.clone())
    }
}

fn single<'a>(form: &'a [(String, String)], name: &str) -> Result<Option<&'a str>, TokenError> {
    crate::single(form, name).map_err(|d| TokenError::new(ErrorCode::InvalidRequest, d))
}

fn form_decode(part: &str) -> Option<String> {
    url::form_urlencoded::parse(format!("v={part}").as_bytes())
        .next()
        .map(|(_, v)| v.into_owned())
}

/// The client id and secret of an `Authorization: Basic` header (RFC 6749 §2.3.1: each
/// form-urlencoded, then joined by `:` and base64-encoded).
fn basic_credentials(header: &str) -> Option<(String, String)> {
    let (scheme, value) = header.split_once(' ')?;
    if !scheme.eq_ignore_ascii_case("basic") {
        return None;
    }
    let decoded = String::from_utf8(STANDARD.decode(value.trim()).ok()?).ok()?;
    let (id, secret) = decoded.split_once(':')?;
    Some((form_decode(id)?, form_decode(secret)?))
}

impl TokenRequest {
    /// Parses the form body and the `Authorization` header of a token request.
    pub fn parse(
        form: &[(String, String)],
        authorization: Option<&str>,
    ) -> Result<TokenRequest, TokenError> {
        let missing =
            |name: &str| TokenError::new(ErrorCode::InvalidRequest, format!("{name} is missing"));
        // 1. The grant type this provider offers.
        match single(form, "grant_type")? {
            Some("authorization_code") => {}
            Some(other) => {
                return Err(TokenError::new(
                    ErrorCode::UnsupportedGrantType,
                    format!("grant_type {other:?} is not supported; use authorization_code"),
                ));
            }
            None => return Err(missing("grant_type")),
        }
        // 2. Client authentication: exactly one method (RFC 6749 §2.3).
        let posted = (single(form, "client_id")?, single(form, "client_secret")?);
        let (client_id, client_secret) = match (authorization, posted) {
            (Some(h), (id, None)) => {
                let (bid, secret) = basic_credentials(h).ok_or_else(|| {
                    TokenError::new(
                        ErrorCode::InvalidClient,
                        "the Authorization header is not valid Basic credentials",
                    )
                })?;
                if id.is_some_and(|id| id != bid) {
                    return Err(TokenError::new(
                        ErrorCode::InvalidRequest,
                        "client_id differs from the Basic credentials",
                    ));
                }
                (bid, secret)
            }
            (None, (Some(id), Some(secret))) => (id.to_owned(), secret.to_owned()),
            (Some(_), (_, Some(_))) => {
                return Err(TokenError::new(
                    ErrorCode::InvalidRequest,
                    "use one client authentication method, not two",
                ));
            }
            _ => {
                return Err(TokenError::new(
                    ErrorCode::InvalidClient,
                    "client authentication is missing (client_secret_basic or client_secret_post)",
                ));
            }
        };
        // 3. The code, its redirect URI and the PKCE verifier.
        let code = single(form, "code")?.ok_or_else(|| missing("code"))?;
        let redirect_uri = single(form, "redirect_uri")?.ok_or_else(|| missing("redirect_uri"))?;
        let code_verifier = single(form, "code_verifier")?
            .ok_or_else(|| missing("code_verifier (PKCE is required)"))?;
        Ok(TokenRequest {
            code: code.to_owned(),
            redirect_uri: redirect_uri.to_owned(),
            code_verifier: code_verifier.to_owned(),
            client_id,
            client_secret,
        })
    }

    /// Authenticates the client against `client`, its registration (`None` if unknown).
    pub fn authenticate<'c>(&self, client: Option<&'c Client>) -> Result<&'c Client, TokenError> {
        client
            .filter(|c| c.client_id == self.client_id && c.authenticates(&self.client_secret))
            .ok_or_else(|| {
                TokenError::new(ErrorCode::InvalidClient, "client authentication failed")
            })
    }
}

/// What an approved sign-in granted, as stored with its code.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Grant {
    /// The client the code was issued to.
    pub client_id: String,
    /// The redirect URI of the authorization request.
    pub redirect_uri: String,
    /// Its PKCE challenge.
    pub code_challenge: String,
    /// When the code stops being accepted.
    pub code_expires_at: u64,
}

/// Checks the spent code's grant against the request (after [`TokenRequest::authenticate`]).
pub fn check_grant(req: &TokenRequest, grant: &Grant, now: u64) -> Result<(), TokenError> {
    let invalid = |d: &str| TokenError::new(ErrorCode::InvalidGrant, d);
    // 1. Issued to this client, for this redirect URI.
    if grant.client_id != req.client_id {
        return Err(invalid("the code was issued to another client"));
    }
    if grant.redirect_uri != req.redirect_uri {
        return Err(invalid(
            "redirect_uri differs from the authorization request's",
        ));
    }
    // 2. Not expired.
    if now > grant.code_expires_at {
        return Err(invalid("the code expired"));
    }
    // 3. The PKCE verifier answers the challenge.
    if !pkce::verify_s256(&req.code_verifier, &grant.code_challenge) {
        return Err(invalid("code_verifier does not match the code_challenge"));
    }
    Ok(())
}

/// The registry data an ID token's claims come from.
#[derive(Debug, Clone)]
pub struct Person<'a> {
    /// 18-character ID number.
    pub id_number: &'a str,
    /// Full name.
    pub full_name: &'a str,
    /// `YYYYMMDD`.
    pub date_of_birth: &'a str,
    /// `M` or `F`.
    pub sex: &'a str,
}

/// The value of `claim` for `person` on the day of `now`.
pub fn claim_value(claim: Claim, person: &Person<'_>, now: u64) -> Value {
    match claim {
        Claim::AgeOver18 => {
            let adult = CivilDate::parse_compact(person.date_of_birth)
                .is_some_and(|d| d.age_on(CivilDate::from_unix(now)) >= 18);
            Value::Bool(adult)
        }
        Claim::MaskedName => Value::String(tessera_credential::claims::mask_name(person.full_name)),
        Claim::Name => Value::String(person.full_name.to_owned()),
        Claim::Birthdate => {
            let d = person.date_of_birth;
            Value::String(if d.len() == 8 && d.is_ascii() {
                format!("{}-{}-{}", &d[..4], &d[4..6], &d[6..])
            } else {
                d.to_owned()
            })
        }
        Claim::Gender => Value::String(if person.sex == "M" { "male" } else { "female" }.into()),
        Claim::IdNumber => Value::String(person.id_number.to_owned()),
    }
}

/// The claims of an ID token.
#[derive(Debug, Clone, Serialize)]
pub struct IdTokenClaims {
    /// The provider.
    pub iss: String,
    /// The pairwise subject.
    pub sub: String,
    /// The client.
    pub aud: String,
    /// Expiry.
    pub exp: u64,
    /// Issued at.
    pub iat: u64,
    /// When the person approved.
    pub auth_time: u64,
    /// The relying party's nonce.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub nonce: Option<String>,
    /// The tier's URI.
    pub acr: &'static str,
    /// How the person authenticated (RFC 8176).
    pub amr: Vec<&'static str>,
    /// The consented claims.
    #[serde(flatten)]
    pub claims: Map<String, Value>,
}

/// What an ID token says.
#[derive(Debug, Clone)]
pub struct IdTokenInput<'a> {
    /// The provider's issuer identifier.
    pub issuer: &'a str,
    /// The pairwise subject.
    pub sub: String,
    /// The client.
    pub client_id: &'a str,
    /// The relying party's nonce.
    pub nonce: Option<&'a str>,
    /// The tier approved.
    pub tier: Tier,
    /// The claims consented to.
    pub claims: &'a [Claim],
    /// When the person approved.
    pub auth_time: u64,
}

impl IdTokenClaims {
    /// The claims for `input` about `person`, issued at `now`.
    pub fn new(input: &IdTokenInput<'_>, person: &Person<'_>, now: u64) -> IdTokenClaims {
        IdTokenClaims {
            iss: input.issuer.to_owned(),
            sub: input.sub.clone(),
            aud: input.client_id.to_owned(),
            exp: now + crate::ID_TOKEN_LIFETIME_SECS,
            iat: now,
            auth_time: input.auth_time,
            nonce: input.nonce.map(str::to_owned),
            acr: claims::acr(input.tier),
            amr: claims::amr(input.tier),
            claims: input
                .claims
                .iter()
                .map(|c| {
                    (
                        c.name().to_owned(),
                        claim_value(*c, person, input.auth_time),
                    )
                })
                .collect(),
        }
    }
}

/// Signs `claims` as a compact JWS (RFC 7515) with ES256 (RFC 7518 §3.4: the signature is
/// R ‖ S, 32 bytes each) and the signer's `kid`, as listed in the JWKS.
pub fn sign_id_token(claims: &IdTokenClaims, signer: &dyn Es256Signer) -> Result<String, KeyError> {
    let kid = Kid::of(&signer.public_key()).to_hex();
    let header = serde_json::json!({"alg": "ES256", "typ": "JWT", "kid": kid});
    let payload = serde_json::to_vec(claims)
        .map_err(|e| KeyError::SignerUnavailable(format!("the claims do not serialise: {e}")))?;
    let signing_input = format!(
        "{}.{}",
        crate::b64::encode(header.to_string().as_bytes()),
        crate::b64::encode(&payload)
    );
    let signature = signer.sign(signing_input.as_bytes())?;
    Ok(format!(
        "{signing_input}.{}",
        crate::b64::encode(&signature.to_bytes())
    ))
}

/// A successful token response (RFC 6749 §5.1, OIDC Core §3.1.3.3).
#[derive(Debug, Clone, Serialize)]
pub struct TokenResponse {
    /// An opaque access token. Tessera offers no UserInfo endpoint or other protected
    /// resource: the consented claims are in the ID token, so this token is accepted nowhere.
    pub access_token: String,
    /// `Bearer`.
    pub token_type: &'static str,
    /// Seconds.
    pub expires_in: u64,
    /// The signed ID token.
    pub id_token: String,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn form(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect()
    }

    #[test]
    fn client_credentials_come_by_one_method() {
        let base = [
            ("grant_type", "authorization_code"),
            ("code", "c"),
            ("redirect_uri", "https://a.example/cb"),
            ("code_verifier", "v"),
        ];
        let basic = format!("Basic {}", STANDARD.encode("rp_1:s%2F1"));
        let r = TokenRequest::parse(&form(&base), Some(&basic)).unwrap();
        assert_eq!(
            (r.client_id.as_str(), r.client_secret.as_str()),
            ("rp_1", "s/1")
        );
        let mut posted = base.to_vec();
        posted.extend([("client_id", "rp_1"), ("client_secret", "s")]);
        assert!(TokenRequest::parse(&form(&posted), None).is_ok());
        assert_eq!(
            TokenRequest::parse(&form(&posted), Some(&basic))
                .unwrap_err()
                .code,
            ErrorCode::InvalidRequest
        );
        assert_eq!(
            TokenRequest::parse(&form(&base), None).unwrap_err().code,
            ErrorCode::InvalidClient
        );
        let mut implicit = posted.clone();
        implicit[0] = ("grant_type", "password");
        assert_eq!(
            TokenRequest::parse(&form(&implicit), None)
                .unwrap_err()
                .code,
            ErrorCode::UnsupportedGrantType
        );
    }

    #[test]
    fn claims_use_the_oidc_forms() {
        let p = Person {
            id_number: "110101196108040114",
            full_name: "李建国",
            date_of_birth: "19610804",
            sex: "M",
        };
        assert_eq!(claim_value(Claim::Birthdate, &p, 0), "1961-08-04");
        assert_eq!(claim_value(Claim::Gender, &p, 0), "male");
        assert_eq!(claim_value(Claim::AgeOver18, &p, 1_780_000_000), true);
    }
}
