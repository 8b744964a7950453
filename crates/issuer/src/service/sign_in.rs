//! Sign in with Tessera (DESIGN §9): the issuer's OpenID Connect provider. The protocol
//! rules live in `tessera-oidc`; this module feeds them the database, the clock, random
//! bytes and the issuer's key, and keeps every step of a sign-in in the database so any
//! replica serves any step.
//!
//! A sign-in, step by step:
//! 1. the relying party sends the browser to `/oidc/authorize`; [`Issuer::authorize`]
//!    checks the request, stores it and gives the page a secret only that browser holds;
//! 2. the wallet fetches the request ([`Issuer::sign_in_request`], signed) and the person
//!    approves with a holder proof bound to this request and this relying party, and the
//!    number the page shows ([`Issuer::approve_sign_in`]) — or refuses;
//! 3. the page, polling with its secret ([`Issuer::sign_in_status`]), learns the outcome and
//!    continues to the relying party with a code derived from its secret;
//! 4. the relying party redeems the code with its secret and the PKCE verifier
//!    ([`Issuer::token`]) for an ID token with the pairwise `sub` and the consented claims.

use std::net::IpAddr;

use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;
use tessera_credential::claims::Tier;
use tessera_credential::proof::AuthMethods;
use tessera_credential::qr_text::Presentation;
use tessera_issuer_api::binding::HolderAuthPurpose;
use tessera_issuer_api::{Problem, ProblemType};
use tessera_oidc::authorization::{self, AuthorizationError};
use tessera_oidc::claims::{self, Claim};
use tessera_oidc::client::Client;
use tessera_oidc::discovery::ProviderMetadata;
use tessera_oidc::error::ErrorCode;
use tessera_oidc::jwks::{Jwk, JwkSet};
use tessera_oidc::sign_in::{
    SignInApproval, SignInLink, SignInOutcome, SignInRequest, SignInStatus, valid_request_id,
};
use tessera_oidc::token::{
    self, Grant, IdTokenClaims, IdTokenInput, Person, TokenError, TokenRequest, TokenResponse,
};
use tessera_oidc::{CODE_LIFETIME_SECS, REQUEST_LIFETIME_SECS};

use super::{Issuer, internal, rate_limited, store_error};
use crate::config::random_bytes;
use crate::ratelimit::ClientKey;
use crate::store::{Audit, SignInRow, SpentCode};

/// What the sign-in page shows.
#[derive(Debug, Clone)]
pub struct SignInPage {
    /// The request.
    pub request_id: String,
    /// The page's secret (polls the status; the code is derived from it).
    pub page_secret: String,
    /// The number the person picks in the app.
    pub match_code: u8,
    /// Who asks.
    pub client: Client,
    /// What for.
    pub claims: Vec<Claim>,
    /// At which tier.
    pub tier: Tier,
    /// Until when.
    pub expires_at: u64,
    /// For another device (no match code).
    pub qr_link: String,
    /// For this device (with the match code).
    pub same_device_link: String,
}

fn sha256(bytes: &[u8]) -> [u8; 32] {
    Sha256::digest(bytes).into()
}

/// The code the page with secret `page_secret` continues with: only that browser can
/// compute it, and asking again gives the same code.
fn code_of(page_secret: &str) -> String {
    let mut h = Sha256::new();
    h.update(b"tessera-authorization-code-v1");
    h.update(page_secret.as_bytes());
    tessera_issuer_api::b64::encode(&h.finalize())
}

/// Three distinct two-digit numbers, one of them `code`, in a random order.
fn match_choices(code: u8) -> Vec<u8> {
    let mut choices = vec![code];
    let mut seed = random_bytes::<16>().into_iter();
    while choices.len() < tessera_oidc::sign_in::MATCH_CHOICES {
        let n = 10 + seed.next().unwrap_or(0) % 90;
        if !choices.contains(&n) {
            choices.push(n);
        }
        if seed.len() == 0 {
            seed = random_bytes::<16>().into_iter();
        }
    }
    let at = usize::from(random_bytes::<1>()[0]) % choices.len();
    choices.swap(0, at);
    choices
}

fn sign_in_ended() -> Problem {
    Problem::new(
        ProblemType::SignInEnded,
        "this sign-in was already answered or has expired; start it again on the website",
    )
}

fn claims_of(row: &SignInRow) -> Vec<Claim> {
    claims::parse_list(&row.claims).unwrap_or_default()
}

impl Issuer {
    /// The issuer identifier (the public URL, no trailing slash).
    pub fn oidc_issuer(&self) -> &str {
        self.config.public_url.trim_end_matches('/')
    }

    /// The OpenID Provider metadata.
    pub fn discovery(&self) -> ProviderMetadata {
        ProviderMetadata::new(self.oidc_issuer())
    }

    /// The keys that can have signed an ID token still valid now: every trusted issuer key
    /// (rotation keeps a retired key listed while what it signed is still checkable).
    pub fn jwks(&self) -> JwkSet {
        let now = self.now();
        let trust = self.keys.trust_list(&self.config, now);
        JwkSet {
            keys: trust
                .issuers
                .iter()
                .filter(|k| k.valid_until.is_none_or(|until| until >= now))
                .map(|k| Jwk::of(&k.public_key))
                .collect(),
        }
    }

    fn limit_sign_ins(&self, ip: Option<IpAddr>) -> Result<(), u64> {
        match ip {
            Some(ip) => self.sign_ins_per_ip.attempt(&ClientKey::from(ip)),
            None => Ok(()),
        }
    }

    /// Step 1: checks an authorization request and opens a sign-in for it.
    pub async fn authorize(
        &self,
        params: &[(String, String)],
        ip: Option<IpAddr>,
    ) -> Result<SignInPage, AuthorizationError> {
        let page = AuthorizationError::Page;
        // 1. Within the client's budget (each request writes a row).
        self.limit_sign_ins(ip).map_err(|retry| {
            page(format!(
                "too many sign-in requests from this network; try again in {retry} seconds"
            ))
        })?;
        // 2. The registered client, then the request's own checks.
        let client = match authorization::client_id(params) {
            Some(id) => self.store.client(id).await.map_err(|e| {
                tracing::error!(error = %e, "client lookup failed");
                page("the sign-in service is unavailable; try again shortly".into())
            })?,
            None => None,
        };
        let checked = authorization::check(params, client.as_ref());
        let (client, request) = match (client, checked) {
            (Some(c), Ok(r)) => (c, r),
            (_, Err(e)) => {
                let reason = match &e {
                    AuthorizationError::Page(_) => "page",
                    AuthorizationError::Redirect { code, .. } => code.as_str(),
                };
                tracing::info!(event = "authorize", outcome = "refused", reason, "decision");
                return Err(e);
            }
            (None, Ok(_)) => return Err(page("this relying party is not registered".into())),
        };
        // 3. The sign-in, stored: id, the page's secret, the holder-proof nonce, the number.
        if self.pairwise.is_none() {
            return Err(page("sign-in is not enabled at this issuer".into()));
        }
        let now = self.now();
        let request_id = hex::encode(random_bytes::<16>());
        let page_secret = tessera_issuer_api::b64::encode(&random_bytes::<32>());
        let match_code = 10 + random_bytes::<1>()[0] % 90;
        let row = SignInRow {
            id: request_id.clone(),
            client_id: client.client_id.clone(),
            redirect_uri: request.redirect_uri.clone(),
            state: request.state.clone(),
            nonce: request.nonce.clone(),
            code_challenge: request.code_challenge.clone(),
            claims: claims::join(&request.claims),
            tier: claims::tier_name(request.tier).to_owned(),
            issued_at: now,
            expires_at: now + REQUEST_LIFETIME_SECS,
            holder_nonce: random_bytes::<16>().to_vec(),
            match_code,
            match_choices: match_choices(match_code),
            page_secret_sha256: sha256(page_secret.as_bytes()).to_vec(),
            outcome: "pending".into(),
            reason: None,
            id_number: None,
            auth_time: None,
            code_expires_at: None,
        };
        self.store.insert_sign_in(&row, now).await.map_err(|e| {
            tracing::error!(error = %e, "could not store a sign-in request");
            AuthorizationError::Redirect {
                redirect_uri: request.redirect_uri.clone(),
                state: request.state.clone(),
                code: ErrorCode::TemporarilyUnavailable,
                description: "the sign-in service is unavailable; try again shortly".into(),
            }
        })?;
        tracing::info!(event = "authorize", outcome = "opened", client = %client.client_id, "decision");
        let link = |match_code| {
            SignInLink {
                issuer: self.oidc_issuer().to_owned(),
                request_id: request_id.clone(),
                match_code,
            }
            .to_uri()
        };
        Ok(SignInPage {
            qr_link: link(None),
            same_device_link: link(Some(match_code)),
            request_id,
            page_secret,
            match_code,
            client,
            claims: request.claims,
            tier: request.tier,
            expires_at: row.expires_at,
        })
    }

    async fn sign_in_row(&self, id: &str) -> Result<SignInRow, Problem> {
        let not_found = || Problem::new(ProblemType::NotFound, "no such sign-in request");
        if !valid_request_id(id) {
            return Err(not_found());
        }
        self.store
            .sign_in(id)
            .await
            .map_err(store_error)?
            .ok_or_else(not_found)
    }

    /// Step 2a: the request as the wallet checks it, signed with the active issuer key.
    pub async fn sign_in_request(&self, id: &str) -> Result<SignInRequest, Problem> {
        let row = self.sign_in_row(id).await?;
        if row.outcome != "pending" || self.now() > row.expires_at {
            return Err(sign_in_ended());
        }
        let client = self
            .store
            .client(&row.client_id)
            .await
            .map_err(store_error)?
            .ok_or_else(sign_in_ended)?;
        let mut request = SignInRequest {
            request_id: row.id.clone(),
            issuer: self.oidc_issuer().to_owned(),
            client_id: client.client_id.clone(),
            client_name: client.name.clone(),
            client_name_zh: client.name_zh.clone(),
            claims: claims_of(&row),
            tier: row.tier.clone(),
            issued_at: row.issued_at,
            expires_at: row.expires_at,
            nonce: row.holder_nonce.clone(),
            match_choices: row.match_choices.clone(),
            signer: Vec::new(),
            signature: Vec::new(),
        };
        tessera_oidc::sign_in::sign(&mut request, self.keys.active()).map_err(internal)?;
        Ok(request)
    }

    /// Ends pending request `row` as refused with `reason` (an OAuth error description the
    /// relying party receives), returning `p`.
    async fn end_sign_in(&self, row: &SignInRow, reason: &str, p: Problem) -> Problem {
        let slug = p.kind().map_or("unknown", ProblemType::slug);
        let audit = Audit {
            event: "sign_in",
            id_number: None,
            outcome: "refused",
            detail: &format!("{} {slug}", row.client_id),
        };
        if let Err(e) = self
            .store
            .refuse_sign_in(&row.id, reason, self.now(), &audit)
            .await
        {
            tracing::error!(error = %e, "could not record a refused sign-in");
        }
        tracing::info!(event = "sign_in", outcome = "refused", reason = slug, client = %row.client_id, "decision");
        p
    }

    /// Step 2b: the wallet's approval, checked in order; any refusal ends the request (a
    /// request is answered once).
    pub async fn approve_sign_in(
        &self,
        id: &str,
        approval: &SignInApproval,
        ip: Option<IpAddr>,
    ) -> Result<SignInOutcome, Problem> {
        // 1. Within the client's budget; an open request.
        self.limit_sign_ins(ip)
            .map_err(|retry| rate_limited("too many sign-in answers", retry))?;
        let row = self.sign_in_row(id).await?;
        let now = self.now();
        if row.outcome != "pending" || now > row.expires_at {
            return Err(sign_in_ended());
        }
        // 2. The number the page shows (number matching against relayed QR codes).
        if !bool::from([approval.match_code].ct_eq(&[row.match_code])) {
            let p = Problem::new(
                ProblemType::WrongMatchCode,
                "the number picked is not the one the sign-in page shows",
            );
            return Err(self
                .end_sign_in(&row, "the person picked the wrong number", p)
                .await);
        }
        // 3. A holder proof from an active credential of this issuer, bound to this request
        //    and this relying party.
        let purpose = HolderAuthPurpose::sign_in(&row.id, &row.client_id);
        let enrolment = match self
            .holder(&approval.presentation, &row.holder_nonce, purpose)
            .await
        {
            Ok(e) => e,
            Err(p) => {
                return Err(self
                    .end_sign_in(&row, "the holder proof was refused", p)
                    .await);
            }
        };
        // 4. The tier: an upgraded sign-in needs the upgraded credential, unlocked by PIN
        //    and a fresh face match.
        let wanted = claims::parse_tier(&row.tier).unwrap_or(Tier::Upgraded);
        let presented = Presentation::from_qr_text(&approval.presentation)
            .map(|p| (p.proof.claims.tier, p.proof.claims.auth))
            .map_err(internal)?;
        let unlocked = AuthMethods::PIN.with(AuthMethods::FACE);
        if presented.0 < wanted || (wanted == Tier::Upgraded && !presented.1.contains(unlocked)) {
            let p = Problem::new(
                ProblemType::TierTooLow,
                "this sign-in needs the upgraded ID, unlocked with the PIN and a face check",
            );
            return Err(self
                .end_sign_in(
                    &row,
                    "the credential presented is below the tier asked for",
                    p,
                )
                .await);
        }
        // 5. Approved, once.
        let audit = Audit {
            event: "sign_in",
            id_number: Some(&enrolment.id_number),
            outcome: "approved",
            detail: &row.client_id,
        };
        let approved = self
            .store
            .approve_sign_in(&row.id, &enrolment.id_number, now, &audit)
            .await
            .map_err(store_error)?;
        if !approved {
            return Err(sign_in_ended());
        }
        tracing::info!(event = "sign_in", outcome = "approved", client = %row.client_id, "decision");
        Ok(SignInOutcome {
            state: "approved".into(),
        })
    }

    /// Step 2c: the person refuses in the app.
    pub async fn refuse_sign_in(
        &self,
        id: &str,
        ip: Option<IpAddr>,
    ) -> Result<SignInOutcome, Problem> {
        self.limit_sign_ins(ip)
            .map_err(|retry| rate_limited("too many sign-in answers", retry))?;
        let row = self.sign_in_row(id).await?;
        if row.outcome != "pending" {
            return Err(sign_in_ended());
        }
        let p = Problem::new(ProblemType::SignInEnded, "refused by the person");
        self.end_sign_in(&row, "the person refused the sign-in", p)
            .await;
        Ok(SignInOutcome {
            state: "refused".into(),
        })
    }

    /// Step 3: what the page with `page_secret` shows, and where it continues.
    pub async fn sign_in_status(
        &self,
        id: &str,
        page_secret: &str,
    ) -> Result<SignInStatus, Problem> {
        let row = self.sign_in_row(id).await?;
        // 1. Only the browser that started the sign-in.
        if !bool::from(sha256(page_secret.as_bytes()).ct_eq(row.page_secret_sha256.as_slice())) {
            return Err(Problem::new(
                ProblemType::NotFound,
                "no such sign-in request",
            ));
        }
        let now = self.now();
        let issuer = self.oidc_issuer();
        let back = |code: ErrorCode, description: &str| {
            authorization::error_url(
                &AuthorizationError::Redirect {
                    redirect_uri: row.redirect_uri.clone(),
                    state: row.state.clone(),
                    code,
                    description: description.to_owned(),
                },
                issuer,
            )
        };
        let status = |state: &str, continue_to: Option<String>| SignInStatus {
            state: state.to_owned(),
            continue_to,
        };
        Ok(match row.outcome.as_str() {
            // 2. Still waiting, or too late.
            "pending" if now <= row.expires_at => status("pending", None),
            "pending" => status(
                "expired",
                back(ErrorCode::AccessDenied, "the sign-in request expired"),
            ),
            "refused" => status(
                "refused",
                back(
                    ErrorCode::AccessDenied,
                    row.reason.as_deref().unwrap_or("the sign-in was refused"),
                ),
            ),
            // 3. Approved: the code, derived from the page's secret, valid for a minute
            //    from when the page first learns it, and only within the request's life
            //    after the approval.
            _ => {
                let code = code_of(page_secret);
                let approved_at = row.auth_time.unwrap_or(row.issued_at);
                let collectable = now <= approved_at + REQUEST_LIFETIME_SECS;
                let minted = collectable
                    && self
                        .store
                        .mint_code(&row.id, &sha256(code.as_bytes()), now + CODE_LIFETIME_SECS)
                        .await
                        .map_err(store_error)?;
                if !minted {
                    status(
                        "expired",
                        back(
                            ErrorCode::AccessDenied,
                            "the sign-in was not completed in time",
                        ),
                    )
                } else {
                    let mut params = vec![("code", code.as_str())];
                    if let Some(s) = &row.state {
                        params.push(("state", s));
                    }
                    params.push(("iss", issuer));
                    status(
                        "approved",
                        authorization::response_url(&row.redirect_uri, &params),
                    )
                }
            }
        })
    }

    /// Step 4: the token request.
    pub async fn token(
        &self,
        form: &[(String, String)],
        authorization_header: Option<&str>,
    ) -> Result<TokenResponse, TokenError> {
        let unavailable = |e: &dyn std::fmt::Display| {
            tracing::error!(error = %e, "token endpoint failed");
            TokenError {
                code: ErrorCode::ServerError,
                description: "the sign-in service failed; try again".into(),
            }
        };
        let invalid_grant = |d: &str| TokenError {
            code: ErrorCode::InvalidGrant,
            description: d.to_owned(),
        };
        // 1. A well-formed request from an authenticated, registered client.
        let req = TokenRequest::parse(form, authorization_header)?;
        // Only an id of the form this provider issues reaches the database.
        let client = if tessera_oidc::client::valid_client_id(&req.client_id) {
            self.store
                .client(&req.client_id)
                .await
                .map_err(|e| unavailable(&e))?
        } else {
            None
        };
        let client = req.authenticate(client.as_ref())?;
        // 2. The code, spent now whatever follows (single use).
        let row = match self
            .store
            .spend_code(&sha256(req.code.as_bytes()))
            .await
            .map_err(|e| unavailable(&e))?
        {
            SpentCode::Fresh(row) => row,
            SpentCode::AlreadySpent => {
                tracing::warn!(event = "token", outcome = "refused", reason = "code_reused", client = %client.client_id, "decision");
                return Err(invalid_grant("the code was already used"));
            }
            SpentCode::Unknown => return Err(invalid_grant("unknown code")),
        };
        // 3. Issued to this client and redirect URI, not expired, PKCE answered.
        let grant = Grant {
            client_id: row.client_id.clone(),
            redirect_uri: row.redirect_uri.clone(),
            code_challenge: row.code_challenge.clone(),
            code_expires_at: row.code_expires_at.unwrap_or(0),
        };
        let now = self.now();
        token::check_grant(&req, &grant, now)?;
        // 4. The person, the pairwise subject and the consented claims.
        let id_number = row
            .id_number
            .as_deref()
            .ok_or_else(|| invalid_grant("the code was not approved"))?;
        let person = self
            .store
            .person(id_number)
            .await
            .map_err(|e| unavailable(&e))?
            .ok_or_else(|| invalid_grant("the person is no longer in the registry"))?;
        let pairwise = self
            .pairwise
            .as_ref()
            .ok_or_else(|| unavailable(&"no pairwise secret"))?;
        let consented = claims_of(&row);
        let input = IdTokenInput {
            issuer: self.oidc_issuer(),
            sub: pairwise.subject(&client.sector, id_number),
            client_id: &client.client_id,
            nonce: row.nonce.as_deref(),
            tier: claims::parse_tier(&row.tier).unwrap_or(Tier::Lightweight),
            claims: &consented,
            auth_time: row.auth_time.unwrap_or(now),
        };
        let claims = IdTokenClaims::new(
            &input,
            &Person {
                id_number,
                full_name: &person.full_name,
                date_of_birth: &person.date_of_birth,
                sex: &person.sex,
            },
            now,
        );
        let id_token =
            token::sign_id_token(&claims, self.keys.active()).map_err(|e| unavailable(&e))?;
        tracing::info!(event = "token", outcome = "issued", client = %client.client_id, "decision");
        Ok(TokenResponse {
            access_token: tessera_issuer_api::b64::encode(&random_bytes::<32>()),
            token_type: "Bearer",
            expires_in: tessera_oidc::ID_TOKEN_LIFETIME_SECS,
            id_token,
        })
    }
}
