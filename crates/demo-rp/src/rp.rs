//! A relying party's side of Sign in with Tessera, written the way any website would write
//! it: with the third-party `openidconnect` library, standard discovery, the authorization
//! code flow with PKCE, `state` and `nonce`, and ID-token checks done by the library (issuer,
//! audience, expiry, ES256 signature against the provider's JWKS, nonce). Nothing here
//! knows Tessera's internals beyond its documented claims and `acr` values.

use openidconnect::core::{
    CoreAuthDisplay, CoreAuthPrompt, CoreErrorResponseType, CoreGenderClaim, CoreJsonWebKey,
    CoreJweContentEncryptionAlgorithm, CoreJwsSigningAlgorithm, CoreProviderMetadata,
    CoreRevocableToken, CoreRevocationErrorResponse, CoreTokenIntrospectionResponse, CoreTokenType,
};
use openidconnect::{
    AdditionalClaims, AuthenticationContextClass, AuthenticationFlow, AuthorizationCode, Client,
    ClientId, ClientSecret, CsrfToken, EmptyExtraTokenFields, EndpointMaybeSet, EndpointNotSet,
    EndpointSet, IdTokenFields, IssuerUrl, Nonce, PkceCodeChallenge, PkceCodeVerifier, RedirectUrl,
    Scope, StandardErrorResponse, StandardTokenResponse, TokenResponse,
};
use serde::{Deserialize, Serialize};

/// Tessera's own claims (documented in Tessera's `docs/format/oidc.md`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct TesseraClaims {
    /// Whether the person is 18 or older.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub age_over_18: Option<bool>,
    /// The masked name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub masked_name: Option<String>,
    /// The ID number (only for relying parties registered for it).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id_number: Option<String>,
}

impl AdditionalClaims for TesseraClaims {}

type Fields = IdTokenFields<
    TesseraClaims,
    EmptyExtraTokenFields,
    CoreGenderClaim,
    CoreJweContentEncryptionAlgorithm,
    CoreJwsSigningAlgorithm,
>;
type Tokens = StandardTokenResponse<Fields, CoreTokenType>;
type OidcClient = Client<
    TesseraClaims,
    CoreAuthDisplay,
    CoreGenderClaim,
    CoreJweContentEncryptionAlgorithm,
    CoreJsonWebKey,
    CoreAuthPrompt,
    StandardErrorResponse<CoreErrorResponseType>,
    Tokens,
    CoreTokenIntrospectionResponse,
    CoreRevocableToken,
    CoreRevocationErrorResponse,
    EndpointSet,
    EndpointNotSet,
    EndpointNotSet,
    EndpointNotSet,
    EndpointMaybeSet,
    EndpointMaybeSet,
>;

/// Why a sign-in failed, as the relying party sees it.
#[derive(Debug, thiserror::Error)]
pub enum RpError {
    /// Discovery failed.
    #[error("cannot discover the provider: {0}")]
    Discovery(String),
    /// A URL is invalid.
    #[error("invalid URL: {0}")]
    Url(String),
    /// The returned `state` is not the one sent (a forged callback).
    #[error("the state returned is not the one sent")]
    State,
    /// The token request failed (the provider's OAuth error, when it gave one).
    #[error("token request failed: {0}")]
    Token(String),
    /// The ID token is missing or does not verify.
    #[error("the ID token does not verify: {0}")]
    IdToken(String),
}

/// What a sign-in started: kept by the relying party until the callback.
#[derive(Debug)]
pub struct Started {
    /// Where to send the browser.
    pub url: String,
    /// The `state` sent.
    pub state: CsrfToken,
    /// The `nonce` sent.
    pub nonce: Nonce,
    /// The PKCE verifier.
    pub pkce_verifier: PkceCodeVerifier,
}

/// A verified sign-in.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SignedIn {
    /// The pairwise subject.
    pub sub: String,
    /// The tier's `acr`.
    pub acr: Option<String>,
    /// How the person authenticated.
    pub amr: Vec<String>,
    /// When.
    pub auth_time: Option<i64>,
    /// `name`.
    pub name: Option<String>,
    /// `birthdate`.
    pub birthdate: Option<String>,
    /// `gender`.
    pub gender: Option<String>,
    /// Tessera's claims.
    pub tessera: TesseraClaims,
}

async fn send(
    http: &reqwest::Client,
    req: openidconnect::HttpRequest,
) -> Result<openidconnect::HttpResponse, reqwest::Error> {
    let (parts, body) = req.into_parts();
    let mut out = http.request(parts.method, parts.uri.to_string());
    for (name, value) in &parts.headers {
        out = out.header(name, value);
    }
    let r = out.body(body).send().await?;
    let mut response = http::Response::builder().status(r.status());
    for (name, value) in r.headers() {
        response = response.header(name, value);
    }
    let bytes = r.bytes().await?.to_vec();
    Ok(response
        .body(bytes)
        .unwrap_or_else(|_| http::Response::new(Vec::new())))
}

/// The HTTP client the library calls through: reqwest, never following redirects.
#[derive(Debug, Clone)]
struct Http(reqwest::Client);

impl<'c> openidconnect::AsyncHttpClient<'c> for Http {
    type Error = reqwest::Error;
    type Future = std::pin::Pin<
        Box<
            dyn std::future::Future<Output = Result<openidconnect::HttpResponse, reqwest::Error>>
                + Send
                + 'c,
        >,
    >;

    fn call(&'c self, request: openidconnect::HttpRequest) -> Self::Future {
        Box::pin(send(&self.0, request))
    }
}

/// One registered relying party talking to one provider.
#[derive(Debug)]
pub struct RelyingParty {
    client: OidcClient,
    http: Http,
}

impl RelyingParty {
    /// Discovers the provider at `issuer` and sets up the client registered as
    /// `client_id`/`client_secret` with `redirect_uri`.
    pub async fn discover(
        issuer: &str,
        client_id: &str,
        client_secret: &str,
        redirect_uri: &str,
    ) -> Result<RelyingParty, RpError> {
        let _ = rustls::crypto::ring::default_provider().install_default();
        // Never follow redirects: a token request must not be re-sent elsewhere.
        let http = Http(
            reqwest::Client::builder()
                .redirect(reqwest::redirect::Policy::none())
                .build()
                .map_err(|e| RpError::Discovery(e.to_string()))?,
        );
        let issuer_url =
            IssuerUrl::new(issuer.to_owned()).map_err(|e| RpError::Url(e.to_string()))?;
        let metadata = CoreProviderMetadata::discover_async(issuer_url, &http)
            .await
            .map_err(|e| RpError::Discovery(format!("{e:?}")))?;
        let client = OidcClient::from_provider_metadata(
            metadata,
            ClientId::new(client_id.to_owned()),
            Some(ClientSecret::new(client_secret.to_owned())),
        )
        .set_redirect_uri(
            RedirectUrl::new(redirect_uri.to_owned()).map_err(|e| RpError::Url(e.to_string()))?,
        );
        Ok(RelyingParty { client, http })
    }

    /// Starts a sign-in asking for `scopes` (besides `openid`) and, if given, the tier `acr`.
    pub fn start(&self, scopes: &[&str], acr: Option<&str>) -> Started {
        let (challenge, verifier) = PkceCodeChallenge::new_random_sha256();
        let mut request = self
            .client
            .authorize_url(
                AuthenticationFlow::<openidconnect::core::CoreResponseType>::AuthorizationCode,
                CsrfToken::new_random,
                Nonce::new_random,
            )
            .set_pkce_challenge(challenge);
        for s in scopes {
            request = request.add_scope(Scope::new((*s).to_owned()));
        }
        if let Some(acr) = acr {
            request =
                request.add_auth_context_value(AuthenticationContextClass::new(acr.to_owned()));
        }
        let (url, state, nonce) = request.url();
        Started {
            url: url.to_string(),
            state,
            nonce,
            pkce_verifier: verifier,
        }
    }

    /// Finishes a sign-in from the callback's `code` and `state`.
    pub async fn finish(
        &self,
        code: &str,
        returned_state: &str,
        started: Started,
    ) -> Result<SignedIn, RpError> {
        if returned_state != started.state.secret() {
            return Err(RpError::State);
        }
        self.redeem(code, started.pkce_verifier, &started.nonce)
            .await
    }

    /// Redeems `code` with `verifier` and checks the ID token against `nonce` (tests also use
    /// it with a wrong verifier or a spent code).
    pub async fn redeem(
        &self,
        code: &str,
        verifier: PkceCodeVerifier,
        nonce: &Nonce,
    ) -> Result<SignedIn, RpError> {
        let tokens = self
            .client
            .exchange_code(AuthorizationCode::new(code.to_owned()))
            .map_err(|e| RpError::Token(e.to_string()))?
            .set_pkce_verifier(verifier)
            .request_async(&self.http)
            .await
            .map_err(|e| RpError::Token(token_error(&e)))?;
        let id_token = tokens
            .id_token()
            .ok_or_else(|| RpError::IdToken("no ID token in the response".into()))?;
        let claims = id_token
            .claims(&self.client.id_token_verifier(), nonce)
            .map_err(|e| RpError::IdToken(e.to_string()))?;
        Ok(SignedIn {
            sub: claims.subject().to_string(),
            acr: claims.auth_context_ref().map(|a| a.to_string()),
            amr: claims
                .auth_method_refs()
                .map(|v| v.iter().map(|m| m.to_string()).collect())
                .unwrap_or_default(),
            auth_time: claims.auth_time().map(|t| t.timestamp()),
            name: claims
                .name()
                .and_then(|n| n.get(None))
                .map(|n| n.to_string()),
            birthdate: claims.birthdate().map(|b| b.to_string()),
            gender: claims.gender().map(|g| g.to_string()),
            tessera: claims.additional_claims().clone(),
        })
    }
}

/// The OAuth error code of a failed token request (`invalid_grant`, …), else its text.
fn token_error<E: std::error::Error>(
    e: &openidconnect::RequestTokenError<E, StandardErrorResponse<CoreErrorResponseType>>,
) -> String {
    match e {
        openidconnect::RequestTokenError::ServerResponse(r) => r.error().to_string(),
        other => other.to_string(),
    }
}
